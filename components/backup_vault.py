"""AWS Backup of one region's Aurora clusters: a locked vault under its own key, a plan, copies elsewhere.

Aurora's automated backups live and die with the cluster and the account; a global cluster replicates a
dropped table to every region within a second. AWS Backup keeps recovery points in a vault that, once its
compliance-mode lock is in force, no one in the account can shorten or erase (root included), and copies
each daily point into the vault of the shard group's first DR region (and, when the manifest names one, a
separate backup account's vault).

The copy's destination vault belongs to another region's infra stack. Its ARN is deterministic
(``arn:aws:backup:<region>:<account>:backup-vault:<name>``), so this stack names it instead of reading it
through a StackReference: infra stacks read no other stack, and a reference between two regions' infra
stacks would be a cycle (each region is the other's DR region somewhere). Ordering: AWS Backup checks the
destination only when a copy job runs, after the first daily backup completes; every infra stack deploys
(in the manifest's waves) before any replicas stack, so a full deploy has made every vault before the
first scheduled window. A copy job that still finds no vault fails and pages (COPY_JOB_FAILED), and the
next day's copy succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import service_role

# AWS-managed policies of the AWS Backup service role: create/copy recovery points, and restore them.
BACKUP_MANAGED_POLICIES = ("service-role/AWSBackupServiceRolePolicyForBackup",
                           "service-role/AWSBackupServiceRolePolicyForRestores")
# What pages: a backup job's completion carries its state (AWS Backup no longer emits BACKUP_JOB_FAILED;
# PutBackupVaultNotifications lists BACKUP_JOB_STARTED|COMPLETED, COPY_JOB_STARTED|SUCCESSFUL|FAILED,
# RESTORE_JOB_STARTED|COMPLETED, RECOVERY_POINT_MODIFIED), a failed copy, and any restore.
VAULT_EVENTS = ("BACKUP_JOB_COMPLETED", "COPY_JOB_FAILED", "RESTORE_JOB_COMPLETED")


def vault_name(environment: str, short_code: str) -> str:
    return f"{environment}-{short_code}-backup"


def vault_arn(partition: str, region: str, account_id: str, name: str) -> str:
    """A vault's ARN, known before it exists: how a home region names its copy destinations."""
    return f"arn:{partition}:backup:{region}:{account_id}:backup-vault:{name}"


@dataclass(frozen=True)
class VaultLockSettings:
    min_retention_days: int
    max_retention_days: int
    grace_days: int


@dataclass(frozen=True)
class BackupArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    key_arn: pulumi.Input[str]  # RegionKeys.backup: the vault's customer-managed key
    alert_topic_arn: pulumi.Input[str]  # the region's alert topic (backup.amazonaws.com may publish to it)
    cluster_arns: Sequence[pulumi.Input[str]]  # every Aurora cluster whose writer this region homes
    copy_vault_arns: Sequence[str]  # the first DR region's vault, and the backup account's when there is one
    schedule: str
    daily_retention_days: int
    copy_retention_days: int
    continuous_retention_days: int
    lock: VaultLockSettings | None  # None: no lock (development)
    protect: bool
    partition: str = "aws"


class RegionBackup(pulumi.ComponentResource):
    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:RegionBackup", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        label = f"{args.short_code}-backup"
        self.vault = aws.backup.Vault(
            label, name=vault_name(args.environment, args.short_code), kms_key_arn=args.key_arn,
            force_destroy=not args.protect,  # dev only: a prod vault is never emptied by `pulumi destroy`
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        vault_opts = pulumi.ResourceOptions(parent=self.vault)
        self.lock: aws.backup.VaultLockConfiguration | None = None
        if args.lock is not None:
            # Compliance mode (changeable_for_days set): after the grace period the lock is immutable and no
            # principal, root included, can delete a recovery point early or the vault while it holds any.
            # Governance mode (no changeable_for_days) would let anyone with backup:DeleteBackupVaultLock
            # undo it: exactly the compromised admin this vault exists to survive. The grace period (>= 3
            # days, AWS's cooling-off minimum) is the window to fix a wrong min/max before it binds forever.
            self.lock = aws.backup.VaultLockConfiguration(
                label, backup_vault_name=self.vault.name, min_retention_days=args.lock.min_retention_days,
                max_retention_days=args.lock.max_retention_days, changeable_for_days=args.lock.grace_days,
                opts=pulumi.ResourceOptions(parent=self.vault, protect=args.protect))
        aws.backup.VaultNotifications(
            label, backup_vault_name=self.vault.name, sns_topic_arn=args.alert_topic_arn,
            backup_vault_events=list(VAULT_EVENTS), opts=vault_opts)

        # Made even where no cluster is homed: restores into this region assume it too.
        self.role, grants = service_role(
            f"{args.short_code}-backup", role_name=f"{args.environment}-{args.short_code}-backup",
            service="backup.amazonaws.com", managed_policies=BACKUP_MANAGED_POLICIES, partition=args.partition,
            opts=child)
        self.plan: aws.backup.Plan | None = None
        if args.cluster_arns:
            self._plan(args, label, grants)
        self.register_outputs({"vaultArn": self.vault.arn})

    def _plan(self, args: BackupArgs, label: str, grants: list[pulumi.Resource]) -> None:
        copies = [aws.backup.PlanRuleCopyActionArgs(
            destination_vault_arn=arn, lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(
                delete_after=args.copy_retention_days)) for arn in args.copy_vault_arns]
        self.plan = aws.backup.Plan(
            label, name=f"{args.environment}-{args.short_code}-aurora",
            rules=[
                # Daily snapshots, kept long and copied out of the region (and account): what survives the loss
                # of this region, this account's admin, or a bad write older than the continuous window.
                aws.backup.PlanRuleArgs(
                    rule_name="daily", target_vault_name=self.vault.name, schedule=args.schedule,
                    start_window=60, completion_window=480,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=args.daily_retention_days),
                    copy_actions=copies),
                # Continuous backup (AWS Backup supports it for Aurora; at most 35 days): restore to any second
                # in the window. Its copies would be snapshots anyway, so the daily rule does the copying.
                aws.backup.PlanRuleArgs(
                    rule_name="continuous", target_vault_name=self.vault.name, schedule=args.schedule,
                    enable_continuous_backup=True,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=args.continuous_retention_days)),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.lock] if self.lock else []))
        # By ARN, the clusters this stack builds: never "everything in the account" (a tag or wildcard would
        # also take clusters nobody meant to keep under a lock they cannot undo).
        self.selection = aws.backup.Selection(
            f"{label}-aurora", name=f"{args.environment}-{args.short_code}-aurora", plan_id=self.plan.id,
            iam_role_arn=self.role.arn, resources=list(args.cluster_arns),
            opts=pulumi.ResourceOptions(parent=self.plan, depends_on=grants))
