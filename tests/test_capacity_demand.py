"""Capacity from demand: the prod plan carries the seed's load with any one region lost, and the rules refuse less."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from rich.console import Console

from offline import capacity_report, diff, estimates, plan
from regions import cost, demand, loader, prices, unit_capacity
from regions.loader import ManifestError
from regions.rules import check
from regions.schema import Manifest
from tests.plan_helpers import Doc, of_type

PROD = loader.load(loader.manifest_path("prod"), "prod")
DEV = loader.load(loader.manifest_path("dev"), "dev")
# The plan document's `capacity` section: `make plan` adds exactly this to the document it writes
# (tests/test_plan_document.py checks that equality on the written prod document).
CAPACITY = estimates.sections(PROD)["capacity"]


def _manifest(raw: dict[str, Any]) -> Manifest:
    return Manifest.model_validate(raw)


def test_prod_demand_is_the_seeds_load() -> None:
    totals = CAPACITY["demand"]
    assert totals["requestsPerSecond"] >= 10_000_000 and totals["concurrentConnections"] >= 450_000_000
    # Split by the users each region's logical shards hold: 30,000 / 25,000 / 20,000 / 15,000 of 90,000.
    assert {name: r["share"] for name, r in totals["regions"].items()} == \
        {"us-east-1": 0.3333, "eu-west-1": 0.2778, "ap-southeast-1": 0.2222, "ap-south-1": 0.1667}


def test_prod_every_tier_carries_its_demand_normally_and_with_each_region_lost() -> None:
    tiers = CAPACITY["tiers"]
    regions = PROD.region_names
    scenarios = ["normal", *(f"{r} lost" for r in regions)]
    # Every tier of every surviving region in every scenario, and nothing else.
    assert sorted((t["scenario"], t["region"], t["tier"]) for t in tiers) == sorted(
        (s, r, tier) for s in scenarios for r in regions if s != f"{r} lost" for tier in demand.TIERS)
    headroom = CAPACITY["demand"]["headroomPercent"]
    assert headroom == 10
    short = [t for t in tiers if t["supply"] < t["demand"] * (1 + headroom / 100)]
    assert short == []
    assert all(set(t) == {"region", "tier", "scenario", "demand", "supply", "unit", "headroomPercent"} for t in tiers)


def test_a_lost_regions_load_lands_where_the_edge_and_the_runbook_send_it(prod_plan: Doc) -> None:
    # The load balancer tries the serving region's pool, then its DR regions' pools in order: the model's
    # failover target is the second pool the built load balancer lists for the lost region's codes.
    short_code = {p["outputs"]["id"]: p["inputs"]["name"].removeprefix("prod-")
                  for p in of_type(prod_plan, "cloudflare:index/loadBalancerPool:LoadBalancerPool")}
    region_of = {r.short_code: r.name for r in PROD.regions}
    (api,) = [lb for lb in of_type(prod_plan, "cloudflare:index/loadBalancer:LoadBalancer")
              if lb["name"] == "prod-edge-api"]
    for region in PROD.regions:
        for code in region.cloudflare_regions:
            order = [region_of[short_code[pool]] for pool in api["inputs"]["regionPools"][code]]
            assert order[:2] == [region.name, demand.failover_target(region)]
        served = demand.served(PROD, demand.loss(region.name))
        assert region.name not in served and region in served[demand.failover_target(region)]
    tiers = {(t["region"], t["tier"], t["scenario"]): t for t in CAPACITY["tiers"]}
    # With us-east-1 lost, eu-west-1 serves both regions' users: 30,000 + 25,000 of 90,000 shards.
    assert tiers[("eu-west-1", "application", "us-east-1 lost")]["demand"] == round(10_000_000 * 55 / 90)
    assert tiers[("eu-west-1", "gateway", "us-east-1 lost")]["demand"] == round(450_000_000 * 55 / 90)


def test_tripling_one_regions_share_makes_make_plan_exit_2_naming_the_tier(
        raw_manifest: Any, write_manifest: Any, capsys: pytest.CaptureFixture[str]) -> None:
    raw = raw_manifest("prod")
    raw["demand"]["region_shares"] = {"ap-south-1": 3 * 15_000 / 90_000}
    assert plan.main(["--manifest", str(write_manifest(raw))]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "nothing was planned" in err
    found = re.findall(r"regions\[3\]\.capacity\[([a-z-]+)\] \(ap-south-1\): \1 falls short in normal operation: "
                       r"demand [0-9,]+ [^(]+\(\+10% headroom = [0-9,]+\) > supply [0-9,]+", err)
    assert "application" in found and "pgbouncer" in found and "cache" in found


def test_supply_above_demand_but_below_the_headroom_is_refused() -> None:
    raw = PROD.model_dump(mode="json")
    raw["capacity"]["headroom_percent"] = 25
    findings = [str(f) for f in check(_manifest(raw))]
    assert findings and all("+25% headroom" in f for f in findings)
    assert any(f.startswith("regions[0].capacity[application] (us-east-1): application falls short with "
                            "eu-west-1 lost: demand 6,111,111 requests/s") for f in findings)


def test_prod_and_dev_pass_every_capacity_rule() -> None:
    for manifest in (PROD, DEV):
        assert check(manifest) == []
        assert demand.shortfalls(manifest) == []


def test_dev_has_a_demand_block_it_meets() -> None:
    assert DEV.demand.peak_origin_requests_per_second < 10_000
    worst = min(demand.rows(DEV), key=lambda row: row.supply / row.demand)
    assert worst.supply >= worst.demand * (1 + DEV.capacity.headroom_percent / 100)


@pytest.mark.parametrize(("edit", "field", "rule"), [
    (lambda raw: raw["capacity"]["pgbouncer_transactions_per_core"].update(value=20_000),
     "capacity.pgbouncer_transactions_per_core.value", "must be the recorded pgbouncerTransactionsPerCore"),
    (lambda raw: raw["regions"][0]["edge_gateway"].update(max_replicas=501),
     "regions[0].edge_gateway.max_replicas (us-east-1)", "501 replicas exceed the 500 targets"),
    (lambda raw: raw["regions"][0]["edge_gateway"].update(min_replicas=460),
     "regions[0].edge_gateway.min_replicas (us-east-1)", "must not exceed max_replicas"),
    (lambda raw: raw["demand"].update(region_shares={"us-west-2": 0.5}),
     "demand.region_shares.us-west-2", "not a region of this manifest"),
    (lambda raw: raw["demand"].update(region_shares={"us-east-1": 0.1}),
     "demand.region_shares", "sum to 0.767 < 1"),
])
def test_each_capacity_input_rule_names_its_field(edit: Any, field: str, rule: str) -> None:
    raw = copy.deepcopy(PROD.model_dump(mode="json"))
    edit(raw)
    findings = [f for f in check(_manifest(raw)) if f.field == field]
    assert findings and rule in findings[0].rule


def test_a_missing_demand_block_is_refused_naming_the_field(raw_manifest: Any, write_manifest: Any) -> None:
    raw = raw_manifest("dev")
    del raw["demand"]
    with pytest.raises(ManifestError, match=r"manifest.yaml: demand: required key is missing"):
        loader.load(write_manifest(raw), "dev")


def test_the_benchmark_record_is_well_formed() -> None:
    record = unit_capacity.record()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["measured"])
    assert record["machine"]["cpu"] and record["machine"]["cores"] >= 1
    assert {"postgresql", "pgbouncer", "cache"} <= set(record["servers"])
    tools = {"pgbouncerTransactionsPerCore": "pgbench", "postgresReadsPerCore": "pgbench",
             "postgresWritesPerCore": "pgbench", "cacheOperationsPerCore": "redis-benchmark"}
    assert set(record["figures"]) == set(tools)
    for name, figure in record["figures"].items():
        assert set(figure) == set(unit_capacity.MEASURED_FIELDS)
        assert tools[name] in figure["command"] and figure["perCore"] > 0 and figure["serverCoresBusy"] > 0
        # Per core = throughput / cores the server kept busy, as the benchmark computes it.
        assert figure["perCore"] == pytest.approx(figure["throughputPerSecond"] / figure["serverCoresBusy"], rel=0.02)


def test_the_manifests_figures_are_the_recorded_ones_derated_as_stated() -> None:
    for manifest in (PROD, DEV):
        c = manifest.capacity
        for figure in (c.pgbouncer_transactions_per_core, c.aurora_reads_per_vcpu, c.aurora_writes_per_vcpu,
                       c.cache_operations_per_node):
            assert figure.value == round(unit_capacity.measured(figure.measured) * figure.derating)
            assert figure.derating < 1  # every measured figure is derated


def test_prod_cost_per_user_at_maximum_size_is_within_the_seeds_budget() -> None:
    report = cost.report(PROD, prices.default_book())
    at_max = report["atMaxSize"]
    assert at_max["lowerBound"] is False and report["unpriced"] == []
    assert at_max["monthlyTotal"] > report["monthlyTotal"]
    assert at_max["usdPerUserMonth"] == pytest.approx(at_max["monthlyTotal"] / 900_000_000, abs=1e-9)
    assert at_max["usdPerUserMonth"] <= 0.01


def test_make_plan_prints_the_worst_scenario_per_tier_with_headroom_coloured() -> None:
    capacity = CAPACITY
    worst = capacity_report.worst_rows(capacity["tiers"])
    assert len(worst) == len(PROD.regions) * len(demand.TIERS)
    console = Console(record=True, width=200)
    console.print(capacity_report.tiers_table(capacity))
    text = console.export_text()
    for row in worst:
        assert row["headroomPercent"] == min(t["headroomPercent"] for t in capacity["tiers"]
                                             if (t["region"], t["tier"]) == (row["region"], row["tier"]))
        assert f"{row['supply']:,}" in text
    assert capacity_report.headroom_text(-3.0, 10) == "[red]-3.0%[/red]"
    assert capacity_report.headroom_text(4.0, 10) == "[yellow]+4.0%[/yellow]"
    assert capacity_report.headroom_text(12.5, 10) == "[green]+12.5%[/green]"


def test_the_plan_diff_shows_what_a_change_does_to_headroom() -> None:
    base = json.loads(json.dumps(CAPACITY))
    head = copy.deepcopy(base)
    for row in head["tiers"]:
        if (row["region"], row["tier"]) == ("us-east-1", "cache"):
            row["supply"] = round(row["supply"] * 0.9)
            row["headroomPercent"] = round(100 * (row["supply"] / row["demand"] - 1), 1)
    lines = diff.headroom_delta(base, head)
    assert lines[0] == "### Capacity headroom (worst scenario per tier)"
    (changed,) = [line for line in lines if line.startswith("| us-east-1 | cache |")]
    assert changed.endswith(":x: |") and "eu-west-1 lost" in changed
    assert diff.headroom_delta(base, base) == []
