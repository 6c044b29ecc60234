"""Aurora, ElastiCache, MSK and EKS guardrails: the custom and stack rules, case by case, on the real plans.

Property checks are covered generically by test_property_rules.py; here every rule with custom logic gets
its planned (compliant) resource, each failure mode (property missing, explicitly wrong) with the exact
message, and the fail-closed behaviour of the mandatory ones. Both planned stacks must be free of mandatory
violations.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from guardrails import aurora, cache, eks, kafka
from guardrails.core import ResourceRule, Rule, StackRule, get
from offline import environment as offline_environment
from offline import guardrails
from tests.plan_helpers import of_type
from tests.policies.harness import baseline, plan_resources, stack_violations, violations, with_value, without

MODULES = (aurora, cache, kafka, eks)
ALL: list[Rule] = [rule for module in MODULES for rule in module.RULES]
BY_NAME = {rule.meta.name: rule for rule in ALL}
PROD = {"environment": "prod"}
Props = dict[str, Any]


def resource_rule(name: str) -> ResourceRule:
    rule = BY_NAME[name]
    assert isinstance(rule, ResourceRule)
    return rule


def stack_rule(name: str) -> StackRule:
    rule = BY_NAME[name]
    assert isinstance(rule, StackRule)
    return rule


# --- the pack's shape ----------------------------------------------------------------------------------------

def test_rules_cover_the_reference_rows() -> None:
    ids = {rule.meta.id for rule in ALL}
    assert ids == {f"A{n}" for n in range(1, 19)} | {f"E{n}" for n in range(1, 11)} \
        | {f"M{n}" for n in range(1, 9)} | {f"K{n}" for n in range(1, 15)} - {"K2"}


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_names_are_prefixed_by_service_and_unique(module: Any) -> None:
    prefixes = {"aurora": "aurora-", "cache": "elasticache-", "kafka": "msk-", "eks": "eks-"}
    prefix = prefixes[module.__name__.split(".")[-1]]
    names = [rule.meta.name for rule in module.RULES]
    assert all(n.startswith(prefix) and n == n.lower() and " " not in n for n in names), names
    assert len(set(names)) == len(names)
    assert len(BY_NAME) == len(ALL)


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_modules_import_nothing_from_the_program(module: Any) -> None:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} \
        | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    forbidden = {"components", "regions", "program", "offline"}
    assert not {m for m in imported if m.split(".")[0] in forbidden}


def test_security_rules_are_mandatory_and_hygiene_advisory() -> None:
    advisory = {r.meta.id for r in ALL if not r.meta.mandatory}
    assert advisory == {"A7", "A8", "A9", "A10", "A11", "A13", "A15", "A16", "E5", "E6", "E8", "M6", "M7", "M8",
                        "K5", "K6"}
    # K5: retention is advisory (dev keeps 30 days), the log group's KMS key is mandatory
    assert BY_NAME["eks-control-plane-log-encrypted"].meta.mandatory
    assert {r.meta.name for r in ALL if isinstance(r, ResourceRule) and r.prod_only} == {
        "aurora-deletion-protection", "eks-deletion-protection"}


# --- custom resource rules: planned resource, missing, wrong ------------------------------------------------

def _params(drop: tuple[str, ...] = (), values: dict[str, str] | None = None) -> Callable[[Props], Props]:
    def edit(props: Props) -> Props:
        result = copy.deepcopy(props)
        result["parameters"] = [{**p, "value": (values or {}).get(p["name"], p["value"])}
                                for p in result["parameters"] if p["name"] not in drop]
        return result
    return edit


def _set(path: str, value: Any) -> Callable[[Props], Props]:
    return lambda props: with_value(props, path, value)


def _drop(*paths: str) -> Callable[[Props], Props]:
    def edit(props: Props) -> Props:
        for path in paths:
            props = without(props, path)
        return props
    return edit


def _chain(*edits: Callable[[Props], Props]) -> Callable[[Props], Props]:
    def edit(props: Props) -> Props:
        for one in edits:
            props = one(props)
        return props
    return edit


def _same(props: Props) -> Props:
    return props


VPC_CNI = {"when": lambda p: p.get("addonName") == "vpc-cni"}
LOGS = "must include api, audit, authenticator, controllerManager, scheduler"
KAFKA = "must be one of 3.7.x.kraft, 3.8.x.kraft, 3.9.x.kraft, 4.0.x.kraft, 4.1.x.kraft"
K1_OPEN = ("vpcConfig.endpointPublicAccess is {} and vpcConfig.publicAccessCidrs is not set, so AWS opens the "
           "endpoint to 0.0.0.0/0; it must be false or limited to specific CIDRs")
K1_WORLD = "vpcConfig.publicAccessCidrs must not include 0.0.0.0/0 or ::/0 while the public endpoint is on (got {})"
K13 = "must define the root volume with ebs.encrypted 'true' and ebs.kmsKeyId (the AMI's may be unencrypted)"
E4 = "must be non-empty, or authToken set (RBAC user group or AUTH token)"
E10 = "must list at least one security group (else the VPC's default group applies)"
M5 = "must enable sasl.iam, sasl.scram or tls.certificateAuthorityArns"
M6 = "must enable one of cloudwatchLogs, firehose, s3"
K10 = "must be set when remoteAccess.ec2SshKey is (else SSH is open to 0.0.0.0/0)"

# (case id, rule name, baseline selector or None, edit, config, expected failure texts)
CASES: list[tuple[str, str, Callable[[Props], bool] | None, Callable[[Props], Props], dict[str, Any], list[str]]] = [
    ("A9-planned", "aurora-cluster-log-exports", None, _same, {}, []),
    ("A9-missing", "aurora-cluster-log-exports", None, _drop("enabledCloudwatchLogsExports"), {},
     ["enabledCloudwatchLogsExports is not set; it must include 'postgresql'"]),
    ("A9-empty", "aurora-cluster-log-exports", None, _set("enabledCloudwatchLogsExports", []), {},
     ["enabledCloudwatchLogsExports must include 'postgresql' (got [])"]),
    ("A9-wrong", "aurora-cluster-log-exports", None, _set("enabledCloudwatchLogsExports", ["upgrade"]), {},
     ["enabledCloudwatchLogsExports must include 'postgresql' (got ['upgrade'])"]),
    ("A10-planned", "aurora-parameter-group-query-logging", None, _same, {}, []),
    ("A10-missing", "aurora-parameter-group-query-logging", None, _drop("parameters"), {},
     ["parameters is not set; it must set log_statement and log_min_duration_statement"]),
    ("A10-no-log-statement", "aurora-parameter-group-query-logging", None, _params(drop=("log_statement",)), {},
     ["parameters must set log_statement and log_min_duration_statement (missing log_statement)"]),
    ("A10-neither", "aurora-parameter-group-query-logging", None,
     _params(drop=("log_statement", "log_min_duration_statement")), {},
     ["parameters must set log_statement and log_min_duration_statement "
      "(missing log_statement, log_min_duration_statement)"]),
    ("A10-turned-off", "aurora-parameter-group-query-logging", None,
     _params(values={"log_statement": "none", "log_min_duration_statement": "-1"}), {},
     ["parameters log_statement must not be 'none', which turns it off (got 'none')",
      "parameters log_min_duration_statement must not be '-1', which turns it off (got '-1')"]),
    ("A10-other-family", "aurora-parameter-group-query-logging", None,
     _chain(_drop("parameters"), _set("family", "aurora-mysql8.0")), {}, []),
    ("A11-planned-default-port", "aurora-cluster-non-default-port", None, _same, {},
     ["port must not be the engine's default 5432 (got 5432)"]),
    ("A11-missing", "aurora-cluster-non-default-port", None, _drop("port"), {},
     ["port is not set; it must not be the engine's default 5432"]),
    ("A11-custom-port", "aurora-cluster-non-default-port", None, _set("port", 6543), {}, []),
    ("A12-planned-primary", "aurora-cluster-custom-admin-username", lambda p: "masterUsername" in p, _same, {}, []),
    ("A12-planned-secondary", "aurora-cluster-custom-admin-username", lambda p: "masterUsername" not in p, _same,
     {}, []),
    ("A12-postgres", "aurora-cluster-custom-admin-username", lambda p: "masterUsername" in p,
     _set("masterUsername", "postgres"), {},
     ["masterUsername must not be a default name (postgres, admin) (got 'postgres')"]),
    ("A12-admin", "aurora-cluster-custom-admin-username", lambda p: "masterUsername" in p,
     _set("masterUsername", "Admin"), {},
     ["masterUsername must not be a default name (postgres, admin) (got 'Admin')"]),
    ("E4-planned", "elasticache-auth", None, _same, {}, []),
    ("E4-missing", "elasticache-auth", None, _drop("userGroupIds"), {}, [f"userGroupIds is not set; it {E4}"]),
    ("E4-empty", "elasticache-auth", None, _set("userGroupIds", []), {}, [f"userGroupIds {E4} (got [])"]),
    ("E4-auth-token", "elasticache-auth", None, _chain(_drop("userGroupIds"), _set("authToken", "[secret]")), {},
     []),
    ("E10-planned", "elasticache-security-group", None, _same, {}, []),
    ("E10-missing", "elasticache-security-group", None, _drop("securityGroupIds"), {},
     [f"securityGroupIds is not set; it {E10}"]),
    ("E10-empty", "elasticache-security-group", None, _set("securityGroupIds", []), {},
     [f"securityGroupIds {E10} (got [])"]),
    ("M5-planned", "msk-authenticated-access", None, _same, {}, []),
    ("M5-missing", "msk-authenticated-access", None, _drop("clientAuthentication"), {},
     [f"clientAuthentication is not set; it {M5}"]),
    ("M5-no-mechanism", "msk-authenticated-access", None, _set("clientAuthentication.sasl.iam", False), {},
     [f"clientAuthentication {M5} (got none)"]),
    ("M5-empty-tls", "msk-authenticated-access", None,
     _chain(_set("clientAuthentication.sasl.iam", False), _set("clientAuthentication.tls.certificateAuthorityArns",
                                                               [])), {}, [f"clientAuthentication {M5} (got none)"]),
    ("M5-unauthenticated-too", "msk-authenticated-access", None,
     _chain(_set("clientAuthentication.sasl.iam", False), _set("clientAuthentication.unauthenticated", True)), {},
     ["clientAuthentication.unauthenticated must not be true (got True)", f"clientAuthentication {M5} (got none)"]),
    ("M5-scram", "msk-authenticated-access", None,
     _chain(_set("clientAuthentication.sasl.iam", False), _set("clientAuthentication.sasl.scram", True)), {}, []),
    ("M5-mutual-tls", "msk-authenticated-access", None,
     _chain(_set("clientAuthentication.sasl.iam", False),
            _set("clientAuthentication.tls.certificateAuthorityArns", ["arn:aws:acm-pca:us-east-1:1:ca/x"])), {}, []),
    ("M6-planned", "msk-broker-logging", None, _same, {}, []),
    ("M6-missing", "msk-broker-logging", None, _drop("loggingInfo"), {},
     [f"loggingInfo.brokerLogs is not set; it {M6}"]),
    ("M6-disabled", "msk-broker-logging", None, _set("loggingInfo.brokerLogs.cloudwatchLogs.enabled", False), {},
     [f"loggingInfo.brokerLogs {M6} (got none enabled)"]),
    ("M6-s3", "msk-broker-logging", None,
     _chain(_drop("loggingInfo.brokerLogs.cloudwatchLogs"), _set("loggingInfo.brokerLogs.s3.enabled", True)), {}, []),
    ("M8-planned", "msk-kafka-version", None, _same, {}, []),
    ("M8-missing", "msk-kafka-version", None, _drop("kafkaVersion"), {}, [f"kafkaVersion is not set; it {KAFKA}"]),
    ("M8-wrong", "msk-kafka-version", None, _set("kafkaVersion", "2.8.1"), {}, [f"kafkaVersion {KAFKA} (got '2.8.1')"]),
    ("M8-configured", "msk-kafka-version", None, _same, {"kafkaVersions": ["4.1.x.kraft"]},
     ["kafkaVersion must be one of 4.1.x.kraft (got '3.9.x.kraft')"]),
    ("K1-planned", "eks-endpoint-not-public", None, _same, {}, []),
    ("K1-missing", "eks-endpoint-not-public", None, _drop("vpcConfig.endpointPublicAccess"), {},
     [K1_OPEN.format("not set (AWS defaults it to true)")]),
    ("K1-public", "eks-endpoint-not-public", None, _set("vpcConfig.endpointPublicAccess", True), {},
     [K1_OPEN.format("true")]),
    ("K1-public-empty-cidrs", "eks-endpoint-not-public", None,
     _chain(_set("vpcConfig.endpointPublicAccess", True), _set("vpcConfig.publicAccessCidrs", [])), {},
     [K1_OPEN.format("true")]),
    ("K1-public-world", "eks-endpoint-not-public", None,
     _chain(_set("vpcConfig.endpointPublicAccess", True), _set("vpcConfig.publicAccessCidrs", ["0.0.0.0/0"])), {},
     [K1_WORLD.format("['0.0.0.0/0']")]),
    ("K1-public-world-v6", "eks-endpoint-not-public", None,
     _chain(_set("vpcConfig.endpointPublicAccess", True),
            _set("vpcConfig.publicAccessCidrs", ["203.0.113.0/24", "::/0"])), {},
     [K1_WORLD.format("['203.0.113.0/24', '::/0']")]),
    ("K1-public-restricted", "eks-endpoint-not-public", None,
     _chain(_set("vpcConfig.endpointPublicAccess", True), _set("vpcConfig.publicAccessCidrs", ["203.0.113.0/24"])),
     {}, []),
    ("K3-planned", "eks-secrets-encryption", None, _same, {}, []),
    ("K3-missing-resources", "eks-secrets-encryption", None, _drop("encryptionConfig.resources"), {},
     ["encryptionConfig.resources is not set; it must be ['secrets']"]),
    ("K3-wrong-resources", "eks-secrets-encryption", None, _set("encryptionConfig.resources", []), {},
     ["encryptionConfig.resources must be ['secrets'] (got [])"]),
    ("K3-missing-block", "eks-secrets-encryption", None, _drop("encryptionConfig"), {},
     ["encryptionConfig.provider.keyArn is not set; it must be set",
      "encryptionConfig.resources is not set; it must be ['secrets']"]),
    ("K4-planned", "eks-control-plane-logging", None, _same, {}, []),
    ("K4-missing", "eks-control-plane-logging", None, _drop("enabledClusterLogTypes"), {},
     [f"enabledClusterLogTypes is not set; it {LOGS}"]),
    ("K4-audit-only", "eks-control-plane-logging", None, _set("enabledClusterLogTypes", ["api", "audit"]), {},
     [f"enabledClusterLogTypes {LOGS} (got ['api', 'audit'])"]),
    ("K6-planned", "eks-version", None, _same, {}, []),
    ("K6-missing", "eks-version", None, _drop("version"), {}, ["version is not set; it must be one of 1.34, 1.35"]),
    ("K6-wrong", "eks-version", None, _set("version", "1.29"), {}, ["version must be one of 1.34, 1.35 (got '1.29')"]),
    ("K6-configured", "eks-version", None, _same, {"kubernetesVersions": ["1.36"]},
     ["version must be one of 1.36 (got '1.35')"]),
    ("K8-planned", "eks-network-policy", VPC_CNI["when"], _same, {}, []),
    ("K8-other-addon", "eks-network-policy", lambda p: p.get("addonName") == "coredns",
     _set("configurationValues", "{}"), {}, []),
    ("K8-missing", "eks-network-policy", VPC_CNI["when"], _drop("configurationValues"), {},
     ["configurationValues is not set; its enableNetworkPolicy must be 'true'"]),
    ("K8-not-json", "eks-network-policy", VPC_CNI["when"], _set("configurationValues", "{not json"), {},
     ["configurationValues must be JSON with enableNetworkPolicy 'true' (got '{not json')"]),
    ("K8-missing-setting", "eks-network-policy", VPC_CNI["when"],
     _set("configurationValues", json.dumps({"env": {"ENABLE_PREFIX_DELEGATION": "true"}})), {},
     ["configurationValues.enableNetworkPolicy is not set; it must be 'true'"]),
    ("K8-false", "eks-network-policy", VPC_CNI["when"],
     _set("configurationValues", json.dumps({"enableNetworkPolicy": "false"})), {},
     ["configurationValues.enableNetworkPolicy must be 'true' (got 'false')"]),
    ("K8-boolean", "eks-network-policy", VPC_CNI["when"],
     _set("configurationValues", json.dumps({"enableNetworkPolicy": True})), {},
     ["configurationValues.enableNetworkPolicy must be 'true' (got True)"]),
    ("K9-lt-planned", "eks-launch-template-no-public-ip", None, _same, {}, []),
    ("K9-lt-public-ip", "eks-launch-template-no-public-ip", None,
     _set("networkInterfaces", [{"deviceIndex": 0, "associatePublicIpAddress": "true"}]), {},
     ["networkInterfaces.0.associatePublicIpAddress must not be true (got 'true')"]),
    ("K9-lt-private-ip", "eks-launch-template-no-public-ip", None,
     _set("networkInterfaces", [{"deviceIndex": 0, "associatePublicIpAddress": "false"}]), {}, []),
    ("K10-planned", "eks-node-group-ssh-restricted", None, _same, {}, []),
    ("K10-missing", "eks-node-group-ssh-restricted", None, _set("remoteAccess", {"ec2SshKey": "ops"}), {},
     [f"remoteAccess.sourceSecurityGroupIds is not set; it {K10}"]),
    ("K10-empty", "eks-node-group-ssh-restricted", None,
     _set("remoteAccess", {"ec2SshKey": "ops", "sourceSecurityGroupIds": []}), {},
     [f"remoteAccess.sourceSecurityGroupIds {K10} (got [])"]),
    ("K10-restricted", "eks-node-group-ssh-restricted", None,
     _set("remoteAccess", {"ec2SshKey": "ops", "sourceSecurityGroupIds": ["sg-0123"]}), {}, []),
    ("K13-planned", "eks-launch-template-ebs-encrypted", None, _same, {}, []),
    ("K13-missing", "eks-launch-template-ebs-encrypted", None, _drop("blockDeviceMappings"), {},
     [f"blockDeviceMappings is not set; it {K13}"]),
    ("K13-empty", "eks-launch-template-ebs-encrypted", None, _set("blockDeviceMappings", []), {},
     [f"blockDeviceMappings {K13} (got no EBS volume)"]),
    ("K13-instance-store-only", "eks-launch-template-ebs-encrypted", None,
     _set("blockDeviceMappings", [{"deviceName": "/dev/sdb", "virtualName": "ephemeral0"}]), {},
     [f"blockDeviceMappings {K13} (got no EBS volume)"]),
    ("K13-unencrypted", "eks-launch-template-ebs-encrypted", None,
     _set("blockDeviceMappings.0.ebs.encrypted", "false"), {},
     ["blockDeviceMappings.0.ebs.encrypted must be 'true' (got 'false')"]),
    ("K13-encrypted-unset", "eks-launch-template-ebs-encrypted", None, _drop("blockDeviceMappings.0.ebs.encrypted"),
     {}, ["blockDeviceMappings.0.ebs.encrypted is not set; it must be 'true'"]),
    ("K13-no-cmk", "eks-launch-template-ebs-encrypted", None, _drop("blockDeviceMappings.0.ebs.kmsKeyId"), {},
     ["blockDeviceMappings.0.ebs.kmsKeyId is not set; it must be a customer-managed key"]),
    ("K13-boolean-true", "eks-launch-template-ebs-encrypted", None, _set("blockDeviceMappings.0.ebs.encrypted", True),
     {}, []),
]


@pytest.mark.parametrize(("name", "select", "edit", "config", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_custom_rule(name: str, select: Callable[[Props], bool] | None, edit: Callable[[Props], Props],
                     config: dict[str, Any], expected: list[str], prod_plan: Any) -> None:
    rule = resource_rule(name)
    resource_type, props = baseline(prod_plan, rule, select)
    found = violations(rule, resource_type, edit(props), config={**PROD, **config})
    assert found == [f"[{rule.meta.id}] subject: {text}" for text in expected]


def test_every_custom_rule_has_cases() -> None:
    custom = {r.meta.name for r in ALL if isinstance(r, ResourceRule) and r.custom is not None}
    assert custom == {c[1] for c in CASES}


FAIL_CLOSED = [
    ("aurora-cluster-custom-admin-username", None, "masterUsername"),
    ("elasticache-auth", None, "userGroupIds"),
    ("elasticache-security-group", None, "securityGroupIds"),
    ("msk-authenticated-access", None, "clientAuthentication.sasl.iam"),
    ("eks-endpoint-not-public", None, "vpcConfig.endpointPublicAccess"),
    ("eks-secrets-encryption", None, "encryptionConfig.resources"),
    ("eks-control-plane-logging", None, "enabledClusterLogTypes"),
    ("eks-network-policy", VPC_CNI["when"], "configurationValues"),
    ("eks-launch-template-no-public-ip", None, "networkInterfaces"),
    ("eks-node-group-ssh-restricted", None, "remoteAccess.ec2SshKey"),
    ("eks-launch-template-ebs-encrypted", None, "blockDeviceMappings.0.ebs.encrypted"),
]


@pytest.mark.parametrize(("name", "select", "path"), FAIL_CLOSED, ids=[c[0] for c in FAIL_CLOSED])
def test_mandatory_custom_rules_fail_closed_on_unknown_values(name: str, select: Callable[[Props], bool] | None,
                                                              path: str, prod_plan: Any) -> None:
    rule = resource_rule(name)
    assert rule.meta.mandatory
    resource_type, props = baseline(prod_plan, rule, select)
    found = violations(rule, resource_type, with_value(props, path, UNKNOWN_STRING_VALUE), config=PROD)
    assert found == [f"[{rule.meta.id}] subject: a value it depends on is unknown during preview; failing closed"]


def test_every_mandatory_custom_rule_is_tested_for_unknowns() -> None:
    mandatory = {r.meta.name for r in ALL if isinstance(r, ResourceRule) and r.custom is not None and r.meta.mandatory}
    assert mandatory == {c[0] for c in FAIL_CLOSED}


def test_advisory_custom_rules_stay_quiet_on_unknown_values(prod_plan: Any) -> None:
    rule = resource_rule("msk-kafka-version")
    resource_type, props = baseline(prod_plan, rule)
    assert violations(rule, resource_type, with_value(props, "kafkaVersion", UNKNOWN_STRING_VALUE)) == []


# --- prod-only rules -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "resource_type"), [("aurora-deletion-protection", aurora.GLOBAL_CLUSTER),
                                                     ("aurora-deletion-protection", aurora.CLUSTER),
                                                     ("eks-deletion-protection", eks.EKS_CLUSTER)])
def test_deletion_protection_applies_to_prod_only(name: str, resource_type: str, dev_plan: Any) -> None:
    rule = resource_rule(name)
    dev = of_type(dev_plan, resource_type)[0]
    assert dev["inputs"]["deletionProtection"] is False  # dev stacks are disposable
    assert violations(rule, resource_type, dev["inputs"], config={"environment": "dev"}) == []
    assert violations(rule, resource_type, dev["inputs"], config=PROD) == [
        f"[{rule.meta.id}] subject: deletionProtection must be true (got False)"]


# --- stack rules ------------------------------------------------------------------------------------------------

def _set_both(resource: dict[str, Any], key: str, value: Any) -> None:
    """Stack policies see inputs and outputs merged; change the value in both."""
    for side in ("inputs", "outputs"):
        resource[side][key] = value


def _primary(doc: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in of_type(doc, aurora.CLUSTER) if r["inputs"].get("masterUsername"))


def _members(doc: dict[str, Any], cluster: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in of_type(doc, aurora.INSTANCE, cluster["region"])
            if i["inputs"]["clusterIdentifier"] == cluster["inputs"]["clusterIdentifier"]]


def test_a7_planned_prod_primaries_have_two_instances(prod_plan: Any) -> None:
    assert stack_violations(stack_rule("aurora-cluster-multi-az"), plan_resources(prod_plan)) == []


def test_a7_dev_single_instance_primaries_are_reported(dev_plan: Any) -> None:
    found = stack_violations(stack_rule("aurora-cluster-multi-az"), plan_resources(dev_plan))
    primaries = sorted(r["name"] for r in of_type(dev_plan, aurora.CLUSTER) if r["inputs"].get("masterUsername"))
    assert sorted(found) == [f"[A7] {name}: a primary cluster needs at least 2 ClusterInstances in distinct AZs "
                             f"(got 1)" for name in primaries]


def test_a7_primary_with_one_instance_fails(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    cluster = _primary(doc)
    drop = {r["urn"] for r in _members(doc, cluster)[1:]}
    doc["resources"] = [r for r in doc["resources"] if r["urn"] not in drop]
    assert stack_violations(stack_rule("aurora-cluster-multi-az"), plan_resources(doc)) == [
        f"[A7] {cluster['name']}: a primary cluster needs at least 2 ClusterInstances in distinct AZs (got 1)"]


def test_a7_primary_without_instances_fails(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    cluster = _primary(doc)
    drop = {r["urn"] for r in _members(doc, cluster)}
    doc["resources"] = [r for r in doc["resources"] if r["urn"] not in drop]
    assert stack_violations(stack_rule("aurora-cluster-multi-az"), plan_resources(doc)) == [
        f"[A7] {cluster['name']}: a primary cluster needs at least 2 ClusterInstances in distinct AZs (got 0)"]


def test_a7_instances_pinned_to_one_az_fail(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    cluster = _primary(doc)
    members = _members(doc, cluster)
    for instance in members:
        _set_both(instance, "availabilityZone", "us-east-1a")
    assert stack_violations(stack_rule("aurora-cluster-multi-az"), plan_resources(doc)) == [
        f"[A7] {cluster['name']}: its {len(members)} ClusterInstances must be in distinct AZs (got all in us-east-1a)"]


def test_a7_secondaries_need_no_instances(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    secondary = next(r for r in of_type(doc, aurora.CLUSTER) if not r["inputs"].get("masterUsername"))
    drop = {r["urn"] for r in _members(doc, secondary)}
    doc["resources"] = [r for r in doc["resources"] if r["urn"] not in drop]
    assert stack_violations(stack_rule("aurora-cluster-multi-az"), plan_resources(doc)) == []


def test_a13_planned_global_members_are_exempt(prod_plan: Any) -> None:
    assert {i["inputs"]["autoMinorVersionUpgrade"] for i in of_type(prod_plan, aurora.INSTANCE)} == {False}
    assert stack_violations(stack_rule("aurora-instance-auto-minor-upgrade"), plan_resources(prod_plan)) == []


def _standalone(doc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cluster = _primary(doc)
    for side in ("inputs", "outputs"):
        cluster[side].pop("globalClusterIdentifier", None)
    return cluster, _members(doc, cluster)


def test_a13_standalone_cluster_instances_without_upgrades_fail(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    _cluster, members = _standalone(doc)
    found = stack_violations(stack_rule("aurora-instance-auto-minor-upgrade"), plan_resources(doc))
    assert sorted(found) == sorted(f"[A13] {i['name']}: autoMinorVersionUpgrade must be true outside a global "
                                   f"cluster (got False)" for i in members)


@pytest.mark.parametrize("value", [True, None], ids=["true", "not-set"])
def test_a13_standalone_cluster_instances_with_upgrades_pass(value: bool | None, prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    _cluster, members = _standalone(doc)
    for instance in members:
        for side in ("inputs", "outputs"):
            instance[side].pop("autoMinorVersionUpgrade", None)
            if value is not None:
                instance[side]["autoMinorVersionUpgrade"] = value
    assert stack_violations(stack_rule("aurora-instance-auto-minor-upgrade"), plan_resources(doc)) == []


def test_a13_instance_of_an_unknown_cluster_is_judged_alone(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    instance = of_type(doc, aurora.INSTANCE)[0]
    _set_both(instance, "clusterIdentifier", "imported-cluster")
    assert stack_violations(stack_rule("aurora-instance-auto-minor-upgrade"), plan_resources(doc)) == [
        f"[A13] {instance['name']}: autoMinorVersionUpgrade must be true outside a global cluster (got False)"]


def _node_group_subnet(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    group = of_type(doc, eks.NODE_GROUP)[0]
    subnet_id = group["inputs"]["subnetIds"][0]
    subnet = next(s for s in of_type(doc, eks.SUBNET, group["region"]) if s["outputs"]["id"] == subnet_id)
    return group, subnet


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_k9_planned_node_groups_are_private(stack: str, request: pytest.FixtureRequest) -> None:
    doc = request.getfixturevalue(f"{stack}_plan")
    assert stack_violations(stack_rule("eks-private-nodes"), plan_resources(doc)) == []


def test_k9_subnet_with_public_ips_fails(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    group, subnet = _node_group_subnet(doc)
    _set_both(subnet, "mapPublicIpOnLaunch", True)
    found = stack_violations(stack_rule("eks-private-nodes"), plan_resources(doc))
    expected = (f"[K9] {group['name']}: subnet {subnet['name']} ({subnet['outputs']['id']}) has mapPublicIpOnLaunch "
                f"true; node groups must use private subnets")
    assert expected in found
    assert all("mapPublicIpOnLaunch" in f for f in found)


def test_k9_public_tier_subnet_fails(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    group = of_type(doc, eks.NODE_GROUP)[0]
    public = next(s for s in of_type(doc, eks.SUBNET, group["region"]) if s["inputs"]["tags"]["tier"] == "public")
    _set_both(group, "subnetIds", [public["outputs"]["id"]])
    assert stack_violations(stack_rule("eks-private-nodes"), plan_resources(doc)) == [
        f"[K9] {group['name']}: subnet {public['name']} ({public['outputs']['id']}) is tagged tier=public; node groups "
        f"must use private subnets"]


def test_k9_subnet_outside_the_stack_fails(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    group = of_type(doc, eks.NODE_GROUP)[0]
    _set_both(group, "subnetIds", ["subnet-0000000000000000"])
    assert stack_violations(stack_rule("eks-private-nodes"), plan_resources(doc)) == [
        f"[K9] {group['name']}: subnet subnet-0000000000000000 is not a subnet of this stack, so it cannot be "
        f"verified private"]


def test_k9_subnet_of_another_region_fails(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    group = of_type(doc, eks.NODE_GROUP)[0]
    foreign = next(s for s in of_type(doc, eks.SUBNET) if s["region"] != group["region"])
    _set_both(group, "subnetIds", [foreign["outputs"]["id"]])
    found = stack_violations(stack_rule("eks-private-nodes"), plan_resources(doc))
    assert found == [f"[K9] {group['name']}: subnet {foreign['outputs']['id']} is not a subnet of this stack, so it "
                     f"cannot be verified private"]


@pytest.mark.parametrize("value", [None, []], ids=["missing", "empty"])
def test_k9_node_group_without_subnets_fails(value: list[str] | None, prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    group = of_type(doc, eks.NODE_GROUP)[0]
    for side in ("inputs", "outputs"):
        group[side].pop("subnetIds", None)
        if value is not None:
            group[side]["subnetIds"] = value
    assert stack_violations(stack_rule("eks-private-nodes"), plan_resources(doc)) == [
        f"[K9] {group['name']}: subnetIds is not set; it must list the stack's private subnets"]


def test_k9_fails_closed_on_unknown_subnets(prod_plan: Any) -> None:
    doc = copy.deepcopy(prod_plan)
    _set_both(of_type(doc, eks.NODE_GROUP)[0], "subnetIds", UNKNOWN_STRING_VALUE)
    group = of_type(doc, eks.NODE_GROUP)[0]
    assert stack_violations(stack_rule("eks-private-nodes"), plan_resources(doc)) == [
        f"[K9] {group['name']}: subnetIds is unknown during preview; failing closed"]


# --- a first preview: the stack's own resources do not exist yet -------------------------------------------------

def _evaluate(doc: dict[str, Any], ids: tuple[str, ...] = ("K9", "K13", "E10")) -> list[str]:
    return [v.message for v in guardrails.evaluate(doc, guardrails.load_config("dev-infra"))
            if v.id in ids and v.enforcement == "mandatory"]


@pytest.fixture(scope="module")
def infra_preview() -> dict[str, Any]:
    """dev-us-east-1 as its first `pulumi preview` sees it: ids, ARNs and key references unknown."""
    return offline_environment.document_of("dev-us-east-1", preview=True)


def _first(doc: dict[str, Any], type_token: str, name: str | None = None) -> dict[str, Any]:
    return next(r for r in doc["resources"] if r["type"] == type_token and name in (None, r["name"]))


def test_k9_k13_e10_pass_the_first_preview(infra_preview: dict[str, Any]) -> None:
    assert infra_preview["preview"]
    group = _first(infra_preview, eks.NODE_GROUP)
    assert set(group["inputs"]["subnetIds"]) == {"[unknown]"} and group["propertyDependencies"]["subnetIds"]
    template = _first(infra_preview, eks.LAUNCH_TEMPLATE)
    assert template["inputs"]["blockDeviceMappings"][0]["ebs"]["kmsKeyId"] == "[unknown]"
    assert _first(infra_preview, cache.REPLICATION_GROUP)["inputs"]["securityGroupIds"] == ["[unknown]"]
    assert _evaluate(infra_preview) == []


def test_k9_resolves_unknown_subnets_to_the_subnets_they_come_from(infra_preview: dict[str, Any]) -> None:
    doc = copy.deepcopy(infra_preview)
    group = _first(doc, eks.NODE_GROUP)
    public = next(r for r in doc["resources"] if r["type"] == eks.SUBNET and r["name"].split("-")[1] == "public")
    group["propertyDependencies"]["subnetIds"] = [*group["propertyDependencies"]["subnetIds"][:2], public["urn"]]
    assert _evaluate(doc, ("K9",)) == [
        f"[K9] {group['name']}: subnet {public['name']} (id unknown during preview) is tagged tier=public; "
        "node groups must use private subnets"]
    _set_both(public, "mapPublicIpOnLaunch", True)
    _set_both(public, "tags", {**public["inputs"]["tags"], "tier": "private"})
    assert _evaluate(doc, ("K9",)) == [
        f"[K9] {group['name']}: subnet {public['name']} (id unknown during preview) has mapPublicIpOnLaunch true; "
        "node groups must use private subnets"]
    key = _first(doc, "aws:kms/key:Key")
    group["propertyDependencies"]["subnetIds"] = [key["urn"]]
    assert _evaluate(doc, ("K9",)) == [
        f"[K9] {group['name']}: subnetIds depends on {key['name']} (aws:kms/key:Key), not a subnet of this stack, "
        "so it cannot be verified private"]
    del group["propertyDependencies"]["subnetIds"]
    assert _evaluate(doc, ("K9",)) == [f"[K9] {group['name']}: subnetIds is unknown during preview; failing closed"]


def test_k13_e10_still_fail_at_the_first_preview(infra_preview: dict[str, Any]) -> None:
    doc = copy.deepcopy(infra_preview)
    template = _first(doc, eks.LAUNCH_TEMPLATE)
    ebs = template["inputs"]["blockDeviceMappings"][0]["ebs"]
    ebs["encrypted"] = "false"
    del ebs["kmsKeyId"]
    group = _first(doc, cache.REPLICATION_GROUP)
    group["inputs"]["securityGroupIds"] = []
    assert _evaluate(doc, ("K13", "E10")) == [
        f"[E10] {group['name']}: securityGroupIds {E10} (got [])",
        f"[K13] {template['name']}: blockDeviceMappings.0.ebs.encrypted must be 'true' (got 'false')",
        f"[K13] {template['name']}: blockDeviceMappings.0.ebs.kmsKeyId is not set; it must be a customer-managed "
        "key"]
    ebs["encrypted"] = "[unknown]"  # a literal the preview cannot show: still fails closed
    group["inputs"]["securityGroupIds"] = "[unknown]"  # unknown as a whole: it could be empty
    assert _evaluate(doc, ("K13", "E10")) == [
        f"[E10] {group['name']}: a value it depends on is unknown during preview; failing closed",
        f"[K13] {template['name']}: a value it depends on is unknown during preview; failing closed"]


# --- the real plans ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_planned_resources_have_no_mandatory_violation(stack: str, request: pytest.FixtureRequest) -> None:
    doc = request.getfixturevalue(f"{stack}_plan")
    config = {"environment": stack}
    found = []
    checked = 0
    for rule in ALL:
        if not isinstance(rule, ResourceRule) or not rule.meta.mandatory:
            continue
        for r in doc["resources"]:
            if r["type"] in rule.types:
                checked += 1
                found += violations(rule, r["type"], r["inputs"], r["name"], config)
    assert checked > 0
    assert found == []


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_planned_stacks_have_no_mandatory_stack_violation(stack: str, request: pytest.FixtureRequest) -> None:
    resources = plan_resources(request.getfixturevalue(f"{stack}_plan"))
    for rule in ALL:
        if isinstance(rule, StackRule) and rule.meta.mandatory:
            assert stack_violations(rule, resources, {"environment": stack}) == [], rule.meta.name


def test_every_rule_applies_to_something_in_the_prod_plan(prod_plan: Any) -> None:
    types = {r["type"] for r in prod_plan["resources"]}
    for rule in ALL:
        if isinstance(rule, ResourceRule):
            assert set(rule.types) & types, rule.meta.name
    log_groups = [r for r in of_type(prod_plan, eks.LOG_GROUP) if eks._control_plane_log_group(r["inputs"])]
    assert len(log_groups) == len(of_type(prod_plan, eks.EKS_CLUSTER))
    assert all(get(g["inputs"], "retentionInDays") >= 365 for g in log_groups)
