"""`<env>-<region>-replicas`: the cross-region members that run in one region.

- the Aurora secondaries of the shard groups this region is a DR region of, each joining its global
  cluster by the identifier the home region's infra stack publishes once its writer exists;
- the master secrets of the groups homed here, replicated under each DR region's secrets key, and their
  Secrets Manager rotation (the function in this region's data subnets, admitted by the infra stack);
- the MSK Replicators arriving from the regions this one is a DR region of, each reading its source's
  cluster ARN as published after the source's cluster policy.

It deploys after every infra stack of the environment, so a first deploy needs no second pass.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.aurora import (
    AuroraSecondary,
    AuroraSecondaryArgs,
    AuroraSite,
    MasterSecret,
    MasterSecretArgs,
    SecretReplica,
)
from components.kafka_replication import KafkaReplication, ReplicationArgs, ReplicationEnd
from components.master_rotation import MasterRotation, MasterRotationArgs
from components.region_stamp import RegionContext
from program.layers.common import member_spec
from program.references import Stacks
from regions.schema import Manifest
from regions.shards import ShardMap
from regions.stacks import StackId


def _site(stacks: Stacks, infra: StackId, short_code: str) -> AuroraSite:
    sites = stacks.regional(infra, "auroraSites")

    def field(key: str) -> pulumi.Output[Any]:
        return sites.apply(lambda s: s[key])
    assert infra.region is not None
    return AuroraSite(region=infra.region, short_code=short_code, subnet_group_name=field("subnetGroupName"),
                      security_group_id=field("securityGroupId"), parameter_group_name=field("parameterGroupName"),
                      rds_key_arn=field("rdsKeyArn"), monitoring_role_arn=field("monitoringRoleArn"),
                      log_key_arn=field("logKeyArn"), alert_topic_arn=field("alertTopicArn"))


def _end(stacks: Stacks, infra: StackId, short_code: str, *, source: bool) -> ReplicationEnd:
    assert infra.region is not None
    kafka = stacks.regional(infra, "kafka")
    subnets = stacks.regional(infra, "networks").apply(lambda n: n["privateSubnetIds"])
    # A source is read through the ARN it publishes after its cluster policy: the replicator waits for it.
    arn = kafka.apply(lambda k: k["replicationSourceArn" if source else "arn"])
    return ReplicationEnd(region=infra.region, short_code=short_code, cluster_arn=arn, subnet_ids=subnets,
                          security_group_id=kafka.apply(lambda k: k["replicatorSecurityGroupId"]))


def _password(passwords: pulumi.Output[Any], group_id: str) -> pulumi.Output[str]:
    return passwords.apply(lambda by_group: str(by_group[group_id]))


def _secrets_key(stacks: Stacks, infra: StackId) -> pulumi.Output[str]:
    return stacks.regional(infra, "auroraSites").apply(lambda s: s["secretsKeyArn"])


def build(ctx: RegionContext, manifest: Manifest, stacks: Stacks, account_id: str,
          provider: pulumi.ProviderResource) -> None:
    env, region, code = ctx.environment, ctx.name, ctx.short_code
    aws_opts = pulumi.ResourceOptions(providers={"aws": provider})
    shard_map = ShardMap(manifest)
    own = StackId(env, "infra", region)
    site = _site(stacks, own, code)

    secondaries: dict[str, AuroraSecondary] = {}
    for group in shard_map.hosted_secondaries(region):
        home = StackId(env, "infra", group.home_region)
        identifier = stacks.item(home, "globalClusters", group.id, "globalClusterIdentifier")
        secondaries[group.id] = AuroraSecondary(f"{group.id}-{code}", AuroraSecondaryArgs(
            spec=member_spec(manifest, group), instances=manifest.region(group.home_region).aurora.secondary_instances,
            site=site, global_cluster_identifier=identifier), opts=aws_opts)

    passwords = stacks.output(own, "masterPasswords")
    secrets: dict[str, MasterSecret] = {}
    for group in shard_map.groups_in(region):
        replicas = [SecretReplica(region=dr, kms_key_arn=_secrets_key(stacks, StackId(env, "infra", dr)))
                    for dr in group.dr_regions]
        secrets[group.id] = MasterSecret(group.id, MasterSecretArgs(
            spec=member_spec(manifest, group), password=_password(passwords, group.id),
            host=stacks.item(own, "shardGroupEndpoints", group.id, region, "cluster"),
            kms_key_arn=_secrets_key(stacks, own), replicas=replicas), opts=aws_opts)
    writers = {g.id: g.current_writer for g in shard_map.groups_in(region)}
    if secrets:
        sites = stacks.regional(own, "auroraSites")
        MasterRotation(f"{code}-aurora-rotation", MasterRotationArgs(
            environment=env, region=region, short_code=code,
            data_subnet_ids=stacks.regional(own, "networks").apply(lambda n: n["dataSubnetIds"]),
            security_group_id=sites.apply(lambda s: s["rotationSecurityGroupId"]),
            secrets_key_arn=_secrets_key(stacks, own),
            # The function logs in at the home cluster: while a switchover has the writer elsewhere
            # (writer_regions), that cluster is read-only, so the group's rotation pauses (S10 reports it).
            secrets={gid: s.secret for gid, s in secrets.items() if writers[gid] == region},
            days=manifest.rotation.master_days), opts=aws_opts)

    replicated = [t.name for t in manifest.streams.topics if t.replicated]
    target = _end(stacks, own, code, source=False)
    for source in manifest.regions:
        if region in source.dr_regions:
            KafkaReplication(f"{source.short_code}-to-{code}", ReplicationArgs(
                environment=env, account_id=account_id, partition=ctx.partition,
                source=_end(stacks, StackId(env, "infra", source.name), source.short_code, source=True),
                target=target, topics=replicated), opts=aws_opts)

    pulumi.export("environment", env)
    pulumi.export("shardGroupEndpoints", {gid: {region: {"cluster": s.cluster_endpoint, "reader": s.reader_endpoint}}
                                          for gid, s in secondaries.items()})
    pulumi.export("masterSecrets", {gid: {"arn": s.arn, "region": region} for gid, s in secrets.items()})
