"""Loads the manifest puts on shared limits: connections per Aurora instance, Kafka partition replicas per broker,
and the Aurora instances each region hosts. Shared by the manifest rules and the capacity and cost reports."""

from __future__ import annotations

from regions.kafka_facts import partition_replicas_per_broker
from regions.rds_facts import AURORA_MAX_CONNECTIONS, usable_connections
from regions.schema import Manifest, Region
from regions.shards import group_readers


def worst_connection_load(manifest: Manifest, region: Region) -> tuple[int, str, str, int] | None:
    """The most server connections this region's PgBouncer fleet can open to one Aurora instance.

    In its home region a group's ``<group>`` pool goes to the writer and ``<group>_ro`` to the readers
    (to the writer too when the group has none). In a DR region both pools reach the local secondary. An
    endpoint may route every connection to one instance, so each load is counted against one instance.
    """
    # Only instance classes with a known max_connections can be budgeted (the rules reject the others).
    known = {r.name for r in manifest.regions if r.aurora.instance_class in AURORA_MAX_CONNECTIONS}
    per_database = region.pgbouncer.max_replicas * region.pgbouncer.default_pool_size
    loads: list[tuple[int, str, str, int]] = []
    if region.name in known:
        databases = 1 if min(group_readers(manifest, region), default=1) else 2
        loads.append((databases * per_database, f"the writers of {region.name}'s shard groups",
                      region.aurora.instance_class, databases))
    for home in manifest.regions:
        if region.name in home.dr_regions and home.name in known:
            loads.append((2 * per_database, f"the secondaries of {home.name}'s shard groups in {region.name}",
                          home.aurora.instance_class, 2))
    if not loads:
        return None
    return max(loads, key=lambda item: item[0] / usable_connections(item[2]))


def kafka_sources(manifest: Manifest, region: Region) -> list[Region]:
    """Regions whose replicated topics MSK Replicators copy into this region's cluster."""
    return [source for source in manifest.regions if region.name in source.dr_regions]


def kafka_replicas_per_broker(manifest: Manifest, region: Region) -> float:
    """Partition replicas each of the region's brokers carries: its topics plus those replicated in."""
    topics = manifest.streams.topics
    replicated_in = sum(t.partitions for t in topics if t.replicated) * len(kafka_sources(manifest, region))
    return partition_replicas_per_broker(sum(t.partitions for t in topics), replicated_in, region.kafka.brokers)


def aurora_instances(manifest: Manifest, region: Region) -> dict[str, tuple[str, int]]:
    """Aurora instances in this region, as role -> (instance class, count): its own shard groups' writers and
    readers, and the secondaries of the groups whose DR copies it holds (each at the home region's class)."""
    hosted: dict[str, tuple[str, int]] = {
        "writers": (region.aurora.instance_class, region.shard_groups),
        "readers": (region.aurora.instance_class, sum(group_readers(manifest, region))),
    }
    for home in manifest.regions:
        if region.name in home.dr_regions:
            hosted[f"secondaries of {home.name}"] = (home.aurora.instance_class,
                                                     home.shard_groups * home.aurora.secondary_instances)
    return hosted
