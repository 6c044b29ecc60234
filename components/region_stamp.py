"""One region of the platform, stamped from its manifest entry."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.network import Network, NetworkArgs
from regions.catalog import AWS_REGIONS
from regions.schema import Network as NetworkSettings
from regions.schema import Region


@dataclass(frozen=True)
class RegionStampArgs:
    environment: str
    account_id: str
    region: Region
    network: NetworkSettings
    protect: bool  # protect stateful resources (prod)


class RegionStamp(pulumi.ComponentResource):
    """Everything that lives in one region. The caller hands down that region's AWS provider."""

    def __init__(self, name: str, args: RegionStampArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:region:RegionStamp", name, None, opts)
        region = args.region
        self.region_name = region.name
        self.network = Network(f"{region.short_code}-network", NetworkArgs(
            environment=args.environment,
            region=region.name,
            short_code=region.short_code,
            account_id=args.account_id,
            partition=AWS_REGIONS[region.name].partition,
            vpc_cidr=region.vpc_cidr,
            az_count=region.availability_zones,
            nat_gateways=args.network.nat_gateways,
            flow_log_retention_days=args.network.flow_log_retention_days,
            protect=args.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"vpcId": self.network.vpc_id})
