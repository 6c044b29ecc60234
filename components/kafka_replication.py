"""MSK Replicator from one region's cluster into a DR region's cluster, created in the DR (target) region.

Replicated topics arrive prefixed with the source cluster's alias, so two regions replicating into each
other never loop; consumer-group offsets are synchronised so consumers fail over where they left off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import policy_document, service_role

CLUSTER_ACTIONS = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:AlterCluster",
                   "kafka-cluster:DescribeTopic", "kafka-cluster:CreateTopic", "kafka-cluster:AlterTopic",
                   "kafka-cluster:WriteData", "kafka-cluster:ReadData", "kafka-cluster:AlterGroup",
                   "kafka-cluster:DescribeGroup", "kafka-cluster:DescribeTopicDynamicConfiguration",
                   "kafka-cluster:AlterTopicDynamicConfiguration", "kafka-cluster:WriteDataIdempotently"]
TOPIC_ACTIONS = ["kafka-cluster:DescribeTopic", "kafka-cluster:CreateTopic", "kafka-cluster:AlterTopic",
                 "kafka-cluster:WriteData", "kafka-cluster:ReadData", "kafka-cluster:DescribeTopicDynamicConfiguration",
                 "kafka-cluster:AlterTopicDynamicConfiguration"]
GROUP_ACTIONS = ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"]


def _scoped(cluster_arn: str, kind: str) -> str:
    """``arn:...:cluster/<name>/<uuid>`` -> ``arn:...:<kind>/<name>/<uuid>/*`` (that cluster's topics or groups)."""
    return cluster_arn.replace(":cluster/", f":{kind}/", 1) + "/*"


@dataclass(frozen=True)
class ReplicationEnd:
    """One side of a replicator: a cluster, the subnets its ENIs go in and the security group they carry."""

    region: str
    short_code: str
    cluster_arn: pulumi.Input[str]  # the source's is published only once its cluster policy exists
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]  # the region's replicator security group, admitted on 9098


@dataclass(frozen=True)
class ReplicationArgs:
    environment: str
    account_id: str
    source: ReplicationEnd  # read from the source region's infra stack
    target: ReplicationEnd  # this stack's region
    topics: Sequence[str]
    partition: str = "aws"


class KafkaReplication(pulumi.ComponentResource):
    def __init__(self, name: str, args: ReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:streams:KafkaReplication", name, None, opts)
        src, tgt = args.source, args.target
        label = f"{src.short_code}-to-{tgt.short_code}"
        policy = pulumi.Output.all(src.cluster_arn, tgt.cluster_arn).apply(
            lambda arns: policy_document([
                {"Sid": "BothClusters", "Effect": "Allow", "Action": CLUSTER_ACTIONS, "Resource": list(arns)},
                {"Sid": "TheirTopics", "Effect": "Allow", "Action": TOPIC_ACTIONS,
                 "Resource": [_scoped(arn, "topic") for arn in arns]},
                {"Sid": "TheirConsumerGroups", "Effect": "Allow", "Action": GROUP_ACTIONS,
                 "Resource": [_scoped(arn, "group") for arn in arns]},
            ]))
        self.role, grants = service_role(
            f"{label}-replicator", role_name=f"{args.environment}-{label}-kafka-replicator",
            service="kafka.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": args.account_id}},
            inline_policy=policy, partition=args.partition, opts=pulumi.ResourceOptions(parent=self))
        self.replicator = aws.msk.Replicator(
            label,
            replicator_name=f"{args.environment}-{label}",
            description=f"{src.region} -> {tgt.region}: replicated topics and consumer-group offsets",
            service_execution_role_arn=self.role.arn,
            kafka_clusters=[
                aws.msk.ReplicatorKafkaClusterArgs(
                    amazon_msk_cluster=aws.msk.ReplicatorKafkaClusterAmazonMskClusterArgs(msk_cluster_arn=end.cluster_arn),
                    vpc_config=aws.msk.ReplicatorKafkaClusterVpcConfigArgs(
                        subnet_ids=end.subnet_ids, security_groups_ids=[end.security_group_id]))
                for end in (src, tgt)],
            replication_info_list=aws.msk.ReplicatorReplicationInfoListArgs(
                source_kafka_cluster_arn=src.cluster_arn,
                target_kafka_cluster_arn=tgt.cluster_arn,
                target_compression_type="ZSTD",
                topic_replications=[aws.msk.ReplicatorReplicationInfoListTopicReplicationArgs(
                    topics_to_replicates=list(args.topics),
                    copy_topic_configurations=True,
                    copy_access_control_lists_for_topics=True,
                    detect_and_copy_new_topics=True,
                    starting_position=aws.msk.ReplicatorReplicationInfoListTopicReplicationStartingPositionArgs(
                        type="EARLIEST"))],
                consumer_group_replications=[aws.msk.ReplicatorReplicationInfoListConsumerGroupReplicationArgs(
                    consumer_groups_to_replicates=[".*"],
                    synchronise_consumer_group_offsets=True,
                    detect_and_copy_new_consumer_groups=True)]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants))
        self.register_outputs({"arn": self.replicator.arn})

