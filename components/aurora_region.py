"""What every Aurora cluster in one region shares: keys, subnet group, security group, parameters, monitoring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import service_role

POSTGRES_PORT = 5432
# RDS's default RSA 2048 G1 authority (valid to 2061); regions/rds_ca/ bundles every G1 root of each region,
# which PgBouncer verifies Aurora against (RDS "Using SSL/TLS to encrypt a connection").
CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"


def cluster_parameters(engine_major: str) -> list[tuple[str, str, str]]:
    """(name, value, apply method) of the cluster parameter group; "pending-reboot" for static parameters."""
    return [
        ("rds.force_ssl", "1", "immediate"),  # no plaintext connection, from PgBouncer or anyone else
        ("shared_preload_libraries", "pg_stat_statements", "pending-reboot"),
        ("pg_stat_statements.track", "TOP", "immediate"),  # DescribeDBClusterParameters: AllowedValues NONE,TOP,ALL
        ("log_min_duration_statement", "500", "immediate"),  # slow-query log: statements over 500 ms
        ("log_statement", "ddl", "immediate"),  # every schema change, never row data
        ("log_lock_waits", "1", "immediate"),
        ("log_connections", "1", "immediate"),
        ("log_disconnections", "1", "immediate"),
        # A transaction left open holds locks and vacuum back; PgBouncer would keep its server connection.
        ("idle_in_transaction_session_timeout", "60000", "immediate"),
        # Global write forwarding: read-your-writes within a session; forwarded sessions may use at most
        # 10% of the writer's connections (default 25), part of the reserve the connection budget leaves free.
        # Both are static (ApplyType "static" in DescribeDBClusterParameters), so RDS refuses "immediate": they
        # take effect at creation, a later change at the next reboot. Values as the API lists them
        # (AllowedValues "off,eventual,session,global"; the user guide prints them upper-case).
        ("apg_write_forward.consistency_mode", "session", "pending-reboot"),
        ("apg_write_forward.max_forwarding_connections_percent", "10", "pending-reboot"),
    ]


@dataclass(frozen=True)
class AuroraRegionArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    engine_major: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    data_subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_id: pulumi.Input[str]  # PgBouncer's nodes: the only source admitted on 5432
    rds_key_arn: pulumi.Input[str]  # storage, snapshots and Performance Insights (RegionKeys.rds)
    secrets_key_arn: pulumi.Input[str]  # the data tier's secrets (RegionKeys.secrets)
    protect: bool
    partition: str = "aws"


class AuroraRegion(pulumi.ComponentResource):
    def __init__(self, name: str, args: AuroraRegionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:AuroraRegion", name, None, opts)
        self.args = args
        prefix = f"{args.environment}-{args.short_code}-aurora"
        child = pulumi.ResourceOptions(parent=self)

        self.subnet_group = aws.rds.SubnetGroup(
            f"{args.short_code}-aurora", name=prefix, description="Aurora clusters on the data subnets (no route out)",
            subnet_ids=list(args.data_subnet_ids), opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{args.short_code}-aurora", name=prefix, vpc_id=args.vpc_id,
            description="Aurora: PostgreSQL from the PgBouncer nodes only",
            tags={"Name": prefix, "tier": "data"}, opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{args.short_code}-aurora-from-pgbouncer", security_group_id=self.security_group.id,
            ip_protocol="tcp", from_port=POSTGRES_PORT, to_port=POSTGRES_PORT,
            referenced_security_group_id=args.client_security_group_id, description="PostgreSQL from PgBouncer",
            opts=pulumi.ResourceOptions(parent=self.security_group))
        # The master secrets' rotation function (the replicas stack deploys it into the data subnets): admitted
        # on 5432 here, where the cluster's security group is; it reaches only Aurora and the VPC's Secrets
        # Manager endpoint (443 inside the VPC), nothing outside.
        self.rotation_security_group = aws.ec2.SecurityGroup(
            f"{args.short_code}-aurora-rotation", name=f"{prefix}-rotation", vpc_id=args.vpc_id,
            description="Secrets Manager rotation of the Aurora master secrets",
            egress=[aws.ec2.SecurityGroupEgressArgs(
                        protocol="tcp", from_port=POSTGRES_PORT, to_port=POSTGRES_PORT,
                        security_groups=[self.security_group.id], description="PostgreSQL to Aurora"),
                    aws.ec2.SecurityGroupEgressArgs(
                        protocol="tcp", from_port=443, to_port=443, cidr_blocks=[args.vpc_cidr],
                        description="HTTPS to the VPC's Secrets Manager endpoint")],
            tags={"Name": f"{prefix}-rotation", "tier": "rotation"}, opts=child)  # a client, not a data tier
        aws.vpc.SecurityGroupIngressRule(
            f"{args.short_code}-aurora-from-rotation", security_group_id=self.security_group.id,
            ip_protocol="tcp", from_port=POSTGRES_PORT, to_port=POSTGRES_PORT,
            referenced_security_group_id=self.rotation_security_group.id,
            description="PostgreSQL from the master secrets' rotation function",
            opts=pulumi.ResourceOptions(parent=self.security_group))
        self.parameter_group = aws.rds.ClusterParameterGroup(
            f"{args.short_code}-aurora-pg{args.engine_major}", name=f"{prefix}-pg{args.engine_major}",
            family=f"aurora-postgresql{args.engine_major}",
            description="TLS only, slow-query and DDL logging, pg_stat_statements, idle-transaction timeout",
            parameters=[aws.rds.ClusterParameterGroupParameterArgs(name=n, value=v, apply_method=m)
                        for n, v, m in cluster_parameters(args.engine_major)],
            opts=child)
        self.monitoring_role, _ = service_role(
            f"{args.short_code}-rds-monitoring", role_name=f"{prefix}-monitoring",
            service="monitoring.rds.amazonaws.com",
            managed_policies=("service-role/AmazonRDSEnhancedMonitoringRole",), partition=args.partition, opts=child)
        self.register_outputs({"securityGroupId": self.security_group.id, "subnetGroup": self.subnet_group.name})
