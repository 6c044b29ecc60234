"""Capacity from demand: every tier's demand and supply per region, in normal operation and with each region lost.

Where the load goes is what the program builds and the runbook does, nothing else:

- Edge: each Cloudflare region code is steered to the pool of the region serving it, then to that region's DR
  regions' pools in order (components/edge.py ``region_pools``). With a region lost, its users go to its first DR
  region.
- Databases: an unplanned failover promotes each of the lost region's shard groups in the first of its
  ``dr_regions`` (docs/runbooks/aurora-switchover.md). The promoted cluster has ``secondary_instances`` instances
  of the home region's class: one writer, the rest readers (the writer serves reads when it is alone).
- A region's demand is its share of the environment's: ``demand.region_shares`` where stated, else the share of
  the users its logical shards hold. A shard group's share is its home region's divided by its group count.

Supply is counted at the autoscaling maxima (node groups, PgBouncer and gateway HPAs) and at the fixed sizes
(Aurora instances, cache shards, brokers). Units per tier: regions/unit_capacity.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from regions.kafka_facts import sustainable_ingress_mibps
from regions.schema import Manifest, Region
from regions.shards import group_readers
from regions.unit_capacity import NLB_TARGETS_CROSS_ZONE, instance_memory_gib, instance_vcpus

NORMAL = "normal"
WORKLOADS_GROUP, PGBOUNCER_GROUP = "workloads", "pgbouncer"  # the node groups regions/rules.py requires
MIB = 1024 * 1024
TIERS = ("application", "gateway", "nlb-targets", "pgbouncer", "aurora-writes", "aurora-reads", "cache", "kafka")


def loss(region: str) -> str:
    return f"{region} lost"


def scenarios(manifest: Manifest) -> list[str]:
    return [NORMAL, *(loss(r.name) for r in manifest.regions)] if len(manifest.regions) > 1 else [NORMAL]


@dataclass(frozen=True)
class Row:
    """One tier of one region in one scenario: the plan document's `capacity.tiers` entry."""

    region: str
    tier: str
    scenario: str
    demand: float
    supply: float
    unit: str
    detail: str  # how supply is counted, for the message that refuses a short tier

    def headroom_percent(self) -> float | None:
        return None if not self.demand else round(100 * (self.supply / self.demand - 1), 1)

    def as_document(self) -> dict[str, object]:
        return {"region": self.region, "tier": self.tier, "scenario": self.scenario, "demand": round(self.demand),
                "supply": round(self.supply), "unit": self.unit, "headroomPercent": self.headroom_percent()}


def shares(manifest: Manifest) -> dict[str, float]:
    """Fraction of the environment's demand that arrives at each region (home traffic, before any failover)."""
    stated = manifest.demand.region_shares
    return {r.name: stated.get(r.name, r.logical_shards.size / manifest.logical_shards) for r in manifest.regions}


def failover_target(region: Region) -> str:
    """Where the edge sends a lost region's users and where the runbook promotes its shard groups."""
    return region.dr_regions[0]


def served(manifest: Manifest, scenario: str) -> dict[str, list[Region]]:
    """Per surviving region: the home regions whose users (and promoted shard groups) it serves."""
    lost = {r.name for r in manifest.regions if scenario == loss(r.name)}
    out: dict[str, list[Region]] = {r.name: [] for r in manifest.regions if r.name not in lost}
    for home in manifest.regions:
        out[failover_target(home) if home.name in lost else home.name].append(home)
    return out


def _workload_vcpus(region: Region) -> tuple[float, float, str]:
    """vCPUs the applications get at the workloads group's maximum, after the gateway's replicas take theirs.

    A gateway replica occupies the larger of its CPU and its memory share of a node (it runs on this group).
    """
    group = next(g for g in region.eks.node_groups if g.name == WORKLOADS_GROUP)
    node_type = min(group.instance_types, key=instance_vcpus)
    node_vcpus, node_gib = instance_vcpus(node_type), instance_memory_gib(node_type)
    gw = region.edge_gateway
    per_replica = node_vcpus * max(gw.cpu / node_vcpus, gw.memory_gib / node_gib)
    total, reserved = group.max_size * node_vcpus, gw.max_replicas * per_replica
    detail = (f"{group.max_size} x {node_type} ({total:,} vCPUs) less {gw.max_replicas} gateway replicas x "
              f"{per_replica:g} vCPUs")
    return total - reserved, reserved, detail


def _pgbouncer_cores(region: Region) -> tuple[int, str]:
    """One core per PgBouncer replica (its CPU limit; PgBouncer is single-threaded), as many as the group holds."""
    group = next(g for g in region.eks.node_groups if g.name == PGBOUNCER_GROUP)
    node_cores = group.max_size * min(instance_vcpus(t) for t in group.instance_types)
    cores = min(region.pgbouncer.max_replicas, node_cores)
    return cores, f"{cores} replicas (max_replicas {region.pgbouncer.max_replicas}, {node_cores} node vCPUs)"


def _read_instances(manifest: Manifest, region: Region, home: Region) -> list[int]:
    """Instances answering each of ``home``'s groups' reads when ``region`` holds their writers."""
    if home.name == region.name:
        return [readers or 1 for readers in group_readers(manifest, home)]
    return [max(1, home.aurora.secondary_instances - 1)] * home.shard_groups


def rows(manifest: Manifest) -> list[Row]:
    d, c = manifest.demand, manifest.capacity
    per = d.per_request
    share = shares(manifest)
    out: list[Row] = []
    for scenario in scenarios(manifest):
        serving = served(manifest, scenario)
        for region in manifest.regions:
            if region.name not in serving:
                continue
            homes = serving[region.name]
            fraction = sum(share[h.name] for h in homes)
            requests = fraction * d.peak_origin_requests_per_second
            connections = fraction * d.peak_concurrent_connections
            gw = region.edge_gateway

            def add(tier: str, demand: float, supply: float, unit: str, detail: str,
                    name: str = region.name, scenario: str = scenario) -> None:
                out.append(Row(name, tier, scenario, demand, supply, unit, detail))

            app_vcpus, _, app_detail = _workload_vcpus(region)
            add("application", requests, app_vcpus * c.application_requests_per_vcpu.value, "requests/s",
                f"{app_detail}, x {c.application_requests_per_vcpu.value:g} requests/s per vCPU")
            per_replica = gw.memory_gib * c.gateway_connections_per_gib.value
            add("gateway", connections, gw.max_replicas * per_replica, "connections",
                f"{gw.max_replicas} replicas x {gw.memory_gib} GiB x {c.gateway_connections_per_gib.value:g} "
                "connections per GiB")
            add("nlb-targets", math.ceil(connections / per_replica), NLB_TARGETS_CROSS_ZONE, "targets",
                f"the NLB's {NLB_TARGETS_CROSS_ZONE} targets with cross-zone load balancing; each gateway replica is "
                "one")
            cores, cores_detail = _pgbouncer_cores(region)
            add("pgbouncer", requests * (per.database_reads + per.database_writes),
                cores * c.pgbouncer_transactions_per_core.value, "transactions/s",
                f"{cores_detail} x {c.pgbouncer_transactions_per_core.value:g} transactions/s per core")
            # Aurora per shard group: the busiest group's load against its own instances.
            writes, reads = [], []
            for home in homes:
                group_requests = share[home.name] * d.peak_origin_requests_per_second / home.shard_groups
                class_vcpus = instance_vcpus(home.aurora.instance_class)
                writes += [(group_requests * per.database_writes, class_vcpus * c.aurora_writes_per_vcpu.value,
                            f"one {home.aurora.instance_class} writer of a {home.name} group")] * home.shard_groups
                reads += [(group_requests * per.database_reads, n * class_vcpus * c.aurora_reads_per_vcpu.value,
                           f"{n} x {home.aurora.instance_class} answering a {home.name} group's reads")
                          for n in _read_instances(manifest, region, home)]
            for tier, loads, figure in (("aurora-writes", writes, c.aurora_writes_per_vcpu.value),
                                        ("aurora-reads", reads, c.aurora_reads_per_vcpu.value)):
                demand, supply, detail = max(loads, key=lambda item: item[0] / item[1])
                add(tier, demand, supply, "transactions/s (busiest shard group)",
                    f"{detail} x {figure:g} per vCPU")
            redis = region.redis
            add("cache", requests * per.cache_operations, redis.shards * c.cache_operations_per_node.value,
                "operations/s", f"{redis.shards} shard primaries x {c.cache_operations_per_node.value:g} operations/s "
                "(replicas not counted)")
            # Brokers take the events of the users served here and the replicated topics of the live regions
            # that list this one as a DR region (MSK Replicator writes them into this cluster).
            sources = [s for s in manifest.regions if region.name in s.dr_regions and s.name in serving]
            event_rate = d.peak_origin_requests_per_second * per.events * per.event_bytes / MIB
            replicated_in = sum(share[h.name] for s in sources for h in serving[s.name])
            ingress = sustainable_ingress_mibps(region.kafka.broker_type, region.kafka.brokers,
                                                1 + len(region.dr_regions))
            add("kafka", (fraction + replicated_in) * event_rate, ingress or 0.0, "MiB/s ingress",
                f"{region.kafka.brokers} x {region.kafka.broker_type} (AWS's MSK sizing model, "
                f"{1 + len(region.dr_regions)} readers of every byte)")
    return out


def shortfalls(manifest: Manifest, computed: list[Row] | None = None) -> list[Row]:
    """Rows whose supply is below demand plus the manifest's headroom."""
    factor = 1 + manifest.capacity.headroom_percent / 100
    return [row for row in (computed if computed is not None else rows(manifest)) if row.supply < row.demand * factor]


def totals(manifest: Manifest) -> dict[str, object]:
    """The plan document's `capacity.demand`: the environment's peaks and each region's share of them."""
    d = manifest.demand
    share = shares(manifest)
    return {
        "requestsPerSecond": round(sum(share.values()) * d.peak_origin_requests_per_second),
        "concurrentConnections": round(sum(share.values()) * d.peak_concurrent_connections),
        "perRequest": d.per_request.model_dump(),
        "headroomPercent": manifest.capacity.headroom_percent,
        "regions": {name: {"share": round(value, 4),
                           "requestsPerSecond": round(value * d.peak_origin_requests_per_second),
                           "concurrentConnections": round(value * d.peak_concurrent_connections)}
                    for name, value in share.items()},
        "scenarios": scenarios(manifest),
        "failover": {r.name: failover_target(r) for r in manifest.regions if r.dr_regions},
        "basis": d.basis,
    }
