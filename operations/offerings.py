"""Does AWS offer, in each region of the manifest, what the plan asks of it? Read-only; run before `pulumi up`.

Per region, each question answered by the API that knows:

- every EC2 instance type of the EKS node groups is offered in the region (``ec2:DescribeInstanceTypeOfferings``,
  location type ``region``, filtered on the types);
- every Aurora instance class the region runs (its own groups' and, for the secondaries it hosts, their home
  regions' class and engine version) is orderable for ``aurora-postgresql`` at that version and supports global
  databases (``rds:DescribeOrderableDBInstanceOptions``);
- the ElastiCache engine version exists (``elasticache:DescribeCacheEngineVersions``) and the MSK Kafka version is
  listed and not deprecated (``kafka:ListKafkaVersions``);
- every pinned EKS add-on version of regions/eks_versions.py exists for the manifest's Kubernetes version
  (``eks:DescribeAddonVersions``).

What no API answers: neither ElastiCache nor MSK has a per-region list of node or broker types (ElastiCache's
DescribeReservedCacheNodesOfferings lists reservations, DescribeCacheEngineVersions lists no node types; MSK has
no operation that lists broker types). For those the check asks the Price List API (``pricing:GetProducts``, the
queries `make prices` uses): an on-demand price for the type in the region is taken as "offered", a missing one
is a finding whose detail says it is that proxy. A type AWS sells but has not priced yet would show as missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

from operations import price_list
from operations.stack import AWS_ERRORS, OperatorError
from regions.eks_versions import EKS_VERSIONS
from regions.schema import Manifest, Region

AURORA_ENGINE = "aurora-postgresql"
NEEDED_PERMISSIONS = [
    "ec2:DescribeInstanceTypeOfferings",
    "rds:DescribeOrderableDBInstanceOptions",
    "elasticache:DescribeCacheEngineVersions",
    "kafka:ListKafkaVersions",
    "eks:DescribeAddonVersions",
    "pricing:GetProducts",
]


@dataclass(frozen=True)
class OfferingFinding:
    region: str
    service: str  # "ec2", "rds", "elasticache", "kafka", "eks"
    item: str  # what was asked about: "m7g.large", "db.r7g.large (aurora-postgresql 17.5)", "coredns v1.14.2-..."
    ok: bool
    detail: str  # what the API said


def problems(findings: Iterable[OfferingFinding]) -> list[OfferingFinding]:
    """The findings that are not offered: each one stops the deploy (preflight exits 1)."""
    return [f for f in findings if not f.ok]


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


def _instance_types(client: Any, region: Region) -> list[OfferingFinding]:
    wanted = sorted({t for group in region.eks.node_groups for t in group.instance_types})
    offered = {o["InstanceType"] for o in _pages(
        client, "describe_instance_type_offerings", "InstanceTypeOfferings", LocationType="region",
        Filters=[{"Name": "instance-type", "Values": wanted}])}
    return [OfferingFinding(region.name, "ec2", t, t in offered,
                            "offered in the region" if t in offered else
                            "DescribeInstanceTypeOfferings (location type region) does not list it")
            for t in wanted]


def _aurora_needs(manifest: Manifest, region: Region) -> list[tuple[str, str]]:
    """(engine version, instance class) of every cluster the region runs: its own groups' and the secondaries
    it hosts, which have their home region's class and version."""
    homes = [r for r in manifest.regions if r.name == region.name or region.name in r.dr_regions]
    return sorted({(r.aurora.engine_version, r.aurora.instance_class) for r in homes})


def _aurora_classes(client: Any, manifest: Manifest, region: Region) -> list[OfferingFinding]:
    findings = []
    for version, instance_class in _aurora_needs(manifest, region):
        options = list(_pages(client, "describe_orderable_db_instance_options", "OrderableDBInstanceOptions",
                              Engine=AURORA_ENGINE, EngineVersion=version, DBInstanceClass=instance_class))
        item = f"{instance_class} ({AURORA_ENGINE} {version})"
        if not options:
            findings.append(OfferingFinding(region.name, "rds", item, False,
                                            "DescribeOrderableDBInstanceOptions returned no option: not orderable"))
        elif not any(o.get("SupportsGlobalDatabases", True) for o in options):
            findings.append(OfferingFinding(region.name, "rds", item, False,
                                            "orderable, but no option has SupportsGlobalDatabases"))
        else:
            findings.append(OfferingFinding(region.name, "rds", item, True, "orderable, global databases supported"))
    return findings


def _cache_engine(client: Any, region: Region) -> OfferingFinding:
    redis = region.redis
    versions = {v["EngineVersion"] for v in _pages(client, "describe_cache_engine_versions", "CacheEngineVersions",
                                                   Engine=redis.engine, EngineVersion=redis.engine_version)}
    ok = redis.engine_version in versions
    return OfferingFinding(region.name, "elasticache", f"{redis.engine} {redis.engine_version}", ok,
                           "engine version listed" if ok else "DescribeCacheEngineVersions does not list it")


def _kafka_version(client: Any, region: Region) -> OfferingFinding:
    wanted = region.kafka.kafka_version
    status = {v["Version"]: v.get("Status", "") for v in _pages(client, "list_kafka_versions", "KafkaVersions")}
    ok = status.get(wanted) == "ACTIVE"
    detail = ("listed, ACTIVE" if ok else "ListKafkaVersions does not list it" if wanted not in status
              else f"ListKafkaVersions lists it as {status[wanted] or 'no status'}")
    return OfferingFinding(region.name, "kafka", f"Kafka {wanted}", ok, detail)


def _addons(client: Any, region: Region) -> list[OfferingFinding]:
    minor = region.eks.kubernetes_version
    release = EKS_VERSIONS.get(minor)
    if release is None:
        return [OfferingFinding(region.name, "eks", f"add-ons for Kubernetes {minor}", False,
                                "regions/eks_versions.py pins no add-on versions for this minor")]
    findings = []
    for name, pinned in release.addons.items():
        published = {v["addonVersion"] for addon in _pages(client, "describe_addon_versions", "addons",
                                                           addonName=name, kubernetesVersion=minor)
                     for v in addon.get("addonVersions", [])}
        ok = pinned in published
        findings.append(OfferingFinding(
            region.name, "eks", f"{name} {pinned}", ok,
            f"published for Kubernetes {minor}" if ok else
            f"DescribeAddonVersions for Kubernetes {minor} does not list it"
            + (f" (newest listed: {max(published)})" if published else " (no version listed)")))
    return findings


def _priced(pricing: Any, region: str, service: str, item: str, label: str) -> OfferingFinding:
    query = price_list.query_for(item)
    assert query is not None, item  # the items are built below in the names query_for maps
    try:
        price_list.read_answer(query, price_list.fetch(pricing, query, region))
    except price_list.Unresolved as exc:
        return OfferingFinding(region, service, label, False,
                               f"no API lists {service} node types per region; the Price List has no single "
                               f"on-demand price for it here ({exc})")
    return OfferingFinding(region, service, label, True, "priced on demand in the region (Price List proxy)")


def check_region(session: boto3.Session, pricing: Any, manifest: Manifest, region: Region) -> list[OfferingFinding]:
    """One client per service for the region; the first refused read propagates (``check`` names the region)."""
    name = region.name
    findings = _instance_types(session.client("ec2", region_name=name), region)
    findings += _aurora_classes(session.client("rds", region_name=name), manifest, region)
    findings.append(_cache_engine(session.client("elasticache", region_name=name), region))
    findings.append(_priced(pricing, name, "elasticache", f"elasticache/{region.redis.engine}/{region.redis.node_type}",
                            region.redis.node_type))
    findings.append(_kafka_version(session.client("kafka", region_name=name), region))
    findings.append(_priced(pricing, name, "kafka", f"msk/{region.kafka.broker_type}", region.kafka.broker_type))
    findings += _addons(session.client("eks", region_name=name), region)
    return findings


def check(session: boto3.Session, manifest: Manifest) -> list[OfferingFinding]:
    """Every region of the manifest, in its order; every item checked, ``ok`` or not (``problems`` filters)."""
    pricing = session.client("pricing", region_name=price_list.PRICING_REGION)  # one endpoint answers every region
    findings: list[OfferingFinding] = []
    for region in manifest.regions:
        try:
            findings += check_region(session, pricing, manifest, region)
        except AWS_ERRORS as exc:
            raise OperatorError(f"AWS refused a read in {region.name} ({exc}); the offerings check needs "
                                f"{', '.join(NEEDED_PERMISSIONS)} in every region of the stack") from None
    return findings


def render(findings: list[OfferingFinding], out: Console) -> None:
    table = Table(title="what the plan asks of each region against what AWS offers there", title_justify="left")
    for column in ("region", "service", "item", "", "what the API said"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.region, f.service, f.item, "[green]ok[/green]" if f.ok else "[bold red]MISSING[/bold red]",
                      f.detail)
    out.print(table)
    missing = problems(findings)
    if missing:
        out.print(f"[bold red]{len(missing)} item(s) not offered[/bold red]; change the manifest (or the pins in "
                  "regions/eks_versions.py) before `pulumi up`:")
        for f in missing:
            out.print(f"- {f.region}: {f.service} {f.item}: {f.detail}", markup=False, highlight=False,
                      soft_wrap=True)
    else:
        out.print("[green]every region offers what the plan asks of it[/green]")
