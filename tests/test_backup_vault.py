"""AWS Backup: the component alone on the mock engine, and what the prod plan asks of every region."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.backup_vault import (
    BACKUP_MANAGED_POLICIES,
    BackupArgs,
    RegionBackup,
    VaultLockSettings,
    vault_arn,
    vault_name,
)
from offline import document, engine
from regions.loader import load, manifest_path
from regions.shards import ShardMap
from tests.plan_helpers import Doc, of_type

ACCOUNT = "111122223333"
BACKUP_ACCOUNT = "999999999999"
REGION = "ap-south-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:prod-aps1-alerts"
CLUSTERS = [f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:prod-aps1-sg0{n}-aps1" for n in (1, 2)]
COPY = vault_arn("aws", "eu-west-1", ACCOUNT, "prod-euw1-backup")


def backup_args(**overrides: Any) -> BackupArgs:
    values: dict[str, Any] = dict(
        environment="prod", region=REGION, short_code="aps1", account_id=ACCOUNT, key_arn=KEY,
        alert_topic_arn=TOPIC, cluster_arns=CLUSTERS, copy_vault_arns=[COPY], schedule="cron(0 3 * * ? *)",
        daily_retention_days=90, copy_retention_days=90, continuous_retention_days=35,
        lock=VaultLockSettings(30, 400, 3), protect=True)
    return BackupArgs(**{**values, **overrides})


def build(args: BackupArgs) -> Doc:
    def program() -> None:
        provider = aws.Provider("aws-aps1", region=REGION, allowed_account_ids=[ACCOUNT])
        RegionBackup("aps1-backup", args, pulumi.ResourceOptions(providers={"aws": provider}))
    run = engine.run("prod-ap-south-1", program=program, config={"global-platform:awsAccountId": ACCOUNT},
                     secret_keys=[])
    return document.build(run)


@pytest.fixture(scope="module")
def plan() -> Doc:
    return build(backup_args())


def one(doc: Doc, type_token: str) -> dict[str, Any]:
    found = of_type(doc, type_token)
    assert len(found) == 1, [r["name"] for r in found]
    return found[0]


def test_vault_is_encrypted_with_the_given_key_and_protected(plan: Doc) -> None:
    vault = one(plan, "aws:backup/vault:Vault")
    assert vault["inputs"]["kmsKeyArn"] == KEY and vault["protect"] is True
    assert vault["inputs"]["forceDestroy"] is False
    assert vault["outputs"]["arn"] == vault_arn("aws", REGION, ACCOUNT, vault_name("prod", "aps1"))


def test_vault_lock_is_compliance_mode_with_the_manifest_bounds(plan: Doc) -> None:
    lock = one(plan, "aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert lock["inputs"] == {"backupVaultName": "prod-aps1-backup", "minRetentionDays": 30,
                              "maxRetentionDays": 400, "changeableForDays": 3}
    assert lock["protect"] is True
    unlocked = build(backup_args(lock=None, protect=False))
    assert of_type(unlocked, "aws:backup/vaultLockConfiguration:VaultLockConfiguration") == []
    assert one(unlocked, "aws:backup/vault:Vault")["inputs"]["forceDestroy"] is True


def test_plan_backs_up_daily_and_continuously_and_copies_out(plan: Doc) -> None:
    rules = {r["ruleName"]: r for r in one(plan, "aws:backup/plan:Plan")["inputs"]["rules"]}
    daily, continuous = rules["daily"], rules["continuous"]
    assert daily["targetVaultName"] == continuous["targetVaultName"] == "prod-aps1-backup"
    assert daily["lifecycle"] == {"deleteAfter": 90} and not daily.get("enableContinuousBackup")
    assert daily["copyActions"] == [{"destinationVaultArn": COPY, "lifecycle": {"deleteAfter": 90}}]
    assert continuous["enableContinuousBackup"] is True and continuous["lifecycle"] == {"deleteAfter": 35}
    assert not continuous.get("copyActions")


def test_a_backup_account_gets_its_own_copy() -> None:
    other = vault_arn("aws", REGION, BACKUP_ACCOUNT, "prod-aps1-backup")
    doc = build(backup_args(copy_vault_arns=[COPY, other]))
    daily = next(r for r in one(doc, "aws:backup/plan:Plan")["inputs"]["rules"] if r["ruleName"] == "daily")
    assert [c["destinationVaultArn"] for c in daily["copyActions"]] == [COPY, other]


def test_selection_names_the_clusters_by_arn_with_the_backup_role(plan: Doc) -> None:
    selection = one(plan, "aws:backup/selection:Selection")
    assert selection["inputs"]["resources"] == CLUSTERS
    assert not selection["inputs"].get("selectionTags") and not selection["inputs"].get("conditions")
    role = one(plan, "aws:iam/role:Role")
    assert selection["inputs"]["iamRoleArn"] == role["outputs"]["arn"]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "backup.amazonaws.com"}]
    attachments = of_type(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attached = sorted(a["inputs"]["policyArn"] for a in attachments)
    assert attached == sorted(f"arn:aws:iam::aws:policy/{p}" for p in BACKUP_MANAGED_POLICIES)
    assert of_type(plan, "aws:iam/rolePolicy:RolePolicy") == []  # only the AWS-managed policies


def test_a_region_homing_no_cluster_keeps_only_the_vault() -> None:
    doc = build(backup_args(cluster_arns=[]))
    assert of_type(doc, "aws:backup/plan:Plan") == [] == of_type(doc, "aws:backup/selection:Selection")
    assert len(of_type(doc, "aws:backup/vault:Vault")) == 1


def test_failed_jobs_and_copies_page_the_alert_topic(plan: Doc) -> None:
    notes = one(plan, "aws:backup/vaultNotifications:VaultNotifications")["inputs"]
    assert notes["snsTopicArn"] == TOPIC
    assert {"BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED"} <= set(notes["backupVaultEvents"])


# --- the prod plan ------------------------------------------------------------------------------------


def test_every_prod_region_backs_up_every_cluster_homed_there_into_a_locked_vault(prod_plan: Doc) -> None:
    manifest = load(manifest_path("prod"))
    shard_map = ShardMap(manifest)
    vaults = {v["region"]: v for v in of_type(prod_plan, "aws:backup/vault:Vault")}
    keys = {k["outputs"]["arn"]: k for k in of_type(prod_plan, "aws:kms/key:Key")}
    locks = {v["region"]: v for v in of_type(prod_plan, "aws:backup/vaultLockConfiguration:VaultLockConfiguration")}
    plans = {p["region"]: p for p in of_type(prod_plan, "aws:backup/plan:Plan")}
    selections = {s["region"]: s for s in of_type(prod_plan, "aws:backup/selection:Selection")}
    clusters = {c["inputs"]["clusterIdentifier"]: c for c in of_type(prod_plan, "aws:rds/cluster:Cluster")}
    assert set(vaults) == set(manifest.region_names) == set(locks) == set(plans) == set(selections)
    vault_arns = {v["outputs"]["arn"] for v in vaults.values()}
    for region in manifest.regions:
        key = keys[vaults[region.name]["inputs"]["kmsKeyArn"]]
        assert key["region"] == region.name and "AWS Backup" in key["inputs"]["description"]
        assert locks[region.name]["inputs"]["changeableForDays"] >= 3
        homed = {clusters[f"prod-{g.id}-{region.short_code}"]["outputs"]["arn"]
                 for g in shard_map.groups_in(region.name)}
        assert set(selections[region.name]["inputs"]["resources"]) == homed and homed
        daily = next(r for r in plans[region.name]["inputs"]["rules"] if r["ruleName"] == "daily")
        copies = {c["destinationVaultArn"] for c in daily["copyActions"]}
        first_dr = manifest.region(region.dr_regions[0])
        assert copies == {vault_arn("aws", first_dr.name, vaults[first_dr.name]["outputs"]["arn"].split(":")[4],
                                    f"prod-{first_dr.short_code}-backup")}
        assert copies <= vault_arns  # the vault another region's infra stack makes


def test_backup_storage_is_costed_per_vault_as_an_estimate() -> None:
    from regions import cost, prices

    manifest = load(manifest_path("prod"))
    report = cost.report(manifest, prices.load())
    lines = {line["region"]: line for line in report["lines"] if line["component"] == "backup"}
    gib = manifest.backups.estimated_gib_per_group
    for region in manifest.regions:
        received = sum(r.shard_groups for r in manifest.regions if r.dr_regions[0] == region.name)
        assert lines[region.name]["quantity"] == (region.shard_groups + received) * gib
        assert lines[region.name]["monthlyUsd"] == pytest.approx(lines[region.name]["quantity"] * 0.021)
        assert report["regions"][region.name]["backup"] == lines[region.name]["monthlyUsd"]
    assert report["estimatedItems"] == [cost.BACKUP_ITEM]
