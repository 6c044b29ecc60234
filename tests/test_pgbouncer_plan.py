"""PgBouncer and the published shard map in every region of the planned stacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from regions.loader import load, manifest_path
from regions.shard_map_reader import ShardMapReader
from tests.plan_helpers import Doc, of_type


@pytest.fixture(params=["prod", "dev"])
def plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


def _named(plan: Doc, token: str, region: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in of_type(plan, token, region) if r["inputs"]["metadata"]["name"] == name]
    return found


def test_a_pgbouncer_deployment_and_config_in_every_region(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    assert len(of_type(plan, "kubernetes:apps/v1:Deployment")) == len(plan["regions"])
    for region in manifest.regions:
        deployment = _named(plan, "kubernetes:apps/v1:Deployment", region.name, "pgbouncer")
        config = _named(plan, "kubernetes:core/v1:ConfigMap", region.name, "pgbouncer-config")
        assert deployment["inputs"]["metadata"]["namespace"] == config["inputs"]["metadata"]["namespace"] == "data"
        assert deployment["inputs"]["spec"]["replicas"] == region.pgbouncer.min_replicas >= 3
        assert deployment["ignoreChanges"] == ["spec.replicas"]
        hpa = _named(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", region.name, "pgbouncer")
        assert (hpa["inputs"]["spec"]["minReplicas"], hpa["inputs"]["spec"]["maxReplicas"]) == \
            (region.pgbouncer.min_replicas, region.pgbouncer.max_replicas)
        pdb = _named(plan, "kubernetes:policy/v1:PodDisruptionBudget", region.name, "pgbouncer")
        assert pdb["inputs"]["spec"]["maxUnavailable"] == 1
        service = _named(plan, "kubernetes:core/v1:Service", region.name, "pgbouncer")
        assert service["inputs"]["spec"]["type"] == "ClusterIP"


def test_pods_are_hardened_spread_and_alone_on_their_nodes(plan: Doc) -> None:
    for region in plan["regions"]:
        pod = _named(plan, "kubernetes:apps/v1:Deployment", region, "pgbouncer")["inputs"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert {c["name"] for c in pod["containers"]} == {"pgbouncer", "exporter"}
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert container["readinessProbe"]
            assert ":" in container["image"] and not container["image"].endswith(":latest")
        assert {c["topologyKey"]: c["whenUnsatisfiable"] for c in pod["topologySpreadConstraints"]}[
            "topology.kubernetes.io/zone"] == "DoNotSchedule"
        assert pod["nodeSelector"]["eks.amazonaws.com/nodegroup"].endswith("-pgbouncer")
        assert pod["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "pgbouncer",
                                       "effect": "NoSchedule"}]


def test_network_policies_open_only_clients_in_and_aurora_out(plan: Doc) -> None:
    for region in plan["regions"]:
        ingress = _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", region, "pgbouncer-ingress")
        rules = ingress["inputs"]["spec"]["ingress"]
        assert [(r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], r["ports"][0]["port"])
                for r in rules] == [("apps", 6432), ("monitoring", 9127)]
        egress = _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", region, "pgbouncer-to-aurora")
        (rule,) = egress["inputs"]["spec"]["egress"]
        data_cidrs = {s["inputs"]["cidrBlock"] for s in of_type(plan, "aws:ec2/subnet:Subnet", region)
                      if s["inputs"]["tags"]["tier"] == "data"}
        assert {peer["ipBlock"]["cidr"] for peer in rule["to"]} == data_cidrs
        assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]


def test_ini_databases_follow_the_regions_shard_map(plan: Doc) -> None:
    for region in plan["regions"]:
        config = _named(plan, "kubernetes:core/v1:ConfigMap", region, "pgbouncer-config")
        ini = config["inputs"]["data"]["pgbouncer.ini"]
        published = json.loads(plan["stackOutputs"]["shardMaps"][region])
        names = [line.split(" = ", 1)[0] for line in ini.split("[pgbouncer]")[0].splitlines()[2:] if " = " in line]
        local = [g for g in published["groups"] if g["local"]]
        assert names == [n for g in local for n in (g["id"], f"{g['id']}_ro")]
        for g in local:
            home = g["local"] == "writer"
            assert f"{g['id']} = host={g['writerEndpoint'] if home else g['localReaderEndpoint']} " in ini
            assert f"{g['id']}_ro = host={g['localReaderEndpoint']} " in ini
            assert f".{region}.rds.amazonaws.com" in g["localReaderEndpoint"]


def test_a_shard_map_per_region_covering_every_logical_shard(plan: Doc) -> None:
    for region in plan["regions"]:
        text = plan["stackOutputs"]["shardMaps"][region]
        reader = ShardMapReader.from_json(text)  # refuses gaps, overlaps and partial coverage
        assert reader.region == region and reader.logical_shards == 90_000
        (parameter,) = of_type(plan, "aws:ssm/parameter:Parameter", region)
        assert parameter["inputs"]["name"] == f"/platform/{plan['environment']}/shard-map"
        assert parameter["inputs"]["value"] == "[secret]"  # the provider declares SSM values secret
        assert parameter["inputs"]["tier"] == ("Standard" if len(text) <= 4096 else "Advanced")
        config = _named(plan, "kubernetes:core/v1:ConfigMap", region, "shard-map")
        assert config["inputs"]["metadata"]["namespace"] == "apps"
        assert config["inputs"]["data"]["shard-map.json"] == text


def test_prod_regions_hold_copies_of_fifteen_of_eighteen_groups(prod_plan: Doc) -> None:
    for region in prod_plan["regions"]:
        published = json.loads(prod_plan["stackOutputs"]["shardMaps"][region])
        local = [g for g in published["groups"] if g["local"]]
        assert len(published["groups"]) == 18
        assert len([g for g in local if g["local"] == "secondary"]) == 9
        assert prod_plan["stackOutputs"]["pgbouncer"][region]["databases"] == \
            [n for g in local for n in (g["id"], f"{g['id']}_ro")]
