"""What the plan needs of each region's quotas, from the manifest alone (no AWS calls)."""

from __future__ import annotations

from dataclasses import dataclass

from regions import service_quotas as q
from regions.capacity import QuotaUse
from regions.quotas import rds_needs
from regions.schema import Manifest
from regions.unit_capacity import instance_vcpus


@dataclass(frozen=True)
class Need:
    quota: q.QuotaFact
    amount: int  # per region, per zone or per cluster, as the quota's scope says


def region_needs(manifest: Manifest) -> dict[str, list[Need]]:
    """Per region, in manifest order: one entry per quota the stack consumes there."""
    rds = {needs.region: needs for needs in rds_needs(manifest)}
    needs: dict[str, list[Need]] = {}
    for region in manifest.regions:
        # One NAT gateway (and its Elastic IP) per AZ, or one for the VPC (components/network.py).
        nat_gateways = region.availability_zones if manifest.network.nat_gateways == "per_az" else 1
        # Replicators live in the target region: one per source region that lists this one as DR.
        replicators = sum(region.name in source.dr_regions for source in manifest.regions)
        needs[region.name] = [
            Need(q.VPCS, 1),
            Need(q.ELASTIC_IPS, nat_gateways),
            Need(q.NAT_GATEWAYS_PER_ZONE, 1),
            Need(q.RDS_CLUSTERS, rds[region.name].clusters),
            Need(q.RDS_INSTANCES, rds[region.name].instances),
            Need(q.RDS_SUBNET_GROUPS, rds[region.name].subnet_groups),
            Need(q.EKS_CLUSTERS, 1),
            Need(q.EKS_NODE_GROUPS, len(region.eks.node_groups)),
            Need(q.MSK_BROKERS, region.kafka.brokers),
            Need(q.MSK_BROKERS_PER_CLUSTER, region.kafka.brokers),
            Need(q.MSK_REPLICATORS, replicators),
            Need(q.CACHE_NODES, region.redis.nodes),
            Need(q.CACHE_NODES_PER_CLUSTER, region.redis.nodes),
            # The node groups at their maxima: what the capacity plan counts on with a region lost.
            Need(q.EKS_NODES_PER_GROUP, max(g.max_size for g in region.eks.node_groups)),
            Need(q.EC2_STANDARD_VCPUS, sum(g.max_size * max(instance_vcpus(t) for t in g.instance_types)
                                           for g in region.eks.node_groups)),
        ]
    return needs


def quota_uses(manifest: Manifest) -> list[QuotaUse]:
    """The needs against each quota's documented default, for the plan's capacity section."""
    return [QuotaUse(region, f"{need.quota.service_code}: {need.quota.name}", need.amount,
                     need.quota.default_in(region))
            for region, needs in region_needs(manifest).items() for need in needs]
