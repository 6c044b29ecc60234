"""One region's Kafka topics, from the manifest's plan, administered over IAM through the private brokers.

Lives in the region's cluster stack: the provider must reach the brokers' IAM port (9098), which only the
workload nodes, the replicator and the region's in-VPC deploy runner may. It authenticates with whatever
credentials the deploy runs with (the runner's role, which holds the topic permissions on this cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kafka as kafka

from regions.kafka_facts import REPLICATION_FACTOR
from regions.schema import Topic


@dataclass(frozen=True)
class KafkaTopicsArgs:
    region: str
    short_code: str
    bootstrap_brokers: pulumi.Input[str]  # the cluster's SASL/IAM bootstrap string (comma-separated)
    topics: Sequence[Topic]
    protect: bool


class KafkaTopics(pulumi.ComponentResource):
    def __init__(self, name: str, args: KafkaTopicsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:streams:KafkaTopics", name, None, opts)
        self.provider = kafka.Provider(
            f"{args.short_code}-kafka",
            bootstrap_servers=pulumi.Output.from_input(args.bootstrap_brokers).apply(lambda b: b.split(",")),
            tls_enabled=True, sasl_mechanism="aws-iam", sasl_aws_region=args.region,
            opts=pulumi.ResourceOptions(parent=self))
        self.topics = [
            kafka.Topic(f"{args.short_code}-topic-{topic.name}", name=topic.name, partitions=topic.partitions,
                        replication_factor=REPLICATION_FACTOR, config={"min.insync.replicas": "2"},
                        opts=pulumi.ResourceOptions(parent=self, provider=self.provider, protect=args.protect))
            for topic in args.topics
        ]
        self.register_outputs({})
