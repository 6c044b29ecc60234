"""The pack as a whole: names, metadata, the README table, and the offline run over both plans."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from guardrails.core import StackRule
from guardrails.registry import all_rules
from offline import guardrails, policy_table


def test_every_rule_has_complete_metadata() -> None:
    rules = all_rules()
    assert rules
    for rule in rules:
        meta = rule.meta
        assert meta.id and meta.description and meta.remediation, meta.name
        assert meta.name == meta.name.lower() and " " not in meta.name
        policy = rule.policy()
        assert isinstance(policy, StackValidationPolicy if isinstance(rule, StackRule) else ResourceValidationPolicy)
        assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)


def test_readme_table_is_current() -> None:
    text = policy_table.README.read_text(encoding="utf-8")
    assert policy_table.rewrite(text) == text, "run `make docs` to regenerate the guardrail table"


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_planned_stacks_have_no_mandatory_violation(stack: str, request: pytest.FixtureRequest) -> None:
    doc: Any = request.getfixturevalue(f"{stack}_plan")
    violations = guardrails.evaluate(doc, guardrails.load_config(stack))
    assert [v.message for v in violations if v.enforcement == "mandatory"] == []


def test_a_mandatory_violation_is_reported_with_its_rule(prod_plan: Any) -> None:
    import copy

    doc = copy.deepcopy(prod_plan)
    cluster = next(r for r in doc["resources"] if r["type"] == "aws:rds/cluster:Cluster")
    cluster["inputs"]["storageEncrypted"] = False
    found = [v for v in guardrails.evaluate(doc, {}) if v.id == "A2"]
    assert [(v.enforcement, v.urn) for v in found] == [("mandatory", cluster["urn"])]
    assert found[0].message == f"[A2] {cluster['name']}: storageEncrypted must be true (got False)"


def test_config_can_disable_a_rule(prod_plan: Any) -> None:
    import copy

    doc = copy.deepcopy(prod_plan)
    next(r for r in doc["resources"] if r["type"] == "aws:rds/cluster:Cluster")["inputs"]["storageEncrypted"] = False
    config = {"aurora-cluster-storage-encrypted": {"enforcementLevel": "disabled"}}
    assert not [v for v in guardrails.evaluate(doc, config) if v.id == "A2"]
    config = {"aurora-cluster-storage-encrypted": {"enforcementLevel": "advisory"}}
    assert {v.enforcement for v in guardrails.evaluate(doc, config) if v.id == "A2"} == {"advisory"}


def test_make_plan_exits_1_on_a_mandatory_violation(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from offline import plan

    # Secret rotation is advisory (dev has no rotation yet); a stack config may make it mandatory.
    monkeypatch.setattr(guardrails, "load_config", lambda stack: {
        "secretsmanager-secret-rotation": {"enforcementLevel": "mandatory"}})
    document = tmp_path / "plan.json"
    assert plan.main(["--stack", "dev", "--json", str(document)]) == 1
    import json

    written = json.loads(document.read_text())
    assert {v["id"] for v in written["policyViolations"] if v["enforcement"] == "mandatory"} == {"S10"}
