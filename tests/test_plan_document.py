"""The plan document's format (docs/plan.md) and the `make plan` command."""

from __future__ import annotations

import io
import json
import os
import runpy
import stat
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.rpc import wrap_rpc_secret
from rich.console import Console, RenderableType

from offline import capacity_report, document, engine, estimates, plan, report
from offline.stack_files import PROJECT_DIR
from regions.eks_versions import EKS_VERSIONS
from regions.loader import load, manifest_path
from regions.rds_facts import rds_quotas
from tests.manifest_edits import set_path
from tests.plan_helpers import Doc, by_urn, of_type

KEYS = {"stack", "urn", "type", "name", "custom", "parent", "provider", "region", "inputs", "outputs", "dependencies",
        "propertyDependencies", "protect", "ignoreChanges", "aliases"}


def test_document_header(prod_plan: Doc) -> None:
    assert list(prod_plan)[:5] == ["version", "project", "stack", "environment", "regions"]
    assert (prod_plan["version"], prod_plan["project"], prod_plan["stack"], prod_plan["environment"]) == \
        (3, "global-platform", "prod", "prod")
    assert prod_plan["regions"] == ["us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1"]


def test_every_registration_is_listed_with_consistent_links(prod_plan: Doc) -> None:
    urns = by_urn(prod_plan)
    assert len(urns) == len(prod_plan["resources"])
    for r in prod_plan["resources"]:
        assert set(r) == KEYS
        # A property's sources are among the resource's dependencies, as the engine records them.
        assert {u for urns in r["propertyDependencies"].values() for u in urns} <= set(r["dependencies"])
        assert r["urn"] == f"urn:pulumi:{r['stack']}::global-platform::{r['urn'].split('::')[2]}::{r['name']}"
        # Links stay inside the stack: other stacks' values arrive through a StackReference of this one.
        assert all(urns[d]["stack"] == r["stack"] for d in r["dependencies"])
        assert r["urn"].split("::")[2].endswith(r["type"])
        assert all(d in urns for d in r["dependencies"])
        assert r["parent"] is None or r["parent"] in urns
        assert r["provider"] is None or urns[r["provider"]]["type"].startswith("pulumi:providers:")
    kinds = {r["type"] for r in prod_plan["resources"]}
    assert {"pulumi:providers:aws", "platform:region:RegionStamp", "platform:network:Network"} <= kinds


def test_stack_outputs_are_in_the_document(prod_plan: Doc) -> None:
    outputs = prod_plan["stackOutputs"]
    assert {"environment", "shardAllocation", "networks", "clusters", "ingressHostnames"} <= set(outputs)
    assert sorted(outputs["clusters"]) == sorted(prod_plan["regions"])


def test_urns_carry_the_component_chain(prod_plan: Doc) -> None:
    (vpc,) = [v for v in of_type(prod_plan, "aws:ec2/vpc:Vpc") if v["region"] == "us-east-1"]
    assert vpc["urn"] == ("urn:pulumi:prod-us-east-1::global-platform::platform:region:RegionStamp"
                          "$platform:network:Network$aws:ec2/vpc:Vpc::use1-vpc")
    assert vpc["outputs"]["arn"] == f"arn:aws:ec2:us-east-1:111111111111:vpc/{vpc['outputs']['id']}"


def test_components_carry_their_providers_region(prod_plan: Doc) -> None:
    for component in of_type(prod_plan, "platform:network:Network"):
        assert component["region"] in prod_plan["regions"] and component["inputs"] == {}


def test_secrets_are_masked_and_whole_numbers_are_ints() -> None:
    cleaned = document._clean({"password": wrap_rpc_secret("hunter2"), "port": 5432.0, "ratio": 0.5,
                               "nested": [wrap_rpc_secret({"a": 1})]})
    assert cleaned == {"password": document.SECRET, "port": 5432, "ratio": 0.5, "nested": [document.SECRET]}


def test_entry_point_runs_the_same_program() -> None:
    run = engine.run("dev-us-east-1", program=lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py")))
    assert len(run.resources) == len(engine.run("dev-us-east-1").resources) > 0
    assert (run.exports["environment"], run.exports["region"]) == ("dev", "us-east-1")


def test_make_plan_writes_the_dev_document(plan_document: Any, capsys: Any) -> None:
    out = plan_document("dev")
    assert plan.main(["--stack", "dev", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["stack"] == "dev" and doc["regions"] == ["us-east-1", "eu-west-1"]
    # Written whole, with the mode any new file gets (not a temporary file's 0600), and nothing left beside it.
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert not [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")]
    printed = capsys.readouterr().out
    assert "Shard allocation - dev" in printed and "[45,000, 90,000)" in printed and "use1-sg01" in printed


def _recorder() -> Console:
    return Console(record=True, width=200, file=io.StringIO())


def _text(*renderables: RenderableType) -> str:
    console = _recorder()
    for renderable in renderables:
        console.print(renderable)
    return console.export_text()


def _rows(text: str) -> list[list[str]]:
    """The body rows of one rendered table; a cell printed on several lines comes back joined by newlines."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if not line.startswith("│"):
            continue  # title, header (┃) and rules
        cells = [cell.strip() for cell in line.rstrip().strip("│").split("│")]
        if rows and not cells[0]:
            rows[-1] = [f"{old}\n{new}" if new else old for old, new in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    return rows


def _prod_manifest() -> Any:
    return load(manifest_path("prod"), "prod")


def test_plan_prints_each_eks_cluster_with_its_version_and_node_groups(prod_plan: Doc) -> None:
    manifest = _prod_manifest()
    rows = _rows(_text(report.eks_table(prod_plan)))
    assert [row[0] for row in rows] == [region.name for region in manifest.regions]
    for region, row in zip(manifest.regions, rows, strict=True):
        (cluster,) = of_type(prod_plan, "aws:eks/cluster:Cluster", region.name)
        assert cluster["inputs"]["name"] == f"prod-{region.short_code}"
        assert row[1] == f"prod-{region.short_code} ({region.eks.kubernetes_version})"
        assert row[2] == "private"  # no public API endpoint in prod
        assert sorted(row[3].splitlines()) == sorted(
            f"{region.short_code}-{g.name} {g.min_size}-{g.desired_size}-{g.max_size} {'/'.join(g.instance_types)}"
            for g in region.eks.node_groups)
    (use1,) = [row for row in rows if row[0] == "us-east-1"]
    assert "use1-workloads 6-12-1180 m7g.2xlarge/m8g.2xlarge" in use1[3].splitlines()


def test_plan_prints_the_pinned_add_on_versions_per_region(prod_plan: Doc) -> None:
    manifest = _prod_manifest()
    releases = [EKS_VERSIONS[region.eks.kubernetes_version] for region in manifest.regions]
    rows = {row[0]: row[1:] for row in _rows(_text(report.versions_table(prod_plan)))}
    addons = {name for release in releases for name in release.addons}
    assert {name for name in rows if name.startswith("add-on ")} == {f"add-on {name}" for name in addons}
    for name in addons:
        assert rows[f"add-on {name}"] == [release.addons[name] for release in releases]
    assert rows["add-on coredns"][-1] == EKS_VERSIONS["1.35"].addons["coredns"] == "v1.14.2-eksbuild.4"
    assert rows["chart cluster-autoscaler"] == [release.cluster_autoscaler_chart for release in releases]


def test_plan_prints_ap_south_1_over_its_halved_rds_instance_quota(prod_plan: Doc) -> None:
    manifest = _prod_manifest()
    capacity = estimates.sections(manifest)["capacity"]
    planned = len(of_type(prod_plan, "aws:rds/clusterInstance:ClusterInstance", "ap-south-1"))
    assert (planned, rds_quotas("ap-south-1").instances) == (36, 20)

    quotas = {row[0]: dict(zip(prod_plan["regions"], row[1:], strict=True))
              for row in _rows(_text(capacity_report.quota_table(capacity)))}
    assert quotas["rds: DB instances"]["ap-south-1"] == f"{planned} / 20"
    assert quotas["rds: DB instances"]["us-east-1"] == \
        f"{len(of_type(prod_plan, 'aws:rds/clusterInstance:ClusterInstance', 'us-east-1'))} / 40"

    (region,) = [r for r in manifest.regions if r.name == "ap-south-1"]
    (row,) = [row for row in _rows(_text(capacity_report.capacity_table(capacity))) if row[0] == "ap-south-1"]
    assert row[1:4] == [f"{region.logical_shards.size * manifest.users_per_logical_shard:,}",
                        f"{region.logical_shards.size:,}", str(region.shard_groups)] == ["150,000,000", "15,000", "3"]
    writers, readers, secondaries = (int(n) for n in row[4].split(" / "))
    assert writers + readers + secondaries == planned
    console = _recorder()
    capacity_report.render_capacity(capacity, console)
    # Sized from demand, prod is over ap-south-1's halved quota: the increase is listed first, RDS first.
    printed = console.export_text()
    assert "No default quota is exceeded." not in printed
    assert "  - ap-south-1: rds: DB instances 36 > default quota 20; request an increase" in printed.splitlines()


def test_plan_prints_the_monthly_cost_total() -> None:
    manifest = _prod_manifest()
    cost = estimates.sections(manifest)["cost"]
    console = _recorder()
    capacity_report.render_cost(cost, console)
    text = console.export_text()
    total = sum(line["monthlyUsd"] for line in cost["lines"])  # recomputed from the priced line items
    users = sum(r.logical_shards.size for r in manifest.regions) * manifest.users_per_logical_shard
    assert users == 900_000_000
    (line,) = [line for line in text.splitlines() if line.startswith("Total ")]
    assert line == (f"Total ${total:,.0f} per month for 900,000,000 users: ${total / users:.6f} per user per month "
                    f"(${total / users * 1e6:,.0f} per million users).")
    (all_regions,) = [row for row in _rows(text) if row[0] == "all regions"]
    assert all_regions[-1] == f"${total:,.0f}"
    for row in _rows(text):
        if row[0] != "all regions":
            region = row[0].removesuffix(" (estimated)")
            assert row[-1] == f"${sum(li['monthlyUsd'] for li in cost['lines'] if li['region'] == region):,.0f}"


def test_make_plan_prints_the_prod_summary(plan_document: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same width as the tables rendered above, so `make plan`'s output can be compared with them.
    monkeypatch.setattr(plan, "Console", lambda **kwargs: Console(**(kwargs | {"width": 200})))
    out = plan_document("prod")
    assert plan.main(["--json", str(out)]) == 0
    printed = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    doc = json.loads(out.read_text())
    custom = sum(1 for r in doc["resources"] if r["custom"])
    assert printed[0] == (f"global-platform stack prod (environment prod): {len(doc['resources'])} registrations, "
                          f"{custom} custom resources in 4 regions (us-east-1, eu-west-1, ap-southeast-1, ap-south-1)")
    joined = "\n".join(printed)
    # What `make plan` prints is the tables of the document it writes, and the document's sections are those
    # estimates.sections() computes: the capacity from the manifest, the cost by the pack's model over the plan
    # (tests/policies/test_pack_facts.py shows it is the manifest's estimate, line by line).
    sections = estimates.sections(_prod_manifest(), document=doc)
    assert {k: doc[k] for k in ("capacity", "cost")} == json.loads(json.dumps(sections))
    for table in (report.eks_table(doc), report.versions_table(doc), capacity_report.capacity_table(doc["capacity"]),
                  capacity_report.quota_table(doc["capacity"]), capacity_report.cost_table(doc["cost"])):
        rendered = "\n".join(line.rstrip() for line in _text(table).splitlines())
        assert rendered in joined
    (total,) = [line for line in printed if line.startswith("Total $")]
    assert total.startswith(f"Total ${doc['cost']['monthlyTotal']:,.0f} per month for 900,000,000 users: ")
    assert printed[-1] == f"plan document: {out} ({len(doc['resources'])} resources)"


BAD_MANIFESTS: list[tuple[str, str, Any, str]] = [
    ("shard gap", "regions.1.logical_shards.start", 31000, "regions[1].logical_shards.start (eu-west-1): gap"),
    ("shard overlap", "regions.1.logical_shards.start", 29000,
     "regions[1].logical_shards.start (eu-west-1): overlap"),
    ("overlapping CIDRs", "regions.2.vpc_cidr", "10.20.0.0/16", "regions[2].vpc_cidr (ap-southeast-1): 10.20.0.0/16 "
                                                              "overlaps regions[1].vpc_cidr (eu-west-1)"),
    ("DR region is itself", "regions.2.dr_regions.0", "ap-southeast-1",
     "regions[2].dr_regions[0] (ap-southeast-1): ap-southeast-1 is the region itself"),
    ("misspelt key", "regions.0.shard_grups", 6, "regions[0].shard_grups (us-east-1): unknown key"),
]


@pytest.mark.parametrize(("case", "path", "value", "message"), BAD_MANIFESTS, ids=[c[0] for c in BAD_MANIFESTS])
def test_bad_manifest_fails_the_plan_and_writes_nothing(case: str, path: str, value: Any, message: str,
                                                       raw_manifest: Any, write_manifest: Any, tmp_path: Path,
                                                       capsys: Any) -> None:
    data = raw_manifest("prod")
    set_path(path, value)(data)
    manifest = write_manifest(data)
    out = tmp_path / "plan.json"
    assert plan.main(["--stack", "prod", "--manifest", str(manifest), "--json", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())  # undo the console's line wrapping
    assert f"{manifest}: {message}" in err, err
    assert not out.exists()


def test_bad_manifest_registers_nothing(raw_manifest: Any, write_manifest: Any) -> None:
    data = raw_manifest("prod")
    data["regions"][0]["vpc_cidr"] = data["regions"][1]["vpc_cidr"]
    with pytest.raises(engine.InvalidInput) as err:
        engine.run("prod-us-east-1", manifest=write_manifest(data))
    assert err.value.registrations == []


def test_unknown_environment_fails_the_plan(capsys: Any) -> None:
    assert plan.main(["--stack", "qa"]) == 2
    assert "regions/qa.yaml: (file): cannot be read" in capsys.readouterr().err


def test_unknown_stack_of_an_environment_fails_the_plan(capsys: Any) -> None:
    assert plan.main(["--stack", "dev-ap-south-1"]) == 2
    assert "no stack dev-ap-south-1; stacks of dev: dev-us-east-1, dev-eu-west-1," in capsys.readouterr().err
