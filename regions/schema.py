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

    start: Count
    end: Positive

    @property
    def size(self) -> int:
        return self.end - self.start


class Taint(Strict):
    key: str
    value: str = ""
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]


class NodeGroup(Strict):
    name: Name
    instance_types: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")]] = Field(
        min_length=1, description="Graviton (arm64) instance types only: the AL2023 ARM AMI runs on them"
    )
    min_size: Count
    desired_size: Count
    max_size: Positive
    disk_gib: Annotated[int, Field(ge=20, le=16384, strict=True)] = 100
    labels: dict[str, str] = {}
    taints: list[Taint] = []


class Eks(Strict):
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]{2}$")]
    log_retention_days: RetentionDays = Field(description="retention of the control-plane log group")
    node_groups: list[NodeGroup] = Field(min_length=1)


class Aurora(Strict):
    engine_version: Annotated[str, Field(pattern=r"^[0-9]{2}\.[0-9]+$")]
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")]
    readers: Count
    # Instances in each secondary cluster of this region's shard groups, each of the writer's class:
    # at least one, so a promoted secondary can take the writer's load at once.
    secondary_instances: Positive
    backup_retention_days: Annotated[int, Field(ge=7, le=35, strict=True)]
    log_retention_days: RetentionDays = Field(description="retention of the exported postgresql logs")

    @property
    def engine_major(self) -> str:
        return self.engine_version.split(".", 1)[0]


class Kafka(Strict):
    kafka_version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9x]+(\.kraft)?$")]
    broker_type: Annotated[str, Field(pattern=r"^kafka\.[a-z0-9]+\.[a-z0-9]+$")]
    brokers: Annotated[int, Field(ge=3, le=60, strict=True)]
    storage_gib: Annotated[int, Field(ge=1, le=16384, strict=True)]
    # Storage autoscaling grows each broker's volume up to this (MSK never shrinks it).
    max_storage_gib: Annotated[int, Field(ge=1, le=16384, strict=True)]
    log_retention_days: RetentionDays = Field(description="retention of the broker logs")


class Topic(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9.-]{0,100}$")]
    partitions: Annotated[int, Field(ge=1, le=10000, strict=True)]
    replicated: bool = Field(description="copied by MSK Replicator to the region's DR regions")


class Streams(Strict):
    """The topic plan, the same in every region of the environment."""

    topics: list[Topic] = Field(min_length=1)


class Redis(Strict):
    engine: Literal["valkey", "redis"]
    engine_reason: str | None = Field(default=None, description="why Redis OSS instead of Valkey (required then)")
    engine_version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+$")]
    node_type: Annotated[str, Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")]
    shards: Annotated[int, Field(ge=1, le=500, strict=True)]
    replicas_per_shard: Annotated[int, Field(ge=0, le=5, strict=True)]
    snapshot_retention_days: Annotated[int, Field(ge=1, le=35, strict=True)]
    log_retention_days: RetentionDays = Field(description="retention of the slow and engine logs")

    @property
    def nodes(self) -> int:
        return self.shards * (1 + self.replicas_per_shard)


class PgBouncer(Strict):
    # Three at least, one per AZ: losing a zone (or a node being drained) keeps the databases reachable.
    min_replicas: Annotated[int, Field(ge=3, strict=True)]
    max_replicas: Positive
    default_pool_size: Positive
    max_client_conn: Positive


class EdgeGateway(Strict):
    """The region's Envoy fleet behind the NLB: what carries the WebSocket connections."""

    min_replicas: Annotated[int, Field(ge=2, strict=True)] = Field(description="replicas kept running (HPA minimum)")
    max_replicas: Positive = Field(description="the HPA's maximum: every replica is one NLB target")
    cpu: Annotated[float, Field(gt=0, le=16)] = Field(description="vCPUs requested by each replica")
    memory_gib: Annotated[int, Field(ge=1, le=64, strict=True)] = Field(
        description="memory of each replica (request = limit): what holds its connections")


class Region(Strict):
    name: str
    short_code: Annotated[str, Field(pattern=r"^[a-z]{2,4}[0-9]$")]
    vpc_cidr: str
    availability_zones: Annotated[int, Field(ge=2, le=6, strict=True)]
    cloudflare_regions: list[str] = Field(min_length=1)
    dr_regions: list[str]
    logical_shards: ShardRange
    shard_groups: Positive
    eks: Eks
    aurora: Aurora
    kafka: Kafka
    redis: Redis
    pgbouncer: PgBouncer
    edge_gateway: EdgeGateway

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
    flow_log_retention_days: RetentionDays


HostLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
UrlPath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/-]*$")]


class Edge(Strict):
    """What Cloudflare serves: hostnames (under the stack's domain), health checks, limits and caching."""

    api_host: HostLabel
    webhook_host: HostLabel
    webhook_path: UrlPath = Field(description="where Telegram delivers updates; accepted only from Telegram")
    health_path: UrlPath = Field(description="what the load balancers' monitors request from every origin")
    api_requests_per_minute: Annotated[int, Field(ge=10, le=100_000, strict=True)]
    auth_requests_per_minute: Annotated[int, Field(ge=1, le=10_000, strict=True)]
    auth_paths: list[UrlPath] = Field(min_length=1)
    static_extensions: list[Annotated[str, Field(pattern=r"^[a-z0-9]{1,8}$")]] = Field(min_length=1)
    static_ttl_seconds: Annotated[int, Field(ge=60, le=31_536_000, strict=True)]


class Alarms(Strict):
    """Thresholds of the CloudWatch alarms every data resource gets, and the in-cluster monitoring's size."""

    aurora_cpu_percent: Annotated[int, Field(ge=10, le=100, strict=True)]
    aurora_freeable_memory_mib: Annotated[int, Field(ge=64, strict=True)]
    aurora_connections_percent: Annotated[int, Field(ge=10, le=100, strict=True)]  # of max_connections
    aurora_global_lag_seconds: Annotated[int, Field(ge=1, le=3600, strict=True)]
    kafka_disk_used_percent: Annotated[int, Field(ge=10, le=95, strict=True)]
    cache_engine_cpu_percent: Annotated[int, Field(ge=10, le=100, strict=True)]
    cache_memory_percent: Annotated[int, Field(ge=10, le=100, strict=True)]
    cache_evictions_per_minute: Annotated[int, Field(ge=0, strict=True)]
    cache_replication_lag_seconds: Annotated[int, Field(ge=1, le=3600, strict=True)]
    prometheus_retention_days: Annotated[int, Field(ge=1, le=365, strict=True)]
    prometheus_storage_gib: Annotated[int, Field(ge=10, le=16384, strict=True)]


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
    per_request: PerRequest
    region_shares: dict[str, Annotated[float, Field(gt=0, le=1)]] = Field(
        default={}, description="fraction of the demand arriving at a region; unstated regions get the share of "
                                "the users their logical shards hold")
    basis: Basis = Field(description="where the figures come from")


class DeclaredFigure(Strict):
    """A per-unit figure the application owners declare (not measured here), with its basis."""

    value: Annotated[float, Field(gt=0)]
    basis: Basis = Field(description="who declares it and on what evidence; replace it after a load test")


MeasuredName = Literal["pgbouncerTransactionsPerCore", "postgresReadsPerCore", "postgresWritesPerCore",
                       "cacheOperationsPerCore"]


class MeasuredFigure(Strict):
    """A per-unit figure from benchmarks/capacity_units.json, derated: value = recorded x derating."""

    value: Annotated[float, Field(gt=0)]
    measured: MeasuredName = Field(description="the figure's key in benchmarks/capacity_units.json")
    derating: Annotated[float, Field(gt=0, le=1)] = Field(
        description="fraction of the measured figure planned on (target utilisation and the distance between the "
                    "benchmark machine and the AWS one)")


class UnitCapacity(Strict):
    """What one unit of each tier carries, and the headroom every tier keeps in every scenario."""

    headroom_percent: Annotated[int, Field(ge=0, le=200, strict=True)] = Field(
        description="supply must exceed demand by this much in normal operation and with any one region lost")
    application_requests_per_vcpu: DeclaredFigure
    gateway_connections_per_gib: DeclaredFigure
    pgbouncer_transactions_per_core: MeasuredFigure
    aurora_reads_per_vcpu: MeasuredFigure
    aurora_writes_per_vcpu: MeasuredFigure
    cache_operations_per_node: MeasuredFigure


Posture = Literal["production", "development"]


class Manifest(Strict):
    environment: Name
    # production: stateful resources are protected (Pulumi `protect` and AWS deletion protection), and the
    # rules that keep a region alive through an AZ loss apply; development: destroyable, smallest shapes.
    posture: Posture
    # Regions deployed together, in order; a production environment deploys a canary region alone first.
    deploy_waves: list[list[str]] = []
    logical_shards: Positive
    users_per_logical_shard: Positive
    network: Network
    alarms: Alarms
    edge: Edge
    # Shard groups whose writer is not in their home region right now (after a switchover or failover, see
    # docs/runbooks/aurora-switchover.md): group id -> the region holding the writer.
    writer_regions: dict[str, str] = {}
    # Shard groups whose primary cluster runs another number of readers than its home region's
    # `aurora.readers` (a hot group gets more, without resizing every group of the region): group id -> readers.
    group_readers: dict[str, Count] = {}
    streams: Streams
    demand: Demand
    capacity: UnitCapacity
    regions: list[Region] = Field(min_length=1)

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
