"""Platform invariants no cloud scanner checks: reference/guardrails.md section 8 (P1-P15) and required tags.

Every rule here is a stack policy: it relates several resources (a PgBouncer config to the Aurora cluster it
targets, a global cluster to its members, a subnet to its VPC). The pack imports nothing from the program;
the facts it needs (Aurora max_connections per instance class, prices) are duplicated below with their source.

Mandatory rules fail closed per resource: a value they read that is unknown during preview is reported as
"<name>: <path> is unknown during preview; failing closed" rather than skipped.

A stack's first preview knows none of its own computed outputs (ids, ARNs), so an input computed from one is
unknown. Where the engine's property dependencies name the one resource such a value comes from (a subnet's
vpcId -> its Vpc, a kmsKeyId -> its kms Key), the rule checks the relation on that resource instead
(``_resolved``, ``guardrails.core.dependency``), and fails closed only when the dependencies do not settle it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import (
    MISSING,
    Check,
    Meta,
    StackRule,
    at_least,
    check,
    dependencies,
    dependency,
    equals,
    get,
    is_true,
    plain_all,
    present,
    region_of,
)

Finding = tuple[str, str | None]

GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
MSK_CLUSTER = "aws:msk/cluster:Cluster"
MSK_CONFIGURATION = "aws:msk/configuration:Configuration"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
CACHE_USER = "aws:elasticache/user:User"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"

APPROVED_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1")
REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")
CONNECTION_RESERVE = 0.15

_REGIONS_SCHEMA = {"approvedRegions": {"type": "array", "items": {"type": "string"},
                                       "description": "the AWS regions the platform may run in"}}

# Aurora PostgreSQL max_connections = LEAST(DBInstanceClassMemory/9531392, 5000), per instance size of the
# Graviton memory-optimised families. Source: AWS Aurora User Guide, "Maximum connections to an Aurora
# PostgreSQL DB instance" (the table of default max_connections per instance class), read 2026-11.
_MAX_CONNECTIONS_FAMILIES = ("r6g", "r7g", "r8g")
_MAX_CONNECTIONS_BY_SIZE = {"large": 1722, "xlarge": 3479}
_MAX_CONNECTIONS_CAP = 5000  # 2xlarge and larger reach the cap

# Instance sizes in capacity order (EC2 naming, shared by db., cache. and kafka. classes).
_SIZES = ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge",
          "16xlarge", "24xlarge", "32xlarge", "48xlarge")

# Pinned us-east-1 on-demand prices, USD per hour, from the AWS pricing pages (RDS for Aurora PostgreSQL,
# ElastiCache for Valkey, MSK, EC2 Linux, VPC NAT gateway, EKS), read 2026-11. Every region is priced at
# us-east-1 rates: the total is an estimate for a budget guard, not a bill.
HOURS_PER_MONTH = 730
PRICES_PER_HOUR = {
    "db.r7g.large": 0.276, "db.r7g.xlarge": 0.553, "db.r7g.2xlarge": 1.106, "db.r7g.4xlarge": 2.211,
    "cache.r7g.large": 0.1752, "cache.r7g.xlarge": 0.3496,  # Valkey node prices
    "cache.t4g.small": 0.032,  # estimated (Valkey discount applied to the Redis OSS price)
    "kafka.m7g.large": 0.204, "kafka.m7g.xlarge": 0.408, "kafka.m7g.2xlarge": 0.816,
    "m7g.large": 0.0816, "m7g.xlarge": 0.1632, "m7g.2xlarge": 0.3264,
    "m8g.large": 0.0816, "m8g.xlarge": 0.1632, "m8g.2xlarge": 0.3264,  # estimated: priced as m7g
    "c7g.large": 0.0725, "c7g.xlarge": 0.145,
    "nat-gateway": 0.045,
    "eks-control-plane": 0.10,
    "eks-extended-support": 0.50,  # surcharge per cluster-hour when upgradePolicy.supportType is EXTENDED
}
MSK_STORAGE_PER_GB_MONTH = 0.10


# ----------------------------------------------------------------------------------------------- reading


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


class _Reader:
    """Reads props; an unknown value becomes UNKNOWN and, for a mandatory rule, one fail-closed finding."""

    def __init__(self, mandatory: bool = True) -> None:
        self.mandatory = mandatory
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str]] = set()

    def unknown(self, resource: Any, path: str) -> Any:
        if self.mandatory and (resource.urn, path) not in self._seen:
            self._seen.add((resource.urn, path))
            self.findings.append((f"{resource.name}: {path} is unknown during preview; failing closed", resource.urn))
        return UNKNOWN

    def peek(self, resource: Any, path: str) -> Any:
        """Like reading, but an unknown value is not a finding (the caller fails closed later if it matters)."""
        try:
            return get(resource.props, path)
        except UnknownValueError:
            return UNKNOWN

    def __call__(self, resource: Any, path: str) -> Any:
        try:
            return get(resource.props, path)
        except UnknownValueError:
            return self.unknown(resource, path)

    def items(self, resource: Any, path: str) -> list[Any]:
        """The elements of a list prop as [value], [] when absent; an unknown list or element is recorded."""
        value = self(resource, path)
        if value is MISSING or value is UNKNOWN or isinstance(value, str) or not isinstance(value, Sequence):
            return []
        return [self(resource, f"{path}.{i}") for i in range(len(value))]

    def region(self, resource: Any) -> Any:
        try:
            return region_of(resource)
        except UnknownValueError:
            return self.unknown(resource, "region")

    def check(self, resource: Any, chk: Check) -> list[Finding]:
        try:
            failure = chk.failure(resource.props)
        except UnknownValueError:
            self.unknown(resource, chk.path)
            return []
        return [(f"{resource.name}: {failure}", resource.urn)] if failure else []


def _of(resources: Iterable[Any], *types: str) -> list[Any]:
    return [r for r in resources if r.resource_type in types]


def _known(*values: Any) -> bool:
    return all(v is not MISSING and v is not UNKNOWN for v in values)


def _approved(config: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(config.get("approvedRegions") or APPROVED_REGIONS)


def _prod(config: Mapping[str, Any]) -> bool:
    return str(config.get("environment") or "") == "prod"


def _size(instance_class: Any) -> int | None:
    """The capacity rank of an instance class's size (db.r7g.2xlarge -> rank of 2xlarge), None if unknown."""
    if not isinstance(instance_class, str):
        return None
    size = instance_class.rsplit(".", 1)[-1]
    return _SIZES.index(size) if size in _SIZES else None


def _differ(label: str, values: Sequence[tuple[Any, Any]]) -> list[Finding]:
    """One finding when the known values of (resource, value) pairs are not all equal."""
    known = [(r, v) for r, v in values if _known(v)]
    if len({json.dumps(v, sort_keys=True, default=str) for _, v in known}) <= 1:
        return []
    shown = ", ".join(f"{r.name} {v!r} ({_where(r)})" for r, v in known)
    return [(f"{label} differs across regions: {shown}", None)]


def _where(resource: Any) -> str:
    try:
        return str(region_of(resource))
    except UnknownValueError:
        return "unknown region"


def _k8s_region(resource: Any, read: _Reader) -> Any:
    """A Kubernetes resource's AWS region: its provider's region, else the region in its kubeconfig."""
    region = read.region(resource)
    if region is not None:
        return region
    provider = getattr(resource, "provider", None)
    if provider is None:
        return None
    kubeconfig = get(provider.props, "kubeconfig")
    if isinstance(kubeconfig, str):
        found = re.search(r"--region\W+([a-z]{2}(?:-[a-z]+)+-\d)", kubeconfig) \
            or re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.eks\.amazonaws\.com", kubeconfig)
        if found:
            return found.group(1)
    return f"<cluster of {provider.name}>"


def _k8s_name(resource: Any, read: _Reader) -> Any:
    return read(resource, "metadata.name")


# -------------------------------------------------------------------------------------- P1 connections


def _max_connections(instance_class: Any) -> int | None:
    if not isinstance(instance_class, str):
        return None
    parts = instance_class.split(".")
    if len(parts) != 3 or parts[0] != "db" or parts[1] not in _MAX_CONNECTIONS_FAMILIES:
        return None
    size = _size(instance_class)
    if size is None or size < _SIZES.index("large"):
        return None
    return _MAX_CONNECTIONS_BY_SIZE.get(parts[2], _MAX_CONNECTIONS_CAP)


def _parse_pgbouncer_ini(text: str) -> tuple[list[tuple[str, dict[str, str]]], dict[str, str]]:
    """([(database, {host: .., pool_size: ..})], {pgbouncer setting: value}) of a pgbouncer.ini."""
    databases: list[tuple[str, dict[str, str]]] = []
    settings: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            continue
        name, _, value = line.partition("=")
        if section == "databases":
            params = dict(p.split("=", 1) for p in value.split() if "=" in p)
            databases.append((name.strip(), params))
        elif section == "pgbouncer":
            settings[name.strip()] = value.strip()
    return databases, settings


def _parameter(read: _Reader, group: Any, name: str) -> Any:
    for param in read.items(group, "parameters"):
        if isinstance(param, Mapping) and param.get("name") == name:
            return param.get("value", MISSING)
    return MISSING


def _instance_limit(read: _Reader, instance: Any, cluster_override: Any,
                    instance_groups: Mapping[str, Any]) -> tuple[int | None, str]:
    """(max_connections, how it was found) of one instance; None when it cannot be determined."""
    instance_class = read(instance, "instanceClass")
    if instance_class is UNKNOWN:
        return None, ""  # already a fail-closed finding
    override = cluster_override
    group_name = read(instance, "dbParameterGroupName")
    if isinstance(group_name, str) and group_name in instance_groups:
        own = _parameter(read, instance_groups[group_name], "max_connections")
        override = own if own is not MISSING else override
    if override is not MISSING:
        if isinstance(override, str) and override.strip().isdigit():
            return int(override), f"{instance_class} max_connections {int(override)} (parameter group)"
        return None, f"max_connections parameter {override!r} of {instance.name}"
    limit = _max_connections(instance_class)
    return limit, f"{instance_class} max_connections {limit}" if limit else f"instance class {instance_class!r}"


def _connection_budget(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = _Reader()
    found: list[Finding] = []
    reserve = float(config.get("connectionReserveFraction", CONNECTION_RESERVE))
    clusters = _of(resources, CLUSTER)
    instances = _of(resources, INSTANCE)
    cluster_groups = {g: r for r in _of(resources, CLUSTER_PARAMETER_GROUP) if isinstance(g := read(r, "name"), str)}
    instance_groups = {g: r for r in _of(resources, PARAMETER_GROUP) if isinstance(g := read(r, "name"), str)}

    # Endpoints are outputs: one unknown during preview only matters when PgBouncer targets it, and then the
    # pgbouncer.ini that embeds it is unknown too. So the index peeks, and the budget reads what it uses.
    targets: dict[str, tuple[str, Any]] = {}
    for cluster in clusters:
        for path in ("endpoint", "readerEndpoint"):
            if isinstance(host := read.peek(cluster, path), str):
                targets[host] = ("cluster", cluster)
    for instance in instances:
        if isinstance(host := read.peek(instance, "endpoint"), str):
            targets[host] = ("instance", instance)

    def bound(kind: str, subject: Any) -> tuple[str, list[Any], Any]:
        """(description, instances whose smallest limit bounds the host, cluster-level max_connections)."""
        ident = read(subject, "clusterIdentifier")
        cluster = subject if kind == "cluster" else next(
            (c for c in clusters if _known(ident) and read(c, "clusterIdentifier") == ident), None)
        group = cluster_groups.get(read(cluster, "dbClusterParameterGroupName")) if cluster is not None else None
        override = _parameter(read, group, "max_connections") if group is not None else MISSING
        if kind == "instance":
            return f"instance {subject.name}", [subject], override
        members = [i for i in instances if _known(ident) and read(i, "clusterIdentifier") == ident]
        return f"cluster {subject.name}", members, override

    replicas: dict[Any, list[tuple[Any, Any]]] = defaultdict(list)
    for hpa in _of(resources, HPA):
        if "pgbouncer" in (_k8s_name(hpa, read), read(hpa, "spec.scaleTargetRef.name")):
            replicas[_k8s_region(hpa, read)].append((hpa, read(hpa, "spec.maxReplicas")))

    # host -> [(config map name, database, connections)]
    load: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for cm in _of(resources, CONFIG_MAP):
        if _k8s_name(cm, read) != "pgbouncer-config":
            continue
        text = _data_entry(read, cm, "pgbouncer.ini")
        if not isinstance(text, str):
            if text is MISSING:
                found.append((f"{cm.name}: data[\"pgbouncer.ini\"] is not set; the connection budget cannot be "
                              "verified", cm.urn))
            continue
        region = _k8s_region(cm, read)
        scalers = replicas.get(region, [])
        if not scalers:
            found.append((f"{cm.name}: no PgBouncer HorizontalPodAutoscaler in {region}; spec.maxReplicas bounds "
                          "the server connections and is missing", cm.urn))
            continue
        counts = [n for _, n in scalers]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts):
            for hpa, n in scalers:
                if n is MISSING:
                    found.append((f"{hpa.name}: spec.maxReplicas is not set; the connection budget needs it",
                                  hpa.urn))
            continue
        max_replicas = max(counts)
        databases, settings = _parse_pgbouncer_ini(text)
        default_pool = settings.get("default_pool_size", "20")  # PgBouncer's documented default is 20
        default_reserve = settings.get("reserve_pool_size", "0")
        for database, params in databases:
            host = params.get("host")
            pool = params.get("pool_size", default_pool)
            extra = params.get("reserve_pool_size", params.get("reserve_pool", default_reserve))
            if not host:
                found.append((f"{cm.name}: pgbouncer.ini database {database} has no host; it cannot be mapped to "
                              "an Aurora cluster", cm.urn))
                continue
            if not (pool.isdigit() and extra.isdigit()):
                found.append((f"{cm.name}: pgbouncer.ini database {database} pool_size {pool!r} is not a number",
                              cm.urn))
                continue
            load[host].append((cm.name, database, (int(pool) + int(extra)) * max_replicas))

    for host, parts in load.items():
        sources = ", ".join(sorted({p[0] for p in parts}))
        databases_text = ", ".join(p[1] for p in parts)
        total = sum(p[2] for p in parts)
        urn = next(cm.urn for cm in _of(resources, CONFIG_MAP) if cm.name == parts[0][0])
        if host not in targets:
            found.append((f"{sources}: pgbouncer.ini host {host} (databases {databases_text}) is no Aurora "
                          "endpoint in the stack; its connection budget cannot be verified", urn))
            continue
        what, members, override = bound(*targets[host])
        if not members:
            found.append((f"{sources}: pgbouncer.ini host {host} is {what}, which has no instances; its "
                          "connection budget cannot be verified", urn))
            continue
        limits = [_instance_limit(read, i, override, instance_groups) for i in members]
        unknown = [how for limit, how in limits if limit is None]
        if unknown and not all(unknown):
            continue  # an instance class unknown during preview: already reported
        if unknown:
            found.append((f"{sources}: pgbouncer.ini host {host} is {what}, whose {unknown[0]} has no known "
                          "max_connections; failing closed", urn))
            continue
        limit, how = min(limits, key=lambda pair: pair[0] or 0)
        assert limit is not None
        allowed = int(limit * (1 - reserve))
        if total > allowed:
            found.append((f"{sources}: pool_size x HPA maxReplicas toward {host} ({what}; databases "
                          f"{databases_text}) is {total} server connections, over the {allowed} that {how} "
                          f"leaves after the {reserve:.0%} connectionReserveFraction", urn))
    return read.findings + found


def _data_entry(read: _Reader, cm: Any, key: str) -> Any:
    """A ConfigMap's data[key]: the text, MISSING, or UNKNOWN (recorded)."""
    data = read(cm, "data")
    if data is UNKNOWN or not isinstance(data, Mapping):
        return data if data is UNKNOWN else MISSING
    try:
        value = data.get(key, MISSING)
    except UnknownValueError:
        return read.unknown(cm, f'data["{key}"]')
    return value if isinstance(value, str) else MISSING


# --------------------------------------------------------------------------------------- P2 shard map


def _shard_coverage(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = _Reader()
    found: list[Finding] = []
    totals: list[tuple[Any, int]] = []
    for cm in _of(resources, CONFIG_MAP):
        if _k8s_name(cm, read) != "shard-map":
            continue
        text = _data_entry(read, cm, "shard-map.json")
        if text is UNKNOWN:
            continue
        if not isinstance(text, str):
            found.append((f"{cm.name}: data[\"shard-map.json\"] is not set; shard coverage cannot be verified",
                          cm.urn))
            continue
        try:
            doc = json.loads(text)
        except ValueError as exc:
            found.append((f"{cm.name}: shard-map.json is not valid JSON ({exc})", cm.urn))
            continue
        n = doc.get("logicalShards") if isinstance(doc, dict) else None
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            found.append((f"{cm.name}: shard-map.json logicalShards must be a positive integer (got {n!r})", cm.urn))
            continue
        totals.append((cm, n))
        found.extend((f"{cm.name}: shard-map.json {problem}", cm.urn) for problem in _tiling(doc.get("groups"), n))
    if len({n for _, n in totals}) > 1:
        shown = ", ".join(f"{cm.name} {n}" for cm, n in totals)
        found.append((f"shard maps disagree on logicalShards: {shown}", None))
    return read.findings + found


def _tiling(groups: Any, n: int) -> list[str]:
    """What keeps groups [{id, start, end}] from tiling [0, n) exactly once."""
    if not isinstance(groups, list) or not groups:
        return [f"has no groups; logical shards [0, {n}) are unallocated"]
    problems: list[str] = []
    spans: list[tuple[int, int, Any]] = []
    for g in groups:
        gid, start, end = (g.get("id"), g.get("start"), g.get("end")) if isinstance(g, dict) else (None, None, None)
        if isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool) \
                and not isinstance(end, bool) and start < end:
            spans.append((start, end, gid))
        else:
            problems.append(f"group {gid} has no valid range (start {start!r}, end {end!r})")
    cursor, last = 0, None
    for start, end, gid in sorted(spans, key=lambda s: (s[0], s[1])):
        if start > cursor:
            problems.append(f"leaves logical shards [{cursor}, {start}) unallocated (before group {gid})")
        elif start < cursor:
            if last is None:
                problems.append(f"group {gid} allocates logical shards [{start}, {min(cursor, end)}) below 0")
            else:
                problems.append(f"groups {last} and {gid} both allocate logical shards [{start}, {min(cursor, end)})")
        if end > cursor:
            cursor, last = end, gid
    if cursor < n:
        problems.append(f"leaves logical shards [{cursor}, {n}) unallocated (after group {last})")
    elif cursor > n:
        problems.append(f"group {last} ends at {cursor}, past logicalShards {n}")
    return problems


# ------------------------------------------------------------------------ P3, P4, P9: global clusters


def _resolved(read: _Reader, resource: Any, path: str, source_type: str, source_path: str) -> Any:
    """The value at path; when it is unknown (a computed output during preview), source_path of the one
    source_type resource the engine says it came from (a member's globalClusterIdentifier -> its
    GlobalCluster's globalClusterIdentifier input, an instance's clusterIdentifier -> its cluster's). Fails
    closed (UNKNOWN, recorded) when the dependencies do not settle it or the source's value is unknown too.
    """
    value = read.peek(resource, path)
    if value is not UNKNOWN:
        return value
    source = dependency(resource, path, source_type)
    own = read.peek(source, source_path) if source is not None else UNKNOWN
    return own if _known(own) else read.unknown(resource, path)


def _global_id(read: _Reader, cluster: Any) -> Any:
    return _resolved(read, cluster, "globalClusterIdentifier", GLOBAL_CLUSTER, "globalClusterIdentifier")


def _global_members(read: _Reader, resources: Sequence[Any]) -> list[tuple[Any, Any, list[Any]]]:
    """[(global cluster, its globalClusterIdentifier, member clusters)]."""
    clusters = _of(resources, CLUSTER)
    result = []
    for gc in _of(resources, GLOBAL_CLUSTER):
        gid = read(gc, "globalClusterIdentifier")
        members = [c for c in clusters if _known(gid) and _global_id(read, c) == gid]
        result.append((gc, gid, members))
    return result


def _is_primary(read: _Reader, cluster: Any) -> bool | None:
    value = read(cluster, "masterUsername")
    return None if value is UNKNOWN else value is not MISSING and value != ""


def _topology(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P3. A primary's globalClusterIdentifier is the GlobalCluster's output, unknown at the stack's first
    preview: the member then belongs to the one GlobalCluster it depends on (``_global_id``); P4 and P14 group
    members the same way, and P4 maps unknown instance clusterIdentifiers to their cluster likewise."""
    read = _Reader()
    found: list[Finding] = []
    approved = _approved(config)
    globals_ = _global_members(read, resources)
    known_ids = {gid for _, gid, _ in globals_}
    for cluster in _of(resources, CLUSTER):
        gid = _global_id(read, cluster)
        if isinstance(gid, str) and gid and gid not in known_ids:
            found.append((f"{cluster.name}: globalClusterIdentifier {gid} names no GlobalCluster in the stack",
                          cluster.urn))
    for gc, gid, members in globals_:
        if not _known(gid):
            continue
        region = read.region(gc)
        if region is UNKNOWN:
            continue
        if region is None:
            found.append((f"{gc.name}: global cluster {gid} has no determinable region", gc.urn))
        elif region not in approved:
            found.append((f"{gc.name}: global cluster {gid} is in {region}, not an approved region "
                          f"({', '.join(approved)})", gc.urn))
        if not members:
            found.append((f"{gc.name}: global cluster {gid} has no member clusters", gc.urn))
            continue
        roles = {m.urn: _is_primary(read, m) for m in members}
        if None in roles.values():
            continue
        primaries = [m for m in members if roles[m.urn]]
        if not primaries:
            found.append((f"{gc.name}: global cluster {gid} has no primary (no member sets masterUsername)", gc.urn))
        elif len(primaries) > 1:
            found.append((f"{gc.name}: global cluster {gid} has {len(primaries)} primaries "
                          f"({', '.join(p.name for p in primaries)}); exactly one member may set masterUsername",
                          gc.urn))
        primary_region = read.region(primaries[0]) if len(primaries) == 1 else None
        if len(primaries) == 1 and primary_region != region and _known(primary_region) and region is not None:
            found.append((f"{primaries[0].name}: primary of {gid} is in {primary_region}, not the global "
                          f"cluster's region {region}", primaries[0].urn))
        seen: dict[Any, Any] = {}
        for member in members:
            member_region = read.region(member)
            if member_region is UNKNOWN:
                continue
            if member_region is None:
                found.append((f"{member.name}: member of {gid} has no determinable region", member.urn))
                continue
            if member_region not in approved:
                found.append((f"{member.name}: member of {gid} is in {member_region}, not an approved region "
                              f"({', '.join(approved)})", member.urn))
            if not roles[member.urn]:
                if member_region == primary_region:
                    found.append((f"{member.name}: secondary of {gid} is in the primary's region {member_region}",
                                  member.urn))
                elif member_region in seen:
                    found.append((f"{member.name}: secondary of {gid} is in {member_region}, like "
                                  f"{seen[member_region].name}; secondaries need distinct regions", member.urn))
                seen.setdefault(member_region, member)
            for path in ("engine", "engineVersion"):
                want, got = read(gc, path), read(member, path)
                if not _known(want) or got is UNKNOWN:
                    continue
                if got is MISSING:
                    found.append((f"{member.name}: {path} is not set; it must equal global cluster {gid}'s "
                                  f"{want!r}", member.urn))
                elif got != want:
                    found.append((f"{member.name}: {path} must equal global cluster {gid}'s {want!r} (got {got!r})",
                                  member.urn))
    return read.findings + found


def _workloads_groups(read: _Reader, resources: Sequence[Any]) -> dict[Any, Any]:
    groups = {}
    for ng in _of(resources, NODE_GROUP):
        name = read(ng, "nodeGroupName")
        if str(name if isinstance(name, str) else ng.name).endswith("-workloads"):
            groups[read.region(ng)] = ng
    return groups


def _promotion_headroom(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = _Reader()
    found: list[Finding] = []
    instances = _of(resources, INSTANCE)

    def classes(cluster: Any) -> list[tuple[Any, Any]]:
        ident = read(cluster, "clusterIdentifier")
        return [(i, read(i, "instanceClass")) for i in instances if _known(ident)
                and _resolved(read, i, "clusterIdentifier", CLUSTER, "clusterIdentifier") == ident]

    region_pairs: dict[tuple[Any, Any], list[str]] = defaultdict(list)
    for _gc, gid, members in _global_members(read, resources):
        roles = {m.urn: _is_primary(read, m) for m in members}
        primaries = [m for m in members if roles[m.urn]]
        if len(primaries) != 1 or None in roles.values():
            continue  # P3 reports the topology
        primary = primaries[0]
        primary_classes = classes(primary)
        unranked = [(i, c) for i, c in primary_classes if c is not UNKNOWN and _size(c) is None]
        for inst, cls in unranked:
            found.append((f"{inst.name}: instanceClass {cls!r} has no known size; promotion headroom cannot be "
                          "verified", inst.urn))
        ranked = [(i, c) for i, c in primary_classes if _size(c) is not None]
        if unranked or not ranked:
            if not primary_classes:
                found.append((f"{primary.name}: primary of {gid} has no instances", primary.urn))
            continue
        writer = max((c for _, c in ranked), key=lambda c: _size(c) or 0)
        for secondary in members:
            if roles[secondary.urn]:
                continue
            region_pairs[(read.region(primary), read.region(secondary))].append(gid)
            own = [c for _, c in classes(secondary)]
            if any(c is UNKNOWN for c in own):
                continue
            if not own:
                found.append((f"{secondary.name}: secondary of {gid} has no instances; it needs one of at least the "
                              f"primary writer's class {writer}", secondary.urn))
            elif not any((_size(c) or -1) >= (_size(writer) or 0) for c in own):
                found.append((f"{secondary.name}: no instance of this secondary of {gid} is at least the primary "
                              f"writer's class {writer} (instanceClass {', '.join(map(str, own))})", secondary.urn))

    workloads = _workloads_groups(read, resources)
    for (primary_region, secondary_region), gids in region_pairs.items():
        if not _known(primary_region, secondary_region) or primary_region == secondary_region:
            continue
        source, target = workloads.get(primary_region), workloads.get(secondary_region)
        if source is None or target is None:
            missing = primary_region if source is None else secondary_region
            found.append((f"{missing}: has no *-workloads node group; Aurora secondaries in {secondary_region} of "
                          f"primaries in {primary_region} need one on each side", None))
            continue
        desired, maximum = read(source, "scalingConfig.desiredSize"), read(target, "scalingConfig.maxSize")
        if UNKNOWN in (desired, maximum):
            continue
        if not isinstance(maximum, int) or not isinstance(desired, int) or maximum < desired:
            found.append((f"{target.name}: scalingConfig.maxSize {maximum!r} is below the desiredSize {desired!r} "
                          f"of {source.name}; {secondary_region} hosts secondaries of {len(gids)} global "
                          f"cluster(s) whose primary is in {primary_region}", target.urn))
    return read.findings + found


def _replacement_guard(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    if not _prod(config):
        return []
    read = _Reader()
    found: list[Finding] = []
    needed = ("globalClusterIdentifier", "replicationSourceIdentifier")
    for cluster in _of(resources, CLUSTER):
        gid = _global_id(read, cluster)  # at a first preview, from the one GlobalCluster it joins
        if not _known(gid) or gid == "":
            continue
        ignored = list(getattr(cluster.opts, "ignore_changes", None) or [])
        missing = [p for p in needed if p not in ignored]
        if missing:
            found.append((f"{cluster.name}: opts.ignore_changes lacks {', '.join(missing)}; a member of global "
                          f"cluster {gid} must ignore {' and '.join(needed)} (got {ignored!r})", cluster.urn))
    return read.findings + found


# ---------------------------------------------------------------------------------------------- P5 KMS

_KEY_PROPS = ("kmsKeyId", "kmsKeyArn", "encryptionAtRestKmsKeyArn", "performanceInsightsKmsKeyId", "keyArn",
              "targetKeyArn", "masterUserSecretKmsKeyId")


def _key_refs(read: _Reader, resource: Any, node: Any, path: str, region: Any) -> list[tuple[str, Any, Any]]:
    """(path, key ARN or the kms Key it comes from, region it must be in) for every KMS key reference under node.

    A reference unknown during preview (the ARN of a key the stack creates) is the one kms Key the engine's
    property dependencies name for its top-level input; with none, or several, it fails closed.
    """
    refs: list[tuple[str, Any, Any]] = []
    if isinstance(node, Mapping):
        try:
            own = node.get("region")
        except UnknownValueError:
            own = read.unknown(resource, f"{path}region")
        region = own if isinstance(own, str) or own is UNKNOWN else region
        for key in list(iter(node)):
            try:
                value = node[key]
            except UnknownValueError:
                if key in _KEY_PROPS:
                    source = dependency(resource, f"{path}{key}", KMS_KEY)
                    if source is None:
                        read.unknown(resource, f"{path}{key}")
                    else:
                        refs.append((f"{path}{key}", source, region))
                continue
            if key in _KEY_PROPS and isinstance(value, str):
                refs.append((f"{path}{key}", value, region))
            else:
                refs.extend(_key_refs(read, resource, value, f"{path}{key}.", region))
    elif isinstance(node, Sequence) and not isinstance(node, str):
        for i in range(len(node)):
            try:
                value = node[i]
            except UnknownValueError:
                continue
            refs.extend(_key_refs(read, resource, value, f"{path}{i}.", region))
    return refs


def _kms_regions(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P5. A key ARN unknown at the first preview is checked as the region of the kms Key it comes from."""
    read = _Reader()
    found: list[Finding] = []
    for resource in resources:
        if not resource.resource_type.startswith("aws:"):
            continue
        region = read.region(resource)
        for path, arn, want in _key_refs(read, resource, resource.props, "", region):
            if not isinstance(arn, str):  # the kms Key an unknown reference comes from
                if want is UNKNOWN:
                    continue
                key_region = read.region(arn)
                whose = "the replica's" if path.startswith("replicas.") else "the resource's"
                if want is None or key_region is None:
                    found.append((f"{resource.name}: {path} (key {arn.name}) cannot be checked: "
                                  f"{'the resource' if want is None else 'the key'} has no determinable region",
                                  resource.urn))
                elif key_region is not UNKNOWN and key_region != want:
                    found.append((f"{resource.name}: {path} comes from key {arn.name} in {key_region}, not "
                                  f"{whose} region {want}", resource.urn))
                continue
            parts = arn.split(":")
            if not arn.startswith("arn:") or len(parts) < 6 or parts[2] != "kms" or want is UNKNOWN:
                continue
            if want is None:
                found.append((f"{resource.name}: {path} {arn} cannot be checked: the resource has no determinable "
                              "region", resource.urn))
            elif parts[3] != want:
                whose = "the replica's" if path.startswith("replicas.") else "the resource's"
                found.append((f"{resource.name}: {path} {arn} is a key in {parts[3] or 'no region'}, not "
                              f"{whose} region {want}", resource.urn))
    return read.findings + found


# ---------------------------------------------------------------------------------------------- P6 MSK


def _server_properties(text: str) -> dict[str, str]:
    props = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


def _client_subnets(read: _Reader, cluster: Any, zones: Mapping[str, Any]) -> tuple[list[Any] | None, list[Any]]:
    """(clientSubnets as read, or None when unsettled; the zone of each that resolves to a subnet of the stack).

    During the first preview the subnet ids are unknown; when the Subnets the engine names for
    brokerNodeGroupInfo are exactly as many as the unknown ids, they are those subnets (their zones are
    inputs). Otherwise an unknown id fails closed.
    """
    path = "brokerNodeGroupInfo.clientSubnets"
    info = read(cluster, "brokerNodeGroupInfo")
    try:
        value = info.get("clientSubnets") if isinstance(info, Mapping) else info  # the list, not its elements
    except UnknownValueError:
        value = read.unknown(cluster, path)
    if value is None or value is MISSING or value is UNKNOWN or isinstance(value, str) \
            or not isinstance(value, Sequence):
        return [], []
    subnets = [read.peek(cluster, f"{path}.{i}") for i in range(len(value))]
    azs = [zones[s] for s in subnets if isinstance(s, str) and s in zones and isinstance(zones[s], str)]
    unknown = [i for i, s in enumerate(subnets) if s is UNKNOWN]
    if not unknown:
        return subnets, azs
    sources = dependencies(cluster, path, SUBNET)
    if len(sources) != len(unknown):
        read.unknown(cluster, path)
        return None, []
    for subnet in sources:
        zone = read(subnet, "availabilityZoneId")
        if isinstance(zone, str):
            azs.append(zone)
    return subnets, azs


def _msk_layout(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P6. At the first preview subnet ids and the configuration ARN are unknown: the zones are those of the
    Subnets brokerNodeGroupInfo depends on, the settings those of the msk Configuration configurationInfo does."""
    read = _Reader()
    found: list[Finding] = []
    configurations = {arn: c for c in _of(resources, MSK_CONFIGURATION)
                      if isinstance(arn := read.peek(c, "arn"), str)}
    zones = {sid: read.peek(s, "availabilityZoneId") for s in _of(resources, SUBNET)
             if isinstance(sid := read.peek(s, "id"), str)}
    for cluster in _of(resources, MSK_CLUSTER):
        brokers = read(cluster, "numberOfBrokerNodes")
        subnets, azs = _client_subnets(read, cluster, zones)
        if brokers is MISSING:
            found.append((f"{cluster.name}: numberOfBrokerNodes is not set", cluster.urn))
        if not subnets and read(cluster, "brokerNodeGroupInfo.clientSubnets") is MISSING:
            found.append((f"{cluster.name}: brokerNodeGroupInfo.clientSubnets is not set", cluster.urn))
        elif subnets:
            if isinstance(brokers, int) and brokers % len(subnets):
                found.append((f"{cluster.name}: numberOfBrokerNodes {brokers} is not a multiple of the "
                              f"{len(subnets)} brokerNodeGroupInfo.clientSubnets", cluster.urn))
            if _prod(config) and len(subnets) < 3:
                found.append((f"{cluster.name}: brokerNodeGroupInfo.clientSubnets has {len(subnets)} subnets; prod "
                              "needs at least 3", cluster.urn))
            if len(set(azs)) < len(azs):
                found.append((f"{cluster.name}: brokerNodeGroupInfo.clientSubnets share availability zones "
                              f"({', '.join(azs)}); each must be in its own zone", cluster.urn))
        arn = read.peek(cluster, "configurationInfo.arn")
        if arn is MISSING:
            found.append((f"{cluster.name}: configurationInfo.arn is not set; default.replication.factor and "
                          "min.insync.replicas cannot be verified", cluster.urn))
            continue
        # Unknown during the first preview: the configuration the engine says it comes from.
        configuration = configurations.get(arn) if arn is not UNKNOWN \
            else dependency(cluster, "configurationInfo", MSK_CONFIGURATION)
        if arn is UNKNOWN and configuration is None:
            read.unknown(cluster, "configurationInfo.arn")
            continue
        if configuration is None:
            found.append((f"{cluster.name}: configurationInfo.arn {arn} names no msk Configuration in the stack",
                          cluster.urn))
            continue
        text = read(configuration, "serverProperties")
        if text is UNKNOWN:
            continue
        props = _server_properties(text if isinstance(text, str) else "")
        values: dict[str, int] = {}
        for key in ("default.replication.factor", "min.insync.replicas"):
            raw = props.get(key)
            if raw is None or not raw.isdigit():
                found.append((f"{configuration.name}: serverProperties {key} must be set to a number (got {raw!r})",
                              configuration.urn))
            else:
                values[key] = int(raw)
        rf, isr = values.get("default.replication.factor"), values.get("min.insync.replicas")
        if rf is not None and isinstance(brokers, int) and rf > brokers:
            found.append((f"{configuration.name}: serverProperties default.replication.factor {rf} exceeds the "
                          f"{brokers} brokers of {cluster.name}", configuration.urn))
        if rf is not None and isr is not None and isr >= rf:
            found.append((f"{configuration.name}: serverProperties min.insync.replicas {isr} must be below "
                          f"default.replication.factor {rf}", configuration.urn))
    return read.findings + found


# -------------------------------------------------------------------------------------------- P7 Redis

_RG_CHECKS = (
    check("numNodeGroups", **at_least(1, 0)),
    check("automaticFailoverEnabled", **is_true()),
    check("multiAzEnabled", **is_true()),
)
_RG_PROD_CHECKS = (check("replicasPerNodeGroup", **at_least(1, 0)),)


def _redis_sizing(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = _Reader()
    found: list[Finding] = []
    groups = _of(resources, REPLICATION_GROUP)
    for rg in groups:
        for chk in _RG_CHECKS + (_RG_PROD_CHECKS if _prod(config) else ()):
            found.extend(read.check(rg, chk))
    for path in ("nodeType", "engineVersion"):
        found.extend(_differ(f"elasticache ReplicationGroup {path}", [(rg, read(rg, path)) for rg in groups]))
    return read.findings + found


# ------------------------------------------------------------------------------------ P8 protection

_PROTECTED = (GLOBAL_CLUSTER, CLUSTER, INSTANCE, MSK_CLUSTER, REPLICATION_GROUP, EKS_CLUSTER, KMS_KEY, SECRET)
_PROTECTION_CHECKS: dict[str, tuple[Check, ...]] = {
    GLOBAL_CLUSTER: (check("deletionProtection", **is_true()),),
    CLUSTER: (check("deletionProtection", **is_true()),
              check("skipFinalSnapshot", test=lambda v: v is False, expect="must be false", wrong=True,
                    missing_ok=True),
              check("finalSnapshotIdentifier", **present())),
    EKS_CLUSTER: (check("deletionProtection", **is_true()),),
    REPLICATION_GROUP: (check("finalSnapshotIdentifier", **present()),),
    KMS_KEY: (check("deletionWindowInDays", **equals(30, 7), missing_ok=True),),
    SECRET: (check("recoveryWindowInDays", **at_least(7, 0), missing_ok=True),),
    LOAD_BALANCER: (check("enableDeletionProtection", **is_true()),),
}


def _prod_protection(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    if not _prod(config):
        return []
    read = _Reader()
    found: list[Finding] = []
    for resource in resources:
        if resource.resource_type in _PROTECTED and not resource.opts.protect:
            found.append((f"{resource.name}: opts.protect must be true (got {resource.opts.protect!r})",
                          resource.urn))
        for chk in _PROTECTION_CHECKS.get(resource.resource_type, ()):
            found.extend(read.check(resource, chk))
    return read.findings + found


# ---------------------------------------------------------------------------------------------- P10 cost


def monthly_cost(resources: Sequence[Any]) -> tuple[float, dict[str, float], list[Finding]]:
    """(estimated USD per month, per-tier totals, unpriced SKUs) of the stack at the pinned prices."""
    read = _Reader(mandatory=False)
    tiers: dict[str, float] = defaultdict(float)
    unpriced: list[Finding] = []

    def add(tier: str, resource: Any, sku: Any, path: str, units: Any) -> None:
        if not _known(sku, units) or not isinstance(units, int | float):
            return
        if sku not in PRICES_PER_HOUR:
            unpriced.append((f"{resource.name}: no pinned price for {sku} ({path}); the cost estimate cannot "
                             "include it", resource.urn))
            return
        tiers[tier] += PRICES_PER_HOUR[sku] * HOURS_PER_MONTH * units

    for r in _of(resources, INSTANCE):
        add("aurora", r, read(r, "instanceClass"), "instanceClass", 1)
    for r in _of(resources, REPLICATION_GROUP):
        shards, replicas = read(r, "numNodeGroups"), read(r, "replicasPerNodeGroup")
        nodes = shards * (1 + replicas) if isinstance(shards, int) and isinstance(replicas, int) \
            else read(r, "numCacheClusters")
        add("cache", r, read(r, "nodeType"), "nodeType", nodes)
    for r in _of(resources, MSK_CLUSTER):
        brokers = read(r, "numberOfBrokerNodes")
        add("kafka", r, read(r, "brokerNodeGroupInfo.instanceType"), "brokerNodeGroupInfo.instanceType", brokers)
        volume = read(r, "brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize")
        if isinstance(volume, int | float) and isinstance(brokers, int):
            tiers["kafka storage"] += volume * brokers * MSK_STORAGE_PER_GB_MONTH
    for r in _of(resources, NODE_GROUP):
        types = read.items(r, "instanceTypes")
        add("nodes", r, types[0] if types else "(instanceTypes not set)", "instanceTypes.0",
            read(r, "scalingConfig.maxSize"))
    for r in _of(resources, NAT_GATEWAY):
        add("nat", r, "nat-gateway", "NAT gateway", 1)
    for r in _of(resources, EKS_CLUSTER):
        add("eks", r, "eks-control-plane", "control plane", 1)
        if read(r, "upgradePolicy.supportType") == "EXTENDED":
            add("eks", r, "eks-extended-support", "upgradePolicy.supportType", 1)
    return round(sum(tiers.values()), 2), {k: round(v, 2) for k, v in tiers.items()}, unpriced


def _cost_ceiling(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    budget = config.get("monthlyBudgetUsd")
    if budget is None:
        return []
    total, tiers, unpriced = monthly_cost(resources)
    found = list(unpriced)
    if total > float(budget):
        breakdown = ", ".join(f"{tier} ${value:,.2f}" for tier, value in tiers.items())
        found.append((f"estimated monthly cost ${total:,.2f} exceeds monthlyBudgetUsd ${float(budget):,.2f} "
                      f"({breakdown}; us-east-1 on-demand prices x {HOURS_PER_MONTH} h)", None))
    return found


# ---------------------------------------------------------------------------------- P11 regions, P12 CIDRs

_ONE_PER_REGION = ((VPC, "ec2 Vpc"), (EKS_CLUSTER, "eks Cluster"), (MSK_CLUSTER, "msk Cluster"),
                   (REPLICATION_GROUP, "elasticache ReplicationGroup"))


def _region_symmetry(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = _Reader()
    found: list[Finding] = []
    approved = _approved(config)
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
            count = len(_of(members, resource_type))
            if count != 1:
                found.append((f"{region}: has {count} {label} resources; every region needs exactly 1", None))
        if not _of(members, CLUSTER):
            found.append((f"{region}: has no rds Cluster; every region needs at least 1", None))
    return read.findings + found


def _network(cidr: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr) if isinstance(cidr, str) else None
    except ValueError:
        return None


def _address_plan(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P12. At the first preview a subnet's vpcId is unknown: it is checked against the one Vpc it depends on."""
    read = _Reader()
    found: list[Finding] = []
    vpcs: list[tuple[Any, Any]] = []
    for vpc in _of(resources, VPC):
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
    for subnet in _of(resources, SUBNET):
        vpc_id, cidr = read.peek(subnet, "vpcId"), read(subnet, "cidrBlock")
        # During the first preview the VPC's id is unknown: the subnet is in the one Vpc its vpcId came from.
        source = dependency(subnet, "vpcId", VPC) if vpc_id is UNKNOWN else None
        if vpc_id is UNKNOWN and (source is None or source.urn not in by_urn):
            read.unknown(subnet, "vpcId")  # another stack's VPC, several, or one of unknown range: fail closed
            source = None
        if (not _known(vpc_id) and source is None) or cidr is UNKNOWN:
            if vpc_id is MISSING:
                found.append((f"{subnet.name}: vpcId is not set", subnet.urn))
            continue
        if source is None and vpc_id not in by_id:
            found.append((f"{subnet.name}: vpcId {vpc_id} names no ec2 Vpc in the stack; its range cannot be "
                          "verified", subnet.urn))
            continue
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
    if _prod(config):
        for vpc, _ in vpcs:
            count = len(zones.get(vpc.urn, set()))
            if count < 3:
                shown = ", ".join(sorted(zones.get(vpc.urn, set()))) or "none"
                found.append((f"{vpc.name}: subnets span {count} availability zones ({shown}); prod needs at "
                              "least 3", vpc.urn))
    return read.findings + found


# -------------------------------------------------------------------------------------- P13 tier matrix

_CIDR_SOURCES = ("cidrIpv4", "cidrIpv6", "prefixListId")
_INLINE_CIDRS = ("cidrBlocks", "ipv6CidrBlocks", "prefixListIds")


def _group_at(read: _Reader, resource: Any, path: str, groups: Mapping[str, Any], data: set[str]) -> Any:
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


def _tier_reachability(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """Ingress to data tiers. A group's id is unknown until the group exists: during the first preview a rule's
    securityGroupId and its source are read as the group the engine says each came from. An address source
    (CIDR, prefix list) on a data tier is a violation whatever its value, so an unknown one is reported as such.
    """
    read = _Reader()
    found: list[Finding] = []
    security_groups = _of(resources, SECURITY_GROUP)
    groups = {sid: sg for sg in security_groups if isinstance(sid := read.peek(sg, "id"), str)}
    data = {sg.urn for sg in security_groups if read(sg, "tags.tier") == "data"}

    def source_problem(target: Any, source: Any) -> str | None:
        if source is target:
            return None  # a group admitting itself (MSK brokers replicate among themselves)
        if isinstance(source, str):
            return f"references {source}, which is no security group in the stack; its tier cannot be verified"
        if source.urn in data:
            return f"admits data-tier group {source.name}; data tiers must not reach each other"
        return None

    for rule in _of(resources, INGRESS_RULE, SG_RULE):
        if rule.resource_type == SG_RULE and read(rule, "type") != "ingress":
            continue
        target = _group_at(read, rule, "securityGroupId", groups, data)
        if not _known(target) or isinstance(target, str) or target.urn not in data:
            continue
        where = f"ingress to data-tier group {target.name}"
        paths = _CIDR_SOURCES if rule.resource_type == INGRESS_RULE else ("cidrBlocks", "ipv6CidrBlocks",
                                                                          "prefixListIds")
        for path in paths:
            value = read.peek(rule, path)
            if value is UNKNOWN:
                found.append((f"{rule.name}: {where} via {path} (unknown until apply); data tiers admit only "
                              "referencedSecurityGroupId", rule.urn))
            elif value is not MISSING and value not in ([], ""):
                try:
                    shown = plain_all(value)
                except UnknownValueError:
                    shown = "<unknown>"
                found.append((f"{rule.name}: {where} via {path} {shown!r}; data tiers admit only "
                              "referencedSecurityGroupId", rule.urn))
        source_path = "referencedSecurityGroupId" if rule.resource_type == INGRESS_RULE else "sourceSecurityGroupId"
        source = target if read(rule, "self") is True else _group_at(read, rule, source_path, groups, data)
        if _known(source) and (problem := source_problem(target, source)):
            found.append((f"{rule.name}: {where} {source_path} {problem}", rule.urn))
    for sg in security_groups:
        if sg.urn not in data:
            continue
        for i, entry in enumerate(read.items(sg, "ingress")):
            if not isinstance(entry, Mapping):
                continue
            for path in _INLINE_CIDRS:
                value = read(sg, f"ingress.{i}.{path}")
                if value is not MISSING and value is not UNKNOWN and len(value):
                    found.append((f"{sg.name}: ingress.{i}.{path} {list(value)!r} admits addresses; data tiers "
                                  "admit only security-group references", sg.urn))
            for source in read.items(sg, f"ingress.{i}.securityGroups"):
                if isinstance(source, str) and (problem := source_problem(sg, groups.get(source, source))):
                    found.append((f"{sg.name}: ingress.{i}.securityGroups {problem}", sg.urn))
    return read.findings + found


# ------------------------------------------------------------------------------------ P14 credentials

# The credential inputs the program creates: (type, path, how the value relates to a generated password).
# "is": the value is the password itself; "embeds": a document (JSON) that carries it. A mapping at the path
# (ElastiCache authenticationMode) is read at its "passwords" list.
_CREDENTIALS = (
    (CLUSTER, "masterPassword", "is"),
    (CLUSTER, "masterPasswordWo", "is"),
    (CACHE_USER, "passwords", "is"),
    (CACHE_USER, "authenticationMode", "is"),
    (SECRET_VERSION, "secretString", "embeds"),
)
# A cluster restored from a snapshot takes its master user from the snapshot.
_MASTER_SOURCES = ("masterPassword", "masterPasswordWo", "snapshotIdentifier")


def _credential_values(read: _Reader, resource: Any, path: str) -> list[tuple[str, Any]]:
    """[(path, value)] of the credential strings at path; unknown and absent values are left out.

    An unknown value (during preview) is an output of another resource, i.e. computed, never typed in.
    """
    value = read.peek(resource, path)
    if isinstance(value, Mapping):
        return _credential_values(read, resource, f"{path}.passwords")
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Sequence):
        return [(f"{path}.{i}", v) for i, v in enumerate(value) if isinstance(v, str)]
    return []


def _derived_from_random(resource: Any, path: str) -> bool:
    """Whether the engine says the property's value came from a RandomPassword; True when it says nothing.

    Where values are masked (the offline plan shows every secret as "[secret]"), comparing values proves
    nothing; the engine's property dependencies still name the resource a value was computed from, and a
    literal has none. Hand-built args without dependencies fall back to the value comparison alone.
    """
    dependencies = getattr(resource, "property_dependencies", None) or {}
    if not dependencies:
        return True
    return any(d.resource_type == RANDOM_PASSWORD for d in dependencies.get(path.split(".", 1)[0], []))


def _pending_random(read: _Reader, resource: Any, path: str) -> bool:
    """Whether the engine says the value came from a RandomPassword whose result is not known yet.

    In a stack's first preview the RandomPassword does not exist, so its result is unknown (or absent) and
    the credential shows masked; the dependency, not the value, then says it is generated. A literal has no
    such dependency, so it still fails.
    """
    return any(not isinstance(read.peek(d, "result"), str)
               for d in dependencies(resource, path, RANDOM_PASSWORD))


def _read_from_stack(resource: Any, path: str) -> bool:
    """Whether the engine says the value came from another stack's outputs (a StackReference).

    The platform splits each environment into stacks: a credential generated in one (the global stack's
    logins, an infra stack's master passwords) reaches another as that stack's secret output, and this rule
    checks its generation in the stack that makes it.
    """
    dependencies = getattr(resource, "property_dependencies", None) or {}
    return any(d.resource_type == STACK_REFERENCE for d in dependencies.get(path.split(".", 1)[0], []))


def _plaintext_credentials(read: _Reader, resources: Sequence[Any]) -> list[Finding]:
    """Credentials that are not a random.RandomPassword result of the stack (or do not embed one).

    Python CrossGuard cannot see whether a value is a Pulumi secret: the policy server unwraps secrets before
    validation, and pulumi_aws marks these inputs secret itself, so even a literal is a secret in state. What
    the pack can check is provenance: a generated password reaches every policy as the same value as its
    RandomPassword's ``result`` (plaintext in `pulumi preview`, "[secret]" in the offline plan); a literal
    or config value does not. Values are compared, never shown.
    """
    generated = {v for r in _of(resources, RANDOM_PASSWORD)
                 if isinstance(v := read.peek(r, "result"), str) and v}
    found: list[Finding] = []
    for resource_type, path, relation in _CREDENTIALS:
        for r in _of(resources, resource_type):
            for where, value in _credential_values(read, r, path):
                if _read_from_stack(r, path):
                    continue
                pending = _pending_random(read, r, path)
                if relation == "is" and ((value not in generated and not pending)
                                         or not _derived_from_random(r, path)):
                    found.append((f"{r.name}: {where} is a plaintext value, not a random.RandomPassword result; "
                                  "generate the credential in the stack so it stays a Pulumi secret", r.urn))
                elif relation == "embeds" and ((not any(g in value for g in generated) and not pending)
                                               or not _derived_from_random(r, path)):
                    found.append((f"{r.name}: {where} holds no random.RandomPassword result; build the secret "
                                  "from a generated password, never a plaintext value", r.urn))
    for cluster in _of(resources, CLUSTER):
        username = read.peek(cluster, "masterUsername")  # only a primary (or standalone) cluster has one
        if not isinstance(username, str) or not username or read.peek(cluster, "manageMasterUserPassword") is True:
            continue
        if all(read.peek(cluster, p) is MISSING for p in _MASTER_SOURCES):
            found.append((f"{cluster.name}: masterUsername is set but masterPassword is not; set it from a "
                          "random.RandomPassword result (manageMasterUserPassword does not work on global "
                          "clusters)", cluster.urn))
    return found


def _credentials(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P14. At the first preview a RandomPassword's result is unknown: a credential that depends on it is
    generated (``_pending_random``); one that does not is still plaintext."""
    read = _Reader()
    found: list[Finding] = _plaintext_credentials(read, resources)
    for rg in _of(resources, REPLICATION_GROUP):
        token = read(rg, "authToken")
        if token is not MISSING and token is not UNKNOWN:
            found.append((f"{rg.name}: authToken is set; use userGroupIds (RBAC users) instead of a shared AUTH "
                          "token", rg.urn))
        users = read(rg, "userGroupIds")
        if users is MISSING or (users is not UNKNOWN and not len(users)):
            found.append((f"{rg.name}: userGroupIds is not set; Valkey/Redis access must go through RBAC user "
                          "groups", rg.urn))
    # shard group -> the regions of its global cluster's secondaries
    members = {gid: ms for _, gid, ms in _global_members(read, resources)}
    secondaries: dict[str, set[str]] = defaultdict(set)
    groups_seen: set[str] = set()
    for cluster in _of(resources, CLUSTER):
        group = read(cluster, "tags.shard-group")
        if not isinstance(group, str):
            continue
        groups_seen.add(group)
        for member in members.get(_global_id(read, cluster), []):
            region = read.region(member)
            if _is_primary(read, member) is False and isinstance(region, str):
                secondaries[group].add(region)
    for secret in _of(resources, SECRET):
        name = read(secret, "name")
        parts = name.split("/") if isinstance(name, str) else []
        if len(parts) != 4 or parts[1] != "aurora" or parts[3] != "master":
            continue
        group = parts[2]
        if group not in groups_seen:
            found.append((f"{secret.name}: no Aurora cluster has tags.shard-group {group}; the regions {name} must "
                          "replicate to cannot be determined", secret.urn))
            continue
        replicas = {r.get("region") for r in read.items(secret, "replicas") if isinstance(r, Mapping)}
        missing = sorted(secondaries[group] - replicas)
        if missing:
            found.append((f"{secret.name}: {name} has no replicas entry for {', '.join(missing)}, where the global "
                          f"cluster of {group} has secondaries", secret.urn))
    return read.findings + found


# -------------------------------------------------------------------------------------- P15 versions

_PINNED = re.compile(r"^\d+\.\d+$")


def _version_parity(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = _Reader()
    found: list[Finding] = []
    for resource in _of(resources, GLOBAL_CLUSTER, CLUSTER):
        version = read(resource, "engineVersion")
        if version is MISSING:
            found.append((f"{resource.name}: engineVersion is not set; it must be pinned to MAJOR.MINOR",
                          resource.urn))
        elif version is not UNKNOWN and not (isinstance(version, str) and _PINNED.match(version)):
            found.append((f"{resource.name}: engineVersion must be pinned to MAJOR.MINOR (got {version!r})",
                          resource.urn))
        if _prod(config) and resource.resource_type == CLUSTER and read(resource, "allowMajorVersionUpgrade") is True:
            found.append((f"{resource.name}: allowMajorVersionUpgrade must not be true in prod (got True)",
                          resource.urn))
    msk = [(r, read(r, "kafkaVersion")) for r in _of(resources, MSK_CLUSTER)]
    found.extend(_differ("msk Cluster kafkaVersion", msk))
    minors: list[tuple[Any, int]] = []
    for eks in _of(resources, EKS_CLUSTER):
        version = read(eks, "version")
        if version is UNKNOWN:
            continue
        if not (isinstance(version, str) and _PINNED.match(version)):
            found.append((f"{eks.name}: version must be MAJOR.MINOR (got {version!r})", eks.urn))
            continue
        major, minor = version.split(".")
        minors.append((eks, int(major) * 1000 + int(minor)))
    if minors and max(m for _, m in minors) - min(m for _, m in minors) > 1:
        shown = ", ".join(f"{r.name} {read(r, 'version')!r} ({_where(r)})" for r, _ in minors)
        found.append((f"eks Cluster version spans more than one minor across regions: {shown}", None))
    found.extend(_differ("elasticache ReplicationGroup engineVersion",
                         [(r, read(r, "engineVersion")) for r in _of(resources, REPLICATION_GROUP)]))
    return read.findings + found


# ------------------------------------------------------------------------------------------ TAG1 tags


def _default_tags(provider: Any) -> dict[str, Any] | None:
    raw = get(provider.props, "defaultTags")
    if raw is MISSING:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    tags = raw.get("tags") if isinstance(raw, Mapping) else None
    return dict(tags) if isinstance(tags, Mapping) else ({} if isinstance(raw, Mapping) else None)


def _own_tags(resource: Any) -> Mapping[str, Any]:
    tags = get(resource.props, "tags")
    return tags if isinstance(tags, Mapping) else {}


def _required_tags(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    required = list(config.get("requiredTags") or REQUIRED_TAGS)
    env = str(config.get("environment") or "")
    found: list[Finding] = []
    users: dict[str, list[Any]] = defaultdict(list)
    providers: dict[str, Any] = {}
    for resource in resources:
        provider = getattr(resource, "provider", None)
        if resource.resource_type.startswith("aws:") and provider is not None:
            users[provider.urn].append(resource)
            providers[provider.urn] = provider
    for urn, provider in providers.items():
        tags = _default_tags(provider)
        if tags is None:
            found.append((f"provider {provider.name}: defaultTags is not valid JSON with a tags map", urn))
            continue
        missing = [t for t in required if t not in tags]
        affected = [r for r in users[urn] if any(t not in _own_tags(r) for t in missing)]
        if missing and affected:
            found.append((f"provider {provider.name}: defaultTags lacks {', '.join(missing)} for {len(affected)} "
                          f"AWS resources (e.g. {affected[0].name}); required tags: {', '.join(required)}", urn))
        if env and "environment" in tags and tags["environment"] != env:
            found.append((f"provider {provider.name}: defaultTags environment is {tags['environment']!r}, but the "
                          f"stack's environment is {env!r}", urn))
    return found


# ------------------------------------------------------------------------------------------------ rules

_Check = Callable[[Sequence[Any], Mapping[str, Any]], list[Finding]]


def _stable(check_fn: _Check) -> _Check:
    """The check over the resources in name order, so findings and their wording never depend on plan order."""

    def ordered(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
        return check_fn(sorted(resources, key=lambda r: (r.name, r.resource_type, r.urn)), config)

    ordered.__name__ = check_fn.__name__
    ordered.__doc__ = check_fn.__doc__
    return ordered


RULES = [
    StackRule(
        Meta("P1", "platform-connection-budget", "PgBouncer pools fit the max_connections of the Aurora they target",
             Severity.HIGH, mandatory=True,
             remediation="Lower pool_size or the PgBouncer HPA maxReplicas, or size the Aurora instances up, so "
                         "pool_size x maxReplicas per host stays within max_connections less the reserve."),
        _stable(_connection_budget),
        config={"connectionReserveFraction": {"type": "number", "minimum": 0, "maximum": 1,
                                              "description": "share of max_connections kept for admin and "
                                                             "replication sessions"}},
        defaults={"connectionReserveFraction": CONNECTION_RESERVE}),
    StackRule(
        Meta("P2", "platform-shard-coverage", "Every logical shard is allocated exactly once, the same N everywhere",
             Severity.HIGH, mandatory=True,
             remediation="Regenerate the shard map so groups tile [0, logicalShards) with no gap or overlap and "
                         "every region publishes the same logicalShards."),
        _stable(_shard_coverage)),
    StackRule(
        Meta("P3", "platform-global-cluster-topology",
             "Each Aurora global cluster has one primary in its region and secondaries in distinct approved regions",
             Severity.HIGH, mandatory=True,
             remediation="Give exactly one member master credentials, in the global cluster's region; place each "
                         "secondary in its own approved region; keep engine and engineVersion equal to the "
                         "global cluster's."),
        _stable(_topology), config=_REGIONS_SCHEMA, defaults={"approvedRegions": list(APPROVED_REGIONS)}),
    StackRule(
        Meta("P4", "platform-promotion-headroom",
             "Secondaries can carry the primary's load after a regional failover", Severity.MEDIUM, mandatory=True,
             remediation="Give every secondary an instance of at least the primary writer's class, and let the "
                         "workloads node group of each secondary region scale to the primary region's desired size."),
        _stable(_promotion_headroom)),
    StackRule(
        Meta("P5", "platform-kms-region", "Every KMS key a resource uses lives in the resource's own region",
             Severity.HIGH, mandatory=True,
             remediation="Use the regional key (or a multi-Region replica key) of the resource's region; Secrets "
                         "Manager replicas use a key of the replica's region."),
        _stable(_kms_regions)),
    StackRule(
        Meta("P6", "platform-msk-broker-layout",
             "MSK brokers spread evenly over >= 3 zones; replication factor and min ISR leave room for a restart",
             Severity.MEDIUM, mandatory=True,
             remediation="Use a broker count that is a multiple of the client subnets (3 in prod), "
                         "default.replication.factor <= brokers and min.insync.replicas < replication factor."),
        _stable(_msk_layout)),
    StackRule(
        Meta("P7", "platform-redis-sizing",
             "Cluster-mode Valkey/Redis with replicas, failover and Multi-AZ, sized alike in every region",
             Severity.MEDIUM, mandatory=True,
             remediation="Set num_node_groups >= 1, replicas_per_node_group >= 1 (prod), automatic failover and "
                         "Multi-AZ, and the same node_type and engine_version in every region."),
        _stable(_redis_sizing)),
    StackRule(
        Meta("P8", "platform-prod-stateful-protected",
             "Prod stateful resources are protected against deletion by Pulumi and by AWS", Severity.CRITICAL,
             mandatory=True,
             remediation="Set protect=True on the resource options and the provider-level protection: "
                         "deletion_protection, skip_final_snapshot=False with a final_snapshot_identifier, KMS "
                         "deletion_window_in_days=30, Secrets recovery_window_in_days>=7, LB "
                         "enable_deletion_protection."),
        _stable(_prod_protection)),
    StackRule(
        Meta("P9", "platform-replacement-guard",
             "Global-cluster members ignore the identifiers an out-of-band switchover changes", Severity.HIGH,
             mandatory=True,
             remediation="Add globalClusterIdentifier and replicationSourceIdentifier to ignore_changes of every "
                         "global-cluster member. This only covers the known switchover drift: detecting every "
                         "planned replacement needs the engine's diff, so CI also diffs `pulumi preview --json` for "
                         "replace steps on stateful types."),
        _stable(_replacement_guard)),
    StackRule(
        Meta("P10", "platform-cost-ceiling", "The stack's estimated monthly cost stays within its budget",
             Severity.MEDIUM, mandatory=False,
             remediation="Shrink instance classes, node counts or node-group maxSize, or raise monthlyBudgetUsd "
                         "with the budget owner; add a price for any SKU the table lacks."),
        _stable(_cost_ceiling),
        config={"monthlyBudgetUsd": {"type": "number", "minimum": 0,
                                     "description": "monthly budget in USD; without it the rule does not apply"},
                "budgetBasis": {"type": "string",
                                "description": "how the budget was set, for reviewers (the rule does not read it)"}}),
    StackRule(
        Meta("P11", "platform-region-symmetry",
             "Resources only in approved regions, each region with the same tiers", Severity.HIGH, mandatory=True,
             remediation="Deploy only to approved regions and give every region one VPC, EKS cluster, MSK cluster "
                         "and ElastiCache replication group and at least one Aurora cluster."),
        _stable(_region_symmetry), config=_REGIONS_SCHEMA, defaults={"approvedRegions": list(APPROVED_REGIONS)}),
    StackRule(
        Meta("P12", "platform-address-plan", "VPC ranges are disjoint, subnets inside their VPC, >= 3 zones in prod",
             Severity.HIGH, mandatory=True,
             remediation="Give each VPC its own range from the address plan, carve subnets from it, and spread "
                         "them over at least 3 availability zones in prod."),
        _stable(_address_plan)),
    StackRule(
        Meta("P13", "platform-tier-reachability",
             "Data tiers admit only security-group references, never CIDRs or other data tiers", Severity.HIGH,
             mandatory=True,
             remediation="Replace CIDR or prefix-list ingress on Aurora, cache and Kafka groups with "
                         "referenced_security_group_id of the EKS node or PgBouncer groups; never admit another "
                         "data-tier group."),
        _stable(_tier_reachability)),
    StackRule(
        Meta("P14", "platform-credentials", "Credentials are generated, never plaintext; cache access uses RBAC "
             "users; Aurora master secrets follow their DR regions", Severity.HIGH, mandatory=True,
             remediation="Set Aurora master passwords, ElastiCache user passwords and Secrets Manager secret "
                         "strings from random.RandomPassword results (never a literal or a config value), use "
                         "user_group_ids instead of auth_token, and replicate each <env>/aurora/<group>/master "
                         "secret to every region holding a secondary of that group's global cluster."),
        _stable(_credentials)),
    StackRule(
        Meta("P15", "platform-version-parity", "Versions are pinned and equal across regions", Severity.MEDIUM,
             mandatory=True,
             remediation="Pin Aurora engine_version to MAJOR.MINOR, keep allow_major_version_upgrade off in prod, "
                         "and run one Kafka version, EKS versions within one minor, and one cache engine version."),
        _stable(_version_parity)),
    StackRule(
        Meta("TAG1", "platform-required-tags", "AWS providers stamp the required tags on every resource",
             Severity.LOW, mandatory=False,
             remediation="Add the missing keys to default_tags of the regional aws.Provider (or tag the resource)."),
        _stable(_required_tags),
        config={"requiredTags": {"type": "array", "items": {"type": "string"},
                                 "description": "tag keys every AWS resource must carry"}},
        defaults={"requiredTags": list(REQUIRED_TAGS)}),
]
