"""Aurora PostgreSQL (global databases, clusters, instances, parameter groups): the A rows of docs/guardrails.md.

Not implemented: A19 (activity streams), A20 (cluster snapshots), A21 (event subscriptions) - the program
creates no aws.rds.ClusterActivityStream, ClusterSnapshot or EventSubscription. Backtracking and the MySQL
audit log are Aurora MySQL only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from guardrails.core import (
    MISSING,
    Meta,
    ResourceRule,
    StackRule,
    at_least,
    check,
    get,
    is_true,
    one_of,
    present,
    region_of,
)
from guardrails.core import (
    show as _show,
)
from guardrails.stack_reads import (
    APPROVED_REGIONS,
    NODE_GROUP,
    REGIONS_SCHEMA,
    UNKNOWN,
    Finding,
    Reader,
    approved_regions,
    global_id,
    global_members,
    is_known,
    is_primary,
    is_prod,
    of_type,
    resolved,
    size_rank,
    stable,
)

GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"

MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
DEFAULT_PORTS = {"aurora-postgresql": 5432, "aurora-mysql": 3306, "aurora": 3306}
DEFAULT_ADMIN_NAMES = ("postgres", "admin")
QUERY_LOGGING = {"log_statement": "none", "log_min_duration_statement": "-1"}  # parameter -> value that turns it off
MIN_POSTGRES_MAJOR = 12


# --- custom checks -----------------------------------------------------------------------------------------

def _log_exports(props: Any, _args: ResourceValidationArgs) -> list[str]:
    exports = get(props, "enabledCloudwatchLogsExports")
    expect = "must include 'postgresql'"
    if exports is MISSING:
        return [f"enabledCloudwatchLogsExports is not set; it {expect}"]
    if isinstance(exports, str) or not isinstance(exports, Sequence) or "postgresql" not in list(exports):
        return [f"enabledCloudwatchLogsExports {expect} (got {_show(exports)})"]
    return []


def _query_logging(props: Any, _args: ResourceValidationArgs) -> list[str]:
    family = get(props, "family")
    if not (isinstance(family, str) and family.startswith("aurora-postgresql")):
        return []
    expect = f"must set {' and '.join(QUERY_LOGGING)}"
    parameters = get(props, "parameters")
    if parameters is MISSING:
        return [f"parameters is not set; it {expect}"]
    values = {get(p, "name"): get(p, "value") for p in parameters}
    absent = [name for name in QUERY_LOGGING if name not in values]
    if absent:
        return [f"parameters {expect} (missing {', '.join(absent)})"]
    return [f"parameters {name} must not be {off!r}, which turns it off (got {values[name]!r})"
            for name, off in QUERY_LOGGING.items() if str(values[name]) == off]


def _non_default_port(props: Any, _args: ResourceValidationArgs) -> list[str]:
    engine = get(props, "engine")
    default = DEFAULT_PORTS.get(engine) if isinstance(engine, str) else None
    if default is None:
        return []
    port = get(props, "port")
    expect = f"must not be the engine's default {default}"
    if port is MISSING:
        return [f"port is not set; it {expect}"]
    return [f"port {expect} (got {_show(port)})"] if port == default else []


def _admin_username(props: Any, _args: ResourceValidationArgs) -> list[str]:
    name = get(props, "masterUsername")  # secondary members of a global cluster have none
    if name is MISSING or str(name).lower() not in DEFAULT_ADMIN_NAMES:
        return []
    return [f"masterUsername must not be a default name ({', '.join(DEFAULT_ADMIN_NAMES)}) (got {_show(name)})"]


def _engine_major_ok(version: Any) -> bool:
    try:
        return int(str(version).split(".")[0]) >= MIN_POSTGRES_MAJOR
    except ValueError:
        return False


# --- stack checks ------------------------------------------------------------------------------------------

def _cluster_key(resource: Any, path: str) -> tuple[str | None, str] | None:
    value = get(resource.props, path)
    return None if value is MISSING else (region_of(resource), str(value))


def _clusters_by_key(resources: Sequence[Any]) -> dict[tuple[str | None, str], Any]:
    """Clusters by (region, identifier); an instance's clusterIdentifier may name either."""
    found: dict[tuple[str | None, str], Any] = {}
    for r in resources:
        if r.resource_type == CLUSTER:
            for path in ("clusterIdentifier", "id"):
                key = _cluster_key(r, path)
                if key is not None:
                    found[key] = r
    return found


def _multi_az(resources: Sequence[Any], _config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    clusters = _clusters_by_key(resources)
    instances: dict[int, list[Any]] = defaultdict(list)
    for r in resources:
        if r.resource_type == INSTANCE:
            key = _cluster_key(r, "clusterIdentifier")
            if key is not None and key in clusters:
                instances[id(clusters[key])].append(r)
    failures: list[tuple[str, str | None]] = []
    for cluster in {id(c): c for c in clusters.values()}.values():
        if get(cluster.props, "masterUsername") is MISSING:  # a secondary: it has readers only when promoted
            continue
        members = instances[id(cluster)]
        if len(members) < 2:
            failures.append((f"{cluster.name}: a primary cluster needs at least 2 ClusterInstances in distinct AZs "
                             f"(got {len(members)})", cluster.urn))
            continue
        zones = [get(i.props, "availabilityZone") for i in members]
        if MISSING not in zones and len(set(zones)) == 1:
            failures.append((f"{cluster.name}: its {len(members)} ClusterInstances must be in distinct AZs "
                             f"(got all in {zones[0]})", cluster.urn))
    return failures


def _auto_minor_upgrade(resources: Sequence[Any], _config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    clusters = _clusters_by_key(resources)
    failures: list[tuple[str, str | None]] = []
    for r in resources:
        if r.resource_type != INSTANCE:
            continue
        key = _cluster_key(r, "clusterIdentifier")
        cluster = clusters.get(key) if key is not None else None
        if cluster is not None and get(cluster.props, "globalClusterIdentifier") is not MISSING:
            continue  # AMVU has no effect on global-cluster members: their engine version is the global one
        value = get(r.props, "autoMinorVersionUpgrade")  # not set: AWS turns it on
        if value is not MISSING and value is not True:
            failures.append((f"{r.name}: autoMinorVersionUpgrade must be true outside a global cluster "
                             f"(got {_show(value)})", r.urn))
    return failures


RULES: list[ResourceRule | StackRule] = [
    ResourceRule(
        Meta("A1", "aurora-global-cluster-encrypted", "Aurora global clusters encrypt storage",
             Severity.HIGH, mandatory=True, remediation="Set storage_encrypted=True on the GlobalCluster.",
             mirrors=("CKV_AWS_140",)),
        (GLOBAL_CLUSTER,), (check("storageEncrypted", **is_true()),)),
    ResourceRule(
        Meta("A2", "aurora-cluster-storage-encrypted", "Aurora clusters encrypt storage", Severity.HIGH,
             mandatory=True, remediation="Set storage_encrypted=True and a kms_key_id of the cluster's region.",
             mirrors=("RDS.27", "CKV_AWS_96")),
        (CLUSTER,), (check("storageEncrypted", **is_true()),)),
    ResourceRule(
        Meta("A3", "aurora-cluster-customer-managed-key", "Aurora clusters encrypt with a customer-managed KMS key",
             Severity.LOW, mandatory=True,
             remediation="Set kms_key_id on every aws.rds.Cluster to the ARN of a customer-managed key in the "
                         "cluster's own region (secondaries need their region's key).",
             mirrors=("CKV_AWS_327",)),
        (CLUSTER,), (check("kmsKeyId", **present()),)),
    ResourceRule(
        Meta("A4", "aurora-deletion-protection", "Prod Aurora clusters and global clusters have deletion protection",
             Severity.LOW, mandatory=True,
             remediation="Set deletion_protection=True on every aws.rds.GlobalCluster and aws.rds.Cluster of the "
                         "prod stack.",
             mirrors=("RDS.7", "CKV_AWS_139")),
        (GLOBAL_CLUSTER, CLUSTER), (check("deletionProtection", **is_true()),), prod_only=True),
    ResourceRule(
        Meta("A5", "aurora-cluster-backup-retention", "Aurora clusters keep automated backups for at least 7 days",
             Severity.MEDIUM, mandatory=True,
             remediation="Set backup_retention_period to 7..35 days on every aws.rds.Cluster.",
             mirrors=("CKV_AWS_133", "CKV2_AWS_8")),
        (CLUSTER,), (check("backupRetentionPeriod", **at_least(7, wrong=1)),)),
    ResourceRule(
        Meta("A6", "aurora-cluster-iam-auth", "Aurora clusters enable IAM database authentication",
             Severity.MEDIUM, mandatory=True,
             remediation="Set iam_database_authentication_enabled=True on every aws.rds.Cluster.",
             mirrors=("RDS.12", "CKV_AWS_162")),
        (CLUSTER,), (check("iamDatabaseAuthenticationEnabled", **is_true()),)),
    StackRule(
        Meta("A7", "aurora-cluster-multi-az", "Primary Aurora clusters run at least 2 instances in distinct AZs",
             Severity.MEDIUM, mandatory=False,
             remediation="Give every primary aws.rds.Cluster a writer and at least one reader aws.rds.ClusterInstance "
                         "(instance count >= 2) and do not pin them all to one availability_zone. Advisory: dev runs "
                         "one instance per cluster on purpose.",
             mirrors=("RDS.15", "CIS-AWS 3.2.4")),
        _multi_az),
    ResourceRule(
        Meta("A8", "aurora-cluster-copy-tags-to-snapshot", "Aurora clusters copy tags to snapshots",
             Severity.LOW, mandatory=False, remediation="Set copy_tags_to_snapshot=True on every aws.rds.Cluster.",
             mirrors=("RDS.16", "RDS.47", "CKV_AWS_313")),
        (CLUSTER,), (check("copyTagsToSnapshot", **is_true()),)),
    ResourceRule(
        Meta("A9", "aurora-cluster-log-exports", "Aurora clusters export the postgresql log to CloudWatch",
             Severity.MEDIUM, mandatory=False,
             remediation='Set enabled_cloudwatch_logs_exports=["postgresql"] on every aws.rds.Cluster.',
             mirrors=("RDS.37", "CKV_AWS_324")),
        (CLUSTER,), custom=_log_exports),
    ResourceRule(
        Meta("A10", "aurora-parameter-group-query-logging",
             "Aurora PostgreSQL cluster parameter groups log statements and slow queries",
             Severity.LOW, mandatory=False,
             remediation="In the aws.rds.ClusterParameterGroup (family aurora-postgresql*) set log_statement (e.g. "
                         "ddl) and log_min_duration_statement (milliseconds, not -1).",
             mirrors=("CKV2_AWS_27",)),
        (PARAMETER_GROUP,), custom=_query_logging),
    ResourceRule(
        Meta("A11", "aurora-cluster-non-default-port", "Aurora clusters listen on a non-default port",
             Severity.LOW, mandatory=False,
             remediation="Set port to something other than the engine default (5432 for aurora-postgresql) on the "
                         "aws.rds.Cluster and its security-group rules. Advisory: the platform keeps 5432 on purpose "
                         "(PgBouncer and clients assume it), so the stack configs disable this rule.",
             mirrors=("RDS.23",)),
        (CLUSTER,), custom=_non_default_port),
    ResourceRule(
        Meta("A12", "aurora-cluster-custom-admin-username", "Aurora master users do not use a default name",
             Severity.MEDIUM, mandatory=True,
             remediation="Set master_username on the primary aws.rds.Cluster to a name other than postgres or admin "
                         "(secondaries of a global cluster have none).",
             mirrors=("RDS.24",)),
        (CLUSTER,), custom=_admin_username),
    StackRule(
        Meta("A13", "aurora-instance-auto-minor-upgrade",
             "Aurora instances outside global clusters take minor version upgrades automatically",
             Severity.HIGH, mandatory=False,
             remediation="Set auto_minor_version_upgrade=True on aws.rds.ClusterInstances of stand-alone clusters. "
                         "Members of a global cluster are exempt: the version is upgraded on the GlobalCluster.",
             mirrors=("RDS.13", "RDS.35", "CKV_AWS_226", "CIS-AWS 3.2.2")),
        _auto_minor_upgrade),
    ResourceRule(
        Meta("A14", "aurora-instance-not-public", "Aurora instances are never publicly accessible",
             Severity.CRITICAL, mandatory=True, remediation="Set publicly_accessible=False on the ClusterInstance.",
             mirrors=("RDS.2", "CKV_AWS_17", "CIS-AWS 3.2.3")),
        (INSTANCE,), (check("publiclyAccessible", test=lambda v: v is not True, expect="must not be true",
                            wrong=True, missing_ok=True),)),
    ResourceRule(
        Meta("A15", "aurora-instance-enhanced-monitoring", "Aurora instances have enhanced monitoring",
             Severity.LOW, mandatory=False,
             remediation="Set monitoring_interval to one of 1, 5, 10, 15, 30, 60 and monitoring_role_arn to a role "
                         "with AmazonRDSEnhancedMonitoringRole on every aws.rds.ClusterInstance.",
             mirrors=("RDS.6", "CKV_AWS_118")),
        (INSTANCE,), (check("monitoringInterval", **one_of(MONITORING_INTERVALS, wrong=0)),
                      check("monitoringRoleArn", **present()))),
    ResourceRule(
        Meta("A16", "aurora-instance-performance-insights", "Aurora instances have Performance Insights on",
             Severity.LOW, mandatory=False,
             remediation="Set performance_insights_enabled=True on every aws.rds.ClusterInstance.",
             mirrors=("CKV_AWS_353",)),
        (INSTANCE,), (check("performanceInsightsEnabled", **is_true()),)),
    ResourceRule(
        Meta("A17", "aurora-instance-performance-insights-encrypted",
             "Aurora Performance Insights data is encrypted with a customer-managed key",
             Severity.HIGH, mandatory=True,
             remediation="Where performance_insights_enabled=True, set performance_insights_kms_key_id to a "
                         "customer-managed key of the instance's region.",
             mirrors=("CKV_AWS_354",)),
        (INSTANCE,), (check("performanceInsightsKmsKeyId", **present(),
                            when=lambda p: get(p, "performanceInsightsEnabled") is True),)),
    ResourceRule(
        Meta("A18", "aurora-cluster-engine-version", "Aurora PostgreSQL runs major version 12 or later "
             "(log_fdw, AWS-2022-004)", Severity.MEDIUM, mandatory=True,
             remediation="Set engine_version of aurora-postgresql clusters and their GlobalCluster to 12 or later.",
             mirrors=("CKV_AWS_250",)),
        (GLOBAL_CLUSTER, CLUSTER), (check("engineVersion", test=_engine_major_ok,
                           expect=f"must be major version {MIN_POSTGRES_MAJOR} or later", wrong="11.4",
                           missing_ok=True, when=lambda p: get(p, "engine") == "aurora-postgresql"),)),
]


def _topology(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P3. A primary's globalClusterIdentifier is the GlobalCluster's output, unknown at the stack's first
    preview: the member then belongs to the one GlobalCluster it depends on (``global_id``); P4 and P14 group
    members the same way, and P4 maps unknown instance clusterIdentifiers to their cluster likewise."""
    read = Reader()
    found: list[Finding] = []
    approved = approved_regions(config)
    globals_ = global_members(read, resources)
    known_ids = {gid for _, gid, _ in globals_}
    for cluster in of_type(resources, CLUSTER):
        gid = global_id(read, cluster)
        if isinstance(gid, str) and gid and gid not in known_ids:
            found.append((f"{cluster.name}: globalClusterIdentifier {gid} names no GlobalCluster in the stack",
                          cluster.urn))
    for gc, gid, members in globals_:
        if is_known(gid):
            found.extend(_global_cluster_topology(read, gc, gid, members, approved))
    return read.findings + found


def _global_cluster_topology(read: Reader, gc: Any, gid: Any, members: list[Any],
                             approved: tuple[str, ...]) -> list[Finding]:
    """P3 for one global cluster: its region, one primary there, and secondaries in distinct approved regions."""
    region = read.region(gc)
    if region is UNKNOWN:
        return []
    found: list[Finding] = []
    if region is None:
        found.append((f"{gc.name}: global cluster {gid} has no determinable region", gc.urn))
    elif region not in approved:
        found.append((f"{gc.name}: global cluster {gid} is in {region}, not an approved region "
                      f"({', '.join(approved)})", gc.urn))
    if not members:
        return [*found, (f"{gc.name}: global cluster {gid} has no member clusters", gc.urn)]
    roles = {m.urn: is_primary(read, m) for m in members}
    if None in roles.values():
        return found
    primaries = [m for m in members if roles[m.urn]]
    if not primaries:
        found.append((f"{gc.name}: global cluster {gid} has no primary (no member sets masterUsername)", gc.urn))
    elif len(primaries) > 1:
        found.append((f"{gc.name}: global cluster {gid} has {len(primaries)} primaries "
                      f"({', '.join(p.name for p in primaries)}); exactly one member may set masterUsername",
                      gc.urn))
    primary_region = read.region(primaries[0]) if len(primaries) == 1 else None
    if len(primaries) == 1 and primary_region != region and is_known(primary_region) and region is not None:
        found.append((f"{primaries[0].name}: primary of {gid} is in {primary_region}, not the global "
                      f"cluster's region {region}", primaries[0].urn))
    seen: dict[Any, Any] = {}
    for member in members:
        found.extend(_member_placement(read, member, gid, approved, roles[member.urn], primary_region, seen))
        found.extend(_member_engine(read, gc, member, gid))
    return found


def _member_placement(read: Reader, member: Any, gid: Any, approved: tuple[str, ...], primary: bool | None,
                      primary_region: Any, seen: dict[Any, Any]) -> list[Finding]:
    """A member's region: approved, and for a secondary neither the primary's nor another secondary's."""
    member_region = read.region(member)
    if member_region is UNKNOWN:
        return []
    if member_region is None:
        return [(f"{member.name}: member of {gid} has no determinable region", member.urn)]
    found: list[Finding] = []
    if member_region not in approved:
        found.append((f"{member.name}: member of {gid} is in {member_region}, not an approved region "
                      f"({', '.join(approved)})", member.urn))
    if not primary:
        if member_region == primary_region:
            found.append((f"{member.name}: secondary of {gid} is in the primary's region {member_region}",
                          member.urn))
        elif member_region in seen:
            found.append((f"{member.name}: secondary of {gid} is in {member_region}, like "
                          f"{seen[member_region].name}; secondaries need distinct regions", member.urn))
        seen.setdefault(member_region, member)
    return found


def _member_engine(read: Reader, gc: Any, member: Any, gid: Any) -> list[Finding]:
    """A member's engine and engineVersion equal the global cluster's."""
    found: list[Finding] = []
    for path in ("engine", "engineVersion"):
        want, got = read(gc, path), read(member, path)
        if not is_known(want) or got is UNKNOWN:
            continue
        if got is MISSING:
            found.append((f"{member.name}: {path} is not set; it must equal global cluster {gid}'s "
                          f"{want!r}", member.urn))
        elif got != want:
            found.append((f"{member.name}: {path} must equal global cluster {gid}'s {want!r} (got {got!r})",
                          member.urn))
    return found


def _workloads_groups(read: Reader, resources: Sequence[Any]) -> dict[Any, Any]:
    groups = {}
    for ng in of_type(resources, NODE_GROUP):
        name = read(ng, "nodeGroupName")
        if str(name if isinstance(name, str) else ng.name).endswith("-workloads"):
            groups[read.region(ng)] = ng
    return groups


def _promotion_headroom(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = Reader()
    found: list[Finding] = []
    instances = of_type(resources, INSTANCE)

    def classes(cluster: Any) -> list[tuple[Any, Any]]:
        ident = read(cluster, "clusterIdentifier")
        return [(i, read(i, "instanceClass")) for i in instances if is_known(ident)
                and resolved(read, i, "clusterIdentifier", CLUSTER, "clusterIdentifier") == ident]

    region_pairs: dict[tuple[Any, Any], list[str]] = defaultdict(list)
    for _gc, gid, members in global_members(read, resources):
        roles = {m.urn: is_primary(read, m) for m in members}
        primaries = [m for m in members if roles[m.urn]]
        if len(primaries) != 1 or None in roles.values():
            continue  # P3 reports the topology
        primary = primaries[0]
        primary_classes = classes(primary)
        unranked = [(i, c) for i, c in primary_classes if c is not UNKNOWN and size_rank(c) is None]
        for inst, cls in unranked:
            found.append((f"{inst.name}: instanceClass {cls!r} has no known size; promotion headroom cannot be "
                          "verified", inst.urn))
        ranked = [(i, c) for i, c in primary_classes if size_rank(c) is not None]
        if unranked or not ranked:
            if not primary_classes:
                found.append((f"{primary.name}: primary of {gid} has no instances", primary.urn))
            continue
        writer = max((c for _, c in ranked), key=lambda c: size_rank(c) or 0)
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
            elif not any((size_rank(c) or -1) >= (size_rank(writer) or 0) for c in own):
                found.append((f"{secondary.name}: no instance of this secondary of {gid} is at least the primary "
                              f"writer's class {writer} (instanceClass {', '.join(map(str, own))})", secondary.urn))

    found.extend(_node_headroom(read, resources, region_pairs))
    return read.findings + found


def _node_headroom(read: Reader, resources: Sequence[Any],
                   region_pairs: Mapping[tuple[Any, Any], list[str]]) -> list[Finding]:
    """P4's compute side: each secondary region's workloads node group can grow to the primary's desired size."""
    found: list[Finding] = []
    workloads = _workloads_groups(read, resources)
    for (primary_region, secondary_region), gids in region_pairs.items():
        if not is_known(primary_region, secondary_region) or primary_region == secondary_region:
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
    return found


def _replacement_guard(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    if not is_prod(config):
        return []
    read = Reader()
    found: list[Finding] = []
    needed = ("globalClusterIdentifier", "replicationSourceIdentifier")
    for cluster in of_type(resources, CLUSTER):
        gid = global_id(read, cluster)  # at a first preview, from the one GlobalCluster it joins
        if not is_known(gid) or gid == "":
            continue
        ignored = list(getattr(cluster.opts, "ignore_changes", None) or [])
        missing = [p for p in needed if p not in ignored]
        if missing:
            found.append((f"{cluster.name}: opts.ignore_changes lacks {', '.join(missing)}; a member of global "
                          f"cluster {gid} must ignore {' and '.join(needed)} (got {ignored!r})", cluster.urn))
    return read.findings + found


INVARIANTS = [
    StackRule(
        Meta("P3", "platform-global-cluster-topology",
             "Each Aurora global cluster has one primary in its region and secondaries in distinct approved regions",
             Severity.HIGH, mandatory=True,
             remediation="Give exactly one member master credentials, in the global cluster's region; place each "
                         "secondary in its own approved region; keep engine and engineVersion equal to the "
                         "global cluster's."),
        stable(_topology), config=REGIONS_SCHEMA, defaults={"approvedRegions": list(APPROVED_REGIONS)}),
    StackRule(
        Meta("P4", "platform-promotion-headroom",
             "Secondaries can carry the primary's load after a regional failover", Severity.MEDIUM, mandatory=True,
             remediation="Give every secondary an instance of at least the primary writer's class, and let the "
                         "workloads node group of each secondary region scale to the primary region's desired size."),
        stable(_promotion_headroom)),
    StackRule(
        Meta("P9", "platform-replacement-guard",
             "Global-cluster members ignore the identifiers an out-of-band switchover changes", Severity.HIGH,
             mandatory=True,
             remediation="Add globalClusterIdentifier and replicationSourceIdentifier to ignore_changes of every "
                         "global-cluster member. This only covers the known switchover drift: detecting every "
                         "planned replacement needs the engine's diff, so CI also diffs `pulumi preview --json` for "
                         "replace steps on stateful types."),
        stable(_replacement_guard)),
]
