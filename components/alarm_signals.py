"""What pages someone, per data resource: the CloudWatch metrics, aggregations and thresholds.

Cache nodes and MSK brokers are watched a whole group at a time, one Metrics Insights query alarm per signal
(regions/group_alarms.py); Aurora clusters, MSK's cluster-level signals and NAT gateways by plain metric alarms.

Thresholds come from the manifest's ``alarms`` block; connection alarms are relative to the instance
class's max_connections, so resizing a database moves its alarm with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.alerts import QuerySignal, Signal
from regions import group_alarms
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


def kafka(cluster_name: str) -> list[Signal]:
    """The cluster's own signals; its brokers' are query alarms (``kafka_brokers``)."""
    cluster: dict[str, pulumi.Input[str]] = {"Cluster Name": cluster_name}
    return [
        Signal("offline-partitions", "AWS/Kafka", "OfflinePartitionsCount", cluster, "Maximum",
               "GreaterThanThreshold", 0, f"{cluster_name}: partitions without a leader", period=60),
        Signal("active-controller", "AWS/Kafka", "ActiveControllerCount", cluster, "Sum", "LessThanThreshold", 1,
               f"{cluster_name}: no active controller", period=60),
    ]


def _per_member(source: group_alarms.Source, signals: Sequence[group_alarms.GroupSignal], group: str, member: str,
                t: Alarms) -> list[QuerySignal]:
    return [QuerySignal(
        s.suffix, group_alarms.query(source, s, group), f"{s.metric} per {member}", "GreaterThanThreshold",
        s.limit(t), f"{group}: {s.describe(t)} on a {member} (one alarm for {source.watched}; the "
                    f"contributor's {source.member} names the {member})", s.period, s.evaluation_periods)
        for s in signals]


def kafka_brokers(cluster_name: str, t: Alarms) -> list[QuerySignal]:
    return _per_member(group_alarms.KAFKA, group_alarms.KAFKA_BROKER_SIGNALS, cluster_name, "broker", t)


def cache(replication_group_id: str, t: Alarms) -> list[QuerySignal]:
    return _per_member(group_alarms.CACHE, group_alarms.CACHE_SIGNALS, replication_group_id, "node", t)


def nat(nat_ids: Sequence[tuple[str, pulumi.Input[str]]]) -> list[Signal]:
    """(label, NAT gateway id) pairs: any port-allocation error means connections are being dropped."""
    return [Signal(f"{label}-port-allocation", "AWS/NATGateway", "ErrorPortAllocation", {"NatGatewayId": nat_id},
                   "Sum", "GreaterThanThreshold", 0, f"NAT gateway {label}: port allocation errors",
                   evaluation_periods=1)
            for label, nat_id in nat_ids]
