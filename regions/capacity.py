"""What the manifest asks of each region against its limits: the plan document's `capacity` section.

Per region: users, logical shards and shard groups; Aurora writers, readers and hosted secondaries; the
PgBouncer connection budget on the busiest instance; Kafka partition replicas per broker against AWS's
recommendation; Redis nodes against the per-cluster quota; EKS nodes and pod capacity; and every default
quota the region would exceed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regions import demand
from regions.cache_facts import NODES_PER_CLUSTER_QUOTA
from regions.eks_facts import max_pods
from regions.kafka_facts import PARTITION_REPLICAS_PER_BROKER, sustainable_ingress_mibps
from regions.loads import aurora_instances, kafka_replicas_per_broker, worst_connection_load
from regions.rds_facts import usable_connections
from regions.schema import Manifest, Region
from regions.unit_capacity import NLB_TARGETS_CROSS_ZONE, record


def _percent(used: float, limit: float) -> float:
    return round(100 * used / limit, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _connections(manifest: Manifest, region: Region) -> dict[str, Any] | None:
    worst = worst_connection_load(manifest, region)
    if worst is None:
        return None
    load, target, instance_class, _ = worst
    usable = usable_connections(instance_class)
    return {"busiest": target, "instanceClass": instance_class, "serverConnections": load, "usable": usable,
            "percent": _percent(load, usable)}


def _eks(region: Region) -> dict[str, Any]:
    groups = region.eks.node_groups
    return {
        "nodesDesired": sum(g.desired_size for g in groups),
        "nodesMax": sum(g.max_size for g in groups),
        # A node group's pods per node follow its smallest instance type (the one that caps a mixed group).
        "podsDesired": sum(g.desired_size * min(max_pods(t) for t in g.instance_types) for g in groups),
        "podsMax": sum(g.max_size * min(max_pods(t) for t in g.instance_types) for g in groups),
    }


@dataclass(frozen=True)
class QuotaUse:
    """What the plan needs of one default quota in one region (per AZ or per cluster where the quota is)."""

    region: str
    quota: str
    need: int
    limit: int

    @property
    def percent(self) -> float:
        return _percent(self.need, self.limit)

    def shortfall(self) -> str:
        return f"{self.region}: {self.quota} {self.need} > default quota {self.limit}; request an increase"


def region_capacity(manifest: Manifest, region: Region, quotas: list[QuotaUse]) -> dict[str, Any]:
    instances = aurora_instances(manifest, region)
    limit = PARTITION_REPLICAS_PER_BROKER.get(region.kafka.broker_type)
    replicas = kafka_replicas_per_broker(manifest, region)
    return {
        "users": region.logical_shards.size * manifest.users_per_logical_shard,
        "logicalShards": region.logical_shards.size,
        "shardGroups": region.shard_groups,
        "aurora": {
            "writers": instances["writers"][1],
            "readers": instances["readers"][1],
            "hostedSecondaries": sum(n for role, (_, n) in instances.items() if role.startswith("secondaries")),
        },
        "connectionBudget": _connections(manifest, region),
        "kafka": {"brokers": region.kafka.brokers, "partitionReplicasPerBroker": round(replicas),
                  "recommended": limit, "percent": _percent(replicas, limit) if limit else None,
                  # Readers of every byte: the applications (one group) and a replicator per DR region.
                  "sustainableIngressMiBps": _round(sustainable_ingress_mibps(
                      region.kafka.broker_type, region.kafka.brokers, 1 + len(region.dr_regions)))},
        "cache": {"nodes": region.redis.nodes, "quota": NODES_PER_CLUSTER_QUOTA,
                  "percent": _percent(region.redis.nodes, NODES_PER_CLUSTER_QUOTA)},
        "eks": _eks(region),
        "quotas": [{"quota": q.quota, "need": q.need, "limit": q.limit, "percent": q.percent} for q in quotas],
    }


def units(manifest: Manifest) -> dict[str, Any]:
    """The per-unit figures the tiers are counted with, each with its basis."""
    c = manifest.capacity
    bench = record()
    out: dict[str, Any] = {
        name: {"value": getattr(c, name).value, "basis": f"declared: {getattr(c, name).basis}"}
        for name in ("application_requests_per_vcpu", "gateway_connections_per_gib")}
    for name in ("pgbouncer_transactions_per_core", "aurora_reads_per_vcpu", "aurora_writes_per_vcpu",
                 "cache_operations_per_node"):
        figure = getattr(c, name)
        out[name] = {"value": figure.value, "basis": f"measured: {figure.measured} "
                     f"{bench['figures'][figure.measured]['perCore']:g} x derating {figure.derating:g} "
                     f"(benchmarks/capacity_units.json, {bench['measured']}, {bench['machine']['cpu']})"}
    out["nlb_targets"] = {"value": NLB_TARGETS_CROSS_ZONE, "basis": "documented: Quotas for your Network Load "
                          "Balancers (targets per NLB with cross-zone load balancing)"}
    out["kafka_ingress_per_broker"] = {"value": None, "basis": "documented: AWS's MSK sizing model "
                                       "(regions/kafka_facts.py)"}
    return out


def report(manifest: Manifest, needs: list[QuotaUse]) -> dict[str, Any]:
    # RDS first: ap-south-1's halved instance quota is the one a growing plan meets first.
    exceeded = sorted((q for q in needs if q.need > q.limit), key=lambda q: (not q.quota.startswith("rds"), q.region))
    return {"regions": {r.name: region_capacity(manifest, r, [q for q in needs if q.region == r.name])
                        for r in manifest.regions},
            "quotasExceeded": [q.shortfall() for q in exceeded],
            # Capacity from demand (regions/demand.py): the load, and every tier in every scenario.
            "demand": demand.totals(manifest),
            "tiers": [row.as_document() for row in demand.rows(manifest)],
            "units": units(manifest)}
