"""The in-VPC deploy runner (components/deploy_runner.py) alone on the mock engine: what AWS would be asked for."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.deploy_runner import DeployRunner, DeployRunnerArgs
from offline import document, engine, guardrails
from tests.plan_helpers import Doc, of_type

ACCOUNT = "111122223333"
REGION = "ap-south-1"
CONNECTION = f"arn:aws:codeconnections:us-east-1:{ACCOUNT}:connection/8f2c1a4e-6b1d-4c3e-9a57-2d0b6e1f4c21"
SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]
CLUSTER_SG = "sg-0c1a5e7e45c1a5e70"
KAFKA_SG = "sg-0b40ce5b40ce5b400"
KAFKA_ARN = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/prod-aps1-kafka/5b1f6a5e-2c1d-4e3b-8f9a-0d1c2b3a4f5e-3"
EKS_ARN = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod-aps1"
SECRETS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def runner_args(**overrides: Any) -> DeployRunnerArgs:
    values: dict[str, Any] = dict(
        environment="prod", region=REGION, short_code="aps1", account_id=ACCOUNT,
        project_name="prod-aps1-deploy-runner", github_repository="example-org/global-platform",
        connection_arn=CONNECTION, vpc_id="vpc-0123456789abcdef0", private_subnet_ids=SUBNETS,
        log_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555",
        log_retention_days=365, eks_cluster_name="prod-aps1", eks_cluster_arn=EKS_ARN,
        eks_cluster_security_group_id=CLUSTER_SG, kafka_cluster_arn=KAFKA_ARN, kafka_security_group_id=KAFKA_SG,
        secrets_key_arn=SECRETS_KEY, shard_map_parameter="/platform/prod/shard-map",
        database_secret_prefix="prod/database/", protect=True)
    return DeployRunnerArgs(**{**values, **overrides})


def _program(args: DeployRunnerArgs) -> Any:
    def program() -> None:
        provider = aws.Provider("aws-aps1", region=REGION, allowed_account_ids=[ACCOUNT], default_tags=(
            aws.ProviderDefaultTagsArgs(tags={"project": "global-platform", "environment": "prod",
                                              "owner": "platform", "cost-center": "cc-1"})))
        runner = DeployRunner("aps1-deploy-runner", args, pulumi.ResourceOptions(providers={"aws": provider}))
        pulumi.export("runsOn", runner.runs_on_label_prefix)
    return program


def build(args: DeployRunnerArgs | None = None) -> Doc:
    run = engine.run("prod-ap-south-1", program=_program(args or runner_args()),
                     config={"global-platform:awsAccountId": ACCOUNT}, secret_keys=[])
    return document.build(run)


@pytest.fixture(scope="module")
def plan() -> Doc:
    return build()


def one(plan: Doc, type_token: str, name: str | None = None) -> dict[str, Any]:
    found = [r for r in of_type(plan, type_token) if name is None or r["name"] == name]
    assert len(found) == 1, f"{type_token} {name}: {len(found)} resources"
    return found[0]


def _policy(plan: Doc) -> dict[str, Any]:
    return json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy")["inputs"]["policy"])


def _statement(plan: Doc, sid: str) -> dict[str, Any]:
    (statement,) = [s for s in _policy(plan)["Statement"] if s["Sid"] == sid]
    return statement


def test_every_resource_is_a_child_of_the_component(plan: Doc) -> None:
    component = one(plan, "platform:deploy:DeployRunner")
    by_urn = {r["urn"]: r for r in plan["resources"]}

    def under_component(r: dict[str, Any]) -> bool:
        while r["parent"] and r["parent"] != component["urn"]:
            r = by_urn[r["parent"]]
        return r["parent"] == component["urn"]

    resources = [r for r in plan["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    assert resources and all(under_component(r) for r in resources)
    assert all(r["region"] == REGION for r in resources)
    assert plan["stackOutputs"]["runsOn"] == "codebuild-prod-aps1-deploy-runner"


def test_security_group_admits_nothing_and_dials_out_on_https_and_the_iam_port(plan: Doc) -> None:
    group = one(plan, "aws:ec2/securityGroup:SecurityGroup")
    assert group["inputs"]["name"] == "prod-aps1-deploy-runner" and group["inputs"]["vpcId"] == "vpc-0123456789abcdef0"
    assert "ingress" not in group["inputs"] and "egress" not in group["inputs"]  # standalone rules only
    egress = {r["name"]: r["inputs"] for r in of_type(plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    assert egress == {
        "aps1-deploy-runner-https-out": {
            "securityGroupId": group["outputs"]["id"], "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
            "cidrIpv4": "0.0.0.0/0", "description": egress["aps1-deploy-runner-https-out"]["description"]},
        "aps1-deploy-runner-to-kafka": {
            "securityGroupId": group["outputs"]["id"], "ipProtocol": "tcp", "fromPort": 9098, "toPort": 9098,
            "referencedSecurityGroupId": KAFKA_SG, "description": "SASL/IAM to the MSK brokers (topic administration)"},
    }
    ingress_on_runner = [r for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                         if r["inputs"]["securityGroupId"] == group["outputs"]["id"]]
    assert ingress_on_runner == []


def test_the_cluster_and_broker_groups_admit_the_runner_by_reference_only(plan: Doc) -> None:
    runner_sg = one(plan, "aws:ec2/securityGroup:SecurityGroup")
    ingress = {r["name"]: r for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    assert set(ingress) == {"aps1-eks-api-from-deploy-runner", "aps1-kafka-from-deploy-runner"}
    for name, target, port in (("aps1-eks-api-from-deploy-runner", CLUSTER_SG, 443),
                               ("aps1-kafka-from-deploy-runner", KAFKA_SG, 9098)):
        rule = ingress[name]["inputs"]
        assert (rule["securityGroupId"], rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == (
            target, "tcp", port, port)
        assert rule["referencedSecurityGroupId"] == runner_sg["outputs"]["id"]
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule) and rule["description"]
        # The engine knows where the reference came from (what P16 resolves ids by before they exist).
        assert ingress[name]["propertyDependencies"]["referencedSecurityGroupId"] == [runner_sg["urn"]]


def test_project_is_an_ephemeral_runner_in_the_private_subnets(plan: Doc) -> None:
    project = one(plan, "aws:codebuild/project:Project")["inputs"]
    runner_sg = one(plan, "aws:ec2/securityGroup:SecurityGroup")["outputs"]["id"]
    assert project["name"] == "prod-aps1-deploy-runner"
    assert project["tags"] == {"platform:role": "deploy-runner", "platform:stack-layer": "cluster"}
    assert project["artifacts"] == {"type": "NO_ARTIFACTS"}
    assert project["source"] == {"type": "GITHUB", "location": "https://github.com/example-org/global-platform",
                                 "auth": {"type": "CODECONNECTIONS", "resource": CONNECTION}}
    assert project["vpcConfig"] == {"vpcId": "vpc-0123456789abcdef0", "subnets": SUBNETS,
                                    "securityGroupIds": [runner_sg]}
    environment = project["environment"]
    assert (environment["type"], environment["computeType"], environment["image"]) == (
        "LINUX_CONTAINER", "BUILD_GENERAL1_SMALL", "aws/codebuild/standard:7.0")
    assert environment["privilegedMode"] is False and environment["imagePullCredentialsType"] == "CODEBUILD"
    log_group = one(plan, "aws:cloudwatch/logGroup:LogGroup")
    assert project["logsConfig"] == {"cloudwatchLogs": {"status": "ENABLED", "groupName": log_group["inputs"]["name"]},
                                     "s3Logs": {"status": "DISABLED"}}
    assert project["serviceRole"] == one(plan, "aws:iam/role:Role")["outputs"]["arn"]
    assert "concurrentBuildLimit" not in project and project["buildTimeout"] == 60


def test_project_waits_for_its_role_policy(plan: Doc) -> None:
    project = one(plan, "aws:codebuild/project:Project")
    assert one(plan, "aws:iam/rolePolicy:RolePolicy")["urn"] in project["dependencies"]


def test_log_group_is_encrypted_retained_and_protected(plan: Doc) -> None:
    group = one(plan, "aws:cloudwatch/logGroup:LogGroup")
    assert group["inputs"]["name"] == "/platform/prod/aps1/deploy-runner"
    assert group["inputs"]["retentionInDays"] == 365 and group["inputs"]["kmsKeyId"].startswith("arn:aws:kms:")
    assert group["protect"] is True
    dev = build(runner_args(protect=False, environment="dev"))
    assert one(dev, "aws:cloudwatch/logGroup:LogGroup")["protect"] is False


def test_webhook_starts_a_build_per_queued_workflow_job(plan: Doc) -> None:
    webhook = one(plan, "aws:codebuild/webhook:Webhook")["inputs"]
    assert webhook["projectName"] == "prod-aps1-deploy-runner" and webhook["buildType"] == "BUILD"
    assert webhook["filterGroups"] == [{"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}]
    narrowed = one(build(runner_args(workflow_name_pattern="^deploy-cluster$")), "aws:codebuild/webhook:Webhook")
    assert narrowed["inputs"]["filterGroups"] == [{"filters": [
        {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}, {"type": "WORKFLOW_NAME", "pattern": "^deploy-cluster$"}]}]


def test_role_trusts_codebuild_of_this_account_only(plan: Doc) -> None:
    role = one(plan, "aws:iam/role:Role")["inputs"]
    assert role["name"] == "prod-aps1-deploy-runner"
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust == {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
                     "Action": ["sts:AssumeRole"], "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}


def test_role_policy_grants_named_actions_only(plan: Doc) -> None:
    statements = _policy(plan)["Statement"]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert all(s["Effect"] == "Allow" and "NotAction" not in s and "NotResource" not in s for s in statements)
    assert not [a for a in actions if "*" in a or a.startswith("iam:") or a.startswith("sts:")]
    # "*" resources only where the API has no resource-level permission.
    star = {a for s in statements if s["Resource"] == "*"
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert star == {"ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                    "ec2:DescribeVpcs", "ssm:DescribeParameters"}


def test_kafka_grants_are_scoped_to_this_cluster_and_its_topics(plan: Doc) -> None:
    assert _statement(plan, "KafkaCluster") == {
        "Sid": "KafkaCluster", "Effect": "Allow", "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
        "Resource": KAFKA_ARN}
    topics = _statement(plan, "KafkaTopics")
    assert topics["Resource"] == (f"arn:aws:kafka:{REGION}:{ACCOUNT}:topic/prod-aps1-kafka/"
                                  "5b1f6a5e-2c1d-4e3b-8f9a-0d1c2b3a4f5e-3/*")
    assert sorted(topics["Action"]) == sorted(f"kafka-cluster:{a}" for a in (
        "CreateTopic", "DescribeTopic", "AlterTopic", "DescribeTopicDynamicConfiguration",
        "AlterTopicDynamicConfiguration", "DeleteTopic"))
    kafka_actions = [a for s in _policy(plan)["Statement"] for a in s["Action"] if str(a).startswith("kafka-cluster:")]
    assert not {"kafka-cluster:ReadData", "kafka-cluster:WriteData", "kafka-cluster:AlterGroup",
                "kafka-cluster:AlterCluster"} & set(kafka_actions)


def test_eks_ssm_secrets_and_connection_grants_name_their_resources(plan: Doc) -> None:
    assert _statement(plan, "EksCluster")["Resource"] == EKS_ARN
    assert _statement(plan, "ShardMap")["Resource"] == (
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/platform/prod/shard-map")
    assert _statement(plan, "DatabaseSecrets")["Resource"] == (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/database/*")
    key = _statement(plan, "SecretsKeyThroughSecretsManager")
    assert key["Resource"] == SECRETS_KEY and key["Action"] == ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}
    connection = _statement(plan, "GitHubConnection")
    assert connection["Resource"] == CONNECTION and connection["Action"] == [
        "codeconnections:GetConnectionToken", "codeconnections:GetConnection", "codeconnections:UseConnection"]
    logs = _statement(plan, "BuildLogs")
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/platform/prod/aps1/deploy-runner"
    assert logs["Resource"] == [group, f"{group}:*"]


def test_network_interface_permission_is_limited_to_the_private_subnets_and_codebuild(plan: Doc) -> None:
    statement = _statement(plan, "VpcNetworkInterfacePermission")
    assert statement["Action"] == "ec2:CreateNetworkInterfacePermission"
    assert statement["Resource"] == f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*"
    assert statement["Condition"] == {"StringEquals": {
        "ec2:Subnet": [f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{s}" for s in SUBNETS],
        "ec2:AuthorizedService": "codebuild.amazonaws.com"}}


def test_an_old_codestar_connection_gets_actions_of_its_own_prefix() -> None:
    old = f"arn:aws:codestar-connections:us-east-1:{ACCOUNT}:connection/8f2c1a4e-6b1d-4c3e-9a57-2d0b6e1f4c21"
    statement = _statement(build(runner_args(connection_arn=old)), "GitHubConnection")
    assert {a.split(":")[0] for a in statement["Action"]} == {"codestar-connections"}


def test_access_entry_makes_the_role_cluster_admin(plan: Doc) -> None:
    role_arn = one(plan, "aws:iam/role:Role")["outputs"]["arn"]
    entry = one(plan, "aws:eks/accessEntry:AccessEntry")["inputs"]
    assert entry == {"clusterName": "prod-aps1", "principalArn": role_arn, "type": "STANDARD"}
    association = one(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")["inputs"]
    assert association == {
        "clusterName": "prod-aps1", "principalArn": role_arn,
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        "accessScope": {"type": "cluster"}}


@pytest.mark.parametrize(("field", "value", "says"), [
    ("github_repository", "https://github.com/example-org/global-platform", "github_repository must be owner/name"),
    ("connection_arn", "arn:aws:secretsmanager:us-east-1:111122223333:secret:gh", "connection_arn must be"),
    ("shard_map_parameter", "platform/prod/shard-map", "shard_map_parameter must be a full SSM path"),
    ("database_secret_prefix", "prod/database", "database_secret_prefix must end with '/'"),
    ("project_name", "prod aps1 runner", "project_name is no valid CodeBuild project name"),
])
def test_arguments_are_refused_before_anything_is_registered(field: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        runner_args(**{field: value})


def test_no_guardrail_of_the_pack_objects_to_the_runner(plan: Doc) -> None:
    """Every rule of the pack over the component's resources: none reports one of them (P16 needs the clusters,
    which this plan does not hold, and is exercised in tests/policies/test_deploy_reach.py)."""
    ours = {r["urn"] for r in plan["resources"]}
    found = [v for v in guardrails.evaluate(plan, {}) if v.urn in ours and v.id != "P16"]
    assert [(v.id, v.message) for v in found if v.enforcement == "mandatory"] == []
