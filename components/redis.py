"""One region's cache: an ElastiCache replication group (Valkey by default), cluster mode enabled.

Only the workload nodes reach it, only over TLS, only as the ``app`` user of an RBAC user group whose
``default`` user is switched off; the app user's password is generated and kept in Secrets Manager.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.rotating_password import DualPassword

REDIS_PORT = 6379
# UTC; the weekly maintenance follows Aurora's (components/aurora.py) so a region never maintains both at once.
SNAPSHOT_WINDOW = "03:00-04:00"
MAINTENANCE_WINDOW = "sun:05:00-sun:06:00"
APP_USER = "app"
# The app may use every data command but none that administers or breaks the cluster.
APP_ACCESS = "on ~* &* +@all -@admin -@dangerous"
LOG_TYPES = ("slow-log", "engine-log")
# terraform-provider-aws defaults are 60m create / 40m update / 45m delete, set for small groups (its own multi-AZ
# acceptance tests outran 40m and 50m); prod's groups are 24-45 nodes and a reshard or node-type change walks every
# shard, so updates get the most room.
REPLICATION_GROUP_TIMEOUTS = pulumi.CustomTimeouts(create="2h", update="4h", delete="1h")


@dataclass(frozen=True)
class RedisArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    engine: str  # "valkey" or "redis"
    engine_version: str
    node_type: str
    shards: int
    replicas_per_shard: int
    snapshot_retention_days: int
    log_retention_days: int
    vpc_id: pulumi.Input[str]
    data_subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_id: pulumi.Input[str]  # the workload nodes: the only source admitted on 6379
    log_key_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]  # data at rest and snapshots (RegionKeys.cache)
    password_days: int  # how long each of the app user's two passwords lives (the manifest's rotation.cache_days)
    protect: bool
    partition: str = "aws"

    @property
    def family(self) -> str:
        return f"{self.engine}{self.engine_version.split('.', 1)[0]}"  # valkey8, redis7

    @property
    def nodes(self) -> int:
        return self.shards * (1 + self.replicas_per_shard)


class RedisCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:cache:RedisCluster", name, None, opts)
        self.args = args
        ident = f"{args.environment}-{args.short_code}"
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)

        self.subnet_group = aws.elasticache.SubnetGroup(
            f"{args.short_code}-cache", name=f"{ident}-cache", description="Cache nodes on the data subnets",
            subnet_ids=list(args.data_subnet_ids), opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{args.short_code}-cache", name=f"{ident}-cache", vpc_id=args.vpc_id,
            description="ElastiCache: TLS from the workload nodes only",
            tags={"Name": f"{ident}-cache", "tier": "data"},
            opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{args.short_code}-cache-from-workloads", security_group_id=self.security_group.id, ip_protocol="tcp",
            from_port=REDIS_PORT, to_port=REDIS_PORT, referenced_security_group_id=args.client_security_group_id,
            description="Redis protocol from the workload nodes",
            opts=pulumi.ResourceOptions(parent=self.security_group))
        self.parameter_group = aws.elasticache.ParameterGroup(
            f"{args.short_code}-cache-{args.family}", name=f"{ident}-{args.family}-cluster", family=args.family,
            description="Cluster mode on; evict only keys with a TTL when memory runs out",
            parameters=[aws.elasticache.ParameterGroupParameterArgs(name=n, value=v) for n, v in (
                ("cluster-enabled", "yes"), ("maxmemory-policy", "volatile-lru"))],
            opts=child)
        self.user_group, self.app_secret = self._access(ident, stateful)
        self.log_groups = {
            log_type: aws.cloudwatch.LogGroup(
                f"{args.short_code}-cache-{log_type}",
                name=f"/platform/{args.environment}/{args.short_code}/cache/{log_type}",
                retention_in_days=args.log_retention_days, kms_key_id=args.log_key_arn, opts=child)
            for log_type in LOG_TYPES}
        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{args.short_code}-cache",
            replication_group_id=f"{ident}-cache",
            description=f"{args.environment} {args.region} hot data (cluster mode)",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            port=REDIS_PORT,
            cluster_mode="enabled",
            num_node_groups=args.shards,
            replicas_per_node_group=args.replicas_per_shard,
            automatic_failover_enabled=True,
            multi_az_enabled=args.replicas_per_shard > 0,
            parameter_group_name=self.parameter_group.name,
            subnet_group_name=self.subnet_group.name,
            security_group_ids=[self.security_group.id],
            at_rest_encryption_enabled=True,
            kms_key_id=args.key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[self.user_group.user_group_id],
            auto_minor_version_upgrade=True,
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window=SNAPSHOT_WINDOW,
            maintenance_window=MAINTENANCE_WINDOW,
            final_snapshot_identifier=f"{ident}-cache-final",
            log_delivery_configurations=[aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                destination=group.name, destination_type="cloudwatch-logs", log_format="json", log_type=log_type)
                for log_type, group in self.log_groups.items()],
            apply_immediately=False,
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(
                custom_timeouts=REPLICATION_GROUP_TIMEOUTS)))
        self.configuration_endpoint = self.replication_group.configuration_endpoint_address
        self.register_outputs({"configurationEndpoint": self.configuration_endpoint})

    def _access(self, ident: str, opts: pulumi.ResourceOptions) -> tuple[aws.elasticache.UserGroup,
                                                                            aws.secretsmanager.Secret]:
        """RBAC: the mandatory ``default`` user switched off, and the ``app`` user with a generated password."""
        args = self.args
        # Users of a Valkey group may be Redis OSS users; the "redis" user engine works for both engines.
        user_engine = "redis"
        disabled_password = random.RandomPassword(f"{args.short_code}-cache-default", length=64, special=False,
                                                  opts=opts)
        default = aws.elasticache.User(
            f"{args.short_code}-cache-default", user_id=f"{ident}-default-off", user_name="default",
            engine=user_engine, access_string="off -@all",
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[disabled_password.result]),
            opts=opts)
        # Two staggered passwords, both accepted: the secret hands out the newer, so a rotation never locks
        # out a client that read the secret since the previous one. Not protected: replacing them is the rotation.
        passwords = DualPassword(f"{args.short_code}-cache-app", args.password_days,
                                 opts=pulumi.ResourceOptions(parent=self))
        app = aws.elasticache.User(
            f"{args.short_code}-cache-app", user_id=f"{ident}-app", user_name=APP_USER, engine=user_engine,
            access_string=APP_ACCESS,
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=passwords.both),
            opts=opts)
        group = aws.elasticache.UserGroup(
            f"{args.short_code}-cache", user_group_id=f"{ident}-cache", engine=user_engine,
            user_ids=[default.user_id, app.user_id], opts=opts)
        secret = aws.secretsmanager.Secret(
            f"{args.short_code}-cache-app", name=f"{args.environment}/cache/{args.short_code}/{APP_USER}",
            description=f"Login of the {ident} cache for applications", kms_key_id=args.secrets_key_arn,
            tags={"rotation": "program", "rotation-days": str(args.password_days)},
            recovery_window_in_days=30 if args.protect else 7, opts=opts)
        aws.secretsmanager.SecretVersion(
            f"{args.short_code}-cache-app", secret_id=secret.id,
            secret_string=passwords.current.apply(lambda p: json.dumps({"username": APP_USER, "password": p})),
            opts=pulumi.ResourceOptions(parent=secret))
        return group, secret
