"""VPC and EC2 networking: the N rows of docs/guardrails.md, plus the helpers other modules share for security groups.

Security groups come in two forms and every ingress/egress rule looks at both: inline ``ingress[*]`` /
``egress[*]`` blocks on aws:ec2/securityGroup (``cidrBlocks``, ``ipv6CidrBlocks``, ``protocol``, ports) and the
standalone aws:vpc/securityGroupIngressRule / securityGroupEgressRule resources (``cidrIpv4``, ``cidrIpv6``,
``ipProtocol``; "-1" means every protocol and port). The legacy aws:ec2/securityGroupRule is read too.

Rows not implemented, because the program creates none of their resource types:
  N13, N14  network ACLs (aws:ec2/networkAcl, networkAclRule): the VPCs keep their default NACL.
  N15       no default VPC managed: the program declares no aws:ec2/defaultVpc.
  N16       peering routes: no aws:ec2/vpcPeeringConnection (cross-region traffic is MSK Replicator/Aurora Global).
  N18       VPC Block Public Access: no aws:ec2/vpcBlockPublicAccessOptions.
N3 applies to public subnets too: NAT gateways and the NLB get their addresses explicitly, so no subnet
needs auto-assigned public IPs. Launch templates are read only to see which security groups they attach (N11);
their own rules are the EKS module's. Managed prefix lists have no N row; C11 (cloudflare.py) checks them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import MISSING, Meta, ResourceRule, Rule, StackRule, check, get, one_of, present

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"  # legacy; one direction per resource
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"

RULE_TYPES = (INGRESS_RULE, EGRESS_RULE, SECURITY_GROUP_RULE)
GROUP_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)

# AWS Config restricted-common-ports plus Prowler's high-risk TCP ports, and this platform's data tiers:
# PostgreSQL/PgBouncer 5432, Redis 6379, Kafka 9092-9098.
HIGH_RISK_PORTS = (20, 21, 23, 25, 110, 135, 143, 445, 1433, 1521, 3000, 3306, 4333, 5000, 5432, 5500, 6379,
                   8080, 8088, 9092, 9093, 9094, 9095, 9096, 9097, 9098, 9200, 9300, 11211, 27017)
# Interface/gateway endpoints nodes in private subnets need to pull images, join and log without the NAT path.
REQUIRED_ENDPOINTS = ("ec2", "ecr.api", "ecr.dkr", "sts", "logs", "s3")

_ALL_PROTOCOLS = ("-1", "all")
_PORT_PROTOCOLS = ("tcp", "udp")
_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1", "-1": "-1"}


# --- reading props --------------------------------------------------------------------------------------


def items(value: Any) -> list[Any]:
    """The elements of a list-valued prop (proxied lists included); [] for anything else."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [value[i] for i in range(len(value))]
    return []


UNKNOWN_ENTRY: Any = type("_UnknownEntry", (), {"__repr__": lambda self: "<unknown>"})()


def entries(props: Any, key: str) -> Any:
    """The list at ``props[key]`` with each entry unknown during preview as UNKNOWN_ENTRY; MISSING when absent.

    Its length is known even when its entries are not (each one an output of another resource). A list that is
    unknown as a whole raises UnknownValueError, as reading it does.
    """
    value = raw(props, key)
    if value is MISSING or isinstance(value, str) or not isinstance(value, Sequence):
        return value if value is MISSING else [value]
    found = []
    for i in range(len(value)):
        try:
            found.append(value[i])
        except UnknownValueError:
            found.append(UNKNOWN_ENTRY)
    return found


def raw(props: Any, key: str) -> Any:
    """``props[key]`` as the engine gave it (still proxied: unknown parts raise only when read), or MISSING."""
    if isinstance(props, Mapping) and key in props and props[key] is not None:
        return props[key]
    return MISSING


def of_type(resources: Iterable[Any], *types: str) -> list[Any]:
    return [r for r in resources if r.resource_type in types]


def known_id(resource: Any) -> str | None:
    """The resource's id, or None while it is unknown (or absent)."""
    try:
        value = get(resource.props, "id")
    except UnknownValueError:
        return None
    return None if value is MISSING else str(value)


def _identifiers(target: Any, keys: Sequence[str]) -> set[str]:
    found = set()
    for key in keys:
        value = get(target.props, key)
        if value is not MISSING:
            found.add(str(value))
    return found


def references(source: Any, prop: str, target: Any, keys: Sequence[str] = ("id",)) -> bool:
    """Whether ``source.props[prop]`` (an id or a list of ids) names ``target`` (by its ``keys`` props).

    The engine's property dependencies answer first: during a first preview ids are unknown, but the
    engine still records which resource an input came from. Otherwise the values are compared; an
    unknown value with no dependency to go by raises UnknownValueError, so mandatory rules fail closed.
    """
    dependencies = (getattr(source, "property_dependencies", None) or {}).get(prop) or []
    if any(getattr(d, "urn", None) == target.urn for d in dependencies):
        return True
    try:
        raw = get(source.props, prop)
        values = [raw] if isinstance(raw, str) else items(raw)
        return bool({str(v) for v in values} & _identifiers(target, keys))
    except UnknownValueError:
        if dependencies:  # the engine names where the value comes from, and it is not the target
            return False
        raise


def referenced(source: Any, prop: str, candidates: Iterable[Any], keys: Sequence[str] = ("id",)) -> list[Any]:
    """The candidates ``source.props[prop]`` names (see ``references``)."""
    return [c for c in candidates if references(source, prop, c, keys)]


def any_references(sources: Iterable[Any], prop: str, target: Any, keys: Sequence[str] = ("id",),
                   accept: Callable[[Any], bool] = lambda _: True) -> bool:
    """Whether some source (that ``accept`` selects) names target; an unknown only matters when none does."""
    unknown: UnknownValueError | None = None
    for source in sources:
        try:
            if references(source, prop, target, keys) and accept(source):
                return True
        except UnknownValueError as exc:
            unknown = exc
    if unknown is not None:
        raise unknown
    return False


# --- security group permissions -------------------------------------------------------------------------


def is_world(cidr: Any) -> bool:
    """0.0.0.0/0, ::/0 (or any other spelling of a zero-length prefix)."""
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def _port(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Permission:
    """One ingress or egress permission, whichever form declared it."""

    origin: str  # "ingress.0." for an inline block, "" for a standalone rule resource: prefixes field paths
    protocol: str  # "-1" for every protocol, else tcp, udp, icmp, ...
    from_port: int
    to_port: int
    cidrs: tuple[tuple[str, str], ...]  # (property path, CIDR)
    prefix_lists: tuple[str, ...]
    groups: tuple[str, ...]  # referenced security group ids ("self" for the group itself)
    direction: str  # "ingress" or "egress"

    @property
    def every_protocol(self) -> bool:
        return self.protocol == "-1"

    @property
    def all_ports(self) -> bool:
        return self.every_protocol or (self.protocol in _PORT_PROTOCOLS and self.from_port <= 1
                                       and self.to_port >= 65535)

    def covers(self, port: int) -> bool:
        return self.every_protocol or (self.protocol in _PORT_PROTOCOLS and self.from_port <= port <= self.to_port)

    def shown(self, source: str) -> str:
        way = "from" if self.direction == "ingress" else "to"
        if self.every_protocol:
            return f"all traffic {way} {source}"
        return f"{self.protocol} {self.from_port}-{self.to_port} {way} {source}"

    def world(self) -> list[tuple[str, str]]:
        return [(path, cidr) for path, cidr in self.cidrs if is_world(cidr)]


UNKNOWN_ID = "<unknown until apply>"


def _ids(props: Any, key: str) -> list[Any]:
    """Ids (prefix lists, referenced groups) a permission names; one placeholder when they are not known yet.

    A first preview knows no ids; rules about world CIDRs must not fail closed on that, and the rules that do
    care which resource is named (C11) resolve placeholders through the engine's property dependencies.
    """
    try:
        value = get(props, key)
        return [] if value is MISSING else ([value] if isinstance(value, str) else items(value))
    except UnknownValueError:
        return [UNKNOWN_ID]


def _permission(origin: str, direction: str, protocol: Any, from_port: Any, to_port: Any,
                cidrs: list[tuple[str, str]], prefix_lists: list[Any], groups: list[Any]) -> Permission:
    name = str(protocol).lower() if protocol is not MISSING else "-1"
    name = _PROTOCOL_NAMES.get(name, name)
    if name == "-1":
        low, high = 0, 65535
    else:
        low, high = _port(from_port, 0), _port(to_port, 65535)
    return Permission(origin, name, low, high, tuple(cidrs), tuple(str(p) for p in prefix_lists),
                      tuple(str(g) for g in groups), direction)


def permissions(resource_type: str, props: Any, direction: str) -> list[Permission]:
    """Every ``direction`` ("ingress"/"egress") permission a security group or rule resource declares."""
    found: list[Permission] = []
    if resource_type in GROUP_TYPES:
        for i, entry in enumerate(items(raw(props, direction))):  # entry by entry: an unknown id is no CIDR
            origin = f"{direction}.{i}."
            cidrs = [(f"{origin}{key}", str(c)) for key in ("cidrBlocks", "ipv6CidrBlocks")
                     for c in items(get(entry, key))]
            groups = _ids(entry, "securityGroups") + (["self"] if get(entry, "self") is True else [])
            found.append(_permission(origin, direction, get(entry, "protocol"), get(entry, "fromPort"),
                                     get(entry, "toPort"), cidrs, _ids(entry, "prefixListIds"), groups))
    elif resource_type in (INGRESS_RULE, EGRESS_RULE):
        if (resource_type == INGRESS_RULE) != (direction == "ingress"):
            return []
        cidrs = [(key, str(v)) for key in ("cidrIpv4", "cidrIpv6") if (v := get(props, key)) is not MISSING]
        found.append(_permission("", direction, get(props, "ipProtocol"), get(props, "fromPort"),
                                 get(props, "toPort"), cidrs, _ids(props, "prefixListId"),
                                 _ids(props, "referencedSecurityGroupId")))
    elif resource_type == SECURITY_GROUP_RULE and get(props, "type") == direction:
        cidrs = [(key, str(c)) for key in ("cidrBlocks", "ipv6CidrBlocks") for c in items(get(props, key))]
        groups = _ids(props, "sourceSecurityGroupId") + (["self"] if get(props, "self") is True else [])
        found.append(_permission("", direction, get(props, "protocol"), get(props, "fromPort"),
                                 get(props, "toPort"), cidrs, _ids(props, "prefixListIds"), groups))
    return found


# --- N1 default security group --------------------------------------------------------------------------


def _default_group_closed(props: Any, args: ResourceValidationArgs) -> list[str]:
    found = []
    for direction in ("ingress", "egress"):
        value = get(props, direction)
        if value is MISSING:
            found.append(f"{direction} is not set; it must be an empty list")
        elif not isinstance(value, Sequence) or isinstance(value, str):
            found.append(f"{direction} must be an empty list (got {value!r})")
        elif len(value):
            found.append(f"{direction} must be an empty list (got {len(value)} rule(s))")
    return found


def _default_group_managed(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    defaults = of_type(resources, DEFAULT_SECURITY_GROUP)
    rules = of_type(resources, *RULE_TYPES)
    found: list[tuple[str, str | None]] = []
    for vpc in of_type(resources, VPC):
        if not any_references(defaults, "vpcId", vpc):
            found.append((f"{vpc.name}: no {DEFAULT_SECURITY_GROUP} strips this VPC's default security group "
                          "(it admits all traffic between its members)", vpc.urn))
        for rule in rules:
            if references(rule, "securityGroupId", vpc, keys=("defaultSecurityGroupId",)):
                found.append((f"{rule.name}: securityGroupId must not be the default security group of "
                              f"{vpc.name}", rule.urn))
    for group in defaults:
        for rule in rules:
            if references(rule, "securityGroupId", group):
                found.append((f"{rule.name}: securityGroupId must not be the default security group {group.name}",
                              rule.urn))
    return found


# --- N2 flow logs ---------------------------------------------------------------------------------------

FLOW_LOG_TRAFFIC = ("ALL", "REJECT")


def _flow_logs_enabled(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    logs = of_type(resources, FLOW_LOG)
    return [(f"{vpc.name}: no {FLOW_LOG} with trafficType ALL or REJECT records this VPC", vpc.urn)
            for vpc in of_type(resources, VPC)
            if not any_references(logs, "vpcId", vpc,
                                  accept=lambda log: get(log.props, "trafficType") in FLOW_LOG_TRAFFIC)]


# --- N4-N8 world ingress, N9 egress ---------------------------------------------------------------------

SG_TYPES = (SECURITY_GROUP, INGRESS_RULE, SECURITY_GROUP_RULE)


def _world_ingress(props: Any, args: ResourceValidationArgs) -> list[tuple[Permission, str, str]]:
    return [(p, path, cidr) for p in permissions(args.resource_type, props, "ingress") for path, cidr in p.world()]


def _world_port_rule(meta: Meta, port: int, label: str) -> ResourceRule:
    def custom(props: Any, args: ResourceValidationArgs) -> list[str]:
        return [f"{path} must not admit {label} from the internet (got {p.shown(cidr)})"
                for p, path, cidr in _world_ingress(props, args) if p.covers(port)]
    return ResourceRule(meta, SG_TYPES, custom=custom)


def _world_all_ports(props: Any, args: ResourceValidationArgs) -> list[str]:
    return [f"{path} must not admit all ports from the internet (got {p.shown(cidr)})"
            for p, path, cidr in _world_ingress(props, args) if p.all_ports]


def _ports_text(ports: Sequence[int]) -> str:
    shown = ", ".join(str(p) for p in ports[:6])
    return shown if len(ports) <= 6 else f"{shown}, ... ({len(ports)} ports)"


def _world_high_risk(props: Any, args: ResourceValidationArgs) -> list[str]:
    configured = (args.get_config() or {}).get("highRiskPorts")
    ports = sorted(int(p) for p in (configured if configured is not None else HIGH_RISK_PORTS))
    found = []
    for p, path, cidr in _world_ingress(props, args):
        covered = [port for port in ports if p.covers(port)]
        if covered:
            found.append(f"{path} must not admit high-risk ports from the internet "
                         f"(got {p.shown(cidr)}, covering {_ports_text(covered)})")
    return found


def unrestricted_egress(resource_type: str, props: Any) -> list[str]:
    return [f"{path} must not allow all traffic to the internet (got {p.shown(cidr)})"
            for p in permissions(resource_type, props, "egress") if p.every_protocol
            for path, cidr in p.world()]


def _unrestricted_egress(props: Any, args: ResourceValidationArgs) -> list[str]:
    return unrestricted_egress(args.resource_type, props)


# --- N10 descriptions -----------------------------------------------------------------------------------


def _inline_descriptions(props: Any, args: ResourceValidationArgs) -> list[str]:
    found = []
    for direction in ("ingress", "egress"):
        for i, entry in enumerate(items(get(props, direction))):
            value = get(entry, "description")
            if value is MISSING:
                found.append(f"{direction}.{i}.description is not set; it must be set")
            elif not str(value).strip():
                found.append(f"{direction}.{i}.description must be set (got {value!r})")
    return found


# --- N11 attached, N12 inline vs standalone -------------------------------------------------------------


def _strings(node: Any) -> list[str]:
    """Every known string inside a (proxied) value; unknown parts are skipped."""
    if isinstance(node, str):
        return [node]
    found: list[str] = []
    if isinstance(node, Mapping):
        children: Iterable[Any] = list(node)
        getter: Callable[[Any], Any] = node.__getitem__
    elif isinstance(node, Sequence):
        children, getter = range(len(node)), node.__getitem__
    else:
        return found
    for key in children:
        try:
            child = getter(key)
        except UnknownValueError:
            continue
        found.extend(_strings(child))
    return found


def _groups_attached(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    users = [r for r in resources if r.resource_type not in (*GROUP_TYPES, *RULE_TYPES)]
    mentioned = set().union(*(_strings(user.props) for user in users)) if users else set()
    depended = {getattr(d, "urn", None) for user in users
                for deps in (getattr(user, "property_dependencies", None) or {}).values() for d in deps}
    found: list[tuple[str, str | None]] = []
    for group in of_type(resources, SECURITY_GROUP):
        group_id = known_id(group)
        if group.urn not in depended and (group_id is None or group_id not in mentioned):
            found.append((f"{group.name}: no resource of the stack attaches this security group", group.urn))
    return found


def _sources(p: Permission, group_id: str) -> set[tuple[str, int, int, str]]:
    named = [c for _, c in p.cidrs] + list(p.prefix_lists) + [group_id if g == "self" else g for g in p.groups]
    return {(p.protocol, p.from_port, p.to_port, s) for s in named}


def _mixed_rules(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    rules = of_type(resources, *RULE_TYPES)
    found: list[tuple[str, str | None]] = []
    for group in of_type(resources, SECURITY_GROUP):
        for direction in ("ingress", "egress"):
            try:  # advisory: a group this preview cannot read yet is skipped, not the whole stack
                standalone = _conflicting(group, rules, direction)
            except UnknownValueError:
                continue
            if standalone:
                names = ", ".join(r.name for r in standalone)
                found.append((f"{group.name}: declares inline {direction} and is also the target of standalone "
                              f"{direction} rules ({names}); the provider keeps removing one or the other",
                              group.urn))
    return found


def _conflicting(group: Any, rules: Sequence[Any], direction: str) -> list[Any]:
    """The standalone rules that fight the group's inline ``direction`` list ([] when there is no conflict)."""
    if get(group.props, direction) is MISSING:
        return []  # not managed inline
    standalone = [r for r in rules if permissions(r.resource_type, r.props, direction)
                  and references(r, "securityGroupId", group)]
    group_id = known_id(group) or group.urn
    declared: set[tuple[str, int, int, str]] = set()
    for p in permissions(SECURITY_GROUP, group.props, direction):
        declared |= _sources(p, group_id)
    produced: set[tuple[str, int, int, str]] = set()
    for r in standalone:
        for p in permissions(r.resource_type, r.props, direction):
            produced |= _sources(p, group_id)
    # An empty inline list strips every other rule. A refreshed group lists its standalone rules inline too,
    # so only inline permissions that no standalone rule explains are a conflict.
    return standalone if standalone and (not declared or declared - produced) else []


# --- N17 interface endpoints ----------------------------------------------------------------------------


def _service(endpoint: Any) -> str:
    name = get(endpoint.props, "serviceName")
    parts = str(name).split(".", 3) if name is not MISSING else []
    return parts[3] if len(parts) == 4 else ""


def _endpoints(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    required = [str(s) for s in config.get("requiredEndpoints") or REQUIRED_ENDPOINTS]
    endpoints = of_type(resources, VPC_ENDPOINT)
    found: list[tuple[str, str | None]] = []
    for vpc in of_type(resources, VPC):
        try:  # advisory: a VPC this preview cannot match yet is skipped, not the whole stack
            present_services = {_service(e) for e in endpoints if references(e, "vpcId", vpc)}
        except UnknownValueError:
            continue
        missing = [s for s in required if s not in present_services]
        if missing:
            found.append((f"{vpc.name}: no VPC endpoint for {', '.join(missing)} (nodes reach these services "
                          "through the NAT gateway)", vpc.urn))
    return found


_SG_REMEDIATION = ("Admit internet traffic only to the edge load balancer's group, from the Cloudflare prefix "
                   "list; everything else admits referenced security groups or VPC CIDRs.")

RULES: list[Rule] = [
    ResourceRule(
        Meta("N1", "vpc-default-sg-closed", "Default security groups have no ingress and no egress rules",
             Severity.HIGH, mandatory=True,
             remediation="Declare aws.ec2.DefaultSecurityGroup(vpc_id=..., ingress=[], egress=[]) for the VPC.",
             mirrors=("EC2.2", "CKV2_AWS_12", "CIS-AWS 6.5")),
        (DEFAULT_SECURITY_GROUP,), custom=_default_group_closed),
    StackRule(
        Meta("N1", "vpc-default-sg-managed",
             "Every VPC's default security group is taken over and stripped, and no rule resource re-opens it",
             Severity.HIGH, mandatory=True,
             remediation="Add a DefaultSecurityGroup with empty ingress/egress for every VPC; attach rules to "
                         "dedicated security groups, never to the default one.",
             mirrors=("EC2.2", "CKV2_AWS_12", "CIS-AWS 6.5")),
        _default_group_managed),
    StackRule(
        Meta("N2", "vpc-flow-logs-enabled", "Every VPC has a flow log recording at least rejected traffic",
             Severity.MEDIUM, mandatory=True,
             remediation="Create an aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type='ALL') for every VPC.",
             mirrors=("EC2.6", "CKV2_AWS_11", "CIS-AWS 4.7")),
        _flow_logs_enabled),
    ResourceRule(
        Meta("N2", "vpc-flow-log-traffic-type", "Flow logs record ALL or REJECT traffic", Severity.MEDIUM,
             mandatory=True, remediation="Set traffic_type='ALL' (or 'REJECT') on the FlowLog.",
             mirrors=("EC2.6", "CKV2_AWS_11", "CIS-AWS 4.7")),
        (FLOW_LOG,), (check("trafficType", **one_of(FLOW_LOG_TRAFFIC, wrong="ACCEPT")),)),
    ResourceRule(
        Meta("N3", "ec2-subnet-no-auto-public-ip", "Subnets do not assign public IPs on launch", Severity.MEDIUM,
             mandatory=False,
             remediation="Leave map_public_ip_on_launch unset or False; NAT gateways and load balancers get their "
                         "addresses explicitly.", mirrors=("EC2.15", "CKV_AWS_130")),
        (SUBNET,), (check("mapPublicIpOnLaunch", test=lambda v: v is not True, expect="must not be true",
                          wrong=True, missing_ok=True),)),
    _world_port_rule(
        Meta("N4", "ec2-sg-no-world-ssh", "No security group admits SSH (22) from 0.0.0.0/0 or ::/0",
             Severity.HIGH, mandatory=True, remediation=_SG_REMEDIATION + " Reach nodes through SSM, not SSH.",
             mirrors=("EC2.13", "CKV_AWS_24", "CIS-AWS 6.3", "CIS-AWS 6.4")),
        22, "port 22 (SSH)"),
    _world_port_rule(
        Meta("N5", "ec2-sg-no-world-rdp", "No security group admits RDP (3389) from 0.0.0.0/0 or ::/0",
             Severity.HIGH, mandatory=True, remediation=_SG_REMEDIATION,
             mirrors=("EC2.14", "CKV_AWS_25", "CIS-AWS 6.3", "CIS-AWS 6.4")),
        3389, "port 3389 (RDP)"),
    _world_port_rule(
        Meta("N6", "ec2-sg-no-world-http", "No security group admits HTTP (80) from 0.0.0.0/0 or ::/0",
             Severity.CRITICAL, mandatory=True,
             remediation=_SG_REMEDIATION + " Cloudflare redirects HTTP to HTTPS at the edge.",
             mirrors=("CKV_AWS_260",)),
        80, "port 80 (HTTP)"),
    ResourceRule(
        Meta("N7", "ec2-sg-no-world-all-ports", "No security group admits every port from 0.0.0.0/0 or ::/0",
             Severity.HIGH, mandatory=True, remediation=_SG_REMEDIATION, mirrors=("EC2.18", "CKV_AWS_277")),
        SG_TYPES, custom=_world_all_ports),
    ResourceRule(
        Meta("N8", "ec2-sg-no-world-high-risk-ports",
             "No security group admits high-risk ports (admin, database, cache, Kafka) from the internet",
             Severity.MEDIUM, mandatory=True, remediation=_SG_REMEDIATION,
             mirrors=("EC2.19", "ec2_securitygroup_allow_ingress_from_internet_to_high_risk_tcp_ports")),
        SG_TYPES, custom=_world_high_risk,
        config={"highRiskPorts": {"type": "array", "items": {"type": "integer"},
                                  "description": "ports that must never be open to the internet"}}),
    ResourceRule(
        Meta("N9", "ec2-sg-no-unrestricted-egress", "Security groups do not allow all traffic to the internet",
             Severity.LOW, mandatory=False,
             remediation="Limit egress to the ports and destinations the group needs. EKS node groups are expected "
                         "to report here: nodes pull images and reach AWS APIs on many endpoints.",
             mirrors=("CKV_AWS_382",)),
        (SECURITY_GROUP, EGRESS_RULE, SECURITY_GROUP_RULE), custom=_unrestricted_egress),
    ResourceRule(
        Meta("N10", "ec2-sg-description", "Security groups and their inline rules carry descriptions",
             Severity.LOW, mandatory=False, remediation="Set description on the group and on every ingress/egress.",
             mirrors=("CKV_AWS_23",)),
        (SECURITY_GROUP,), (check("description", **present()),), custom=_inline_descriptions),
    ResourceRule(
        Meta("N10", "ec2-sg-rule-description", "Standalone security group rules carry descriptions",
             Severity.LOW, mandatory=False, remediation="Set description on every security group rule resource.",
             mirrors=("CKV_AWS_23",)),
        RULE_TYPES, (check("description", **present()),)),
    StackRule(
        Meta("N11", "ec2-sg-attached", "Every security group is attached to something", Severity.LOW,
             mandatory=False, remediation="Delete security groups nothing uses, or attach them.",
             mirrors=("CKV2_AWS_5",)),
        _groups_attached),
    StackRule(
        Meta("N12", "ec2-sg-no-inline-and-standalone-rules",
             "A security group's rules in one direction are either inline or standalone, never both",
             Severity.LOW, mandatory=False,
             remediation="Move the inline ingress/egress blocks to SecurityGroupIngressRule/EgressRule resources "
                         "(or the reverse) and drop the other form."),
        _mixed_rules),
    StackRule(
        Meta("N17", "vpc-interface-endpoints", "Every VPC has endpoints for the services private nodes need",
             Severity.MEDIUM, mandatory=False,
             remediation="Add aws.ec2.VpcEndpoint resources (Interface, private DNS) for the missing services.",
             mirrors=("EC2.10", "EC2.55", "EC2.56")),
        _endpoints,
        config={"requiredEndpoints": {"type": "array", "items": {"type": "string"},
                                      "description": "service suffixes (ecr.api, sts, ...) every VPC needs"}},
        defaults={"requiredEndpoints": list(REQUIRED_ENDPOINTS)}),
]
