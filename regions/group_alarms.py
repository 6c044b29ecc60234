"""What pages for a whole cache replication group or MSK cluster: one Metrics Insights query alarm per signal.

One alarm per signal and group instead of one per node or broker: the query follows members as they come and
go (a reshard or an added broker changes no alarm), and it groups its result by member, so every node or
broker is a contributor of the alarm and a page names the one in ALARM. Free of Pulumi, so the manifest rules
count these alarms against CloudWatch's quota (regions/cloudwatch_facts.py).

How a query keeps to its group (WHERE matches exact label values only, see cloudwatch_facts):
- MSK publishes broker metrics with the dimensions "Cluster Name" and "Broker ID": WHERE "Cluster Name" names
  the cluster, GROUP BY "Broker ID" makes each broker a contributor.
- ElastiCache publishes node metrics with CacheClusterId (<group>-<shard:04d>-<node:03d>) and CacheNodeId; no
  dimension names the replication group and no operator matches a prefix, so the query takes every node in the
  account's region. Those are the group's: each environment has its own account and each region one replication
  group (components/redis.py). GROUP BY CacheClusterId names the node, whose id starts with its group's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from regions.schema import Alarms


@dataclass(frozen=True)
class Source:
    """Where a group's member metrics live."""

    namespace: str
    dimensions: tuple[str, ...]  # the members' exact dimension set (SCHEMA matches only metrics with exactly it)
    member: str  # the dimension naming one member: the query groups by it
    scope: str | None  # the dimension naming the group, where the metrics carry one
    watched: str  # what one alarm watches, for its description


CACHE = Source("AWS/ElastiCache", ("CacheClusterId", "CacheNodeId"), "CacheClusterId", None,
               "every cache node in the account's region")
KAFKA = Source("AWS/Kafka", ("Cluster Name", "Broker ID"), "Broker ID", "Cluster Name", "every broker of the cluster")


@dataclass(frozen=True)
class GroupSignal:
    """One failure signal of every member; it pages when any member's value is above the threshold."""

    suffix: str  # distinguishes the alarm's name, e.g. "cpu"
    metric: str
    function: Literal["MAX", "SUM"]  # how one member's datapoints aggregate in a period
    threshold: float | str  # a number, or the field of the manifest's alarms block that holds it
    what: str  # what pages; "{}" stands for the threshold
    period: int = 300
    evaluation_periods: int = 3

    def limit(self, alarms: Alarms) -> float:
        value: float = getattr(alarms, self.threshold) if isinstance(self.threshold, str) else self.threshold
        return value

    def describe(self, alarms: Alarms) -> str:
        return self.what.format(self.limit(alarms))


CACHE_SIGNALS: tuple[GroupSignal, ...] = (
    GroupSignal("cpu", "EngineCPUUtilization", "MAX", "cache_engine_cpu_percent", "engine CPU above {}%"),
    GroupSignal("memory", "DatabaseMemoryUsagePercentage", "MAX", "cache_memory_percent", "memory above {}%"),
    GroupSignal("evictions", "Evictions", "SUM", "cache_evictions_per_minute", "more than {} evictions/min",
                period=60, evaluation_periods=5),
    # Every node, not only today's replicas: a failover makes node 001 a replica, and a primary reports no lag
    # (missing data is not breaching).
    GroupSignal("replication-lag", "ReplicationLag", "MAX", "cache_replication_lag_seconds",
                "more than {} s behind its primary", period=60),
)
KAFKA_BROKER_SIGNALS: tuple[GroupSignal, ...] = (
    GroupSignal("under-replicated", "UnderReplicatedPartitions", "MAX", 0, "under-replicated partitions",
                period=60, evaluation_periods=5),
    GroupSignal("disk", "KafkaDataLogsDiskUsed", "MAX", "kafka_disk_used_percent", "data disk above {}%"),
)

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _name(identifier: str) -> str:
    """A namespace, metric or label key: double-quoted unless it is letters, digits and underscores."""
    return identifier if _PLAIN.fullmatch(identifier) else '"' + identifier.replace('"', '\\"') + '"'


def _value(label_value: str) -> str:
    return "'" + label_value.replace("'", "\\'") + "'"


def query(source: Source, signal: GroupSignal, group: str) -> str:
    """The Metrics Insights query of one signal over every member of ``group``, one time series per member.

    ORDER BY puts the highest members first: past the 500 series a query returns, those are the ones kept."""
    where = f" WHERE {_name(source.scope)} = {_value(group)}" if source.scope else ""
    return (f"SELECT {signal.function}({_name(signal.metric)}) FROM SCHEMA({_name(source.namespace)}, "
            f"{', '.join(_name(d) for d in source.dimensions)}){where} GROUP BY {_name(source.member)} "
            f"ORDER BY {signal.function}() DESC")


def metrics_insights_alarms() -> int:
    """A region's query alarms: its one cache replication group's and its one MSK cluster's."""
    return len(CACHE_SIGNALS) + len(KAFKA_BROKER_SIGNALS)
