"""One region's event stream: a provisioned MSK cluster on KRaft, IAM-authenticated, private (topics apart)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from regions.kafka_facts import REPLICATION_FACTOR

IAM_PORT = 9098  # SASL/IAM inside AWS
# Every listener MSK may open between brokers (9092 plaintext, 9094 TLS, 9096 SASL/SCRAM, 9098 SASL/IAM).
BROKER_PORTS = (9092, 9098)
SERVER_PROPERTIES = {
    "auto.create.topics.enable": "false",  # topics come from the manifest's plan, never from a typo
    "default.replication.factor": str(REPLICATION_FACTOR),
    "min.insync.replicas": "2",  # with RF 3: one broker may restart without blocking producers
    "unclean.leader.election.enable": "false",  # never elect an out-of-sync replica (data loss)
    "num.partitions": "12",
    "log.retention.hours": "168",
}
STORAGE_TARGET_UTILIZATION = 55.0  # AWS recommends 50-60%; MSK storage never shrinks


@dataclass(frozen=True)
class KafkaArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    kafka_version: str
    broker_type: str
    brokers: int
    storage_gib: int
    max_storage_gib: int
    log_retention_days: int
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_id: pulumi.Input[str]  # the workload nodes
    log_key_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]  # data at rest (RegionKeys.kafka)
    protect: bool
    partition: str = "aws"


class KafkaCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: KafkaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:streams:KafkaCluster", name, None, opts)
        self.args = args
        ident = f"{args.environment}-{args.short_code}"
        child = pulumi.ResourceOptions(parent=self)

        self.security_group, self.replicator_security_group = self._security_groups(ident, child)
        self.configuration = aws.msk.Configuration(
            f"{args.short_code}-kafka", name=f"{ident}-kafka", kafka_versions=[args.kafka_version],
            description="No auto-created topics; RF 3, min ISR 2, no unclean leader election",
            server_properties="".join(f"{k}={v}\n" for k, v in SERVER_PROPERTIES.items()), opts=child)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{args.short_code}-kafka-brokers", name=f"/platform/{args.environment}/{args.short_code}/kafka/brokers",
            retention_in_days=args.log_retention_days, kms_key_id=args.log_key_arn, opts=child)
        self.cluster = self._cluster(ident, child)
        self.bootstrap_brokers = self.cluster.bootstrap_brokers_sasl_iam
        # MSK Replicators in the DR regions read this cluster through multi-VPC connectivity.
        policy = aws.msk.ClusterPolicy(
            f"{args.short_code}-kafka-replicator-access", cluster_arn=self.cluster.arn,
            policy=self.cluster.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "MskReplicatorReadsThisCluster", "Effect": "Allow",
                "Principal": {"Service": "kafka.amazonaws.com"},
                "Action": ["kafka:CreateVpcConnection", "kafka:GetBootstrapBrokers", "kafka:DescribeClusterV2"],
                "Resource": arn}]})),
            opts=child)
        # What a replicator in a DR region reads: the ARN, published once the policy that admits it exists
        # (MSK requires the source's resource policy before CreateReplicator).
        self.replication_source_arn: pulumi.Output[str] = pulumi.Output.all(self.cluster.arn, policy.id).apply(
            lambda v: v[0])
        self._storage_autoscaling(child)
        self.register_outputs({"arn": self.cluster.arn, "bootstrapBrokersSaslIam": self.bootstrap_brokers})

    def _security_groups(self, ident: str, opts: pulumi.ResourceOptions) -> tuple[aws.ec2.SecurityGroup,
                                                                                  aws.ec2.SecurityGroup]:
        args = self.args
        brokers = aws.ec2.SecurityGroup(
            f"{args.short_code}-kafka", name=f"{ident}-kafka", vpc_id=args.vpc_id,
            description="MSK brokers: IAM clients from the workload nodes and the replicator; brokers among themselves",
            tags={"Name": f"{ident}-kafka", "tier": "data"}, opts=opts)
        replicator = aws.ec2.SecurityGroup(
            f"{args.short_code}-kafka-replicator", name=f"{ident}-kafka-replicator", vpc_id=args.vpc_id,
            description="MSK Replicator network interfaces: IAM port to the brokers only",
            tags={"Name": f"{ident}-kafka-replicator"}, opts=opts)
        rule_opts = pulumi.ResourceOptions(parent=brokers)
        for source, label in ((args.client_security_group_id, "workloads"), (replicator.id, "replicator")):
            aws.vpc.SecurityGroupIngressRule(
                f"{args.short_code}-kafka-from-{label}", security_group_id=brokers.id, ip_protocol="tcp",
                from_port=IAM_PORT, to_port=IAM_PORT, referenced_security_group_id=source,
                description=f"SASL/IAM from the {label}", opts=rule_opts)
        aws.vpc.SecurityGroupIngressRule(
            f"{args.short_code}-kafka-between-brokers", security_group_id=brokers.id, ip_protocol="tcp",
            from_port=BROKER_PORTS[0], to_port=BROKER_PORTS[1], referenced_security_group_id=brokers.id,
            description="replication between brokers", opts=rule_opts)
        aws.vpc.SecurityGroupEgressRule(
            f"{args.short_code}-kafka-to-brokers", security_group_id=brokers.id, ip_protocol="tcp",
            from_port=BROKER_PORTS[0], to_port=BROKER_PORTS[1], referenced_security_group_id=brokers.id,
            description="replication between brokers", opts=rule_opts)
        aws.vpc.SecurityGroupEgressRule(
            f"{args.short_code}-kafka-replicator-to-brokers", security_group_id=replicator.id, ip_protocol="tcp",
            from_port=IAM_PORT, to_port=IAM_PORT, referenced_security_group_id=brokers.id,
            description="SASL/IAM to the brokers", opts=pulumi.ResourceOptions(parent=replicator))
        return brokers, replicator

    def _cluster(self, ident: str, opts: pulumi.ResourceOptions) -> aws.msk.Cluster:
        args = self.args
        return aws.msk.Cluster(
            f"{args.short_code}-kafka",
            cluster_name=f"{ident}-kafka",
            kafka_version=args.kafka_version,
            number_of_broker_nodes=args.brokers,
            broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
                instance_type=args.broker_type,
                client_subnets=list(args.private_subnet_ids),
                security_groups=[self.security_group.id],
                storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                    ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                        volume_size=args.storage_gib)),
                connectivity_info=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoArgs(
                    public_access=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoPublicAccessArgs(type="DISABLED"),
                    vpc_connectivity=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoVpcConnectivityArgs(
                        client_authentication=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoVpcConnectivityClientAuthenticationArgs(
                            sasl=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoVpcConnectivityClientAuthenticationSaslArgs(
                                iam=True)))),
            ),
            client_authentication=aws.msk.ClusterClientAuthenticationArgs(
                sasl=aws.msk.ClusterClientAuthenticationSaslArgs(iam=True), unauthenticated=False),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_at_rest_kms_key_arn=args.key_arn,
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS", in_cluster=True)),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(
                arn=self.configuration.arn, revision=self.configuration.latest_revision),
            enhanced_monitoring="PER_TOPIC_PER_BROKER",
            open_monitoring=aws.msk.ClusterOpenMonitoringArgs(prometheus=aws.msk.ClusterOpenMonitoringPrometheusArgs(
                jmx_exporter=aws.msk.ClusterOpenMonitoringPrometheusJmxExporterArgs(enabled_in_broker=True),
                node_exporter=aws.msk.ClusterOpenMonitoringPrometheusNodeExporterArgs(enabled_in_broker=True))),
            logging_info=aws.msk.ClusterLoggingInfoArgs(broker_logs=aws.msk.ClusterLoggingInfoBrokerLogsArgs(
                cloudwatch_logs=aws.msk.ClusterLoggingInfoBrokerLogsCloudwatchLogsArgs(
                    enabled=True, log_group=self.log_group.name))),
            # Autoscaling grows the volumes; the program must not shrink them back on the next `pulumi up`.
            # Multi-VPC connectivity (what the replicators use) cannot be set at CreateCluster: the provider
            # turns it on with a second, long cluster update once the cluster exists, within the create.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                protect=args.protect, custom_timeouts=pulumi.CustomTimeouts(create="4h", update="4h"),
                ignore_changes=["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"])))

    def _storage_autoscaling(self, opts: pulumi.ResourceOptions) -> None:
        args = self.args
        target = aws.appautoscaling.Target(
            f"{args.short_code}-kafka-storage", service_namespace="kafka",
            scalable_dimension="kafka:broker-storage:VolumeSize", resource_id=self.cluster.arn,
            min_capacity=1, max_capacity=args.max_storage_gib, opts=opts)
        aws.appautoscaling.Policy(
            f"{args.short_code}-kafka-storage", name=f"{args.environment}-{args.short_code}-kafka-storage",
            policy_type="TargetTrackingScaling", service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension, resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=STORAGE_TARGET_UTILIZATION, disable_scale_in=True,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="KafkaBrokerStorageUtilization")),
            opts=pulumi.ResourceOptions(parent=target))
