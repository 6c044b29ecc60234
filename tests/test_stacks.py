"""The stack layout: which stacks exist, what each reads, and that the plan of an environment honours it."""

from __future__ import annotations

import collections
from typing import Any

import pytest

from offline import layout, plan, policy_configs
from offline.layout import ENVIRONMENTS
from regions.loader import load, manifest_path
from regions.shards import ShardMap
from regions.stacks import Layout, StackId, closure, runner_project
from tests.plan_helpers import Doc, of_type


@pytest.fixture(params=ENVIRONMENTS)
def env_plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


def _layout(env: str) -> Layout:
    return Layout(load(manifest_path(env), env))


def test_prod_is_cut_into_a_global_stack_and_three_stacks_per_region() -> None:
    names = [s.name for s in _layout("prod").order()]
    assert names == ["prod-us-east-1", "prod-eu-west-1", "prod-ap-southeast-1", "prod-ap-south-1",
                     "prod-us-east-1-replicas", "prod-eu-west-1-replicas", "prod-ap-southeast-1-replicas",
                     "prod-ap-south-1-replicas", "prod-global", "prod-us-east-1-cluster", "prod-eu-west-1-cluster",
                     "prod-ap-southeast-1-cluster", "prod-ap-south-1-cluster"]


def test_the_deploy_order_lists_every_stack_after_what_it_reads() -> None:
    for env in ENVIRONMENTS:
        lay = _layout(env)
        seen: set[StackId] = set()
        for stack in lay.order():
            assert set(lay.reads(stack)) <= seen, stack.name
            seen.add(stack)


def test_what_each_layer_reads() -> None:
    lay = _layout("prod")
    assert lay.reads(StackId("prod", "infra", "us-east-1")) == []
    assert [s.name for s in lay.reads(StackId("prod", "global"))] == [
        "prod-us-east-1", "prod-eu-west-1", "prod-ap-southeast-1", "prod-ap-south-1"]
    # ap-south-1 hosts secondaries of groups homed in eu-west-1 and ap-southeast-1 (its replicators' sources
    # too), and its own groups' master secrets replicate to its DR regions: never its own later layers.
    replicas = {s.name for s in lay.reads(StackId("prod", "replicas", "ap-south-1"))}
    manifest = lay.manifest
    hosted_homes = {g.home_region for g in ShardMap(manifest).hosted_secondaries("ap-south-1")}
    expected = {"ap-south-1", *hosted_homes, *manifest.region("ap-south-1").dr_regions}
    assert replicas == {f"prod-{r}" for r in expected}
    cluster = {s.name for s in lay.reads(StackId("prod", "cluster", "eu-west-1"))}
    assert {"prod-global", "prod-eu-west-1", "prod-eu-west-1-replicas"} <= cluster
    assert not any(name.endswith("-cluster") for name in cluster)


def test_a_switched_over_writer_is_read_from_the_replicas_stack_that_holds_it(raw_manifest: Any,
                                                                             write_manifest: Any) -> None:
    data = raw_manifest("prod")
    data["writer_regions"] = {"use1-sg01": "eu-west-1"}
    lay = Layout(load(write_manifest(data), "prod"))
    assert lay.member_stack("us-east-1", "eu-west-1") == StackId("prod", "replicas", "eu-west-1")
    assert StackId("prod", "replicas", "eu-west-1") in lay.reads(StackId("prod", "cluster", "ap-south-1"))


def test_closure_of_a_stack_is_it_and_what_it_reads_in_deploy_order() -> None:
    lay = _layout("dev")
    assert [s.name for s in closure(lay, ["dev-us-east-1-replicas"])] == [
        "dev-us-east-1", "dev-eu-west-1", "dev-us-east-1-replicas"]
    assert [s.name for s in closure(lay, ["dev-global"])] == ["dev-us-east-1", "dev-eu-west-1", "dev-global"]


def test_waves_come_from_the_manifest_canary_first_in_prod() -> None:
    assert _layout("prod").waves() == [["ap-south-1"], ["us-east-1", "eu-west-1", "ap-southeast-1"]]
    assert _layout("dev").waves() == [["us-east-1", "eu-west-1"]]


def test_every_stack_of_the_environment_is_planned_and_named(env_plan: Doc) -> None:
    lay = _layout(env_plan["environment"])
    assert [s["name"] for s in env_plan["stacks"]] == [s.name for s in lay.order()]
    for stack in env_plan["stacks"]:
        assert stack["resources"] == sum(r["stack"] == stack["name"] for r in env_plan["resources"]) > 0
        assert stack["reads"] == [r.name for r in lay.reads(lay.by_name(stack["name"]))]


def test_every_aws_resource_of_a_regional_stack_is_in_its_region(env_plan: Doc) -> None:
    region_of = {s["name"]: s["region"] for s in env_plan["stacks"]}
    checked = 0
    for r in env_plan["resources"]:
        if r["type"].startswith("aws:"):
            assert region_of[r["stack"]] is not None, f"{r['urn']}: an AWS resource in the global stack"
            assert r["region"] == region_of[r["stack"]], r["urn"]
            checked += 1
    assert checked > 500 if env_plan["environment"] == "prod" else checked > 100


def test_the_union_of_prods_stacks_holds_the_whole_platform(prod_plan: Doc) -> None:
    counts = collections.Counter(r["type"] for r in prod_plan["resources"])
    assert (counts["aws:eks/cluster:Cluster"], counts["aws:rds/globalCluster:GlobalCluster"],
            counts["aws:rds/cluster:Cluster"], counts["aws:msk/cluster:Cluster"],
            counts["aws:elasticache/replicationGroup:ReplicationGroup"]) == (4, 18, 54, 4, 4)
    by_stack = collections.Counter((r["stack"], r["type"]) for r in prod_plan["resources"])
    # A global cluster lives with its home region's primary; secondaries with the region they run in.
    assert by_stack[("prod-us-east-1", "aws:rds/globalCluster:GlobalCluster")] == 6
    assert by_stack[("prod-us-east-1", "aws:rds/cluster:Cluster")] == 6
    assert by_stack[("prod-us-east-1-replicas", "aws:rds/cluster:Cluster")] == 9


def _references(doc: Doc, stack: str) -> set[str]:
    return {r["inputs"]["name"].rsplit("/", 1)[-1] for r in doc["resources"]
            if r["stack"] == stack and r["type"] == "pulumi:pulumi:StackReference"}


def test_each_stack_references_exactly_the_stacks_the_layout_says_it_reads(env_plan: Doc) -> None:
    for stack in env_plan["stacks"]:
        assert _references(env_plan, stack["name"]) == set(stack["reads"]), stack["name"]


def test_a_secondary_joins_its_global_cluster_through_the_home_stacks_output(dev_plan: Doc) -> None:
    urns = {r["urn"]: r for r in dev_plan["resources"]}
    (secondary,) = [r for r in of_type(dev_plan, "aws:rds/cluster:Cluster", "us-east-1")
                    if r["stack"] == "dev-us-east-1-replicas"]
    assert secondary["inputs"]["globalClusterIdentifier"] == "dev-euw1-sg01"
    sources = [urns[u] for u in secondary["propertyDependencies"]["globalClusterIdentifier"]]
    assert [s["inputs"]["name"].rsplit("/", 1)[-1] for s in sources] == ["dev-eu-west-1"]


def test_a_replicator_reads_its_source_through_the_source_stack(dev_plan: Doc) -> None:
    urns = {r["urn"]: r for r in dev_plan["resources"]}
    (replicator,) = [r for r in of_type(dev_plan, "aws:msk/replicator:Replicator") if r["region"] == "us-east-1"]
    assert replicator["stack"] == "dev-us-east-1-replicas"
    source_arn = replicator["inputs"]["replicationInfoList"]["sourceKafkaClusterArn"]
    (source,) = [r for r in of_type(dev_plan, "aws:msk/cluster:Cluster") if r["region"] == "eu-west-1"]
    assert source_arn == source["outputs"]["arn"]
    refs = {urns[u]["inputs"]["name"].rsplit("/", 1)[-1] for u in replicator["dependencies"]
            if urns[u]["type"] == "pulumi:pulumi:StackReference"}
    assert "dev-eu-west-1" in refs


def test_the_source_publishes_its_arn_for_replicators_only_after_its_cluster_policy(dev_plan: Doc) -> None:
    # The infra stack's output is computed from the cluster policy too (the replicator's wait, across stacks).
    (policy,) = [r for r in of_type(dev_plan, "aws:msk/clusterPolicy:ClusterPolicy") if r["region"] == "eu-west-1"]
    outputs = dev_plan["stackOutputs"]["kafka"]["eu-west-1"]
    assert outputs["replicationSourceArn"] == outputs["arn"] == policy["inputs"]["clusterArn"]


def test_in_cluster_stacks_hold_kubernetes_and_kafka_and_infra_stacks_hold_neither(env_plan: Doc) -> None:
    layer = {s["name"]: s["layer"] for s in env_plan["stacks"]}
    for r in env_plan["resources"]:
        if r["type"].startswith(("kubernetes:", "kafka:")):
            assert layer[r["stack"]] == "cluster", r["urn"]


def test_a_runner_in_every_region_named_as_the_workflow_selects_it(env_plan: Doc) -> None:
    manifest = load(manifest_path(env_plan["environment"]), env_plan["environment"])
    projects = {r["region"]: r["inputs"]["name"] for r in of_type(env_plan, "aws:codebuild/project:Project")}
    assert projects == {r.name: runner_project(manifest.environment, r.short_code) for r in manifest.regions}


def test_make_plan_of_one_stack_names_only_it(tmp_path: Any, capsys: Any) -> None:
    out = tmp_path / "global.json"
    assert plan.main(["--stack", "dev-global", "--json", str(out)]) == 0
    import json
    doc = json.loads(out.read_text())
    assert [s["name"] for s in doc["stacks"]] == ["dev-global"] and doc["stack"] == "dev-global"
    assert {r["stack"] for r in doc["resources"]} == {"dev-global"}
    assert "dev-global" in capsys.readouterr().out


def test_the_stacks_document_is_current() -> None:
    assert layout.STACKS_DOC.read_text(encoding="utf-8") == layout.document(), "run `make docs`"


def test_the_stacks_document_draws_every_stack_and_read() -> None:
    text = layout.mermaid(_layout("prod"))
    assert 'subgraph wave1["prod wave 1: ap-south-1"]' in text
    assert "prod_ap_south_1 --> prod_ap_south_1_replicas" in text and "prod_global --> prod_us_east_1_cluster" in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_per_layer_pack_configs_are_current(env: str) -> None:
    # The environment's own file carries the manifest's backup estimate for the cost rule.
    assert (policy_configs.CONFIG_DIR / f"{env}.json").read_text(encoding="utf-8") == \
        policy_configs.render_environment(env), "run `make docs`"
    for layer in ("infra", "replicas", "global", "cluster"):
        assert policy_configs.path(env, layer).read_text(encoding="utf-8") == policy_configs.render(env, layer), \
            "run `make docs`"


def test_a_stack_read_before_it_is_deployed_stops_the_plan_naming_it() -> None:
    from offline import engine
    from offline.mocks import StackOutputs

    empty = {"dev-us-east-1": StackOutputs({}), "dev-eu-west-1": StackOutputs({})}
    with pytest.raises(engine.InvalidInput, match=r"stack dev-(us-east|eu-west)-1 has no output '\w+': deploy it "
                                                  r"first \(the order is in docs/stacks\.md\)"):
        engine.run("dev-us-east-1-replicas", stack_outputs=empty)


def test_a_stack_not_among_the_reads_cannot_be_referenced() -> None:
    from program.references import Stacks

    stacks = Stacks([StackId("dev", "infra", "us-east-1")])
    with pytest.raises(AssertionError, match="dev-global is not among the stacks this stack reads"):
        stacks.output(StackId("dev", "global"), "databaseLogins")


def test_each_output_of_a_stack_is_read_once_per_run() -> None:
    from offline import engine
    from offline.mocks import StackOutputs
    from program.references import Stacks

    infra, other = StackId("dev", "infra", "us-east-1"), StackId("dev", "infra", "eu-west-1")
    seen: dict[str, Any] = {}

    def program() -> None:
        stacks = Stacks([infra, other])
        seen["same"] = stacks.output(infra, "auroraSites") is stacks.output(infra, "auroraSites")
        seen["keys"] = stacks.output(infra, "auroraSites") is stacks.output(infra, "networks")
        seen["stacks"] = stacks.output(infra, "networks") is stacks.output(other, "networks")
        stacks.regional(infra, "networks")
        stacks.item(infra, "auroraSites", "us-east-1")

    exported: dict[str, Any] = {"auroraSites": {"us-east-1": {}}, "networks": {"us-east-1": {}}}
    run = engine.run("dev-us-east-1-cluster", program=program,
                     stack_outputs={s.name: StackOutputs(exported) for s in (infra, other)})
    assert seen == {"same": True, "keys": False, "stacks": False}
    refs = [r for r in run.resources if r.type == "pulumi:pulumi:StackReference"]
    assert sorted(r.name for r in refs) == sorted(f"organization/global-platform/{s.name}" for s in (infra, other))


def test_stack_references_name_the_organization_project_and_stack(dev_plan: Doc) -> None:
    names = {r["inputs"]["name"] for r in dev_plan["resources"] if r["type"] == "pulumi:pulumi:StackReference"}
    assert "organization/global-platform/dev-global" in names
    assert all(n.startswith("organization/global-platform/dev-") for n in names)


def test_a_first_preview_sees_the_stacks_own_outputs_unknown_and_its_reads_deployed() -> None:
    from offline import environment

    doc = environment.document_of("dev-us-east-1-replicas", preview=True)
    assert doc["preview"] is True and [s["name"] for s in doc["stacks"]] == ["dev-us-east-1-replicas"]
    (secondary,) = of_type(doc, "aws:rds/cluster:Cluster")
    # Read from the home stack, deployed: known. Its own outputs, not created yet: absent, as the engine shows.
    assert secondary["inputs"]["globalClusterIdentifier"] == "dev-euw1-sg01"
    assert "arn" not in secondary["outputs"] and "endpoint" not in secondary["outputs"]
    (instance,) = of_type(doc, "aws:rds/clusterInstance:ClusterInstance")
    assert instance["inputs"]["clusterIdentifier"] == "[unknown]"  # computed from the cluster's id


def test_make_plan_preview_of_a_replicas_stack_passes_the_pack(tmp_path: Any) -> None:
    import json

    out = tmp_path / "preview.json"
    assert plan.main(["--stack", "dev-us-east-1-replicas", "--preview", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["preview"] is True
    assert {v["scope"] for v in doc["policyViolations"]} <= {"dev-us-east-1-replicas"}  # its own run only


@pytest.mark.first_preview("prod")
def test_the_first_preview_of_every_prod_stack_passes_the_pack(tmp_path: Any) -> None:
    """`make plan PREVIEW=1`: each stack as its first `pulumi preview` sees it, the pack as its own run applies it."""
    import json

    out = tmp_path / "preview.json"
    assert plan.main(["--stack", "prod", "--preview", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["preview"] is True and len(doc["stacks"]) == 13
    assert not [v for v in doc["policyViolations"] if v["enforcement"] == "mandatory"]
    # It is a first preview: ids of the stack's own resources are not known yet.
    subnets = [r for r in doc["resources"] if r["type"] == "aws:ec2/subnet:Subnet"]
    assert subnets and all(r["inputs"]["vpcId"] == "[unknown]" for r in subnets)


def test_the_replication_source_arn_waits_for_the_cluster_policy() -> None:
    """What a replicator in another stack reads of its source is computed from the source's ClusterPolicy."""
    import pulumi
    import pulumi_aws as aws

    from components.kafka import KafkaArgs, KafkaCluster
    from offline import document, engine

    def program() -> None:
        provider = aws.Provider("aws-aps1", region="ap-south-1")
        opts = pulumi.ResourceOptions(provider=provider)
        kafka = KafkaCluster("aps1-kafka", KafkaArgs(
            environment="prod", region="ap-south-1", short_code="aps1", account_id="111111111111",
            kafka_version="3.8.x", broker_type="kafka.m7g.large", brokers=3, storage_gib=1000, max_storage_gib=4000,
            log_retention_days=365, vpc_id="vpc-0123456789abcdef0", private_subnet_ids=["s-1", "s-2", "s-3"],
            client_security_group_id="sg-0123456789abcdef0", log_key_arn="arn:aws:kms:ap-south-1:1:key/a",
            key_arn="arn:aws:kms:ap-south-1:1:key/b", protect=False),
            pulumi.ResourceOptions(providers={"aws": provider}))
        aws.ssm.Parameter("probe", name="/probe", type="String", value=kafka.replication_source_arn, opts=opts)

    doc = document.build(engine.run("prod-ap-south-1", program=program))
    urns = {r["urn"]: r for r in doc["resources"]}
    (probe,) = of_type(doc, "aws:ssm/parameter:Parameter")
    sources = {urns[u]["type"] for u in probe["propertyDependencies"]["value"]}
    assert {"aws:msk/clusterPolicy:ClusterPolicy", "aws:msk/cluster:Cluster"} <= sources
