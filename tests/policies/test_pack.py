"""The pack as a whole: names, metadata, the guardrail table in docs/guardrails.md, the offline run over the plans."""

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
    text = policy_table.GUARDRAILS_DOC.read_text(encoding="utf-8")
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


def test_a_plaintext_master_password_is_a_mandatory_violation(prod_plan: Any) -> None:
    """The deliberately misconfigured plan: a primary cluster whose master password is a plain string."""
    import copy

    doc = copy.deepcopy(prod_plan)
    cluster = next(r for r in doc["resources"]
                   if r["type"] == "aws:rds/cluster:Cluster" and r["name"] == "use1-sg01-use1")
    for side in ("inputs", "outputs"):
        cluster[side]["masterPassword"] = "hunter2-hunter2"
    found = [v for v in guardrails.evaluate(doc, guardrails.load_config("prod")) if v.enforcement == "mandatory"]
    assert [(v.id, v.policy, v.urn, v.message) for v in found] == [
        ("P14", "platform-credentials", cluster["urn"],
         "[P14] use1-sg01-use1: masterPassword is a plaintext value, not a random.RandomPassword result; generate "
         "the credential in the stack so it stays a Pulumi secret")]


def test_a_literal_master_password_is_caught_offline_where_secrets_are_masked(prod_plan: Any) -> None:
    """A literal in the program reaches the offline plan as "[secret]", like a generated one: what tells them
    apart is the engine's property dependencies, which name the RandomPassword a generated value came from."""
    import copy

    doc = copy.deepcopy(prod_plan)
    by_urn = {r["urn"]: r for r in doc["resources"]}
    cluster = next(r for r in doc["resources"]
                   if r["type"] == "aws:rds/cluster:Cluster" and r["name"] == "use1-sg01-use1")
    assert cluster["inputs"]["masterPassword"] == "[secret]"
    sources = cluster["propertyDependencies"]["masterPassword"]
    assert [by_urn[u]["type"] for u in sources] == ["random:index/randomPassword:RandomPassword"]
    del cluster["propertyDependencies"]["masterPassword"]  # what a literal password looks like to the engine
    found = [v for v in guardrails.evaluate(doc, guardrails.load_config("prod")) if v.enforcement == "mandatory"]
    assert [(v.id, v.urn, v.message) for v in found] == [
        ("P14", cluster["urn"],
         "[P14] use1-sg01-use1: masterPassword is a plaintext value, not a random.RandomPassword result; generate "
         "the credential in the stack so it stays a Pulumi secret")]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_committed_budgets_cover_the_planned_stacks(stack: str, request: pytest.FixtureRequest) -> None:
    from offline import estimates
    from regions import loader

    doc: Any = request.getfixturevalue(f"{stack}_plan")
    config = guardrails.load_config(stack)
    budget = config["platform-cost-ceiling"]["monthlyBudgetUsd"]
    cost = estimates.sections(loader.load(loader.manifest_path(stack), stack), document=doc)["cost"]
    at_max = cost["atMaxSize"]["monthlyTotal"]
    # The one figure: the fleet at its maxima (what a region's loss scales to), on P10's basis, rounded up.
    assert at_max <= budget <= at_max + 1_000
    basis = config["platform-cost-ceiling"]["budgetBasis"]
    assert f"${round(at_max):,}" in basis and f"${round(cost['monthlyTotal']):,} at desired" in basis
    assert not [v for v in guardrails.evaluate(doc, config) if v.id == "P10" and "exceeds" in v.message]


def test_cost_ceiling_fires_when_the_budget_is_below_the_plan(dev_plan: Any) -> None:
    config = guardrails.load_config("dev")
    config["platform-cost-ceiling"] = {**config["platform-cost-ceiling"], "monthlyBudgetUsd": 2500}
    found = [v for v in guardrails.evaluate(dev_plan, config) if v.id == "P10" and "exceeds" in v.message]
    assert [(v.enforcement, v.urn) for v in found] == [("advisory", None)]
    assert found[0].message.startswith("[P10] estimated monthly cost $2,555.20 exceeds monthlyBudgetUsd $2,500.00 (")


def test_registry_loads_every_guardrail_module() -> None:
    import importlib
    from pathlib import Path

    from guardrails import registry

    package = Path(registry.__file__).parent
    modules = [importlib.import_module(f"guardrails.{p.stem}") for p in package.glob("*.py") if p.stem != "__init__"]
    with_rules = {m.__name__ for m in modules if hasattr(m, "RULES") or hasattr(m, "INVARIANTS")}
    registered = {m.__name__ for m in (*registry.MODULES, *registry.INVARIANT_MODULES, *registry.LAST)}
    assert registered == with_rules
    assert {"guardrails.stack_reads", "guardrails.facts", "guardrails.core"}.isdisjoint(registered)


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

    # Control-plane log retention is advisory (dev keeps 30 days on purpose); a stack config may make it mandatory.
    # Every config make plan reads (the environment's and each layer's) gets the override on top of its own.
    committed = guardrails.load_config
    monkeypatch.setattr(guardrails, "load_config", lambda stack: {
        **committed(stack), "eks-control-plane-log-retention": {"enforcementLevel": "mandatory"}})
    document = tmp_path / "plan.json"
    assert plan.main(["--stack", "dev", "--json", str(document)]) == 1
    import json

    written = json.loads(document.read_text())
    assert {v["id"] for v in written["policyViolations"] if v["enforcement"] == "mandatory"} == {"K5"}
