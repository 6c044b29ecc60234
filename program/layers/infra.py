"""`<env>-<region>`: everything of one region the AWS API alone can create, and what other stacks read of it."""

from __future__ import annotations

import pulumi

from components.aurora import AuroraShardGroup, AuroraShardGroupArgs, AuroraSite
from components.backup_vault import BackupArgs, RegionBackup, VaultLockSettings, vault_arn, vault_name
from components.redis import REDIS_PORT
from components.region_stamp import RegionContext, RegionStamp, RegionStampArgs
from program.config import StackConfig
from program.layers.common import cloudflare_ipv4, member_spec
from regions.quotas import rds_needs
from regions.schema import Manifest
from regions.shards import ShardMap


def build(ctx: RegionContext, config: StackConfig, manifest: Manifest, provider: pulumi.ProviderResource) -> None:
    # Required of the infra layer (program/config.py).
    assert config.admin_role_arn and config.github_repository and config.github_connection_arn
    region, code = ctx.name, ctx.short_code
    aws_opts = pulumi.ResourceOptions(providers={"aws": provider})
    stamp = RegionStamp(code, RegionStampArgs(
        context=ctx, network=manifest.network, admin_role_arn=config.admin_role_arn, admin_cidrs=config.admin_cidrs,
        cloudflare_ipv4=cloudflare_ipv4(), alarms=manifest.alarms, alert_emails=config.alert_emails,
        alert_webhook_url=config.alert_webhook(), github_repository=config.github_repository,
        github_connection_arn=config.github_connection_arn, cache_password_days=manifest.rotation.cache_days),
        opts=aws_opts)
    site = AuroraSite.of(stamp.aurora, stamp.keys.logs.arn, stamp.alerts.arn)
    groups = {g.id: AuroraShardGroup(g.id, AuroraShardGroupArgs(spec=member_spec(manifest, g), readers=g.readers,
                                                                 home=site), opts=aws_opts)
              for g in ShardMap(manifest).groups_in(region)}
    backup = _backup(ctx, manifest, stamp, groups, aws_opts)
    for needs in rds_needs(manifest):
        if needs.region == region:
            for shortfall in needs.shortfalls():
                pulumi.log.warn(shortfall)
    _export(ctx, manifest, stamp, groups)
    pulumi.export("backupVaults", {region: {"name": backup.vault.name, "arn": backup.vault.arn}})


def _backup(ctx: RegionContext, manifest: Manifest, stamp: RegionStamp, groups: dict[str, AuroraShardGroup],
            opts: pulumi.ResourceOptions) -> RegionBackup:
    """The region's vault (also its DR partners' copy destination) and the plan of the clusters homed here.

    Copies go to the first DR region of each group homed here and, when the manifest names a backup account,
    to that account's vault of the same name in this region (made there; its vault policy must admit this
    account's backup:CopyIntoBackupVault).
    """
    settings = manifest.backups
    first_drs = sorted({g.dr_regions[0] for g in ShardMap(manifest).groups_in(ctx.name) if g.dr_regions})
    destinations = [vault_arn(ctx.partition, dr, ctx.account_id,
                              vault_name(ctx.environment, manifest.region(dr).short_code)) for dr in first_drs]
    if settings.backup_account_id:
        destinations.append(vault_arn(ctx.partition, ctx.name, settings.backup_account_id,
                                      vault_name(ctx.environment, ctx.short_code)))
    lock = settings.vault_lock
    return RegionBackup(f"{ctx.short_code}-backup", BackupArgs(
        environment=ctx.environment, region=ctx.name, short_code=ctx.short_code, account_id=ctx.account_id,
        partition=ctx.partition, key_arn=stamp.keys.backup.arn, alert_topic_arn=stamp.alerts.arn,
        cluster_arns=[g.cluster.arn for g in groups.values()], copy_vault_arns=destinations,
        schedule=settings.schedule, daily_retention_days=settings.daily_retention_days,
        copy_retention_days=settings.copy_retention_days,
        continuous_retention_days=settings.continuous_retention_days,
        lock=None if lock is None else VaultLockSettings(lock.min_retention_days, lock.max_retention_days,
                                                          lock.grace_days),
        protect=ctx.protect), opts=opts)


def _export(ctx: RegionContext, manifest: Manifest, stamp: RegionStamp, groups: dict[str, AuroraShardGroup]) -> None:
    """Outputs keyed by region (or shard group), so the environment's stacks merge into one view."""
    region = ctx.name
    net, eks, kafka, cache, aurora = stamp.network, stamp.eks, stamp.kafka, stamp.cache, stamp.aurora
    shard_map = ShardMap(manifest)
    placement = {g.id: g.placement for g in shard_map.groups}
    pulumi.export("environment", ctx.environment)
    row = manifest.region(region)
    pulumi.export("shardAllocation", [{
        "region": region, "start": row.logical_shards.start, "end": row.logical_shards.end,
        "users": row.logical_shards.size * manifest.users_per_logical_shard,
        "shardGroups": [g.id for g in shard_map.groups_in(region)], "drRegions": list(row.dr_regions)}])
    pulumi.export("networks", {region: {
        "vpcId": net.vpc_id, "vpcCidr": net.args.vpc_cidr, "availabilityZones": net.az_names,
        "publicSubnetIds": net.subnet_ids["public"], "privateSubnetIds": net.subnet_ids["private"],
        "dataSubnetIds": net.subnet_ids["data"]}})
    pulumi.export("clusters", {region: {
        "name": eks.name, "arn": eks.cluster.arn, "endpoint": eks.endpoint,
        "certificateAuthority": eks.certificate_authority, "kubernetesVersion": eks.cluster.version,
        "clusterSecurityGroupId": eks.cluster_security_group_id, "ebsKeyArn": stamp.keys.ebs.arn,
        "nodeSecurityGroupIds": {group: sg.id for group, sg in eks.node_security_groups.items()}}})
    pulumi.export("kafka", {region: {
        "arn": kafka.cluster.arn, "bootstrapBrokersSaslIam": kafka.bootstrap_brokers,
        "replicationSourceArn": kafka.replication_source_arn,
        "replicatorSecurityGroupId": kafka.replicator_security_group.id}})
    pulumi.export("cache", {region: {
        "replicationGroupId": cache.replication_group.replication_group_id,
        "configurationEndpoint": cache.configuration_endpoint, "port": REDIS_PORT,
        "credentialsSecretArn": cache.app_secret.arn}})
    # What the region's replicas and cluster stacks build on.
    pulumi.export("auroraSites", {region: {
        "subnetGroupName": aurora.subnet_group.name, "securityGroupId": aurora.security_group.id,
        "parameterGroupName": aurora.parameter_group.name, "rdsKeyArn": stamp.keys.rds.arn,
        "secretsKeyArn": stamp.keys.secrets.arn, "monitoringRoleArn": aurora.monitoring_role.arn,
        "logKeyArn": stamp.keys.logs.arn, "alertTopicArn": stamp.alerts.arn,
        "rotationSecurityGroupId": aurora.rotation_security_group.id}})
    # Each shard group homed here: its global cluster (joinable once the writer exists) and every member's
    # cluster identifier by region (what `make verify` expects to find in it).
    pulumi.export("globalClusters", {gid: {
        "globalClusterIdentifier": group.joinable_identifier, "homeRegion": region,
        "clusters": {r: group.args.spec.cluster_identifier(manifest.region(r).short_code)
                     for r in placement[gid]}}
        for gid, group in groups.items()})
    pulumi.export("shardGroupEndpoints", {gid: {region: {"cluster": group.writer_endpoint,
                                                         "reader": group.reader_endpoint}}
                                          for gid, group in groups.items()})
    # Read only by this region's replicas stack, which keeps them in Secrets Manager.
    pulumi.export("masterPasswords", pulumi.Output.secret({gid: g.master_password.result for gid, g in groups.items()}))
    pulumi.export("ingressHostnames", {region: stamp.ingress.hostname})
    pulumi.export("ingress", {region: {"targetGroupArn": stamp.ingress.target_group.arn}})
    runner = stamp.runner
    pulumi.export("deployRunner", {region: {
        "project": runner.project.name, "runsOnLabelPrefix": runner.runs_on_label_prefix, "roleArn": runner.role.arn,
        "securityGroupId": runner.security_group.id}})
