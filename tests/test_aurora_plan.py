"""The data tier of the planned stacks: one Aurora Global Database per shard group, placed by the manifest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.aurora import MEMBER_IGNORE_CHANGES
from offline.mocks import PlatformMocks
from regions.loader import load, manifest_path
from regions.quotas import rds_needs
from regions.shards import ShardMap
from tests.plan_helpers import Doc, of_type


@pytest.fixture(params=["prod", "dev"])
def plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


def _shard_map(plan: Doc) -> ShardMap:
    return ShardMap(load(manifest_path(plan["environment"]), plan["environment"]))


def _region(arn: str) -> str:
    return arn.split(":")[3]


def _clusters_of(plan: Doc, group_id: str) -> dict[str, dict[str, Any]]:
    """region -> the group's cluster there."""
    return {c["region"]: c for c in of_type(plan, "aws:rds/cluster:Cluster")
            if c["inputs"]["tags"]["shard-group"] == group_id}


def test_prod_has_eighteen_global_clusters(prod_plan: Doc) -> None:
    assert len(of_type(prod_plan, "aws:rds/globalCluster:GlobalCluster")) == 18


def test_each_global_cluster_has_its_primary_home_and_secondaries_in_the_dr_regions(plan: Doc) -> None:
    shard_map = _shard_map(plan)
    globals_ = {g["inputs"]["globalClusterIdentifier"]: g for g in of_type(plan, "aws:rds/globalCluster:GlobalCluster")}
    assert len(globals_) == len(shard_map.groups)
    for group in shard_map.groups:
        identifier = f"{plan['environment']}-{group.id}"
        global_cluster = globals_[identifier]
        assert global_cluster["region"] == group.home_region
        clusters = _clusters_of(plan, group.id)
        assert len(group.dr_regions) == len(set(group.dr_regions)) and group.home_region not in group.dr_regions
        assert set(clusters) == {group.home_region, *group.dr_regions}
        for region, cluster in clusters.items():
            assert cluster["inputs"]["globalClusterIdentifier"] == identifier
            primary = region == group.home_region
            assert ("masterPassword" in cluster["inputs"]) is primary
            assert cluster["inputs"].get("enableGlobalWriteForwarding", False) is not primary
        urns = {r["urn"]: r for r in plan["resources"]}
        home_stack = f"{plan['environment']}-{group.home_region}"
        assert clusters[group.home_region]["stack"] == home_stack
        for region in group.dr_regions:
            # A secondary lives in its own region's replicas stack, which deploys after every infra stack, and
            # joins by the identifier the home stack publishes once the writer exists (a StackReference).
            secondary = clusters[region]
            assert secondary["stack"] == f"{plan['environment']}-{region}-replicas"
            sources = [urns[u] for u in secondary["propertyDependencies"]["globalClusterIdentifier"]]
            assert [s["inputs"]["name"].rsplit("/", 1)[-1] for s in sources] == [home_stack]


def test_every_cluster_encrypted_protected_and_audited(plan: Doc) -> None:
    prod = plan["environment"] == "prod"
    keys = {k["outputs"]["arn"]: k for k in of_type(plan, "aws:kms/key:Key")}
    for cluster in of_type(plan, "aws:rds/cluster:Cluster"):
        inputs = cluster["inputs"]
        assert inputs["storageEncrypted"] is True
        assert _region(inputs["kmsKeyId"]) == cluster["region"]
        assert keys[inputs["kmsKeyId"]]["region"] == cluster["region"]
        assert inputs["deletionProtection"] is prod and cluster["protect"] is prod
        assert inputs["iamDatabaseAuthenticationEnabled"] is True
        assert inputs["backupRetentionPeriod"] >= (35 if prod else 7)
        assert inputs["enabledCloudwatchLogsExports"] == ["postgresql"]
        assert inputs["skipFinalSnapshot"] is False and inputs["finalSnapshotIdentifier"]
        assert inputs["copyTagsToSnapshot"] is True
        assert cluster["ignoreChanges"] == sorted(MEMBER_IGNORE_CHANGES)
    for global_cluster in of_type(plan, "aws:rds/globalCluster:GlobalCluster"):
        assert global_cluster["inputs"]["storageEncrypted"] is True
        assert global_cluster["inputs"]["deletionProtection"] is prod and global_cluster["protect"] is prod


def test_exported_logs_go_to_encrypted_groups_with_retention(plan: Doc) -> None:
    groups = {g["inputs"]["name"]: g for g in of_type(plan, "aws:cloudwatch/logGroup:LogGroup")}
    for cluster in of_type(plan, "aws:rds/cluster:Cluster"):
        group = groups[f"/aws/rds/cluster/{cluster['inputs']['clusterIdentifier']}/postgresql"]
        assert group["region"] == cluster["region"] and _region(group["inputs"]["kmsKeyId"]) == cluster["region"]
        assert group["urn"] in cluster["dependencies"]


def test_instances_private_monitored_and_sized_for_promotion(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    clusters = {c["inputs"]["clusterIdentifier"]: c for c in of_type(plan, "aws:rds/cluster:Cluster")}
    shard_map = ShardMap(manifest)
    counts: dict[str, int] = {}
    for instance in of_type(plan, "aws:rds/clusterInstance:ClusterInstance"):
        inputs = instance["inputs"]
        assert inputs["publiclyAccessible"] is False
        assert inputs["performanceInsightsEnabled"] is True
        assert _region(inputs["performanceInsightsKmsKeyId"]) == instance["region"]
        assert inputs["monitoringInterval"] == 60 and inputs["monitoringRoleArn"]
        cluster = clusters[inputs["clusterIdentifier"]]
        group = shard_map.groups[[g.id for g in shard_map.groups].index(cluster["inputs"]["tags"]["shard-group"])]
        # Every instance, secondaries' included, has the writer's class: a promoted region carries the load.
        assert inputs["instanceClass"] == manifest.region(group.home_region).aurora.instance_class
        counts[cluster["urn"]] = counts.get(cluster["urn"], 0) + 1
    for cluster in clusters.values():
        group_home = cluster["inputs"]["tags"]["shard-group"]
        home = next(g for g in shard_map.groups if g.id == group_home).home_region
        aurora = manifest.region(home).aurora
        expected = 1 + aurora.readers if cluster["region"] == home else aurora.secondary_instances
        assert counts[cluster["urn"]] == expected


def test_port_5432_admits_only_the_pgbouncer_nodes_and_the_rotation_function(plan: Doc) -> None:
    for region in plan["regions"]:
        groups = of_type(plan, "aws:ec2/securityGroup:SecurityGroup", region)
        pgbouncer_sg = [g["outputs"]["id"] for g in groups
                        if g["inputs"].get("tags", {}).get("node-group") == "pgbouncer"]
        (aurora_sg,) = [g for g in groups if g["name"].endswith("-aurora")]
        (rotation_sg,) = [g for g in groups if g["name"].endswith("-aurora-rotation")]
        assert "ingress" not in aurora_sg["inputs"] and "egress" not in aurora_sg["inputs"]
        rules = [r["inputs"] for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", region)
                 if r["inputs"]["securityGroupId"] == aurora_sg["outputs"]["id"]]
        assert sorted(r["referencedSecurityGroupId"] for r in rules) == sorted([pgbouncer_sg[0],
                                                                                rotation_sg["outputs"]["id"]])
        for rule in rules:
            assert (rule["fromPort"], rule["toPort"]) == (5432, 5432)
            assert "cidrIpv4" not in rule and "cidrIpv6" not in rule
        # The rotation function reaches Aurora and the VPC's endpoints only (no ingress, no internet).
        egress = rotation_sg["inputs"]["egress"]
        assert "ingress" not in rotation_sg["inputs"]
        assert {(e["fromPort"], tuple(e.get("securityGroups", ())), tuple(e.get("cidrBlocks", ()))) for e in egress} \
            == {(5432, (aurora_sg["outputs"]["id"],), ()), (443, (), (plan_vpc_cidr(plan, region),))}
        for cluster in of_type(plan, "aws:rds/cluster:Cluster", region):
            assert cluster["inputs"]["vpcSecurityGroupIds"] == [aurora_sg["outputs"]["id"]]


def test_parameter_group_forces_tls_and_logs(plan: Doc) -> None:
    for group in of_type(plan, "aws:rds/clusterParameterGroup:ClusterParameterGroup"):
        params = {p["name"]: p["value"] for p in group["inputs"]["parameters"]}
        assert group["inputs"]["family"] == "aurora-postgresql17"
        assert params["rds.force_ssl"] == "1"
        assert "pg_stat_statements" in params["shared_preload_libraries"]
        assert int(params["log_min_duration_statement"]) > 0
        assert int(params["idle_in_transaction_session_timeout"]) > 0


def test_write_forwarding_parameters_are_static_and_spelled_as_the_api_lists_them(plan: Doc) -> None:
    # DescribeDBClusterParameters (aurora-postgresql): both apg_write_forward parameters have ApplyType "static",
    # which ModifyDBClusterParameterGroup refuses with "immediate"; consistency_mode's AllowedValues are
    # "off,eventual,session,global" and pg_stat_statements.track's "NONE,TOP,ALL".
    for group in of_type(plan, "aws:rds/clusterParameterGroup:ClusterParameterGroup"):
        params = {p["name"]: (p["value"], p.get("applyMethod")) for p in group["inputs"]["parameters"]}
        assert params["apg_write_forward.consistency_mode"] == ("session", "pending-reboot")
        assert params["apg_write_forward.max_forwarding_connections_percent"] == ("10", "pending-reboot")
        assert params["pg_stat_statements.track"] == ("TOP", "immediate")


def test_no_plaintext_password_anywhere_in_the_plan(plan: Doc) -> None:
    text = json.dumps(plan)
    # The offline password generator's stand-ins all start with this prefix.
    assert "Offline-" not in text
    for cluster in of_type(plan, "aws:rds/cluster:Cluster"):
        assert cluster["inputs"].get("masterPassword", "[secret]") == "[secret]"
    for version in of_type(plan, "aws:secretsmanager/secretVersion:SecretVersion"):
        assert version["inputs"]["secretString"] == "[secret]"
    for secret in of_type(plan, "kubernetes:core/v1:Secret"):
        data = secret["inputs"]["stringData"]
        assert data == "[secret]" or all(v == "[secret]" for v in data.values()), secret["name"]


def test_master_secrets_replicated_to_the_dr_regions_under_their_keys(plan: Doc) -> None:
    shard_map = _shard_map(plan)
    secrets = {s["inputs"]["name"]: s for s in of_type(plan, "aws:secretsmanager/secret:Secret")}
    for group in shard_map.groups:
        secret = secrets[f"{plan['environment']}/aurora/{group.id}/master"]
        assert secret["region"] == group.home_region and _region(secret["inputs"]["kmsKeyId"]) == group.home_region
        replicas = {r["region"]: r["kmsKeyId"] for r in secret["inputs"]["replicas"]}
        assert set(replicas) == set(group.dr_regions)
        assert all(_region(key) == region for region, key in replicas.items())


def test_rds_needs_match_the_plan_and_fit_the_quotas(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    for needs in rds_needs(manifest):
        assert needs.clusters == len(of_type(plan, "aws:rds/cluster:Cluster", needs.region))
        assert needs.instances == len(of_type(plan, "aws:rds/clusterInstance:ClusterInstance", needs.region))
        assert needs.subnet_groups == len(of_type(plan, "aws:rds/subnetGroup:SubnetGroup", needs.region))
        # Dev fits the defaults; prod, sized from demand, needs the increases the quota table lists.
        over = needs.instances > needs.quotas.instances
        assert bool(needs.shortfalls()) == over and (not over or plan["environment"] == "prod")


def test_ap_south_1_instance_quota_is_the_tight_one(prod_plan: Doc) -> None:
    needs = {n.region: n for n in rds_needs(load(manifest_path("prod"), "prod"))}
    assert (needs["ap-south-1"].instances, needs["ap-south-1"].quotas.instances) == (36, 20)


def test_a_shortfall_names_the_quota(raw_manifest: Any, write_manifest: Any) -> None:
    data = raw_manifest("prod")
    data["regions"][3]["aurora"]["readers"] = 3  # ap-south-1: 3 groups x 4 + 9 x 3 secondaries = 39 > 20
    needs = {n.region: n for n in rds_needs(load(write_manifest(data), "prod"))}
    assert needs["ap-south-1"].shortfalls() == [
        "ap-south-1: RDS DB instances 39 > default quota 20; request an increase before `pulumi up`"]


def test_mocks_generate_the_password_the_plan_must_hide() -> None:
    # Guards the test above: if the stand-in changed its prefix, "no plaintext password" would pass vacuously.
    _, outputs = PlatformMocks._random("random:index/randomPassword:RandomPassword", "x", "ab" * 32, {"length": 40})
    assert outputs["result"].startswith("Offline-")


def test_make_plan_shows_a_quota_shortfall_in_red(raw_manifest: Any, write_manifest: Any) -> None:
    from rich.console import Console

    from offline import document, environment, report

    data = raw_manifest("prod")
    data["regions"][3]["aurora"]["readers"] = 3
    # The smallest plan that shows it: ap-south-1's own clusters (its infra stack) and the secondaries it hosts
    # (its replicas stack, which reads every infra stack), not the whole environment.
    manifest = write_manifest(data)
    runs, _ = environment.plan_named("prod-ap-south-1-replicas", manifest=manifest)
    doc = document.build_many([r for r in runs if r.stack in ("prod-ap-south-1", "prod-ap-south-1-replicas")],
                              "prod", environment.stack_info(environment.layout("prod", manifest)))
    console = Console(record=True, width=200)
    console.print(report.data_table(doc))
    assert "39 / 20" in console.export_text()
    table = report.data_table(doc)
    row = list(table.columns[0]._cells).index("ap-south-1")
    assert "[bold red]39 / 20[/bold red]" in str(table.columns[4]._cells[row])


def plan_vpc_cidr(plan: Doc, region: str) -> str:
    (vpc,) = of_type(plan, "aws:ec2/vpc:Vpc", region)
    return str(vpc["inputs"]["cidrBlock"])
