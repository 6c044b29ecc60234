"""Security groups of the data tiers (Aurora, ElastiCache, MSK): P13, who may reach them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import (
    MISSING,
    Meta,
    StackRule,
    dependencies,
    plain_all,
)
from guardrails.stack_reads import (
    INGRESS_RULE,
    SECURITY_GROUP,
    SG_RULE,
    UNKNOWN,
    Finding,
    Reader,
    is_known,
    of_type,
    stable,
)

# -------------------------------------------------------------------------------------- P13 tier matrix

_CIDR_SOURCES = ("cidrIpv4", "cidrIpv6", "prefixListId")
_INLINE_CIDRS = ("cidrBlocks", "ipv6CidrBlocks", "prefixListIds")


def _group_at(read: Reader, resource: Any, path: str, groups: Mapping[str, Any], data: set[str]) -> Any:
    """The security group a reference at path names: the stack's group with that id, MISSING, the id itself
    when no group of the stack has it, or, when it is unknown during preview, the one SecurityGroup the
    engine says it came from. A value computed only from resources that are no SecurityGroup and depend on
    no data-tier group (the group EKS creates for a cluster) is no group of the stack, like a known foreign
    id. Anything else (no dependencies, several groups) is UNKNOWN and fails closed.
    """
    value = read.peek(resource, path)
    if value is UNKNOWN:
        sources = dependencies(resource, path)
        groups_of = [d for d in sources if d.resource_type == SECURITY_GROUP]
        if len(groups_of) == 1:
            return groups_of[0]
        if sources and not groups_of and not any(
                d.urn in data for s in sources for d in getattr(s, "dependencies", None) or []):
            return f"<a group {', '.join(s.name for s in sources)} creates>"
        return read.unknown(resource, path)
    if isinstance(value, str):
        return groups.get(value, value)
    return MISSING


class _Tiers:
    """The stack's security groups by id, and which of them are data tiers (tags.tier = data)."""

    def __init__(self, read: Reader, resources: Sequence[Any]) -> None:
        self.read = read
        self.security_groups = of_type(resources, SECURITY_GROUP)
        self.groups = {sid: sg for sg in self.security_groups if isinstance(sid := read.peek(sg, "id"), str)}
        self.data = {sg.urn for sg in self.security_groups if read(sg, "tags.tier") == "data"}

    def source_problem(self, target: Any, source: Any) -> str | None:
        if source is target:
            return None  # a group admitting itself (MSK brokers replicate among themselves)
        if isinstance(source, str):
            return f"references {source}, which is no security group in the stack; its tier cannot be verified"
        if source.urn in self.data:
            return f"admits data-tier group {source.name}; data tiers must not reach each other"
        return None

    def rule(self, rule: Any) -> list[Finding]:
        """A standalone ingress rule into a data tier: no address source, no other data tier as its source."""
        read = self.read
        if rule.resource_type == SG_RULE and read(rule, "type") != "ingress":
            return []
        target = _group_at(read, rule, "securityGroupId", self.groups, self.data)
        if not is_known(target) or isinstance(target, str) or target.urn not in self.data:
            return []
        where = f"ingress to data-tier group {target.name}"
        paths = _CIDR_SOURCES if rule.resource_type == INGRESS_RULE else _INLINE_CIDRS
        found = [(f"{rule.name}: {problem}", rule.urn) for path in paths
                 if (problem := _address_source(read, rule, path, where))]
        source_path = "referencedSecurityGroupId" if rule.resource_type == INGRESS_RULE else "sourceSecurityGroupId"
        source = target if read(rule, "self") is True else _group_at(read, rule, source_path, self.groups, self.data)
        if is_known(source) and (problem := self.source_problem(target, source)):
            found.append((f"{rule.name}: {where} {source_path} {problem}", rule.urn))
        return found

    def inline(self, sg: Any) -> list[Finding]:
        """A data-tier group's inline ingress: security-group references only, none to another data tier."""
        read = self.read
        found: list[Finding] = []
        for i, entry in enumerate(read.items(sg, "ingress")):
            if not isinstance(entry, Mapping):
                continue
            for path in _INLINE_CIDRS:
                value = read(sg, f"ingress.{i}.{path}")
                if value is not MISSING and value is not UNKNOWN and len(value):
                    found.append((f"{sg.name}: ingress.{i}.{path} {list(value)!r} admits addresses; data tiers "
                                  "admit only security-group references", sg.urn))
            for source in read.items(sg, f"ingress.{i}.securityGroups"):
                if isinstance(source, str) and (problem := self.source_problem(sg, self.groups.get(source, source))):
                    found.append((f"{sg.name}: ingress.{i}.securityGroups {problem}", sg.urn))
        return found


def _address_source(read: Reader, rule: Any, path: str, where: str) -> str | None:
    """What is wrong with a CIDR or prefix-list source at path of an ingress rule into a data tier, if set."""
    value = read.peek(rule, path)
    if value is UNKNOWN:
        return f"{where} via {path} (unknown until apply); data tiers admit only referencedSecurityGroupId"
    if value is MISSING or value in ([], ""):
        return None
    try:
        shown = plain_all(value)
    except UnknownValueError:
        shown = "<unknown>"
    return f"{where} via {path} {shown!r}; data tiers admit only referencedSecurityGroupId"


def _tier_reachability(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """Ingress to data tiers. A group's id is unknown until the group exists: during the first preview a rule's
    securityGroupId and its source are read as the group the engine says each came from. An address source
    (CIDR, prefix list) on a data tier is a violation whatever its value, so an unknown one is reported as such.
    """
    read = Reader()
    tiers = _Tiers(read, resources)
    found: list[Finding] = []
    for rule in of_type(resources, INGRESS_RULE, SG_RULE):
        found.extend(tiers.rule(rule))
    for sg in tiers.security_groups:
        if sg.urn in tiers.data:
            found.extend(tiers.inline(sg))
    return read.findings + found


INVARIANTS = [
    StackRule(
        Meta("P13", "platform-tier-reachability",
             "Data tiers admit only security-group references, never CIDRs or other data tiers", Severity.HIGH,
             mandatory=True,
             remediation="Replace CIDR or prefix-list ingress on Aurora, cache and Kafka groups with "
                         "referenced_security_group_id of the EKS node or PgBouncer groups; never admit another "
                         "data-tier group."),
        stable(_tier_reachability)),
]
