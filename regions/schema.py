"""The manifest's shape: one pydantic model per block, unknown keys rejected, per-field limits.

Rules that relate several fields (ranges that must tile, CIDRs that must not overlap, DR regions that
must exist) live in ``rules.py`` so that each failure can name the exact field it is about.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
Count = Annotated[int, Field(ge=0, strict=True)]
Positive = Annotated[int, Field(ge=1, strict=True)]


def _cloudwatch_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be one of CloudWatch's retention periods {LOG_RETENTION_DAYS}")
    return value


# A log group retention CloudWatch accepts.
RetentionDays = Annotated[int, AfterValidator(_cloudwatch_retention)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShardRange(Strict):
    """Half-open range [start, end) of logical shards."""

    start: Count = Field(description="first logical shard of the range")
    end: Positive = Field(description="one past the last logical shard of the range")

    @property
    def size(self) -> int:
        return self.end - self.start


class Taint(Strict):
    key: str = Field(description="Kubernetes taint key")
    value: str = Field(default="", description="Kubernetes taint value")
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] = Field(description=(
        "what the taint does to pods that do not tolerate it (EKS's enum)"))


class NodeGroup(Strict):
    name: Name = Field(description="node group name, prefixed with the region's short code in AWS")
    instance_types: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]] = Field(
        min_length=1, description="Graviton (arm64) instance types only: the AL2023 ARM AMI runs on them"
    )
    min_size: Count = Field(description="fewest nodes the group scales down to")
    desired_size: Count = Field(description=(
        "nodes at creation; the cost estimate counts this many (the cluster autoscaler moves it later)"))
    max_size: Positive = Field(description=(
        "most nodes the group scales up to; a DR region's workloads group must reach its primaries' desired size"))
    disk_gib: Annotated[int, Field(ge=20, le=16384, strict=True)] = Field(default=100, description=(
        "root volume of each node, GiB (gp3, encrypted)"))
    labels: dict[str, str] = Field(default={}, description="Kubernetes labels every node of the group carries")
    taints: list[Taint] = Field(default=[], description="Kubernetes taints every node of the group carries")


class Eks(Strict):
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]{2}$")] = Field(description=(
        "EKS Kubernetes version, MAJOR.MINOR; regions stay within one minor of each other"))
    log_retention_days: RetentionDays = Field(description="retention of the control-plane log group")
    node_groups: list[NodeGroup] = Field(min_length=1, description="the managed node groups of the region's cluster")


class Aurora(Strict):
    engine_version: Annotated[str, Field(pattern=r"^[0-9]{2}\.[0-9]+$")] = Field(description=(
        "Aurora PostgreSQL version, MAJOR.MINOR, the same in every region of a global database"))
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = Field(description=(
        "class of every writer and reader of the region's shard groups (a class with a known max_connections)"))
    readers: Count = Field(description=(
        "readers in each primary cluster of the region's shard groups (group_readers overrides one group)"))
    secondary_instances: Positive = Field(description=(
        "instances in each secondary cluster this region hosts, each of the writer's class: at least one, so a "
        "promoted secondary takes the writer's load at once"))
    backup_retention_days: Annotated[int, Field(ge=7, le=35, strict=True)] = Field(description=(
        "automated backup retention, days (AWS allows 1-35; at least 7, and the production minimum in production)"))
    log_retention_days: RetentionDays = Field(description="retention of the exported postgresql logs")

    @property
    def engine_major(self) -> str:
        return self.engine_version.split(".", 1)[0]


class Kafka(Strict):
    kafka_version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9x]+(\.kraft)?$")] = Field(description=(
        "MSK Kafka version (KRaft versions end in .kraft)"))
    broker_type: Annotated[str, Field(pattern=r"^kafka\.[a-z0-9]+\.[a-z0-9]+$")] = Field(description=(
        "MSK broker instance type"))
    brokers: Annotated[int, Field(ge=3, le=60, strict=True)] = Field(description=(
        "brokers in the region's cluster, a multiple of its availability zones"))
    storage_gib: Annotated[int, Field(ge=1, le=16384, strict=True)] = Field(description=(
        "initial EBS volume of each broker, GiB"))
    max_storage_gib: Annotated[int, Field(ge=1, le=16384, strict=True)] = Field(description=(
        "storage autoscaling grows each broker's volume up to this, GiB (MSK never shrinks it)"))
    log_retention_days: RetentionDays = Field(description="retention of the broker logs")


class Topic(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9.-]{0,100}$")] = Field(description="topic name")
    partitions: Annotated[int, Field(ge=1, le=10000, strict=True)] = Field(description=(
        "partitions of the topic in every region's cluster"))
    replicated: bool = Field(description="copied by MSK Replicator to the region's DR regions")


class Streams(Strict):
    """The topic plan, the same in every region of the environment."""

    topics: list[Topic] = Field(min_length=1, description="the topics every regional cluster creates")


class Redis(Strict):
    engine: Literal["valkey", "redis"] = Field(description=(
        "ElastiCache engine: valkey (the default), or redis with engine_reason"))
    engine_reason: str | None = Field(default=None, description="why Redis OSS instead of Valkey (required then)")
    engine_version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+$")] = Field(description=(
        "engine version, MAJOR.MINOR"))
    node_type: Annotated[str, Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")] = Field(description=(
        "ElastiCache node type of every node"))
    shards: Annotated[int, Field(ge=1, le=500, strict=True)] = Field(description=(
        "node groups (shards) of the cluster-mode replication group"))
    replicas_per_shard: Annotated[int, Field(ge=0, le=5, strict=True)] = Field(description=(
        "replicas of each shard (at least 1 in production, for automatic failover)"))
    snapshot_retention_days: Annotated[int, Field(ge=1, le=35, strict=True)] = Field(description=(
        "automatic snapshot retention, days"))
    log_retention_days: RetentionDays = Field(description="retention of the slow and engine logs")

    @property
    def nodes(self) -> int:
        return self.shards * (1 + self.replicas_per_shard)


class PgBouncer(Strict):
    min_replicas: Annotated[int, Field(ge=3, strict=True)] = Field(description=(
        "fewest PgBouncer pods: three at least, one per AZ, so losing a zone or draining a node keeps the databases "
        "reachable"))
    max_replicas: Positive = Field(description=(
        "most PgBouncer pods the autoscaler runs; pool size x this must fit each instance's max_connections"))
    default_pool_size: Positive = Field(description="server connections per database and user each pod opens")
    max_client_conn: Positive = Field(description="client connections each pod accepts")


class EdgeGateway(Strict):
    """The region's Envoy fleet behind the NLB: what carries the WebSocket connections."""

    min_replicas: Annotated[int, Field(ge=2, strict=True)] = Field(description="replicas kept running (HPA minimum)")
    max_replicas: Positive = Field(description="the HPA's maximum: every replica is one NLB target")
    cpu: Annotated[float, Field(gt=0, le=16)] = Field(description="vCPUs requested by each replica")
    memory_gib: Annotated[int, Field(ge=1, le=64, strict=True)] = Field(
        description="memory of each replica (request = limit): what holds its connections")


class Region(Strict):
    name: str = Field(description="AWS region name, e.g. us-east-1")
    short_code: Annotated[str, Field(pattern=r"^[a-z]{2,4}[0-9]$")] = Field(description=(
        "short prefix of the region's resource names, e.g. use1"))
    vpc_cidr: str = Field(description=(
        "the region's VPC range: private IPv4, /16 to /20, disjoint from every other region's"))
    availability_zones: Annotated[int, Field(ge=2, le=6, strict=True)] = Field(description=(
        "availability zones the region's subnets span (3 at least in production)"))
    cloudflare_regions: list[str] = Field(min_length=1, description=(
        "Cloudflare load-balancing regions steered to this region"))
    dr_regions: list[str] = Field(description=(
        "regions holding the secondaries of this region's shard groups, preferred failover target first"))
    logical_shards: ShardRange = Field(description="the logical shards this region is home to")
    shard_groups: Positive = Field(description="Aurora global databases the region's logical shards are split into")
    eks: Eks = Field(description="the region's EKS cluster")
    aurora: Aurora = Field(description="the region's Aurora shard groups")
    kafka: Kafka = Field(description="the region's MSK cluster")
    redis: Redis = Field(description="the region's ElastiCache replication group")
    pgbouncer: PgBouncer = Field(description="the region's PgBouncer deployment in front of Aurora")
    edge_gateway: EdgeGateway = Field(description="the region's Envoy gateway fleet behind its NLB")

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"must be an IPv4 network in CIDR notation with no host bits set ({exc})") from None
        if not 16 <= net.prefixlen <= 20:
            raise ValueError("must be between /16 and /20 so the subnet plan fits")
        if not net.is_private:
            raise ValueError("must be a private (RFC 1918) range")
        return value

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.vpc_cidr)


class Network(Strict):
    nat_gateways: Literal["per_az", "single"] = Field(
        description="per_az survives the loss of an AZ; single trades that away for cost (dev only)"
    )
    flow_log_retention_days: RetentionDays = Field(description="retention of the VPC flow logs")


HostLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
UrlPath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/-]*$")]


class Edge(Strict):
    """What Cloudflare serves: hostnames (under the stack's domain), health checks, limits and caching."""

    api_host: HostLabel = Field(description="host label of the API under the stack's domain (api -> api.<domain>)")
    webhook_host: HostLabel = Field(description="host label of Telegram's webhook under the stack's domain")
    webhook_path: UrlPath = Field(description="where Telegram delivers updates; accepted only from Telegram")
    health_path: UrlPath = Field(description="what the load balancers' monitors request from every origin")
    api_requests_per_minute: Annotated[int, Field(ge=10, le=100_000, strict=True)] = Field(description=(
        "rate limit per client IP and Cloudflare data centre on the API"))
    auth_requests_per_minute: Annotated[int, Field(ge=1, le=10_000, strict=True)] = Field(description=(
        "rate limit per client IP on auth_paths"))
    auth_paths: list[UrlPath] = Field(min_length=1, description="path prefixes that get the auth rate limit")
    static_extensions: list[Annotated[str, Field(pattern=r"^[a-z0-9]{1,8}$")]] = Field(min_length=1, description=(
        "file extensions Cloudflare caches"))
    static_ttl_seconds: Annotated[int, Field(ge=60, le=31_536_000, strict=True)] = Field(description=(
        "edge cache TTL of static files, seconds"))


class Alarms(Strict):
    """Thresholds of the CloudWatch alarms every data resource gets, and the in-cluster monitoring's size."""

    aurora_cpu_percent: Annotated[int, Field(ge=10, le=100, strict=True)] = Field(description=(
        "Aurora instance CPU that alarms, percent"))
    aurora_freeable_memory_mib: Annotated[int, Field(ge=64, strict=True)] = Field(description=(
        "Aurora freeable memory below which an instance alarms, MiB"))
    aurora_connections_percent: Annotated[int, Field(ge=10, le=100, strict=True)] = Field(description=(
        "Aurora connections that alarm, percent of the class's max_connections"))
    aurora_global_lag_seconds: Annotated[int, Field(ge=1, le=3600, strict=True)] = Field(description=(
        "a secondary behind its writer longer than this alarms, seconds"))
    kafka_disk_used_percent: Annotated[int, Field(ge=10, le=95, strict=True)] = Field(description=(
        "MSK broker data disk use that alarms, percent"))
    cache_engine_cpu_percent: Annotated[int, Field(ge=10, le=100, strict=True)] = Field(description=(
        "ElastiCache engine CPU that alarms, percent"))
    cache_memory_percent: Annotated[int, Field(ge=10, le=100, strict=True)] = Field(description=(
        "ElastiCache memory use that alarms, percent"))
    cache_evictions_per_minute: Annotated[int, Field(ge=0, strict=True)] = Field(description=(
        "ElastiCache evictions per minute that alarm"))
    cache_replication_lag_seconds: Annotated[int, Field(ge=1, le=3600, strict=True)] = Field(description=(
        "ElastiCache replica lag that alarms, seconds"))
    prometheus_retention_days: Annotated[int, Field(ge=1, le=365, strict=True)] = Field(description=(
        "retention of the in-cluster Prometheus, days"))
    prometheus_storage_gib: Annotated[int, Field(ge=10, le=16384, strict=True)] = Field(description=(
        "volume of the in-cluster Prometheus, GiB"))



# AWS Backup keeps a continuous (point-in-time) recovery point at most 35 days ("Continuous backups and PITR").
CONTINUOUS_BACKUP_MAX_DAYS = 35
# A vault lock becomes immutable after its grace period; AWS Backup refuses fewer than 3 days (ChangeableForDays).
VAULT_LOCK_MIN_GRACE_DAYS = 3


class VaultLock(Strict):
    """AWS Backup Vault Lock in compliance mode: no one in the account, root included, shortens or erases."""

    min_retention_days: Annotated[int, Field(ge=1, le=36500, strict=True)] = Field(
        description="recovery points younger than this cannot be deleted, by anyone (vault lock minimum)")
    max_retention_days: Annotated[int, Field(ge=1, le=36500, strict=True)] = Field(
        description="no backup job may keep a recovery point longer than this (vault lock maximum)")
    grace_days: Annotated[int, Field(ge=VAULT_LOCK_MIN_GRACE_DAYS, le=36500, strict=True)] = Field(
        description="days after the first deploy during which the lock can still be changed or removed; "
                    "then it is immutable (compliance mode)")


class Backups(Strict):
    """AWS Backup of every Aurora cluster: the home region's vault, copies in the first DR region (and account)."""

    schedule: Annotated[str, Field(pattern=r"^cron\([^)]+\)$")] = Field(
        description="when the daily snapshot rule runs (AWS Backup cron expression, UTC)")
    daily_retention_days: Annotated[int, Field(ge=1, le=36500, strict=True)] = Field(
        description="days each daily recovery point is kept in the home region's vault")
    copy_retention_days: Annotated[int, Field(ge=1, le=36500, strict=True)] = Field(
        description="days each copy is kept in the first DR region's vault (and the backup account's)")
    continuous_retention_days: Annotated[int, Field(ge=1, le=CONTINUOUS_BACKUP_MAX_DAYS, strict=True)] = Field(
        description="point-in-time restore window of the continuous rule (AWS Backup allows at most 35 days)")
    vault_lock: VaultLock | None = Field(
        default=None, description="compliance-mode vault lock on every vault; required in production")
    backup_account_id: Annotated[str, Field(pattern=r"^[0-9]{12}$")] | None = Field(
        default=None, description="a separate backup account: each daily recovery point is also copied into its "
                                  "vault <env>-<short code>-backup in the home region (made in that account)")
    estimated_gib_per_group: Annotated[int, Field(ge=1, strict=True)] = Field(
        description="backup storage one shard group's recovery points occupy, in GiB: an estimate for the cost "
                    "report (Aurora storage is usage-driven)")


class Rotation(Strict):
    """How often every credential the program makes changes (days)."""

    master_days: Annotated[int, Field(ge=1, le=365, strict=True)] = Field(
        description="Aurora master secrets: Secrets Manager rotation with the single-user rotation function")
    cache_days: Annotated[int, Field(ge=1, le=365, strict=True)] = Field(
        description="the cache's app user: a new password each period, the previous one still accepted")
    login_days: Annotated[int, Field(ge=1, le=365, strict=True)] = Field(
        description="the database logins handed to PgBouncer and applications: a new password each period")


Rate = Annotated[float, Field(ge=0)]
Basis = Annotated[str, Field(min_length=20)]


class PerRequest(Strict):
    """The work one origin request does, on average at the peak."""

    cache_operations: Rate = Field(description="Valkey/Redis commands per request")
    database_reads: Rate = Field(description="read-only transactions per request (the group's `_ro` pool)")
    database_writes: Rate = Field(description="write transactions per request (the group's writer)")
    events: Rate = Field(description="Kafka records produced per request")
    event_bytes: Annotated[int, Field(ge=1, le=10_485_760, strict=True)] = Field(
        description="average size of one record, bytes")


class Demand(Strict):
    """The load the environment is sized for: peaks at the origin (after Cloudflare's cache)."""

    peak_origin_requests_per_second: Positive = Field(description="requests/s reaching the regional gateways")
    peak_concurrent_connections: Positive = Field(
        description="concurrent WebSocket connections held by the regional gateways")
    per_request: PerRequest = Field(description="the work one origin request does (cache, database, events)")
    region_shares: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(
        default={}, description="fraction of the demand arriving at a region; unstated regions get the share of "
                                "the users their logical shards hold")
    basis: Basis = Field(description="where the figures come from")


class DeclaredFigure(Strict):
    """A per-unit figure the application owners declare (not measured here), with its basis."""

    value: Annotated[float, Field(gt=0)] = Field(description="what one unit carries, as declared")
    basis: Basis = Field(description="who declares it and on what evidence; replace it after a load test")


MeasuredName = Literal["pgbouncerTransactionsPerCore", "postgresReadsPerCore", "postgresWritesPerCore",
                       "cacheOperationsPerCore"]


class MeasuredFigure(Strict):
    """A per-unit figure from benchmarks/capacity_units.json, derated: value = recorded x derating."""

    value: Annotated[float, Field(gt=0)] = Field(description="what one unit is planned to carry: recorded x derating")
    measured: MeasuredName = Field(description="the figure's key in benchmarks/capacity_units.json")
    derating: Annotated[float, Field(gt=0, le=1)] = Field(
        description="fraction of the measured figure planned on (target utilisation and the distance between the "
                    "benchmark machine and the AWS one)")


class UnitCapacity(Strict):
    """What one unit of each tier carries, and the headroom every tier keeps in every scenario."""

    headroom_percent: Annotated[int, Field(ge=0, le=200, strict=True)] = Field(
        description="supply must exceed demand by this much in normal operation and with any one region lost")
    application_requests_per_vcpu: DeclaredFigure = Field(
        description="origin requests/s one vCPU of the workload node groups serves (declared by the applications)")
    gateway_connections_per_gib: DeclaredFigure = Field(
        description="concurrent WebSocket connections one GiB of an Envoy gateway replica holds (declared)")
    pgbouncer_transactions_per_core: MeasuredFigure = Field(
        description="transactions/s one PgBouncer core relays (measured with pgbench through PgBouncer)")
    aurora_reads_per_vcpu: MeasuredFigure = Field(
        description="read-only transactions/s one Aurora vCPU serves (measured with pgbench on PostgreSQL)")
    aurora_writes_per_vcpu: MeasuredFigure = Field(
        description="write transactions/s one writer vCPU commits (measured with pgbench on PostgreSQL)")
    cache_operations_per_node: MeasuredFigure = Field(
        description="commands/s one cache node (one engine thread) serves (measured with redis-benchmark)")


Posture = Literal["production", "development"]


class Manifest(Strict):
    environment: Name = Field(description=(
        "environment name (prod, dev): the stacks are <environment>-<region>[-<layer>] and <environment>-global"))
    posture: Posture = Field(description=(
        "production: stateful resources protected (Pulumi protect and AWS deletion protection) and the AZ-loss rules "
        "apply; development: destroyable, smallest shapes"))
    deploy_waves: list[list[str]] = Field(default=[], description=(
        "regions deployed together, in order; a production environment deploys a canary region alone first"))
    logical_shards: Positive = Field(description=(
        "logical shards of the environment; the regions' ranges tile [0, logical_shards)"))
    users_per_logical_shard: Positive = Field(description="users each logical shard holds (capacity and cost per user)")
    network: Network = Field(description="network settings every region shares")
    alarms: Alarms = Field(description="alarm thresholds and the in-cluster monitoring's size")
    edge: Edge = Field(description="what Cloudflare serves")
    writer_regions: dict[str, str] = Field(default={}, description=(
        "shard groups whose writer is not in their home region now (after a switchover or failover, "
        "docs/runbooks/aurora-switchover.md): group id -> the region holding the writer"))
    group_readers: dict[str, Count] = Field(default={}, description=(
        "shard groups whose primary cluster runs another number of readers than its home region's aurora.readers: "
        "group id -> readers"))
    streams: Streams = Field(description="the Kafka topic plan")
    backups: Backups = Field(description="AWS Backup of every region's Aurora clusters: vault lock, rules, copies")
    rotation: Rotation = Field(description="how often every credential the program makes rotates")
    demand: Demand = Field(description="the peak load the environment must carry, and how it splits over regions")
    capacity: UnitCapacity = Field(description=(
        "what one unit of each tier carries, with its basis, and the headroom every tier keeps"))
    regions: list[Region] = Field(min_length=1, description="the regions of the environment")

    @property
    def region_names(self) -> list[str]:
        return [r.name for r in self.regions]

    @property
    def protected(self) -> bool:
        return self.posture == "production"

    def region(self, name: str) -> Region:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)
