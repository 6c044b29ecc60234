"""`<env>-<region>-cluster`: what needs private network reach into one region's VPC.

Kubernetes objects go through the private EKS API endpoint and Kafka topics through the brokers' IAM port,
so this stack runs on the region's in-VPC deploy runner (its role holds an access entry on the cluster and
the topic permissions on its MSK cluster). It also writes the region's copies of the shard map (SSM) and
of the application login (Secrets Manager), which need the endpoints and logins other stacks publish.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.database_users import APP_USER, DatabaseLogins, app_login_secret
from components.edge_gateway import EdgeGateway, EdgeGatewayArgs
from components.eks import kubeconfig
from components.ingress import GATEWAY_NAMESPACE, bind_gateway
from components.kafka_topics import KafkaTopics, KafkaTopicsArgs
from components.kubernetes_baseline import STORAGE_CLASS, BaselineArgs, KubernetesBaseline
from components.monitoring import Monitoring, MonitoringArgs
from components.pgbouncer import CLIENT_NAMESPACES, Images, PgBouncer, PgBouncerArgs, app_connection_secret
from components.pgbouncer import NAMESPACE as PGBOUNCER_NAMESPACE
from components.pod_identity import ClusterRef
from components.redis import REDIS_PORT
from components.region_stamp import RegionContext
from components.shard_map import ShardMapArgs, ShardMapPublication
from program.references import Stacks
from regions import published_map
from regions.addressing import subnet_cidr
from regions.eks_versions import charts_for
from regions.pgbouncer_ini import STATS_USER, PoolSettings
from regions.rds_ca import bundle as rds_ca_bundle
from regions.rules import PGBOUNCER_GROUP, SYSTEM_GROUP, WORKLOADS_GROUP
from regions.schema import Manifest
from regions.shards import ShardMap
from regions.stacks import Layout, StackId

# Pinned images (tag and the non-root user they run as); see docs/platform.md, PgBouncer.
PGBOUNCER_IMAGES = Images(pgbouncer="ghcr.io/cloudnative-pg/pgbouncer:1.26.0",
                          exporter="quay.io/prometheuscommunity/pgbouncer-exporter:v0.12.1", user_id=998)


class InCluster(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__("platform:region:InCluster", name, None, opts)


def _logins(stacks: Stacks, global_stack: StackId) -> DatabaseLogins:
    logins = stacks.output(global_stack, "databaseLogins")
    users = (APP_USER, STATS_USER)
    def pick(kind: str, user: str) -> pulumi.Output[str]:
        return logins.apply(lambda v: str(v[kind][user]))
    return DatabaseLogins(
        passwords={u: pick("passwords", u) for u in users}, verifiers={u: pick("verifiers", u) for u in users},
        userlist=logins.apply(lambda v: v["userlist"]), ca_key_pem=logins.apply(lambda v: v["caKeyPem"]),
        ca_cert_pem=stacks.output(global_stack, "pgbouncerCaCertificate"))


def _published_map(manifest: Manifest, region: str, stacks: Stacks) -> pulumi.Output[dict[str, Any]]:
    """The region's copy of the shard map, with every group's writer endpoint and the local reader endpoints."""
    layout, shard_map = Layout(manifest), ShardMap(manifest)
    ends: dict[str, Any] = {}
    for group in shard_map.groups:
        writer = layout.member_stack(group.home_region, group.current_writer)
        entry: dict[str, Any] = {"writer": stacks.item(writer, "shardGroupEndpoints", group.id, group.current_writer,
                                                       "cluster")}
        if region in group.placement:
            local = layout.member_stack(group.home_region, region)
            entry["reader"] = stacks.item(local, "shardGroupEndpoints", group.id, region, "reader")
        ends[group.id] = entry

    def document(resolved: dict[str, Any]) -> dict[str, Any]:
        return published_map.build(shard_map, region, {
            gid: published_map.GroupEndpoints(writer=e["writer"],
                                              readers={region: e["reader"]} if "reader" in e else {})
            for gid, e in resolved.items()})
    return pulumi.Output.from_input(ends).apply(document)


def build(ctx: RegionContext, manifest: Manifest, stacks: Stacks, provider: pulumi.ProviderResource) -> None:
    env, region, code = ctx.environment, ctx.name, ctx.short_code
    row = ctx.region
    infra = StackId(env, "infra", region)
    cluster = stacks.regional(infra, "clusters")
    cluster_name = f"{env}-{code}"
    ref = ClusterRef(name=cluster_name, arn=f"arn:{ctx.partition}:eks:{region}:{ctx.account_id}:cluster/{cluster_name}",
                     account_id=ctx.account_id, environment=env, short_code=code, partition=ctx.partition)
    # One parent for the region's in-cluster pieces: it carries the region's AWS provider to its children.
    root = InCluster(code, opts=pulumi.ResourceOptions(providers={"aws": provider}))
    kubernetes = k8s.Provider(f"{code}-k8s", kubeconfig=kubeconfig(
        cluster_name, region, cluster.apply(lambda c: c["endpoint"]),
        cluster.apply(lambda c: c["certificateAuthority"])), enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(parent=root))
    aws_opts = pulumi.ResourceOptions(parent=root)
    k8s_opts = pulumi.ResourceOptions(parent=root, providers={"kubernetes": kubernetes})
    charts = charts_for(row.eks.kubernetes_version)
    system_nodes = f"{code}-{SYSTEM_GROUP}"
    networks = stacks.regional(infra, "networks")

    baseline = KubernetesBaseline(f"{code}-baseline", BaselineArgs(
        cluster=ref, region=region, kubernetes_version=row.eks.kubernetes_version, cluster_name=cluster_name,
        vpc_id=networks.apply(lambda n: n["vpcId"]), ebs_key_arn=cluster.apply(lambda c: c["ebsKeyArn"]),
        system_node_group=system_nodes, charts=charts, protect=ctx.protect), opts=k8s_opts)
    after_baseline = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[baseline]))
    global_stack = StackId(env, "global")
    hostnames, origin = stacks.output(global_stack, "edge"), stacks.output(global_stack, "edgeOriginCertificate")
    # The Envoy fleet holds the region's WebSocket connections: sized in the manifest from demand (regions/demand.py).
    fleet = row.edge_gateway
    gateway = EdgeGateway(f"{code}-edge-gateway", EdgeGatewayArgs(
        short_code=code, chart=charts["gateway-helm"], system_node_group=system_nodes,
        node_group=f"{code}-{WORKLOADS_GROUP}",
        hostnames=[hostnames.apply(lambda h: str(h["api"])), hostnames.apply(lambda h: str(h["webhook"]))],
        health_path=manifest.edge.health_path,
        origin_certificate=origin.apply(lambda o: o["certificate"]),
        origin_private_key=origin.apply(lambda o: o["privateKey"]),
        vpc_cidr=str(row.vpc_cidr), min_replicas=fleet.min_replicas, max_replicas=fleet.max_replicas,
        cpu=f"{round(fleet.cpu * 1000)}m", memory=f"{fleet.memory_gib}Gi"), opts=after_baseline)
    bind_gateway(code, stacks.regional(infra, "ingress").apply(lambda i: i["targetGroupArn"]),
                 pulumi.ResourceOptions(parent=root, provider=kubernetes, depends_on=[
                     baseline.releases["aws-load-balancer-controller"], baseline.namespaces[GATEWAY_NAMESPACE],
                     gateway]))
    Monitoring(f"{code}-monitoring", MonitoringArgs(
        cluster=ref, cluster_name=cluster_name, region=region, kubernetes_version=row.eks.kubernetes_version,
        chart=charts["kube-prometheus-stack"], retention_days=manifest.alarms.prometheus_retention_days,
        storage_gib=manifest.alarms.prometheus_storage_gib, storage_class=STORAGE_CLASS,
        replicas=2 if ctx.protect else 1, system_node_group=system_nodes, pgbouncer_namespace=PGBOUNCER_NAMESPACE,
        protect=ctx.protect), opts=after_baseline)

    logins = _logins(stacks, global_stack)
    document = _published_map(manifest, region, stacks)
    pgbouncer = PgBouncer(f"{code}-pgbouncer", PgBouncerArgs(
        environment=env, short_code=code, published_map=document,
        pools=PoolSettings(default_pool_size=row.pgbouncer.default_pool_size,
                           max_client_conn=row.pgbouncer.max_client_conn),
        min_replicas=row.pgbouncer.min_replicas, max_replicas=row.pgbouncer.max_replicas,
        node_group=f"{code}-{PGBOUNCER_GROUP}",
        data_subnet_cidrs=[str(subnet_cidr(row.vpc_cidr, "data", i)) for i in range(row.availability_zones)],
        rds_ca_bundle=rds_ca_bundle(region), users=logins, images=PGBOUNCER_IMAGES), opts=after_baseline)
    shard_map = ShardMapPublication(f"{code}-shard-map", ShardMapArgs(
        environment=env, short_code=code, document=document, namespace=CLIENT_NAMESPACES[0], kubernetes=kubernetes),
        opts=after_baseline)
    app_connection_secret(code, logins, logins.ca_cert_pem,
                          pulumi.ResourceOptions(parent=pgbouncer, provider=kubernetes))
    secrets_key = stacks.regional(infra, "auroraSites").apply(lambda s: s["secretsKeyArn"])
    login_secret = app_login_secret(f"{code}-database-app", env, logins, secrets_key, ctx.protect, aws_opts,
                                    rotation_days=manifest.rotation.login_days,
                                    rotated_in=StackId(env, "global").name)

    kafka = stacks.regional(infra, "kafka")
    cache = stacks.regional(infra, "cache")
    KafkaTopics(f"{code}-kafka-topics", KafkaTopicsArgs(
        region=region, short_code=code, bootstrap_brokers=kafka.apply(lambda k: k["bootstrapBrokersSaslIam"]),
        topics=manifest.streams.topics, protect=ctx.protect), opts=pulumi.ResourceOptions(parent=root))
    # Where applications find the streams and the cache of their region.
    k8s.core.v1.ConfigMap(
        f"{code}-platform-endpoints",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="platform-endpoints", namespace=CLIENT_NAMESPACES[0]),
        data={"kafka.bootstrapBrokersSaslIam": kafka.apply(lambda k: k["bootstrapBrokersSaslIam"]),
              "kafka.authentication": "SASL/IAM (aws-msk-iam-auth), TLS",
              "redis.configurationEndpoint": cache.apply(lambda c: c["configurationEndpoint"]),
              "redis.port": str(REDIS_PORT), "redis.tls": "required",
              "redis.credentialsSecretArn": cache.apply(lambda c: c["credentialsSecretArn"])},
        opts=pulumi.ResourceOptions(parent=root, provider=kubernetes, depends_on=[baseline]))
    root.register_outputs({})

    pulumi.export("environment", env)
    pulumi.export("shardMaps", {region: shard_map.json})
    pulumi.export("pgbouncer", {region: {
        "host": published_map.PGBOUNCER_HOST, "port": published_map.PGBOUNCER_PORT,
        "databases": [db for g in ShardMap(manifest).groups if published_map.local_role(g, region)
                      for db in (g.id, published_map.read_only_database(g.id))]}})
    pulumi.export("databaseLoginSecrets", {region: login_secret.arn})
