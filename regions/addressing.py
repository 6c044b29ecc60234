"""Deterministic subnet plan carved from a region's VPC CIDR.

For a VPC of prefix p (16..20), per AZ index i (0..5):
- private  (EKS nodes and pods, prefix delegation needs room): block i of the /(p+3) split, the first
  six eighths of the VPC;
- data     (Aurora, MSK, ElastiCache; no route to the internet): block i of the /(p+6) split of the
  last quarter;
- public   (NAT gateways and internet-facing load balancers): block 8+i of the same split.
Blocks 6-7 and 14-15 of the last quarter stay free for later tiers. Adding an AZ appends subnets and
never moves an existing one.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

Tier = Literal["public", "private", "data"]
TIERS: tuple[Tier, ...] = ("public", "private", "data")
MAX_AZS = 6


def subnet_cidr(vpc_cidr: str, tier: Tier, az_index: int) -> ipaddress.IPv4Network:
    if not 0 <= az_index < MAX_AZS:
        raise ValueError(f"AZ index {az_index} outside 0..{MAX_AZS - 1}")
    vpc = ipaddress.IPv4Network(vpc_cidr)
    if tier == "private":
        return list(vpc.subnets(prefixlen_diff=3))[az_index]
    last_quarter = list(vpc.subnets(prefixlen_diff=2))[3]
    blocks = list(last_quarter.subnets(prefixlen_diff=4))
    return blocks[az_index if tier == "data" else 8 + az_index]


def subnet_plan(vpc_cidr: str, az_count: int) -> dict[Tier, list[ipaddress.IPv4Network]]:
    return {tier: [subnet_cidr(vpc_cidr, tier, i) for i in range(az_count)] for tier in TIERS}
