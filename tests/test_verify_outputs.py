"""The program's real stack outputs carry what `make verify` reads, and a faithful deploy is no drift."""

from __future__ import annotations

import json

from operations import outputs
from regions import loader, published_map
from regions.shards import ShardMap
from tests.plan_helpers import Doc, of_type


def test_the_outputs_name_the_planned_resources(prod_plan: Doc) -> None:
    manifest = loader.load(loader.manifest_path("prod"), "prod")
    deployed = outputs.read(prod_plan["stackOutputs"], "plan", manifest)
    assert deployed.global_clusters["euw1-sg02"] == outputs.GlobalClusterIds("prod-euw1-sg02", {
        "eu-west-1": "prod-euw1-sg02-euw1", "us-east-1": "prod-euw1-sg02-use1", "ap-south-1": "prod-euw1-sg02-aps1"})
    assert {g.identifier for g in deployed.global_clusters.values()} == {
        r["inputs"]["globalClusterIdentifier"] for r in of_type(prod_plan, "aws:rds/globalCluster:GlobalCluster")}
    # Every member identifier is a planned cluster in that very region.
    assert {(region, cluster) for g in deployed.global_clusters.values() for region, cluster in g.clusters.items()} \
        == {(r["region"], r["inputs"]["clusterIdentifier"]) for r in of_type(prod_plan, "aws:rds/cluster:Cluster")}
    for kind, names, key in (("aws:elasticache/replicationGroup:ReplicationGroup", deployed.replication_groups,
                              "replicationGroupId"), ("aws:eks/cluster:Cluster", deployed.eks_clusters, "name")):
        assert names == {r["region"]: r["inputs"][key] for r in of_type(prod_plan, kind)}
    assert deployed.kafka_arns == {r["region"]: r["outputs"]["arn"]
                                   for r in of_type(prod_plan, "aws:msk/cluster:Cluster")}


def test_the_published_maps_are_the_plan_rendered_with_their_endpoints(prod_plan: Doc) -> None:
    """What verify calls "equal to the plan" holds for the documents the program itself publishes."""
    manifest = loader.load(loader.manifest_path("prod"), "prod")
    deployed = outputs.read(prod_plan["stackOutputs"], "plan", manifest)
    for region in manifest.region_names:
        published = json.loads(prod_plan["stackOutputs"]["shardMaps"][region])
        assert published_map.build(ShardMap(manifest), region, deployed.endpoints[region]) == published
        # The parameter holds the same text (its value is a secret input, masked in the plan document).
        assert [p["inputs"]["name"] for p in of_type(prod_plan, "aws:ssm/parameter:Parameter", region)
                if p["inputs"]["name"].endswith("/shard-map")] == [published_map.parameter_name("prod")]
