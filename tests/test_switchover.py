"""After a switchover the manifest records where a group's writer is; `pulumi up` then reroutes, never rebuilds."""

from __future__ import annotations

import json
from typing import Any

from regions.shard_map_reader import ShardMapReader
from tests.conftest import plan as run_plan
from tests.plan_helpers import Doc, of_type


def _switched(raw_manifest: Any, write_manifest: Any) -> Doc:
    data = raw_manifest("prod")
    data["writer_regions"] = {"use1-sg01": "eu-west-1"}
    return run_plan("prod", manifest=write_manifest(data))


def test_a_recorded_switchover_reroutes_pgbouncer_and_the_shard_map(raw_manifest: Any, write_manifest: Any,
                                                                    prod_plan: Doc) -> None:
    doc = _switched(raw_manifest, write_manifest)
    euw1 = json.loads(doc["stackOutputs"]["shardMaps"]["eu-west-1"])
    use1 = json.loads(doc["stackOutputs"]["shardMaps"]["us-east-1"])
    group_euw1 = next(g for g in euw1["groups"] if g["id"] == "use1-sg01")
    group_use1 = next(g for g in use1["groups"] if g["id"] == "use1-sg01")
    assert (group_euw1["local"], group_use1["local"]) == ("writer", "secondary")
    assert group_euw1["writerRegion"] == "eu-west-1" and group_euw1["homeRegion"] == "us-east-1"
    assert ".eu-west-1.rds.amazonaws.com" in group_euw1["writerEndpoint"]
    ini = next(c for c in of_type(doc, "kubernetes:core/v1:ConfigMap", "eu-west-1")
               if c["inputs"]["metadata"]["name"] == "pgbouncer-config")["inputs"]["data"]["pgbouncer.ini"]
    assert f"use1-sg01 = host={group_euw1['writerEndpoint']} " in ini
    assert ShardMapReader(euw1).route(next(u for u in range(10_000) if ShardMapReader(euw1).route(u).group_id
                                           == "use1-sg01")).writer_region == "eu-west-1"


def test_a_recorded_switchover_changes_no_database(raw_manifest: Any, write_manifest: Any, prod_plan: Doc) -> None:
    doc = _switched(raw_manifest, write_manifest)
    data_types = ("aws:rds/globalCluster:GlobalCluster", "aws:rds/cluster:Cluster",
                  "aws:rds/clusterInstance:ClusterInstance")
    for token in data_types:
        before = {r["urn"]: r["inputs"] for r in of_type(prod_plan, token)}
        after = {r["urn"]: r["inputs"] for r in of_type(doc, token)}
        assert before == after, token
    # The master secret's rotation pauses while the writer is away (the function logs in at the home cluster),
    # and S10 says so; every other group keeps rotating. The backup selection keeps naming the home cluster.
    def rotated(plan: Doc) -> set[str]:
        return {r["name"] for r in of_type(plan, "aws:secretsmanager/secretRotation:SecretRotation")}
    assert rotated(prod_plan) - rotated(doc) == {"use1-sg01-master"}
    from offline import guardrails

    assert [v.message for v in guardrails.evaluate(doc, {}) if v.id == "S10"] == [
        "[S10] use1-sg01-master: no aws:secretsmanager/secretRotation:SecretRotation rotates it and its value is "
        "no rotating password"]
    selections = {s["region"]: s["inputs"]["resources"] for s in of_type(doc, "aws:backup/selection:Selection")}
    assert selections == {s["region"]: s["inputs"]["resources"]
                          for s in of_type(prod_plan, "aws:backup/selection:Selection")}
