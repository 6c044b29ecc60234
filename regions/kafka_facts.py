"""Amazon MSK facts the manifest is checked against (MSK developer guide, checked 2026-11).

- Partition replicas per broker (leaders and followers): AWS recommends at most 1,000 on kafka.m7g.large
  and .xlarge, 2,000 on .2xlarge and 4,000 from .4xlarge up ("Best practices for Standard brokers"; the
  hard maxima for update operations are 1,500 / 3,000 / 6,000).
- Kafka versions offered for new KRaft clusters ("Supported Apache Kafka versions", "KRaft mode").
- MSK Replicator: it lives in the target Region; 15 replicators per account and Region, 750 topics each
  (MSK quotas).
- Sustainable ingress per Standard broker (AWS's MSK sizing script, aws/agent-toolkit-for-aws
  managing-amazon-msk/scripts/msk_sizing.py, 2026-06-23): min(EBS MiB/s / 6.5, NIC MiB/s / (5.7 + 1.5 x
  fan-out)), sized to survive one AZ down while partitions rebalance; m7g is the only family tabulated.
"""

from __future__ import annotations

PARTITION_REPLICAS_PER_BROKER: dict[str, int] = {
    **{f"kafka.{family}.{size}": 1000 for family in ("m5", "m7g") for size in ("large", "xlarge")},
    **{f"kafka.{family}.2xlarge": 2000 for family in ("m5", "m7g")},
    **{f"kafka.{family}.{size}": 4000 for family in ("m5", "m7g")
       for size in ("4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")},
}
KRAFT_VERSIONS = ("3.7.x.kraft", "3.8.x.kraft", "3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft")
REPLICATION_FACTOR = 3
# __consumer_offsets and __transaction_state (50 partitions each by default), replicated like any topic.
INTERNAL_PARTITIONS = 100
REPLICATORS_PER_REGION = 15
TOPICS_PER_REPLICATOR = 750
BROKERS_PER_CLUSTER = 60  # KRaft
# Broker type -> (EBS MiB/s, network MiB/s) of the sizing model above.
BROKER_BANDWIDTH_MIBPS: dict[str, tuple[float, float]] = {
    "kafka.m7g.large": (78.75, 117), "kafka.m7g.xlarge": (156.25, 234),
    "kafka.m7g.2xlarge": (312.5, 469), "kafka.m7g.4xlarge": (625, 937),
}


def sustainable_ingress_mibps(broker_type: str, brokers: int, fan_out: int) -> float | None:
    """What the cluster can take in steadily with ``fan_out`` consumers reading every byte; None if untabulated."""
    bandwidth = BROKER_BANDWIDTH_MIBPS.get(broker_type)
    if bandwidth is None:
        return None
    ebs, network = bandwidth
    return brokers * min(ebs / 6.5, network / (5.7 + 1.5 * fan_out))


def partition_replicas_per_broker(local_partitions: int, replicated_in_partitions: int, brokers: int) -> float:
    """Replicas a broker carries: local topics, copies replicated in from other regions, internal topics."""
    return (local_partitions + replicated_in_partitions + INTERNAL_PARTITIONS) * REPLICATION_FACTOR / brokers
