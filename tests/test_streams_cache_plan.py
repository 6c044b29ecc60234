"""MSK, its replication into the DR regions, and ElastiCache, in the planned stacks."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from components.kafka import SERVER_PROPERTIES
from regions.loader import load, manifest_path
from regions.loads import kafka_sources
from tests.plan_helpers import Doc, of_type


@pytest.fixture(params=["prod", "dev"])
def plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


def _manifest(plan: Doc) -> Any:
    return load(manifest_path(plan["environment"]), plan["environment"])


def _region(arn: str) -> str:
    return arn.split(":")[3]


def _sg_ids(plan: Doc, region: str, **tags: str) -> list[str]:
    return [g["outputs"]["id"] for g in of_type(plan, "aws:ec2/securityGroup:SecurityGroup", region)
            if all(g["inputs"].get("tags", {}).get(k) == v for k, v in tags.items())]


def _ingress(plan: Doc, region: str, sg_id: str) -> list[dict[str, Any]]:
    return [r["inputs"] for r in of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", region)
            if r["inputs"]["securityGroupId"] == sg_id]


def test_one_msk_cluster_per_region_as_the_manifest_says(plan: Doc) -> None:
    for region in _manifest(plan).regions:
        (cluster,) = of_type(plan, "aws:msk/cluster:Cluster", region.name)
        inputs = cluster["inputs"]
        assert inputs["kafkaVersion"] == region.kafka.kafka_version and inputs["kafkaVersion"].endswith(".kraft")
        assert inputs["numberOfBrokerNodes"] == region.kafka.brokers
        assert inputs["numberOfBrokerNodes"] % len(inputs["brokerNodeGroupInfo"]["clientSubnets"]) == 0
        info = inputs["brokerNodeGroupInfo"]
        assert info["instanceType"] == region.kafka.broker_type
        private = {s["outputs"]["id"] for s in of_type(plan, "aws:ec2/subnet:Subnet", region.name)
                   if s["inputs"]["tags"]["tier"] == "private"}
        assert set(info["clientSubnets"]) == private
        assert info["storageInfo"]["ebsStorageInfo"]["volumeSize"] == region.kafka.storage_gib
        assert info["connectivityInfo"]["publicAccess"] == {"type": "DISABLED"}
        assert info["connectivityInfo"]["vpcConnectivity"]["clientAuthentication"]["sasl"]["iam"] is True
        assert cluster["protect"] is (plan["environment"] == "prod")


def test_msk_encrypted_iam_only_logged_and_monitored(plan: Doc) -> None:
    for cluster in of_type(plan, "aws:msk/cluster:Cluster"):
        inputs = cluster["inputs"]
        encryption = inputs["encryptionInfo"]
        assert encryption["encryptionInTransit"] == {"clientBroker": "TLS", "inCluster": True}
        assert _region(encryption["encryptionAtRestKmsKeyArn"]) == cluster["region"]
        assert inputs["clientAuthentication"] == {"sasl": {"iam": True}, "unauthenticated": False}
        logs = inputs["loggingInfo"]["brokerLogs"]["cloudwatchLogs"]
        assert logs["enabled"] is True
        (group,) = [g for g in of_type(plan, "aws:cloudwatch/logGroup:LogGroup", cluster["region"])
                    if g["inputs"]["name"] == logs["logGroup"]]
        assert group["inputs"]["retentionInDays"] > 0 and _region(group["inputs"]["kmsKeyId"]) == cluster["region"]
        assert inputs["enhancedMonitoring"] != "DEFAULT"
        prometheus = inputs["openMonitoring"]["prometheus"]
        assert prometheus["jmxExporter"]["enabledInBroker"] and prometheus["nodeExporter"]["enabledInBroker"]


def test_msk_configuration_is_safe_by_default(plan: Doc) -> None:
    for region in plan["regions"]:
        (configuration,) = of_type(plan, "aws:msk/configuration:Configuration", region)
        properties = dict(line.split("=", 1) for line in configuration["inputs"]["serverProperties"].splitlines())
        assert properties["auto.create.topics.enable"] == "false"
        assert properties["default.replication.factor"] == "3"
        assert properties["min.insync.replicas"] == "2"
        assert properties["unclean.leader.election.enable"] == "false"
        assert properties == SERVER_PROPERTIES
        (cluster,) = of_type(plan, "aws:msk/cluster:Cluster", region)
        assert cluster["inputs"]["configurationInfo"]["arn"] == configuration["outputs"]["arn"]


def test_storage_grows_automatically_up_to_the_manifests_ceiling(plan: Doc) -> None:
    for region in _manifest(plan).regions:
        (target,) = of_type(plan, "aws:appautoscaling/target:Target", region.name)
        (cluster,) = of_type(plan, "aws:msk/cluster:Cluster", region.name)
        assert target["inputs"]["resourceId"] == cluster["outputs"]["arn"]
        assert target["inputs"]["scalableDimension"] == "kafka:broker-storage:VolumeSize"
        assert target["inputs"]["maxCapacity"] == region.kafka.max_storage_gib
        (policy,) = of_type(plan, "aws:appautoscaling/policy:Policy", region.name)
        config = policy["inputs"]["targetTrackingScalingPolicyConfiguration"]
        assert config["predefinedMetricSpecification"]["predefinedMetricType"] == "KafkaBrokerStorageUtilization"
        assert cluster["ignoreChanges"] == ["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"]


def test_brokers_admit_only_the_workloads_the_replicator_and_the_deploy_runner(plan: Doc) -> None:
    for region in plan["regions"]:
        (cluster,) = of_type(plan, "aws:msk/cluster:Cluster", region)
        (sg_id,) = cluster["inputs"]["brokerNodeGroupInfo"]["securityGroups"]
        workloads = _sg_ids(plan, region, **{"node-group": "workloads"})[0]
        replicator = next(g["outputs"]["id"] for g in of_type(plan, "aws:ec2/securityGroup:SecurityGroup", region)
                          if g["name"].endswith("-kafka-replicator"))
        runner = next(g["outputs"]["id"] for g in of_type(plan, "aws:ec2/securityGroup:SecurityGroup", region)
                      if g["name"].endswith("-deploy-runner"))
        sources = {(r.get("referencedSecurityGroupId"), r["fromPort"], r["toPort"])
                   for r in _ingress(plan, region, sg_id)}
        assert sources == {(workloads, 9098, 9098), (replicator, 9098, 9098), (runner, 9098, 9098),
                           (sg_id, 9092, 9098)}
        assert all("cidrIpv4" not in r for r in _ingress(plan, region, sg_id))


def test_topics_follow_the_manifests_plan(plan: Doc) -> None:
    manifest = _manifest(plan)
    for region in plan["regions"]:
        topics = {t["inputs"]["name"]: t for t in of_type(plan, "kafka:index/topic:Topic", region)}
        assert {n: t["inputs"]["partitions"] for n, t in topics.items()} == \
            {t.name: t.partitions for t in manifest.streams.topics}
        assert all(t["inputs"]["replicationFactor"] == 3 for t in topics.values())


def test_replicators_into_every_dr_region_created_there(plan: Doc) -> None:
    manifest = _manifest(plan)
    clusters = {c["region"]: c["outputs"]["arn"] for c in of_type(plan, "aws:msk/cluster:Cluster")}
    expected = {(s.name, t) for s in manifest.regions for t in s.dr_regions}
    replicators = of_type(plan, "aws:msk/replicator:Replicator")
    seen = set()
    for replicator in replicators:
        info = replicator["inputs"]["replicationInfoList"]
        source, target = _region(info["sourceKafkaClusterArn"]), _region(info["targetKafkaClusterArn"])
        assert replicator["region"] == target  # replicators live in the target region
        assert (info["sourceKafkaClusterArn"], info["targetKafkaClusterArn"]) == (clusters[source], clusters[target])
        (topics,) = info["topicReplications"]
        assert topics["topicsToReplicates"] == [t.name for t in manifest.streams.topics if t.replicated]
        (groups,) = info["consumerGroupReplications"]
        assert groups["synchroniseConsumerGroupOffsets"] is True
        seen.add((source, target))
    assert seen == expected and len(replicators) == len(expected)
    # The manifest's replicator-quota rule counts kafka_sources(); it must count what the program builds.
    planned = Counter(r["region"] for r in replicators)
    assert {r.name: planned[r.name] for r in manifest.regions} == \
        {r.name: len(kafka_sources(manifest, r)) for r in manifest.regions}


def test_replicator_roles_reach_only_their_two_clusters(plan: Doc) -> None:
    roles = {r["outputs"]["arn"]: r for r in of_type(plan, "aws:iam/role:Role")}
    policies = {p["inputs"]["role"]: p for p in of_type(plan, "aws:iam/rolePolicy:RolePolicy")}
    for replicator in of_type(plan, "aws:msk/replicator:Replicator"):
        role = roles[replicator["inputs"]["serviceExecutionRoleArn"]]
        (trust,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Service": "kafka.amazonaws.com"}
        statements = json.loads(policies[role["outputs"]["name"]]["inputs"]["policy"])["Statement"]
        info = replicator["inputs"]["replicationInfoList"]
        pair = {info["sourceKafkaClusterArn"], info["targetKafkaClusterArn"]}
        assert set(statements[0]["Resource"]) == pair
        assert all("*" not in arn.split(":")[3:5] for s in statements for arn in s["Resource"])


def test_source_clusters_let_the_replicator_connect(plan: Doc) -> None:
    for region in plan["regions"]:
        (policy,) = of_type(plan, "aws:msk/clusterPolicy:ClusterPolicy", region)
        (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
        assert statement["Principal"] == {"Service": "kafka.amazonaws.com"}
        assert "kafka:CreateVpcConnection" in statement["Action"]


def test_one_redis_cluster_per_region_as_the_manifest_says(plan: Doc) -> None:
    prod = plan["environment"] == "prod"
    for region in _manifest(plan).regions:
        (group,) = of_type(plan, "aws:elasticache/replicationGroup:ReplicationGroup", region.name)
        inputs = group["inputs"]
        assert (inputs["engine"], inputs["engineVersion"], inputs["nodeType"]) == \
            (region.redis.engine, region.redis.engine_version, region.redis.node_type)
        assert inputs["clusterMode"] == "enabled"
        assert (inputs["numNodeGroups"], inputs["replicasPerNodeGroup"]) == \
            (region.redis.shards, region.redis.replicas_per_shard)
        assert not prod or inputs["replicasPerNodeGroup"] >= 1
        assert inputs["automaticFailoverEnabled"] is True and inputs["multiAzEnabled"] is True
        assert inputs["transitEncryptionEnabled"] is True and inputs["transitEncryptionMode"] == "required"
        assert inputs["atRestEncryptionEnabled"] is True and _region(inputs["kmsKeyId"]) == region.name
        assert inputs["snapshotRetentionLimit"] == region.redis.snapshot_retention_days >= 1
        assert inputs["finalSnapshotIdentifier"] and inputs["autoMinorVersionUpgrade"] is True
        assert {c["logType"] for c in inputs["logDeliveryConfigurations"]} == {"slow-log", "engine-log"}
        data = {s["outputs"]["id"] for s in of_type(plan, "aws:ec2/subnet:Subnet", region.name)
                if s["inputs"]["tags"]["tier"] == "data"}
        (subnet_group,) = of_type(plan, "aws:elasticache/subnetGroup:SubnetGroup", region.name)
        assert inputs["subnetGroupName"] == subnet_group["inputs"]["name"]
        assert set(subnet_group["inputs"]["subnetIds"]) == data
        assert group["protect"] is prod


def test_redis_rbac_disables_the_default_user(plan: Doc) -> None:
    for region in plan["regions"]:
        users = {u["inputs"]["userId"]: u["inputs"] for u in of_type(plan, "aws:elasticache/user:User", region)}
        (group,) = of_type(plan, "aws:elasticache/userGroup:UserGroup", region)
        members = [users[u] for u in group["inputs"]["userIds"]]
        (default,) = [u for u in members if u["userName"] == "default"]
        assert default["accessString"].startswith("off")
        # Passwords reach the engine only as secrets (the whole authentication block is masked).
        assert all(u["authenticationMode"] == "[secret]" for u in members)
        (rg,) = of_type(plan, "aws:elasticache/replicationGroup:ReplicationGroup", region)
        assert rg["inputs"]["userGroupIds"] == [group["inputs"]["userGroupId"]]


def test_redis_admits_only_the_workloads(plan: Doc) -> None:
    for region in plan["regions"]:
        (rg,) = of_type(plan, "aws:elasticache/replicationGroup:ReplicationGroup", region)
        (sg_id,) = rg["inputs"]["securityGroupIds"]
        workloads = _sg_ids(plan, region, **{"node-group": "workloads"})[0]
        rules = _ingress(plan, region, sg_id)
        assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in rules] == \
            [(workloads, 6379, 6379)]


def test_endpoints_reach_applications(plan: Doc) -> None:
    outputs = plan["stackOutputs"]
    for region in plan["regions"]:
        (config,) = [c for c in of_type(plan, "kubernetes:core/v1:ConfigMap", region)
                     if c["inputs"]["metadata"]["name"] == "platform-endpoints"]
        data = config["inputs"]["data"]
        assert data["kafka.bootstrapBrokersSaslIam"] == outputs["kafka"][region]["bootstrapBrokersSaslIam"]
        assert ":9098" in data["kafka.bootstrapBrokersSaslIam"]
        assert data["redis.configurationEndpoint"] == outputs["cache"][region]["configurationEndpoint"]


def _key_arn(plan: Doc, region: str, name: str) -> str:
    (key,) = [k for k in of_type(plan, "aws:kms/key:Key", region) if k["name"] == name]
    arn: str = key["outputs"]["arn"]
    return arn


def test_redis_parameter_group_is_the_regions_own_with_cluster_mode(plan: Doc) -> None:
    for region in _manifest(plan).regions:
        (rg,) = of_type(plan, "aws:elasticache/replicationGroup:ReplicationGroup", region.name)
        (group,) = [g for g in of_type(plan, "aws:elasticache/parameterGroup:ParameterGroup")
                    if g["inputs"]["name"] == rg["inputs"]["parameterGroupName"]]
        assert group["region"] == region.name
        assert group["urn"] in rg["dependencies"]
        major = region.redis.engine_version.split(".")[0]
        assert group["inputs"]["family"] == f"{region.redis.engine}{major}" == \
            f"{rg['inputs']['engine']}{rg['inputs']['engineVersion'].split('.')[0]}"
        parameters = {p["name"]: p["value"] for p in group["inputs"]["parameters"]}
        assert parameters["cluster-enabled"] == "yes"


def test_redis_app_secret_uses_the_regions_customer_key(plan: Doc) -> None:
    env = plan["environment"]
    for region in _manifest(plan).regions:
        name = f"{env}/cache/{region.short_code}/app"
        (secret,) = [s for s in of_type(plan, "aws:secretsmanager/secret:Secret") if s["inputs"]["name"] == name]
        assert secret["region"] == region.name and _region(secret["outputs"]["arn"]) == region.name
        key_id = secret["inputs"]["kmsKeyId"]
        # A customer-managed key of this region, not alias/aws/secretsmanager (nor another region's key).
        assert key_id == _key_arn(plan, region.name, f"{region.short_code}-secrets-key")
        assert ":alias/" not in key_id and _region(key_id) == region.name
        assert secret["inputs"]["recoveryWindowInDays"] == (30 if env == "prod" else 7)
        assert secret["protect"] is (env == "prod")
        (version,) = [v for v in of_type(plan, "aws:secretsmanager/secretVersion:SecretVersion", region.name)
                      if v["inputs"]["secretId"] == secret["outputs"]["arn"]]
        assert version["inputs"]["secretString"] == "[secret]"
        (config,) = [c for c in of_type(plan, "kubernetes:core/v1:ConfigMap", region.name)
                     if c["inputs"]["metadata"]["name"] == "platform-endpoints"]
        assert config["inputs"]["data"]["redis.credentialsSecretArn"] == secret["outputs"]["arn"]


def test_redis_logs_go_to_encrypted_log_groups_with_the_manifests_retention(plan: Doc) -> None:
    for region in _manifest(plan).regions:
        (rg,) = of_type(plan, "aws:elasticache/replicationGroup:ReplicationGroup", region.name)
        groups = {g["inputs"]["name"]: g for g in of_type(plan, "aws:cloudwatch/logGroup:LogGroup", region.name)}
        deliveries = rg["inputs"]["logDeliveryConfigurations"]
        assert sorted(d["logType"] for d in deliveries) == ["engine-log", "slow-log"]
        logs_key = _key_arn(plan, region.name, f"{region.short_code}-logs-key")
        for delivery in deliveries:
            assert delivery["destinationType"] == "cloudwatch-logs"
            group = groups[delivery["destination"]]
            assert group["urn"] in rg["dependencies"]
            assert group["inputs"]["retentionInDays"] == region.redis.log_retention_days
            assert group["inputs"]["kmsKeyId"] == logs_key
