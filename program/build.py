"""Build the platform from validated inputs and publish what applications and operators read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare

from components.aurora import AuroraShardGroup, AuroraShardGroupArgs, AuroraSite
from components.database_users import DatabaseUsers, DatabaseUsersArgs, SecretSite
from components.edge import Edge, EdgeArgs, EdgeRegion
from components.kafka_replication import KafkaReplication, ReplicationArgs
from components.pgbouncer import Images
from components.region_stamp import RegionStamp, RegionStampArgs
from program.config import StackConfig
from program.providers import regional_provider
from regions import published_map
from regions.catalog import CLOUDFLARE_REGION_CODES
from regions.quotas import rds_needs
from regions.rds_ca import bundle as rds_ca_bundle
from regions.schema import Manifest
from regions.shards import ShardMap

PROTECTED_ENVIRONMENTS = frozenset({"prod"})
# Pinned images (tag and the non-root user they run as); see the README's PgBouncer section.
PGBOUNCER_IMAGES = Images(pgbouncer="ghcr.io/cloudnative-pg/pgbouncer:1.26.0",
                          exporter="quay.io/prometheuscommunity/pgbouncer-exporter:v0.12.1", user_id=998)


@dataclass(frozen=True)
class Platform:
    manifest: Manifest
    shard_map: ShardMap
    regions: dict[str, RegionStamp]
    shard_groups: dict[str, AuroraShardGroup]
    edge: Edge


def build(config: StackConfig, manifest: Manifest) -> Platform:
    protect = manifest.environment in PROTECTED_ENVIRONMENTS
    # One look-up for all regions: every regional ingress admits exactly Cloudflare's published ranges.
    cloudflare_ipv4 = sorted(cloudflare.get_ip_ranges().ipv4_cidrs or [])
    stamps, providers = {}, {}
    for region in manifest.regions:
        provider = providers[region.name] = regional_provider(config, region.name, region.short_code)
        stamps[region.name] = RegionStamp(
            region.short_code,
            RegionStampArgs(environment=manifest.environment, account_id=config.aws_account_id, region=region,
                            network=manifest.network, admin_role_arn=config.admin_role_arn,
                            admin_cidrs=config.admin_cidrs, cloudflare_ipv4=cloudflare_ipv4,
                            topics=manifest.streams.topics, alarms=manifest.alarms,
                            alert_emails=config.alert_emails, alert_webhook_url=config.alert_webhook_url,
                            protect=protect),
            opts=pulumi.ResourceOptions(providers={"aws": provider}))
    shard_map = ShardMap(manifest)

    def site(name: str) -> AuroraSite:
        stamp = stamps[name]
        return AuroraSite(region=name, short_code=manifest.region(name).short_code, base=stamp.aurora,
                          log_key_arn=stamp.network.log_key.arn, provider=providers[name],
                          alert_topic_arn=stamp.alerts.arn)

    # The global pieces: one Aurora Global Database per shard group, spanning its home and DR regions.
    shard_groups = {}
    for group in shard_map.groups:
        aurora = manifest.region(group.home_region).aurora
        shard_groups[group.id] = AuroraShardGroup(group.id, AuroraShardGroupArgs(
            environment=manifest.environment, group_id=group.id, engine_version=aurora.engine_version,
            instance_class=aurora.instance_class, readers=group.readers,
            secondary_instances=aurora.secondary_instances, backup_retention_days=aurora.backup_retention_days,
            log_retention_days=aurora.log_retention_days, home=site(group.home_region),
            secondaries=[site(r) for r in group.dr_regions], alarms=manifest.alarms, protect=protect))

    users = DatabaseUsers("platform-db", DatabaseUsersArgs(
        environment=manifest.environment,
        sites=[SecretSite(r.name, providers[r.name], stamps[r.name].aurora.secrets_key.arn) for r in manifest.regions],
        protect=protect))
    endpoints: pulumi.Output[dict[str, Any]] = pulumi.Output.from_input({
        group.id: {"writer": shard_groups[group.id].cluster_endpoints[group.current_writer],
                   "readers": shard_groups[group.id].reader_endpoints} for group in shard_map.groups})

    def published(region: str) -> pulumi.Output[dict[str, Any]]:
        def document(ends: dict[str, Any]) -> dict[str, Any]:
            return published_map.build(shard_map, region, {
                gid: published_map.GroupEndpoints(writer=e["writer"], readers=e["readers"]) for gid, e in ends.items()})
        return endpoints.apply(document)

    for name, stamp in stamps.items():
        stamp.serve_shards(published(name), users, rds_ca_bundle(name), PGBOUNCER_IMAGES)
    # Events of every region are replicated into its DR regions, by replicators living in the targets.
    replicated = [t.name for t in manifest.streams.topics if t.replicated]
    for source in manifest.regions:
        for target_name in source.dr_regions:
            target = manifest.region(target_name)
            KafkaReplication(f"{source.short_code}-to-{target.short_code}", ReplicationArgs(
                environment=manifest.environment, account_id=config.aws_account_id,
                source=stamps[source.name].kafka, target=stamps[target.name].kafka,
                source_subnet_ids=stamps[source.name].network.subnet_ids["private"],
                target_subnet_ids=stamps[target.name].network.subnet_ids["private"],
                topics=replicated, target_provider=providers[target.name]))
    for needs in rds_needs(manifest):
        for shortfall in needs.shortfalls():
            pulumi.log.warn(shortfall)
    edge = manifest.edge
    cloudflare_edge = Edge(f"{manifest.environment}-edge", EdgeArgs(
        environment=manifest.environment, domain=config.domain, zone_id=config.cloudflare_zone_id,
        account_id=config.cloudflare_account_id, api_host=edge.api_host, webhook_host=edge.webhook_host,
        webhook_path=edge.webhook_path, health_path=edge.health_path,
        api_requests_per_minute=edge.api_requests_per_minute, auth_requests_per_minute=edge.auth_requests_per_minute,
        auth_paths=edge.auth_paths, static_extensions=edge.static_extensions,
        static_ttl_seconds=edge.static_ttl_seconds, waf_anomaly_threshold=config.waf_anomaly_threshold,
        waf_paranoia_level=config.waf_paranoia_level,
        regions=[EdgeRegion(name=r.name, short_code=r.short_code, cloudflare_regions=r.cloudflare_regions,
                            dr_regions=r.dr_regions, origin=stamps[r.name].ingress.hostname)
                 for r in manifest.regions],
        region_codes=list(CLOUDFLARE_REGION_CODES), alert_emails=config.alert_emails,
        alert_webhook_url=config.alert_webhook_url))
    return Platform(manifest, shard_map, stamps, shard_groups, cloudflare_edge)


def shard_allocation(shard_map: ShardMap) -> list[dict[str, object]]:
    """Per region: its logical range, users, shard groups and DR regions (plain data)."""
    manifest = shard_map.manifest
    return [
        {
            "region": region.name,
            "start": region.logical_shards.start,
            "end": region.logical_shards.end,
            "users": region.logical_shards.size * manifest.users_per_logical_shard,
            "shardGroups": [g.id for g in shard_map.groups_in(region.name)],
            "drRegions": list(region.dr_regions),
        }
        for region in manifest.regions
    ]


def export(platform: Platform) -> None:
    pulumi.export("environment", platform.manifest.environment)
    pulumi.export("shardAllocation", shard_allocation(platform.shard_map))
    pulumi.export("networks", {
        name: {
            "vpcId": stamp.network.vpc_id,
            "vpcCidr": stamp.network.args.vpc_cidr,
            "availabilityZones": stamp.network.az_names,
            "publicSubnetIds": stamp.network.subnet_ids["public"],
            "privateSubnetIds": stamp.network.subnet_ids["private"],
            "dataSubnetIds": stamp.network.subnet_ids["data"],
        }
        for name, stamp in platform.regions.items()
    })
    pulumi.export("clusters", {
        name: {
            "name": stamp.eks.name,
            "arn": stamp.eks.cluster.arn,
            "endpoint": stamp.eks.endpoint,
            "kubernetesVersion": stamp.eks.cluster.version,
            "nodeSecurityGroupIds": {group: sg.id for group, sg in stamp.eks.node_security_groups.items()},
        }
        for name, stamp in platform.regions.items()
    })
    pulumi.export("shardMaps", {name: stamp.shard_map.json for name, stamp in platform.regions.items()})
    pulumi.export("pgbouncer", {
        name: {"host": published_map.PGBOUNCER_HOST, "port": published_map.PGBOUNCER_PORT,
               "databases": [db for g in platform.shard_map.groups if published_map.local_role(g, name)
                             for db in (g.id, published_map.read_only_database(g.id))]}
        for name in platform.regions})
    pulumi.export("kafka", {name: {"arn": s.kafka.cluster.arn, "bootstrapBrokersSaslIam": s.kafka.bootstrap_brokers}
                            for name, s in platform.regions.items()})
    pulumi.export("cache", {name: {"replicationGroupId": s.cache.replication_group.replication_group_id,
                                   "configurationEndpoint": s.cache.configuration_endpoint, "port": 6379,
                                   "credentialsSecretArn": s.cache.app_secret.arn}
                            for name, s in platform.regions.items()})
    # Each shard group's Aurora Global Database and its member clusters by region (what `make verify` checks).
    pulumi.export("globalClusters", {
        gid: {"globalClusterIdentifier": group.identifier, "homeRegion": group.args.home.region,
              "clusters": group.cluster_identifiers}
        for gid, group in platform.shard_groups.items()})
    pulumi.export("edge", {"api": platform.edge.args.api_hostname, "webhook": platform.edge.args.webhook_hostname})
    # Each region's edge origin: the Cloudflare pool of that region points at this hostname.
    pulumi.export("ingressHostnames", {name: stamp.ingress.hostname for name, stamp in platform.regions.items()})
