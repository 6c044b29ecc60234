"""Which AWS Price List API product prices each item of regions/prices.json, and reading its on-demand price.

Items are named as regions/cost.py names them (``rds/db.r7g.2xlarge``, ``ec2/m7g.xlarge``, ``ec2/nat-gateway``,
``eks/cluster``, ``msk/kafka.m7g.large``, ``msk/storage``, ``elasticache/valkey/cache.r7g.large``). Every query
is TERM_MATCH filters on the product's attributes and ``regionCode``; the usage type is then matched without
its region prefix (``EU-``, ``APS1-``, none for some us-east-1 items), which TERM_MATCH cannot express. A query
must end in exactly one distinct price in the expected unit; anything else is `Unresolved`, never a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

PRICING_REGION = "us-east-1"  # the Price List API's endpoint; it answers for every region
SOURCE_PREFIX = "AWS Price List API"  # regions/prices.py accepts sources starting with it without a `sources` entry

# components/aurora.py leaves the clusters' storage_type unset: Aurora Standard, whose instance products say
# "EBS Only". I/O-Optimized ("aurora-iopt1") instances are ~30% dearer under "Aurora IO Optimization Mode".
AURORA_STANDARD_STORAGE = "EBS Only"
MSK_PRODUCT_FAMILY = "Managed Streaming for Apache Kafka (MSK)"
# The engine's own product: Valkey nodes are priced ~20% below Redis OSS nodes of the same type.
CACHE_ENGINES = {"valkey": "Valkey", "redis": "Redis"}
# Price List units as the book writes them.
UNITS = {"hrs": "hour", "hours": "hour", "hour": "hour", "gb-mo": "GB-month", "gb-month": "GB-month"}
_REGION_PREFIX = r"(?:[A-Z]+[0-9]*-)?"  # USE1-, EU-, APS3-; never a mixed-case word such as ExtendedSupportYr3-


class Unresolved(Exception):
    """The Price List API's answer does not name one price; the message says why."""


@dataclass(frozen=True)
class Query:
    service_code: str
    attributes: dict[str, str]
    usage_type: str  # without the region prefix
    unit: str  # the unit the book expects: "hour" or "GB-month"

    def filters(self, region: str) -> list[dict[str, str]]:
        terms = self.attributes | {"regionCode": region}
        return [{"Type": "TERM_MATCH", "Field": name, "Value": value} for name, value in terms.items()]

    def matches(self, usage_type: str) -> bool:
        return re.fullmatch(_REGION_PREFIX + re.escape(self.usage_type), usage_type) is not None


@dataclass(frozen=True)
class Answer:
    usd: float
    unit: str
    source: str  # "AWS Price List API ..." with the offer version and publication date


def query_for(item: str) -> Query | None:
    """The Price List query for one price item; None for an item this tool has no mapping for."""
    kind, _, rest = item.partition("/")
    if item == "ec2/nat-gateway":
        return Query("AmazonEC2", {"productFamily": "NAT Gateway"}, "NatGateway-Hours", "hour")
    if item == "eks/cluster":
        # Standard support; clusters past it bill AmazonEKS-Hours:extendedSupport instead.
        return Query("AmazonEKS", {"productFamily": "Compute"}, "AmazonEKS-Hours:perCluster", "hour")
    if item == "msk/storage":
        return Query("AmazonMSK", {"productFamily": MSK_PRODUCT_FAMILY, "operation": "RunVolume"},
                     "Kafka.Storage.GP2", "GB-month")
    if kind == "rds" and rest:
        return Query("AmazonRDS", {"productFamily": "Database Instance", "databaseEngine": "Aurora PostgreSQL",
                                   "deploymentOption": "Single-AZ", "storage": AURORA_STANDARD_STORAGE,
                                   "instanceType": rest}, f"InstanceUsage:{rest}", "hour")
    if kind == "ec2" and rest:
        return Query("AmazonEC2", {"productFamily": "Compute Instance", "instanceType": rest,
                                   "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                                   "capacitystatus": "Used"}, f"BoxUsage:{rest}", "hour")
    if kind == "msk" and rest.startswith("kafka."):
        size = rest.removeprefix("kafka.")
        return Query("AmazonMSK", {"productFamily": MSK_PRODUCT_FAMILY, "operation": "RunBroker",
                                   "computeFamily": size}, f"Kafka.{size}", "hour")
    engine, _, node_type = rest.partition("/")
    if kind == "elasticache" and engine in CACHE_ENGINES and node_type:
        # NodeUsage excludes the Redis OSS extended-support products (ExtendedSupportYr<n>-NodeUsage).
        return Query("AmazonElastiCache", {"productFamily": "Cache Instance", "cacheEngine": CACHE_ENGINES[engine],
                                           "instanceType": node_type}, f"NodeUsage:{node_type}", "hour")
    return None


def fetch(client: Any, query: Query, region: str) -> Iterator[str]:
    """Every PriceList document (a JSON string) the filters match, over all pages."""
    pages = client.get_paginator("get_products").paginate(
        ServiceCode=query.service_code, Filters=query.filters(region), FormatVersion="aws_v1",
        PaginationConfig={"PageSize": 100})
    for page in pages:
        yield from page.get("PriceList", [])


def _on_demand_dimensions(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for term in document.get("terms", {}).get("OnDemand", {}).values():
        yield from term.get("priceDimensions", {}).values()


def read_answer(query: Query, documents: Iterable[str]) -> Answer:
    """The one on-demand USD price of the products whose usage type the query names."""
    products = [d for d in map(json.loads, documents)
                if query.matches(d.get("product", {}).get("attributes", {}).get("usagetype", ""))]
    if not products:
        raise Unresolved(f"no product with usage type {query.usage_type}")
    prices = {(float(dim["pricePerUnit"]["USD"]), str(dim.get("unit", "")))
              for product in products for dim in _on_demand_dimensions(product) if "USD" in dim.get("pricePerUnit", {})}
    if len(prices) != 1:
        listed = ", ".join(f"{usd:g}/{unit}" for usd, unit in sorted(prices)) or "none"
        raise Unresolved(f"{len(products)} product(s) with {len(prices)} distinct on-demand prices ({listed})")
    (usd, api_unit), = prices
    unit = UNITS.get(api_unit.lower())
    if unit != query.unit:
        raise Unresolved(f"priced per {api_unit!r}, expected per {query.unit}")
    newest = max(products, key=lambda d: str(d.get("version", "")))
    published = str(newest.get("publicationDate", ""))[:10] or "unknown date"
    source = f"{SOURCE_PREFIX} (offer {newest.get('version', 'unknown')}, published {published})"
    return Answer(usd, unit, source)
