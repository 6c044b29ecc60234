"""Network, KMS/Secrets, load balancer and Cloudflare guardrails: every custom check and stack rule.

Property checks are covered by test_property_rules.py; here are the rules it cannot drive: custom functions
(a compliant case from the real plan, then each failure mode with its exact message) and stack rules (the
real plan's stack view passes, then resources removed, added or changed). Last, every rule of these modules
over both plans: no mandatory violation.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pytest
from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from guardrails import cloudflare, kms_secrets, load_balancers, network
from guardrails.core import ResourceRule, StackRule
from offline import environment, guardrails
from tests.plan_helpers import of_type
from tests.policies.harness import plan_resources, stack_resource, stack_violations, violations

MINE: list[ResourceRule | StackRule] = [*network.RULES, *kms_secrets.RULES, *load_balancers.RULES,
                                        *cloudflare.RULES]
BY_NAME = {r.meta.name: r for r in MINE}
PROD = {"environment": "prod"}
DEV = {"environment": "dev"}
WORLD_RULES = ("ec2-sg-no-world-ssh", "ec2-sg-no-world-rdp", "ec2-sg-no-world-http", "ec2-sg-no-world-all-ports",
               "ec2-sg-no-world-high-risk-ports")

Doc = dict[str, Any]


def rule(name: str) -> Any:
    return BY_NAME[name]


def planned(doc: Doc, type_token: str, name: str | None = None, region: str | None = "us-east-1",
            pick: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
    return next(r for r in of_type(doc, type_token, region)
                if (name is None or r["name"] == name) and pick(r["inputs"]))


def inputs(doc: Doc, type_token: str, **kwargs: Any) -> dict[str, Any]:
    return copy.deepcopy(planned(doc, type_token, **kwargs)["inputs"])


def merged(doc: Doc, type_token: str, name: str) -> dict[str, Any]:
    """A resource's props as a stack policy sees them (inputs and outputs)."""
    r = planned(doc, type_token, name=name, region=None)
    return copy.deepcopy({**r["inputs"], **r["outputs"]})


def stack(doc: Doc, drop: Iterable[tuple[str, str]] = (), add: Iterable[PolicyResource] = ()) -> list[PolicyResource]:
    """The plan's stack view without the (type, name) resources in ``drop``, plus ``add``."""
    dropped = set(drop)
    return [r for r in plan_resources(doc) if (r.resource_type, r.name) not in dropped] + list(add)


def swap(doc: Doc, type_token: str, name: str, props: Mapping[str, Any]) -> list[PolicyResource]:
    return stack(doc, drop=[(type_token, name)], add=[stack_resource(type_token, props, name)])


def with_dependencies(type_token: str, props: Mapping[str, Any], name: str,
                      dependencies: Mapping[str, Sequence[PolicyResource]]) -> PolicyResource:
    """A resource as a first preview shows it: unknown ids, but the engine's property dependencies."""
    base = stack_resource(type_token, props, name)
    return PolicyResource(type_token, base.props, base.urn, name, base.opts, None, None, [],
                          {k: list(v) for k, v in dependencies.items()})


def stack_failures(name: str, resources: Sequence[PolicyResource], config: Mapping[str, Any] | None = None
                   ) -> list[str]:
    return stack_violations(rule(name), resources, {**PROD, **(config or {})})


def failures(name: str, type_token: str, props: Mapping[str, Any], config: Mapping[str, Any] | None = None
             ) -> list[str]:
    return violations(rule(name), type_token, props, config={**PROD, **(config or {})})


FAIL_CLOSED = "a value it depends on is unknown during preview; failing closed"


# --- N1 default security groups -------------------------------------------------------------------------


def test_default_security_group_closed(prod_plan: Doc) -> None:
    props = inputs(prod_plan, network.DEFAULT_SECURITY_GROUP)
    assert failures("vpc-default-sg-closed", network.DEFAULT_SECURITY_GROUP, props) == []
    missing = {k: v for k, v in props.items() if k != "ingress"}
    assert failures("vpc-default-sg-closed", network.DEFAULT_SECURITY_GROUP, missing) == [
        "[N1] subject: ingress is not set; it must be an empty list"]
    wrong = {**props, "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]}
    assert failures("vpc-default-sg-closed", network.DEFAULT_SECURITY_GROUP, wrong) == [
        "[N1] subject: egress must be an empty list (got 1 rule(s))"]
    unknown = {**props, "ingress": UNKNOWN_STRING_VALUE}
    assert failures("vpc-default-sg-closed", network.DEFAULT_SECURITY_GROUP, unknown) == [
        f"[N1] subject: {FAIL_CLOSED}"]


def test_every_vpc_strips_its_default_security_group(prod_plan: Doc) -> None:
    assert stack_failures("vpc-default-sg-managed", stack(prod_plan)) == []
    resources = stack(prod_plan, drop=[(network.DEFAULT_SECURITY_GROUP, "use1-default-sg")])
    assert stack_failures("vpc-default-sg-managed", resources) == [
        "[N1] use1-vpc: no aws:ec2/defaultSecurityGroup:DefaultSecurityGroup strips this VPC's default security "
        "group (it admits all traffic between its members)"]


def test_no_rule_resource_reopens_a_default_security_group(prod_plan: Doc) -> None:
    vpc = merged(prod_plan, network.VPC, "use1-vpc")
    default = merged(prod_plan, network.DEFAULT_SECURITY_GROUP, "use1-default-sg")
    rules = [stack_resource(network.INGRESS_RULE, {"securityGroupId": vpc["defaultSecurityGroupId"],
                                                   "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                                                   "cidrIpv4": "10.10.0.0/16"}, "via-vpc"),
             stack_resource(network.EGRESS_RULE, {"securityGroupId": default["id"], "ipProtocol": "-1",
                                                  "cidrIpv4": "10.10.0.0/16"}, "via-default")]
    assert stack_failures("vpc-default-sg-managed", stack(prod_plan, add=rules)) == [
        "[N1] via-vpc: securityGroupId must not be the default security group of use1-vpc",
        "[N1] via-default: securityGroupId must not be the default security group use1-default-sg"]


def test_default_security_group_stack_rule_in_a_first_preview() -> None:
    vpc = stack_resource(network.VPC, {"cidrBlock": "10.0.0.0/16", "id": UNKNOWN_STRING_VALUE}, "new-vpc")
    props = {"vpcId": UNKNOWN_STRING_VALUE, "ingress": [], "egress": []}
    linked = with_dependencies(network.DEFAULT_SECURITY_GROUP, props, "new-default", {"vpcId": [vpc]})
    assert stack_failures("vpc-default-sg-managed", [vpc, linked]) == []
    unlinked = stack_resource(network.DEFAULT_SECURITY_GROUP, props, "new-default")
    assert stack_failures("vpc-default-sg-managed", [vpc, unlinked]) == [f"[N1] {FAIL_CLOSED}"]


# --- N2 flow logs ---------------------------------------------------------------------------------------

NO_FLOW_LOG = ("[N2] use1-vpc: no aws:ec2/flowLog:FlowLog with trafficType ALL or REJECT records this VPC")


def test_every_vpc_has_a_flow_log(prod_plan: Doc) -> None:
    assert stack_failures("vpc-flow-logs-enabled", stack(prod_plan)) == []
    assert stack_failures("vpc-flow-logs-enabled", stack(prod_plan, drop=[(network.FLOW_LOG, "use1-vpc")])) == [
        NO_FLOW_LOG]
    accept_only = {**merged(prod_plan, network.FLOW_LOG, "use1-vpc"), "trafficType": "ACCEPT"}
    assert stack_failures("vpc-flow-logs-enabled", swap(prod_plan, network.FLOW_LOG, "use1-vpc", accept_only)) == [
        NO_FLOW_LOG]
    no_type = {k: v for k, v in merged(prod_plan, network.FLOW_LOG, "use1-vpc").items() if k != "trafficType"}
    assert stack_failures("vpc-flow-logs-enabled", swap(prod_plan, network.FLOW_LOG, "use1-vpc", no_type)) == [
        NO_FLOW_LOG]


def test_flow_logs_in_a_first_preview() -> None:
    vpc = stack_resource(network.VPC, {"id": UNKNOWN_STRING_VALUE}, "new-vpc")
    log = with_dependencies(network.FLOW_LOG, {"vpcId": UNKNOWN_STRING_VALUE, "trafficType": "ALL"}, "new-log",
                            {"vpcId": [vpc]})
    assert stack_failures("vpc-flow-logs-enabled", [vpc, log]) == []
    other = stack_resource(network.VPC, {"id": UNKNOWN_STRING_VALUE}, "other-vpc")
    assert stack_failures("vpc-flow-logs-enabled", [vpc, other, log]) == [
        "[N2] other-vpc: no aws:ec2/flowLog:FlowLog with trafficType ALL or REJECT records this VPC"]
    orphan = stack_resource(network.FLOW_LOG, {"vpcId": UNKNOWN_STRING_VALUE, "trafficType": "ALL"}, "orphan")
    assert stack_failures("vpc-flow-logs-enabled", [vpc, orphan]) == [f"[N2] {FAIL_CLOSED}"]


# --- N4-N8 world ingress, both forms --------------------------------------------------------------------


def _inline(protocol: str, low: int, high: int, cidrs: Sequence[str] = ("0.0.0.0/0",), key: str = "cidrBlocks"
            ) -> dict[str, Any]:
    return {"description": "t", "vpcId": "vpc-1", "ingress": [
        {"description": "t", "protocol": protocol, "fromPort": low, "toPort": high, key: list(cidrs)}]}


def _standalone(protocol: str, low: int | None, high: int | None, cidr: str = "0.0.0.0/0",
                key: str = "cidrIpv4") -> dict[str, Any]:
    props: dict[str, Any] = {"description": "t", "securityGroupId": "sg-1", "ipProtocol": protocol, key: cidr}
    props.update({k: v for k, v in (("fromPort", low), ("toPort", high)) if v is not None})
    return props


SG, RULE = network.SECURITY_GROUP, network.INGRESS_RULE

WORLD_CASES = [
    ("ec2-sg-no-world-ssh", SG, _inline("tcp", 22, 22),
     "[N4] subject: ingress.0.cidrBlocks must not admit port 22 (SSH) from the internet (got tcp 22-22 from "
     "0.0.0.0/0)"),
    ("ec2-sg-no-world-ssh", RULE, _standalone("tcp", 0, 1024, "::/0", "cidrIpv6"),
     "[N4] subject: cidrIpv6 must not admit port 22 (SSH) from the internet (got tcp 0-1024 from ::/0)"),
    ("ec2-sg-no-world-ssh", RULE, _standalone("tcp", None, None),  # ports missing: every port
     "[N4] subject: cidrIpv4 must not admit port 22 (SSH) from the internet (got tcp 0-65535 from 0.0.0.0/0)"),
    ("ec2-sg-no-world-rdp", SG, _inline("6", 3389, 3389, ["::/0"], "ipv6CidrBlocks"),
     "[N5] subject: ingress.0.ipv6CidrBlocks must not admit port 3389 (RDP) from the internet (got tcp "
     "3389-3389 from ::/0)"),
    ("ec2-sg-no-world-rdp", RULE, _standalone("-1", None, None),
     "[N5] subject: cidrIpv4 must not admit port 3389 (RDP) from the internet (got all traffic from 0.0.0.0/0)"),
    ("ec2-sg-no-world-http", SG, _inline("tcp", 80, 80),
     "[N6] subject: ingress.0.cidrBlocks must not admit port 80 (HTTP) from the internet (got tcp 80-80 from "
     "0.0.0.0/0)"),
    ("ec2-sg-no-world-http", RULE, _standalone("tcp", 80, 443),
     "[N6] subject: cidrIpv4 must not admit port 80 (HTTP) from the internet (got tcp 80-443 from 0.0.0.0/0)"),
    ("ec2-sg-no-world-all-ports", SG, _inline("-1", 0, 0),
     "[N7] subject: ingress.0.cidrBlocks must not admit all ports from the internet (got all traffic from "
     "0.0.0.0/0)"),
    ("ec2-sg-no-world-all-ports", RULE, _standalone("tcp", 0, 65535),
     "[N7] subject: cidrIpv4 must not admit all ports from the internet (got tcp 0-65535 from 0.0.0.0/0)"),
    ("ec2-sg-no-world-high-risk-ports", RULE, _standalone("tcp", 5432, 5432),
     "[N8] subject: cidrIpv4 must not admit high-risk ports from the internet (got tcp 5432-5432 from "
     "0.0.0.0/0, covering 5432)"),
    ("ec2-sg-no-world-high-risk-ports", SG, _inline("tcp", 9000, 9100),
     "[N8] subject: ingress.0.cidrBlocks must not admit high-risk ports from the internet (got tcp 9000-9100 "
     "from 0.0.0.0/0, covering 9092, 9093, 9094, 9095, 9096, 9097, ... (7 ports))"),
]


@pytest.mark.parametrize(("name", "type_token", "props", "message"), WORLD_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(WORLD_CASES)])
def test_world_ingress_is_reported(name: str, type_token: str, props: dict[str, Any], message: str) -> None:
    assert failures(name, type_token, props) == [message]


def test_world_ingress_rules_pass_the_planned_groups_and_rules(prod_plan: Doc) -> None:
    for r in of_type(prod_plan, SG) + of_type(prod_plan, RULE):
        for name in WORLD_RULES:
            assert violations(rule(name), r["type"], r["inputs"], r["name"], PROD) == [], (name, r["name"])


@pytest.mark.parametrize("name", WORLD_RULES)
def test_world_ingress_rules_ignore_what_they_do_not_cover(name: str) -> None:
    https = _standalone("tcp", 443, 443)  # EC2.18 allows 443 from the world; C11 is stricter for the edge
    inside = _inline("-1", 0, 0, ["10.0.0.0/8"])
    icmp = _standalone("icmp", -1, -1)
    for type_token, props in ((RULE, https), (SG, inside), (RULE, icmp)):
        assert failures(name, type_token, props) == []


@pytest.mark.parametrize("name", WORLD_RULES)
def test_world_ingress_rules_fail_closed_on_an_unknown_cidr(name: str) -> None:
    props = _standalone("tcp", 22, 22, UNKNOWN_STRING_VALUE)
    assert failures(name, RULE, props) == [f"[{rule(name).meta.id}] subject: {FAIL_CLOSED}"]


@pytest.mark.parametrize("name", WORLD_RULES)
def test_world_ingress_rules_do_not_need_referenced_ids(name: str) -> None:
    props = {"description": "t", "securityGroupId": UNKNOWN_STRING_VALUE, "ipProtocol": "tcp", "fromPort": 22,
             "toPort": 22, "referencedSecurityGroupId": UNKNOWN_STRING_VALUE}
    assert failures(name, RULE, props) == []


@pytest.mark.parametrize("name", WORLD_RULES)
def test_inline_rules_do_not_need_referenced_ids(name: str) -> None:
    props = _inline("tcp", 22, 22, ["10.0.0.0/8"])
    props["ingress"][0]["securityGroups"] = [UNKNOWN_STRING_VALUE]
    assert failures(name, SG, props) == []
    props["ingress"][0]["cidrBlocks"] = [UNKNOWN_STRING_VALUE]
    assert failures(name, SG, props) == [f"[{rule(name).meta.id}] subject: {FAIL_CLOSED}"]


def test_high_risk_ports_come_from_the_config() -> None:
    props = _standalone("tcp", 8443, 8443)
    assert failures("ec2-sg-no-world-high-risk-ports", RULE, props) == []
    assert failures("ec2-sg-no-world-high-risk-ports", RULE, props, {"highRiskPorts": [8443]}) == [
        "[N8] subject: cidrIpv4 must not admit high-risk ports from the internet (got tcp 8443-8443 from "
        "0.0.0.0/0, covering 8443)"]


# --- N9 egress, N10 descriptions ------------------------------------------------------------------------


def test_unrestricted_egress_is_advisory_and_reports_the_node_groups(prod_plan: Doc) -> None:
    assert not rule("ec2-sg-no-unrestricted-egress").meta.mandatory
    nodes = planned(prod_plan, SG, name="use1-system-nodes")
    assert violations(rule("ec2-sg-no-unrestricted-egress"), SG, nodes["inputs"], nodes["name"], PROD) == [
        "[N9] use1-system-nodes: egress.0.cidrBlocks must not allow all traffic to the internet (got all traffic "
        "to 0.0.0.0/0)"]
    endpoints = planned(prod_plan, SG, name="use1-endpoints")
    assert violations(rule("ec2-sg-no-unrestricted-egress"), SG, endpoints["inputs"], endpoints["name"], PROD) == []


def test_unrestricted_egress_in_rule_resources() -> None:
    egress = {"description": "t", "securityGroupId": "sg-1", "ipProtocol": "-1", "cidrIpv6": "::/0"}
    assert failures("ec2-sg-no-unrestricted-egress", network.EGRESS_RULE, egress) == [
        "[N9] subject: cidrIpv6 must not allow all traffic to the internet (got all traffic to ::/0)"]
    legacy = {"type": "egress", "protocol": "all", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"],
              "securityGroupId": "sg-1"}
    assert failures("ec2-sg-no-unrestricted-egress", network.SECURITY_GROUP_RULE, legacy) == [
        "[N9] subject: cidrBlocks must not allow all traffic to the internet (got all traffic to 0.0.0.0/0)"]
    https_out = {**egress, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}
    assert failures("ec2-sg-no-unrestricted-egress", network.EGRESS_RULE, https_out) == []
    ingress_legacy = {**legacy, "type": "ingress"}
    assert failures("ec2-sg-no-unrestricted-egress", network.SECURITY_GROUP_RULE, ingress_legacy) == []


def test_inline_rule_descriptions(prod_plan: Doc) -> None:
    props = inputs(prod_plan, SG, name="use1-endpoints")
    assert failures("ec2-sg-description", SG, props) == []
    del props["ingress"][0]["description"]
    assert failures("ec2-sg-description", SG, props) == [
        "[N10] subject: ingress.0.description is not set; it must be set"]
    props["ingress"][0]["description"] = ""
    assert failures("ec2-sg-description", SG, props) == ["[N10] subject: ingress.0.description must be set (got '')"]


# --- N11 attached, N12 inline vs standalone, N17 endpoints ----------------------------------------------


def test_every_security_group_is_attached(prod_plan: Doc) -> None:
    assert stack_failures("ec2-sg-attached", stack(prod_plan)) == []
    orphan = stack_resource(SG, {"vpcId": "vpc-1", "description": "nobody uses me", "id": "sg-0rphan"}, "orphan")
    assert stack_failures("ec2-sg-attached", stack(prod_plan, add=[orphan])) == [
        "[N11] orphan: no resource of the stack attaches this security group"]
    endpoints = [(r["type"], r["name"]) for r in of_type(prod_plan, network.VPC_ENDPOINT, "us-east-1")]
    assert stack_failures("ec2-sg-attached", stack(prod_plan, drop=endpoints)) == [
        "[N11] use1-endpoints: no resource of the stack attaches this security group"]


def test_attachment_through_dependencies_in_a_first_preview() -> None:
    group = stack_resource(SG, {"vpcId": "vpc-1", "id": UNKNOWN_STRING_VALUE}, "new-sg")
    user = with_dependencies(network.VPC_ENDPOINT, {"securityGroupIds": [UNKNOWN_STRING_VALUE]}, "endpoint",
                             {"securityGroupIds": [group]})
    assert stack_failures("ec2-sg-attached", [group, user]) == []


MIXED = ("[N12] mixed: declares inline {direction} and is also the target of standalone {direction} rules "
         "({rule}); the provider keeps removing one or the other")


def test_inline_and_standalone_rules_do_not_mix(prod_plan: Doc) -> None:
    assert stack_failures("ec2-sg-no-inline-and-standalone-rules", stack(prod_plan)) == []
    group = {"id": "sg-mixed", "vpcId": "vpc-1", "description": "t",
             "ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/8"]}],
             "egress": []}
    https = stack_resource(RULE, _standalone("tcp", 443, 443, "10.0.0.0/8") | {"securityGroupId": "sg-mixed"},
                           "https")
    out = stack_resource(network.EGRESS_RULE, {"securityGroupId": "sg-mixed", "ipProtocol": "tcp", "fromPort": 443,
                                               "toPort": 443, "cidrIpv4": "10.0.0.0/8"}, "out")
    assert stack_failures("ec2-sg-no-inline-and-standalone-rules",
                          [stack_resource(SG, group, "mixed"), https, out]) == [
        MIXED.format(direction="ingress", rule="https"), MIXED.format(direction="egress", rule="out")]
    # A refreshed group lists its standalone rules inline too: that is not a conflict.
    refreshed = {**group, "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                                       "cidrBlocks": ["10.0.0.0/8"]}],
                 "egress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8"]}]}
    assert stack_failures("ec2-sg-no-inline-and-standalone-rules",
                          [stack_resource(SG, refreshed, "mixed"), https, out]) == []
    no_inline = {k: v for k, v in group.items() if k not in ("ingress", "egress")}
    assert stack_failures("ec2-sg-no-inline-and-standalone-rules",
                          [stack_resource(SG, no_inline, "mixed"), https, out]) == []


def test_every_vpc_has_the_endpoints_private_nodes_need(prod_plan: Doc) -> None:
    assert stack_failures("vpc-interface-endpoints", stack(prod_plan)) == []
    assert stack_failures("vpc-interface-endpoints",
                          stack(prod_plan, drop=[(network.VPC_ENDPOINT, "use1-sts"),
                                                 (network.VPC_ENDPOINT, "use1-ecr-dkr")])) == [
        "[N17] use1-vpc: no VPC endpoint for ecr.dkr, sts (nodes reach these services through the NAT gateway)"]
    found = stack_failures("vpc-interface-endpoints", stack(prod_plan), {"requiredEndpoints": ["ssm"]})
    assert found == [f"[N17] {v}-vpc: no VPC endpoint for ssm (nodes reach these services through the NAT gateway)"
                     for v in ("use1", "euw1", "apse1", "aps1")]


# --- S2, S12 public policies; S8 decrypt on every key; S9 replicas (S10: test_secret_rotation.py) ---------------------


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        "Action": "kms:*", "Resource": "*"}


def test_key_policies_are_not_public(prod_plan: Doc) -> None:
    ebs = inputs(prod_plan, kms_secrets.KEY, name="use1-ebs-key")
    assert '"Principal": {"AWS": "*"}' in ebs["policy"]  # "*" with kms:CallerAccount/ViaService: compliant
    assert failures("kms-key-not-public", kms_secrets.KEY, ebs) == []
    cases: list[tuple[dict[str, Any], str]] = [
        ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"},
         "policy.Statement.1 must not allow Principal \"*\" without a Condition (got Principal {'AWS': '*'})"),
        ({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
         "policy.Statement.1 must not allow Principal \"*\" without a Condition (got Principal '*')"),
        ({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*",
          "Resource": "*"},
         "policy.Statement.1 must not Allow with NotPrincipal (got NotPrincipal {'AWS': "
         "'arn:aws:iam::111111111111:root'})"),
    ]
    for statement, message in cases:
        props = {**ebs, "policy": _policy(ROOT, statement)}
        assert failures("kms-key-not-public", kms_secrets.KEY, props) == [f"[S2] subject: {message}"]
    denied = {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    assert failures("kms-key-not-public", kms_secrets.KEY, {**ebs, "policy": _policy(ROOT, denied)}) == []
    assert failures("kms-key-not-public", kms_secrets.KEY, {**ebs, "policy": "not json"}) == [
        "[S2] subject: policy must be a JSON policy document (got 'not json')"]
    unset = {k: v for k, v in ebs.items() if k != "policy"}  # the default key policy: S3 asks for one
    assert failures("kms-key-not-public", kms_secrets.KEY, unset) == []
    assert failures("kms-key-not-public", kms_secrets.KEY, {**ebs, "policy": UNKNOWN_STRING_VALUE}) == [
        f"[S2] subject: {FAIL_CLOSED}"]


def test_secret_policies_are_not_public(prod_plan: Doc) -> None:
    secret = inputs(prod_plan, kms_secrets.SECRET)
    assert failures("secretsmanager-secret-not-public", kms_secrets.SECRET, secret) == []
    public = _policy({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:role/x", "*"]},
                      "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    message = ("[S12] subject: policy.Statement.0 must not allow Principal \"*\" without a Condition (got Principal "
               "{'AWS': ['arn:aws:iam::1:role/x', '*']})")
    assert failures("secretsmanager-secret-not-public", kms_secrets.SECRET, {**secret, "policy": public}) == [message]
    secret_policy = {"secretArn": "arn:aws:secretsmanager:us-east-1:1:secret:x", "policy": public}
    assert failures("secretsmanager-secret-not-public", kms_secrets.SECRET_POLICY, secret_policy) == [message]


DECRYPT = ("[S8] subject: policy.Statement.0 must not allow kms:Decrypt or kms:ReEncryptFrom on every key (got "
           "Action {actions} on Resource {resource})")


def test_iam_policies_do_not_decrypt_with_every_key(prod_plan: Doc) -> None:
    eks = inputs(prod_plan, kms_secrets.ROLE_POLICY, name="use1-eks-cluster")
    assert "kms:Decrypt" in eks["policy"]  # on the cluster's key ARN: compliant
    assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE_POLICY, eks) == []
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}, "['kms:Decrypt']", "'*'"),
        ({"Effect": "Allow", "Action": "kms:*", "Resource": ["arn:aws:kms:*:*:key/*"]}, "'kms:*'",
         "['arn:aws:kms:*:*:key/*']"),
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, "'*'", "'*'"),
        ({"Effect": "Allow", "Action": "KMS:ReEncrypt*", "Resource": "*"}, "'KMS:ReEncrypt*'", "'*'"),
        ({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}, "'s3:*'", "'*'"),
    ]
    for statement, actions, resource in cases:
        props = {**eks, "policy": _policy(statement)}
        assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE_POLICY, props) == [
            DECRYPT.format(actions=actions, resource=resource)], statement
    fine = [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:1:key/*"},
            {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"},
            {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "NotAction": "kms:*", "Resource": "*"}]
    for statement in fine:
        props = {**eks, "policy": _policy(statement)}
        assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE_POLICY, props) == [], statement
    assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE_POLICY, {"role": "r"}) == []
    assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE_POLICY, {**eks, "policy": "{"}) == [
        "[S8] subject: policy must be a JSON policy document (got '{')"]
    # A document built from ARNs only known after apply is unknown as a whole at a first preview: checked once
    # known (at `pulumi up`, before the role policy is created); a document with an unknown member fails closed.
    assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE_POLICY,
                    {**eks, "policy": UNKNOWN_STRING_VALUE}) == []
    hidden = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": UNKNOWN_STRING_VALUE}]}
    assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE_POLICY, {**eks, "policy": hidden}) == [
        f"[S8] subject: {FAIL_CLOSED}"]
    assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE, {"inlinePolicies": [
        {"name": "p", "policy": UNKNOWN_STRING_VALUE}]}) == []
    role = {"assumeRolePolicy": "{}", "inlinePolicies": [
        {"name": "p", "policy": _policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})}]}
    assert failures("iam-no-kms-decrypt-on-all-keys", kms_secrets.ROLE, role) == [
        "[S8] subject: inlinePolicies.0.policy.Statement.0 must not allow kms:Decrypt or kms:ReEncryptFrom on every "
        "key (got Action 'kms:Decrypt' on Resource '*')"]


def test_secret_replicas_use_customer_managed_keys(prod_plan: Doc) -> None:
    secret = inputs(prod_plan, kms_secrets.SECRET, pick=lambda p: bool(p.get("replicas")))
    assert failures("secretsmanager-secret-cmk", kms_secrets.SECRET, secret) == []
    del secret["replicas"][0]["kmsKeyId"]
    assert failures("secretsmanager-secret-cmk", kms_secrets.SECRET, secret) == [
        "[S9] subject: replicas.0.kmsKeyId is not set; it must be a customer managed KMS key (not alias/aws/...)"]
    secret["replicas"][0]["kmsKeyId"] = "arn:aws:kms:eu-west-1:1:alias/aws/secretsmanager"
    assert failures("secretsmanager-secret-cmk", kms_secrets.SECRET, secret) == [
        "[S9] subject: replicas.0.kmsKeyId must be a customer managed KMS key (not alias/aws/...) (got "
        "'arn:aws:kms:eu-west-1:1:alias/aws/secretsmanager')"]
    # Unknown during a first preview: an output of another resource (the secrets key's ARN), never an AWS
    # managed alias, which is a literal and is checked in every plan.
    secret["replicas"][0]["kmsKeyId"] = UNKNOWN_STRING_VALUE
    assert failures("secretsmanager-secret-cmk", kms_secrets.SECRET, secret) == []
    unknown_key = {**secret, "kmsKeyId": UNKNOWN_STRING_VALUE}
    assert failures("secretsmanager-secret-cmk", kms_secrets.SECRET, unknown_key) == []
    aws_managed = {**secret, "kmsKeyId": "alias/aws/secretsmanager"}
    assert failures("secretsmanager-secret-cmk", kms_secrets.SECRET, aws_managed) == [
        "[S9] subject: kmsKeyId must be a customer managed KMS key (not alias/aws/...) (got "
        "'alias/aws/secretsmanager')"]


# --- L1, L2 listeners; L3, L4, L6 ALBs; L7 zones --------------------------------------------------------

LISTENER = load_balancers.LISTENERS[0]
LB = load_balancers.LOAD_BALANCERS[0]


def test_http_listeners_redirect_to_https(prod_plan: Doc) -> None:
    tcp = inputs(prod_plan, LISTENER)
    assert tcp["protocol"] == "TCP"  # TLS passes through to the gateway pods
    assert failures("lb-listener-http-redirects-to-https", LISTENER, tcp) == []
    http = {**tcp, "protocol": "HTTP", "port": 80}
    assert failures("lb-listener-http-redirects-to-https", LISTENER, http) == [
        "[L1] subject: defaultActions must be a single redirect to HTTPS on an HTTP listener (got forward)"]
    redirect = {**http, "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                                             "statusCode": "HTTP_301"}}]}
    assert failures("lb-listener-http-redirects-to-https", LISTENER, redirect) == []
    to_http = {**http, "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTP", "port": "8080"}}]}
    assert failures("lb-listener-http-redirects-to-https", LISTENER, to_http) == [
        "[L1] subject: defaultActions must be a single redirect to HTTPS on an HTTP listener (got redirect to HTTP)"]
    unset_protocol = {k: v for k, v in http.items() if k not in ("protocol", "defaultActions")}  # ALB default HTTP
    assert failures("lb-listener-http-redirects-to-https", LISTENER, unset_protocol) == [
        "[L1] subject: defaultActions must be a single redirect to HTTPS on an HTTP listener (got no actions)"]
    assert failures("lb-listener-http-redirects-to-https", LISTENER, {**http, "protocol": UNKNOWN_STRING_VALUE}) == [
        f"[L1] subject: {FAIL_CLOSED}"]


def test_tls_listeners_use_modern_policies(prod_plan: Doc) -> None:
    tcp = inputs(prod_plan, LISTENER)
    assert failures("lb-listener-modern-tls-policy", LISTENER, tcp) == []
    https = {**tcp, "protocol": "HTTPS", "certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}
    assert failures("lb-listener-modern-tls-policy", LISTENER, https) == [
        "[L2] subject: sslPolicy is not set; it must be a TLS 1.2+ forward-secret policy (TLS13-1-2, TLS13-1-3, "
        "their Res/FIPS variants, FS-1-2-Res) (the default ELBSecurityPolicy-2016-08 allows TLS 1.0)"]
    old = {**https, "protocol": "TLS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06"}
    assert failures("lb-listener-modern-tls-policy", LISTENER, old) == [
        "[L2] subject: sslPolicy must be a TLS 1.2+ forward-secret policy (TLS13-1-2, TLS13-1-3, their Res/FIPS "
        "variants, FS-1-2-Res) (got 'ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06')"]
    for policy in ("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06",
                   "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04", "ELBSecurityPolicy-FS-1-2-Res-2020-10"):
        assert failures("lb-listener-modern-tls-policy", LISTENER, {**https, "sslPolicy": policy}) == [], policy
    custom = {"allowedSslPolicies": ["ELBSecurityPolicy-TLS13-1-3-*"]}
    assert failures("lb-listener-modern-tls-policy", LISTENER,
                    {**https, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}, custom) != []


def test_application_load_balancer_rules(prod_plan: Doc) -> None:
    nlb = inputs(prod_plan, LB)
    for name in ("lb-alb-drop-invalid-headers", "lb-alb-access-logs", "lb-alb-desync-mitigation"):
        assert failures(name, LB, nlb) == [], name  # a network load balancer: not theirs
    alb = {k: v for k, v in nlb.items() if k not in ("loadBalancerType", "enableCrossZoneLoadBalancing")}
    assert failures("lb-alb-drop-invalid-headers", LB, alb) == [
        "[L3] subject: dropInvalidHeaderFields is not set; it must be true"]
    assert failures("lb-alb-drop-invalid-headers", LB, {**alb, "dropInvalidHeaderFields": False}) == [
        "[L3] subject: dropInvalidHeaderFields must be true (got False)"]
    assert failures("lb-alb-access-logs", LB, alb) == ["[L4] subject: accessLogs.enabled is not set; it must be true",
                                                       "[L4] subject: accessLogs.bucket is not set; it must be set"]
    assert failures("lb-alb-access-logs", LB, {**alb, "accessLogs": {"enabled": False, "bucket": ""}}) == [
        "[L4] subject: accessLogs.enabled must be true (got False)",
        "[L4] subject: accessLogs.bucket must be set (got '')"]
    compliant = {**alb, "loadBalancerType": "application", "dropInvalidHeaderFields": True,
                 "accessLogs": {"enabled": True, "bucket": "logs"}}
    for name in ("lb-alb-drop-invalid-headers", "lb-alb-access-logs", "lb-alb-desync-mitigation"):
        assert failures(name, LB, compliant) == [], name
    assert failures("lb-alb-desync-mitigation", LB, {**alb, "desyncMitigationMode": "monitor"}) == [
        "[L6] subject: desyncMitigationMode must be one of defensive, strictest (got 'monitor')"]


def test_load_balancers_span_two_zones(prod_plan: Doc) -> None:
    assert stack_failures("lb-multi-az", stack(prod_plan)) == []
    lb = merged(prod_plan, LB, "use1-edge")
    one_zone = {**lb, "subnets": lb["subnets"][:1]}
    zone = merged(prod_plan, network.SUBNET, "use1-public-az1")["availabilityZoneId"]
    assert stack_failures("lb-multi-az", swap(prod_plan, LB, "use1-edge", one_zone)) == [
        f"[L7] use1-edge: subnets must span at least 2 Availability Zones (got {zone})"]
    none = {k: v for k, v in lb.items() if k != "subnets"}
    assert stack_failures("lb-multi-az", swap(prod_plan, LB, "use1-edge", none)) == [
        "[L7] use1-edge: subnets must span at least 2 Availability Zones (got none)"]
    foreign = {**lb, "subnets": ["subnet-a", "subnet-b"]}  # not in the stack: each counts as its own zone
    assert stack_failures("lb-multi-az", swap(prod_plan, LB, "use1-edge", foreign)) == []


# --- Cloudflare: settings declared, C6 WAF, C7 rate limits, C8 pools, C9 origins --------------------------

DECLARED = [("cloudflare-ssl-setting-declared", "C1", "ssl"),
            ("cloudflare-min-tls-setting-declared", "C2", "min_tls_version"),
            ("cloudflare-https-settings-declared", "C3", "always_use_https"),
            ("cloudflare-https-settings-declared", "C3", "automatic_https_rewrites"),
            ("cloudflare-tls13-settings-declared", "C4", "tls_1_3"),
            ("cloudflare-tls13-settings-declared", "C4", "0rtt"),
            ("cloudflare-hsts-setting-declared", "C5", "security_header")]


@pytest.mark.parametrize(("name", "row", "setting"), DECLARED, ids=[d[2] for d in DECLARED])
def test_zone_settings_are_declared(name: str, row: str, setting: str, prod_plan: Doc) -> None:
    assert stack_failures(name, stack(prod_plan)) == []
    declaring = planned(prod_plan, cloudflare.ZONE_SETTING, region=None, pick=lambda p: p["settingId"] == setting)
    zone = declaring["inputs"]["zoneId"]
    assert stack_failures(name, stack(prod_plan, drop=[(cloudflare.ZONE_SETTING, declaring["name"])])) == [
        f"[{row}] zone {zone}: no cloudflare:index/zoneSetting:ZoneSetting declares {setting}; the zone keeps "
        "Cloudflare's default"]


def _ruleset(doc: Doc, phase: str) -> dict[str, Any]:
    return planned(doc, cloudflare.RULESET, region=None, pick=lambda p: p["phase"] == phase)


def test_managed_waf_is_deployed(prod_plan: Doc, dev_plan: Doc) -> None:
    assert stack_failures("cloudflare-managed-waf", stack(prod_plan)) == []
    waf = _ruleset(prod_plan, "http_request_firewall_managed")
    name, zone = waf["name"], waf["inputs"]["zoneId"]
    assert stack_failures("cloudflare-managed-waf", stack(prod_plan, drop=[(cloudflare.RULESET, name)])) == [
        f"[C6] zone {zone}: no cloudflare:index/ruleset:Ruleset in phase http_request_firewall_managed deploys the "
        "managed WAF"]
    props = merged(prod_plan, cloudflare.RULESET, name)
    owasp = next(i for i, r in enumerate(props["rules"])
                 if r["actionParameters"]["id"] == "4814384a9e5d4991b9815dcfc25d2f1f")
    missing_owasp = f"[C6] {name}: rules must execute the Cloudflare OWASP Core Ruleset " \
                    "(4814384a9e5d4991b9815dcfc25d2f1f) (got no enabled execute rule for it)"
    without = {**props, "rules": [r for i, r in enumerate(props["rules"]) if i != owasp]}
    assert stack_failures("cloudflare-managed-waf", swap(prod_plan, cloudflare.RULESET, name, without)) == [
        missing_owasp]
    disabled = copy.deepcopy(props)
    disabled["rules"][owasp]["enabled"] = False
    assert stack_failures("cloudflare-managed-waf", swap(prod_plan, cloudflare.RULESET, name, disabled)) == [
        missing_owasp]
    logging = copy.deepcopy(props)
    logging["rules"][owasp]["actionParameters"]["overrides"]["action"] = "log"
    assert stack_failures("cloudflare-managed-waf", swap(prod_plan, cloudflare.RULESET, name, logging)) == [
        f"[C6] {name}: rules.{owasp}.actionParameters.overrides.action must not be 'log' in prod (the Cloudflare "
        "OWASP Core Ruleset would only log)"]
    assert stack_failures("cloudflare-managed-waf", swap(prod_plan, cloudflare.RULESET, name, logging), DEV) == []
    off = copy.deepcopy(props)
    off["rules"][owasp]["actionParameters"]["overrides"]["enabled"] = False
    assert stack_failures("cloudflare-managed-waf", swap(prod_plan, cloudflare.RULESET, name, off)) == [
        f"[C6] {name}: rules.{owasp}.actionParameters.overrides.enabled must not be false (it disables every rule "
        "of the Cloudflare OWASP Core Ruleset)"]
    assert stack_violations(rule("cloudflare-managed-waf"), stack(dev_plan), DEV) == []


def test_zones_are_rate_limited(prod_plan: Doc) -> None:
    assert stack_failures("cloudflare-rate-limiting", stack(prod_plan)) == []
    limits = _ruleset(prod_plan, "http_ratelimit")
    zone = limits["inputs"]["zoneId"]
    message = f"[C7] zone {zone}: no cloudflare:index/ruleset:Ruleset in phase http_ratelimit limits request rates"
    assert stack_failures("cloudflare-rate-limiting", stack(prod_plan, drop=[(cloudflare.RULESET,
                                                                              limits["name"])])) == [message]
    props = merged(prod_plan, cloudflare.RULESET, limits["name"])
    props["rules"] = [{**r, "enabled": False} for r in props["rules"]]
    assert stack_failures("cloudflare-rate-limiting", swap(prod_plan, cloudflare.RULESET, limits["name"],
                                                           props)) == [message]


def _lb_failures(props: Mapping[str, Any], dependencies: Mapping[str, Sequence[PolicyResource]] | None = None,
                 pools: Sequence[PolicyResource] = ()) -> list[str]:
    lb = with_dependencies(cloudflare.LOAD_BALANCER, props, "subject", dependencies or {})
    return stack_failures("cloudflare-lb-failover", [lb, *pools])


def test_load_balancers_have_two_default_pools(prod_plan: Doc) -> None:
    props = inputs(prod_plan, cloudflare.LOAD_BALANCER, region=None)
    assert stack_failures("cloudflare-lb-failover", stack(prod_plan)) == []
    assert _lb_failures(props) == []
    unset = {k: v for k, v in props.items() if k != "defaultPools"}
    assert _lb_failures(unset) == ["[C8] subject: defaultPools is not set; it must list at least 2 distinct pools"]
    pool = props["defaultPools"][0]
    assert _lb_failures({**props, "defaultPools": [pool, pool]}) == [
        "[C8] subject: defaultPools must list at least 2 distinct pools (got 1)"]
    assert _lb_failures({**props, "defaultPools": UNKNOWN_STRING_VALUE}) == [
        "[C8] subject: defaultPools is unknown during preview; failing closed"]
    assert _lb_failures({**props, "proxied": False}) == ["[C8] subject: proxied must be true (got False)"]
    assert _lb_failures({k: v for k, v in props.items() if k != "fallbackPool"}) == [
        "[C8] subject: fallbackPool is not set; it must be set"]


# A first preview: pool ids are Cloudflare's, unknown until the pools exist; the engine names the pools.
_POOL_A = stack_resource(cloudflare.POOL, {"name": "a", "id": UNKNOWN_STRING_VALUE}, "pool-a")
_POOL_B = stack_resource(cloudflare.POOL, {"name": "b", "id": UNKNOWN_STRING_VALUE}, "pool-b")
_UNKNOWN_POOLS = {"defaultPools": [UNKNOWN_STRING_VALUE, UNKNOWN_STRING_VALUE], "fallbackPool": UNKNOWN_STRING_VALUE,
                  "proxied": True}


def test_load_balancer_pools_resolve_through_dependencies_at_a_first_preview() -> None:
    pools = [_POOL_A, _POOL_B]
    assert _lb_failures(_UNKNOWN_POOLS, {"defaultPools": pools, "fallbackPool": [_POOL_A]}, pools) == []
    # both entries computed from one pool: one distinct pool
    assert _lb_failures(_UNKNOWN_POOLS, {"defaultPools": [_POOL_A], "fallbackPool": [_POOL_A]}, pools) == [
        "[C8] subject: defaultPools must list at least 2 distinct pools (got 1)"]
    # unknown entries the engine does not trace to a pool of the stack cannot be verified
    assert _lb_failures(_UNKNOWN_POOLS, {}, pools) == [
        "[C8] subject: defaultPools is unknown during preview and depends on no pool of this stack; failing closed"]
    monitor = stack_resource(cloudflare.MONITOR, {"id": UNKNOWN_STRING_VALUE}, "monitor")
    assert _lb_failures(_UNKNOWN_POOLS, {"defaultPools": [monitor]}, [monitor]) == [
        "[C8] subject: defaultPools is unknown during preview and depends on no pool of this stack; failing closed"]
    assert _lb_failures({**_UNKNOWN_POOLS, "proxied": False}, {"defaultPools": pools}, pools) == [
        "[C8] subject: proxied must be true (got False)"]


@pytest.fixture(scope="module")
def global_preview() -> Doc:
    """The dev global stack as its first `pulumi preview` sees it (the regions' stacks deployed, itself not)."""
    return environment.document_of("dev-global", preview=True)


@pytest.fixture(scope="module")
def infra_preview() -> Doc:
    """A dev infra stack as its first `pulumi preview` sees it."""
    return environment.document_of("dev-us-east-1", preview=True)


def _preview_violations(doc: Doc, layer_config: str, ids: Iterable[str]) -> list[str]:
    wanted = set(ids)
    return [v.message for v in guardrails.evaluate(doc, guardrails.load_config(layer_config))
            if v.id in wanted and v.enforcement == "mandatory"]


def test_c8_passes_the_global_stacks_first_preview(global_preview: Doc) -> None:
    assert global_preview["preview"]
    lbs = [r for r in global_preview["resources"] if r["type"] == cloudflare.LOAD_BALANCER]
    assert lbs and all(r["inputs"]["fallbackPool"] == "[unknown]" for r in lbs)
    assert _preview_violations(global_preview, "dev-global", ["C8"]) == []


def test_c8_still_fails_at_the_first_preview(global_preview: Doc) -> None:
    doc = copy.deepcopy(global_preview)
    lb = next(r for r in doc["resources"] if r["type"] == cloudflare.LOAD_BALANCER)
    lb["propertyDependencies"]["defaultPools"] = lb["propertyDependencies"]["defaultPools"][:1]
    assert _preview_violations(doc, "dev-global", ["C8"]) == [
        f"[C8] {lb['name']}: defaultPools must list at least 2 distinct pools (got 1)"]
    del lb["propertyDependencies"]["defaultPools"]
    lb["dependencies"] = []
    assert _preview_violations(doc, "dev-global", ["C8"]) == [
        f"[C8] {lb['name']}: defaultPools is unknown during preview and depends on no pool of this stack; "
        "failing closed"]


def test_s8_s9_pass_an_infra_stacks_first_preview(infra_preview: Doc) -> None:
    policies = [r for r in infra_preview["resources"] if r["type"] == kms_secrets.ROLE_POLICY
                and r["inputs"].get("policy") == "[unknown]"]
    assert policies  # built from the region's key ARNs, unknown until they exist
    assert _preview_violations(infra_preview, "dev-infra", ["S8", "S9"]) == []


def test_s8_s9_still_fail_at_the_first_preview(infra_preview: Doc) -> None:
    doc = copy.deepcopy(infra_preview)
    secret = next(r for r in doc["resources"] if r["type"] == kms_secrets.SECRET)
    secret["inputs"]["kmsKeyId"] = "alias/aws/secretsmanager"
    policy = next(r for r in doc["resources"] if r["type"] == kms_secrets.ROLE_POLICY)
    policy["inputs"]["policy"] = _policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    assert _preview_violations(doc, "dev-infra", ["S8", "S9"]) == [
        f"[S8] {policy['name']}: policy.Statement.0 must not allow kms:Decrypt or kms:ReEncryptFrom on every key "
        "(got Action 'kms:Decrypt' on Resource '*')",
        f"[S9] {secret['name']}: kmsKeyId must be a customer managed KMS key (not alias/aws/...) (got "
        "'alias/aws/secretsmanager')"]


def test_pool_origins_are_enabled(prod_plan: Doc) -> None:
    props = inputs(prod_plan, cloudflare.POOL, region=None)
    assert failures("cloudflare-pool-monitored", cloudflare.POOL, props) == []
    unset = {k: v for k, v in props.items() if k != "origins"}
    assert failures("cloudflare-pool-monitored", cloudflare.POOL, unset) == [
        "[C9] subject: origins is not set; it must list at least one enabled origin"]
    assert failures("cloudflare-pool-monitored", cloudflare.POOL, {**props, "origins": []}) == [
        "[C9] subject: origins is not set; it must list at least one enabled origin"]
    disabled = {**props, "origins": [{**props["origins"][0], "enabled": False}]}
    assert failures("cloudflare-pool-monitored", cloudflare.POOL, disabled) == [
        "[C9] subject: origins.0.enabled must not be false (got False)"]


# --- C11 origins reachable only from Cloudflare --------------------------------------------------------

EDGE_SG = "use1-edge-nlb"


def _edge(doc: Doc) -> tuple[dict[str, Any], dict[str, Any]]:
    """The us-east-1 edge load balancer's and its security group's stack props."""
    return merged(doc, LB, "use1-edge"), merged(doc, SG, EDGE_SG)


def _ingress(group_id: str, name: str, **props: Any) -> PolicyResource:
    base = {"securityGroupId": group_id, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "description": "t"}
    return stack_resource(RULE, {**base, **props}, name)


def test_origins_admit_only_cloudflare(prod_plan: Doc) -> None:
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", stack(prod_plan)) == []
    _, group = _edge(prod_plan)
    cases = [
        (_ingress(group["id"], "world", cidrIpv4="0.0.0.0/0"),
         "[C11] use1-edge via world: cidrIpv4 must admit nothing from the internet (got tcp 443-443 from 0.0.0.0/0)"),
        (_ingress(group["id"], "world-ssh", cidrIpv6="::/0", fromPort=22, toPort=22),
         "[C11] use1-edge via world-ssh: cidrIpv6 must admit nothing from the internet (got tcp 22-22 from ::/0)"),
        (_ingress(group["id"], "office", cidrIpv4="198.51.100.0/24"),
         "[C11] use1-edge via office: cidrIpv4 must admit 443 only from Cloudflare (got tcp 443-443 from "
         "198.51.100.0/24)"),
        (_ingress(group["id"], "peer", referencedSecurityGroupId="sg-peer"),
         "[C11] use1-edge via peer: must admit 443 only from Cloudflare (got tcp 443-443 from security group "
         "sg-peer)"),
        (_ingress(group["id"], "foreign-list", prefixListId="pl-elsewhere"),
         "[C11] use1-edge via foreign-list: prefixListId must name a Cloudflare prefix list of this stack (got "
         "pl-elsewhere, which it cannot verify)"),
    ]
    for extra, message in cases:
        assert stack_failures("cloudflare-origin-lb-cloudflare-only", stack(prod_plan, add=[extra])) == [message]
    fine = [_ingress(group["id"], "cf-cidr", cidrIpv4="104.16.0.0/14"),
            _ingress(group["id"], "health", cidrIpv4="10.10.0.0/16", fromPort=8443, toPort=8443)]
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", stack(prod_plan, add=fine)) == []
    trusted = {"trustedPrefixLists": ["pl-elsewhere"]}
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", stack(prod_plan, add=[cases[4][0]]), trusted) == []


def test_origin_inline_rules_and_prefix_list_entries(prod_plan: Doc) -> None:
    _, group = _edge(prod_plan)
    inline = {**group, "ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]}
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", swap(prod_plan, SG, EDGE_SG, inline)) == [
        f"[C11] use1-edge via {EDGE_SG}: ingress.0.cidrBlocks must admit nothing from the internet (got all traffic "
        "from 0.0.0.0/0)"]
    prefix_list = merged(prod_plan, network.PREFIX_LIST, "use1-cloudflare-ipv4")
    widened = {**prefix_list, "entries": [*prefix_list["entries"], {"cidr": "0.0.0.0/1", "description": "oops"}]}
    assert stack_failures("cloudflare-origin-lb-cloudflare-only",
                          swap(prod_plan, network.PREFIX_LIST, "use1-cloudflare-ipv4", widened)) == [
        "[C11] use1-edge via use1-edge-from-cloudflare: admits 443 from prefix list use1-cloudflare-ipv4, whose "
        "entries must all be Cloudflare ranges (got 0.0.0.0/1)"]


def test_origin_load_balancers_need_declared_security_groups(prod_plan: Doc) -> None:
    lb, _ = _edge(prod_plan)
    no_groups = {k: v for k, v in lb.items() if k != "securityGroups"}
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", swap(prod_plan, LB, "use1-edge", no_groups)) == [
        "[C11] use1-edge: securityGroups must admit 443 only from Cloudflare on an internet-facing load balancer "
        "(got none)"]
    foreign = {**lb, "securityGroups": [*lb["securityGroups"], "sg-elsewhere"]}
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", swap(prod_plan, LB, "use1-edge", foreign)) == [
        "[C11] use1-edge: security group sg-elsewhere is not declared in this stack; cannot verify it admits 443 "
        "only from Cloudflare"]
    internal = {**no_groups, "internal": True}
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", swap(prod_plan, LB, "use1-edge", internal)) == []


def test_origin_rule_in_a_first_preview(prod_plan: Doc) -> None:
    prefix_list = stack_resource(network.PREFIX_LIST, {**merged(prod_plan, network.PREFIX_LIST,
                                                                "use1-cloudflare-ipv4"), "id": UNKNOWN_STRING_VALUE},
                                 "cf")
    group = stack_resource(SG, {"vpcId": "vpc-1", "description": "edge", "id": UNKNOWN_STRING_VALUE}, "edge-sg")
    lb = with_dependencies(LB, {"internal": False, "loadBalancerType": "network",
                                "securityGroups": [UNKNOWN_STRING_VALUE]}, "edge", {"securityGroups": [group]})
    admit = with_dependencies(RULE, {"securityGroupId": UNKNOWN_STRING_VALUE, "ipProtocol": "tcp", "fromPort": 443,
                                     "toPort": 443, "prefixListId": UNKNOWN_STRING_VALUE}, "admit",
                              {"securityGroupId": [group], "prefixListId": [prefix_list]})
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", [prefix_list, group, lb, admit]) == []
    blind = stack_resource(LB, {"internal": False, "securityGroups": [UNKNOWN_STRING_VALUE]}, "edge")
    assert stack_failures("cloudflare-origin-lb-cloudflare-only", [prefix_list, group, blind, admit]) == [
        f"[C11] {FAIL_CLOSED}"]


# --- the shared reference helper ------------------------------------------------------------------------


def test_references_by_value_and_by_dependency() -> None:
    vpc = stack_resource(network.VPC, {"id": "vpc-1"}, "vpc")
    assert network.references(stack_resource(network.FLOW_LOG, {"vpcId": "vpc-1"}, "a"), "vpcId", vpc)
    assert not network.references(stack_resource(network.FLOW_LOG, {"vpcId": "vpc-2"}, "b"), "vpcId", vpc)
    elsewhere = stack_resource(network.VPC, {"id": UNKNOWN_STRING_VALUE}, "other")
    by_other = with_dependencies(network.FLOW_LOG, {"vpcId": UNKNOWN_STRING_VALUE}, "c", {"vpcId": [elsewhere]})
    assert not network.references(by_other, "vpcId", vpc)


# --- every rule of these modules over both plans --------------------------------------------------------


def _all_violations(doc: Doc) -> list[tuple[ResourceRule | StackRule, str]]:
    config = {"environment": doc["environment"]}
    found: list[tuple[ResourceRule | StackRule, str]] = []
    resources = plan_resources(doc)
    for r_ in MINE:
        if isinstance(r_, StackRule):
            found.extend((r_, m) for m in stack_violations(r_, resources, config))
            continue
        for r in doc["resources"]:
            if r["type"] in r_.types:
                found.extend((r_, m) for m in violations(r_, r["type"], r["inputs"], r["name"], config))
    return found


@pytest.mark.parametrize("stack_name", ["prod", "dev"])
def test_the_plans_violate_no_mandatory_rule(stack_name: str, request: pytest.FixtureRequest) -> None:
    doc = request.getfixturevalue(f"{stack_name}_plan")
    found = _all_violations(doc)
    assert [m for r, m in found if r.meta.mandatory] == []


def test_rule_names_are_unique_and_prefixed() -> None:
    names = [r.meta.name for r in MINE]
    assert len(names) == len(set(names))
    prefixes = ("vpc-", "ec2-", "kms-", "secretsmanager-", "iam-", "lb-", "cloudflare-")
    assert all(n.startswith(prefixes) for n in names), names
