"""The plan's capacity and cost sections, computed from the manifest, and how the diff reports their changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import diff, document, engine, estimates
from regions import capacity, cost, loader, prices
from regions.loads import aurora_instances
from regions.quota_needs import quota_uses
from tests.plan_helpers import Doc, of_type

HOURS = 730
PROD = loader.load(loader.manifest_path("prod"), "prod")


def test_prod_capacity_counts_every_region_from_the_manifest() -> None:
    report = estimates.sections(PROD)["capacity"]
    use1, aps1 = report["regions"]["us-east-1"], report["regions"]["ap-south-1"]
    assert (use1["users"], use1["logicalShards"], use1["shardGroups"]) == (300_000_000, 30_000, 6)
    # 6 writers, 2 readers each, and three secondary instances per group of eu-west-1 (5) and ap-southeast-1 (4).
    assert use1["aurora"] == {"writers": 6, "readers": 12, "hostedSecondaries": 27}
    assert sum(r["users"] for r in report["regions"].values()) == 900_000_000
    # 150 PgBouncer replicas x 14 per pool x 2 pools on a secondary, against 5,000 less the 15% reserve.
    assert use1["connectionBudget"]["serverConnections"] == 4200 and use1["connectionBudget"]["usable"] == 4250
    rds_instances = {q["quota"]: q for q in aps1["quotas"]}["rds: DB instances"]
    assert (rds_instances["need"], rds_instances["limit"]) == (36, 20)
    # Sized from demand, prod needs increases: RDS instances first, then the cache, EKS and EC2 ones.
    assert report["quotasExceeded"][:3] == [
        "ap-south-1: rds: DB instances 36 > default quota 20; request an increase",
        "eu-west-1: rds: DB instances 42 > default quota 40; request an increase",
        "us-east-1: rds: DB instances 45 > default quota 40; request an increase"]
    # 24 x kafka.m7g.2xlarge read by the applications and 2 replicators: the network bound, 469 / (5.7 + 1.5 x 3).
    assert use1["kafka"]["sustainableIngressMiBps"] == round(24 * 469 / (5.7 + 1.5 * 3), 1)


def test_kafka_ingress_is_unknown_for_a_broker_type_without_bandwidth_figures(raw_manifest: Any,
                                                                              write_manifest: Any) -> None:
    raw = raw_manifest("prod")
    raw["regions"][2]["kafka"]["broker_type"] = "kafka.m5.2xlarge"
    raw["demand"]["per_request"]["events"] = 0  # an untabulated broker type supplies no known ingress
    manifest = loader.load(write_manifest(raw), "prod")
    kafka = capacity.report(manifest, quota_uses(manifest))["regions"]["ap-southeast-1"]["kafka"]
    assert kafka["sustainableIngressMiBps"] is None and kafka["recommended"] == 2000


def test_a_quota_the_plan_exceeds_is_listed_rds_first(raw_manifest: Any, write_manifest: Any) -> None:
    raw = raw_manifest("prod")
    raw["regions"][3]["aurora"]["readers"] = 3  # ap-south-1: 3 writers + 9 readers + 27 secondaries = 39
    raw["regions"][0]["aurora"]["readers"] = 6  # us-east-1: 6 writers + 36 readers + 27 secondaries = 69
    manifest = loader.load(write_manifest(raw), "prod")
    report = capacity.report(manifest, quota_uses(manifest))
    assert report["quotasExceeded"][:3] == [
        "ap-south-1: rds: DB instances 39 > default quota 20; request an increase",
        "eu-west-1: rds: DB instances 42 > default quota 40; request an increase",
        "us-east-1: rds: DB instances 69 > default quota 40; request an increase"]
    assert not any(q.startswith("rds") for q in report["quotasExceeded"][3:])
    cache = report["regions"]["eu-west-1"]["cache"]
    assert (cache["nodes"], cache["quota"], cache["percent"]) == (410, 90, 455.6)


def test_cost_prices_every_instance_at_the_list_price() -> None:
    book = prices.default_book()
    report = cost.report(PROD, book)
    r7g = book.lookup("rds/db.r7g.4xlarge", "us-east-1")
    assert r7g is not None and not r7g.estimated
    instances = sum(n for _, n in aurora_instances(PROD, PROD.region("us-east-1")).values())
    assert report["regions"]["us-east-1"]["aurora"] == pytest.approx(instances * r7g.usd * HOURS, abs=0.01)
    assert report["monthlyTotal"] == pytest.approx(sum(r["total"] for r in report["regions"].values()), abs=0.05)
    assert report["usdPerUserMonth"] == pytest.approx(report["monthlyTotal"] / 900_000_000, abs=1e-9)
    assert report["usdPerMillionUsersMonth"] == pytest.approx(report["monthlyTotal"] / 900, abs=0.01)
    assert "us-east-1" not in report["estimatedRegions"] and "ap-south-1" in report["estimatedRegions"]
    assert report["unpriced"] == [] and report["lowerBound"] is False


def test_an_item_without_a_price_makes_the_total_a_lower_bound() -> None:
    book = prices.default_book()
    thin = book.model_copy(update={"prices": [p for p in book.prices if not p.item.startswith("elasticache/")]})
    report = cost.report(PROD, thin)
    assert report["lowerBound"] is True
    assert "us-east-1: elasticache/valkey/cache.r7g.xlarge x 410" in report["unpriced"]
    assert report["monthlyTotal"] < cost.report(PROD, book)["monthlyTotal"]


def _render(tmp_path: Path, base: Doc, head: Doc) -> str:
    paths = []
    for name, doc in (("base.json", base), ("head.json", head)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(doc))
    return diff.render(diff.load(paths[0]), diff.load(paths[1]))


@pytest.fixture(scope="module")
def extra_reader_plans(tmp_path_factory: pytest.TempPathFactory, prod_plan: Doc) -> tuple[Doc, Doc]:
    """us-east-1's infra stack as prod plans it, and planned again with a third reader in use1-sg03 only.

    The smallest stack that shows the change: the primary clusters of us-east-1's groups live in it.
    """
    raw = yaml.safe_load(loader.manifest_path("prod").read_text())
    raw["group_readers"] = {"use1-sg03": 3}
    path = tmp_path_factory.mktemp("manifest") / "prod.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    stack = "prod-us-east-1"
    base = {**prod_plan, "resources": [r for r in prod_plan["resources"] if r["stack"] == stack]}
    base |= estimates.sections(PROD)
    head = document.build(engine.run(stack, manifest=path)) | estimates.sections(loader.load(path, "prod"))
    return base, head


def test_an_extra_reader_in_one_shard_group_reaches_only_that_group(extra_reader_plans: tuple[Doc, Doc]) -> None:
    base, head = extra_reader_plans
    def readers(doc: Doc, group: str) -> int:
        return len([r for r in of_type(doc, "aws:rds/clusterInstance:ClusterInstance", "us-east-1")
                    if r["inputs"]["clusterIdentifier"].startswith(f"prod-use1-{group}-use1")]) - 1
    assert (readers(base, "sg03"), readers(head, "sg03")) == (2, 3)
    assert (readers(base, "sg02"), readers(head, "sg02")) == (2, 2)


def test_the_diff_shows_the_extra_reader_and_its_cost(tmp_path: Path, extra_reader_plans: tuple[Doc, Doc]) -> None:
    base, head = extra_reader_plans
    text = _render(tmp_path, base, head)
    assert "| prod-us-east-1 | us-east-1 | rds/ClusterInstance | 1 | 0 | 0 |" in text and "Data loss" not in text
    # The added instance by stack, type, name and region, and nothing else added, replaced or deleted.
    assert "### Added (1)" in text and "| prod-us-east-1 | `aws:rds/clusterInstance:ClusterInstance` | " \
        "`use1-sg03-use1-4` | us-east-1 |" in text
    assert "### Deleted" not in text and "### Replaced" not in text
    r7g = prices.default_book().lookup("rds/db.r7g.4xlarge", "us-east-1")
    assert r7g is not None
    delta = r7g.usd * HOURS  # one db.r7g.4xlarge for a month: $1,614
    assert f"| us-east-1 | ${base['cost']['regions']['us-east-1']['total']:,.0f} | " in text
    assert f"| **total** | ${base['cost']['monthlyTotal']:,.0f} | ${base['cost']['monthlyTotal'] + delta:,.0f} | " \
           f"**+${delta:,.0f}** " in text
    assert "| us-east-1 | aurora.readers | 12 | 13 |" in text
    assert "| us-east-1 | quota rds: DB instances | 45 / 40 | 46 / 40 |" in text


@pytest.mark.parametrize(("path", "value"), [("engine", "aurora-mysql"),
                                              ("kmsKeyId", "arn:aws:kms:us-east-1:111111111111:key/other")])
def test_changing_an_aurora_clusters_engine_or_key_is_data_loss(tmp_path: Path, prod_plan: Doc, path: str,
                                                                 value: str) -> None:
    head = copy.deepcopy(prod_plan)
    cluster = next(r for r in head["resources"] if r["type"] == "aws:rds/cluster:Cluster")
    cluster["inputs"][path] = value
    text = _render(tmp_path, prod_plan, head)
    assert "### :warning: Data loss\n\nThese stateful resources would be deleted or replaced." in text
    assert f"- `{cluster['urn']}`" in text and f"(replacement: {path})" in text


def test_unchanged_cost_and_capacity_add_nothing(tmp_path: Path, dev_plan: Doc) -> None:
    dev = loader.load(loader.manifest_path("dev"), "dev")
    doc = dev_plan | estimates.sections(dev)
    text = _render(tmp_path, doc, doc)
    assert "### Cost" not in text and "### Capacity" not in text
