"""The plan document's format (ARCHITECTURE section 4) and the `make plan` command."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.rpc import wrap_rpc_secret

from offline import document, engine, plan
from offline.stack_files import PROJECT_DIR
from tests.manifest_edits import set_path
from tests.plan_helpers import Doc, by_urn, of_type

KEYS = {"urn", "type", "name", "custom", "parent", "provider", "region", "inputs", "outputs", "dependencies",
        "protect", "ignoreChanges", "aliases"}


def test_document_header(prod_plan: Doc) -> None:
    assert list(prod_plan)[:5] == ["version", "project", "stack", "environment", "regions"]
    assert (prod_plan["version"], prod_plan["project"], prod_plan["stack"], prod_plan["environment"]) == \
        (1, "global-platform", "prod", "prod")
    assert prod_plan["regions"] == ["us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1"]


def test_every_registration_is_listed_with_consistent_links(prod_plan: Doc) -> None:
    urns = by_urn(prod_plan)
    assert len(urns) == len(prod_plan["resources"])
    for r in prod_plan["resources"]:
        assert set(r) == KEYS
        assert r["urn"] == f"urn:pulumi:prod::global-platform::{r['urn'].split('::')[2]}::{r['name']}"
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
    assert vpc["urn"] == ("urn:pulumi:prod::global-platform::platform:region:RegionStamp$platform:network:Network"
                          "$aws:ec2/vpc:Vpc::use1-vpc")
    assert vpc["outputs"]["arn"] == f"arn:aws:ec2:us-east-1:111111111111:vpc/{vpc['outputs']['id']}"


def test_components_carry_their_providers_region(prod_plan: Doc) -> None:
    for component in of_type(prod_plan, "platform:network:Network"):
        assert component["region"] in prod_plan["regions"] and component["inputs"] == {}


def test_secrets_are_masked_and_whole_numbers_are_ints() -> None:
    cleaned = document._clean({"password": wrap_rpc_secret("hunter2"), "port": 5432.0, "ratio": 0.5,
                               "nested": [wrap_rpc_secret({"a": 1})]})
    assert cleaned == {"password": document.SECRET, "port": 5432, "ratio": 0.5, "nested": [document.SECRET]}


def test_entry_point_runs_the_same_program() -> None:
    run = engine.run("dev", program=lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py")))
    assert len(run.resources) == len(engine.run("dev").resources) > 0
    assert run.exports["environment"] == "dev"


def test_make_plan_writes_the_dev_document(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "plans" / "dev.json"
    assert plan.main(["--stack", "dev", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["stack"] == "dev" and doc["regions"] == ["us-east-1", "eu-west-1"]
    printed = capsys.readouterr().out
    assert "Shard allocation - dev" in printed and "[45,000, 90,000)" in printed and "use1-sg01" in printed


def test_make_plan_prints_the_prod_summary(capsys: Any) -> None:
    assert plan.main([]) == 0
    printed = capsys.readouterr().out
    for region in ("us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1"):
        assert region in printed
    assert "900,000,000" in printed and "18" in printed


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
        engine.run("prod", manifest=write_manifest(data))
    assert err.value.registrations == []


def test_unknown_stack_fails_the_plan(capsys: Any) -> None:
    assert plan.main(["--stack", "qa"]) == 2
    assert "Pulumi.qa.yaml" in capsys.readouterr().err
