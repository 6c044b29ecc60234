"""One source per fact: the pack's facts.json is generated from regions/, and P10 prices the plan's own figure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guardrails import facts
from offline import estimates, guardrails, pack_facts
from regions import loader, rds_facts


def test_the_committed_facts_file_is_what_make_docs_generates_from_regions() -> None:
    assert pack_facts.FACTS_FILE.read_text(encoding="utf-8") == pack_facts.render(), \
        "run `make docs`: policies/guardrails/facts.json differs from regions/"


def test_a_changed_fact_in_regions_makes_the_facts_file_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(rds_facts.AURORA_MAX_CONNECTIONS, "db.t4g.medium", 404)
    assert pack_facts.FACTS_FILE.read_text(encoding="utf-8") != pack_facts.render()


def test_a_changed_price_makes_the_facts_file_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    from regions import prices

    book = prices.default_book()
    cheaper = book.model_copy(update={"prices": [p.model_copy(update={"usd": p.usd / 2}) for p in book.prices]})
    monkeypatch.setattr(prices, "default_book", lambda: cheaper)
    assert pack_facts.FACTS_FILE.read_text(encoding="utf-8") != pack_facts.render()


def test_the_pack_reads_the_programs_facts() -> None:
    # The drift the facts file ends: the manifest rules' db.t4g.medium and db.r8g prices are the pack's too.
    assert facts.AURORA_MAX_CONNECTIONS == rds_facts.AURORA_MAX_CONNECTIONS
    assert facts.AURORA_MAX_CONNECTIONS["db.t4g.medium"] == 405
    assert facts.CONNECTION_RESERVE_FRACTION == rds_facts.CONNECTION_RESERVE_FRACTION
    assert facts.price("rds/db.r8g.large", "us-east-1") == (0.276, "hour", False)
    assert facts.price("rds/db.r8g.large", "ap-south-1") == (0.276, "hour", True)  # us-east-1's, estimated
    assert facts.price("rds/db.x9z.large", "us-east-1") is None


def _p10(document: Any, budget: float) -> list[str]:
    config = guardrails.load_config("prod")  # with the manifest's backup estimate, as make plan runs it
    config["platform-cost-ceiling"] = {**config["platform-cost-ceiling"], "monthlyBudgetUsd": budget}
    return [v.message for v in guardrails.evaluate(document, config) if v.id == "P10"]


def test_the_cost_rule_holds_the_plan_to_its_own_monthly_cost(prod_plan: Any) -> None:
    cost = estimates.sections(loader.load(loader.manifest_path("prod"), "prod"), document=prod_plan)["cost"]
    total = cost["monthlyTotal"]
    assert not cost["unpriced"] and total > 100_000
    assert _p10(prod_plan, total + 1) == []
    over = _p10(prod_plan, total - 1)
    assert len(over) == 1 and over[0].startswith(
        f"[P10] estimated monthly cost ${total:,.2f} exceeds monthlyBudgetUsd ${total - 1:,.2f} (aurora $")


def test_the_plans_cost_report_is_the_manifests_estimate(prod_plan: Any, dev_plan: Any) -> None:
    # One basis: the pack's lines over the planned resources equal the manifest's, item by item.
    for env, plan in (("prod", prod_plan), ("dev", dev_plan)):
        manifest = loader.load(loader.manifest_path(env), env)
        from_plan = estimates.sections(manifest, document=plan)["cost"]
        from_manifest = estimates.sections(manifest)["cost"]
        assert sorted(map(_key, from_plan.pop("lines"))) == sorted(map(_key, from_manifest.pop("lines"))), env
        assert from_plan == from_manifest, env


def _key(line: dict[str, Any]) -> str:
    return json.dumps(line, sort_keys=True)
