"""What pages someone, per data resource: the CloudWatch metrics, aggregations and thresholds.

Thresholds come from the manifest's ``alarms`` block; connection alarms are relative to the instance
class's max_connections, so resizing a database moves its alarm with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.alerts import Signal
from regions.rds_facts import AURORA_MAX_CONNECTIONS
from regions.schema import Alarms

MIB = 1024 * 1024


def aurora(cluster_identifier: str, instance_class: str, t: Alarms) -> list[Signal]:
    """Every member of a global cluster gets the lag alarm, the writer's included: roles move with a switchover
    or failover done outside Pulumi, and a cluster that reports no lag (the writer) is not breaching."""
    dims: dict[str, pulumi.Input[str]] = {"DBClusterIdentifier": cluster_identifier}
    signals = [
        Signal("cpu", "AWS/RDS", "CPUUtilization", dims, "Average", "GreaterThanThreshold", t.aurora_cpu_percent,
               f"{cluster_identifier}: CPU above {t.aurora_cpu_percent}% for 15 minutes"),
        Signal("memory", "AWS/RDS", "FreeableMemory", dims, "Minimum", "LessThanThreshold",
               t.aurora_freeable_memory_mib * MIB,
               f"{cluster_identifier}: freeable memory under {t.aurora_freeable_memory_mib} MiB"),
        Signal("connections", "AWS/RDS", "DatabaseConnections", dims, "Maximum", "GreaterThanThreshold",
               AURORA_MAX_CONNECTIONS[instance_class] * t.aurora_connections_percent // 100,
               f"{cluster_identifier}: connections above {t.aurora_connections_percent}% of max_connections "
               f"({AURORA_MAX_CONNECTIONS[instance_class]} on {instance_class})", evaluation_periods=2),
        Signal("global-lag", "AWS/RDS", "AuroraGlobalDBReplicationLag", dims, "Maximum", "GreaterThanThreshold",
               t.aurora_global_lag_seconds * 1000,
               f"{cluster_identifier}: more than {t.aurora_global_lag_seconds} s behind its writer", period=60),
    ]
    return signals


def kafka(cluster_name: str, brokers: int, t: Alarms) -> list[Signal]:
    cluster: dict[str, pulumi.Input[str]] = {"Cluster Name": cluster_name}
    signals = [
        Signal("offline-partitions", "AWS/Kafka", "OfflinePartitionsCount", cluster, "Maximum",
               "GreaterThanThreshold", 0, f"{cluster_name}: partitions without a leader", period=60),
        Signal("active-controller", "AWS/Kafka", "ActiveControllerCount", cluster, "Sum", "LessThanThreshold", 1,
               f"{cluster_name}: no active controller", period=60),
    ]
    for broker in range(1, brokers + 1):
        dims: dict[str, pulumi.Input[str]] = {**cluster, "Broker ID": str(broker)}
        signals += [
            Signal(f"b{broker}-under-replicated", "AWS/Kafka", "UnderReplicatedPartitions", dims, "Maximum",
                   "GreaterThanThreshold", 0, f"{cluster_name} broker {broker}: under-replicated partitions",
                   period=60, evaluation_periods=5),
            Signal(f"b{broker}-disk", "AWS/Kafka", "KafkaDataLogsDiskUsed", dims, "Maximum", "GreaterThanThreshold",
                   t.kafka_disk_used_percent,
                   f"{cluster_name} broker {broker}: data disk above {t.kafka_disk_used_percent}%"),
        ]
    return signals


def cache_node_ids(replication_group_id: str, shards: int, replicas_per_shard: int) -> list[str]:
    """ElastiCache names cluster-mode nodes <group>-<shard:04d>-<node:03d>; node 001 starts as the primary."""
    return [f"{replication_group_id}-{shard:04d}-{node:03d}"
            for shard in range(1, shards + 1) for node in range(1, replicas_per_shard + 2)]


def cache(replication_group_id: str, shards: int, replicas_per_shard: int, t: Alarms) -> list[Signal]:
    signals: list[Signal] = []
    for node in cache_node_ids(replication_group_id, shards, replicas_per_shard):
        dims: dict[str, pulumi.Input[str]] = {"CacheClusterId": node}
        short = node.removeprefix(f"{replication_group_id}-")
        signals += [
            Signal(f"{short}-cpu", "AWS/ElastiCache", "EngineCPUUtilization", dims, "Maximum",
                   "GreaterThanThreshold", t.cache_engine_cpu_percent,
                   f"{node}: engine CPU above {t.cache_engine_cpu_percent}%"),
            Signal(f"{short}-memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", dims, "Maximum",
                   "GreaterThanThreshold", t.cache_memory_percent,
                   f"{node}: memory above {t.cache_memory_percent}%"),
            Signal(f"{short}-evictions", "AWS/ElastiCache", "Evictions", dims, "Sum", "GreaterThanThreshold",
                   t.cache_evictions_per_minute, f"{node}: more than {t.cache_evictions_per_minute} evictions/min",
                   period=60, evaluation_periods=5),
            # On every node, not only the replicas of today: a failover makes node 001 a replica, and a primary
            # reports no lag (missing data is not breaching).
            Signal(f"{short}-replication-lag", "AWS/ElastiCache", "ReplicationLag", dims, "Maximum",
                   "GreaterThanThreshold", t.cache_replication_lag_seconds,
                   f"{node}: more than {t.cache_replication_lag_seconds} s behind its primary", period=60),
        ]
    return signals


def nat(nat_ids: Sequence[tuple[str, pulumi.Input[str]]]) -> list[Signal]:
    """(label, NAT gateway id) pairs: any port-allocation error means connections are being dropped."""
    return [Signal(f"{label}-port-allocation", "AWS/NATGateway", "ErrorPortAllocation", {"NatGatewayId": nat_id},
                   "Sum", "GreaterThanThreshold", 0, f"NAT gateway {label}: port allocation errors",
                   evaluation_periods=1)
            for label, nat_id in nat_ids]
