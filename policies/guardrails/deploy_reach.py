"""P16: the region's in-VPC deploy runner reaches the private EKS API and the brokers' IAM port, and nothing new does.

The cluster stack of a region (Kubernetes objects, Kafka topics) deploys from a CodeBuild-hosted GitHub Actions
runner inside the VPC, because the EKS API endpoint is private and the brokers admit SASL/IAM on 9098 only from
security groups they name. For every EKS cluster (aws:eks/cluster) and MSK cluster (aws:msk/cluster) of the stack:

(a) exactly one deploy runner has its vpcConfig in the cluster's VPC. The runner is an aws:codebuild/project
    tagged ``platform:role = deploy-runner`` (components/deploy_runner.py RUNNER_TAGS): the tag, not the project
    name, so a renamed project stays recognised and an unrelated one never is. The cluster's VPC is the VPC of
    the subnets it is placed in (and its own vpcConfig.vpcId output once known); the runner's is
    vpcConfig.vpcId.
(b) an ingress rule admits the runner's security group to the EKS cluster security group (the cluster's
    vpcConfig.clusterSecurityGroupId output) on TCP 443, by security-group reference;
(c) an ingress rule on one of the MSK cluster's security groups admits the runner's group on TCP 9098;
(d) the runner's service role has an aws:eks/accessEntry on the cluster, and the entry grants something (an
    aws:eks/accessPolicyAssociation, or kubernetesGroups);
(e) nothing else new reaches them: the cluster security group has no ingress rule but the runner's, on TCP 443
    only (EKS's own rule admitting the group to itself is implicit, not a resource); and every ingress
    permission of the brokers' groups that covers 9098 has no CIDR or prefix-list source and references only
    the runner's group, the workload nodes' group (named ``<cluster>-workloads-nodes`` by components/eks.py),
    the replicator's (``<env>-<code>-kafka-replicator``, components/kafka.py) or the brokers' own group (they
    replicate among themselves).

Ids are unknown before apply. As the other stack rules do (guardrails.network.references), a reference is
resolved by the engine's property dependencies first (an input computed from a resource's output names that
resource, known or not), and by comparing values otherwise; a value that is unknown and comes with no
dependency is reported as "<name>: <path> is unknown during preview; failing closed".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import MISSING, Meta, StackRule
from guardrails.network import Permission, of_type, permissions
from guardrails.stack_reads import (
    EKS_CLUSTER,
    INGRESS_RULE,
    MSK_CLUSTER,
    SECURITY_GROUP,
    SG_RULE,
    SUBNET,
    UNKNOWN,
    VPC,
    Finding,
    Reader,
)

PROJECT = "aws:codebuild/project:Project"
ROLE = "aws:iam/role:Role"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"

RUNNER_TAG = ("platform:role", "deploy-runner")
API_PORT = 443
IAM_PORT = 9098
WORKLOAD_NODES_SUFFIX = "-workloads-nodes"
REPLICATOR_SUFFIX = "-kafka-replicator"
_RUNNER = f"aws:codebuild/project:Project tagged {RUNNER_TAG[0]}={RUNNER_TAG[1]}"
# Standalone rules: (referenced group prop, address props); "self" is the legacy rule's flag.
_SOURCES = {INGRESS_RULE: ("referencedSecurityGroupId", ("cidrIpv4", "cidrIpv6", "prefixListId")),
            SG_RULE: ("sourceSecurityGroupId", ("cidrBlocks", "ipv6CidrBlocks", "prefixListIds"))}


class _Reader(Reader):
    """The stack reader (an unknown value that nothing else resolves is one fail-closed finding per path), plus
    the relations this rule reads: which group an id names, and what an ingress rule admits."""

    def names(self, source: Any, path: str, target: Any, keys: Sequence[str] = ("id",)) -> bool:
        """Whether the id(s) at ``source``'s path name ``target`` (by its ``keys`` props).

        The property dependencies of the path's top-level input answer first; otherwise the values are compared.
        An unknown value with no dependency is recorded as a fail-closed finding (and names nothing).
        """
        dependencies = (getattr(source, "property_dependencies", None) or {}).get(path.split(".", 1)[0]) or []
        if any(getattr(d, "urn", None) == target.urn for d in dependencies):
            return True
        value = self.peek(source, path)
        if value is UNKNOWN:
            if not dependencies:  # with dependencies, the engine says where it came from: not the target
                self.unknown(source, path)
            return False
        if value is MISSING or isinstance(value, Mapping):
            return False
        values = [value] if isinstance(value, str) else list(value)
        # A target id still unknown is a new resource's: a known value cannot be it (the dependency would say).
        ids = {str(v) for key in keys if isinstance(v := self.peek(target, key), str)}
        return bool({str(v) for v in values} & ids)

    def permission(self, rule: Any) -> Permission | None:
        """The protocol, ports and address sources of a standalone ingress rule (None: not ingress, or unknown)."""
        try:
            found = permissions(rule.resource_type, rule.props, "ingress")
        except UnknownValueError:
            self.unknown(rule, "ipProtocol/fromPort/toPort")
            return None
        return found[0] if found else None


def _label(read: _Reader, group: Any) -> str:
    name = read.peek(group, "name")
    if not isinstance(name, str):
        name = read.peek(group, "tags.Name")
    return name if isinstance(name, str) else group.name


def _is_runner(read: _Reader, project: Any) -> bool:
    return read(project, f"tags.{RUNNER_TAG[0]}") == RUNNER_TAG[1]


class _Stack:
    """The resources P16 relates, and how each reference among them resolves."""

    def __init__(self, read: _Reader, resources: Sequence[Any]) -> None:
        self.read = read
        self.vpcs = of_type(resources, VPC)
        self.subnets = of_type(resources, SUBNET)
        self.groups = of_type(resources, SECURITY_GROUP)
        self.roles = of_type(resources, ROLE)
        self.entries = of_type(resources, ACCESS_ENTRY)
        self.associations = of_type(resources, ACCESS_POLICY)
        self.rules = [r for r in of_type(resources, INGRESS_RULE, SG_RULE)
                      if r.resource_type == INGRESS_RULE or read(r, "type") == "ingress"]
        self.runners = [p for p in of_type(resources, PROJECT) if _is_runner(read, p)]

    def vpcs_of(self, resource: Any, subnets_path: str, own_path: str | None = None) -> set[str]:
        """The VPC a resource is in, as VPC URNs and VPC ids: through its subnets, and its own VPC id if any."""
        read, keys = self.read, set[str]()
        for subnet in self.subnets:
            if read.names(resource, subnets_path, subnet):
                keys.update(vpc.urn for vpc in self.vpcs if read.names(subnet, "vpcId", vpc))
                if isinstance(vpc_id := read.peek(subnet, "vpcId"), str):
                    keys.add(vpc_id)
        if own_path is not None:
            keys.update(vpc.urn for vpc in self.vpcs if read.names(resource, own_path, vpc))
            if isinstance(vpc_id := read.peek(resource, own_path), str):
                keys.add(vpc_id)
        return keys

    def runner_in(self, target: Any, vpc: set[str], reaches: str) -> tuple[Any | None, list[Finding]]:
        """(a): the one runner in the target's VPC, or the finding saying why there is none."""
        if not vpc:
            return None, [(f"{target.name}: its VPC cannot be determined (no subnet of the stack among its subnets); "
                           "the deploy runner's placement cannot be verified", target.urn)]
        inside = [p for p in self.runners if self.vpcs_of(p, "vpcConfig.subnets", "vpcConfig.vpcId") & vpc]
        if not inside:
            return None, [(f"{target.name}: no deploy runner ({_RUNNER}) has its vpcConfig in this cluster's VPC; "
                           f"the cluster stack cannot reach {reaches}", target.urn)]
        if len(inside) > 1:
            shown = ", ".join(p.name for p in inside)
            return None, [(f"{target.name}: {len(inside)} deploy runners ({shown}) have their vpcConfig in this "
                           "cluster's VPC; exactly one may be declared", target.urn)]
        return inside[0], []

    def runner_groups(self, runner: Any) -> list[Any]:
        return [g for g in self.groups if self.read.names(runner, "vpcConfig.securityGroupIds", g)]

    def rules_on(self, target: Any, keys: Sequence[str] = ("id",)) -> list[Any]:
        return [r for r in self.rules if self.read.names(r, "securityGroupId", target, keys)]

    def sources(self, rule: Any, candidates: Sequence[Any], target: Any) -> tuple[list[str], list[Any], str | None]:
        """(address sources, candidate groups the rule references, the reference when it is none of them)."""
        read = self.read
        prop, address_paths = _SOURCES[rule.resource_type]
        addresses = [f"{path} {value!r}" for path in address_paths
                     if (value := read(rule, path)) not in (MISSING, UNKNOWN, "", [])]
        if rule.resource_type == SG_RULE and read(rule, "self") is True:
            return addresses, [target], None
        dependencies = (getattr(rule, "property_dependencies", None) or {}).get(prop) or []
        reference = read.peek(rule, prop)
        if reference is MISSING and not dependencies:
            return addresses, [], None
        matched = [c for c in candidates if read.names(rule, prop, c)]
        if matched:
            return addresses, matched, None
        named = [g for g in self.groups if read.names(rule, prop, g)]
        if named:
            return addresses, [], f"{prop} group {_label(read, named[0])}"
        if reference is UNKNOWN:  # without dependencies it is already a fail-closed finding
            shown = ", ".join(d.name for d in dependencies)
            return addresses, [], f"{prop} from {shown}" if shown else None
        return addresses, [], f"{prop} {reference!r}"


def _principal_of(stack: _Stack, runner: Any) -> tuple[list[Any], Any]:
    """The runner's service role: the role resources serviceRole names, and its value."""
    roles = [r for r in stack.roles if stack.read.names(runner, "serviceRole", r, keys=("arn",))]
    return roles, stack.read.peek(runner, "serviceRole")


def _for_principal(stack: _Stack, resource: Any, roles: list[Any], role_arn: Any) -> bool:
    if any(stack.read.names(resource, "principalArn", role, keys=("arn",)) for role in roles):
        return True
    return isinstance(role_arn, str) and stack.read.peek(resource, "principalArn") == role_arn


def _eks_access(stack: _Stack, cluster: Any, runner: Any) -> list[Finding]:
    """(d): an access entry of the runner's role on the cluster, which grants something."""
    read = stack.read
    roles, role_arn = _principal_of(stack, runner)
    shown = _label(read, roles[0]) if roles else (role_arn if isinstance(role_arn, str) else "<unknown role>")
    on_cluster = [e for e in stack.entries if read.names(e, "clusterName", cluster, keys=("name",))]
    entries = [e for e in on_cluster if _for_principal(stack, e, roles, role_arn)]
    if not entries:
        return [(f"{cluster.name}: the deploy runner's role {shown} has no {ACCESS_ENTRY} on this cluster; the "
                 "runner cannot authenticate to its API", cluster.urn)]
    # An association names the principal directly, or through the entry's own output (as eks.py wires it).
    associated = [a for a in stack.associations if read.names(a, "clusterName", cluster, keys=("name",))
                  and (_for_principal(stack, a, roles, role_arn)
                       or any(read.names(a, "principalArn", e, keys=("principalArn",)) for e in entries))]
    if associated:
        return []
    groups = read(entries[0], "kubernetesGroups")
    if groups is UNKNOWN or (groups is not MISSING and len(groups)):
        return []
    return [(f"{entries[0].name}: the deploy runner's access entry on {cluster.name} has no {ACCESS_POLICY} and no "
             "kubernetesGroups; it grants the runner nothing", entries[0].urn)]


def _eks(stack: _Stack, cluster: Any) -> list[Finding]:
    read = stack.read
    runner, found = stack.runner_in(cluster, stack.vpcs_of(cluster, "vpcConfig.subnetIds", "vpcConfig.vpcId"),
                                    "its private API endpoint")
    runner_groups = stack.runner_groups(runner) if runner is not None else []
    where = f"ingress to the cluster security group of {cluster.name}"
    only = f"only the deploy runner's group may be admitted, on TCP {API_PORT}"
    admitted = False
    for rule in stack.rules_on(cluster, keys=("vpcConfig.clusterSecurityGroupId",)):
        permission = read.permission(rule)
        addresses, groups, other = stack.sources(rule, runner_groups, cluster)
        if permission is None:
            continue
        found.extend((f"{rule.name}: {where} via {address}; {only}", rule.urn) for address in addresses)
        if other:
            found.append((f"{rule.name}: {where} from {other}; {only}", rule.urn))
        if groups:
            admitted = admitted or permission.covers(API_PORT)
            if not (permission.protocol == "tcp" and permission.from_port == permission.to_port == API_PORT):
                found.append((f"{rule.name}: {where} admits {permission.shown('the deploy runner')}; {only}",
                              rule.urn))
    if runner is None:
        return found
    if not admitted:
        shown = ", ".join(_label(read, g) for g in runner_groups) or "none"
        found.append((f"{cluster.name}: no ingress rule admits the deploy runner {runner.name}'s security group "
                      f"({shown}) to the cluster security group (vpcConfig.clusterSecurityGroupId) on TCP {API_PORT}; "
                      "the runner cannot reach the private API", cluster.urn))
    return found + _eks_access(stack, cluster, runner)


def _inline(stack: _Stack, group: Any, runner_groups: Sequence[Any],
            allowed: Sequence[Any]) -> tuple[bool, list[Finding]]:
    """(runner admitted, findings) of a brokers' group's inline ingress blocks that cover the IAM port."""
    read, admitted = stack.read, False
    found: list[Finding] = []
    try:
        inline = permissions(SECURITY_GROUP, group.props, "ingress")
    except UnknownValueError:
        read.unknown(group, "ingress")
        return False, []
    dependencies = (getattr(group, "property_dependencies", None) or {}).get("ingress") or []
    ids = {i: g for g in allowed if isinstance(i := read.peek(g, "id"), str)}
    for permission in (p for p in inline if p.covers(IAM_PORT)):
        where = f"{group.name}: {permission.origin[:-1]} opens the brokers' IAM port {IAM_PORT}"
        found.extend((f"{where} to {path} {cidr!r}; it admits security-group references only", group.urn)
                     for path, cidr in permission.cidrs)
        found.extend((f"{where} to prefix list {p!r}; it admits security-group references only", group.urn)
                     for p in permission.prefix_lists)
        for source in permission.groups:
            if source == "self":
                continue
            if source in ids:
                admitted = admitted or ids[source] in runner_groups
                continue
            if source.startswith("<") and dependencies:  # unknown id: the engine names the groups it came from
                named = [d for d in dependencies if d.resource_type == SECURITY_GROUP]
                admitted = admitted or any(d.urn in {g.urn for g in runner_groups} for d in named)
                strangers = [d.name for d in named if d.urn not in {g.urn for g in allowed}]
                if not strangers:
                    continue
                source = ", ".join(strangers)
            elif source.startswith("<"):
                read.unknown(group, f"{permission.origin}securityGroups")
                continue
            found.append((f"{where} to group {source}, which is not the deploy runner, the workload nodes or the "
                          "replicator", group.urn))
    return admitted, found


def _msk(stack: _Stack, cluster: Any) -> list[Finding]:
    read = stack.read
    runner, found = stack.runner_in(
        cluster, stack.vpcs_of(cluster, "brokerNodeGroupInfo.clientSubnets"), f"its brokers on {IAM_PORT}")
    brokers = [g for g in stack.groups if read.names(cluster, "brokerNodeGroupInfo.securityGroups", g)]
    if not brokers:
        return [*found, (f"{cluster.name}: brokerNodeGroupInfo.securityGroups names no security group of the stack; "
                         "who reaches the brokers cannot be verified", cluster.urn)]
    runner_groups = stack.runner_groups(runner) if runner is not None else []
    others = [g for g in stack.groups if _label(read, g).endswith((WORKLOAD_NODES_SUFFIX, REPLICATOR_SUFFIX))]
    admitted = False
    for group in brokers:
        allowed = [*runner_groups, *others, group]  # the brokers' own group: they replicate among themselves
        where = f"ingress to the brokers' group {_label(read, group)} on {IAM_PORT}"
        for rule in stack.rules_on(group):
            permission = read.permission(rule)
            if permission is None or not permission.covers(IAM_PORT):
                continue
            addresses, groups, other = stack.sources(rule, allowed, group)
            admitted = admitted or any(g in runner_groups for g in groups)
            found.extend((f"{rule.name}: {where} via {address}; the IAM port admits security-group references only",
                          rule.urn) for address in addresses)
            if other:
                found.append((f"{rule.name}: {where} from {other}, which is not the deploy runner, the workload nodes "
                              f"(*{WORKLOAD_NODES_SUFFIX}) or the replicator (*{REPLICATOR_SUFFIX})", rule.urn))
        inline_admitted, inline_found = _inline(stack, group, runner_groups, allowed)
        admitted = admitted or inline_admitted
        found.extend(inline_found)
    if runner is not None and not admitted:
        shown = ", ".join(_label(read, g) for g in runner_groups) or "none"
        found.append((f"{cluster.name}: no ingress rule on its security group(s) "
                      f"({', '.join(_label(read, g) for g in brokers)}) admits the deploy runner {runner.name}'s "
                      f"security group ({shown}) on TCP {IAM_PORT}; the runner cannot administer its topics",
                      cluster.urn))
    return found


def _deploy_reach(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    ordered = sorted(resources, key=lambda r: (r.name, r.resource_type, r.urn))  # findings never depend on order
    read = _Reader()
    stack = _Stack(read, ordered)
    found: list[Finding] = []
    for cluster in of_type(ordered, EKS_CLUSTER):
        found.extend(_eks(stack, cluster))
    for cluster in of_type(ordered, MSK_CLUSTER):
        found.extend(_msk(stack, cluster))
    return read.findings + found


RULES = [
    StackRule(
        Meta("P16", "platform-deploy-runner-reach",
             "The region's in-VPC deploy runner reaches the private EKS API (443) and the brokers' IAM port "
             "(9098); nothing else new does", Severity.HIGH, mandatory=True,
             remediation="Declare one components.deploy_runner.DeployRunner per region (a CodeBuild project tagged "
                         "platform:role=deploy-runner in the cluster's VPC): it admits its security group to the "
                         "EKS cluster security group on 443 and to the brokers' group on 9098 by reference, and "
                         "gives its role an EKS access entry. Remove any other ingress rule on the cluster "
                         "security group, and any CIDR or foreign-group source of the brokers' IAM port."),
        _deploy_reach),
]
