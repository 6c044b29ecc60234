"""The platform invariants (P1-P15 and TAG1, docs/guardrails.md) on the real plans and on edits.

Every rule passes on the prod and dev plans the program builds; every failure mode is produced by editing a copy
of a real planned resource (or a small hand-made stack) and must report the exact message. Mandatory rules fail
closed on values unknown during preview.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, PolicyResource, Severity
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE

from guardrails.core import StackRule
from guardrails.cost import monthly_cost
from guardrails.registry import all_rules, invariants
from offline.document import UNKNOWN_MARK
from offline.environment import document_of
from tests import nested
from tests.nested import REMOVE
from tests.policies.harness import plan_resources, stack_resource, stack_violations

PROD = {"environment": "prod"}
DEV = {"environment": "dev"}
RULES = [r for r in invariants() if isinstance(r, StackRule)]
BY_ID = {rule.meta.id: rule for rule in RULES}

GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
MSK = "aws:msk/cluster:Cluster"
MSK_CONFIGURATION = "aws:msk/configuration:Configuration"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
CACHE_USER = "aws:elasticache/user:User"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
LB = "aws:lb/loadBalancer:LoadBalancer"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PROVIDER = "pulumi:providers:aws"


def rule(rule_id: str) -> StackRule:
    return BY_ID[rule_id]


class Plan:
    """An editable view of a plan document: edited resources are deep copies, the rest is shared."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.items = list(doc["resources"])
        self._copied: set[int] = set()

    def _index(self, resource_type: str, name: str) -> int:
        found = [i for i, r in enumerate(self.items) if r["type"] == resource_type and r["name"] == name]
        assert len(found) == 1, f"{resource_type} {name}: {len(found)} matches"
        return found[0]

    def entry(self, resource_type: str, name: str) -> dict[str, Any]:
        """The resource's plan entry, copied on first access so edits never touch the shared fixture."""
        i = self._index(resource_type, name)
        if i not in self._copied:
            self.items[i] = copy.deepcopy(self.items[i])
            self._copied.add(i)
        return self.items[i]

    def props(self, resource_type: str, name: str) -> dict[str, Any]:
        r = self.items[self._index(resource_type, name)]
        return copy.deepcopy({**r["inputs"], **r["outputs"]})

    def set(self, resource_type: str, name: str, path: str | Sequence[str], value: Any) -> Plan:
        """Set (or with REMOVE, delete) a prop in inputs and outputs alike, as props merges them."""
        parts = path.split(".") if isinstance(path, str) else list(path)
        r = self.entry(resource_type, name)
        sides = [s for s in ("inputs", "outputs") if parts[0] in r[s]] or ["inputs"]
        for side in sides:
            nested.put(r[side], parts, value)
        return self

    def remove(self, resource_type: str, name: str) -> Plan:
        del self.items[self._index(resource_type, name)]
        self._copied = set()  # indexes shifted; later edits copy again (copies of copies are harmless)
        return self

    def move(self, resource_type: str, name: str, provider: str) -> Plan:
        """Put a resource on another AWS provider (aws-use1, aws-euw1, ...), i.e. into another region."""
        target = next(r for r in self.items if r["type"] == PROVIDER and r["name"] == provider)
        self.entry(resource_type, name)["provider"] = target["urn"]
        return self

    def add(self, entry: dict[str, Any]) -> Plan:
        self.items.append(entry)
        return self

    def resources(self) -> list[PolicyResource]:
        return plan_resources({**self.doc, "resources": self.items})


def run(rule_id: str, plan: Plan | Sequence[PolicyResource], config: dict[str, Any] | None = None) -> list[str]:
    resources = plan.resources() if isinstance(plan, Plan) else plan
    return stack_violations(rule(rule_id), resources, PROD if config is None else config)


@pytest.fixture(scope="module")
def prod_resources(prod_plan: dict[str, Any]) -> list[PolicyResource]:
    return plan_resources(prod_plan)


@pytest.fixture(scope="module")
def dev_resources(dev_plan: dict[str, Any]) -> list[PolicyResource]:
    return plan_resources(dev_plan)


@pytest.fixture
def prod(prod_plan: dict[str, Any]) -> Plan:
    return Plan(prod_plan)


@pytest.fixture
def dev(dev_plan: dict[str, Any]) -> Plan:
    return Plan(dev_plan)


def _infra_only(doc: dict[str, Any]) -> dict[str, Any]:
    """The infra stacks of a whole-environment plan: one AWS provider per region, as each stack's own run sees."""
    layers = {s["name"]: s["layer"] for s in doc["stacks"]}
    return {**doc, "resources": [r for r in doc["resources"] if layers[r["stack"]] == "infra"]}


@pytest.fixture
def prod_infra(prod_plan: dict[str, Any]) -> Plan:
    return Plan(_infra_only(prod_plan))


# ------------------------------------------------------------------------------------------ the pack

EXPECTED_META = {
    "P1": (Severity.HIGH, True), "P2": (Severity.HIGH, True), "P3": (Severity.HIGH, True),
    "P4": (Severity.MEDIUM, True), "P5": (Severity.HIGH, True), "P6": (Severity.MEDIUM, True),
    "P7": (Severity.MEDIUM, True), "P8": (Severity.CRITICAL, True), "P9": (Severity.HIGH, True),
    "P10": (Severity.MEDIUM, False), "P11": (Severity.HIGH, True), "P12": (Severity.HIGH, True),
    "P13": (Severity.HIGH, True), "P14": (Severity.HIGH, True), "P15": (Severity.MEDIUM, True),
    "TAG1": (Severity.LOW, False),
}


def test_every_rule_is_a_registered_stack_rule_with_its_severity_and_enforcement() -> None:
    assert [r.meta.id for r in RULES] == list(EXPECTED_META)
    registered = {r.meta.name for r in all_rules()}
    for r in RULES:
        severity, mandatory = EXPECTED_META[r.meta.id]
        assert isinstance(r, StackRule) and r.meta.name in registered
        assert (r.meta.severity, r.meta.mandatory) == (severity, mandatory)
        policy = r.policy()
        assert policy.enforcement_level == (EnforcementLevel.MANDATORY if mandatory else EnforcementLevel.ADVISORY)
        assert set(r.defaults) <= set(r.config)


def test_config_schemas_and_defaults() -> None:
    assert rule("P1").defaults == {"connectionReserveFraction": 0.15}
    assert rule("P3").defaults == rule("P11").defaults == {
        "approvedRegions": ["us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1"]}
    assert "monthlyBudgetUsd" in rule("P10").config and rule("P10").defaults == {}
    assert rule("TAG1").defaults == {"requiredTags": ["project", "environment", "owner", "cost-center"]}


def test_remediation_of_p9_says_full_replacement_detection_needs_the_engine_diff() -> None:
    assert "needs the engine's diff" in rule("P9").meta.remediation
    assert "pulumi preview --json" in rule("P9").meta.remediation


def _config(rule_id: str, env: dict[str, Any], budget: float) -> dict[str, Any]:
    return {**env, "monthlyBudgetUsd": budget} if rule_id == "P10" else env


@pytest.mark.parametrize("rule_id", list(BY_ID))
def test_prod_plan_complies(rule_id: str, prod_resources: list[PolicyResource]) -> None:
    assert run(rule_id, prod_resources, _config(rule_id, PROD, 2_000_000)) == []


# The price file has no list price for dev's cache node type, so dev's estimate is a lower bound, and P10 says so.
DEV_UNPRICED = [f"[P10] {prefix}-cache: no list price for elasticache/valkey/cache.t4g.small in {region}; the cost "
                "estimate cannot include it" for prefix, region in (("euw1", "eu-west-1"), ("use1", "us-east-1"))]


@pytest.mark.parametrize("rule_id", list(BY_ID))
def test_dev_plan_complies(rule_id: str, dev_resources: list[PolicyResource]) -> None:
    assert run(rule_id, dev_resources, _config(rule_id, DEV, 5_000)) == (DEV_UNPRICED if rule_id == "P10" else [])


# ------------------------------------------------------------------------------------- P1 connections


def _ini(plan: Plan, name: str = "use1-pgbouncer-config") -> str:
    return str(plan.props(CONFIG_MAP, name)["data"]["pgbouncer.ini"])


def _set_ini(plan: Plan, text: str, name: str = "use1-pgbouncer-config") -> Plan:
    return plan.set(CONFIG_MAP, name, ("data", "pgbouncer.ini"), text)


def _host(plan: Plan, cluster: str, path: str = "endpoint") -> str:
    return str(plan.props(CLUSTER, cluster)[path])


def test_p1_pool_size_over_the_writer_budget(prod: Plan) -> None:
    host = _host(prod, "use1-sg01-use1")
    _set_ini(prod, _ini(prod).replace(f"host={host} port=5432 dbname=platform pool_size=14",
                                      f"host={host} port=5432 dbname=platform pool_size=30"))
    assert run("P1", prod) == [
        f"[P1] use1-pgbouncer-config: pool_size x HPA maxReplicas toward {host} (cluster use1-sg01-use1; "
        "databases use1-sg01) is 4500 server connections, over the 4250 that db.r7g.4xlarge max_connections "
        "5000 leaves after the 15% connectionReserveFraction"]


def test_p1_hpa_max_replicas_over_the_secondary_reader_budget(prod: Plan) -> None:
    prod.set(HPA, "use1-pgbouncer", "spec.maxReplicas", 160)
    found = run("P1", prod)
    host = _host(prod, "euw1-sg01-use1", "readerEndpoint")
    assert (f"[P1] use1-pgbouncer-config: pool_size x HPA maxReplicas toward {host} (cluster euw1-sg01-use1; "
            "databases euw1-sg01, euw1-sg01_ro) is 4480 server connections, over the 4250 that db.r7g.4xlarge "
            "max_connections 5000 leaves after the 15% connectionReserveFraction") in found
    # 14 x 160 = 2240 fits a primary's endpoint; the 9 secondary readers in us-east-1 take two pools each
    assert len(found) == 9


def test_p1_smaller_instance_class_in_a_secondary(prod: Plan) -> None:
    prod.set(INSTANCE, "euw1-sg01-use1-1", "instanceClass", "db.r7g.large")
    host = _host(prod, "euw1-sg01-use1", "readerEndpoint")
    assert run("P1", prod) == [
        f"[P1] use1-pgbouncer-config: pool_size x HPA maxReplicas toward {host} (cluster euw1-sg01-use1; "
        "databases euw1-sg01, euw1-sg01_ro) is 4200 server connections, over the 1463 that db.r7g.large "
        "max_connections 1722 leaves after the 15% connectionReserveFraction"]


def test_p1_reserve_fraction_comes_from_config(prod_resources: list[PolicyResource]) -> None:
    found = run("P1", prod_resources, {**PROD, "connectionReserveFraction": 0.7})
    assert found and all("over the 1500 that db.r7g.4xlarge max_connections 5000 leaves after the 70% "
                         "connectionReserveFraction" in m for m in found)


def test_p1_parameter_group_override_lowers_the_limit(prod: Plan) -> None:
    params = prod.props(PARAMETER_GROUP, "use1-aurora-pg17")["parameters"]
    prod.set(PARAMETER_GROUP, "use1-aurora-pg17", "parameters",
             [*params, {"name": "max_connections", "value": "1000", "applyMethod": "pending-reboot"}])
    found = run("P1", prod)
    host = _host(prod, "use1-sg01-use1")
    assert (f"[P1] use1-pgbouncer-config: pool_size x HPA maxReplicas toward {host} (cluster use1-sg01-use1; "
            "databases use1-sg01) is 2100 server connections, over the 850 that db.r7g.4xlarge max_connections 1000 "
            "(parameter group) leaves after the 15% connectionReserveFraction") in found


def test_p1_unknown_instance_class_fails_closed(prod: Plan) -> None:
    prod.set(INSTANCE, "use1-sg01-use1-2", "instanceClass", "db.x2g.large")
    host = _host(prod, "use1-sg01-use1")
    reader = _host(prod, "use1-sg01-use1", "readerEndpoint")
    assert run("P1", prod) == [
        f"[P1] use1-pgbouncer-config: pgbouncer.ini host {h} is cluster use1-sg01-use1, whose instance class "
        "'db.x2g.large' has no known max_connections; failing closed" for h in (host, reader)]


def test_p1_unmatched_host_fails_closed(prod: Plan) -> None:
    host = _host(prod, "use1-sg02-use1")
    _set_ini(prod, _ini(prod).replace(f"host={host} ", "host=rogue.example.com "))
    assert run("P1", prod) == [
        "[P1] use1-pgbouncer-config: pgbouncer.ini host rogue.example.com (databases use1-sg02) is no Aurora "
        "endpoint in the stack; its connection budget cannot be verified"]


def test_p1_missing_hpa_and_missing_max_replicas(prod: Plan) -> None:
    assert run("P1", Plan(prod.doc).remove(HPA, "use1-pgbouncer")) == [
        "[P1] use1-pgbouncer-config: no PgBouncer HorizontalPodAutoscaler in us-east-1; spec.maxReplicas bounds "
        "the server connections and is missing"]
    prod.set(HPA, "use1-pgbouncer", "spec.maxReplicas", REMOVE)
    assert run("P1", prod) == [
        "[P1] use1-pgbouncer: spec.maxReplicas is not set; the connection budget needs it"]


def test_p1_missing_config_and_host(prod: Plan) -> None:
    prod.set(CONFIG_MAP, "use1-pgbouncer-config", ("data", "pgbouncer.ini"), REMOVE)
    assert run("P1", prod) == [
        '[P1] use1-pgbouncer-config: data["pgbouncer.ini"] is not set; the connection budget cannot be verified']
    _set_ini(prod, "[databases]\nlocal = port=5432 dbname=platform pool_size=10\n")
    assert run("P1", prod) == [
        "[P1] use1-pgbouncer-config: pgbouncer.ini database local has no host; it cannot be mapped to an Aurora "
        "cluster"]


def test_p1_default_pool_size_applies_when_a_database_sets_none(prod: Plan) -> None:
    host = _host(prod, "use1-sg01-use1")
    text = _ini(prod).replace(f"host={host} port=5432 dbname=platform pool_size=14",
                              f"host={host} port=5432 dbname=platform")
    _set_ini(prod, re.sub(r"default_pool_size = \d+", "default_pool_size = 30", text))
    assert run("P1", prod) == [
        f"[P1] use1-pgbouncer-config: pool_size x HPA maxReplicas toward {host} (cluster use1-sg01-use1; "
        "databases use1-sg01) is 4500 server connections, over the 4250 that db.r7g.4xlarge max_connections "
        "5000 leaves after the 15% connectionReserveFraction"]


def test_p1_fails_closed_on_unknown_values(prod: Plan) -> None:
    _set_ini(prod, UNKNOWN_STRING_VALUE)
    assert run("P1", prod) == [
        '[P1] use1-pgbouncer-config: data["pgbouncer.ini"] is unknown during preview; failing closed']
    other = Plan(prod.doc).set(HPA, "use1-pgbouncer", "spec.maxReplicas", UNKNOWN_NUMBER_VALUE)
    assert run("P1", other) == ["[P1] use1-pgbouncer: spec.maxReplicas is unknown during preview; failing closed"]
    targeted = Plan(prod.doc).set(INSTANCE, "use1-sg01-use1-1", "instanceClass", UNKNOWN_STRING_VALUE)
    assert run("P1", targeted) == [
        "[P1] use1-sg01-use1-1: instanceClass is unknown during preview; failing closed"]


def test_p1_unknown_endpoint_of_an_untargeted_instance_is_not_a_finding(prod: Plan) -> None:
    prod.set(INSTANCE, "use1-sg01-use1-3", "endpoint", UNKNOWN_STRING_VALUE)
    assert run("P1", prod) == []


# -------------------------------------------------------------------------------------- P2 shard map


def _shard_map(plan: Plan, name: str = "use1-shard-map") -> dict[str, Any]:
    return dict(json.loads(plan.props(CONFIG_MAP, name)["data"]["shard-map.json"]))


def _set_shard_map(plan: Plan, doc: dict[str, Any], name: str = "use1-shard-map") -> Plan:
    return plan.set(CONFIG_MAP, name, ("data", "shard-map.json"), json.dumps(doc))


def test_p2_gap(prod: Plan) -> None:
    doc = _shard_map(prod)
    doc["groups"][1]["start"] = 5100
    assert run("P2", _set_shard_map(prod, doc)) == [
        "[P2] use1-shard-map: shard-map.json leaves logical shards [5000, 5100) unallocated (before group "
        "use1-sg02)"]


def test_p2_overlap(prod: Plan) -> None:
    doc = _shard_map(prod)
    doc["groups"][1]["start"] = 4900
    assert run("P2", _set_shard_map(prod, doc)) == [
        "[P2] use1-shard-map: shard-map.json groups use1-sg01 and use1-sg02 both allocate logical shards "
        "[4900, 5000)"]


def test_p2_uncovered_tail_and_invalid_group(prod: Plan) -> None:
    doc = _shard_map(prod)
    last = doc["groups"].pop()
    doc["groups"][0]["end"] = doc["groups"][0]["start"]
    assert run("P2", _set_shard_map(prod, doc)) == [
        "[P2] use1-shard-map: shard-map.json group use1-sg01 has no valid range (start 0, end 0)",
        "[P2] use1-shard-map: shard-map.json leaves logical shards [0, 5000) unallocated (before group use1-sg02)",
        f"[P2] use1-shard-map: shard-map.json leaves logical shards [{last['start']}, 90000) unallocated (after "
        f"group {doc['groups'][-1]['id']})"]


def test_p2_logical_shards_differ_between_regions(prod: Plan) -> None:
    doc = _shard_map(prod, "euw1-shard-map")
    doc["logicalShards"] = 80000
    found = run("P2", _set_shard_map(prod, doc, "euw1-shard-map"))
    assert found == [
        f"[P2] euw1-shard-map: shard-map.json group {doc['groups'][-1]['id']} ends at 90000, past logicalShards "
        "80000",
        "[P2] shard maps disagree on logicalShards: aps1-shard-map 90000, apse1-shard-map 90000, euw1-shard-map "
        "80000, use1-shard-map 90000"]


def test_p2_missing_logical_shards_and_bad_json(prod: Plan) -> None:
    doc = _shard_map(prod)
    del doc["logicalShards"]
    assert run("P2", _set_shard_map(prod, doc)) == [
        "[P2] use1-shard-map: shard-map.json logicalShards must be a positive integer (got None)"]
    prod.set(CONFIG_MAP, "use1-shard-map", ("data", "shard-map.json"), "{not json")
    found = run("P2", prod)
    assert len(found) == 1 and found[0].startswith("[P2] use1-shard-map: shard-map.json is not valid JSON (")


def test_p2_fails_closed_on_unknown_map(prod: Plan) -> None:
    prod.set(CONFIG_MAP, "use1-shard-map", ("data", "shard-map.json"), UNKNOWN_STRING_VALUE)
    assert run("P2", prod) == [
        '[P2] use1-shard-map: data["shard-map.json"] is unknown during preview; failing closed']


# --------------------------------------------------------------------------------------- P3 topology


def test_p3_two_primaries(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-euw1", "masterUsername", "platform_admin")
    assert run("P3", prod) == [
        "[P3] use1-sg01-global: global cluster prod-use1-sg01 has 2 primaries (use1-sg01-euw1, use1-sg01-use1); "
        "exactly one member may set masterUsername"]


def test_p3_no_primary(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-use1", "masterUsername", REMOVE)
    assert run("P3", prod) == [
        "[P3] use1-sg01-global: global cluster prod-use1-sg01 has no primary (no member sets masterUsername)"]


def test_p3_secondary_in_the_primary_region(prod: Plan) -> None:
    prod.move(CLUSTER, "use1-sg01-euw1", "aws-use1")
    assert run("P3", prod) == [
        "[P3] use1-sg01-euw1: secondary of prod-use1-sg01 is in the primary's region us-east-1"]


def test_p3_secondaries_share_a_region(prod: Plan) -> None:
    prod.move(CLUSTER, "use1-sg01-apse1", "aws-euw1")
    assert run("P3", prod) == [
        "[P3] use1-sg01-euw1: secondary of prod-use1-sg01 is in eu-west-1, like use1-sg01-apse1; secondaries "
        "need distinct regions"]


def test_p3_primary_outside_the_global_cluster_region(prod: Plan) -> None:
    prod.move(CLUSTER, "use1-sg01-use1", "aws-aps1")
    assert run("P3", prod) == [
        "[P3] use1-sg01-use1: primary of prod-use1-sg01 is in ap-south-1, not the global cluster's region "
        "us-east-1"]


def test_p3_unapproved_region(prod_resources: list[PolicyResource]) -> None:
    found = run("P3", prod_resources, {**PROD, "approvedRegions": ["us-east-1", "eu-west-1", "ap-southeast-1"]})
    assert ("[P3] aps1-sg01-global: global cluster prod-aps1-sg01 is in ap-south-1, not an approved region "
            "(us-east-1, eu-west-1, ap-southeast-1)") in found
    assert ("[P3] euw1-sg01-aps1: member of prod-euw1-sg01 is in ap-south-1, not an approved region "
            "(us-east-1, eu-west-1, ap-southeast-1)") in found


def test_p3_engine_version_differs_or_is_missing(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-euw1", "engineVersion", "17.4")
    prod.set(CLUSTER, "use1-sg01-apse1", "engineVersion", REMOVE)
    assert run("P3", prod) == [
        "[P3] use1-sg01-apse1: engineVersion is not set; it must equal global cluster prod-use1-sg01's '17.5'",
        "[P3] use1-sg01-euw1: engineVersion must equal global cluster prod-use1-sg01's '17.5' (got '17.4')"]


def test_p3_member_of_a_missing_global_cluster(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-euw1", "globalClusterIdentifier", "prod-nowhere")
    assert run("P3", prod) == [
        "[P3] use1-sg01-euw1: globalClusterIdentifier prod-nowhere names no GlobalCluster in the stack"]


def test_p3_global_cluster_without_members() -> None:
    lone = stack_resource(GLOBAL_CLUSTER, {"globalClusterIdentifier": "g1", "engineVersion": "17.5"}, "g1-global",
                          region="us-east-1")
    assert run("P3", [lone]) == ["[P3] g1-global: global cluster g1 has no member clusters"]


def test_p3_fails_closed_on_unknown_values(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-euw1", "masterUsername", UNKNOWN_STRING_VALUE)
    assert run("P3", prod) == [
        "[P3] use1-sg01-euw1: masterUsername is unknown during preview; failing closed"]
    other = Plan(prod.doc).set(CLUSTER, "use1-sg01-euw1", "engineVersion", UNKNOWN_STRING_VALUE)
    assert run("P3", other) == ["[P3] use1-sg01-euw1: engineVersion is unknown during preview; failing closed"]
    member = Plan(prod.doc).set(CLUSTER, "use1-sg01-euw1", "globalClusterIdentifier", UNKNOWN_STRING_VALUE)
    assert run("P3", member) == [
        "[P3] use1-sg01-euw1: globalClusterIdentifier is unknown during preview; failing closed"]


# ----------------------------------------------------------------------------------- P4 promotion


def test_p4_secondary_smaller_than_the_primary_writer(prod: Plan) -> None:
    for k in (1, 2, 3):  # prod runs three instances per secondary
        prod.set(INSTANCE, f"use1-sg01-euw1-{k}", "instanceClass", "db.r7g.xlarge")
    assert run("P4", prod) == [
        "[P4] use1-sg01-euw1: no instance of this secondary of prod-use1-sg01 is at least the primary writer's "
        "class db.r7g.4xlarge (instanceClass db.r7g.xlarge, db.r7g.xlarge, db.r7g.xlarge)"]


def test_p4_secondary_without_instances(prod: Plan) -> None:
    for k in (1, 2, 3):
        prod.remove(INSTANCE, f"use1-sg01-euw1-{k}")
    assert run("P4", prod) == [
        "[P4] use1-sg01-euw1: secondary of prod-use1-sg01 has no instances; it needs one of at least the primary "
        "writer's class db.r7g.4xlarge"]


def test_p4_primary_instance_class_without_a_size(prod: Plan) -> None:
    prod.set(INSTANCE, "use1-sg01-use1-3", "instanceClass", "db.serverless")
    assert run("P4", prod) == [
        "[P4] use1-sg01-use1-3: instanceClass 'db.serverless' has no known size; promotion headroom cannot be "
        "verified"]


def test_p4_secondary_region_node_group_cannot_absorb_the_primary_region(prod: Plan) -> None:
    prod.set(NODE_GROUP, "euw1-workloads", "scalingConfig.maxSize", 5)
    assert run("P4", prod) == [
        "[P4] euw1-workloads: scalingConfig.maxSize 5 is below the desiredSize 6 of aps1-workloads; eu-west-1 "
        "hosts secondaries of 3 global cluster(s) whose primary is in ap-south-1",
        "[P4] euw1-workloads: scalingConfig.maxSize 5 is below the desiredSize 12 of use1-workloads; eu-west-1 "
        "hosts secondaries of 6 global cluster(s) whose primary is in us-east-1"]


def test_p4_missing_workloads_node_group(prod: Plan) -> None:
    prod.remove(NODE_GROUP, "apse1-workloads")
    found = run("P4", prod)
    assert ("[P4] ap-southeast-1: has no *-workloads node group; Aurora secondaries in ap-southeast-1 of primaries "
            "in us-east-1 need one on each side") in found
    assert len(found) == 4  # apse1 pairs with use1 and aps1, in both directions


# --------------------------------------------------------------------------------------------- P5 KMS


def _arn_in(arn: str, region: str) -> str:
    parts = arn.split(":")
    parts[3] = region
    return ":".join(parts)


KMS_PATHS = [
    (CLUSTER, "use1-sg01-euw1", "kmsKeyId", "eu-west-1"),
    (INSTANCE, "use1-sg01-euw1-1", "performanceInsightsKmsKeyId", "eu-west-1"),
    (MSK, "euw1-kafka", "encryptionInfo.encryptionAtRestKmsKeyArn", "eu-west-1"),
    (EKS, "euw1-eks", "encryptionConfig.provider.keyArn", "eu-west-1"),
    (CACHE, "euw1-cache", "kmsKeyId", "eu-west-1"),
    (SECRET, "euw1-sg01-master", "kmsKeyId", "eu-west-1"),
]


@pytest.mark.parametrize(("resource_type", "name", "path", "region"), KMS_PATHS, ids=[p[2] for p in KMS_PATHS])
def test_p5_key_of_another_region(prod: Plan, resource_type: str, name: str, path: str, region: str) -> None:
    node: Any = prod.props(resource_type, name)
    for part in path.split("."):
        node = node[part]
    wrong = _arn_in(node, "us-east-1")
    prod.set(resource_type, name, path, wrong)
    assert run("P5", prod) == [
        f"[P5] {name}: {path} {wrong} is a key in us-east-1, not the resource's region {region}"]


def test_p5_secret_replica_uses_its_own_region(prod: Plan) -> None:
    replicas = prod.props(SECRET, "use1-sg01-master")["replicas"]
    assert replicas[0]["region"] == "eu-west-1"
    wrong = _arn_in(replicas[0]["kmsKeyId"], "us-east-1")
    prod.set(SECRET, "use1-sg01-master", "replicas.0.kmsKeyId", wrong)
    assert run("P5", prod) == [
        f"[P5] use1-sg01-master: replicas.0.kmsKeyId {wrong} is a key in us-east-1, not the replica's region "
        "eu-west-1"]


def test_p5_key_ids_and_aliases_resolve_in_the_resource_region(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-euw1", "kmsKeyId", "alias/platform-rds")
    assert run("P5", prod) == []


def test_p5_fails_closed_on_unknown_values(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-euw1", "kmsKeyId", UNKNOWN_STRING_VALUE)
    assert run("P5", prod) == ["[P5] use1-sg01-euw1: kmsKeyId is unknown during preview; failing closed"]
    replica = Plan(prod.doc).set(SECRET, "use1-sg01-master", "replicas.1.kmsKeyId", UNKNOWN_STRING_VALUE)
    assert run("P5", replica) == [
        "[P5] use1-sg01-master: replicas.1.kmsKeyId is unknown during preview; failing closed"]


# ---------------------------------------------------------------------------------------------- P6 MSK


def test_p6_brokers_not_a_multiple_of_subnets(prod: Plan) -> None:
    prod.set(MSK, "use1-kafka", "numberOfBrokerNodes", 7)
    assert run("P6", prod) == [
        "[P6] use1-kafka: numberOfBrokerNodes 7 is not a multiple of the 3 brokerNodeGroupInfo.clientSubnets"]


def test_p6_two_subnets_in_prod_but_not_in_dev(prod: Plan, dev: Plan) -> None:
    subnets = prod.props(MSK, "use1-kafka")["brokerNodeGroupInfo"]["clientSubnets"]
    prod.set(MSK, "use1-kafka", "brokerNodeGroupInfo.clientSubnets", subnets[:2])
    assert run("P6", prod) == [
        "[P6] use1-kafka: brokerNodeGroupInfo.clientSubnets has 2 subnets; prod needs at least 3"]
    dev_subnets = dev.props(MSK, "use1-kafka")["brokerNodeGroupInfo"]["clientSubnets"]
    dev.set(MSK, "use1-kafka", "brokerNodeGroupInfo.clientSubnets", dev_subnets[:2])
    dev.set(MSK, "use1-kafka", "numberOfBrokerNodes", 2)
    dev.set(MSK_CONFIGURATION, "use1-kafka", "serverProperties",
            "default.replication.factor=2\nmin.insync.replicas=1\n")
    assert run("P6", dev, DEV) == []


def test_p6_subnets_sharing_a_zone(prod: Plan) -> None:
    ids = [prod.props(SUBNET, n)["id"] for n in ("use1-private-az1", "use1-data-az1", "use1-private-az2")]
    prod.set(MSK, "use1-kafka", "brokerNodeGroupInfo.clientSubnets", ids)
    assert run("P6", prod) == [
        "[P6] use1-kafka: brokerNodeGroupInfo.clientSubnets share availability zones (use1-az1, use1-az1, "
        "use1-az2); each must be in its own zone"]


def test_p6_broker_count_missing(prod: Plan) -> None:
    prod.set(MSK, "use1-kafka", "numberOfBrokerNodes", REMOVE)
    assert run("P6", prod) == ["[P6] use1-kafka: numberOfBrokerNodes is not set"]


def test_p6_configuration_missing_or_dangling(prod: Plan) -> None:
    prod.set(MSK, "use1-kafka", "configurationInfo", REMOVE)
    assert run("P6", prod) == [
        "[P6] use1-kafka: configurationInfo.arn is not set; default.replication.factor and min.insync.replicas "
        "cannot be verified"]
    other = Plan(prod.doc).set(MSK, "use1-kafka", "configurationInfo.arn", "arn:aws:kafka:us-east-1:1:configuration/x")
    assert run("P6", other) == [
        "[P6] use1-kafka: configurationInfo.arn arn:aws:kafka:us-east-1:1:configuration/x names no msk "
        "Configuration in the stack"]


@pytest.mark.parametrize(("properties", "message"), [
    ("default.replication.factor=25\nmin.insync.replicas=2\n",
     "serverProperties default.replication.factor 25 exceeds the 24 brokers of use1-kafka"),
    ("default.replication.factor=3\nmin.insync.replicas=3\n",
     "serverProperties min.insync.replicas 3 must be below default.replication.factor 3"),
    ("default.replication.factor=3\n",
     "serverProperties min.insync.replicas must be set to a number (got None)"),
], ids=["rf-over-brokers", "isr-equals-rf", "isr-missing"])
def test_p6_replication_settings(prod: Plan, properties: str, message: str) -> None:
    prod.set(MSK_CONFIGURATION, "use1-kafka", "serverProperties", properties)
    assert run("P6", prod) == [f"[P6] use1-kafka: {message}"]


# -------------------------------------------------------------------------------------------- P7 Redis


@pytest.mark.parametrize(("path", "value", "message"), [
    ("numNodeGroups", REMOVE, "numNodeGroups is not set; it must be at least 1"),
    ("numNodeGroups", 0, "numNodeGroups must be at least 1 (got 0)"),
    ("replicasPerNodeGroup", 0, "replicasPerNodeGroup must be at least 1 (got 0)"),
    ("replicasPerNodeGroup", REMOVE, "replicasPerNodeGroup is not set; it must be at least 1"),
    ("automaticFailoverEnabled", False, "automaticFailoverEnabled must be true (got False)"),
    ("automaticFailoverEnabled", REMOVE, "automaticFailoverEnabled is not set; it must be true"),
    ("multiAzEnabled", False, "multiAzEnabled must be true (got False)"),
    ("multiAzEnabled", REMOVE, "multiAzEnabled is not set; it must be true"),
], ids=lambda v: str(v) if isinstance(v, str | int) else "remove")
def test_p7_sizing(prod: Plan, path: str, value: Any, message: str) -> None:
    prod.set(CACHE, "use1-cache", path, value)
    assert run("P7", prod) == [f"[P7] use1-cache: {message}"]


def test_p7_replicas_are_required_in_prod_only(dev: Plan) -> None:
    dev.set(CACHE, "use1-cache", "replicasPerNodeGroup", 0)
    assert run("P7", dev, DEV) == []


def test_p7_node_type_differs_across_regions(prod: Plan) -> None:
    prod.set(CACHE, "euw1-cache", "nodeType", "cache.r7g.large")
    assert run("P7", prod) == [
        "[P7] elasticache ReplicationGroup nodeType differs across regions: aps1-cache 'cache.r7g.xlarge' "
        "(ap-south-1), apse1-cache 'cache.r7g.xlarge' (ap-southeast-1), euw1-cache 'cache.r7g.large' (eu-west-1), "
        "use1-cache 'cache.r7g.xlarge' (us-east-1)"]


def test_p7_engine_version_differs_across_regions(dev: Plan) -> None:
    dev.set(CACHE, "euw1-cache", "engineVersion", "7.2")
    assert run("P7", dev, DEV) == [
        "[P7] elasticache ReplicationGroup engineVersion differs across regions: euw1-cache '7.2' (eu-west-1), "
        "use1-cache '8.0' (us-east-1)"]


# -------------------------------------------------------------------------------------- P8 protection

PROTECTED = [(GLOBAL_CLUSTER, "use1-sg01-global"), (CLUSTER, "use1-sg01-euw1"), (INSTANCE, "use1-sg01-use1-1"),
             (MSK, "use1-kafka"), (CACHE, "use1-cache"), (EKS, "use1-eks"), (KMS_KEY, "use1-rds-key"),
             (SECRET, "use1-sg01-master")]


@pytest.mark.parametrize(("resource_type", "name"), PROTECTED, ids=[p[1] for p in PROTECTED])
def test_p8_prod_stateful_resource_without_protect(prod: Plan, resource_type: str, name: str) -> None:
    prod.entry(resource_type, name)["protect"] = False
    assert run("P8", prod) == [f"[P8] {name}: opts.protect must be true (got False)"]
    assert run("P8", prod, DEV) == []


PROTECTION_PROPS = [
    (GLOBAL_CLUSTER, "use1-sg01-global", "deletionProtection", False, "deletionProtection must be true (got False)"),
    (GLOBAL_CLUSTER, "use1-sg01-global", "deletionProtection", REMOVE,
     "deletionProtection is not set; it must be true"),
    (CLUSTER, "use1-sg01-use1", "deletionProtection", False, "deletionProtection must be true (got False)"),
    (CLUSTER, "use1-sg01-use1", "skipFinalSnapshot", True, "skipFinalSnapshot must be false (got True)"),
    (CLUSTER, "use1-sg01-use1", "finalSnapshotIdentifier", REMOVE,
     "finalSnapshotIdentifier is not set; it must be set"),
    (CLUSTER, "use1-sg01-use1", "finalSnapshotIdentifier", "", "finalSnapshotIdentifier must be set (got '')"),
    (EKS, "use1-eks", "deletionProtection", False, "deletionProtection must be true (got False)"),
    (CACHE, "use1-cache", "finalSnapshotIdentifier", REMOVE, "finalSnapshotIdentifier is not set; it must be set"),
    (KMS_KEY, "use1-rds-key", "deletionWindowInDays", 7, "deletionWindowInDays must be 30 (got 7)"),
    (SECRET, "use1-sg01-master", "recoveryWindowInDays", 0, "recoveryWindowInDays must be at least 7 (got 0)"),
    (LB, "use1-edge", "enableDeletionProtection", False, "enableDeletionProtection must be true (got False)"),
    (LB, "use1-edge", "enableDeletionProtection", REMOVE, "enableDeletionProtection is not set; it must be true"),
]


@pytest.mark.parametrize(("resource_type", "name", "path", "value", "message"), PROTECTION_PROPS,
                         ids=[f"{p[1]}:{p[2]}:{'remove' if p[3] is REMOVE else p[3]!r}" for p in PROTECTION_PROPS])
def test_p8_provider_level_protection(prod: Plan, resource_type: str, name: str, path: str, value: Any,
                                      message: str) -> None:
    prod.set(resource_type, name, path, value)
    assert run("P8", prod) == [f"[P8] {name}: {message}"]
    assert run("P8", prod, DEV) == []


def test_p8_provider_defaults_that_are_safe_pass(prod: Plan) -> None:
    prod.set(KMS_KEY, "use1-rds-key", "deletionWindowInDays", REMOVE)  # defaults to 30
    prod.set(SECRET, "use1-sg01-master", "recoveryWindowInDays", REMOVE)  # defaults to 30
    prod.set(CLUSTER, "use1-sg01-use1", "skipFinalSnapshot", REMOVE)  # defaults to false
    assert run("P8", prod) == []


def test_p8_does_not_report_in_dev(dev_resources: list[PolicyResource], prod_resources: list[PolicyResource]) -> None:
    assert [r for r in dev_resources if r.resource_type == EKS and not r.opts.protect]  # dev is unprotected
    assert run("P8", dev_resources, DEV) == []
    assert run("P8", dev_resources, {}) == []
    assert run("P8", dev_resources, PROD)  # the same resources would fail as prod


# ------------------------------------------------------------------------------------- P9 replacement


def test_p9_member_without_replication_source_in_ignore_changes(prod: Plan) -> None:
    prod.entry(CLUSTER, "use1-sg01-euw1")["ignoreChanges"] = ["engineVersion", "globalClusterIdentifier"]
    assert run("P9", prod) == [
        "[P9] use1-sg01-euw1: opts.ignore_changes lacks replicationSourceIdentifier; a member of global cluster "
        "prod-use1-sg01 must ignore globalClusterIdentifier and replicationSourceIdentifier (got "
        "['engineVersion', 'globalClusterIdentifier'])"]
    assert run("P9", prod, DEV) == []


def test_p9_member_without_ignore_changes(prod: Plan) -> None:
    prod.entry(CLUSTER, "use1-sg01-use1")["ignoreChanges"] = []
    assert run("P9", prod) == [
        "[P9] use1-sg01-use1: opts.ignore_changes lacks globalClusterIdentifier, replicationSourceIdentifier; a "
        "member of global cluster prod-use1-sg01 must ignore globalClusterIdentifier and "
        "replicationSourceIdentifier (got [])"]


def test_p9_standalone_cluster_needs_nothing() -> None:
    standalone = stack_resource(CLUSTER, {"clusterIdentifier": "solo"}, "solo", region="us-east-1")
    assert run("P9", [standalone]) == []


# -------------------------------------------------------------------------------------------- P10 cost


def test_p10_monthly_cost_of_the_plans(prod_resources: list[PolicyResource],
                                       dev_resources: list[PolicyResource]) -> None:
    total, components, unpriced = monthly_cost(prod_resources)
    assert (total, unpriced) == (703800.69, [])
    assert components == {"aurora": 261472.86, "cache": 341978.72, "eks": 11569.63, "kafka": 88385.28,
                          "network": 394.2}
    total, components, unpriced = monthly_cost(dev_resources)
    assert (total, "cache" in components, len(unpriced)) == (2553.52, False, 2)


def test_p10_over_budget(dev_resources: list[PolicyResource]) -> None:
    assert run("P10", dev_resources, {**DEV, "monthlyBudgetUsd": 2500}) == [*DEV_UNPRICED,
        "[P10] estimated monthly cost $2,553.52 exceeds monthlyBudgetUsd $2,500.00 (aurora $805.92, eks $728.38, "
        "kafka $953.52, network $65.70; on-demand list prices x 730 h, node groups at desired size)"]
    assert run("P10", dev_resources, {**DEV, "monthlyBudgetUsd": 2553.52}) == DEV_UNPRICED


def test_p10_without_a_budget_does_not_apply(dev: Plan) -> None:
    dev.set(INSTANCE, "use1-sg01-use1-1", "instanceClass", "db.x2g.large")
    assert run("P10", dev, DEV) == []


def test_p10_unknown_price_names_the_sku(dev: Plan) -> None:
    dev.set(INSTANCE, "use1-sg01-use1-1", "instanceClass", "db.x2g.large")
    dev.set(NODE_GROUP, "use1-system", "instanceTypes", ["t4g.nano"])
    assert run("P10", dev, {**DEV, "monthlyBudgetUsd": 5000}) == [
        "[P10] use1-sg01-use1-1: no list price for rds/db.x2g.large in us-east-1; the cost estimate cannot "
        "include it",
        "[P10] use1-system: no list price for ec2/t4g.nano in us-east-1; the cost estimate cannot include it",
        *DEV_UNPRICED]


def test_p10_extended_eks_support_alone_costs_nothing_more(dev: Plan) -> None:
    # Only a version past standard support is billed the extended rate, which the plan cannot see.
    dev.set(EKS, "use1-eks", "upgradePolicy.supportType", "EXTENDED")
    assert monthly_cost(dev.resources())[0] == 2553.52


def test_p10_prices_each_region_at_its_own_price_else_the_base_regions_estimated(
        prod_resources: list[PolicyResource]) -> None:
    from guardrails.cost import cost_lines

    lines = [line for line in cost_lines(prod_resources) if line.item == "rds/db.r7g.4xlarge"]
    assert {line.region for line in lines} == {"us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1"}
    assert {(line.region, line.estimated) for line in lines if line.region == "us-east-1"} == {("us-east-1", False)}
    assert all(line.estimated for line in lines if line.region != "us-east-1")
    assert {line.unit_usd for line in lines} == {2.211}


# ------------------------------------------------------------------------------------- P11 regions


def test_p11_unapproved_region(prod_resources: list[PolicyResource]) -> None:
    found = run("P11", prod_resources, {**PROD, "approvedRegions": ["us-east-1", "eu-west-1", "ap-southeast-1"]})
    assert "[P11] aps1-vpc: region ap-south-1 is not an approved region (us-east-1, eu-west-1, ap-southeast-1)" \
        in found
    aps1 = [r for r in prod_resources if r.resource_type.startswith("aws:") and r.provider is not None
            and r.provider.props.get("region") == "ap-south-1"]
    assert len(found) == len(aps1)


def test_p11_region_missing_a_tier(prod: Plan) -> None:
    prod.remove(CACHE, "euw1-cache")
    assert run("P11", prod) == [
        "[P11] eu-west-1: has 0 elasticache ReplicationGroup resources; every region needs exactly 1"]


def test_p11_region_with_two_vpcs(prod: Plan) -> None:
    extra = copy.deepcopy(next(r for r in prod.items if r["type"] == VPC and r["name"] == "use1-vpc"))
    extra["name"], extra["urn"] = "use1-vpc-2", extra["urn"] + "-2"
    prod.add(extra)
    assert run("P11", prod) == ["[P11] us-east-1: has 2 ec2 Vpc resources; every region needs exactly 1"]


def test_p11_hand_made_region_without_aurora_and_resource_without_region() -> None:
    stack = [stack_resource(t, {}, f"r{i}", region="eu-west-1") for i, t in enumerate((VPC, EKS, MSK, CACHE))]
    stack.append(stack_resource("aws:s3/bucket:Bucket", {}, "stray"))
    assert run("P11", stack) == [
        "[P11] stray: has no determinable region (no region input, no provider region)",
        "[P11] eu-west-1: has no rds Cluster; every region needs at least 1"]


# --------------------------------------------------------------------------------------- P12 addresses


def test_p12_overlapping_vpcs(prod: Plan) -> None:
    prod.set(VPC, "aps1-vpc", "cidrBlock", "10.10.128.0/17")
    found = run("P12", prod)
    assert found[0] == ("[P12] aps1-vpc, use1-vpc: cidrBlock 10.10.128.0/17 and 10.10.0.0/16 overlap; VPC ranges "
                        "must be pairwise disjoint")
    assert all("is outside aps1-vpc's cidrBlock 10.10.128.0/17" in m for m in found[1:])  # its subnets moved out


def test_p12_subnet_outside_its_vpc(prod: Plan) -> None:
    prod.set(SUBNET, "use1-private-az1", "cidrBlock", "10.99.0.0/19")
    assert run("P12", prod) == [
        "[P12] use1-private-az1: cidrBlock 10.99.0.0/19 is outside use1-vpc's cidrBlock 10.10.0.0/16"]


def test_p12_subnet_of_an_unknown_vpc_and_invalid_cidr(prod: Plan) -> None:
    prod.set(SUBNET, "use1-private-az1", "vpcId", "vpc-elsewhere")
    prod.set(SUBNET, "use1-data-az1", "cidrBlock", "10.10.300.0/22")
    assert run("P12", prod) == [
        "[P12] use1-data-az1: cidrBlock '10.10.300.0/22' is not a valid CIDR",
        "[P12] use1-private-az1: vpcId vpc-elsewhere names no ec2 Vpc in the stack; its range cannot be verified"]


def test_p12_fewer_than_three_zones_in_prod_only(prod: Plan, dev: Plan) -> None:
    for name in [r["name"] for r in prod.items if r["type"] == SUBNET and r["name"].startswith("use1-")]:
        prod.set(SUBNET, name, "availabilityZoneId", "use1-az1")
    assert run("P12", prod) == [
        "[P12] use1-vpc: subnets span 1 availability zones (use1-az1); prod needs at least 3"]
    for name in [r["name"] for r in dev.items if r["type"] == SUBNET and r["name"].startswith("use1-")]:
        dev.set(SUBNET, name, "availabilityZoneId", "use1-az1")
    assert run("P12", dev, DEV) == []


# ----------------------------------------------------------------------------------- P13 tier matrix


@pytest.mark.parametrize(("path", "value"), [("cidrIpv4", "10.10.0.0/16"), ("cidrIpv6", "::/0"),
                                             ("prefixListId", "pl-0123")])
def test_p13_address_based_ingress_to_a_data_tier(prod: Plan, path: str, value: str) -> None:
    prod.set(INGRESS, "use1-aurora-from-pgbouncer", "referencedSecurityGroupId", REMOVE)
    prod.set(INGRESS, "use1-aurora-from-pgbouncer", path, value)
    assert run("P13", prod) == [
        f"[P13] use1-aurora-from-pgbouncer: ingress to data-tier group use1-aurora via {path} {value!r}; data "
        "tiers admit only referencedSecurityGroupId"]


def test_p13_data_tier_admitting_another_data_tier(prod: Plan) -> None:
    aurora = prod.props(SECURITY_GROUP, "use1-aurora")["id"]
    prod.set(INGRESS, "use1-cache-from-workloads", "referencedSecurityGroupId", aurora)
    assert run("P13", prod) == [
        "[P13] use1-cache-from-workloads: ingress to data-tier group use1-cache referencedSecurityGroupId admits "
        "data-tier group use1-aurora; data tiers must not reach each other"]


def test_p13_reference_to_a_group_outside_the_stack(prod: Plan) -> None:
    prod.set(INGRESS, "use1-cache-from-workloads", "referencedSecurityGroupId", "sg-elsewhere")
    assert run("P13", prod) == [
        "[P13] use1-cache-from-workloads: ingress to data-tier group use1-cache referencedSecurityGroupId "
        "references sg-elsewhere, which is no security group in the stack; its tier cannot be verified"]


def test_p13_inline_cidr_ingress_on_a_data_tier(prod: Plan) -> None:
    prod.set(SECURITY_GROUP, "use1-aurora", "ingress",
             [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]}])
    assert run("P13", prod) == [
        "[P13] use1-aurora: ingress.0.cidrBlocks ['0.0.0.0/0'] admits addresses; data tiers admit only "
        "security-group references"]


def test_p13_cidr_ingress_to_a_non_data_group_is_out_of_scope(prod: Plan) -> None:
    prod.set(INGRESS, "use1-gateway-from-edge", "cidrIpv4", "0.0.0.0/0")
    assert run("P13", prod) == []


# ----------------------------------------------------------------------------------- P14 credentials


def test_p14_auth_token_instead_of_user_groups(prod: Plan) -> None:
    prod.set(CACHE, "use1-cache", "authToken", "[secret]")
    prod.set(CACHE, "use1-cache", "userGroupIds", REMOVE)
    assert run("P14", prod) == [
        "[P14] use1-cache: authToken is set; use userGroupIds (RBAC users) instead of a shared AUTH token",
        "[P14] use1-cache: userGroupIds is not set; Valkey/Redis access must go through RBAC user groups"]


def test_p14_empty_user_groups(prod: Plan) -> None:
    prod.set(CACHE, "euw1-cache", "userGroupIds", [])
    assert run("P14", prod) == [
        "[P14] euw1-cache: userGroupIds is not set; Valkey/Redis access must go through RBAC user groups"]


def test_p14_master_secret_missing_a_secondary_region(prod: Plan) -> None:
    replicas = prod.props(SECRET, "use1-sg01-master")["replicas"]
    prod.set(SECRET, "use1-sg01-master", "replicas", [r for r in replicas if r["region"] != "ap-southeast-1"])
    assert run("P14", prod) == [
        "[P14] use1-sg01-master: prod/aurora/use1-sg01/master has no replicas entry for ap-southeast-1, where the "
        "global cluster of use1-sg01 has secondaries"]
    prod.set(SECRET, "use1-sg01-master", "replicas", REMOVE)
    assert run("P14", prod) == [
        "[P14] use1-sg01-master: prod/aurora/use1-sg01/master has no replicas entry for ap-southeast-1, eu-west-1, "
        "where the global cluster of use1-sg01 has secondaries"]


def test_p14_master_secret_of_an_unknown_group(prod: Plan) -> None:
    prod.set(SECRET, "use1-sg01-master", "name", "prod/aurora/zz-sg09/master")
    assert run("P14", prod) == [
        "[P14] use1-sg01-master: no Aurora cluster has tags.shard-group zz-sg09; the regions "
        "prod/aurora/zz-sg09/master must replicate to cannot be determined"]


PLAINTEXT = ("is a plaintext value, not a random.RandomPassword result; generate the credential in the stack so it "
             "stays a Pulumi secret")


def test_p14_plaintext_master_password(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-use1", "masterPassword", "hunter2-hunter2")
    assert run("P14", prod) == [f"[P14] use1-sg01-use1: masterPassword {PLAINTEXT}"]


def test_p14_masked_literal_is_told_apart_by_its_dependencies(prod: Plan) -> None:
    # The offline plan masks every secret as "[secret]", generated or typed in; the harness hands the rule the
    # engine's property dependencies as `make plan` does, and a literal has no RandomPassword among them.
    assert prod.props(CLUSTER, "use1-sg01-use1")["masterPassword"] == "[secret]"
    assert run("P14", prod) == []
    del prod.entry(CLUSTER, "use1-sg01-use1")["propertyDependencies"]["masterPassword"]
    assert run("P14", prod) == [f"[P14] use1-sg01-use1: masterPassword {PLAINTEXT}"]


def test_p14_master_password_missing_on_a_primary(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-use1", "masterPassword", REMOVE)
    assert run("P14", prod) == [
        "[P14] use1-sg01-use1: masterUsername is set but masterPassword is not; set it from a random.RandomPassword "
        "result (manageMasterUserPassword does not work on global clusters)"]
    prod.set(CLUSTER, "use1-sg01-use1", "manageMasterUserPassword", True)
    assert run("P14", prod) == []


def test_p14_master_password_unknown_during_preview_is_computed_not_typed_in(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-use1", "masterPassword", UNKNOWN_STRING_VALUE)
    assert run("P14", prod) == []


def test_p14_plaintext_cache_user_passwords(prod: Plan) -> None:
    prod.set(CACHE_USER, "use1-cache-app", "authenticationMode", {"type": "password", "passwords": ["hunter2"]})
    # A new passwords input has no dependency on a RandomPassword: even the masked "[secret]" is typed in.
    prod.set(CACHE_USER, "euw1-cache-app", "passwords", ["[secret]", "hunter2"])
    assert run("P14", prod) == [f"[P14] euw1-cache-app: passwords.0 {PLAINTEXT}",
                                f"[P14] euw1-cache-app: passwords.1 {PLAINTEXT}",
                                f"[P14] use1-cache-app: authenticationMode.passwords.0 {PLAINTEXT}"]


def test_p14_plaintext_secret_string(prod: Plan) -> None:
    prod.set(SECRET_VERSION, "use1-sg01-master", "secretString", json.dumps({"username": "x", "password": "hunter2"}))
    del prod.entry(SECRET_VERSION, "use1-sg01-master")["propertyDependencies"]["secretString"]  # typed in
    assert run("P14", prod) == [
        "[P14] use1-sg01-master: secretString holds no random.RandomPassword result; build the secret from a "
        "generated password, never a plaintext value"]


def _cluster(name: str, **props: Any) -> PolicyResource:
    return stack_resource(CLUSTER, {"clusterIdentifier": name, "engine": "aurora-postgresql", **props}, name,
                          region="us-east-1")


def test_p14_as_the_policy_server_sees_it() -> None:
    """`pulumi preview` hands policies secrets unwrapped: a generated password arrives as its plaintext value."""
    generated = stack_resource(RANDOM_PASSWORD, {"length": 40, "result": "Zq8#generated-by-random"}, "db-master")
    from_generator = _cluster("db", masterUsername="platform_admin", masterPassword="Zq8#generated-by-random")
    typed_in = _cluster("db", masterUsername="platform_admin", masterPassword="from-pulumi-config-secret")
    secret = stack_resource(SECRET_VERSION, {"secretString": json.dumps({"password": "Zq8#generated-by-random"})},
                            "db-master")
    assert run("P14", [generated, from_generator, secret]) == []
    assert run("P14", [generated, typed_in, secret]) == [f"[P14] db: masterPassword {PLAINTEXT}"]
    # Without a generator in the stack, even a masked (secret) value is typed in: a config secret, say.
    assert run("P14", [_cluster("db", masterUsername="platform_admin", masterPassword="[secret]")]) == [
        f"[P14] db: masterPassword {PLAINTEXT}"]


def test_p14_secondaries_and_managed_passwords_need_no_master_password() -> None:
    secondary = _cluster("db-euw1", globalClusterIdentifier="g")
    managed = _cluster("solo", masterUsername="platform_admin", manageMasterUserPassword=True)
    restored = _cluster("restored", masterUsername="platform_admin", snapshotIdentifier="snap-1")
    assert run("P14", [secondary, managed, restored]) == []


# ------------------------------------------------------------------------------------- P15 versions


@pytest.mark.parametrize(("value", "message"), [
    ("17", "engineVersion must be pinned to MAJOR.MINOR (got '17')"),
    ("17.5.1", "engineVersion must be pinned to MAJOR.MINOR (got '17.5.1')"),
    (REMOVE, "engineVersion is not set; it must be pinned to MAJOR.MINOR"),
], ids=["major-only", "patch", "missing"])
def test_p15_engine_version_pinned(prod: Plan, value: Any, message: str) -> None:
    prod.set(CLUSTER, "use1-sg01-euw1", "engineVersion", value)
    assert run("P15", prod) == [f"[P15] use1-sg01-euw1: {message}"]


def test_p15_major_version_upgrade_allowed_in_prod_only(prod: Plan) -> None:
    prod.set(CLUSTER, "use1-sg01-use1", "allowMajorVersionUpgrade", True)
    assert run("P15", prod) == [
        "[P15] use1-sg01-use1: allowMajorVersionUpgrade must not be true in prod (got True)"]
    assert run("P15", prod, DEV) == []


def test_p15_kafka_versions_differ(dev: Plan) -> None:
    dev.set(MSK, "euw1-kafka", "kafkaVersion", "3.8.x")
    assert run("P15", dev, DEV) == [
        "[P15] msk Cluster kafkaVersion differs across regions: euw1-kafka '3.8.x' (eu-west-1), use1-kafka "
        "'3.9.x.kraft' (us-east-1)"]


def test_p15_eks_versions_within_one_minor(dev: Plan) -> None:
    dev.set(EKS, "euw1-eks", "version", "1.34")
    assert run("P15", dev, DEV) == []
    dev.set(EKS, "euw1-eks", "version", "1.33")
    assert run("P15", dev, DEV) == [
        "[P15] eks Cluster version spans more than one minor across regions: euw1-eks '1.33' (eu-west-1), "
        "use1-eks '1.35' (us-east-1)"]
    dev.set(EKS, "euw1-eks", "version", "latest")
    assert run("P15", dev, DEV) == ["[P15] euw1-eks: version must be MAJOR.MINOR (got 'latest')"]


def test_p15_cache_engine_versions_differ(dev: Plan) -> None:
    dev.set(CACHE, "use1-cache", "engineVersion", "7.2")
    assert run("P15", dev, DEV) == [
        "[P15] elasticache ReplicationGroup engineVersion differs across regions: euw1-cache '8.0' (eu-west-1), "
        "use1-cache '7.2' (us-east-1)"]


# ---------------------------------------------------------------------------------------- TAG1 tags


def _default_tags(plan: Plan, provider: str) -> dict[str, Any]:
    return dict(json.loads(plan.props(PROVIDER, provider)["defaultTags"])["tags"])


def _set_default_tags(plan: Plan, provider: str, tags: dict[str, Any]) -> Plan:
    return plan.set(PROVIDER, provider, "defaultTags", json.dumps({"tags": tags}))


def _users(plan: Plan, provider: str, tag: str) -> list[str]:
    urn = next(r["urn"] for r in plan.items if r["type"] == PROVIDER and r["name"] == provider)
    return sorted(r["name"] for r in plan.items if r["type"].startswith("aws:") and r["provider"] == urn
                  and tag not in ({**r["inputs"], **r["outputs"]}.get("tags") or {}))


def test_tag1_provider_lacks_a_required_tag(prod_infra: Plan) -> None:
    prod = prod_infra
    tags = _default_tags(prod, "aws-use1")
    del tags["owner"]
    users = _users(prod, "aws-use1", "owner")
    assert run("TAG1", _set_default_tags(prod, "aws-use1", tags)) == [
        f"[TAG1] provider aws-use1: defaultTags lacks owner for {len(users)} AWS resources (e.g. {users[0]}); "
        "required tags: project, environment, owner, cost-center"]


def test_tag1_required_tags_come_from_config(prod_plan: dict[str, Any]) -> None:
    found = run("TAG1", plan_resources(_infra_only(prod_plan)), {**PROD, "requiredTags": ["project", "team"]})
    assert len(found) == 4 and all(re.match(r"\[TAG1\] provider aws-\w+: defaultTags lacks team for \d+ AWS ", m)
                                   for m in found)


def test_tag1_environment_tag_matches_the_stack(prod_infra: Plan) -> None:
    prod = prod_infra
    _set_default_tags(prod, "aws-euw1", {**_default_tags(prod, "aws-euw1"), "environment": "dev"})
    assert run("TAG1", prod) == [
        "[TAG1] provider aws-euw1: defaultTags environment is 'dev', but the stack's environment is 'prod'"]


def test_tag1_resource_tags_cover_what_the_provider_lacks() -> None:
    tagged = stack_resource("aws:s3/bucket:Bucket", {"tags": dict.fromkeys(
        ("project", "environment", "owner", "cost-center"), "x")}, "tagged", region="us-east-1")
    untagged = stack_resource("aws:s3/bucket:Bucket", {}, "untagged", region="us-east-1")
    assert run("TAG1", [tagged]) == []
    assert run("TAG1", [untagged]) == [
        "[TAG1] provider aws: defaultTags lacks project, environment, owner, cost-center for 1 AWS resources "
        "(e.g. untagged); required tags: project, environment, owner, cost-center"]


def test_tag1_invalid_default_tags(prod_infra: Plan) -> None:
    prod = prod_infra
    prod.set(PROVIDER, "aws-use1", "defaultTags", "{oops")
    assert run("TAG1", prod) == ["[TAG1] provider aws-use1: defaultTags is not valid JSON with a tags map"]


# ------------------------------------------------------------------------------- fail closed, broadly

UNKNOWN_CASES = [
    ("P4", NODE_GROUP, "euw1-workloads", "scalingConfig.maxSize", UNKNOWN_NUMBER_VALUE),
    ("P6", MSK, "use1-kafka", "configurationInfo.arn", UNKNOWN_STRING_VALUE),
    ("P7", CACHE, "use1-cache", "multiAzEnabled", UNKNOWN_STRING_VALUE),
    ("P8", CLUSTER, "use1-sg01-use1", "deletionProtection", UNKNOWN_STRING_VALUE),
    ("P12", SUBNET, "use1-private-az1", "vpcId", UNKNOWN_STRING_VALUE),
    ("P13", INGRESS, "use1-cache-from-workloads", "referencedSecurityGroupId", UNKNOWN_STRING_VALUE),
    ("P15", CLUSTER, "use1-sg01-euw1", "engineVersion", UNKNOWN_STRING_VALUE),
]


@pytest.mark.parametrize(("rule_id", "resource_type", "name", "path", "sentinel"), UNKNOWN_CASES,
                         ids=[c[0] for c in UNKNOWN_CASES])
def test_mandatory_rules_fail_closed_on_unknown_values(prod: Plan, rule_id: str, resource_type: str, name: str,
                                                       path: str, sentinel: str) -> None:
    prod.set(resource_type, name, path, sentinel)
    # ... and the engine's dependencies do not say where it comes from (they would settle P6, P12 and P13).
    prod.entry(resource_type, name).get("propertyDependencies", {}).pop(path.split(".")[0], None)
    assert run(rule_id, prod) == [f"[{rule_id}] {name}: {path} is unknown during preview; failing closed"]


def test_advisory_rules_skip_unknown_values(dev: Plan) -> None:
    dev.set(INSTANCE, "use1-sg01-use1-1", "instanceClass", UNKNOWN_STRING_VALUE)
    assert run("P10", dev, {**DEV, "monthlyBudgetUsd": 1_000_000}) == DEV_UNPRICED


# ------------------------------------------------------------------------- first preview of a stack
# `pulumi preview` of an infra stack before its first `pulumi up`: its own outputs (ids, ARNs) are unknown, and the
# engine's property dependencies name the resource each computed input came from.



class PreviewPlan(Plan):
    """A preview plan: its document says `"preview": true`, so offline.guardrails.stack_view reads "[unknown]" as
    the SDK's unknown sentinel; resources carry their property dependencies."""

    def depend(self, resource_type: str, name: str, prop: str, *sources: tuple[str, str] | str) -> PreviewPlan:
        """Make prop's value come from sources ((type, name) of the plan, or a URN outside it); none: from nothing."""
        urns = [s if isinstance(s, str) else self.items[self._index(*s)]["urn"] for s in sources]
        self.entry(resource_type, name).setdefault("propertyDependencies", {})[prop] = urns
        return self

    def add_copy(self, resource_type: str, name: str, new_name: str, **inputs: Any) -> PreviewPlan:
        entry = copy.deepcopy(self.items[self._index(resource_type, name)])
        entry.update(name=new_name, urn=entry["urn"].rsplit("::", 1)[0] + f"::{new_name}")
        entry["inputs"].update(inputs)
        entry["outputs"].update(inputs)
        self.add(entry)
        return self


@pytest.fixture(scope="module")
def preview_doc() -> dict[str, Any]:
    return document_of("dev-us-east-1", preview=True)


@pytest.fixture
def preview(preview_doc: dict[str, Any]) -> PreviewPlan:
    return PreviewPlan(preview_doc)


FIRST_PREVIEW_RULES = ("P3", "P4", "P5", "P6", "P12", "P13", "P14")


@pytest.mark.parametrize("rule_id", FIRST_PREVIEW_RULES)
@pytest.mark.parametrize("config", [DEV, PROD], ids=["dev", "prod"])
def test_first_preview_of_an_infra_stack_passes(rule_id: str, config: dict[str, Any], preview: PreviewPlan) -> None:
    assert run(rule_id, preview, config) == []


def test_first_preview_reads_unknowns_where_the_dependencies_settle_them(preview: PreviewPlan) -> None:
    """Without property dependencies (what the engine would not hand over), every unknown still fails closed."""
    bare = preview.resources()
    for view in bare:
        view.property_dependencies = {}
    assert "[P12] use1-data-az1: vpcId is unknown during preview; failing closed" in run("P12", bare)
    assert "[P5] use1-sg01-use1: kmsKeyId is unknown during preview; failing closed" in run("P5", bare)
    assert "[P6] use1-kafka: configurationInfo.arn is unknown during preview; failing closed" in run("P6", bare)


STACK_REFERENCE_URN = "urn:pulumi:dev-us-east-1::global-platform::pulumi:pulumi:StackReference::dev-global"


def test_p3_p4_p14_first_preview_member_of_no_settled_global_cluster(preview: PreviewPlan) -> None:
    preview.depend(CLUSTER, "use1-sg01-use1", "globalClusterIdentifier")  # the engine names no source
    assert run("P3", preview, DEV) == [
        "[P3] use1-sg01-use1: globalClusterIdentifier is unknown during preview; failing closed",
        "[P3] use1-sg01-global: global cluster dev-use1-sg01 has no member clusters"]
    assert run("P4", preview, DEV) == [
        "[P4] use1-sg01-use1: globalClusterIdentifier is unknown during preview; failing closed"]
    assert run("P14", preview, DEV) == [
        "[P14] use1-sg01-use1: globalClusterIdentifier is unknown during preview; failing closed"]


def test_p3_first_preview_member_is_checked_against_its_global_cluster(preview: PreviewPlan) -> None:
    preview.set(CLUSTER, "use1-sg01-use1", "engineVersion", "16.4")
    assert run("P3", preview, DEV) == [
        "[P3] use1-sg01-use1: engineVersion must equal global cluster dev-use1-sg01's '17.5' (got '16.4')"]


def test_p4_first_preview_instance_of_no_settled_cluster(preview: PreviewPlan) -> None:
    preview.depend(INSTANCE, "use1-sg01-use1-1", "clusterIdentifier")
    assert run("P4", preview, DEV) == [
        "[P4] use1-sg01-use1-1: clusterIdentifier is unknown during preview; failing closed",
        "[P4] use1-sg01-use1: primary of dev-use1-sg01 has no instances"]


def test_p5_first_preview_key_of_another_region(preview: PreviewPlan) -> None:
    preview.set(KMS_KEY, "use1-rds-key", "region", "eu-west-1")
    assert run("P5", preview, DEV) == [
        "[P5] use1-sg01-use1: kmsKeyId comes from key use1-rds-key in eu-west-1, not the resource's region us-east-1",
        "[P5] use1-sg01-use1-1: performanceInsightsKmsKeyId comes from key use1-rds-key in eu-west-1, not the "
        "resource's region us-east-1"]


def test_p5_first_preview_unsettled_key_fails_closed(preview: PreviewPlan) -> None:
    preview.depend(CLUSTER, "use1-sg01-use1", "kmsKeyId", (KMS_KEY, "use1-rds-key"), (KMS_KEY, "use1-ebs-key"))
    preview.depend(INSTANCE, "use1-sg01-use1-1", "performanceInsightsKmsKeyId", STACK_REFERENCE_URN)
    assert run("P5", preview, DEV) == [
        "[P5] use1-sg01-use1: kmsKeyId is unknown during preview; failing closed",
        "[P5] use1-sg01-use1-1: performanceInsightsKmsKeyId is unknown during preview; failing closed"]


def test_p6_first_preview_reads_subnets_and_configuration_from_dependencies(preview: PreviewPlan) -> None:
    zones = PreviewPlan(preview.doc)
    zones.set(SUBNET, "use1-private-az2", "availabilityZoneId", "use1-az1")
    assert run("P6", zones, DEV) == [
        "[P6] use1-kafka: brokerNodeGroupInfo.clientSubnets share availability zones (use1-az1, use1-az1, use1-az4); "
        "each must be in its own zone"]
    settings = PreviewPlan(preview.doc)
    settings.set(MSK_CONFIGURATION, "use1-kafka", "serverProperties",
                 "default.replication.factor=3\nmin.insync.replicas=3\n")
    assert run("P6", settings, DEV) == [
        "[P6] use1-kafka: serverProperties min.insync.replicas 3 must be below default.replication.factor 3"]
    preview.set(MSK, "use1-kafka", "numberOfBrokerNodes", 4)
    assert run("P6", preview, DEV) == [
        "[P6] use1-kafka: numberOfBrokerNodes 4 is not a multiple of the 3 brokerNodeGroupInfo.clientSubnets"]


def test_p6_first_preview_unsettled_subnets_and_configuration_fail_closed(preview: PreviewPlan) -> None:
    preview.depend(MSK, "use1-kafka", "configurationInfo")
    preview.depend(MSK, "use1-kafka", "brokerNodeGroupInfo", (SUBNET, "use1-private-az1"),
                   (SECURITY_GROUP, "use1-kafka"))
    assert run("P6", preview, DEV) == [
        "[P6] use1-kafka: brokerNodeGroupInfo.clientSubnets is unknown during preview; failing closed",
        "[P6] use1-kafka: configurationInfo.arn is unknown during preview; failing closed"]


def test_p12_first_preview_subnet_outside_the_vpc_it_depends_on(preview: PreviewPlan) -> None:
    outside = PreviewPlan(preview.doc)
    outside.set(SUBNET, "use1-data-az1", "cidrBlock", "10.111.0.0/24")
    assert run("P12", outside, DEV) == [
        "[P12] use1-data-az1: cidrBlock 10.111.0.0/24 is outside use1-vpc's cidrBlock 10.110.0.0/16"]
    preview.add_copy(VPC, "use1-vpc", "use1-other-vpc", cidrBlock="10.120.0.0/16")
    preview.depend(SUBNET, "use1-data-az1", "vpcId", (VPC, "use1-other-vpc"))
    assert run("P12", preview, DEV) == [
        "[P12] use1-data-az1: cidrBlock 10.110.192.0/22 is outside use1-other-vpc's cidrBlock 10.120.0.0/16"]


def test_p12_first_preview_vpc_of_another_stack_or_none_fails_closed(preview: PreviewPlan) -> None:
    preview.depend(SUBNET, "use1-data-az1", "vpcId", STACK_REFERENCE_URN)
    preview.depend(SUBNET, "use1-data-az2", "vpcId")
    assert run("P12", preview, DEV) == [
        "[P12] use1-data-az1: vpcId is unknown during preview; failing closed",
        "[P12] use1-data-az2: vpcId is unknown during preview; failing closed"]


def test_p13_first_preview_address_sources_on_a_data_tier(preview: PreviewPlan) -> None:
    known = PreviewPlan(preview.doc)
    known.set(INGRESS, "use1-aurora-from-pgbouncer", "cidrIpv4", "10.110.0.0/16")
    assert run("P13", known, DEV) == [
        "[P13] use1-aurora-from-pgbouncer: ingress to data-tier group use1-aurora via cidrIpv4 '10.110.0.0/16'; data "
        "tiers admit only referencedSecurityGroupId"]
    preview.set(INGRESS, "use1-aurora-from-pgbouncer", "cidrIpv4", UNKNOWN_MARK)
    preview.depend(INGRESS, "use1-aurora-from-pgbouncer", "cidrIpv4", (VPC, "use1-vpc"))
    assert run("P13", preview, DEV) == [
        "[P13] use1-aurora-from-pgbouncer: ingress to data-tier group use1-aurora via cidrIpv4 (unknown until "
        "apply); data tiers admit only referencedSecurityGroupId"]


def test_p13_first_preview_sources_resolve_to_their_groups(preview: PreviewPlan) -> None:
    data = PreviewPlan(preview.doc).depend(INGRESS, "use1-aurora-from-pgbouncer", "referencedSecurityGroupId",
                                           (SECURITY_GROUP, "use1-cache"))
    assert run("P13", data, DEV) == [
        "[P13] use1-aurora-from-pgbouncer: ingress to data-tier group use1-aurora referencedSecurityGroupId admits "
        "data-tier group use1-cache; data tiers must not reach each other"]
    foreign = PreviewPlan(preview.doc).depend(INGRESS, "use1-aurora-from-pgbouncer", "referencedSecurityGroupId",
                                              (EKS, "use1-eks"))
    assert run("P13", foreign, DEV) == [
        "[P13] use1-aurora-from-pgbouncer: ingress to data-tier group use1-aurora referencedSecurityGroupId "
        "references <a group use1-eks creates>, which is no security group in the stack; its tier cannot be verified"]


def test_p13_first_preview_unsettled_groups_fail_closed(preview: PreviewPlan) -> None:
    preview.depend(INGRESS, "use1-aurora-from-pgbouncer", "securityGroupId", (SECURITY_GROUP, "use1-cache"),
                   (SECURITY_GROUP, "use1-aurora"))
    preview.depend(INGRESS, "use1-cache-from-workloads", "referencedSecurityGroupId")
    preview.depend(INGRESS, "use1-kafka-from-workloads", "securityGroupId", STACK_REFERENCE_URN)
    assert run("P13", preview, DEV) == [
        "[P13] use1-aurora-from-pgbouncer: securityGroupId is unknown during preview; failing closed",
        "[P13] use1-cache-from-workloads: referencedSecurityGroupId is unknown during preview; failing closed",
        "[P13] use1-kafka-from-workloads: securityGroupId is unknown during preview; failing closed"]


def test_p14_first_preview_credential_not_from_a_random_password(preview: PreviewPlan) -> None:
    preview.depend(CLUSTER, "use1-sg01-use1", "masterPassword")  # a config secret: masked, and no generator
    preview.depend(SECRET_VERSION, "use1-cache-app", "secretString", (SECRET, "use1-cache-app"))
    assert run("P14", preview, DEV) == [
        f"[P14] use1-sg01-use1: masterPassword {PLAINTEXT}",
        "[P14] use1-cache-app: secretString holds no random.RandomPassword result; build the secret from a "
        "generated password, never a plaintext value"]
