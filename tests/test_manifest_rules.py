"""Each manifest rule: the committed manifests pass; every failure mode is rejected with file, field and rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regions import loader, rules
from regions.group_alarms import metrics_insights_alarms
from regions.kafka_facts import TOPICS_PER_REPLICATOR
from tests.manifest_edits import Edit, assert_refused
from tests.manifest_edits import set_path as _set


def _both(first: Edit, second: Edit) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        first(data)
        second(data)
    return edit


def _rename(region: int, old: str, new: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["regions"][region][new] = data["regions"][region].pop(old)
    return edit


def _delete(region: int, key: str) -> Edit:
    return lambda data: data["regions"][region].pop(key)


def _topics(total: int, replicated: bool = True) -> Edit:
    """Append one-partition topics until ``total`` topics of the plan have ``replicated`` set so."""
    def edit(data: dict[str, Any]) -> None:
        topics = data["streams"]["topics"]
        missing = total - sum(1 for t in topics if t["replicated"] is replicated)
        topics += [{"name": f"extra-{n:04d}", "partitions": 1, "replicated": replicated} for n in range(missing)]
    return edit


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_committed_manifests_are_valid(env: str) -> None:
    manifest = loader.load(loader.manifest_path(env), env)
    assert manifest.environment == env
    assert sum(r.logical_shards.size for r in manifest.regions) == 90_000


PROD_FAILURES: list[tuple[str, Edit, str, str]] = [
    # (case, edit, field named, rule named)
    ("shard gap", _set("regions.1.logical_shards.start", 31000),
     "regions[1].logical_shards.start (eu-west-1)", "gap: logical shards [30000, 31000) belong to no region"),
    ("shard overlap", _set("regions.1.logical_shards.start", 29000),
     "regions[1].logical_shards.start (eu-west-1)", "overlap: logical shards [29000, 30000) belong to two regions"),
    ("first range not at 0", _set("regions.0.logical_shards.start", 3000),
     "regions[0].logical_shards.start (us-east-1)", "gap: logical shards [0, 3000)"),
    ("ranges short of the total", _set("regions.3.logical_shards.end", 87000),
     "regions[3].logical_shards.end (ap-south-1)", "must end at logical_shards = 90000"),
    ("empty range", _set("regions.3.logical_shards.end", 75000),
     "regions[3].logical_shards.end (ap-south-1)", "must be greater than start"),
    ("range not divisible", _set("regions.0.shard_groups", 7),
     "regions[0].shard_groups (us-east-1)", "30000 logical shards do not divide into 7 equal shard groups"),
    ("same CIDR", _set("regions.1.vpc_cidr", "10.10.0.0/16"),
     "regions[1].vpc_cidr (eu-west-1)", "overlaps regions[0].vpc_cidr (us-east-1)"),
    ("nested CIDR", _set("regions.3.vpc_cidr", "10.30.128.0/17"),
     "regions[3].vpc_cidr (ap-south-1)", "overlaps regions[2].vpc_cidr (ap-southeast-1)"),
    ("CIDR with host bits", _set("regions.0.vpc_cidr", "10.10.0.1/16"),
     "regions[0].vpc_cidr (us-east-1)", "no host bits set"),
    ("CIDR not an address", _set("regions.0.vpc_cidr", "10.300.0.0/16"),
     "regions[0].vpc_cidr (us-east-1)", "must be an IPv4 network"),
    ("public CIDR", _set("regions.0.vpc_cidr", "8.8.0.0/16"),
     "regions[0].vpc_cidr (us-east-1)", "must be a private (RFC 1918) range"),
    ("CIDR too small", _set("regions.0.vpc_cidr", "10.10.0.0/24"),
     "regions[0].vpc_cidr (us-east-1)", "between /16 and /20"),
    ("DR region is the region", _set("regions.0.dr_regions", ["us-east-1", "eu-west-1"]),
     "regions[0].dr_regions[0] (us-east-1)", "is the region itself"),
    ("DR region unknown", _set("regions.0.dr_regions.1", "us-west-2"),
     "regions[0].dr_regions[1] (us-east-1)", "not a region of this manifest"),
    ("DR region twice", _set("regions.0.dr_regions", ["eu-west-1", "eu-west-1"]),
     "regions[0].dr_regions[1] (us-east-1)", "listed twice"),
    ("no DR region", _set("regions.0.dr_regions", []),
     "regions[0].dr_regions (us-east-1)", "at least one DR region"),
    ("region hosts no secondaries", _both(_set("regions.0.dr_regions", ["eu-west-1", "ap-south-1"]),
                                          _set("regions.3.dr_regions", ["us-east-1", "eu-west-1"])),
     "regions[2].name (ap-southeast-1)", "hosts no other region's secondaries"),
    ("too many Aurora readers", _set("regions.0.aurora.readers", 14),
     "regions[0].aurora.readers (us-east-1)", "exceed 15 - 2 DR regions = 13"),
    ("Cloudflare code invalid", _set("regions.3.cloudflare_regions", ["SAS", "INDIA"]),
     "regions[3].cloudflare_regions[1] (ap-south-1)", "'INDIA' is not a Cloudflare region code"),
    ("Cloudflare code served twice", _set("regions.3.cloudflare_regions", ["SAS", "ME"]),
     "regions[3].cloudflare_regions[1] (ap-south-1)", "ME is already served by eu-west-1"),
    ("Cloudflare code served by none", _set("regions.2.cloudflare_regions", ["SEAS", "NEAS"]),
     "regions[*].cloudflare_regions", "OC served by no region"),
    ("region name not real", _set("regions.3.name", "ap-south-9"),
     "regions[3].name (ap-south-9)", "must be a real AWS region name"),
    ("short code wrong", _set("regions.0.short_code", "ue1"),
     "regions[0].short_code (us-east-1)", "must be 'use1'"),
    ("misspelt region key", _rename(0, "vpc_cidr", "vpc_cird"),
     "regions[0].vpc_cird (us-east-1)", "unknown key (misspelt?)"),
    ("misspelt nested key", _set("regions.0.aurora.reader", 2),
     "regions[0].aurora.reader (us-east-1)", "unknown key (misspelt?)"),
    ("missing key", _delete(0, "aurora"), "regions[0].aurora (us-east-1)", "required key is missing"),
    ("wrong type", _set("regions.0.shard_groups", "6"),
     "regions[0].shard_groups (us-east-1)", "Input should be a valid integer"),
    ("prod with one NAT", _set("network.nat_gateways", "single"),
     "network.nat_gateways", "prod needs per_az NAT gateways"),
    ("retention CloudWatch refuses", _set("network.flow_log_retention_days", 100),
     "network.flow_log_retention_days", "must be one of CloudWatch's retention periods"),
    ("brokers not a multiple of AZs", _set("regions.1.kafka.brokers", 4),
     "regions[1].kafka.brokers (eu-west-1)", "not a multiple of the 3 availability zones"),
    ("desired above max", _set("regions.0.eks.node_groups.1.desired_size", 1181),
     "regions[0].eks.node_groups[1].desired_size (us-east-1)",
     "must lie in [min_size, max_size] (got 1181 outside [6, 1180])"),
    ("desired below min", _set("regions.0.eks.node_groups.1.desired_size", 2),
     "regions[0].eks.node_groups[1].desired_size (us-east-1)",
     "must lie in [min_size, max_size] (got 2 outside [6, 1180])"),
    ("min above max", _set("regions.1.eks.node_groups.0.min_size", 7),
     "regions[1].eks.node_groups[0].min_size (eu-west-1)", "must not exceed max_size (got 7 > 6)"),
    ("x86 node type", _set("regions.0.eks.node_groups.1.instance_types", ["m7g.2xlarge", "m7i.2xlarge"]),
     "regions[0].eks.node_groups[1].instance_types[1] (us-east-1)",
     "m7i.2xlarge is not a Graviton (arm64) type; nodes run the AL2023 ARM AMI"),
    ("x86 GPU node type", _set("regions.2.eks.node_groups.0.instance_types", ["g5.xlarge"]),
     "regions[2].eks.node_groups[0].instance_types[0] (ap-southeast-1)", "g5.xlarge is not a Graviton (arm64) type"),
    ("malformed node type", _set("regions.0.eks.node_groups.1.instance_types", ["M7G large"]),
     "regions[0].eks.node_groups[1].instance_types[0] (us-east-1)", "String should match pattern"),
    ("unknown Kubernetes version", _set("regions.3.eks.kubernetes_version", "1.27"),
     "regions[3].eks.kubernetes_version (ap-south-1)",
     "1.27 is not an EKS version this program pins add-ons for (supported: 1.34, 1.35)"),
    ("Kubernetes version malformed", _set("regions.3.eks.kubernetes_version", "1.35.2"),
     "regions[3].eks.kubernetes_version (ap-south-1)", "String should match pattern"),
    ("Kubernetes version missing", lambda d: d["regions"][3]["eks"].pop("kubernetes_version"),
     "regions[3].eks.kubernetes_version (ap-south-1)", "required key is missing"),
    ("control-plane log retention not a CloudWatch value", _set("regions.0.eks.log_retention_days", 100),
     "regions[0].eks.log_retention_days (us-east-1)", "must be one of CloudWatch's retention periods"),
    ("control-plane log retention missing", lambda d: d["regions"][0]["eks"].pop("log_retention_days"),
     "regions[0].eks.log_retention_days (us-east-1)", "required key is missing"),
    ("no system node group", _set("regions.0.eks.node_groups.0.name", "critical"),
     "regions[0].eks.node_groups (us-east-1)", "needs a node group named 'system'"),
    ("no workloads node group", lambda d: d["regions"][1]["eks"]["node_groups"].pop(1),
     "regions[1].eks.node_groups (eu-west-1)", "needs a node group named 'workloads'"),
    ("system group untainted", _set("regions.0.eks.node_groups.0.taints", []),
     "regions[0].eks.node_groups[0].taints (us-east-1)", "must carry the taint CriticalAddonsOnly=true"),
    ("no pgbouncer node group", lambda d: d["regions"][2]["eks"]["node_groups"].pop(2),
     "regions[2].eks.node_groups (ap-southeast-1)", "needs a node group named 'pgbouncer'"),
    ("pgbouncer group untainted", _set("regions.2.eks.node_groups.2.taints", []),
     "regions[2].eks.node_groups[2].taints (ap-southeast-1)", "must carry the taint dedicated=pgbouncer"),
    ("pgbouncer group tainted for another tenant",
     _set("regions.2.eks.node_groups.2.taints", [{"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"}]),
     "regions[2].eks.node_groups[2].taints (ap-southeast-1)", "must carry the taint dedicated=pgbouncer"),
    ("system group tainted with the wrong effect",
     _set("regions.0.eks.node_groups.0.taints", [{"key": "CriticalAddonsOnly", "value": "true",
                                                  "effect": "PREFER_NO_SCHEDULE"}]),
     "regions[0].eks.node_groups[0].taints (us-east-1)", "must carry the taint CriticalAddonsOnly"),
    ("node group twice", _set("regions.0.eks.node_groups.1.name", "system"),
     "regions[0].eks.node_groups[1].name (us-east-1)", "node group 'system' is defined twice"),
    ("pool over the writers' budget", _set("regions.0.pgbouncer.default_pool_size", 180),
     "regions[0].pgbouncer.default_pool_size (us-east-1)",
     "150 PgBouncer replicas x pool 180 x 2 database(s) = 54000 server connections to the secondaries of "
     "eu-west-1's shard groups in us-east-1 exceed the 4250 usable on db.r7g.4xlarge (max_connections 5000 less "
     "a 15% reserve)"),
    ("replicas over the budget", _set("regions.3.pgbouncer.max_replicas", 160),
     "regions[3].pgbouncer.default_pool_size (ap-south-1)", "160 PgBouncer replicas x pool 14 x 2 database(s) = 4480"),
    ("smaller home class shrinks the secondaries' budget", _set("regions.1.aurora.instance_class", "db.r7g.large"),
     "regions[0].pgbouncer.default_pool_size (us-east-1)",
     "= 4200 server connections to the secondaries of eu-west-1's shard groups in us-east-1 exceed the 1463 usable "
     "on db.r7g.large"),
    ("instance class without known max_connections", _set("regions.2.aurora.instance_class", "db.x2g.large"),
     "regions[2].aurora.instance_class (ap-southeast-1)", "db.x2g.large has no known max_connections"),
    ("prod backups under 35 days", _set("regions.0.aurora.backup_retention_days", 14),
     "regions[0].aurora.backup_retention_days (us-east-1)", "prod keeps 35 days of backups"),
    ("backups under 7 days", _set("regions.0.aurora.backup_retention_days", 3),
     "regions[0].aurora.backup_retention_days (us-east-1)", "greater than or equal to 7"),
    ("backup retention missing", lambda d: d["regions"][0]["aurora"].pop("backup_retention_days"),
     "regions[0].aurora.backup_retention_days (us-east-1)", "required key is missing"),
    ("no secondary instance", _set("regions.1.aurora.secondary_instances", 0),
     "regions[1].aurora.secondary_instances (eu-west-1)", "greater than or equal to 1"),
    ("postgresql log retention not a CloudWatch value", _set("regions.0.aurora.log_retention_days", 45),
     "regions[0].aurora.log_retention_days (us-east-1)", "must be one of CloudWatch's retention periods"),
    ("too many partition replicas per broker", _set("streams.topics.1.partitions", 5000),
     "regions[0].kafka.brokers (us-east-1)",
     "partition replicas per broker exceed AWS's recommended 2000 for kafka.m7g.2xlarge"),
    ("partition budget of a smaller broker", _both(_set("regions.3.kafka.broker_type", "kafka.m7g.large"),
                                                   _set("regions.3.kafka.brokers", 6)),
     "regions[3].kafka.brokers (ap-south-1)", "exceed AWS's recommended 1000 for kafka.m7g.large"),
    ("Kafka version without KRaft", _set("regions.0.kafka.kafka_version", "3.9.x"),
     "regions[0].kafka.kafka_version (us-east-1)", "3.9.x is not a KRaft version MSK offers"),
    ("Kafka versions differ", _set("regions.2.kafka.kafka_version", "4.0.x.kraft"),
     "regions[0].kafka.kafka_version (us-east-1)", "every region must run the same Kafka version"),
    ("Kafka storage ceiling below the floor", _set("regions.1.kafka.max_storage_gib", 1000),
     "regions[1].kafka.max_storage_gib (eu-west-1)", "must be at least storage_gib (1000 < 4000)"),
    ("broker type unknown", _set("regions.1.kafka.broker_type", "kafka.t3.small"),
     "regions[1].kafka.broker_type (eu-west-1)", "kafka.t3.small has no partition recommendation"),
    ("topic twice", _set("streams.topics.3.name", "messages"),
     "streams.topics[3].name", "topic 'messages' is listed twice"),
    ("topic plan missing", lambda d: d.pop("streams"), "streams", "required key is missing"),
    ("more replicated topics than a replicator copies", _topics(TOPICS_PER_REPLICATOR + 1),
     "streams.topics", f"{TOPICS_PER_REPLICATOR + 1} replicated topics exceed the {TOPICS_PER_REPLICATOR} topics "
                       "one MSK Replicator copies"),
    ("webhook on the API's hostname", _set("edge.webhook_host", "api"),
     "edge.webhook_host", "must differ from api_host ('api')"),
    ("authentication limit looser than the API's", _set("edge.auth_requests_per_minute", 5000),
     "edge.auth_requests_per_minute", "must not exceed api_requests_per_minute (5000 > 1200)"),
    ("hostname label invalid", _set("edge.api_host", "api.example"), "edge.api_host", "String should match pattern"),
    ("webhook path not absolute", _set("edge.webhook_path", "telegram"), "edge.webhook_path",
     "String should match pattern"),
    ("edge block missing", lambda d: d.pop("edge"), "edge", "required key is missing"),
    ("switchover of an unknown group", _set("writer_regions", {"use1-sg09": "eu-west-1"}),
     "writer_regions.use1-sg09", "use1-sg09 is not a shard group of this manifest"),
    ("switchover to a region without a copy", _set("writer_regions", {"use1-sg01": "ap-south-1"}),
     "writer_regions.use1-sg01", "ap-south-1 holds no copy of use1-sg01 (its copies: us-east-1, eu-west-1, "
                                 "ap-southeast-1)"),
    ("switchover recorded to the home region", _set("writer_regions", {"use1-sg01": "us-east-1"}),
     "writer_regions.use1-sg01", "us-east-1 is use1-sg01's home region; remove the entry"),
    ("reader override of an unknown group", _set("group_readers", {"use1-sg07": 3}),
     "group_readers.use1-sg07", "use1-sg07 is not a shard group of this manifest"),
    ("reader override over Aurora's replica limit", _set("group_readers", {"aps1-sg01": 14}),
     "group_readers.aps1-sg01", "14 readers exceed 15 - 2 DR regions = 13, Aurora Global Database's limit"),
    ("reader override equal to the region's readers", _set("group_readers", {"euw1-sg02": 2}),
     "group_readers.euw1-sg02", "2 is already eu-west-1's aurora.readers; remove the entry"),
    ("reader override negative", _set("group_readers", {"euw1-sg02": -1}),
     "group_readers.euw1-sg02", "Input should be greater than or equal to 0"),
    ("too many cache nodes", _set("regions.0.redis.shards", 251),
     "regions[0].redis.shards (us-east-1)",
     "251 shards x (1 primary + 1 replicas) = 502 nodes exceed ElastiCache's 500 nodes per cluster, the most a "
     "quota increase grants (default 90)"),
    ("prod cache shard without a replica", _set("regions.2.redis.replicas_per_shard", 0),
     "regions[2].redis.replicas_per_shard (ap-southeast-1)", "prod needs at least 1 replica per shard"),
    ("Redis OSS without a reason", _set("regions.1.redis.engine", "redis"),
     "regions[1].redis.engine_reason (eu-west-1)", "Redis OSS needs a stated reason"),
    ("cache engine version not offered", _set("regions.1.redis.engine_version", "9.9"),
     "regions[1].redis.engine_version (eu-west-1)", "valkey 9.9 is not offered by ElastiCache"),
    ("cache engine unknown", _set("regions.1.redis.engine", "memcached"),
     "regions[1].redis.engine (eu-west-1)", "Input should be 'valkey' or 'redis'"),
    ("cache snapshots off", _set("regions.1.redis.snapshot_retention_days", 0),
     "regions[1].redis.snapshot_retention_days (eu-west-1)", "greater than or equal to 1"),
    ("PgBouncer under three replicas", _set("regions.0.pgbouncer.min_replicas", 2),
     "regions[0].pgbouncer.min_replicas (us-east-1)", "greater than or equal to 3"),
    ("PgBouncer min above max", _set("regions.0.pgbouncer.min_replicas", 151),
     "regions[0].pgbouncer.min_replicas (us-east-1)", "must not exceed max_replicas"),
    ("posture unknown", _set("posture", "staging"), "posture", "Input should be 'production' or 'development'"),
    ("empty deploy wave", _set("deploy_waves", [["ap-south-1"], [], ["us-east-1", "eu-west-1", "ap-southeast-1"]]),
     "deploy_waves[1]", "an empty wave deploys nothing"),
    ("deploy wave of an unknown region", _set("deploy_waves", [["ap-south-1"], ["us-east-1", "eu-west-1",
                                                                               "ap-southeast-1", "sa-east-1"]]),
     "deploy_waves[1]", "sa-east-1 is not a region of this manifest"),
    ("region in two waves", _set("deploy_waves", [["ap-south-1"], ["us-east-1", "eu-west-1", "ap-southeast-1",
                                                                   "ap-south-1"]]),
     "deploy_waves", "ap-south-1 is in more than one wave"),
    ("region in no wave", _set("deploy_waves", [["ap-south-1"], ["us-east-1", "eu-west-1"]]),
     "deploy_waves", "ap-southeast-1 in no wave"),
    ("production without a canary", _set("deploy_waves", [["ap-south-1", "us-east-1"], ["eu-west-1",
                                                                                          "ap-southeast-1"]]),
     "deploy_waves", "production deploys one canary region alone first"),
    ("production in one wave", _set("deploy_waves", [["ap-south-1", "us-east-1", "eu-west-1", "ap-southeast-1"]]),
     "deploy_waves", "at least two waves, the first of one region"),
    ("shard map over its SSM parameter's limit", _set("regions.0.shard_groups", 600),
     "regions[0].shard_groups (us-east-1)",
     "the shard map published in us-east-1 holds all 612 shard groups of the manifest (regions[*].shard_groups: "
     "600 + 5 + 4 + 3) and renders to "),
    ("shard map over its SSM parameter's limit, in every region", _set("regions.0.shard_groups", 600),
     "regions[3].shard_groups (ap-south-1)",
     "bytes gzip+base64 as the SSM parameter /platform/prod/shard-map, over the 8192-byte limit of the Advanced tier"),
    ("shard map over a ConfigMap's limit", _set("regions.0.shard_groups", 3000),
     "regions[0].shard_groups (us-east-1)", "as the ConfigMap shard-map, over the 1048576-byte (1 MiB) limit"),
]


@pytest.mark.parametrize(("case", "edit", "field", "rule"), PROD_FAILURES, ids=[c[0] for c in PROD_FAILURES])
def test_bad_prod_manifest_is_rejected(case: str, edit: Edit, field: str, rule: str, raw_manifest: Any,
                                       write_manifest: Callable[[dict[str, Any]], Path]) -> None:
    data = raw_manifest("prod")
    edit(data)
    assert_refused(write_manifest(data), "prod", field, rule)


def _lines(path: Path, edit: Edit | None, raw_manifest: Any, write_manifest: Any) -> list[str]:
    """The loader's findings for the prod manifest after ``edit`` (empty when it loads)."""
    data = raw_manifest("prod")
    if edit:
        edit(data)
    try:
        loader.load(write_manifest(data, path.name), "prod")
    except loader.ManifestError as err:
        return str(err).splitlines()
    return []


def test_replicator_quota_counts_the_replicators_each_region_receives(
        monkeypatch: pytest.MonkeyPatch, raw_manifest: Any, write_manifest: Any, tmp_path: Path) -> None:
    # Four regions cannot exceed the real quota of 15 (3 sources at most): lower it to reach the rule.
    monkeypatch.setattr(rules, "REPLICATORS_PER_REGION", 2)
    # Committed prod: every region is the DR region of exactly two others, so it receives 2: at the quota.
    assert _lines(tmp_path / "at-quota.yaml", None, raw_manifest, write_manifest) == []
    # ap-south-1 backs up to us-east-1 instead of eu-west-1: us-east-1 receives 3, eu-west-1 only 1.
    path = tmp_path / "over-quota.yaml"
    assert _lines(path, _set("regions.3.dr_regions", ["ap-southeast-1", "us-east-1"]), raw_manifest,
                  write_manifest) == [
        f"{path}: regions[0].name (us-east-1): receives 3 MSK Replicators, over the quota of 2 per account and region"]


@pytest.mark.parametrize(("total", "replicated"), [(TOPICS_PER_REPLICATOR, True), (TOPICS_PER_REPLICATOR + 1, False)],
                         ids=["replicated topics at the limit", "unreplicated topics over the limit"])
def test_topics_per_replicator_counts_only_replicated_topics(total: int, replicated: bool, raw_manifest: Any,
                                                             write_manifest: Any, tmp_path: Path) -> None:
    lines = _lines(tmp_path / "topics.yaml", _topics(total, replicated), raw_manifest, write_manifest)
    # The brokers' partition rule may object to so many topics; the per-replicator rule must stay silent.
    assert not any(": streams.topics: " in line for line in lines), lines


def test_redis_oss_with_a_reason_is_accepted(raw_manifest: Any, write_manifest: Any) -> None:
    data = raw_manifest("prod")
    data["regions"][1]["redis"] |= {"engine": "redis", "engine_version": "7.1",
                                    "engine_reason": "a module only Redis OSS ships"}
    assert loader.load(write_manifest(data), "prod").regions[1].redis.engine == "redis"


def test_duplicate_yaml_key_is_rejected(tmp_path: Path) -> None:
    text = loader.manifest_path("dev").read_text().replace("logical_shards: 90000",
                                                           "logical_shards: 90000\nlogical_shards: 80000", 1)
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    expected = r"dup\.yaml: line \d+: not valid YAML \(duplicate key 'logical_shards'\)"
    with pytest.raises(loader.ManifestError, match=expected):
        loader.load(path)


def test_environment_must_match_the_stack(raw_manifest: Any, write_manifest: Any) -> None:
    path = write_manifest(raw_manifest("dev"))
    with pytest.raises(loader.ManifestError, match=r": environment: must be 'prod', the stack's environment"):
        loader.load(path, "prod")


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(loader.ManifestError, match=r"absent\.yaml: \(file\): cannot be read"):
        loader.load(tmp_path / "absent.yaml")


def test_committed_manifest_paths_are_shown_relative() -> None:
    assert loader.display(loader.manifest_path("prod")) == "regions/prod.yaml"


def test_every_problem_is_reported_at_once(raw_manifest: Any, write_manifest: Any) -> None:
    data = raw_manifest("prod")
    _set("regions.1.vpc_cidr", "10.10.0.0/16")(data)
    _set("regions.0.dr_regions", ["us-east-1", "eu-west-1"])(data)
    with pytest.raises(loader.ManifestError) as err:
        loader.load(write_manifest(data))
    assert len(str(err.value).splitlines()) == 2


def test_metrics_insights_quota_counts_each_regions_query_alarms(
        monkeypatch: pytest.MonkeyPatch, raw_manifest: Any, write_manifest: Any, tmp_path: Path) -> None:
    # Six query alarms per region cannot reach the real quota of 200: lower it to reach the rule.
    alarms = metrics_insights_alarms()
    monkeypatch.setattr(rules, "METRICS_INSIGHTS_ALARMS_PER_REGION", alarms)
    assert _lines(tmp_path / "at-quota.yaml", None, raw_manifest, write_manifest) == []
    monkeypatch.setattr(rules, "METRICS_INSIGHTS_ALARMS_PER_REGION", alarms - 1)
    path = tmp_path / "over-quota.yaml"
    regions = [r["name"] for r in raw_manifest("prod")["regions"]]
    assert _lines(path, None, raw_manifest, write_manifest) == [
        f"{path}: regions[{i}].name ({name}): gets {alarms} Metrics Insights alarms (one per signal of its cache "
        f"group and MSK cluster), over CloudWatch's {alarms - 1} per account and region, a quota that cannot be "
        "raised" for i, name in enumerate(regions)]
