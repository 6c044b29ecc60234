"""One shard group: an Aurora PostgreSQL Global Database, writer in the home region, copies in the DR regions.

Each piece lives in the stack of the region it runs in: ``AuroraShardGroup`` (the global cluster, its
generated master password and the primary cluster) in the home region's infra stack; ``AuroraSecondary``
(one DR region's cluster, joining the global cluster by its identifier) and ``MasterSecret`` (replicated to
the DR regions) in a replicas stack, which deploys after every infra stack.

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
# UTC, in the night of the busiest regions; the backup ends an hour before the weekly maintenance begins.
BACKUP_WINDOW = "02:00-03:00"
MAINTENANCE_WINDOW = "sun:04:00-sun:05:00"
# Performance Insights keeps 7 days at no charge; longer retention is billed per vCPU-month.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
# Enhanced Monitoring's OS metrics every 60 s: enough for an incident timeline at the lowest CloudWatch cost.
MONITORING_INTERVAL_SECONDS = 60
# Set outside Pulumi by a switchover or failover, or by the global cluster's engine upgrade; reverting them
# on the next `pulumi up` would undo the operation (see the runbooks), so the program never touches them.
MEMBER_IGNORE_CHANGES = ["globalClusterIdentifier", "replicationSourceIdentifier", "snapshotIdentifier",
                         "engineVersion",
                         # Secrets Manager rotates the master password (MasterSecret); the generated one only seeds it.
                         "masterPassword"]
# No extended-support enrolment: an engine past end of standard support is an upgrade to plan, not a bill.
LIFECYCLE_SUPPORT = "open-source-rds-extended-support-disabled"
# Long operations outlast the provider's defaults (terraform-provider-aws "Timeouts": GlobalCluster 30m/90m/30m,
# Cluster 120m each, ClusterInstance 90m each). A secondary's create copies the primary's volume cross-region and
# a global engine upgrade walks every member, so both scale with data and regions, not with the request.
GLOBAL_TIMEOUTS = pulumi.CustomTimeouts(create="30m", update="3h", delete="1h")  # empty create: seconds; 90m update
CLUSTER_TIMEOUTS = pulumi.CustomTimeouts(create="4h", update="4h", delete="2h")  # secondary create = cross-region copy
INSTANCE_TIMEOUTS = pulumi.CustomTimeouts(create="2h", update="2h", delete="90m")  # 90m default; class changes run long
# RDS refuses '/', '@', '"' and spaces in master passwords.
PASSWORD_SPECIALS = "!#$%^&*()-_=+[]{}<>:?"


@dataclass(frozen=True)
class AuroraSite:
    """What one region offers every shard-group cluster it hosts (its AuroraRegion, or that stack's outputs)."""

    region: str
    short_code: str
    subnet_group_name: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    parameter_group_name: pulumi.Input[str]
    rds_key_arn: pulumi.Input[str]
    monitoring_role_arn: pulumi.Input[str]
    log_key_arn: pulumi.Input[str]
    alert_topic_arn: pulumi.Input[str]  # the region's alert topic: alarms page through it

    @staticmethod
    def of(base: AuroraRegion, log_key_arn: pulumi.Input[str], alert_topic_arn: pulumi.Input[str]) -> AuroraSite:
        a = base.args
        return AuroraSite(region=a.region, short_code=a.short_code, subnet_group_name=base.subnet_group.name,
                          security_group_id=base.security_group.id, parameter_group_name=base.parameter_group.name,
                          rds_key_arn=a.rds_key_arn, monitoring_role_arn=base.monitoring_role.arn,
                          log_key_arn=log_key_arn, alert_topic_arn=alert_topic_arn)


@dataclass(frozen=True)
class MemberSpec:
    """What every member cluster of one shard group shares, wherever it runs."""

    environment: str
    group_id: str  # "use1-sg01"
    engine_version: str
    instance_class: str
    backup_retention_days: int
    log_retention_days: int
    alarms: Alarms
    protect: bool

    @property
    def global_identifier(self) -> str:
        return f"{self.environment}-{self.group_id}"

    def cluster_identifier(self, short_code: str) -> str:
        return f"{self.global_identifier}-{short_code}"


def _member(parent: pulumi.Resource, spec: MemberSpec, site: AuroraSite, global_cluster_identifier: pulumi.Input[str],
            instances: int, *, primary: bool, master_password: pulumi.Input[str] | None,
            opts: pulumi.ResourceOptions) -> tuple[aws.rds.Cluster, list[aws.rds.ClusterInstance]]:
    """One member cluster in ``site``, its instances (the first is the preferred writer), logs and alarms."""
    identifier = spec.cluster_identifier(site.short_code)
    label = f"{spec.group_id}-{site.short_code}"
    log_group = aws.cloudwatch.LogGroup(
        f"{label}-postgresql", name=f"/aws/rds/cluster/{identifier}/postgresql",
        retention_in_days=spec.log_retention_days, kms_key_id=site.log_key_arn,
        opts=pulumi.ResourceOptions(parent=parent))
    cluster = aws.rds.Cluster(
        label,
        cluster_identifier=identifier,
        global_cluster_identifier=global_cluster_identifier,
        engine=ENGINE,
        engine_version=spec.engine_version,
        engine_lifecycle_support=LIFECYCLE_SUPPORT,
        port=POSTGRES_PORT,
        db_subnet_group_name=site.subnet_group_name,
        vpc_security_group_ids=[site.security_group_id],
        db_cluster_parameter_group_name=site.parameter_group_name,
        storage_encrypted=True,
        kms_key_id=site.rds_key_arn,
        iam_database_authentication_enabled=True,
        backup_retention_period=spec.backup_retention_days,
        preferred_backup_window=BACKUP_WINDOW,
        preferred_maintenance_window=MAINTENANCE_WINDOW,
        copy_tags_to_snapshot=True,
        deletion_protection=spec.protect,
        skip_final_snapshot=False,
        final_snapshot_identifier=f"{identifier}-final",
        enabled_cloudwatch_logs_exports=LOG_EXPORTS,
        allow_major_version_upgrade=False,
        # Secondaries take writes and forward them to the writer (read-your-writes per session).
        enable_global_write_forwarding=None if primary else True,
        tags={"shard-group": spec.group_id, "role-at-creation": "primary" if primary else "secondary"},
        # Secondaries replicate the primary's credentials; giving them their own is an error.
        master_username=MASTER_USERNAME if primary else None,
        master_password=master_password if primary else None,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            parent=parent, protect=spec.protect, depends_on=[log_group], ignore_changes=MEMBER_IGNORE_CHANGES,
            custom_timeouts=CLUSTER_TIMEOUTS)))
    members = [
        aws.rds.ClusterInstance(
            f"{label}-{n}",
            identifier=f"{identifier}-{n}",
            cluster_identifier=cluster.id,
            engine=aws.rds.EngineType.AURORA_POSTGRESQL,
            instance_class=spec.instance_class,
            db_subnet_group_name=site.subnet_group_name,
            publicly_accessible=False,
            ca_cert_identifier=CA_CERT_IDENTIFIER,
            promotion_tier=0 if n == 1 else 1,
            auto_minor_version_upgrade=False,  # no effect on global members; upgrades go through the global cluster
            performance_insights_enabled=True,
            performance_insights_kms_key_id=site.rds_key_arn,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            monitoring_interval=MONITORING_INTERVAL_SECONDS,
            monitoring_role_arn=site.monitoring_role_arn,
            copy_tags_to_snapshot=True,
            tags={"shard-group": spec.group_id},
            opts=pulumi.ResourceOptions(parent=cluster, protect=spec.protect, custom_timeouts=INSTANCE_TIMEOUTS))
        for n in range(1, instances + 1)
    ]
    for signal in alarm_signals.aurora(identifier, spec.instance_class, spec.alarms):
        alarm(label, identifier, signal, site.alert_topic_arn, pulumi.ResourceOptions(parent=parent))
    return cluster, members


@dataclass(frozen=True)
class AuroraShardGroupArgs:
    spec: MemberSpec
    readers: int
    home: AuroraSite


class AuroraShardGroup(pulumi.ComponentResource):
    """The global cluster, its master password and the primary cluster: the home region's share of a group."""

    def __init__(self, name: str, args: AuroraShardGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:AuroraShardGroup", name, None, opts)
        self.args = args
        spec = args.spec
        stateful = pulumi.ResourceOptions(parent=self, protect=spec.protect)
        self.identifier = spec.global_identifier
        self.global_cluster = aws.rds.GlobalCluster(
            f"{spec.group_id}-global", global_cluster_identifier=self.identifier, engine=ENGINE,
            engine_version=spec.engine_version, engine_lifecycle_support=LIFECYCLE_SUPPORT, storage_encrypted=True,
            deletion_protection=spec.protect,
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(custom_timeouts=GLOBAL_TIMEOUTS)))
        self.master_password = random.RandomPassword(
            f"{spec.group_id}-master", length=40, special=True, override_special=PASSWORD_SPECIALS, min_lower=2,
            min_upper=2, min_numeric=2, min_special=2, opts=stateful)
        self.cluster, self.instances = _member(
            self, spec, args.home, self.global_cluster.id, 1 + args.readers, primary=True,
            master_password=self.master_password.result, opts=pulumi.ResourceOptions())
        # What a DR region's replicas stack joins: the identifier, published once the writer exists (a
        # secondary can join only a primary that has a writer to replicate from).
        self.joinable_identifier: pulumi.Output[str] = pulumi.Output.all(
            self.global_cluster.global_cluster_identifier, *[i.id for i in self.instances]).apply(lambda v: v[0])
        self.writer_endpoint = self.cluster.endpoint
        self.reader_endpoint = self.cluster.reader_endpoint
        self.register_outputs({"globalClusterIdentifier": self.identifier, "writerEndpoint": self.writer_endpoint})


@dataclass(frozen=True)
class AuroraSecondaryArgs:
    spec: MemberSpec
    instances: int  # of the writer's class, so a promoted region carries the load at once
    site: AuroraSite
    global_cluster_identifier: pulumi.Input[str]  # from the home region's infra stack


class AuroraSecondary(pulumi.ComponentResource):
    """One DR region's member of a shard group's global cluster, with global write forwarding."""

    def __init__(self, name: str, args: AuroraSecondaryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:AuroraSecondary", name, None, opts)
        self.args = args
        self.cluster, self.instances = _member(
            self, args.spec, args.site, args.global_cluster_identifier, args.instances, primary=False,
            master_password=None, opts=pulumi.ResourceOptions())
        self.reader_endpoint = self.cluster.reader_endpoint
        self.cluster_endpoint = self.cluster.endpoint
        self.register_outputs({"clusterIdentifier": args.spec.cluster_identifier(args.site.short_code)})


@dataclass(frozen=True)
class SecretReplica:
    region: str
    kms_key_arn: pulumi.Input[str]  # a key (or alias) ARN of that region


@dataclass(frozen=True)
class MasterSecretArgs:
    spec: MemberSpec
    password: pulumi.Input[str]  # the RandomPassword of the home region's infra stack (a secret output)
    host: pulumi.Input[str]  # the home cluster's writer endpoint: where the rotation function logs in
    kms_key_arn: pulumi.Input[str]  # the home region's secrets key
    replicas: Sequence[SecretReplica]  # the group's DR regions


class MasterSecret(pulumi.ComponentResource):
    """The master credentials in Secrets Manager, replicated to every DR region under that region's key.

    Secrets-Manager-managed master passwords do not work on global clusters, so the program generates the
    first password and keeps it a Pulumi secret end to end; Secrets Manager rotates it from then on
    (components/master_rotation.py), so the program never writes the value again (``ignore_changes``). It
    lives in the home region's replicas stack because its replicas need the DR regions' keys, which their
    infra stacks make.
    """

    def __init__(self, name: str, args: MasterSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:MasterSecret", name, None, opts)
        spec = args.spec
        identifier = spec.global_identifier
        self.secret = aws.secretsmanager.Secret(
            f"{spec.group_id}-master", name=f"{spec.environment}/aurora/{spec.group_id}/master",
            description=f"Master credentials of Aurora global cluster {identifier}",
            kms_key_id=args.kms_key_arn,
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=r.region, kms_key_id=r.kms_key_arn)
                      for r in args.replicas],
            recovery_window_in_days=30 if spec.protect else 7,
            opts=pulumi.ResourceOptions(parent=self, protect=spec.protect))
        aws.secretsmanager.SecretVersion(
            f"{spec.group_id}-master", secret_id=self.secret.id,
            secret_string=pulumi.Output.all(pulumi.Output.secret(args.password), args.host).apply(
                lambda v: json.dumps({"engine": "postgres", "host": v[1], "username": MASTER_USERNAME,
                                      "password": v[0], "port": POSTGRES_PORT, "dbClusterIdentifier":
                                      spec.cluster_identifier(spec.group_id.split("-", 1)[0]),
                                      "globalClusterIdentifier": identifier})),
            # Rotation owns the value after the first write; writing the seed again would lock the master out.
            opts=pulumi.ResourceOptions(parent=self.secret, ignore_changes=["secretString"]))
        self.arn = self.secret.arn
        self.register_outputs({"arn": self.secret.arn})
