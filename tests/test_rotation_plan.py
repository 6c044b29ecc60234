"""Credentials that rotate: staggered dual passwords alone on the mock engine, and what the prod plan rotates."""

from __future__ import annotations

from typing import Any

import pulumi

from components.master_rotation import ROTATION_APPLICATION, ROTATION_APPLICATION_VERSION
from components.rotating_password import DualPassword
from offline import document, engine
from regions.loader import load, manifest_path
from tests.plan_helpers import Doc, by_urn, of_type

ROTATING = "time:index/rotating:Rotating"
PASSWORD = "random:index/randomPassword:RandomPassword"


def test_dual_password_staggers_its_slots_and_hands_out_the_newer() -> None:
    def program() -> None:
        pair = DualPassword("svc", 30, opts=pulumi.ResourceOptions())
        pulumi.export("current", pair.current)
        pulumi.export("both", pair.both)
    run = engine.run("prod-ap-south-1", program=program, config={"global-platform:awsAccountId": "111122223333"},
                     secret_keys=[])
    doc = document.build(run)
    keepers = {r["name"]: r for r in of_type(doc, ROTATING)}
    first, second = keepers["svc-a-rotation"], keepers["svc-b-rotation"]
    assert first["inputs"]["rotationDays"] == second["inputs"]["rotationDays"] == 30
    assert "rfc3339" not in first["inputs"]  # the first slot's base is its creation
    assert second["inputs"]["rfc3339"] == "2026-12-16T00:00:00Z"  # half a period after the first's base
    assert second["ignoreChanges"] == ["rfc3339"]  # the first's rotation must not replace the second
    urns = by_urn(doc)
    for password in of_type(doc, PASSWORD):
        (keeper,) = password["propertyDependencies"]["keepers"]
        assert urns[keeper]["type"] == ROTATING and password["protect"] is False
    assert {p["name"] for p in of_type(doc, PASSWORD)} == {"svc", "svc-b"}  # the first keeps the old name
    both = run.exports["both"]
    assert len(set(both)) == 2 and run.exports["current"] == both[1]  # the later base is the newer password
    assert {"current", "both"} <= run.secret_exports


def test_the_cache_user_accepts_both_slots_and_the_logins_rotate(prod_plan: Doc) -> None:
    manifest = load(manifest_path("prod"))
    for user in of_type(prod_plan, "aws:elasticache/user:User"):
        if user["inputs"]["userName"] == "app":
            assert len(user["propertyDependencies"]["authenticationMode"]) == 2  # both RandomPasswords
    urns = by_urn(prod_plan)
    days: dict[str, set[Any]] = {}
    for password in of_type(prod_plan, PASSWORD):
        for keeper in password["propertyDependencies"].get("keepers", []):
            days.setdefault(password["name"], set()).add(urns[keeper]["inputs"]["rotationDays"])
    assert days["use1-cache-app"] == days["use1-cache-app-b"] == {manifest.rotation.cache_days}
    assert days["app-password"] == days["pgbouncer-stats-password"] == {manifest.rotation.login_days}
    assert "use1-cache-default" not in days  # the switched-off default user's password never serves a login


def test_master_secrets_rotate_with_the_aws_function_in_the_data_subnets(prod_plan: Doc) -> None:
    manifest = load(manifest_path("prod"))
    urns = by_urn(prod_plan)
    for region in manifest.regions:
        (function,) = of_type(prod_plan, "aws:serverlessrepository/cloudFormationStack:CloudFormationStack",
                              region.name)
        inputs = function["inputs"]
        assert (inputs["applicationId"], inputs["semanticVersion"]) == (ROTATION_APPLICATION,
                                                                        ROTATION_APPLICATION_VERSION)
        data = sorted(s["outputs"]["id"] for s in of_type(prod_plan, "aws:ec2/subnet:Subnet", region.name)
                      if s["inputs"]["tags"].get("tier") == "data")
        assert sorted(inputs["parameters"]["vpcSubnetIds"].split(",")) == data
        (rotation_sg,) = [g for g in of_type(prod_plan, "aws:ec2/securityGroup:SecurityGroup", region.name)
                          if g["name"].endswith("-aurora-rotation")]
        assert inputs["parameters"]["vpcSecurityGroupIds"] == rotation_sg["outputs"]["id"]
        assert inputs["parameters"]["endpoint"] == f"https://secretsmanager.{region.name}.amazonaws.com"
        lambda_arn = function["outputs"]["outputs"]["RotationLambdaARN"]
        secrets = {s["outputs"]["arn"] for s in of_type(prod_plan, "aws:secretsmanager/secret:Secret", region.name)
                   if "/aurora/" in s["inputs"]["name"]}
        rotations = [r for r in of_type(prod_plan, "aws:secretsmanager/secretRotation:SecretRotation", region.name)]
        assert {r["inputs"]["secretId"] for r in rotations} == secrets and len(secrets) == region.shard_groups
        assert {r["inputs"]["rotationLambdaArn"] for r in rotations} == {lambda_arn}
        assert {r["inputs"]["rotationRules"]["automaticallyAfterDays"] for r in rotations} == {
            manifest.rotation.master_days}
    for version in of_type(prod_plan, "aws:secretsmanager/secretVersion:SecretVersion"):
        secret = urns[version["propertyDependencies"]["secretId"][0]]
        if "/aurora/" in secret["inputs"]["name"]:
            assert version["ignoreChanges"] == ["secretString"]  # rotation owns the value
    for cluster in of_type(prod_plan, "aws:rds/cluster:Cluster"):
        assert "masterPassword" in cluster["ignoreChanges"]


def test_every_container_the_program_runs_has_both_probes_and_runs_non_root(prod_plan: Doc) -> None:
    workloads = [r for r in prod_plan["resources"] if r["type"].startswith("kubernetes:apps/v1:")]
    assert workloads
    for workload in workloads:
        pod = workload["inputs"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
        for container in pod["containers"]:
            assert {"livenessProbe", "readinessProbe"} <= set(container), (workload["name"], container["name"])
