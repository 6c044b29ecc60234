"""One region's in-VPC deploy runner: an AWS CodeBuild project serving as an ephemeral GitHub Actions runner.

The region's cluster stack (Kubernetes objects over the private EKS API, Kafka topics over the brokers' IAM port
9098, the region's copies of the shard map and database login) must deploy from inside the VPC. A workflow job
asks for it with ``runs-on: codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}``
(``runs_on_label_prefix`` plus the two run numbers); GitHub's ``workflow_job`` webhook makes CodeBuild start one
build per queued job in the private subnets, which registers as a single-job runner and ends with the job.

The guardrail platform-deploy-runner-reach (P16) identifies the runner by the project's tag ``platform:role =
deploy-runner`` (RUNNER_TAGS), not by its name, so the naming convention can change without blinding it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import policy_document, service_role
from components.kafka import IAM_PORT as KAFKA_IAM_PORT

RUNNER_TAGS = {"platform:role": "deploy-runner", "platform:stack-layer": "cluster"}
HTTPS_PORT = 443
# x86_64 on-demand build host, 3 GiB / 2 vCPUs (CodeBuild's "Linux Small"; a Pulumi deploy of one region's
# cluster stack is network-bound) on the Ubuntu 22.04 standard image (AWS CLI v2, make, git): the workflow's
# actions/setup-python supports Ubuntu runners, not Amazon Linux, and x86 Linux builds are offered in every
# region the platform runs in (ARM builds are not documented for all of them).
ENVIRONMENT_TYPE = "LINUX_CONTAINER"
COMPUTE_TYPE = "BUILD_GENERAL1_SMALL"
IMAGE = "aws/codebuild/standard:7.0"
WEBHOOK_EVENT = "WORKFLOW_JOB_QUEUED"
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"  # Helm releases, CRDs and namespaces are cluster-scoped

# What the cluster stack's Kafka provider does to the manifest's topics (create, read and reconcile configs,
# delete a topic dropped from the manifest): on this cluster's topics only, never its consumer groups or data.
KAFKA_TOPIC_ACTIONS = ["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:AlterTopic",
                       "kafka-cluster:DescribeTopicDynamicConfiguration",
                       "kafka-cluster:AlterTopicDynamicConfiguration", "kafka-cluster:DeleteTopic"]
SHARD_MAP_ACTIONS = ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource",
                     "ssm:ListTagsForResource", "ssm:RemoveTagsFromResource"]
# aws.secretsmanager.Secret and SecretVersion as the provider drives them: create/read/update/delete, tags,
# the resource-policy read every refresh does, and version stages (moved on update, stripped on delete).
SECRET_ACTIONS = ["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                  "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret",
                  "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:GetResourcePolicy",
                  "secretsmanager:UpdateSecretVersionStage", "secretsmanager:ListSecretVersionIds"]
# CodeBuild's documented statement for builds in a VPC (its ENIs); the Describe calls take no resource ARN.
VPC_ENI_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
                   "ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                   "ec2:DescribeVpcs"]

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")  # as program/config.py validates it
_CONNECTION = re.compile(r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/\S+$")
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,149}$")


@dataclass(frozen=True)
class DeployRunnerArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    project_name: str  # regions.stacks.runner_project(environment, short_code)
    github_repository: str  # "owner/name"
    connection_arn: str  # CodeConnections (or codestar-connections) connection to GitHub, handshake done once
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    log_key_arn: pulumi.Input[str]
    log_retention_days: int
    # Pass the cluster's outputs (cluster.name, cluster.arn), so the access entry waits for the cluster.
    eks_cluster_name: pulumi.Input[str]
    eks_cluster_arn: pulumi.Input[str]
    eks_cluster_security_group_id: pulumi.Input[str]  # aws.eks.Cluster vpc_config.cluster_security_group_id
    kafka_cluster_arn: pulumi.Input[str]
    kafka_security_group_id: pulumi.Input[str]  # the brokers' group
    secrets_key_arn: pulumi.Input[str]  # the region's Secrets Manager key
    shard_map_parameter: str  # "/platform/<env>/shard-map" (regions.published_map.parameter_name)
    database_secret_prefix: str  # "<env>/database/": the secrets the cluster stack writes in this region
    protect: bool
    build_timeout_minutes: int = 60
    # No project limit by default: CodeBuild fails a webhook build over the project's limit instead of queueing
    # it, and the GitHub job would then wait for a runner that never comes (the workflows' per-stack locks and
    # the account's CodeBuild concurrency quota bound it instead).
    concurrent_builds: int | None = None
    workflow_name_pattern: str | None = None  # when set, only jobs of workflows whose name matches get a build
    partition: str = "aws"

    def __post_init__(self) -> None:
        problems = []
        if not _REPOSITORY.match(self.github_repository):
            problems.append(f"github_repository must be owner/name (got {self.github_repository!r})")
        if not _CONNECTION.match(self.connection_arn):
            problems.append(f"connection_arn must be a CodeConnections connection ARN (got {self.connection_arn!r})")
        if not _PROJECT.match(self.project_name):
            problems.append(f"project_name is no valid CodeBuild project name (got {self.project_name!r})")
        if not self.shard_map_parameter.startswith("/"):
            problems.append(f"shard_map_parameter must be a full SSM path (got {self.shard_map_parameter!r})")
        if not self.database_secret_prefix.endswith("/"):
            problems.append(f"database_secret_prefix must end with '/' (got {self.database_secret_prefix!r})")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def connection_service(self) -> str:
        """The IAM prefix of the connection's actions: it must match the ARN's (codeconnections or the old one)."""
        return self.connection_arn.split(":")[2]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


def _cluster_topics(cluster_arn: str) -> str:
    """``arn:...:cluster/<name>/<uuid>`` -> ``arn:...:topic/<name>/<uuid>/*`` (that cluster's topics only)."""
    return cluster_arn.replace(":cluster/", ":topic/", 1) + "/*"


class DeployRunner(pulumi.ComponentResource):
    def __init__(self, name: str, args: DeployRunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:deploy:DeployRunner", name, None, opts)
        self.args = args
        label = f"{args.short_code}-deploy-runner"
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = self._security_group(label, child)
        self.log_group = aws.cloudwatch.LogGroup(
            label, name=self.log_group_name, retention_in_days=args.log_retention_days, kms_key_id=args.log_key_arn,
            # The deploy history of the region (who ran which job when) is an audit trail.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        self.role, grants = service_role(
            label, role_name=args.project_name, service="codebuild.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": args.account_id}},
            inline_policy=self._policy(), partition=args.partition, opts=child)
        self.access_entry = aws.eks.AccessEntry(
            label, cluster_name=args.eks_cluster_name, principal_arn=self.role.arn, type="STANDARD", opts=child)
        self.cluster_admin = aws.eks.AccessPolicyAssociation(
            label, cluster_name=args.eks_cluster_name, principal_arn=self.access_entry.principal_arn,
            policy_arn=f"arn:{args.partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}",
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(parent=self.access_entry))
        self.project = self._project(label, grants, child)
        self.webhook = aws.codebuild.Webhook(
            label, project_name=self.project.name, build_type="BUILD",
            filter_groups=[aws.codebuild.WebhookFilterGroupArgs(filters=self._filters())],
            opts=pulumi.ResourceOptions(parent=self.project))
        self.runs_on_label_prefix = f"codebuild-{args.project_name}"
        self.register_outputs({"projectName": self.project.name, "roleArn": self.role.arn,
                               "securityGroupId": self.security_group.id,
                               "runsOnLabelPrefix": self.runs_on_label_prefix})

    @property
    def log_group_name(self) -> str:
        return f"/platform/{self.args.environment}/{self.args.short_code}/deploy-runner"

    # -- pieces ---------------------------------------------------------------------------------------

    def _security_group(self, label: str, opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
        """No ingress (the runner dials out only), HTTPS out, the brokers' IAM port; the two targets admit it.

        Egress 443 to anywhere is what the job needs regardless (GitHub's runner service and checkout, Pulumi
        Cloud, package indexes and plugins, AWS APIs through the NAT or the VPC endpoints), and it already covers
        the EKS API's ENIs: a second egress rule naming the cluster group would grant nothing more. What decides
        who reaches the API is the ingress rule on the cluster group below. 9098 is not HTTPS, so the brokers get
        their own egress rule, by group reference.
        """
        a = self.args
        ident = f"{a.environment}-{label}"
        group = aws.ec2.SecurityGroup(
            label, name=ident, vpc_id=a.vpc_id,
            description="Deploy runner (CodeBuild): HTTPS out, the brokers' IAM port; admits nothing",
            tags={"Name": ident}, opts=opts)
        rule_opts = pulumi.ResourceOptions(parent=self)
        aws.vpc.SecurityGroupEgressRule(
            f"{label}-https-out", security_group_id=group.id, ip_protocol="tcp", from_port=HTTPS_PORT,
            to_port=HTTPS_PORT, cidr_ipv4="0.0.0.0/0",
            description="HTTPS to GitHub, Pulumi Cloud, package indexes, AWS APIs and the EKS API", opts=rule_opts)
        aws.vpc.SecurityGroupEgressRule(
            f"{label}-to-kafka", security_group_id=group.id, ip_protocol="tcp", from_port=KAFKA_IAM_PORT,
            to_port=KAFKA_IAM_PORT, referenced_security_group_id=a.kafka_security_group_id,
            description="SASL/IAM to the MSK brokers (topic administration)", opts=rule_opts)
        aws.vpc.SecurityGroupIngressRule(
            f"{a.short_code}-eks-api-from-deploy-runner", security_group_id=a.eks_cluster_security_group_id,
            ip_protocol="tcp", from_port=HTTPS_PORT, to_port=HTTPS_PORT, referenced_security_group_id=group.id,
            description="EKS API (private endpoint) from the deploy runner", opts=rule_opts)
        aws.vpc.SecurityGroupIngressRule(
            f"{a.short_code}-kafka-from-deploy-runner", security_group_id=a.kafka_security_group_id,
            ip_protocol="tcp", from_port=KAFKA_IAM_PORT, to_port=KAFKA_IAM_PORT,
            referenced_security_group_id=group.id, description="SASL/IAM from the deploy runner (topic administration)",
            opts=rule_opts)
        return group

    def _policy(self) -> pulumi.Output[str]:
        a = self.args
        log_group = a.arn("logs", f"log-group:{self.log_group_name}")

        def document(values: list[Any]) -> str:
            eks_arn, kafka_arn, secrets_key, *subnets = values
            return policy_document([
                {"Sid": "BuildLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": [log_group, f"{log_group}:*"]},
                {"Sid": "VpcNetworkInterfaces", "Effect": "Allow", "Action": VPC_ENI_ACTIONS, "Resource": "*"},
                {"Sid": "VpcNetworkInterfacePermission", "Effect": "Allow",
                 "Action": "ec2:CreateNetworkInterfacePermission",
                 "Resource": a.arn("ec2", "network-interface/*"),
                 "Condition": {"StringEquals": {"ec2:Subnet": [a.arn("ec2", f"subnet/{s}") for s in subnets],
                                                "ec2:AuthorizedService": "codebuild.amazonaws.com"}}},
                # GetConnectionToken/GetConnection are CodeBuild's documented pair; CreateProject and CreateWebhook
                # also check UseConnection on the project's role.
                {"Sid": "GitHubConnection", "Effect": "Allow",
                 "Action": [f"{a.connection_service}:{action}"
                            for action in ("GetConnectionToken", "GetConnection", "UseConnection")],
                 "Resource": a.connection_arn},
                {"Sid": "EksCluster", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": eks_arn},
                {"Sid": "KafkaCluster", "Effect": "Allow",
                 "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], "Resource": kafka_arn},
                {"Sid": "KafkaTopics", "Effect": "Allow", "Action": KAFKA_TOPIC_ACTIONS,
                 "Resource": _cluster_topics(kafka_arn)},
                {"Sid": "ShardMap", "Effect": "Allow", "Action": SHARD_MAP_ACTIONS,
                 "Resource": a.arn("ssm", f"parameter{a.shard_map_parameter}")},
                # The provider reads a parameter's tier and description with DescribeParameters, which takes no
                # resource ARN.
                {"Sid": "ParameterMetadata", "Effect": "Allow", "Action": "ssm:DescribeParameters", "Resource": "*"},
                {"Sid": "DatabaseSecrets", "Effect": "Allow", "Action": SECRET_ACTIONS,
                 "Resource": a.arn("secretsmanager", f"secret:{a.database_secret_prefix}*")},
                {"Sid": "SecretsKeyThroughSecretsManager", "Effect": "Allow",
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": secrets_key,
                 "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{a.region}.amazonaws.com"}}},
            ])

        return pulumi.Output.all(a.eks_cluster_arn, a.kafka_cluster_arn, a.secrets_key_arn,
                                 *a.private_subnet_ids).apply(document)

    def _project(self, label: str, grants: list[pulumi.Resource],
                 opts: pulumi.ResourceOptions) -> aws.codebuild.Project:
        a = self.args
        return aws.codebuild.Project(
            label,
            name=a.project_name,
            description=f"{a.environment} {a.region}: ephemeral in-VPC GitHub Actions runner of the cluster stack",
            service_role=self.role.arn,
            # The job does its own checkout and publishes nothing: no artifacts, so no artifact key either.
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type=ENVIRONMENT_TYPE, compute_type=COMPUTE_TYPE, image=IMAGE,
                image_pull_credentials_type="CODEBUILD", privileged_mode=False),
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB", location=f"https://github.com/{a.github_repository}",
                auth=aws.codebuild.ProjectSourceAuthArgs(type="CODECONNECTIONS", resource=a.connection_arn)),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=a.vpc_id, subnets=list(a.private_subnet_ids), security_group_ids=[self.security_group.id]),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=self.log_group.name),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED")),
            build_timeout=a.build_timeout_minutes,
            concurrent_build_limit=a.concurrent_builds,
            tags=dict(RUNNER_TAGS),
            # CodeBuild checks at CreateProject that its role may create ENIs in the VPC and use the connection.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=grants)))

    def _filters(self) -> list[aws.codebuild.WebhookFilterGroupFilterArgs]:
        filters = [aws.codebuild.WebhookFilterGroupFilterArgs(type="EVENT", pattern=WEBHOOK_EVENT)]
        if self.args.workflow_name_pattern:
            filters.append(aws.codebuild.WebhookFilterGroupFilterArgs(
                type="WORKFLOW_NAME", pattern=self.args.workflow_name_pattern))
        return filters
