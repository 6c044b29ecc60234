"""One region's network: VPC, three tiers of subnets over the region's AZs, egress, flow logs, endpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from regions.addressing import TIERS, Tier, subnet_cidr
from regions.catalog import EKS_UNSUPPORTED_AZ_IDS

# Interface endpoints a private EKS cluster needs so nodes pull images, join, log and scale without NAT
# (EKS user guide, "Deploy private clusters with limited internet access").
EKS_PRIVATE_ENDPOINTS: tuple[str, ...] = (
    "ec2", "ecr.api", "ecr.dkr", "sts", "logs", "elasticloadbalancing", "autoscaling", "eks", "eks-auth",
    # Not for EKS: the Aurora master secrets' rotation function runs in the data subnets, which have no route
    # out, and calls Secrets Manager through this endpoint.
    "secretsmanager",
)

# Subnet tags the AWS Load Balancer Controller uses to place internet-facing / internal load balancers.
_TIER_TAGS: dict[Tier, dict[str, str]] = {
    "public": {"kubernetes.io/role/elb": "1"},
    "private": {"kubernetes.io/role/internal-elb": "1"},
    "data": {},
}


@dataclass(frozen=True)
class NetworkArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    vpc_cidr: str
    az_count: int
    nat_gateways: Literal["per_az", "single"]
    flow_log_retention_days: int
    log_key_arn: pulumi.Input[str]  # the region's logs key (RegionKeys): flow logs are encrypted with it
    protect: bool
    partition: str = "aws"
    interface_endpoints: tuple[str, ...] = EKS_PRIVATE_ENDPOINTS


class Network(pulumi.ComponentResource):
    """VPC with public / private / data subnets in ``az_count`` AZs, keyed by AZ ID so they never move.

    Private subnets reach the internet through NAT (one per AZ, or one shared); data subnets have no
    route out at all. Flow logs of all traffic go to a KMS-encrypted log group.
    """

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:network:Network", name, None, opts)
        self.args = args
        prefix = args.short_code
        child = pulumi.ResourceOptions(parent=self)

        self.az_names, self.az_ids = self._pick_azs(args)
        self.vpc = aws.ec2.Vpc(f"{prefix}-vpc", cidr_block=args.vpc_cidr, enable_dns_support=True,
                               enable_dns_hostnames=True, tags=self._name_tag("vpc"), opts=child)
        vpc_opts = pulumi.ResourceOptions(parent=self.vpc)
        # The default security group is stripped of every rule: nothing may rely on it (CIS 5.4 / EC2.2).
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{prefix}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[], tags=self._name_tag("default"),
            opts=vpc_opts)

        self.subnets: dict[Tier, list[aws.ec2.Subnet]] = {tier: [] for tier in TIERS}
        for index, (az, az_id) in enumerate(zip(self.az_names, self.az_ids, strict=True)):
            for tier in TIERS:
                self.subnets[tier].append(aws.ec2.Subnet(
                    f"{prefix}-{tier}-{self._az_suffix(az_id)}",
                    vpc_id=self.vpc.id,
                    cidr_block=str(subnet_cidr(args.vpc_cidr, tier, index)),
                    availability_zone_id=az_id,
                    map_public_ip_on_launch=False,  # NAT gateways and NLBs get their own addresses
                    tags={**self._name_tag(f"{tier}-{az}"), "tier": tier, **_TIER_TAGS[tier]},
                    opts=vpc_opts))

        self.internet_gateway = aws.ec2.InternetGateway(
            f"{prefix}-igw", vpc_id=self.vpc.id, tags=self._name_tag("igw"), opts=vpc_opts)
        self.nat_gateways = self._nat_gateways(args, vpc_opts)
        self.route_tables = self._route_tables(args, vpc_opts)
        self.flow_log_group, self.flow_log = self._flow_logs(args, child)
        self.endpoint_security_group, self.endpoints = self._endpoints(args, vpc_opts)

        self.vpc_id = self.vpc.id
        self.subnet_ids = {tier: [s.id for s in subnets] for tier, subnets in self.subnets.items()}
        self.register_outputs({
            "vpcId": self.vpc_id,
            "publicSubnetIds": self.subnet_ids["public"],
            "privateSubnetIds": self.subnet_ids["private"],
            "dataSubnetIds": self.subnet_ids["data"],
            "logKeyArn": args.log_key_arn,
        })

    # -- pieces ---------------------------------------------------------------------------------------

    def _pick_azs(self, args: NetworkArgs) -> tuple[list[str], list[str]]:
        """The first ``az_count`` AZ IDs in order, skipping opt-in zones and those EKS cannot use."""
        zones = aws.get_availability_zones(
            state="available",
            exclude_zone_ids=sorted(EKS_UNSUPPORTED_AZ_IDS),
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOptions(parent=self))
        pairs = sorted(zip(zones.zone_ids, zones.names, strict=True))[: args.az_count]
        if len(pairs) < args.az_count:
            raise ValueError(f"{args.region} offers {len(pairs)} usable availability zones, "
                             f"the manifest asks for {args.az_count}")
        return [name for _, name in pairs], [zone_id for zone_id, _ in pairs]

    def _nat_gateways(self, args: NetworkArgs, opts: pulumi.ResourceOptions) -> list[aws.ec2.NatGateway]:
        count = len(self.az_ids) if args.nat_gateways == "per_az" else 1
        gateways = []
        for index in range(count):
            suffix = self._az_suffix(self.az_ids[index])
            eip = aws.ec2.Eip(f"{args.short_code}-nat-{suffix}", domain="vpc",
                              tags=self._name_tag(f"nat-{self.az_names[index]}"), opts=opts)
            gateways.append(aws.ec2.NatGateway(
                f"{args.short_code}-nat-{suffix}",
                allocation_id=eip.allocation_id,
                subnet_id=self.subnets["public"][index].id,
                connectivity_type="public",
                tags=self._name_tag(f"nat-{self.az_names[index]}"),
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                    depends_on=[self.internet_gateway]))))
        return gateways

    def _route_tables(self, args: NetworkArgs, opts: pulumi.ResourceOptions) -> dict[Tier, list[aws.ec2.RouteTable]]:
        prefix = args.short_code
        public = aws.ec2.RouteTable(
            f"{prefix}-public-rt", vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=self.internet_gateway.id)],
            tags=self._name_tag("public"), opts=opts)
        private = [
            aws.ec2.RouteTable(
                f"{prefix}-private-rt-{self._az_suffix(az_id)}", vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(
                    cidr_block="0.0.0.0/0", nat_gateway_id=self.nat_gateways[index % len(self.nat_gateways)].id)],
                tags=self._name_tag(f"private-{self.az_names[index]}"), opts=opts)
            for index, az_id in enumerate(self.az_ids)
        ]
        # Data subnets keep only the local route (and the S3 gateway endpoint): databases never reach out.
        data = aws.ec2.RouteTable(f"{prefix}-data-rt", vpc_id=self.vpc.id, routes=[],
                                  tags=self._name_tag("data"), opts=opts)
        tables: dict[Tier, list[aws.ec2.RouteTable]] = {
            "public": [public] * len(self.az_ids),
            "private": private,
            "data": [data] * len(self.az_ids),
        }
        for tier in TIERS:
            for subnet, table, az_id in zip(self.subnets[tier], tables[tier], self.az_ids, strict=True):
                aws.ec2.RouteTableAssociation(f"{prefix}-{tier}-rta-{self._az_suffix(az_id)}",
                                              subnet_id=subnet.id, route_table_id=table.id, opts=opts)
        return {"public": [public], "private": private, "data": [data]}

    def _flow_logs(self, args: NetworkArgs, opts: pulumi.ResourceOptions) -> tuple[aws.cloudwatch.LogGroup,
                                                                                   aws.ec2.FlowLog]:
        prefix = args.short_code
        group_name = f"/platform/{args.environment}/{prefix}/vpc-flow-logs"
        group = aws.cloudwatch.LogGroup(f"{prefix}-flow-logs", name=group_name,
                                        retention_in_days=args.flow_log_retention_days,
                                        kms_key_id=args.log_key_arn, opts=opts)
        trust = {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": args.account_id},
                    "ArnLike": {"aws:SourceArn":
                                f"arn:{args.partition}:ec2:{args.region}:{args.account_id}:vpc-flow-log/*"},
                },
            }],
        }
        role = aws.iam.Role(f"{prefix}-flow-logs", name=f"{args.environment}-{prefix}-vpc-flow-logs",
                            assume_role_policy=json.dumps(trust), opts=opts)
        group_arn = self._log_group_arn(args, group_name)
        aws.iam.RolePolicy(f"{prefix}-flow-logs", role=role.name, policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
                           "logs:DescribeLogStreams"],
                "Resource": [group_arn, f"{group_arn}:*"],
            }],
        }), opts=pulumi.ResourceOptions(parent=role))
        flow_log = aws.ec2.FlowLog(f"{prefix}-vpc", vpc_id=self.vpc.id, traffic_type="ALL",
                                   log_destination_type="cloud-watch-logs", log_destination=group.arn,
                                   iam_role_arn=role.arn, max_aggregation_interval=60,
                                   tags=self._name_tag("flow-log"), opts=opts)
        return group, flow_log

    def _endpoints(self, args: NetworkArgs, opts: pulumi.ResourceOptions) -> tuple[aws.ec2.SecurityGroup,
                                                                                   list[aws.ec2.VpcEndpoint]]:
        prefix = args.short_code
        service = f"com.amazonaws.{args.region}"
        routed = [*self.route_tables["private"], *self.route_tables["data"]]
        endpoints = [aws.ec2.VpcEndpoint(f"{prefix}-s3", vpc_id=self.vpc.id, service_name=f"{service}.s3",
                                         vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in routed],
                                         tags=self._name_tag("s3"), opts=opts)]
        group = aws.ec2.SecurityGroup(
            f"{prefix}-endpoints",
            vpc_id=self.vpc.id,
            description="HTTPS from inside the VPC to its interface endpoints",
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443,
                                                      cidr_blocks=[args.vpc_cidr],
                                                      description="HTTPS from the VPC")],
            egress=[],  # endpoints answer; they never open connections
            tags=self._name_tag("endpoints"), opts=opts)
        for name in args.interface_endpoints:
            endpoints.append(aws.ec2.VpcEndpoint(
                f"{prefix}-{name.replace('.', '-')}", vpc_id=self.vpc.id, service_name=f"{service}.{name}",
                vpc_endpoint_type="Interface", private_dns_enabled=True,
                subnet_ids=[s.id for s in self.subnets["private"]], security_group_ids=[group.id],
                tags=self._name_tag(name), opts=opts))
        return group, endpoints

    # -- naming ---------------------------------------------------------------------------------------

    def _name_tag(self, what: str) -> dict[str, str]:
        return {"Name": f"{self.args.environment}-{self.args.short_code}-{what}"}

    @staticmethod
    def _az_suffix(az_id: str) -> str:
        return az_id.rsplit("-", 1)[-1]  # "use1-az4" -> "az4"

    @staticmethod
    def _log_group_arn(args: NetworkArgs, name: str) -> str:
        return f"arn:{args.partition}:logs:{args.region}:{args.account_id}:log-group:{name}"
