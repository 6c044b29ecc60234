"""One region of the platform, stamped from its manifest entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.aurora_region import AuroraRegion, AuroraRegionArgs
from components.eks import EksCluster, EksClusterArgs
from components.ingress import GATEWAY_NAMESPACE, IngressArgs, RegionalIngress
from components.kubernetes_baseline import BaselineArgs, KubernetesBaseline
from components.network import Network, NetworkArgs
from regions.catalog import AWS_REGIONS
from regions.eks_versions import EKS_VERSIONS, charts_for
from regions.rules import PGBOUNCER_GROUP, SYSTEM_GROUP, WORKLOADS_GROUP
from regions.schema import Network as NetworkSettings
from regions.schema import Region


@dataclass(frozen=True)
class RegionStampArgs:
    environment: str
    account_id: str
    region: Region
    network: NetworkSettings
    admin_role_arn: str
    admin_cidrs: Sequence[str]
    cloudflare_ipv4: Sequence[str]
    protect: bool  # protect stateful resources (prod)


class RegionStamp(pulumi.ComponentResource):
    """Everything that lives in one region. The caller hands down that region's AWS provider."""

    def __init__(self, name: str, args: RegionStampArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:region:RegionStamp", name, None, opts)
        region = args.region
        partition = AWS_REGIONS[region.name].partition
        child = pulumi.ResourceOptions(parent=self)
        self.region_name = region.name
        self.network = Network(f"{region.short_code}-network", NetworkArgs(
            environment=args.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=args.account_id,
            partition=partition,
            vpc_cidr=region.vpc_cidr,
            az_count=region.availability_zones,
            nat_gateways=args.network.nat_gateways,
            flow_log_retention_days=args.network.flow_log_retention_days,
            protect=args.protect,
        ), opts=child)

        release = EKS_VERSIONS[region.eks.kubernetes_version]
        self.eks = EksCluster(f"{region.short_code}-eks", EksClusterArgs(
            environment=args.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=args.account_id,
            partition=partition,
            kubernetes_version=region.eks.kubernetes_version,
            addon_versions=release.addons,
            log_retention_days=region.eks.log_retention_days,
            node_groups=region.eks.node_groups,
            vpc_id=self.network.vpc_id,
            private_subnet_ids=self.network.subnet_ids["private"],
            log_key_arn=self.network.log_key.arn,
            admin_role_arn=args.admin_role_arn,
            admin_cidrs=args.admin_cidrs,
            protect=args.protect,
        ), opts=child)

        # Kubernetes objects need nodes for their pods and DNS for their webhooks.
        ready = [*self.eks.node_groups.values(), self.eks.addons["coredns"]]
        self.baseline = KubernetesBaseline(f"{region.short_code}-baseline", BaselineArgs(
            cluster=self.eks.ref,
            region=region.name,
            kubernetes_version=region.eks.kubernetes_version,
            cluster_name=self.eks.name,
            vpc_id=self.network.vpc_id,
            ebs_key_arn=self.eks.ebs_key.arn,
            system_node_group=f"{region.short_code}-{SYSTEM_GROUP}",
            charts=charts_for(region.eks.kubernetes_version),
            protect=args.protect,
        ), opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.eks.kubernetes}, depends_on=ready))

        self.ingress = RegionalIngress(f"{region.short_code}-ingress", IngressArgs(
            environment=args.environment,
            short_code=region.short_code,
            vpc_id=self.network.vpc_id,
            public_subnet_ids=self.network.subnet_ids["public"],
            workloads_security_group_id=self.eks.node_security_groups[WORKLOADS_GROUP].id,
            cloudflare_ipv4=args.cloudflare_ipv4,
            protect=args.protect,
        ), opts=child)
        self.ingress.bind_gateway(region.short_code, pulumi.ResourceOptions(
            parent=self.ingress, provider=self.eks.kubernetes,
            depends_on=[self.baseline.releases["aws-load-balancer-controller"],
                        self.baseline.namespaces[GATEWAY_NAMESPACE]]))
        self.aurora = AuroraRegion(f"{region.short_code}-aurora", AuroraRegionArgs(
            environment=args.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=args.account_id,
            partition=partition,
            engine_major=region.aurora.engine_major,
            vpc_id=self.network.vpc_id,
            data_subnet_ids=self.network.subnet_ids["data"],
            client_security_group_id=self.eks.node_security_groups[PGBOUNCER_GROUP].id,
            protect=args.protect,
        ), opts=child)
        self.register_outputs({"vpcId": self.network.vpc_id, "clusterName": self.eks.name,
                               "ingressHostname": self.ingress.hostname})
