"""One region of the platform, stamped from its manifest entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import alarm_signals
from components.alerts import AlertTopic, AlertTopicArgs, alarm
from components.aurora_region import AuroraRegion, AuroraRegionArgs
from components.database_users import DatabaseUsers
from components.eks import EksCluster, EksClusterArgs
from components.ingress import GATEWAY_NAMESPACE, IngressArgs, RegionalIngress
from components.kafka import KafkaArgs, KafkaCluster
from components.kubernetes_baseline import BaselineArgs, KubernetesBaseline
from components.monitoring import Monitoring, MonitoringArgs
from components.network import Network, NetworkArgs
from components.pgbouncer import CLIENT_NAMESPACES, Images, PgBouncer, PgBouncerArgs, app_connection_secret
from components.pgbouncer import NAMESPACE as PGBOUNCER_NAMESPACE
from components.redis import REDIS_PORT, RedisArgs, RedisCluster
from components.shard_map import ShardMapArgs, ShardMapPublication
from regions.addressing import subnet_cidr
from regions.catalog import AWS_REGIONS
from regions.eks_versions import EKS_VERSIONS, charts_for
from regions.pgbouncer_ini import PoolSettings
from regions.rules import PGBOUNCER_GROUP, SYSTEM_GROUP, WORKLOADS_GROUP
from regions.schema import Alarms, Region, Topic
from regions.schema import Network as NetworkSettings


@dataclass(frozen=True)
class RegionStampArgs:
    environment: str
    account_id: str
    region: Region
    network: NetworkSettings
    admin_role_arn: str
    admin_cidrs: Sequence[str]
    cloudflare_ipv4: Sequence[str]
    topics: Sequence[Topic]
    alarms: Alarms
    alert_emails: Sequence[str]
    alert_webhook_url: str | None
    protect: bool  # protect stateful resources (prod)


class RegionStamp(pulumi.ComponentResource):
    """Everything that lives in one region. The caller hands down that region's AWS provider."""

    def __init__(self, name: str, args: RegionStampArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:region:RegionStamp", name, None, opts)
        region = args.region
        partition = AWS_REGIONS[region.name].partition
        child = pulumi.ResourceOptions(parent=self)
        self.region_name = region.name
        self.args = args
        self.network = Network(f"{region.short_code}-network", NetworkArgs(
            environment=args.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=args.account_id,
            partition=partition,
            vpc_cidr=region.vpc_cidr,
            az_count=region.availability_zones,
            nat_gateways=args.network.nat_gateways,
            flow_log_retention_days=args.network.flow_log_retention_days,
            protect=args.protect,
        ), opts=child)

        release = EKS_VERSIONS[region.eks.kubernetes_version]
        self.eks = EksCluster(f"{region.short_code}-eks", EksClusterArgs(
            environment=args.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=args.account_id,
            partition=partition,
            kubernetes_version=region.eks.kubernetes_version,
            addon_versions=release.addons,
            log_retention_days=region.eks.log_retention_days,
            node_groups=region.eks.node_groups,
            vpc_id=self.network.vpc_id,
            private_subnet_ids=self.network.subnet_ids["private"],
            log_key_arn=self.network.log_key.arn,
            admin_role_arn=args.admin_role_arn,
            admin_cidrs=args.admin_cidrs,
            protect=args.protect,
        ), opts=child)

        # Kubernetes objects need nodes for their pods and DNS for their webhooks.
        ready = [*self.eks.node_groups.values(), self.eks.addons["coredns"]]
        self.baseline = KubernetesBaseline(f"{region.short_code}-baseline", BaselineArgs(
            cluster=self.eks.ref,
            region=region.name,
            kubernetes_version=region.eks.kubernetes_version,
            cluster_name=self.eks.name,
            vpc_id=self.network.vpc_id,
            ebs_key_arn=self.eks.ebs_key.arn,
            system_node_group=f"{region.short_code}-{SYSTEM_GROUP}",
            charts=charts_for(region.eks.kubernetes_version),
            protect=args.protect,
        ), opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.eks.kubernetes}, depends_on=ready))

        self.ingress = RegionalIngress(f"{region.short_code}-ingress", IngressArgs(
            environment=args.environment,
            short_code=region.short_code,
            vpc_id=self.network.vpc_id,
            public_subnet_ids=self.network.subnet_ids["public"],
            workloads_security_group_id=self.eks.node_security_groups[WORKLOADS_GROUP].id,
            cloudflare_ipv4=args.cloudflare_ipv4,
            protect=args.protect,
        ), opts=child)
        self.ingress.bind_gateway(region.short_code, pulumi.ResourceOptions(
            parent=self.ingress, provider=self.eks.kubernetes,
            depends_on=[self.baseline.releases["aws-load-balancer-controller"],
                        self.baseline.namespaces[GATEWAY_NAMESPACE]]))
        self.aurora = AuroraRegion(f"{region.short_code}-aurora", AuroraRegionArgs(
            environment=args.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=args.account_id,
            partition=partition,
            engine_major=region.aurora.engine_major,
            vpc_id=self.network.vpc_id,
            data_subnet_ids=self.network.subnet_ids["data"],
            client_security_group_id=self.eks.node_security_groups[PGBOUNCER_GROUP].id,
            protect=args.protect,
        ), opts=child)
        workloads = self.eks.node_security_groups[WORKLOADS_GROUP].id
        self.cache = RedisCluster(f"{region.short_code}-cache", RedisArgs(
            environment=args.environment, region=region.name, short_code=region.short_code,
            account_id=args.account_id, partition=partition, engine=region.redis.engine,
            engine_version=region.redis.engine_version, node_type=region.redis.node_type,
            shards=region.redis.shards, replicas_per_shard=region.redis.replicas_per_shard,
            snapshot_retention_days=region.redis.snapshot_retention_days,
            log_retention_days=region.redis.log_retention_days, vpc_id=self.network.vpc_id,
            data_subnet_ids=self.network.subnet_ids["data"], client_security_group_id=workloads,
            log_key_arn=self.network.log_key.arn, secrets_key_arn=self.aurora.secrets_key.arn, protect=args.protect,
        ), opts=child)
        self.kafka = KafkaCluster(f"{region.short_code}-kafka", KafkaArgs(
            environment=args.environment, region=region.name, short_code=region.short_code,
            account_id=args.account_id, partition=partition, kafka_version=region.kafka.kafka_version,
            broker_type=region.kafka.broker_type, brokers=region.kafka.brokers, storage_gib=region.kafka.storage_gib,
            max_storage_gib=region.kafka.max_storage_gib, log_retention_days=region.kafka.log_retention_days,
            topics=args.topics, vpc_id=self.network.vpc_id, private_subnet_ids=self.network.subnet_ids["private"],
            client_security_group_id=workloads, log_key_arn=self.network.log_key.arn,
            admin_role_arn=args.admin_role_arn, protect=args.protect,
        ), opts=child)
        self.alerts = AlertTopic(f"{region.short_code}-alerts", AlertTopicArgs(
            environment=args.environment, region=region.name, short_code=region.short_code,
            account_id=args.account_id, partition=partition, emails=args.alert_emails,
            webhook_url=args.alert_webhook_url, protect=args.protect), opts=child)
        self._alarms()
        charts = charts_for(region.eks.kubernetes_version)
        self.monitoring = Monitoring(f"{region.short_code}-monitoring", MonitoringArgs(
            cluster=self.eks.ref, cluster_name=self.eks.name, region=region.name,
            kubernetes_version=region.eks.kubernetes_version, chart=charts["kube-prometheus-stack"],
            retention_days=args.alarms.prometheus_retention_days, storage_gib=args.alarms.prometheus_storage_gib,
            storage_class="gp3-encrypted", replicas=2 if args.protect else 1,
            system_node_group=f"{region.short_code}-{SYSTEM_GROUP}", pgbouncer_namespace=PGBOUNCER_NAMESPACE,
            protect=args.protect),
            opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.eks.kubernetes},
                                        depends_on=[self.baseline]))
        # Where applications find the streams and the cache of their region.
        k8s.core.v1.ConfigMap(
            f"{region.short_code}-platform-endpoints",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="platform-endpoints", namespace=CLIENT_NAMESPACES[0]),
            data={"kafka.bootstrapBrokersSaslIam": self.kafka.bootstrap_brokers,
                  "kafka.authentication": "SASL/IAM (aws-msk-iam-auth), TLS",
                  "redis.configurationEndpoint": self.cache.configuration_endpoint,
                  "redis.port": str(REDIS_PORT), "redis.tls": "required",
                  "redis.credentialsSecretArn": self.cache.app_secret.arn},
            opts=pulumi.ResourceOptions(parent=self, provider=self.eks.kubernetes, depends_on=[self.baseline]))
        self.register_outputs({"vpcId": self.network.vpc_id, "clusterName": self.eks.name,
                               "ingressHostname": self.ingress.hostname})

    def _alarms(self) -> None:
        """CloudWatch alarms of the region's MSK cluster, cache and NAT gateways, routed to its topic."""
        args, region = self.args, self.args.region
        ident = f"{args.environment}-{region.short_code}"
        topic = self.alerts.arn
        for signal in alarm_signals.kafka(f"{ident}-kafka", region.kafka.brokers, args.alarms):
            alarm(f"{region.short_code}-kafka", f"{ident}-kafka", signal, topic,
                  pulumi.ResourceOptions(parent=self.kafka))
        for signal in alarm_signals.cache(f"{ident}-cache", region.redis.shards, region.redis.replicas_per_shard,
                                          args.alarms):
            alarm(f"{region.short_code}-cache", f"{ident}-cache", signal, topic,
                  pulumi.ResourceOptions(parent=self.cache))
        nats = [(f"nat-{i + 1}", g.id) for i, g in enumerate(self.network.nat_gateways)]
        for signal in alarm_signals.nat(nats):
            alarm(f"{region.short_code}", ident, signal, topic, pulumi.ResourceOptions(parent=self.network))

    def serve_shards(self, published_map: pulumi.Input[dict[str, Any]], users: DatabaseUsers, rds_ca_bundle: str,
                     images: Images) -> None:
        """PgBouncer and the published shard map; called once every shard group's clusters exist."""
        region = self.args.region
        k8s_opts = pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.eks.kubernetes},
                                          depends_on=[self.baseline])
        self.pgbouncer = PgBouncer(f"{region.short_code}-pgbouncer", PgBouncerArgs(
            environment=self.args.environment,
            short_code=region.short_code,
            published_map=published_map,
            pools=PoolSettings(default_pool_size=region.pgbouncer.default_pool_size,
                               max_client_conn=region.pgbouncer.max_client_conn),
            min_replicas=region.pgbouncer.min_replicas,
            max_replicas=region.pgbouncer.max_replicas,
            node_group=f"{region.short_code}-{PGBOUNCER_GROUP}",
            data_subnet_cidrs=[str(subnet_cidr(region.vpc_cidr, "data", i)) for i in range(region.availability_zones)],
            rds_ca_bundle=rds_ca_bundle,
            users=users,
            images=images,
        ), opts=k8s_opts)
        self.shard_map = ShardMapPublication(f"{region.short_code}-shard-map", ShardMapArgs(
            environment=self.args.environment, short_code=region.short_code, document=published_map,
            namespace=CLIENT_NAMESPACES[0], kubernetes=self.eks.kubernetes), opts=k8s_opts)
        app_connection_secret(region.short_code, users, users.ca_cert.cert_pem,
                              pulumi.ResourceOptions(parent=self.pgbouncer, provider=self.eks.kubernetes))
