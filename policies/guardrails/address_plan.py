"""VPC address plan: P12, disjoint VPC ranges, subnets inside their VPC, three zones in prod."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Severity

from guardrails.core import (
    MISSING,
    Meta,
    StackRule,
    dependency,
)
from guardrails.stack_reads import (
    SUBNET,
    UNKNOWN,
    VPC,
    Finding,
    Reader,
    is_known,
    is_prod,
    of_type,
    stable,
)


def _network(cidr: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr) if isinstance(cidr, str) else None
    except ValueError:
        return None


def _address_plan(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P12. At the first preview a subnet's vpcId is unknown: it is checked against the one Vpc it depends on."""
    read = Reader()
    found: list[Finding] = []
    vpcs: list[tuple[Any, Any]] = []
    for vpc in of_type(resources, VPC):
        cidr = read(vpc, "cidrBlock")
        if cidr is UNKNOWN:
            continue
        network = _network(cidr)
        if network is None:
            found.append((f"{vpc.name}: cidrBlock {cidr!r} is not a valid CIDR; the address plan cannot be verified",
                          vpc.urn))
        vpcs.append((vpc, network))
    for i, (a, net_a) in enumerate(vpcs):
        for b, net_b in vpcs[i + 1:]:
            if net_a is not None and net_b is not None and net_a.overlaps(net_b):
                found.append((f"{a.name}, {b.name}: cidrBlock {net_a} and {net_b} overlap; VPC ranges must be "
                              "pairwise disjoint", a.urn))
    by_id = {vid: (vpc, net) for vpc, net in vpcs if isinstance(vid := read.peek(vpc, "id"), str)}
    by_urn = {vpc.urn: (vpc, net) for vpc, net in vpcs}
    zones: dict[str, set[str]] = defaultdict(set)
    for subnet in of_type(resources, SUBNET):
        found.extend(_subnet_in_vpc(read, subnet, by_id, by_urn, zones))
    if is_prod(config):
        for vpc, _ in vpcs:
            count = len(zones.get(vpc.urn, set()))
            if count < 3:
                shown = ", ".join(sorted(zones.get(vpc.urn, set()))) or "none"
                found.append((f"{vpc.name}: subnets span {count} availability zones ({shown}); prod needs at "
                              "least 3", vpc.urn))
    return read.findings + found


def _subnet_in_vpc(read: Reader, subnet: Any, by_id: Mapping[str, tuple[Any, Any]],
                   by_urn: Mapping[str, tuple[Any, Any]], zones: dict[str, set[str]]) -> list[Finding]:
    """A subnet's range inside its VPC's; its zone is added to the VPC's zones."""
    found: list[Finding] = []
    vpc_id, cidr = read.peek(subnet, "vpcId"), read(subnet, "cidrBlock")
    # During the first preview the VPC's id is unknown: the subnet is in the one Vpc its vpcId came from.
    source = dependency(subnet, "vpcId", VPC) if vpc_id is UNKNOWN else None
    if vpc_id is UNKNOWN and (source is None or source.urn not in by_urn):
        read.unknown(subnet, "vpcId")  # another stack's VPC, several, or one of unknown range: fail closed
        source = None
    if (not is_known(vpc_id) and source is None) or cidr is UNKNOWN:
        if vpc_id is MISSING:
            found.append((f"{subnet.name}: vpcId is not set", subnet.urn))
        return found
    if source is None and vpc_id not in by_id:
        found.append((f"{subnet.name}: vpcId {vpc_id} names no ec2 Vpc in the stack; its range cannot be "
                      "verified", subnet.urn))
        return found
    vpc, vpc_net = by_urn[source.urn] if source is not None else by_id[vpc_id]
    network = _network(cidr)
    if network is None:
        found.append((f"{subnet.name}: cidrBlock {cidr!r} is not a valid CIDR", subnet.urn))
    elif vpc_net is not None and (network.version != vpc_net.version or not network.subnet_of(vpc_net)):
        found.append((f"{subnet.name}: cidrBlock {network} is outside {vpc.name}'s cidrBlock {vpc_net}",
                      subnet.urn))
    zone = read(subnet, "availabilityZoneId")
    zone = read(subnet, "availabilityZone") if zone is MISSING else zone
    if isinstance(zone, str):
        zones[vpc.urn].add(zone)
    return found


INVARIANTS = [
    StackRule(
        Meta("P12", "platform-address-plan", "VPC ranges are disjoint, subnets inside their VPC, >= 3 zones in prod",
             Severity.HIGH, mandatory=True,
             remediation="Give each VPC its own range from the address plan, carve subnets from it, and spread "
                         "them over at least 3 availability zones in prod."),
        stable(_address_plan)),
]
