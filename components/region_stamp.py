"""One region of the platform, stamped from its manifest entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components import alarm_signals
from components.alerts import AlertTopic, AlertTopicArgs, alarm, query_alarm
from components.aurora_region import AuroraRegion, AuroraRegionArgs
from components.controller_identities import ControllerIdentities, ControllerIdentitiesArgs
from components.database_users import DATABASE_SECRETS
from components.deploy_runner import DeployRunner, DeployRunnerArgs
from components.eks import EksCluster, EksClusterArgs
from components.ingress import IngressArgs, RegionalIngress
from components.kafka import KafkaArgs, KafkaCluster
from components.network import Network, NetworkArgs
from components.redis import RedisArgs, RedisCluster
from components.region_keys import RegionKeys, RegionKeysArgs
from regions.eks_versions import EKS_VERSIONS
from regions.published_map import parameter_name
from regions.rules import PGBOUNCER_GROUP, WORKLOADS_GROUP
from regions.schema import Alarms, Region
from regions.schema import Network as NetworkSettings
from regions.stacks import runner_project


@dataclass(frozen=True)
class RegionContext:
    """Who and where one regional stack builds: made once by the program, handed to what builds the region."""

    environment: str
    region: Region  # the manifest's entry
    account_id: str
    partition: str
    protect: bool  # the manifest's posture: protect stateful resources (production)

    @property
    def name(self) -> str:
        return self.region.name

    @property
    def short_code(self) -> str:
        return self.region.short_code


@dataclass(frozen=True)
class RegionStampArgs:
    context: RegionContext
    network: NetworkSettings
    admin_role_arn: str
    admin_cidrs: Sequence[str]
    cloudflare_ipv4: Sequence[str]
    alarms: Alarms
    alert_emails: Sequence[str]
    alert_webhook_url: pulumi.Input[str] | None  # a secret
    github_repository: str  # whose workflow jobs the in-VPC deploy runner runs
    github_connection_arn: str  # the CodeConnections connection of this region it reaches GitHub with
    cache_password_days: int  # the manifest's rotation.cache_days


class RegionStamp(pulumi.ComponentResource):
    """What one region's infra stack builds: everything of the region the AWS API alone can create."""

    def __init__(self, name: str, args: RegionStampArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:region:RegionStamp", name, None, opts)
        ctx = args.context
        region, partition = ctx.region, ctx.partition
        child = pulumi.ResourceOptions(parent=self)
        self.region_name = region.name
        self.args = args
        self.keys = RegionKeys(region.short_code, RegionKeysArgs(
            environment=ctx.environment, region=region.name, short_code=region.short_code, account_id=ctx.account_id,
            partition=partition, protect=ctx.protect), opts=child)
        keys = self.keys
        self.network = Network(f"{region.short_code}-network", NetworkArgs(
            environment=ctx.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=ctx.account_id,
            partition=partition,
            vpc_cidr=region.vpc_cidr,
            az_count=region.availability_zones,
            nat_gateways=args.network.nat_gateways,
            flow_log_retention_days=args.network.flow_log_retention_days,
            log_key_arn=keys.logs.arn,
            protect=ctx.protect,
        ), opts=child)

        release = EKS_VERSIONS[region.eks.kubernetes_version]
        self.eks = EksCluster(f"{region.short_code}-eks", EksClusterArgs(
            environment=ctx.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=ctx.account_id,
            partition=partition,
            kubernetes_version=region.eks.kubernetes_version,
            addon_versions=release.addons,
            log_retention_days=region.eks.log_retention_days,
            node_groups=region.eks.node_groups,
            vpc_id=self.network.vpc_id,
            private_subnet_ids=self.network.subnet_ids["private"],
            log_key_arn=keys.logs.arn, secrets_key_arn=keys.eks.arn, ebs_key_arn=keys.ebs.arn,
            admin_role_arn=args.admin_role_arn,
            admin_cidrs=args.admin_cidrs,
            protect=ctx.protect,
        ), opts=child)

        # The in-cluster controllers' roles exist before the cluster stack installs the controllers.
        self.controller_identities = ControllerIdentities(f"{region.short_code}-controllers", ControllerIdentitiesArgs(
            cluster=self.eks.ref, cluster_name=self.eks.name), opts=child)
        self.ingress = RegionalIngress(f"{region.short_code}-ingress", IngressArgs(
            environment=ctx.environment,
            short_code=region.short_code,
            vpc_id=self.network.vpc_id,
            public_subnet_ids=self.network.subnet_ids["public"],
            workloads_security_group_id=self.eks.node_security_groups[WORKLOADS_GROUP].id,
            cloudflare_ipv4=args.cloudflare_ipv4,
            protect=ctx.protect,
        ), opts=child)
        self.aurora = AuroraRegion(f"{region.short_code}-aurora", AuroraRegionArgs(
            environment=ctx.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=ctx.account_id,
            partition=partition,
            engine_major=region.aurora.engine_major,
            vpc_id=self.network.vpc_id,
            vpc_cidr=region.vpc_cidr,
            data_subnet_ids=self.network.subnet_ids["data"],
            client_security_group_id=self.eks.node_security_groups[PGBOUNCER_GROUP].id,
            rds_key_arn=keys.rds.arn, secrets_key_arn=keys.secrets.arn, protect=ctx.protect,
        ), opts=child)
        workloads = self.eks.node_security_groups[WORKLOADS_GROUP].id
        self.cache = RedisCluster(f"{region.short_code}-cache", RedisArgs(
            environment=ctx.environment, region=region.name, short_code=region.short_code,
            account_id=ctx.account_id, partition=partition, engine=region.redis.engine,
            engine_version=region.redis.engine_version, node_type=region.redis.node_type,
            shards=region.redis.shards, replicas_per_shard=region.redis.replicas_per_shard,
            snapshot_retention_days=region.redis.snapshot_retention_days,
            log_retention_days=region.redis.log_retention_days, vpc_id=self.network.vpc_id,
            data_subnet_ids=self.network.subnet_ids["data"], client_security_group_id=workloads,
            log_key_arn=keys.logs.arn, secrets_key_arn=keys.secrets.arn, key_arn=keys.cache.arn,
            password_days=args.cache_password_days, protect=ctx.protect,
        ), opts=child)
        self.kafka = KafkaCluster(f"{region.short_code}-kafka", KafkaArgs(
            environment=ctx.environment, region=region.name, short_code=region.short_code,
            account_id=ctx.account_id, partition=partition, kafka_version=region.kafka.kafka_version,
            broker_type=region.kafka.broker_type, brokers=region.kafka.brokers, storage_gib=region.kafka.storage_gib,
            max_storage_gib=region.kafka.max_storage_gib, log_retention_days=region.kafka.log_retention_days,
            vpc_id=self.network.vpc_id, private_subnet_ids=self.network.subnet_ids["private"],
            client_security_group_id=workloads, log_key_arn=keys.logs.arn, key_arn=keys.kafka.arn,
            protect=ctx.protect,
        ), opts=child)
        self.alerts = AlertTopic(f"{region.short_code}-alerts", AlertTopicArgs(
            environment=ctx.environment, region=region.name, short_code=region.short_code,
            account_id=ctx.account_id, partition=partition, emails=args.alert_emails,
            webhook_url=args.alert_webhook_url, key_arn=keys.alerts.arn, protect=ctx.protect), opts=child)
        self._alarms()
        # What the region's cluster stack deploys from: inside the VPC, admitted to the EKS API and the brokers.
        self.runner = DeployRunner(f"{region.short_code}-deploy-runner", DeployRunnerArgs(
            environment=ctx.environment, region=region.name, short_code=region.short_code, account_id=ctx.account_id,
            partition=partition, project_name=runner_project(ctx.environment, region.short_code),
            github_repository=args.github_repository, connection_arn=args.github_connection_arn,
            vpc_id=self.network.vpc_id, private_subnet_ids=self.network.subnet_ids["private"],
            log_key_arn=keys.logs.arn, log_retention_days=region.eks.log_retention_days,
            eks_cluster_name=self.eks.cluster.name, eks_cluster_arn=self.eks.cluster.arn,
            eks_cluster_security_group_id=self.eks.cluster_security_group_id,
            kafka_cluster_arn=self.kafka.cluster.arn, kafka_security_group_id=self.kafka.security_group.id,
            secrets_key_arn=keys.secrets.arn, shard_map_parameter=parameter_name(ctx.environment),
            database_secret_prefix=f"{ctx.environment}/{DATABASE_SECRETS}/", protect=ctx.protect), opts=child)
        self.register_outputs({"vpcId": self.network.vpc_id, "clusterName": self.eks.name,
                               "ingressHostname": self.ingress.hostname})

    def _alarms(self) -> None:
        """CloudWatch alarms of the region's MSK cluster, cache and NAT gateways, routed to its topic."""
        args, region = self.args, self.args.context.region
        ident = f"{args.context.environment}-{region.short_code}"
        topic = self.alerts.arn
        kafka_opts = pulumi.ResourceOptions(parent=self.kafka)
        for signal in alarm_signals.kafka(f"{ident}-kafka"):
            alarm(f"{region.short_code}-kafka", f"{ident}-kafka", signal, topic, kafka_opts)
        for query in alarm_signals.kafka_brokers(f"{ident}-kafka", args.alarms):
            query_alarm(f"{region.short_code}-kafka", f"{ident}-kafka", query, topic, kafka_opts)
        for query in alarm_signals.cache(f"{ident}-cache", args.alarms):
            query_alarm(f"{region.short_code}-cache", f"{ident}-cache", query, topic,
                        pulumi.ResourceOptions(parent=self.cache))
        nats = [(f"nat-{i + 1}", g.id) for i, g in enumerate(self.network.nat_gateways)]
        for signal in alarm_signals.nat(nats):
            alarm(f"{region.short_code}", ident, signal, topic, pulumi.ResourceOptions(parent=self.network))
