"""Alarms as code for every data resource, the alert topics they page through, and in-cluster monitoring."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import pytest

from offline import stack_files
from program.config import PROJECT
from regions.cloudwatch_facts import METRICS_INSIGHTS_ALARMS_PER_REGION
from regions.group_alarms import metrics_insights_alarms
from regions.loader import load, manifest_path
from tests.conftest import plan as run_plan
from tests.plan_helpers import Doc, of_type


@pytest.fixture(params=["prod", "dev"])
def plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


def _topics(plan: Doc) -> dict[str, str]:
    return {t["region"]: t["outputs"]["arn"] for t in of_type(plan, "aws:sns/topic:Topic")}


def _alarms(plan: Doc) -> dict[str, dict[str, Any]]:
    return {a["inputs"]["name"]: a for a in of_type(plan, "aws:cloudwatch/metricAlarm:MetricAlarm")}


def test_alert_topics_are_encrypted_with_their_regions_key(plan: Doc) -> None:
    keys = {k["outputs"]["arn"]: k for k in of_type(plan, "aws:kms/key:Key")}
    topics = of_type(plan, "aws:sns/topic:Topic")
    assert sorted(t["region"] for t in topics) == sorted(plan["regions"])
    for topic in topics:
        key = keys[topic["inputs"]["kmsMasterKeyId"]]
        assert key["region"] == topic["region"]
        statements = json.loads(key["inputs"]["policy"])["Statement"]
        assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
    subscriptions = of_type(plan, "aws:sns/topicSubscription:TopicSubscription")
    assert {(s["region"], s["inputs"]["protocol"], s["inputs"]["endpoint"]) for s in subscriptions} == \
        {(r, "email", "platform-oncall@example.com") for r in plan["regions"]}


def test_every_aurora_cluster_has_its_alarms_routed_to_its_region(plan: Doc) -> None:
    topics, alarms = _topics(plan), _alarms(plan)
    for cluster in of_type(plan, "aws:rds/cluster:Cluster"):
        ident = cluster["inputs"]["clusterIdentifier"]
        # Lag on the writer too: after a switchover outside Pulumi the old writer is the one that can lag.
        for suffix in ("cpu", "memory", "connections", "global-lag"):
            alarm = alarms[f"{ident}-{suffix}"]
            assert alarm["region"] == cluster["region"], (ident, suffix)
            assert alarm["inputs"]["alarmActions"] == [topics[cluster["region"]]]
            assert alarm["inputs"]["dimensions"] == {"DBClusterIdentifier": ident}
        assert alarms[f"{ident}-global-lag"]["inputs"]["treatMissingData"] == "notBreaching"


def test_connection_alarm_tracks_max_connections(prod_plan: Doc) -> None:
    manifest = load(manifest_path("prod"), "prod")
    alarm = _alarms(prod_plan)["prod-use1-sg01-use1-connections"]
    assert alarm["inputs"]["threshold"] == 5000 * manifest.alarms.aurora_connections_percent // 100


def test_every_msk_cluster_has_its_cluster_level_alarms(plan: Doc) -> None:
    topics, alarms = _topics(plan), _alarms(plan)
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    for region in manifest.regions:
        name = f"{plan['environment']}-{region.short_code}-kafka"
        for alarm_name in (f"{name}-offline-partitions", f"{name}-active-controller"):
            assert alarms[alarm_name]["inputs"]["alarmActions"] == [topics[region.name]], alarm_name
            assert alarms[alarm_name]["inputs"]["dimensions"] == {"Cluster Name": name}


# One infra stack per environment: the query alarms are the region stamp's, and each region gets the same set.
INFRA_STACKS = ["dev-us-east-1", "prod-ap-south-1"]


@pytest.fixture(scope="module", params=INFRA_STACKS)
def infra(request: pytest.FixtureRequest) -> Doc:
    return run_plan(request.param)


def _query_alarms(doc: Doc) -> dict[str, dict[str, Any]]:
    return {a["inputs"]["name"]: a["inputs"] for a in of_type(doc, "aws:cloudwatch/metricAlarm:MetricAlarm")
            if "metricQueries" in a["inputs"]}


def _region(doc: Doc) -> Any:
    manifest = load(manifest_path(doc["environment"]), doc["environment"])
    (region,) = [r for r in manifest.regions if r.name == doc["regions"][0]]
    return manifest, region


def _assert_query_alarm(inputs: dict[str, Any], expression: str, threshold: float, period: int, topic: str) -> None:
    (query,) = inputs["metricQueries"]
    assert query["expression"] == expression
    assert query["period"] == period and query["returnData"] is True
    assert inputs["threshold"] == threshold and inputs["comparisonOperator"] == "GreaterThanThreshold"
    # A member that stops reporting (a node removed by a reshard) is not a failure; a query alarm names no metric.
    assert inputs["treatMissingData"] == "notBreaching"
    assert not {"namespace", "metricName", "statistic", "dimensions", "period"} & set(inputs)
    assert inputs["alarmActions"] == [topic] == inputs["okActions"]


def test_each_msk_broker_signal_is_one_query_alarm_over_the_clusters_brokers(infra: Doc) -> None:
    manifest, region = _region(infra)
    name, t = f"{infra['environment']}-{region.short_code}-kafka", manifest.alarms
    (cluster,) = of_type(infra, "aws:msk/cluster:Cluster")
    assert cluster["inputs"]["clusterName"] == name
    schema = 'FROM SCHEMA("AWS/Kafka", "Cluster Name", "Broker ID") WHERE "Cluster Name" = ' + f"'{name}'"
    wanted = {"under-replicated": (f'SELECT MAX(UnderReplicatedPartitions) {schema} GROUP BY "Broker ID" '
                                   "ORDER BY MAX() DESC", 0, 60),
              "disk": (f'SELECT MAX(KafkaDataLogsDiskUsed) {schema} GROUP BY "Broker ID" ORDER BY MAX() DESC',
                       t.kafka_disk_used_percent, 300)}
    alarms = {n: a for n, a in _query_alarms(infra).items() if n.startswith(f"{name}-")}
    assert sorted(alarms) == sorted(f"{name}-{suffix}" for suffix in wanted)  # one per signal, not per broker
    for suffix, (expression, threshold, period) in wanted.items():
        _assert_query_alarm(alarms[f"{name}-{suffix}"], expression, threshold, period, _topics(infra)[region.name])


def test_each_cache_signal_is_one_query_alarm_over_the_groups_nodes(infra: Doc) -> None:
    manifest, region = _region(infra)
    name, t = f"{infra['environment']}-{region.short_code}-cache", manifest.alarms
    (group,) = of_type(infra, "aws:elasticache/replicationGroup:ReplicationGroup")
    assert group["inputs"]["replicationGroupId"] == name
    # No dimension names the group: every node of the account's region, one series per node (CacheClusterId).
    schema = 'FROM SCHEMA("AWS/ElastiCache", CacheClusterId, CacheNodeId) GROUP BY CacheClusterId'
    wanted = {"cpu": ("MAX(EngineCPUUtilization)", "MAX()", t.cache_engine_cpu_percent, 300, 3),
              "memory": ("MAX(DatabaseMemoryUsagePercentage)", "MAX()", t.cache_memory_percent, 300, 3),
              "evictions": ("SUM(Evictions)", "SUM()", t.cache_evictions_per_minute, 60, 5),
              # Lag on every node: node 001 is a replica after a failover; as a primary it reports none.
              "replication-lag": ("MAX(ReplicationLag)", "MAX()", t.cache_replication_lag_seconds, 60, 3)}
    alarms = {n: a for n, a in _query_alarms(infra).items() if n.startswith(f"{name}-")}
    assert sorted(alarms) == sorted(f"{name}-{suffix}" for suffix in wanted)  # one per signal, not per node
    for suffix, (select, order, threshold, period, periods) in wanted.items():
        inputs = alarms[f"{name}-{suffix}"]
        _assert_query_alarm(inputs, f"SELECT {select} {schema} ORDER BY {order} DESC", threshold, period,
                            _topics(infra)[region.name])
        assert inputs["evaluationPeriods"] == periods == inputs["datapointsToAlarm"]
        assert inputs["alarmDescription"].startswith(f"{name}: ")


def test_a_regions_query_alarms_stay_within_cloudwatchs_quota(infra: Doc) -> None:
    """What the manifest rule counts is what the stamp registers, and it fits the quota with room."""
    alarms = _query_alarms(infra)
    assert len(alarms) == metrics_insights_alarms() == 6
    assert len(alarms) <= METRICS_INSIGHTS_ALARMS_PER_REGION
    # None of the per-node or per-broker alarms of before is left (<group>-0001-001-cpu, <cluster>-b1-disk).
    names = [a["inputs"]["name"] for a in of_type(infra, "aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert not [n for n in names if re.search(r"-\d{4}-\d{3}-|-b\d+-", n)]


def test_every_nat_gateway_alarms_on_port_allocation_errors(plan: Doc) -> None:
    alarms = [a for a in of_type(plan, "aws:cloudwatch/metricAlarm:MetricAlarm")
              if a["inputs"].get("metricName") == "ErrorPortAllocation"]
    nats = {n["outputs"]["id"]: n["region"] for n in of_type(plan, "aws:ec2/natGateway:NatGateway")}
    assert {a["inputs"]["dimensions"]["NatGatewayId"]: a["region"] for a in alarms} == nats


def test_alarms_page_only_their_own_regions_topic(plan: Doc) -> None:
    topics = _topics(plan)
    by_region: dict[str, int] = defaultdict(int)
    for alarm in of_type(plan, "aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm["inputs"]["alarmActions"] == [topics[alarm["region"]]] == alarm["inputs"]["okActions"]
        by_region[alarm["region"]] += 1
    assert set(by_region) == set(plan["regions"])


def test_monitoring_stack_on_every_cluster(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    for region in manifest.regions:
        (release,) = [r["inputs"] for r in of_type(plan, "kubernetes:helm.sh/v3:Release", region.name)
                      if r["inputs"]["chart"] == "kube-prometheus-stack"]
        spec = release["values"]["prometheus"]["prometheusSpec"]
        assert spec["retention"] == f"{manifest.alarms.prometheus_retention_days}d"
        storage = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert storage["resources"]["requests"]["storage"] == f"{manifest.alarms.prometheus_storage_gib}Gi"
        assert storage["storageClassName"] == "gp3-encrypted" and release["namespace"] == "monitoring"
        (monitor,) = of_type(plan, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", region.name)
        assert monitor["inputs"]["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "pgbouncer"}}
        assert monitor["inputs"]["spec"]["endpoints"][0]["port"] == "metrics"
        (dashboards,) = [c["inputs"] for c in of_type(plan, "kubernetes:core/v1:ConfigMap", region.name)
                         if c["inputs"]["metadata"]["name"] == "platform-dashboards"]
        assert set(dashboards["data"]) == {"pgbouncer.json", "data-tier.json"}
        assert all(json.loads(text)["panels"] for text in dashboards["data"].values())


def test_cloudflare_pool_health_pages_the_same_target(plan: Doc) -> None:
    (policy,) = of_type(plan, "cloudflare:index/notificationPolicy:NotificationPolicy")
    pools = {p["outputs"]["id"] for p in of_type(plan, "cloudflare:index/loadBalancerPool:LoadBalancerPool")}
    assert policy["inputs"]["alertType"] == "load_balancing_health_alert"
    assert set(policy["inputs"]["filters"]["poolIds"]) == pools
    assert policy["inputs"]["mechanisms"]["emails"] == [{"id": "platform-oncall@example.com"}]


def test_an_oncall_webhook_is_subscribed_everywhere() -> None:
    url = "https://events.pagerduty.example/integration/KEY-abc123"
    configs = {}
    for stack in ("dev-us-east-1", "dev-eu-west-1", "dev-global"):  # the stacks that page: topics, Cloudflare
        values, secrets = stack_files.read(stack)
        key = f"{PROJECT}:alertWebhookUrl"
        configs[stack] = ({**values, key: url}, [*secrets, key])  # as `pulumi config set --secret` stores it
    doc = run_plan("dev", configs=configs)
    # The URL embeds the integration key: it is a secret everywhere it goes, so nowhere in clear in the plan.
    assert url not in json.dumps(doc) and "KEY-abc123" not in json.dumps(doc)
    https = [s for s in of_type(doc, "aws:sns/topicSubscription:TopicSubscription")
             if s["inputs"]["protocol"] == "https"]
    assert sorted(s["region"] for s in https) == sorted(doc["regions"])
    (policy,) = of_type(doc, "cloudflare:index/notificationPolicy:NotificationPolicy")
    assert len(policy["inputs"]["mechanisms"]["webhooks"]) == 1
    # ... while the subscriptions and Cloudflare's webhook do receive it, as a secret the engine encrypts.
    assert all(s["inputs"]["endpoint"] == "[secret]" for s in https)
    (hook,) = of_type(doc, "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks")
    assert hook["inputs"]["url"] == "[secret]"
