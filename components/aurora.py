"""One shard group: an Aurora PostgreSQL Global Database, writer in the home region, copies in the DR regions.

Resource names carry the region a cluster lives in (``use1-sg01-euw1``), not its role: a switchover swaps
roles between regions, never names, so no URN changes when the writer moves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import alarm_signals
from components.alerts import alarm
from components.aurora_region import CA_CERT_IDENTIFIER, POSTGRES_PORT, AuroraRegion
from regions.schema import Alarms

ENGINE = "aurora-postgresql"
MASTER_USERNAME = "platform_admin"
LOG_EXPORTS = ["postgresql"]
# Set outside Pulumi by a switchover or failover, or by the global cluster's engine upgrade; reverting them
# on the next `pulumi up` would undo the operation (see the runbooks), so the program never touches them.
MEMBER_IGNORE_CHANGES = ["globalClusterIdentifier", "replicationSourceIdentifier", "snapshotIdentifier",
                         "engineVersion"]
# No extended-support enrolment: an engine past end of standard support is an upgrade to plan, not a bill.
LIFECYCLE_SUPPORT = "open-source-rds-extended-support-disabled"
# RDS refuses '/', '@', '"' and spaces in master passwords.
PASSWORD_SPECIALS = "!#$%^&*()-_=+[]{}<>:?"


@dataclass(frozen=True)
class AuroraSite:
    """One region's share of a shard group: where its cluster lives and what it uses there."""

    region: str
    short_code: str
    base: AuroraRegion
    log_key_arn: pulumi.Input[str]
    provider: pulumi.ProviderResource
    alert_topic_arn: pulumi.Input[str]  # the region's alert topic: alarms page through it


@dataclass(frozen=True)
class AuroraShardGroupArgs:
    environment: str
    group_id: str  # "use1-sg01"
    engine_version: str
    instance_class: str
    readers: int
    secondary_instances: int
    backup_retention_days: int
    log_retention_days: int
    home: AuroraSite
    secondaries: Sequence[AuroraSite]
    alarms: Alarms
    protect: bool


class AuroraShardGroup(pulumi.ComponentResource):
    def __init__(self, name: str, args: AuroraShardGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:AuroraShardGroup", name, None, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(providers={"aws": args.home.provider})))
        self.args = args
        home = args.home
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.identifier = f"{args.environment}-{args.group_id}"

        self.global_cluster = aws.rds.GlobalCluster(
            f"{args.group_id}-global", global_cluster_identifier=self.identifier, engine=ENGINE,
            engine_version=args.engine_version, engine_lifecycle_support=LIFECYCLE_SUPPORT, storage_encrypted=True,
            deletion_protection=args.protect, opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(
                provider=home.provider)))
        self.master_password = random.RandomPassword(
            f"{args.group_id}-master", length=40, special=True, override_special=PASSWORD_SPECIALS, min_lower=2,
            min_upper=2, min_numeric=2, min_special=2, opts=stateful)
        self.master_secret = self._master_secret(stateful)

        self.clusters: dict[str, aws.rds.Cluster] = {}
        self.instances: dict[str, list[aws.rds.ClusterInstance]] = {}
        self.clusters[home.region] = self._cluster(home, primary=True, opts=stateful)
        self.instances[home.region] = self._instances(home, 1 + args.readers)
        for site in args.secondaries:
            # A secondary can join only once the primary has a writer to replicate from.
            self.clusters[site.region] = self._cluster(site, primary=False, opts=pulumi.ResourceOptions.merge(
                stateful, pulumi.ResourceOptions(depends_on=self.instances[home.region])))
            self.instances[site.region] = self._instances(site, args.secondary_instances)
        # Region -> cluster identifier of every member: what `make verify` expects in the global cluster.
        self.cluster_identifiers = {site.region: self.cluster_identifier(site) for site in (home, *args.secondaries)}
        for site in (home, *args.secondaries):
            identifier = self.cluster_identifier(site)
            for signal in alarm_signals.aurora(identifier, args.instance_class, args.alarms):
                alarm(f"{args.group_id}-{site.short_code}", identifier, signal, site.alert_topic_arn,
                      pulumi.ResourceOptions(parent=self, provider=site.provider))

        primary = self.clusters[home.region]
        self.writer_endpoint = primary.endpoint
        self.reader_endpoints = {region: c.reader_endpoint for region, c in self.clusters.items()}
        # Each member's cluster (writer) endpoint: live only where the writer is now (see the switchover runbook).
        self.cluster_endpoints = {region: c.endpoint for region, c in self.clusters.items()}
        self.register_outputs({"globalClusterIdentifier": self.identifier, "writerEndpoint": self.writer_endpoint,
                               "masterSecretArn": self.master_secret.arn})

    def cluster_identifier(self, site: AuroraSite) -> str:
        return f"{self.identifier}-{site.short_code}"

    def _master_secret(self, opts: pulumi.ResourceOptions) -> aws.secretsmanager.Secret:
        """The master credentials in Secrets Manager, replicated to every DR region under that region's key.

        Secrets-Manager-managed master passwords do not work on global clusters, so the program generates
        the password and keeps it a Pulumi secret end to end.
        """
        args = self.args
        secret = aws.secretsmanager.Secret(
            f"{args.group_id}-master", name=f"{args.environment}/aurora/{args.group_id}/master",
            description=f"Master credentials of Aurora global cluster {self.identifier}",
            kms_key_id=args.home.base.secrets_key.arn,
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=s.region, kms_key_id=s.base.secrets_key.arn)
                      for s in args.secondaries],
            recovery_window_in_days=30 if args.protect else 7,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=args.home.provider)))
        aws.secretsmanager.SecretVersion(
            f"{args.group_id}-master", secret_id=secret.id,
            secret_string=self.master_password.result.apply(lambda password: json.dumps({
                "engine": "postgres", "username": MASTER_USERNAME, "password": password, "port": POSTGRES_PORT,
                "globalClusterIdentifier": self.identifier})),
            opts=pulumi.ResourceOptions(parent=secret, provider=args.home.provider))
        return secret

    def _cluster(self, site: AuroraSite, *, primary: bool, opts: pulumi.ResourceOptions) -> aws.rds.Cluster:
        args = self.args
        identifier = self.cluster_identifier(site)
        log_group = aws.cloudwatch.LogGroup(
            f"{args.group_id}-{site.short_code}-postgresql", name=f"/aws/rds/cluster/{identifier}/postgresql",
            retention_in_days=args.log_retention_days, kms_key_id=site.log_key_arn,
            opts=pulumi.ResourceOptions(parent=self, provider=site.provider))
        return aws.rds.Cluster(
            f"{args.group_id}-{site.short_code}",
            cluster_identifier=identifier,
            global_cluster_identifier=self.global_cluster.id,
            engine=ENGINE,
            engine_version=args.engine_version,
            engine_lifecycle_support=LIFECYCLE_SUPPORT,
            port=POSTGRES_PORT,
            db_subnet_group_name=site.base.subnet_group.name,
            vpc_security_group_ids=[site.base.security_group.id],
            db_cluster_parameter_group_name=site.base.parameter_group.name,
            storage_encrypted=True,
            kms_key_id=site.base.rds_key.arn,
            iam_database_authentication_enabled=True,
            backup_retention_period=args.backup_retention_days,
            preferred_backup_window="02:00-03:00",
            preferred_maintenance_window="sun:04:00-sun:05:00",
            copy_tags_to_snapshot=True,
            deletion_protection=args.protect,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{identifier}-final",
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            allow_major_version_upgrade=False,
            # Secondaries take writes and forward them to the writer (read-your-writes per session).
            enable_global_write_forwarding=None if primary else True,
            tags={"shard-group": args.group_id, "role-at-creation": "primary" if primary else "secondary"},
            # Secondaries replicate the primary's credentials; giving them their own is an error.
            master_username=MASTER_USERNAME if primary else None,
            master_password=self.master_password.result if primary else None,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                provider=site.provider, depends_on=[log_group], ignore_changes=MEMBER_IGNORE_CHANGES)))

    def _instances(self, site: AuroraSite, count: int) -> list[aws.rds.ClusterInstance]:
        """``count`` instances of the writer's class; the first is the preferred writer (promotion tier 0)."""
        args = self.args
        cluster = self.clusters[site.region]
        identifier = self.cluster_identifier(site)
        return [
            aws.rds.ClusterInstance(
                f"{args.group_id}-{site.short_code}-{n}",
                identifier=f"{identifier}-{n}",
                cluster_identifier=cluster.id,
                engine=aws.rds.EngineType.AURORA_POSTGRESQL,
                instance_class=args.instance_class,
                db_subnet_group_name=site.base.subnet_group.name,
                publicly_accessible=False,
                ca_cert_identifier=CA_CERT_IDENTIFIER,
                promotion_tier=0 if n == 1 else 1,
                auto_minor_version_upgrade=False,  # no effect on global members; upgrades go through the global cluster
                performance_insights_enabled=True,
                performance_insights_kms_key_id=site.base.rds_key.arn,
                performance_insights_retention_period=7,
                monitoring_interval=60,
                monitoring_role_arn=site.base.monitoring_role.arn,
                copy_tags_to_snapshot=True,
                tags={"shard-group": args.group_id},
                opts=pulumi.ResourceOptions(parent=cluster, provider=site.provider))
            for n in range(1, count + 1)
        ]
