"""`make diff`: counts, property changes, data loss and guardrail changes between two plans."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from offline import diff
from tests.plan_helpers import Doc


def _write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _render(tmp_path: Path, base: Doc, head: Doc) -> str:
    return diff.render(diff.load(_write(tmp_path, "base.json", base)), diff.load(_write(tmp_path, "head.json", head)))


def test_no_change_is_reported_as_such(tmp_path: Path, dev_plan: Doc) -> None:
    text = _render(tmp_path, dev_plan, dev_plan)
    assert "| - | no changes | 0 | 0 | 0 |" in text and "Data loss" not in text


def test_a_replacing_change_to_a_database_is_data_loss(tmp_path: Path, dev_plan: Doc) -> None:
    head = copy.deepcopy(dev_plan)
    cluster = next(r for r in head["resources"] if r["type"] == "aws:rds/cluster:Cluster")
    cluster["inputs"]["kmsKeyId"] = "arn:aws:kms:us-east-1:222222222222:key/other"
    text = _render(tmp_path, dev_plan, head)
    assert "### :warning: Data loss" in text and f"- `{cluster['urn']}`" in text
    assert f"`{cluster['name']}` (rds/Cluster, {cluster['region']}) (replacement: kmsKeyId): `kmsKeyId`" in text
    assert f"| {cluster['region']} | rds/Cluster | 0 | 1 | 0 |" in text


def test_an_in_place_change_is_not_data_loss(tmp_path: Path, dev_plan: Doc) -> None:
    head = copy.deepcopy(dev_plan)
    cluster = next(r for r in head["resources"] if r["type"] == "aws:rds/cluster:Cluster")
    cluster["inputs"]["backupRetentionPeriod"] = 14
    text = _render(tmp_path, dev_plan, head)
    assert "Data loss" not in text and "`backupRetentionPeriod`" in text


def test_deleting_a_stateful_resource_is_data_loss_and_additions_are_counted(tmp_path: Path, dev_plan: Doc) -> None:
    head = copy.deepcopy(dev_plan)
    secret = next(r for r in head["resources"] if r["type"] == "aws:secretsmanager/secret:Secret")
    head["resources"].remove(secret)
    extra = copy.deepcopy(next(r for r in head["resources"] if r["type"] == "aws:ec2/subnet:Subnet"))
    extra["urn"] += "-new"
    head["resources"].append(extra)
    text = _render(tmp_path, dev_plan, head)
    assert f"- `{secret['urn']}`" in text
    assert f"| {secret['region']} | secretsmanager/Secret | 0 | 0 | 1 |" in text
    assert f"| {extra['region']} | ec2/Subnet | 1 | 0 | 0 |" in text


def test_guardrail_violations_introduced_and_fixed(tmp_path: Path, dev_plan: Doc) -> None:
    base = copy.deepcopy(dev_plan) | {"policyViolations": [
        {"enforcement": "advisory", "id": "S10", "message": "[S10] old: not rotated"}]}
    head = copy.deepcopy(dev_plan) | {"policyViolations": [
        {"enforcement": "mandatory", "id": "A2", "message": "[A2] db: storageEncrypted must be true (got False)"}]}
    text = _render(tmp_path, base, head)
    assert "- introduced (mandatory): [A2] db: storageEncrypted must be true (got False)" in text
    assert "- fixed (advisory): [S10] old: not rotated" in text


def test_reads_pulumi_preview_json(tmp_path: Path) -> None:
    urn = "urn:pulumi:prod::global-platform::aws:rds/cluster:Cluster::use1-sg01-use1"
    base = {"steps": [{"op": "same", "urn": urn, "oldState": {"type": "aws:rds/cluster:Cluster",
                                                               "inputs": {"engine": "aurora-postgresql"}}}]}
    head = {"steps": [{"op": "replace", "urn": urn, "newState": {"type": "aws:rds/cluster:Cluster",
                                                                  "inputs": {"engine": "aurora-postgresql"}}}]}
    text = _render(tmp_path, base, head)
    assert f"- `{urn}`" in text and "Data loss" in text
