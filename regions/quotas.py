"""What the manifest asks of each region's RDS quotas: clusters, instances and subnet groups."""

from __future__ import annotations

from dataclasses import dataclass

from regions.loads import aurora_instances
from regions.rds_facts import RdsQuotas, rds_quotas
from regions.schema import Manifest


@dataclass(frozen=True)
class RdsNeeds:
    region: str
    clusters: int
    instances: int
    subnet_groups: int
    quotas: RdsQuotas

    def shortfalls(self) -> list[str]:
        """One line per quota the region would exceed, naming the need and the default limit."""
        return [
            f"{self.region}: {what} {need} > default quota {limit}; request an increase before `pulumi up`"
            for what, need, limit in (("RDS DB clusters", self.clusters, self.quotas.clusters),
                                      ("RDS DB instances", self.instances, self.quotas.instances),
                                      ("RDS DB subnet groups", self.subnet_groups, self.quotas.subnet_groups))
            if need > limit
        ]


def rds_needs(manifest: Manifest) -> list[RdsNeeds]:
    """Per region: primaries of its own shard groups (writer + readers) and secondaries it hosts."""
    needs = []
    for region in manifest.regions:
        clusters = region.shard_groups + sum(h.shard_groups for h in manifest.regions if region.name in h.dr_regions)
        instances = sum(count for _, count in aurora_instances(manifest, region).values())
        needs.append(RdsNeeds(region.name, clusters, instances, 1, rds_quotas(region.name)))
    return needs

