"""P16 platform-deploy-runner-reach on one region's infra stack built on the mock engine, and on edits of it.

The stack holds what the rule relates, from the real components: a VPC and its private subnets, the EKS
cluster (components/eks.py, with its workloads node group), the MSK cluster (components/kafka.py, with its
replicator group) and the deploy runner (components/deploy_runner.py). It passes as built, known ids and first
preview alike; each failure mode is an edit of its plan document and must report the exact message. The pack
runs as `make plan` runs it (offline/guardrails.py, with the engine's property dependencies).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi_policy import EnforcementLevel, Severity
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE

from components.deploy_runner import DeployRunner, DeployRunnerArgs
from components.eks import EksCluster, EksClusterArgs
from components.kafka import KafkaArgs, KafkaCluster
from guardrails.deploy_reach import RULES
from guardrails.registry import all_rules
from offline import document, engine, guardrails
from regions.eks_versions import EKS_VERSIONS
from regions.schema import NodeGroup
from tests.policies.test_platform_invariants import REMOVE, Plan

ACCOUNT = "111122223333"
REGION = "ap-south-1"
CONNECTION = f"arn:aws:codeconnections:us-east-1:{ACCOUNT}:connection/8f2c1a4e-6b1d-4c3e-9a57-2d0b6e1f4c21"
VERSION = "1.34"

EKS = "aws:eks/cluster:Cluster"
MSK = "aws:msk/cluster:Cluster"
PROJECT = "aws:codebuild/project:Project"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
RUNNER_PROJECT = "aps1-deploy-runner"
EKS_RULE = "aps1-eks-api-from-deploy-runner"
KAFKA_RULE = "aps1-kafka-from-deploy-runner"


def _node_group(name: str, **extra: Any) -> NodeGroup:
    return NodeGroup.model_validate({"name": name, "instance_types": ["m7g.large"], "min_size": 2, "desired_size": 2,
                                     "max_size": 4, **extra})


def _region(runners: int = 1) -> None:
    """One region as its infra stack declares it (the program wires the same components the same way)."""
    provider = aws.Provider("aws-aps1", region=REGION, allowed_account_ids=[ACCOUNT], default_tags=(
        aws.ProviderDefaultTagsArgs(tags={"project": "global-platform", "environment": "prod", "owner": "platform",
                                          "cost-center": "cc-1"})))
    stamp = pulumi.ComponentResource("platform:test:Region", "aps1", None,
                                     pulumi.ResourceOptions(providers={"aws": provider}))
    child = pulumi.ResourceOptions(parent=stamp)
    vpc = aws.ec2.Vpc("aps1-vpc", cidr_block="10.40.0.0/16", opts=child)
    subnets = [aws.ec2.Subnet(f"aps1-private-az{i}", vpc_id=vpc.id, cidr_block=f"10.40.{i}.0/24",
                              availability_zone_id=f"aps1-az{i}", opts=child) for i in (1, 2, 3)]
    private = [s.id for s in subnets]
    log_key = aws.kms.Key("aps1-logs-key", enable_key_rotation=True, opts=child)
    secrets_key = aws.kms.Key("aps1-secrets-key", enable_key_rotation=True, opts=child)
    eks_key = aws.kms.Key("aps1-eks-key", enable_key_rotation=True, opts=child)
    data_key = aws.kms.Key("aps1-data-key", enable_key_rotation=True, opts=child)
    eks = EksCluster("aps1-eks", EksClusterArgs(
        environment="prod", region=REGION, short_code="aps1", account_id=ACCOUNT, kubernetes_version=VERSION,
        addon_versions=EKS_VERSIONS[VERSION].addons, log_retention_days=365,
        node_groups=[_node_group("system", taints=[{"key": "CriticalAddonsOnly", "effect": "NO_SCHEDULE"}]),
                     _node_group("workloads")],
        vpc_id=vpc.id, private_subnet_ids=private, log_key_arn=log_key.arn, secrets_key_arn=eks_key.arn,
        ebs_key_arn=data_key.arn, admin_role_arn=f"arn:aws:iam::{ACCOUNT}:role/platform-admin", admin_cidrs=[],
        protect=True), child)
    kafka = KafkaCluster("aps1-kafka", KafkaArgs(
        environment="prod", region=REGION, short_code="aps1", account_id=ACCOUNT, kafka_version="3.8.x",
        broker_type="kafka.m7g.large", brokers=3, storage_gib=1000, max_storage_gib=4000, log_retention_days=365,
        vpc_id=vpc.id, private_subnet_ids=private, client_security_group_id=eks.node_security_groups["workloads"].id,
        log_key_arn=log_key.arn, key_arn=data_key.arn, protect=True), child)
    for n in range(runners):
        code = "aps1" if n == 0 else f"aps{n + 1}"
        DeployRunner(f"{code}-deploy-runner", DeployRunnerArgs(
            environment="prod", region=REGION, short_code=code, account_id=ACCOUNT,
            project_name=f"prod-{code}-deploy-runner", github_repository="example-org/global-platform",
            connection_arn=CONNECTION, vpc_id=vpc.id, private_subnet_ids=private, log_key_arn=log_key.arn,
            log_retention_days=365, eks_cluster_name=eks.cluster.name, eks_cluster_arn=eks.cluster.arn,
            eks_cluster_security_group_id=eks.cluster_security_group_id, kafka_cluster_arn=kafka.cluster.arn,
            kafka_security_group_id=kafka.security_group.id, secrets_key_arn=secrets_key.arn,
            shard_map_parameter="/platform/prod/shard-map", database_secret_prefix="prod/database/",
            protect=True), child)


def _build(runners: int = 1) -> dict[str, Any]:
    run = engine.run("prod-ap-south-1", program=lambda: _region(runners),
                     config={"global-platform:awsAccountId": ACCOUNT}, secret_keys=[])
    return document.build(run)


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    return _build()


@pytest.fixture
def plan(built: dict[str, Any]) -> Plan:
    return Plan(built)


def violations(plan: Plan | dict[str, Any]) -> list[str]:
    doc = {**plan.doc, "resources": plan.items} if isinstance(plan, Plan) else plan
    return [v.message for v in guardrails.evaluate(doc, {}) if v.id == "P16"]


def entry(plan: Plan, resource_type: str, name: str) -> dict[str, Any]:
    return plan.items[plan._index(resource_type, name)]


def sg_id(plan: Plan, name: str) -> str:
    return str(entry(plan, SECURITY_GROUP, name)["outputs"]["id"])


def cluster_sg(plan: Plan) -> str:
    return str(entry(plan, EKS, "aps1-eks")["outputs"]["vpcConfig"]["clusterSecurityGroupId"])


def ingress(plan: Plan, name: str, target: str, **inputs: Any) -> Plan:
    """A standalone ingress rule on ``target`` as the engine would record it (no property dependencies)."""
    provider = entry(plan, INGRESS, EKS_RULE)["provider"]
    return plan.add({
        "urn": f"urn:pulumi:prod-ap-south-1::global-platform::{INGRESS}::{name}", "type": INGRESS, "name": name,
        "custom": True, "parent": None, "provider": provider, "region": REGION,
        "inputs": {"securityGroupId": target, "ipProtocol": "tcp", "description": "added by hand", **inputs},
        "outputs": {}, "dependencies": [], "propertyDependencies": {}, "protect": False, "ignoreChanges": [],
        "aliases": []})


def first_preview(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A first `pulumi preview` of the stack: no outputs yet, and every input computed from another resource's
    output unknown (as a whole), with only the engine's property dependencies to say where it comes from."""
    def unknown(value: Any) -> str:
        if isinstance(value, dict):
            return UNKNOWN_OBJECT_VALUE
        return UNKNOWN_ARRAY_VALUE if isinstance(value, list) else UNKNOWN_STRING_VALUE

    previewed = []
    for r in map(copy.deepcopy, items):
        for prop, urns in r["propertyDependencies"].items():
            if urns and prop in r["inputs"]:
                r["inputs"][prop] = unknown(r["inputs"][prop])
        r["outputs"] = {}
        previewed.append(r)
    return previewed


# ------------------------------------------------------------------------------------------ the rule


def test_rule_is_registered_high_and_mandatory() -> None:
    (rule,) = RULES
    assert (rule.meta.id, rule.meta.name, rule.meta.severity, rule.meta.mandatory) == (
        "P16", "platform-deploy-runner-reach", Severity.HIGH, True)
    assert rule.policy().enforcement_level == EnforcementLevel.MANDATORY
    assert rule.meta.name in {r.meta.name for r in all_rules()}


def test_the_region_as_built_complies(plan: Plan) -> None:
    assert violations(plan) == []


def test_the_region_complies_at_its_first_preview_through_property_dependencies(plan: Plan) -> None:
    previewed = first_preview(plan.items)
    project = next(r for r in previewed if r["type"] == PROJECT)
    assert project["inputs"]["vpcConfig"] == UNKNOWN_OBJECT_VALUE  # nothing to compare: dependencies only
    assert violations({**plan.doc, "resources": previewed}) == []


def test_an_unknown_reference_without_dependencies_fails_closed(plan: Plan) -> None:
    previewed = first_preview(plan.items)
    rule = next(r for r in previewed if r["name"] == EKS_RULE)
    del rule["propertyDependencies"]["securityGroupId"]  # unknown, and nothing says where it comes from
    assert violations({**plan.doc, "resources": previewed}) == sorted([
        f"[P16] {EKS_RULE}: securityGroupId is unknown during preview; failing closed",
        "[P16] aps1-eks: no ingress rule admits the deploy runner aps1-deploy-runner's security group "
        "(prod-aps1-deploy-runner) to the cluster security group (vpcConfig.clusterSecurityGroupId) on TCP 443; "
        "the runner cannot reach the private API"])


@pytest.fixture(scope="module")
def infra_preview() -> dict[str, Any]:
    """dev-us-east-1 as the program declares it, at its first `pulumi preview` (its own resources not created)."""
    from offline import environment

    return environment.document_of("dev-us-east-1", preview=True)


def _p16(doc: dict[str, Any]) -> list[str]:
    return [v.message for v in guardrails.evaluate(doc, guardrails.load_config("dev-infra")) if v.id == "P16"]


def test_the_programs_region_complies_at_its_first_preview(infra_preview: dict[str, Any]) -> None:
    rule = next(r for r in infra_preview["resources"] if r["name"] == "use1-eks-api-from-deploy-runner")
    cluster = next(r for r in infra_preview["resources"] if r["type"] == EKS)
    # The cluster security group is an output of the cluster: unknown, and the engine says where it comes from.
    assert rule["inputs"]["securityGroupId"] == "[unknown]"
    assert rule["propertyDependencies"]["securityGroupId"] == [cluster["urn"]]
    assert _p16(infra_preview) == []


def test_the_programs_region_still_fails_at_its_first_preview(infra_preview: dict[str, Any]) -> None:
    doc = copy.deepcopy(infra_preview)
    rule = next(r for r in doc["resources"] if r["name"] == "use1-eks-api-from-deploy-runner")
    del rule["propertyDependencies"]["securityGroupId"]
    assert _p16(doc) == sorted([
        "[P16] use1-eks-api-from-deploy-runner: securityGroupId is unknown during preview; failing closed",
        "[P16] use1-eks: no ingress rule admits the deploy runner use1-deploy-runner's security group "
        "(dev-use1-deploy-runner) to the cluster security group (vpcConfig.clusterSecurityGroupId) on TCP 443; "
        "the runner cannot reach the private API"])


def test_a_stack_without_clusters_needs_no_runner(plan: Plan) -> None:
    plan.remove(EKS, "aps1-eks").remove(MSK, "aps1-kafka").remove(PROJECT, RUNNER_PROJECT)
    assert violations(plan) == []


# ------------------------------------------------------------------------------- (a) the runner itself


def test_runner_missing(plan: Plan) -> None:
    plan.remove(PROJECT, RUNNER_PROJECT)
    assert violations(plan) == sorted([
        "[P16] aps1-eks: no deploy runner (aws:codebuild/project:Project tagged platform:role=deploy-runner) has "
        "its vpcConfig in this cluster's VPC; the cluster stack cannot reach its private API endpoint",
        f"[P16] {EKS_RULE}: ingress to the cluster security group of aps1-eks from referencedSecurityGroupId group "
        "prod-aps1-deploy-runner; only the deploy runner's group may be admitted, on TCP 443",
        "[P16] aps1-kafka: no deploy runner (aws:codebuild/project:Project tagged platform:role=deploy-runner) has "
        "its vpcConfig in this cluster's VPC; the cluster stack cannot reach its brokers on 9098",
        f"[P16] {KAFKA_RULE}: ingress to the brokers' group prod-aps1-kafka on 9098 from referencedSecurityGroupId "
        "group prod-aps1-deploy-runner, which is not the deploy runner, the workload nodes (*-workloads-nodes) or "
        "the replicator (*-kafka-replicator)"])


def test_a_project_without_the_tag_is_no_runner(plan: Plan) -> None:
    plan.set(PROJECT, RUNNER_PROJECT, "tags", {"platform:role": "ci"})
    found = violations(plan)
    assert len(found) == 4 and any(m.startswith("[P16] aps1-eks: no deploy runner (") for m in found)


def test_a_runner_in_another_vpc_is_not_this_clusters(plan: Plan) -> None:
    plan.set(PROJECT, RUNNER_PROJECT, "vpcConfig.vpcId", "vpc-0ther0ther0ther0")
    plan.set(PROJECT, RUNNER_PROJECT, "vpcConfig.subnets", ["subnet-0ther0ther0ther0"])
    runner_sg = entry(plan, SECURITY_GROUP, RUNNER_PROJECT)["urn"]
    plan.entry(PROJECT, RUNNER_PROJECT)["propertyDependencies"]["vpcConfig"] = [runner_sg]
    found = violations(plan)
    assert len(found) == 4 and any(m.startswith("[P16] aps1-kafka: no deploy runner (") for m in found)


def test_two_runners_in_one_vpc() -> None:
    found = violations(_build(runners=2))
    assert found == sorted([
        "[P16] aps1-eks: 2 deploy runners (aps1-deploy-runner, aps2-deploy-runner) have their vpcConfig in this "
        "cluster's VPC; exactly one may be declared",
        "[P16] aps2-eks-api-from-deploy-runner: ingress to the cluster security group of aps1-eks from "
        "referencedSecurityGroupId group prod-aps2-deploy-runner; only the deploy runner's group may be admitted, "
        "on TCP 443",
        f"[P16] {EKS_RULE}: ingress to the cluster security group of aps1-eks from referencedSecurityGroupId group "
        "prod-aps1-deploy-runner; only the deploy runner's group may be admitted, on TCP 443",
        "[P16] aps1-kafka: 2 deploy runners (aps1-deploy-runner, aps2-deploy-runner) have their vpcConfig in this "
        "cluster's VPC; exactly one may be declared",
        f"[P16] {KAFKA_RULE}: ingress to the brokers' group prod-aps1-kafka on 9098 from referencedSecurityGroupId "
        "group prod-aps1-deploy-runner, which is not the deploy runner, the workload nodes (*-workloads-nodes) or "
        "the replicator (*-kafka-replicator)",
        "[P16] aps2-kafka-from-deploy-runner: ingress to the brokers' group prod-aps1-kafka on 9098 from "
        "referencedSecurityGroupId group prod-aps2-deploy-runner, which is not the deploy runner, the workload "
        "nodes (*-workloads-nodes) or the replicator (*-kafka-replicator)"])


# ------------------------------------------------------------------------- (b), (c) the two admissions


def test_eks_443_rule_removed(plan: Plan) -> None:
    plan.remove(INGRESS, EKS_RULE)
    assert violations(plan) == [
        "[P16] aps1-eks: no ingress rule admits the deploy runner aps1-deploy-runner's security group "
        "(prod-aps1-deploy-runner) to the cluster security group (vpcConfig.clusterSecurityGroupId) on TCP 443; "
        "the runner cannot reach the private API"]


def test_eks_rule_on_the_wrong_port(plan: Plan) -> None:
    plan.set(INGRESS, EKS_RULE, "fromPort", 8443).set(INGRESS, EKS_RULE, "toPort", 8443)
    assert violations(plan) == sorted([
        f"[P16] {EKS_RULE}: ingress to the cluster security group of aps1-eks admits tcp 8443-8443 from the deploy "
        "runner; only the deploy runner's group may be admitted, on TCP 443",
        "[P16] aps1-eks: no ingress rule admits the deploy runner aps1-deploy-runner's security group "
        "(prod-aps1-deploy-runner) to the cluster security group (vpcConfig.clusterSecurityGroupId) on TCP 443; "
        "the runner cannot reach the private API"])


def test_msk_9098_rule_removed(plan: Plan) -> None:
    plan.remove(INGRESS, KAFKA_RULE)
    assert violations(plan) == [
        "[P16] aps1-kafka: no ingress rule on its security group(s) (prod-aps1-kafka) admits the deploy runner "
        "aps1-deploy-runner's security group (prod-aps1-deploy-runner) on TCP 9098; the runner cannot administer "
        "its topics"]


# ------------------------------------------------------------------------------------ (d) the access entry


def test_access_entry_removed(plan: Plan) -> None:
    plan.remove(ACCESS_ENTRY, RUNNER_PROJECT)
    assert violations(plan) == [
        "[P16] aps1-eks: the deploy runner's role prod-aps1-deploy-runner has no aws:eks/accessEntry:AccessEntry on "
        "this cluster; the runner cannot authenticate to its API"]


def test_access_entry_that_grants_nothing(plan: Plan) -> None:
    plan.remove(ACCESS_POLICY, RUNNER_PROJECT)
    assert violations(plan) == [
        f"[P16] {RUNNER_PROJECT}: the deploy runner's access entry on aps1-eks has no "
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation and no kubernetesGroups; it grants the runner "
        "nothing"]


def test_the_admin_roles_entry_is_not_the_runners(plan: Plan) -> None:
    """The stack's admin role has its own entry (components/eks.py); it does not stand in for the runner's."""
    plan.remove(ACCESS_ENTRY, RUNNER_PROJECT)
    assert [r["name"] for r in plan.items if r["type"] == ACCESS_ENTRY] == ["aps1-admin"]
    assert len(violations(plan)) == 1


# ------------------------------------------------------------------------------- (e) nothing else reaches


def test_an_extra_rule_on_the_cluster_sg_from_another_group(plan: Plan) -> None:
    ingress(plan, "aps1-eks-api-from-workloads", cluster_sg(plan), fromPort=443, toPort=443,
            referencedSecurityGroupId=sg_id(plan, "aps1-workloads-nodes"))
    assert violations(plan) == [
        "[P16] aps1-eks-api-from-workloads: ingress to the cluster security group of aps1-eks from "
        "referencedSecurityGroupId group prod-aps1-workloads-nodes; only the deploy runner's group may be admitted, "
        "on TCP 443"]


def test_a_cidr_rule_on_the_cluster_sg(plan: Plan) -> None:
    ingress(plan, "aps1-eks-api-from-office", cluster_sg(plan), fromPort=443, toPort=443, cidrIpv4="192.0.2.0/24")
    assert violations(plan) == [
        "[P16] aps1-eks-api-from-office: ingress to the cluster security group of aps1-eks via cidrIpv4 "
        "'192.0.2.0/24'; only the deploy runner's group may be admitted, on TCP 443"]


def test_a_cidr_rule_on_the_msk_sg(plan: Plan) -> None:
    ingress(plan, "aps1-kafka-from-office", sg_id(plan, "aps1-kafka"), fromPort=9098, toPort=9098,
            cidrIpv4="10.0.0.0/8")
    assert violations(plan) == [
        "[P16] aps1-kafka-from-office: ingress to the brokers' group prod-aps1-kafka on 9098 via cidrIpv4 "
        "'10.0.0.0/8'; the IAM port admits security-group references only"]


def test_a_foreign_group_on_the_msk_iam_port(plan: Plan) -> None:
    ingress(plan, "aps1-kafka-from-edge", sg_id(plan, "aps1-kafka"), fromPort=9092, toPort=9098,
            referencedSecurityGroupId="sg-0123456789abcdef0")
    assert violations(plan) == [
        "[P16] aps1-kafka-from-edge: ingress to the brokers' group prod-aps1-kafka on 9098 from "
        "referencedSecurityGroupId 'sg-0123456789abcdef0', which is not the deploy runner, the workload nodes "
        "(*-workloads-nodes) or the replicator (*-kafka-replicator)"]


def test_an_inline_cidr_block_on_the_msk_sg(plan: Plan) -> None:
    plan.set(SECURITY_GROUP, "aps1-kafka", "ingress", [
        {"protocol": "tcp", "fromPort": 9098, "toPort": 9098, "cidrBlocks": ["10.40.0.0/16"], "description": "vpc"}])
    assert violations(plan) == [
        "[P16] aps1-kafka: ingress.0 opens the brokers' IAM port 9098 to ingress.0.cidrBlocks '10.40.0.0/16'; it "
        "admits security-group references only"]


def test_rules_off_the_iam_port_and_the_known_sources_pass(plan: Plan) -> None:
    """The workloads, the replicator and the brokers themselves stay admitted; other ports are P13's business."""
    names = {r["name"] for r in plan.items if r["type"] == INGRESS}
    assert {"aps1-kafka-from-workloads", "aps1-kafka-from-replicator", "aps1-kafka-between-brokers"} <= names
    ingress(plan, "aps1-kafka-plaintext-tls", sg_id(plan, "aps1-kafka"), fromPort=9094, toPort=9094,
            referencedSecurityGroupId=sg_id(plan, "aps1-workloads-nodes"))
    assert violations(plan) == []


def test_a_runner_rule_without_a_source_admits_nothing(plan: Plan) -> None:
    plan.set(INGRESS, KAFKA_RULE, "referencedSecurityGroupId", REMOVE)
    entry(plan, INGRESS, KAFKA_RULE)["propertyDependencies"].pop("referencedSecurityGroupId", None)
    assert violations(plan)[-1].startswith("[P16] aps1-kafka: no ingress rule on its security group(s)")
