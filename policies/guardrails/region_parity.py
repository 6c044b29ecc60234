"""What every region shares: approved regions and the same tiers (P11), pinned, equal versions (P15)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Severity

from guardrails.core import (
    MISSING,
    Meta,
    StackRule,
)
from guardrails.stack_reads import (
    APPROVED_REGIONS,
    CLUSTER,
    EKS_CLUSTER,
    GLOBAL_CLUSTER,
    MSK_CLUSTER,
    REGIONS_SCHEMA,
    REPLICATION_GROUP,
    UNKNOWN,
    VPC,
    Finding,
    Reader,
    approved_regions,
    differ,
    is_prod,
    of_type,
    region_name,
    stable,
)

# ---------------------------------------------------------------------------------- P11 regions, P12 CIDRs

_ONE_PER_REGION = ((VPC, "ec2 Vpc"), (EKS_CLUSTER, "eks Cluster"), (MSK_CLUSTER, "msk Cluster"),
                   (REPLICATION_GROUP, "elasticache ReplicationGroup"))


def _region_symmetry(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = Reader()
    found: list[Finding] = []
    approved = approved_regions(config)
    by_region: dict[str, list[Any]] = defaultdict(list)
    for resource in resources:
        if not resource.resource_type.startswith("aws:"):
            continue
        region = read.region(resource)
        if region is UNKNOWN:
            continue
        if region is None:
            found.append((f"{resource.name}: has no determinable region (no region input, no provider region)",
                          resource.urn))
            continue
        if region not in approved:
            found.append((f"{resource.name}: region {region} is not an approved region ({', '.join(approved)})",
                          resource.urn))
        by_region[region].append(resource)
    for region, members in by_region.items():
        for resource_type, label in _ONE_PER_REGION:
            count = len(of_type(members, resource_type))
            if count != 1:
                found.append((f"{region}: has {count} {label} resources; every region needs exactly 1", None))
        if not of_type(members, CLUSTER):
            found.append((f"{region}: has no rds Cluster; every region needs at least 1", None))
    return read.findings + found

# -------------------------------------------------------------------------------------- P15 versions

_PINNED = re.compile(r"^\d+\.\d+$")


def _version_parity(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = Reader()
    found: list[Finding] = []
    for resource in of_type(resources, GLOBAL_CLUSTER, CLUSTER):
        version = read(resource, "engineVersion")
        if version is MISSING:
            found.append((f"{resource.name}: engineVersion is not set; it must be pinned to MAJOR.MINOR",
                          resource.urn))
        elif version is not UNKNOWN and not (isinstance(version, str) and _PINNED.match(version)):
            found.append((f"{resource.name}: engineVersion must be pinned to MAJOR.MINOR (got {version!r})",
                          resource.urn))
        if is_prod(config) and resource.resource_type == CLUSTER and read(resource, "allowMajorVersionUpgrade") is True:
            found.append((f"{resource.name}: allowMajorVersionUpgrade must not be true in prod (got True)",
                          resource.urn))
    msk = [(r, read(r, "kafkaVersion")) for r in of_type(resources, MSK_CLUSTER)]
    found.extend(differ("msk Cluster kafkaVersion", msk))
    minors: list[tuple[Any, int]] = []
    for eks in of_type(resources, EKS_CLUSTER):
        version = read(eks, "version")
        if version is UNKNOWN:
            continue
        if not (isinstance(version, str) and _PINNED.match(version)):
            found.append((f"{eks.name}: version must be MAJOR.MINOR (got {version!r})", eks.urn))
            continue
        major, minor = version.split(".")
        minors.append((eks, int(major) * 1000 + int(minor)))
    if minors and max(m for _, m in minors) - min(m for _, m in minors) > 1:
        shown = ", ".join(f"{r.name} {read(r, 'version')!r} ({region_name(r)})" for r, _ in minors)
        found.append((f"eks Cluster version spans more than one minor across regions: {shown}", None))
    found.extend(differ("elasticache ReplicationGroup engineVersion",
                         [(r, read(r, "engineVersion")) for r in of_type(resources, REPLICATION_GROUP)]))
    return read.findings + found


INVARIANTS = [
    StackRule(
        Meta("P11", "platform-region-symmetry",
             "Resources only in approved regions, each region with the same tiers", Severity.HIGH, mandatory=True,
             remediation="Deploy only to approved regions and give every region one VPC, EKS cluster, MSK cluster "
                         "and ElastiCache replication group and at least one Aurora cluster."),
        stable(_region_symmetry), config=REGIONS_SCHEMA, defaults={"approvedRegions": list(APPROVED_REGIONS)}),
    StackRule(
        Meta("P15", "platform-version-parity", "Versions are pinned and equal across regions", Severity.MEDIUM,
             mandatory=True,
             remediation="Pin Aurora engine_version to MAJOR.MINOR, keep allow_major_version_upgrade off in prod, "
                         "and run one Kafka version, EKS versions within one minor, and one cache engine version."),
        stable(_version_parity)),
]
