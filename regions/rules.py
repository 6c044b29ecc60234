"""Rules that relate several fields of a manifest. Each finding names the field it is about."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from regions import demand
from regions.cache_facts import ENGINE_VERSIONS, NODES_PER_CLUSTER_MAX, NODES_PER_CLUSTER_QUOTA
from regions.catalog import AURORA_MAX_REPLICAS, AWS_REGIONS, CLOUDFLARE_REGION_CODES, is_graviton
from regions.cloudwatch_facts import METRICS_INSIGHTS_ALARMS_PER_REGION
from regions.eks_versions import EKS_VERSIONS
from regions.group_alarms import metrics_insights_alarms
from regions.kafka_facts import (
    BROKERS_PER_CLUSTER,
    KRAFT_VERSIONS,
    PARTITION_REPLICAS_PER_BROKER,
    REPLICATORS_PER_REGION,
    TOPICS_PER_REPLICATOR,
)
from regions.loads import kafka_replicas_per_broker, kafka_sources, worst_connection_load
from regions.published_map import CONFIG_MAP_BYTES, parameter_name, rendered_sizes
from regions.rds_facts import AURORA_MAX_CONNECTIONS, CONNECTION_RESERVE_FRACTION, usable_connections
from regions.schema import Manifest, Region
from regions.shards import ShardMap, shard_group_id
from regions.unit_capacity import NLB_TARGETS_CROSS_ZONE, measured


@dataclass(frozen=True)
class Finding:
    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


def _at(index: int, region: Region, field: str) -> str:
    return f"regions[{index}].{field} ({region.name})"


def check(manifest: Manifest) -> list[Finding]:
    """Every rule, in the order a reader of the file would meet the fields; capacity last, on a sound manifest
    (where the load goes on a region's loss depends on DR regions and node groups being right)."""
    findings = [
        *_names(manifest),
        *_shard_ranges(manifest),
        *_published_map_size(manifest),
        *_cidrs(manifest),
        *_dr_regions(manifest),
        *_cloudflare(manifest),
        *_sizing(manifest),
        *_eks(manifest),
        *_aurora(manifest),
        *_cache(manifest),
        *_streams(manifest),
        *_alarms(manifest),
        *_edge(manifest),
        *_writers(manifest),
        *_group_readers(manifest),
        *_deploy_waves(manifest),
        *_backups(manifest),
        *_rotation(manifest),
        *_measured_figures(manifest),
    ]
    return findings or list(_capacity(manifest))


def _names(manifest: Manifest) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for i, region in enumerate(manifest.regions):
        known = AWS_REGIONS.get(region.name)
        if known is None:
            yield Finding(_at(i, region, "name"), "must be a real AWS region name such as us-east-1")
        elif region.short_code != known.short_code:
            yield Finding(_at(i, region, "short_code"),
                          f"must be {known.short_code!r}, the AZ-ID prefix AWS uses for {region.name}"
                          f" (got {region.short_code!r})")
        if region.name in seen:
            yield Finding(_at(i, region, "name"), f"region listed twice (also regions[{seen[region.name]}])")
        seen.setdefault(region.name, i)


def _shard_ranges(manifest: Manifest) -> Iterator[Finding]:
    """Ranges tile [0, logical_shards): no gap, no overlap, each cut into equal shard groups."""
    ordered = sorted(enumerate(manifest.regions), key=lambda item: item[1].logical_shards.start)
    expected_start, previous = 0, None
    for i, region in ordered:
        rng = region.logical_shards
        where = "logical_shards.start"
        if rng.end <= rng.start:
            yield Finding(_at(i, region, "logical_shards.end"),
                          f"must be greater than start (range [{rng.start}, {rng.end}) is empty)")
            continue
        after = f"regions[{previous[0]}] ({previous[1].name}) ends at {expected_start}" if previous \
            else "the first range must start at 0"
        if rng.start > expected_start:
            yield Finding(_at(i, region, where),
                          f"gap: logical shards [{expected_start}, {rng.start}) belong to no region; {after}")
        elif rng.start < expected_start:
            yield Finding(_at(i, region, where),
                          f"overlap: logical shards [{rng.start}, {min(expected_start, rng.end)}) belong to two "
                          f"regions; {after}")
        if rng.size % region.shard_groups:
            yield Finding(_at(i, region, "shard_groups"),
                          f"{rng.size} logical shards do not divide into {region.shard_groups} equal shard groups")
        expected_start, previous = max(expected_start, rng.end), (i, region)
    if expected_start != manifest.logical_shards and previous is not None:
        yield Finding(_at(previous[0], previous[1], "logical_shards.end"),
                      f"the last range must end at logical_shards = {manifest.logical_shards} "
                      f"(got {expected_start}); every logical shard needs exactly one home region")


def _published_map_size(manifest: Manifest) -> Iterator[Finding]:
    """Every region's copy of the shard map fits where it is published: its SSM parameter (8 KB Advanced, as
    gzip+base64) and the ConfigMap (1 MiB). Each copy lists every shard group of the manifest, with endpoints
    rendered in Aurora's longest forms (regions/published_map.py ``rendered_sizes``)."""
    shard_map = ShardMap(manifest)
    counts = " + ".join(str(r.shard_groups) for r in manifest.regions)
    holds = (f"holds all {len(shard_map.groups)} shard groups of the manifest (regions[*].shard_groups: "
             f"{counts})")
    name = parameter_name(manifest.environment)
    for (i, region), rendered in zip(enumerate(manifest.regions), rendered_sizes(shard_map), strict=True):
        published = rendered.parameter
        if rendered.parameter_bytes > published.limit:
            form = f"{published.encoding} " if published.encoding else ""
            yield Finding(_at(i, region, "shard_groups"),
                          f"the shard map published in {region.name} {holds} and renders to "
                          f"{rendered.parameter_bytes} bytes {form}as the SSM parameter {name}, over the "
                          f"{published.limit}-byte limit of the {published.tier} tier; use fewer, larger shard "
                          "groups")
        if rendered.document_bytes > CONFIG_MAP_BYTES:
            yield Finding(_at(i, region, "shard_groups"),
                          f"the shard map published in {region.name} {holds} and renders to "
                          f"{rendered.document_bytes} bytes as the ConfigMap shard-map, over the "
                          f"{CONFIG_MAP_BYTES}-byte (1 MiB) limit of a ConfigMap's data")


def _cidrs(manifest: Manifest) -> Iterator[Finding]:
    for j, later in enumerate(manifest.regions):
        for i, earlier in enumerate(manifest.regions[:j]):
            if later.network.overlaps(earlier.network):
                yield Finding(_at(j, later, "vpc_cidr"),
                              f"{later.vpc_cidr} overlaps regions[{i}].vpc_cidr ({earlier.name}) "
                              f"{earlier.vpc_cidr}; VPC CIDRs must be pairwise disjoint so regions can be peered")


def _dr_regions(manifest: Manifest) -> Iterator[Finding]:
    names = set(manifest.region_names)
    hosts: set[str] = set()
    for i, region in enumerate(manifest.regions):
        if len(manifest.regions) > 1 and not region.dr_regions:
            yield Finding(_at(i, region, "dr_regions"), "must list at least one DR region")
        for k, dr in enumerate(region.dr_regions):
            field = _at(i, region, f"dr_regions[{k}]")
            if dr == region.name:
                yield Finding(field, f"{dr} is the region itself; a DR copy must live in another region")
            elif dr not in names:
                yield Finding(field, f"{dr} is not a region of this manifest ({', '.join(sorted(names))})")
            elif dr in region.dr_regions[:k]:
                yield Finding(field, f"{dr} is listed twice; DR regions must be distinct")
            else:
                hosts.add(dr)
    if len(manifest.regions) > 1:
        for i, region in enumerate(manifest.regions):
            if region.name not in hosts:
                yield Finding(_at(i, region, "name"),
                              "hosts no other region's secondaries; list it in some region's dr_regions so the "
                              "DR load is balanced")


def _cloudflare(manifest: Manifest) -> Iterator[Finding]:
    served_by: dict[str, str] = {}
    for i, region in enumerate(manifest.regions):
        for k, code in enumerate(region.cloudflare_regions):
            field = _at(i, region, f"cloudflare_regions[{k}]")
            if code not in CLOUDFLARE_REGION_CODES:
                yield Finding(field, f"{code!r} is not a Cloudflare region code "
                                     f"({', '.join(CLOUDFLARE_REGION_CODES)})")
            elif code in served_by:
                yield Finding(field, f"{code} is already served by {served_by[code]}; "
                                     "each Cloudflare region code is served by exactly one region")
            else:
                served_by[code] = region.name
    missing = [code for code in CLOUDFLARE_REGION_CODES if code not in served_by]
    if missing:
        yield Finding("regions[*].cloudflare_regions",
                      f"{', '.join(missing)} served by no region; each Cloudflare region code is served by "
                      "exactly one region")


def _sizing(manifest: Manifest) -> Iterator[Finding]:
    for i, region in enumerate(manifest.regions):
        limit = AURORA_MAX_REPLICAS - len(region.dr_regions)
        if region.aurora.readers > limit:
            yield Finding(_at(i, region, "aurora.readers"),
                          f"{region.aurora.readers} readers exceed 15 - {len(region.dr_regions)} DR regions = "
                          f"{limit}, Aurora Global Database's limit for a primary cluster")
        if region.kafka.brokers % region.availability_zones:
            yield Finding(_at(i, region, "kafka.brokers"),
                          f"{region.kafka.brokers} brokers are not a multiple of the "
                          f"{region.availability_zones} availability zones")
        if region.pgbouncer.min_replicas > region.pgbouncer.max_replicas:
            yield Finding(_at(i, region, "pgbouncer.min_replicas"),
                          f"must not exceed max_replicas ({region.pgbouncer.min_replicas} > "
                          f"{region.pgbouncer.max_replicas})")
    if manifest.protected:
        if manifest.network.nat_gateways != "per_az":
            yield Finding("network.nat_gateways", "prod needs per_az NAT gateways so losing an AZ keeps egress")
        for i, region in enumerate(manifest.regions):
            if region.availability_zones < 3:
                yield Finding(_at(i, region, "availability_zones"), "prod needs at least 3 availability zones")


# The node groups every cluster needs, and the taint that keeps other pods off each dedicated group:
# critical add-ons on their own nodes; PgBouncer alone on nodes whose security group Aurora admits, so no
# other pod shares the path to the databases; everything else on the workloads group.
SYSTEM_GROUP, WORKLOADS_GROUP, PGBOUNCER_GROUP = "system", "workloads", "pgbouncer"
REQUIRED_TAINTS: dict[str, tuple[str, str, str]] = {
    SYSTEM_GROUP: ("CriticalAddonsOnly", "true", "NO_SCHEDULE"),
    PGBOUNCER_GROUP: ("dedicated", "pgbouncer", "NO_SCHEDULE"),
}
_PURPOSE = {SYSTEM_GROUP: "critical add-ons, tainted", WORKLOADS_GROUP: "application pods",
            PGBOUNCER_GROUP: "PgBouncer only, tainted; the databases admit this group's security group"}


def _eks(manifest: Manifest) -> Iterator[Finding]:
    for i, region in enumerate(manifest.regions):
        eks = region.eks
        if eks.kubernetes_version not in EKS_VERSIONS:
            yield Finding(_at(i, region, "eks.kubernetes_version"),
                          f"{eks.kubernetes_version} is not an EKS version this program pins add-ons for "
                          f"(supported: {', '.join(EKS_VERSIONS)}); see regions/eks_versions.py")
        names: dict[str, int] = {}
        for k, group in enumerate(eks.node_groups):
            field = f"eks.node_groups[{k}]"
            if group.name in names:
                yield Finding(_at(i, region, f"{field}.name"),
                              f"node group {group.name!r} is defined twice (also eks.node_groups[{names[group.name]}])")
            names.setdefault(group.name, k)
            if group.min_size > group.max_size:
                yield Finding(_at(i, region, f"{field}.min_size"),
                              f"must not exceed max_size (got {group.min_size} > {group.max_size})")
            elif not group.min_size <= group.desired_size <= group.max_size:
                yield Finding(_at(i, region, f"{field}.desired_size"),
                              f"must lie in [min_size, max_size] (got {group.desired_size} outside "
                              f"[{group.min_size}, {group.max_size}])")
            for t, instance_type in enumerate(group.instance_types):
                if not is_graviton(instance_type):
                    yield Finding(_at(i, region, f"{field}.instance_types[{t}]"),
                                  f"{instance_type} is not a Graviton (arm64) type; nodes run the AL2023 ARM AMI, "
                                  "so use a family ending in g (m7g, c7g, r8g, ...)")
        for required, purpose in _PURPOSE.items():
            if required not in names:
                yield Finding(_at(i, region, "eks.node_groups"), f"needs a node group named {required!r} ({purpose})")
        for group_name, (key, value, effect) in REQUIRED_TAINTS.items():
            if group_name in names:
                k = names[group_name]
                if not any((t.key, t.value, t.effect) == (key, value, effect) for t in eks.node_groups[k].taints):
                    yield Finding(_at(i, region, f"eks.node_groups[{k}].taints"),
                                  f"the {group_name} group must carry the taint {key}={value} with effect {effect} "
                                  "so no other pod lands on it")


PROD_BACKUP_RETENTION_DAYS = 35


def _aurora(manifest: Manifest) -> Iterator[Finding]:
    known = {r.name for r in manifest.regions if r.aurora.instance_class in AURORA_MAX_CONNECTIONS}
    for i, region in enumerate(manifest.regions):
        if region.name not in known:
            yield Finding(_at(i, region, "aurora.instance_class"),
                          f"{region.aurora.instance_class} has no known max_connections; use a db.r6g/r7g/r8g class "
                          "or add it to regions/rds_facts.py")
        if manifest.protected and region.aurora.backup_retention_days < PROD_BACKUP_RETENTION_DAYS:
            yield Finding(_at(i, region, "aurora.backup_retention_days"),
                          f"prod keeps {PROD_BACKUP_RETENTION_DAYS} days of backups, Aurora's maximum "
                          f"(got {region.aurora.backup_retention_days})")
    for i, region in enumerate(manifest.regions):
        worst = worst_connection_load(manifest, region)
        if worst is None:
            continue
        load, target, instance_class, databases = worst
        usable = usable_connections(instance_class)
        if load > usable:
            pgb = region.pgbouncer
            yield Finding(_at(i, region, "pgbouncer.default_pool_size"),
                          f"{pgb.max_replicas} PgBouncer replicas x pool {pgb.default_pool_size} x {databases} "
                          f"database(s) = {load} server connections to {target} exceed the {usable} usable on "
                          f"{instance_class} (max_connections {AURORA_MAX_CONNECTIONS[instance_class]} less a "
                          f"{CONNECTION_RESERVE_FRACTION:.0%} reserve); lower the pool or max_replicas")


def _cache(manifest: Manifest) -> Iterator[Finding]:
    for i, region in enumerate(manifest.regions):
        redis = region.redis
        if redis.engine == "redis" and not (redis.engine_reason or "").strip():
            yield Finding(_at(i, region, "redis.engine_reason"),
                          "Redis OSS needs a stated reason (Valkey is the default: same protocol, open licence, "
                          "lower price)")
        if redis.engine_version not in ENGINE_VERSIONS[redis.engine]:
            yield Finding(_at(i, region, "redis.engine_version"),
                          f"{redis.engine} {redis.engine_version} is not offered by ElastiCache "
                          f"({', '.join(ENGINE_VERSIONS[redis.engine])})")
        # Above the default quota the plan's quota table asks for the increase; above the maximum none helps.
        if redis.nodes > NODES_PER_CLUSTER_MAX:
            yield Finding(_at(i, region, "redis.shards"),
                          f"{redis.shards} shards x (1 primary + {redis.replicas_per_shard} replicas) = {redis.nodes} "
                          f"nodes exceed ElastiCache's {NODES_PER_CLUSTER_MAX} nodes per cluster, the most a quota "
                          f"increase grants (default {NODES_PER_CLUSTER_QUOTA})")
        if manifest.protected and redis.replicas_per_shard < 1:
            yield Finding(_at(i, region, "redis.replicas_per_shard"),
                          "prod needs at least 1 replica per shard: a shard without one loses its keys with its node")


def _alarms(manifest: Manifest) -> Iterator[Finding]:
    # The quota counts every Metrics Insights alarm of the account in the region; each environment has its own.
    alarms = metrics_insights_alarms()
    for i, region in enumerate(manifest.regions):
        if alarms > METRICS_INSIGHTS_ALARMS_PER_REGION:
            yield Finding(_at(i, region, "name"),
                          f"gets {alarms} Metrics Insights alarms (one per signal of its cache group and MSK "
                          f"cluster), over CloudWatch's {METRICS_INSIGHTS_ALARMS_PER_REGION} per account and region, "
                          "a quota that cannot be raised")


def _streams(manifest: Manifest) -> Iterator[Finding]:
    topics = manifest.streams.topics
    seen: set[str] = set()
    for t, topic in enumerate(topics):
        if topic.name in seen:
            yield Finding(f"streams.topics[{t}].name", f"topic {topic.name!r} is listed twice")
        seen.add(topic.name)
    replicated = [t for t in topics if t.replicated]
    if len(replicated) > TOPICS_PER_REPLICATOR:
        yield Finding("streams.topics", f"{len(replicated)} replicated topics exceed the {TOPICS_PER_REPLICATOR} "
                                        "topics one MSK Replicator copies")
    local = sum(t.partitions for t in topics)
    per_source = sum(t.partitions for t in replicated)
    versions = {r.kafka.kafka_version for r in manifest.regions}
    for i, region in enumerate(manifest.regions):
        kafka = region.kafka
        if kafka.kafka_version not in KRAFT_VERSIONS:
            yield Finding(_at(i, region, "kafka.kafka_version"),
                          f"{kafka.kafka_version} is not a KRaft version MSK offers ({', '.join(KRAFT_VERSIONS)})")
        if len(versions) > 1:
            yield Finding(_at(i, region, "kafka.kafka_version"),
                          f"every region must run the same Kafka version for replication (found {sorted(versions)})")
        if kafka.brokers > BROKERS_PER_CLUSTER:
            yield Finding(_at(i, region, "kafka.brokers"), f"MSK allows at most {BROKERS_PER_CLUSTER} brokers")
        if kafka.max_storage_gib < kafka.storage_gib:
            yield Finding(_at(i, region, "kafka.max_storage_gib"),
                          f"must be at least storage_gib ({kafka.max_storage_gib} < {kafka.storage_gib}); "
                          "MSK storage only grows")
        sources = kafka_sources(manifest, region)
        if len(sources) > REPLICATORS_PER_REGION:
            yield Finding(_at(i, region, "name"),
                          f"receives {len(sources)} MSK Replicators, over the quota of {REPLICATORS_PER_REGION} per "
                          "account and region")
        limit = PARTITION_REPLICAS_PER_BROKER.get(kafka.broker_type)
        if limit is None:
            yield Finding(_at(i, region, "kafka.broker_type"),
                          f"{kafka.broker_type} has no partition recommendation in regions/kafka_facts.py; use an "
                          "m7g (or m5) size")
            continue
        load = kafka_replicas_per_broker(manifest, region)
        if load > limit:
            yield Finding(_at(i, region, "kafka.brokers"),
                          f"{load:.0f} partition replicas per broker exceed AWS's recommended {limit} for "
                          f"{kafka.broker_type}: ({local} local + {per_source} x {len(sources)} replicated-in + "
                          f"internal) partitions x RF 3 / {kafka.brokers} brokers; add brokers, a larger size or "
                          "fewer partitions")


def _edge(manifest: Manifest) -> Iterator[Finding]:
    edge = manifest.edge
    if edge.api_host == edge.webhook_host:
        yield Finding("edge.webhook_host", f"must differ from api_host ({edge.api_host!r}): the webhook has its own "
                                           "load balancer and rules")
    if edge.auth_requests_per_minute > edge.api_requests_per_minute:
        yield Finding("edge.auth_requests_per_minute",
                      f"must not exceed api_requests_per_minute ({edge.auth_requests_per_minute} > "
                      f"{edge.api_requests_per_minute}): authentication paths get the stricter limit")


def _home_regions(manifest: Manifest) -> dict[str, Region]:
    """Every shard group id of the manifest -> its home region."""
    return {shard_group_id(region.short_code, k): region
            for region in manifest.regions for k in range(1, region.shard_groups + 1)}


def _writers(manifest: Manifest) -> Iterator[Finding]:
    placement = {gid: (home.name, *home.dr_regions) for gid, home in _home_regions(manifest).items()}
    for gid, writer in manifest.writer_regions.items():
        field = f"writer_regions.{gid}"
        if gid not in placement:
            yield Finding(field, f"{gid} is not a shard group of this manifest")
        elif writer == placement[gid][0]:
            yield Finding(field, f"{writer} is {gid}'s home region; remove the entry once the writer is back home")
        elif writer not in placement[gid]:
            yield Finding(field, f"{writer} holds no copy of {gid} (its copies: {', '.join(placement[gid])})")


def _group_readers(manifest: Manifest) -> Iterator[Finding]:
    homes = _home_regions(manifest)
    for gid, readers in manifest.group_readers.items():
        field = f"group_readers.{gid}"
        home = homes.get(gid)
        if home is None:
            yield Finding(field, f"{gid} is not a shard group of this manifest")
            continue
        limit = AURORA_MAX_REPLICAS - len(home.dr_regions)
        if readers > limit:
            yield Finding(field, f"{readers} readers exceed 15 - {len(home.dr_regions)} DR regions = {limit}, "
                                 "Aurora Global Database's limit for a primary cluster")
        elif readers == home.aurora.readers:
            yield Finding(field, f"{readers} is already {home.name}'s aurora.readers; remove the entry")


def _deploy_waves(manifest: Manifest) -> Iterator[Finding]:
    """Every region in exactly one wave; production deploys one canary region alone before the others."""
    waves = manifest.deploy_waves
    listed = [name for wave in waves for name in wave]
    known = set(manifest.region_names)
    for i, wave in enumerate(waves):
        if not wave:
            yield Finding(f"deploy_waves[{i}]", "an empty wave deploys nothing; remove it")
        for name in wave:
            if name not in known:
                yield Finding(f"deploy_waves[{i}]", f"{name} is not a region of this manifest")
    for name in sorted({n for n in listed if listed.count(n) > 1}):
        yield Finding("deploy_waves", f"{name} is in more than one wave; each region deploys exactly once")
    if waves:
        missing = [n for n in manifest.region_names if n not in listed]
        if missing:
            yield Finding("deploy_waves", f"{', '.join(missing)} in no wave; list every region exactly once")
    if manifest.protected and len(manifest.regions) > 1 and (len(waves) < 2 or len(waves[0]) != 1):
        yield Finding("deploy_waves", "production deploys one canary region alone first, then the others "
                      "(at least two waves, the first of one region)")


# Security Hub SecretsManager.4 (and the pack's S10): a secret rotates at least every 90 days.
MAX_ROTATION_DAYS = 90


def _backups(manifest: Manifest) -> Iterator[Finding]:
    backups = manifest.backups
    lock = backups.vault_lock
    if lock is None:
        if manifest.protected:
            yield Finding("backups.vault_lock", "production vaults are locked in compliance mode: set "
                          "min_retention_days, max_retention_days and grace_days")
        return
    if lock.min_retention_days > lock.max_retention_days:
        yield Finding("backups.vault_lock.min_retention_days",
                      f"must not exceed max_retention_days ({lock.min_retention_days} > {lock.max_retention_days})")
        return
    # The lock refuses any backup or copy job whose retention falls outside [min, max].
    for field in ("daily_retention_days", "copy_retention_days", "continuous_retention_days"):
        days = getattr(backups, field)
        if not lock.min_retention_days <= days <= lock.max_retention_days:
            yield Finding(f"backups.{field}", f"the vault lock accepts only {lock.min_retention_days} to "
                          f"{lock.max_retention_days} days (got {days})")


def _rotation(manifest: Manifest) -> Iterator[Finding]:
    for field in ("master_days", "cache_days", "login_days"):
        days = getattr(manifest.rotation, field)
        if days > MAX_ROTATION_DAYS:
            yield Finding(f"rotation.{field}", f"credentials rotate at least every {MAX_ROTATION_DAYS} days "
                          f"(got {days})")


def _measured_figures(manifest: Manifest) -> Iterator[Finding]:
    """A measured per-unit figure is the recorded one (benchmarks/capacity_units.json) derated as stated."""
    capacity = manifest.capacity
    for name in ("pgbouncer_transactions_per_core", "aurora_reads_per_vcpu", "aurora_writes_per_vcpu",
                 "cache_operations_per_node"):
        figure = getattr(capacity, name)
        expected = round(measured(figure.measured) * figure.derating)
        if round(figure.value) != expected:
            yield Finding(f"capacity.{name}.value",
                          f"must be the recorded {figure.measured} ({measured(figure.measured):g}) x derating "
                          f"{figure.derating:g} = {expected} (got {figure.value:g}); re-measure with "
                          "`make bench-capacity` or change the derating")
    for region in manifest.regions:
        if region.edge_gateway.max_replicas > NLB_TARGETS_CROSS_ZONE:
            yield Finding(_at(manifest.regions.index(region), region, "edge_gateway.max_replicas"),
                          f"{region.edge_gateway.max_replicas} replicas exceed the {NLB_TARGETS_CROSS_ZONE} targets "
                          "an NLB with cross-zone load balancing accepts (each replica is one IP target)")
        elif region.edge_gateway.min_replicas > region.edge_gateway.max_replicas:
            yield Finding(_at(manifest.regions.index(region), region, "edge_gateway.min_replicas"),
                          f"must not exceed max_replicas ({region.edge_gateway.min_replicas} > "
                          f"{region.edge_gateway.max_replicas})")
    stated = manifest.demand.region_shares
    for name in stated:
        if name not in manifest.region_names:
            yield Finding(f"demand.region_shares.{name}", f"{name} is not a region of this manifest")
    if stated and sum(demand.shares(manifest).values()) < 1 - 1e-9:
        total = sum(demand.shares(manifest).values())
        yield Finding("demand.region_shares",
                      f"the regions' shares sum to {total:.3f} < 1: the plan would carry less than the stated peak")


def _scenario(name: str) -> str:
    return "in normal operation" if name == demand.NORMAL else f"with {name}"


def _capacity(manifest: Manifest) -> Iterator[Finding]:
    """Every tier carries its demand plus the stated headroom, normally and with any one region lost."""
    headroom = manifest.capacity.headroom_percent
    index = {r.name: i for i, r in enumerate(manifest.regions)}
    for row in demand.shortfalls(manifest):
        region = manifest.region(row.region)
        yield Finding(_at(index[row.region], region, f"capacity[{row.tier}]"),
                      f"{row.tier} falls short {_scenario(row.scenario)}: demand {row.demand:,.0f} {row.unit} "
                      f"(+{headroom}% headroom = {row.demand * (1 + headroom / 100):,.0f}) > supply "
                      f"{row.supply:,.0f} ({row.detail})")
