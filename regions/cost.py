"""Monthly on-demand cost of what the manifest asks for, per region and component, from regions/prices.json.

Counted: Aurora instances (writers, readers and the DR secondaries each region hosts), EKS control planes
and node groups at their desired size (first instance type) and, in ``atMaxSize``, at their maximum (what the
capacity plan counts on with a region lost), MSK brokers and their provisioned storage,
ElastiCache nodes, NAT gateway hours, and AWS Backup storage of the Aurora recovery points each region's
vault holds (its own groups' and the copies it receives, at the manifest's estimated size per group: an
estimate, priced at a hand-sourced estimated rate that `make prices` does not refresh).
Not counted (usage-driven, no sizing in the manifest): data
transfer, Aurora storage and I/O, NAT data processing, MSK Replicator, load balancers, interface
endpoints, KMS, Secrets Manager, CloudWatch and Cloudflare. A line whose price is missing is listed as
unpriced; a total that contains one is a lower bound, and says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from regions.loads import aurora_instances
from regions.prices import PriceBook
from regions.schema import Manifest, Region

EXCLUDED = ("data transfer", "Aurora storage and I/O", "NAT data processing", "MSK Replicator",
            "load balancers", "VPC interface endpoints", "KMS", "Secrets Manager", "CloudWatch", "Cloudflare")


@dataclass(frozen=True)
class Line:
    region: str
    component: str
    item: str
    quantity: float  # instances (hourly items) or GB (GB-month items)
    unit_usd: float | None
    monthly_usd: float | None
    estimated: bool

    @property
    def priced(self) -> bool:
        return self.monthly_usd is not None


def _wants(region: Region, manifest: Manifest, at_max: bool = False) -> list[tuple[str, str, float]]:
    """(component, price item, quantity) for everything the region runs; node groups at desired or max size."""
    wants: list[tuple[str, str, float]] = []
    for instance_class, count in aurora_instances(manifest, region).values():
        if count:
            wants.append(("aurora", f"rds/{instance_class}", count))
    wants.append(("eks", "eks/cluster", 1))
    for group in region.eks.node_groups:
        wants.append(("eks", f"ec2/{group.instance_types[0]}", group.max_size if at_max else group.desired_size))
    kafka = region.kafka
    wants += [("kafka", f"msk/{kafka.broker_type}", kafka.brokers),
              ("kafka", "msk/storage", kafka.brokers * kafka.storage_gib)]
    wants.append(("cache", f"elasticache/{region.redis.engine}/{region.redis.node_type}", region.redis.nodes))
    nat = region.availability_zones if manifest.network.nat_gateways == "per_az" else 1
    wants.append(("network", "ec2/nat-gateway", nat))
    return wants


BACKUP_ITEM = "backup/aurora-warm"
ESTIMATED_ITEMS = (BACKUP_ITEM,)


def _backup_wants(region: Region, manifest: Manifest) -> list[tuple[str, str, float]]:
    """GB-months of recovery points in the region's vault: its own groups, and the copies its DR partners send.

    A backup account's copies are billed to that account, not counted here.
    """
    gib = manifest.backups.estimated_gib_per_group
    copies = sum(r.shard_groups for r in manifest.regions if r.dr_regions[:1] == [region.name])
    return [("backup", BACKUP_ITEM, float((region.shard_groups + copies) * gib))]


def price_items(manifest: Manifest) -> dict[str, set[str]]:
    """Per region, the price items the report looks up: what `make prices` refreshes."""
    return {region.name: {item for _, item, _ in _wants(region, manifest)} for region in manifest.regions}


def lines(manifest: Manifest, book: PriceBook, at_max: bool = False) -> list[Line]:
    """Same items in one region are merged (e.g. two node groups of one instance type)."""
    merged: dict[tuple[str, str, str], float] = defaultdict(float)
    for region in manifest.regions:
        for component, item, quantity in [*_wants(region, manifest, at_max), *_backup_wants(region, manifest)]:
            merged[(region.name, component, item)] += quantity
    out = []
    for (region_name, component, item), quantity in merged.items():
        price = book.lookup(item, region_name)
        if price is None:
            out.append(Line(region_name, component, item, quantity, None, None, False))
            continue
        hours = book.hours_per_month if price.unit == "hour" else 1
        out.append(Line(region_name, component, item, quantity, price.usd,
                        round(price.usd * quantity * hours, 2), price.estimated))
    return out


def report(manifest: Manifest, book: PriceBook, items: list[Line] | None = None) -> dict[str, Any]:
    """The plan document's `cost` section, of ``items`` (the plan's, priced by the policy pack) or the manifest's."""
    items = lines(manifest, book) if items is None else items
    by_region: dict[str, dict[str, float]] = {r.name: defaultdict(float) for r in manifest.regions}
    for line in items:
        by_region[line.region][line.component] += line.monthly_usd or 0.0
    total = round(sum(line.monthly_usd or 0.0 for line in items), 2)
    users = manifest.logical_shards * manifest.users_per_logical_shard
    unpriced = [f"{line.region}: {line.item} x {line.quantity:g}" for line in items if not line.priced]
    at_max = lines(manifest, book, at_max=True)
    max_total = round(sum(line.monthly_usd or 0.0 for line in at_max), 2)
    return {
        "currency": book.currency,
        "hoursPerMonth": book.hours_per_month,
        "regions": {name: {c: round(v, 2) for c, v in sorted(comps.items())} | {"total": round(sum(comps.values()), 2)}
                    for name, comps in by_region.items()},
        "monthlyTotal": total,
        "users": users,
        # Fractions of a cent: kept to nine places, and per million users for reading.
        "usdPerUserMonth": round(total / users, 9) if users else None,
        "usdPerMillionUsersMonth": round(total / users * 1_000_000, 2) if users else None,
        # Every node group at its maximum: the size the capacity plan counts on when a region is lost.
        "atMaxSize": {
            "monthlyTotal": max_total,
            "usdPerUserMonth": round(max_total / users, 9) if users else None,
            "usdPerMillionUsersMonth": round(max_total / users * 1_000_000, 2) if users else None,
            "lowerBound": any(not line.priced for line in at_max),
        },
        "estimatedRegions": sorted({line.region for line in items if line.estimated}),
        "unpriced": unpriced,
        "lowerBound": bool(unpriced),
        "excluded": list(EXCLUDED),
        # Lines whose quantity is the manifest's estimate and whose rate is a hand-made estimate (source G).
        "estimatedItems": sorted({line.item for line in items if line.item in ESTIMATED_ITEMS}),
        "lines": [{"region": line.region, "component": line.component, "item": line.item, "quantity": line.quantity,
                   "unitUsd": line.unit_usd, "monthlyUsd": line.monthly_usd, "estimated": line.estimated}
                  for line in items],
    }
