"""`make preflight` on moto: quotas and usage per region of prod against what the plan needs.

moto plays the account (its STS account is 123456789012, so the stack file is rewritten for it). Calls moto does
not answer the way AWS does are answered first by ``FakeAws``: Service Quotas (moto knows only the vpc codes
and has no GetAWSDefaultServiceQuota), MSK ListReplicators (not implemented), regional NAT gateways (moto has
no AvailabilityMode) and refused permissions (moto does not enforce IAM by default).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from rich.console import Console

from offline import stack_files
from operations import preflight
from operations.quota_values import QuotaValue, quota_value
from operations.stack import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, load_target
from operations.usage import Usage, UsageReader
from program.config import PROJECT, stack_file
from regions import loader
from regions import service_quotas as q
from regions.quota_needs import region_needs

MOTO_ACCOUNT = DEFAULT_ACCOUNT_ID  # what moto's STS answers
STACK_ACCOUNT = "111111111111"  # Pulumi.prod.yaml's placeholder account
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1"]
OWN_TAGS = {"project": PROJECT, "environment": "prod"}
AP_SOUTH_RDS_INSTANCES = 36  # what prod's manifest needs in ap-south-1, against a default quota of 20


def granted_increases() -> dict[tuple[str, str], dict[str, Any]]:
    """The increases `make plan` lists for prod (every need above its default), as granted: exactly the need."""
    needs = region_needs(loader.load(loader.manifest_path("prod"), "prod"))
    return {(region, need.quota.quota_code): {"QuotaCode": need.quota.quota_code, "Value": float(need.amount)}
            for region, region_needs_ in needs.items() for need in region_needs_
            if need.amount > need.quota.default_in(region)}


class FakeAws:
    """Answers calls before moto sees them; everything else goes on to moto."""

    def __init__(self) -> None:
        # (region, quota code) -> GetServiceQuota's Quota: an account whose increases for prod were granted.
        self.applied: dict[tuple[str, str], dict[str, Any]] = granted_increases()
        self.aws_defaults: dict[tuple[str, str], float] = {}
        self.replies: dict[str, dict[str, Any]] = {"ListReplicators": {"Replicators": []}}
        self.refused: dict[str, str] = {}  # operation -> error code

    def answer(self, model: Any, params: dict[str, Any], request_signer: Any, **_: Any) -> Any:
        operation, region = model.name, request_signer.region_name
        if operation in self.refused:
            return _error(403, self.refused[operation], "not authorized to perform this operation")
        if operation in self.replies:
            return _ok(self.replies[operation])
        if model.service_model.service_name == "service-quotas":
            return self._quota(operation, region, json.loads(params["body"])["QuotaCode"])
        return None

    def _quota(self, operation: str, region: str, code: str) -> Any:
        if operation == "GetServiceQuota" and (region, code) in self.applied:
            return _ok({"Quota": self.applied[region, code]})
        if operation == "GetAWSDefaultServiceQuota" and (region, code) in self.aws_defaults:
            return _ok({"Quota": {"QuotaCode": code, "Value": self.aws_defaults[region, code]}})
        return _error(400, "NoSuchResourceException", "The specified resource does not exist.")


def _ok(body: dict[str, Any]) -> Any:
    return AWSResponse("", 200, {}, None), body


def _error(status: int, code: str, message: str) -> Any:
    return AWSResponse("", status, {}, None), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeAws]:
    """Fake credentials and no AWS config file of the machine, moto, and boto3 sessions asking ``FakeAws`` first."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
                        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}.items():  # AMIs cost a second per region
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)  # never the real Cloudflare API from a test
    # The offerings reads (EKS add-on versions, the Price List) have their own Stubber tests
    # (tests/test_offerings.py); moto answers none of them, so here every offering is there.
    monkeypatch.setattr(preflight.offerings, "check", lambda session, manifest: [])
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeAws()

    class AnsweredSession(boto3.Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.events.register("before-call", fake.answer)

    monkeypatch.setattr(boto3, "Session", AnsweredSession)
    with mock_aws():
        yield fake


@pytest.fixture
def moto_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """prod's stack files deploying to moto's account, read by load_target instead of the committed files."""
    for stack in stack_files.stacks():
        committed = stack_files.PROJECT_DIR / stack_file(stack)
        (tmp_path / stack_file(stack)).write_text(committed.read_text().replace(STACK_ACCOUNT, MOTO_ACCOUNT))
    monkeypatch.setattr(stack_files, "read", functools.partial(stack_files.read, directory=tmp_path))


def run(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = preflight.main(["--stack", "prod"])
    out, err = capsys.readouterr()
    return code, out, err


def checks() -> dict[str, list[preflight.QuotaCheck]]:
    return preflight.check_all(boto3.Session(), load_target("prod").manifest)


def shortfalls(results: dict[str, list[preflight.QuotaCheck]]) -> list[tuple[str, str, int, int]]:
    """(region, quota code, required, quota value) of every shortfall."""
    return [(c.region, c.need.quota.quota_code, c.required, c.quota.value)
            for region_checks in results.values() for c in region_checks if c.shortfall]


def check_of(results: dict[str, list[preflight.QuotaCheck]], region: str, fact: q.QuotaFact) -> preflight.QuotaCheck:
    return next(c for c in results[region] if c.need.quota == fact)


def table_rows(text: str) -> dict[str, list[str]]:
    """The cells of each row's first line in the first quota table of ``text``, by quota code."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in text[:text.index("└")].splitlines() if "│ L-" in line]
    return {cells[1]: cells for cells in rows}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def db_instances(region: str, count: int, tags: dict[str, str], prefix: str) -> None:
    rds = boto3.client("rds", region_name=region)
    for index in range(count):
        rds.create_db_instance(DBInstanceIdentifier=f"{prefix}-{index}", Engine="postgres",
                               DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername="admin_user",
                               MasterUserPassword="not-a-real-password", Tags=tag_list(tags))


def test_a_healthy_account_holds_every_quota(fake_aws: FakeAws, moto_stack: None,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert (code, err) == (EXIT_OK, "")
    assert f"account {MOTO_ACCOUNT}, 4 regions" in out
    for region in REGIONS:
        assert f"{region}: quotas against the plan" in out
    assert "shortfall" not in out
    assert "every quota holds the plan" in out


def test_an_item_a_region_does_not_offer_is_a_finding(fake_aws: FakeAws, moto_stack: None,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    missing = preflight.offerings.OfferingFinding(region="ap-south-1", service="ec2", item="m8g.2xlarge", ok=False,
                                                  detail="not offered (DescribeInstanceTypeOfferings)")
    monkeypatch.setattr(preflight.offerings, "check", lambda session, manifest: [missing])
    code, out, _ = run(capsys)
    assert code == EXIT_FINDINGS and "m8g.2xlarge" in out and "every quota holds the plan" in out


def test_ap_south_1_rds_instance_shortfall(fake_aws: FakeAws, moto_stack: None,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db_instances("ap-south-1", 2, {}, "untagged")
    db_instances("ap-south-1", 1, {"project": "billing", "environment": "prod"}, "billing")
    db_instances("us-east-1", 3, {}, "elsewhere")  # another region's instances do not count here
    fake_aws.applied["us-east-1", "L-7B6409FD"] = {"QuotaCode": "L-7B6409FD", "Value": 48.0}  # room for them

    code, out, _ = run(capsys)

    required = 3 + AP_SOUTH_RDS_INSTANCES
    assert code == EXIT_FINDINGS
    findings = [line for line in out.splitlines() if line.startswith(("- ", "  aws "))]
    assert findings == [
        f"- ap-south-1: rds DB instances (L-7B6409FD): needs {required} (3 in use by others + "
        f"{AP_SOUTH_RDS_INSTANCES} for the plan), quota {AP_SOUTH_RDS_INSTANCES} (applied)",
        f"  aws service-quotas request-service-quota-increase --service-code rds --quota-code L-7B6409FD "
        f"--desired-value {required} --region ap-south-1",
    ]
    assert "1 quota shortfall(s)" in out


def test_the_stacks_own_resources_are_not_counted_twice(fake_aws: FakeAws) -> None:
    db_instances("ap-south-1", 5, OWN_TAGS, "own")
    db_instances("ap-south-1", 1, {}, "untagged")
    db_instances("ap-south-1", 1, {"project": PROJECT, "environment": "dev"}, "dev")  # another stack's

    # 2 others + 36 for the plan fill a quota of 38 exactly; counting the 5 own would make it 43.
    fake_aws.applied["ap-south-1", "L-7B6409FD"] = {"QuotaCode": "L-7B6409FD", "Value": 38.0}
    results = checks()

    instances = check_of(results, "ap-south-1", q.RDS_INSTANCES)
    assert (instances.usage, instances.required, instances.quota.value) == (Usage(others=2, own=5), 38, 38)
    assert shortfalls(results) == []


def test_an_applied_quota_value_lifts_the_shortfall(fake_aws: FakeAws, moto_stack: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    db_instances("ap-south-1", 3, {}, "untagged")
    fake_aws.applied["ap-south-1", "L-7B6409FD"] = {"QuotaCode": "L-7B6409FD", "Value": 40.0}

    code, out, _ = run(capsys)

    assert code == EXIT_OK
    assert "every quota holds the plan" in out
    ap_south_1 = out[out.index("ap-south-1: quotas against the plan"):]
    assert table_rows(ap_south_1)["L-7B6409FD"][2:] == ["40", "applied", "3", "0", "36", "1", "ok"]


def test_without_an_applied_value_the_aws_default_then_the_documented_default(fake_aws: FakeAws) -> None:
    fake_aws.aws_defaults["ap-south-1", "L-7B6409FD"] = 22.0
    del fake_aws.applied["ap-south-1", "L-7B6409FD"]  # no applied value for DB instances
    # Service Quotas answers without a Value when the owning service does not answer it.
    fake_aws.applied["ap-south-1", "L-952B80B8"] = {
        "QuotaCode": "L-952B80B8", "ErrorReason": {"ErrorCode": "DEPENDENCY_SERVICE_ERROR", "ErrorMessage": "down"}}

    results = checks()

    assert [(c.need.quota.quota_code, c.quota) for c in results["ap-south-1"]
            if c.need.quota in (q.RDS_INSTANCES, q.RDS_CLUSTERS, q.RDS_SUBNET_GROUPS)] == [
        ("L-952B80B8", QuotaValue(40, "documented default")),
        ("L-7B6409FD", QuotaValue(22, "AWS default")),
        ("L-48C6BF61", QuotaValue(20, "documented default")),
    ]
    table = StringIO()
    preflight.render_region("ap-south-1", results["ap-south-1"], Console(file=table, width=250))
    rows = table_rows(table.getvalue())
    assert rows["L-7B6409FD"][2:4] == ["22", "AWS default"]
    assert rows["L-952B80B8"][2:4] == ["40", "documented default"]


def test_quota_value_reads_service_quotas_shapes() -> None:
    """The real response and error shapes, checked against botocore's model by Stubber (no moto)."""
    client = boto3.client("service-quotas", region_name="ap-south-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    params = {"ServiceCode": "rds", "QuotaCode": "L-7B6409FD"}
    with Stubber(client) as stub:
        stub.add_response("get_service_quota", {"Quota": {"QuotaCode": "L-7B6409FD", "Value": 60.0}}, params)
        stub.add_client_error("get_service_quota", "NoSuchResourceException", expected_params=params)
        stub.add_response("get_aws_default_service_quota", {"Quota": {"QuotaCode": "L-7B6409FD", "Value": 20.0}},
                          params)
        stub.add_client_error("get_service_quota", "NoSuchResourceException", expected_params=params)
        stub.add_client_error("get_aws_default_service_quota", "NoSuchResourceException", expected_params=params)
        assert [quota_value(client, q.RDS_INSTANCES, "ap-south-1") for _ in range(3)] == [
            QuotaValue(60, "applied"), QuotaValue(20, "AWS default"), QuotaValue(20, "documented default")]
        stub.assert_no_pending_responses()


def test_nat_gateways_count_in_the_busiest_zone(fake_aws: FakeAws) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    zone_a, zone_b = (ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.99.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
                      ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b")))

    def gateways(subnet: str, count: int, tags: dict[str, str] | None = None) -> list[str]:
        spec = [{"ResourceType": "natgateway", "Tags": tag_list(tags)}] if tags else []
        return [ec2.create_nat_gateway(SubnetId=subnet, ConnectivityType="private", TagSpecifications=spec)
                ["NatGateway"]["NatGatewayId"] for _ in range(count)]

    gateways(zone_a, 5)
    gateways(zone_a, 1, OWN_TAGS)
    ec2.delete_nat_gateway(NatGatewayId=gateways(zone_a, 1)[0])  # deleted gateways no longer count
    gateways(zone_b, 2)

    results = checks()

    # zone a: 5 others + the plan's 1 > 5; summing zones (7) or counting the own or deleted one would be wrong.
    assert check_of(results, "us-east-1", q.NAT_GATEWAYS_PER_ZONE).usage == Usage(others=5, own=1)
    assert shortfalls(results) == [("us-east-1", "L-FE5A380F", 6, 5)]


def test_a_regional_nat_gateway_counts_in_every_zone(fake_aws: FakeAws) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    subnet = ec2.describe_subnets()["Subnets"][0]  # moto's default VPC
    zonal = {"NatGatewayId": "nat-zonal", "SubnetId": subnet["SubnetId"], "State": "available"}
    regional = {"NatGatewayId": "nat-regional", "AvailabilityMode": "regional", "State": "available"}
    fake_aws.replies["DescribeNatGateways"] = {"NatGateways": [zonal, zonal | {"NatGatewayId": "nat-2"}, regional]}

    usage = UsageReader(boto3.Session(), "us-east-1", "prod").usage(q.NAT_GATEWAYS_PER_ZONE)

    assert usage == Usage(others=3, own=0)


def test_elastic_ips_of_other_workloads_count(fake_aws: FakeAws) -> None:
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    for tags in ({}, {}, {"project": "billing"}, OWN_TAGS, OWN_TAGS):
        spec = [{"ResourceType": "elastic-ip", "Tags": tag_list(tags)}] if tags else []
        ec2.allocate_address(Domain="vpc", TagSpecifications=spec)

    results = checks()

    # 3 others + one per AZ for prod's NAT gateways (3) > 5.
    assert check_of(results, "eu-west-1", q.ELASTIC_IPS).usage == Usage(others=3, own=2)
    assert shortfalls(results) == [("eu-west-1", "L-0263D0A3", 6, 5)]


@pytest.mark.parametrize(("operation", "error_code"), [("DescribeDBInstances", "AccessDenied"),
                                                       ("GetServiceQuota", "AccessDeniedException")])
def test_a_missing_permission_is_one_message(fake_aws: FakeAws, moto_stack: None, capsys: pytest.CaptureFixture[str],
                                             operation: str, error_code: str) -> None:
    fake_aws.refused[operation] = error_code

    code, out, err = run(capsys)

    assert (code, out) == (EXIT_BAD_INPUT, "")
    assert err.count("error:") == 1
    assert err.startswith(f"error: AWS refused a read in us-east-1 (An error occurred ({error_code}) when calling "
                          f"the {operation} operation")
    assert "preflight needs read access to Service Quotas, EC2, RDS, EKS, MSK and ElastiCache" in err


def test_credentials_of_another_account_are_refused(fake_aws: FakeAws, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)  # the committed Pulumi.prod.yaml: account 111111111111

    assert (code, out) == (EXIT_BAD_INPUT, "")
    assert err.count("error:") == 1
    assert f"the AWS credentials are for account {MOTO_ACCOUNT}, but the stacks of prod deploy to account " \
           f"{STACK_ACCOUNT}" in err.replace("\n", " ")


def test_every_reader_splits_others_from_own(fake_aws: FakeAws) -> None:
    region = "eu-west-1"
    subnets = [s["SubnetId"] for s in boto3.client("ec2", region_name=region).describe_subnets()["Subnets"]][:2]
    rds = boto3.client("rds", region_name=region)
    rds.create_db_subnet_group(DBSubnetGroupName="own", DBSubnetGroupDescription="own", SubnetIds=subnets,
                               Tags=tag_list(OWN_TAGS))
    rds.create_db_subnet_group(DBSubnetGroupName="other", DBSubnetGroupDescription="other", SubnetIds=subnets)
    rds.create_db_cluster(DBClusterIdentifier="other", Engine="aurora-postgresql", MasterUsername="admin_user",
                          MasterUserPassword="not-a-real-password", DBSubnetGroupName="other")
    eks = boto3.client("eks", region_name=region)
    for name, tags in (("own", OWN_TAGS), ("other", {})):
        eks.create_cluster(name=name, roleArn=f"arn:aws:iam::{MOTO_ACCOUNT}:role/eks",
                           resourcesVpcConfig={"subnetIds": subnets}, tags=tags)
    boto3.client("kafka", region_name=region).create_cluster_v2(
        ClusterName="other", Provisioned={"BrokerNodeGroupInfo": {"InstanceType": "kafka.m5.large",
                                                                  "ClientSubnets": subnets},
                                          "KafkaVersion": "3.6.0", "NumberOfBrokerNodes": 4})
    cache = boto3.client("elasticache", region_name=region)
    cache.create_replication_group(ReplicationGroupId="other", ReplicationGroupDescription="other", Engine="redis",
                                   CacheNodeType="cache.t3.micro", ClusterMode="enabled", NumNodeGroups=2,
                                   ReplicasPerNodeGroup=1)  # 2 shards of 2 nodes
    cache.create_cache_cluster(CacheClusterId="own", Engine="memcached", CacheNodeType="cache.t3.micro",
                               NumCacheNodes=3, Tags=tag_list(OWN_TAGS))

    reader = UsageReader(boto3.Session(), region, "prod")

    assert {fact.quota_code: reader.usage(fact) for fact in (
        q.RDS_CLUSTERS, q.RDS_SUBNET_GROUPS, q.EKS_CLUSTERS, q.MSK_BROKERS, q.CACHE_NODES)} == {
        "L-952B80B8": Usage(others=1, own=0), "L-48C6BF61": Usage(others=1, own=1),
        "L-1194D53C": Usage(others=1, own=1), "L-EDD31C36": Usage(others=4, own=0),
        "L-DFE45DF3": Usage(others=4, own=3)}
    # Per-cluster quotas concern only the stack's own new clusters.
    assert reader.usage(q.MSK_BROKERS_PER_CLUSTER) == Usage(others=0, own=0)
