"""No refactor replaces a database: stateful URNs match the committed snapshot, or the move carries an alias.

Also the protection audit: every stateful resource of prod is `protect`ed and has its service's own
deletion guard; dev has none of them, so it can be destroyed cleanly.
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest

from offline import engine, urn_snapshot
from tests.plan_helpers import Doc, of_type


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_stateful_urns_match_the_snapshot(stack: str, request: pytest.FixtureRequest) -> None:
    doc: Doc = request.getfixturevalue(f"{stack}_plan")
    drift = urn_snapshot.compare(doc, urn_snapshot.read(stack))
    assert not drift.lost and not drift.new, drift.message(stack)


def _renamed(doc: Doc, old_name: str, new_name: str) -> tuple[Doc, str]:
    """The document as it would be after renaming one resource in the program (same parent)."""
    changed = copy.deepcopy(doc)
    resource = next(r for r in changed["resources"] if r["name"] == old_name)
    old_urn = resource["urn"]
    resource["urn"] = old_urn.rsplit("::", 1)[0] + f"::{new_name}"
    resource["name"] = new_name
    return changed, old_urn


def test_a_rename_without_an_alias_is_caught(prod_plan: Doc) -> None:
    renamed, old_urn = _renamed(prod_plan, "use1-sg01-use1", "use1-sg01-primary")
    drift = urn_snapshot.compare(renamed, urn_snapshot.read("prod"))
    assert drift.lost == [old_urn]
    assert drift.new == [old_urn.rsplit("::", 1)[0] + "::use1-sg01-primary"]
    message = drift.message("prod")
    assert "would be deleted and recreated" in message and old_urn in message
    assert "aliases=[pulumi.Alias(name=<old name>, parent=<old parent>)]" in message
    assert "make urn-snapshot STACK=prod" in message


def test_a_rename_with_an_alias_keeps_the_resource(prod_plan: Doc) -> None:
    renamed, old_urn = _renamed(prod_plan, "use1-sg01-use1", "use1-sg01-primary")
    next(r for r in renamed["resources"] if r["name"] == "use1-sg01-primary")["aliases"] = [old_urn]
    assert urn_snapshot.compare(renamed, urn_snapshot.read("prod")).lost == []


def test_the_engine_records_aliases_as_full_urns() -> None:
    def program() -> None:
        import pulumi_aws as aws

        aws.kms.Key("renamed-key", description="moved", opts=pulumi.ResourceOptions(
            aliases=[pulumi.Alias(name="old-key")]))

    run = engine.run("dev-us-east-1", program)
    (key,) = [r for r in run.resources if r.type == "aws:kms/key:Key"]
    assert key.aliases == ["urn:pulumi:dev-us-east-1::global-platform::aws:kms/key:Key::old-key"]


# -- protection audit ------------------------------------------------------------------------------------

PROVIDER_GUARDS: dict[str, dict[str, Any]] = {
    "aws:rds/globalCluster:GlobalCluster": {"deletionProtection": True},
    "aws:rds/cluster:Cluster": {"deletionProtection": True, "skipFinalSnapshot": False},
    "aws:eks/cluster:Cluster": {"deletionProtection": True},
    "aws:kms/key:Key": {"deletionWindowInDays": 30},
    "aws:lb/loadBalancer:LoadBalancer": {"enableDeletionProtection": True},
}


def test_prod_stateful_resources_are_protected_twice(prod_plan: Doc) -> None:
    for token in urn_snapshot.STATEFUL_TYPES - {"aws:ec2/vpc:Vpc"}:
        resources = of_type(prod_plan, token)
        assert resources, token
        # A password kept by a pulumiverse-time Rotating is replaced on purpose: that is its rotation.
        rotating = [r for r in resources if "rotation" in (r["inputs"].get("keepers") or {})]
        assert all(r["protect"] for r in resources if r not in rotating), token
        assert not any(r["protect"] for r in rotating), token
    for token, guards in PROVIDER_GUARDS.items():
        for r in of_type(prod_plan, token):
            assert {k: r["inputs"].get(k) for k in guards} == guards, r["name"]
    for r in of_type(prod_plan, "aws:rds/cluster:Cluster"):
        assert r["inputs"]["finalSnapshotIdentifier"]
    for r in of_type(prod_plan, "aws:elasticache/replicationGroup:ReplicationGroup"):
        assert r["inputs"]["finalSnapshotIdentifier"]
    for r in of_type(prod_plan, "aws:secretsmanager/secret:Secret"):
        assert r["inputs"]["recoveryWindowInDays"] >= 7


def test_dev_can_be_destroyed_cleanly(dev_plan: Doc) -> None:
    assert not [r["urn"] for r in dev_plan["resources"] if r["protect"]]
    for token, guards in PROVIDER_GUARDS.items():
        key, value = next(iter(guards.items()))
        if isinstance(value, bool):
            assert not any(r["inputs"].get(key) is True for r in of_type(dev_plan, token)
                           if key != "skipFinalSnapshot"), token
