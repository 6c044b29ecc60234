"""The offerings check against botocore Stubbers: the exact requests it sends and what it makes of the answers.

Stubbers, not moto: moto answers DescribeInstanceTypeOfferings and DescribeOrderableDBInstanceOptions from data
files of its own release, and implements neither DescribeAddonVersions, DescribeCacheEngineVersions nor
ListKafkaVersions. Each stubbed client fails the test on any request whose parameters differ from the expected.
"""

from __future__ import annotations

import json
from typing import Any, cast

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console

from operations import offerings, price_list
from operations.offerings import OfferingFinding
from operations.stack import OperatorError
from regions.eks_versions import EKS_VERSIONS
from regions.loader import load, manifest_path
from regions.schema import Manifest

AURORA = offerings.AURORA_ENGINE


class StubbedSession:
    """Hands out one stubbed client per (service, region), as ``boto3.Session.client`` would create them."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubbers: dict[tuple[str, str], Stubber] = {}
        self.called: set[str] = set()  # "<signing name>:<operation>" of every request sent

    def client(self, service: str, region_name: str) -> Any:
        key = (service, region_name)
        if key not in self.clients:
            client = boto3.client(service, region_name=region_name, aws_access_key_id="testing",
                                  aws_secret_access_key="testing")
            client.meta.events.register("before-parameter-build", self._record)
            self.stubbers[key] = Stubber(client)
            self.stubbers[key].activate()
            self.clients[key] = client
        return self.clients[key]

    def stub(self, service: str, region: str) -> Stubber:
        self.client(service, region)
        return self.stubbers[service, region]

    def _record(self, model: Any, **_: Any) -> None:
        self.called.add(f"{model.service_model.signing_name}:{model.name}")

    def assert_all_answered(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def manifest(environment: str) -> Manifest:
    return load(manifest_path(environment), environment)


def price_document(query: price_list.Query) -> str:
    dimension = {"unit": "Hrs", "pricePerUnit": {"USD": "0.5"}}
    return json.dumps({"product": {"attributes": {"usagetype": f"USE1-{query.usage_type}"}},
                       "terms": {"OnDemand": {"t": {"priceDimensions": {"d": dimension}}}},
                       "version": "20261101000000", "publicationDate": "2026-11-01T00:00:00Z"})


def stub_answers(session: StubbedSession, plan: Manifest, missing: frozenset[tuple[str, str, str]] = frozenset(),
                 answers: dict[tuple[str, str, str], dict[str, Any]] | None = None) -> None:
    """The expected request of every check, in the order the check sends them, each answered as a healthy account
    would, except: (region, service, item) in ``missing`` is left out of its answer, and ``answers`` replaces one."""
    answers = answers or {}
    pricing = session.stub("pricing", price_list.PRICING_REGION)

    def answer(region: str, service: str, item: str, healthy: dict[str, Any]) -> dict[str, Any]:
        return answers.get((region, service, item), healthy)

    for region in plan.regions:
        name = region.name
        wanted = sorted({t for g in region.eks.node_groups for t in g.instance_types})
        session.stub("ec2", name).add_response(
            "describe_instance_type_offerings",
            {"InstanceTypeOfferings": [{"InstanceType": t, "LocationType": "region", "Location": name}
                                       for t in wanted if (name, "ec2", t) not in missing]},
            {"LocationType": "region", "Filters": [{"Name": "instance-type", "Values": wanted}]})
        for version, instance_class in offerings._aurora_needs(plan, region):
            options = [] if (name, "rds", instance_class) in missing else [
                {"Engine": AURORA, "EngineVersion": version, "DBInstanceClass": instance_class,
                 "SupportsGlobalDatabases": True}]
            session.stub("rds", name).add_response(
                "describe_orderable_db_instance_options",
                answer(name, "rds", instance_class, {"OrderableDBInstanceOptions": options}),
                {"Engine": AURORA, "EngineVersion": version, "DBInstanceClass": instance_class})
        redis = region.redis
        session.stub("elasticache", name).add_response(
            "describe_cache_engine_versions",
            {"CacheEngineVersions": [{"Engine": redis.engine, "EngineVersion": redis.engine_version}]},
            {"Engine": redis.engine, "EngineVersion": redis.engine_version})
        for service, item, label in (("elasticache", f"elasticache/{redis.engine}/{redis.node_type}", redis.node_type),
                                     ("kafka", f"msk/{region.kafka.broker_type}", region.kafka.broker_type)):
            query = price_list.query_for(item)
            assert query is not None
            if service == "kafka":
                session.stub("kafka", name).add_response(
                    "list_kafka_versions",
                    answer(name, "kafka", region.kafka.kafka_version, {"KafkaVersions": [
                        {"Version": "3.8.x", "Status": "ACTIVE"},
                        {"Version": region.kafka.kafka_version, "Status": "ACTIVE"}]}), {})
            pricing.add_response(
                "get_products",
                {"PriceList": [] if (name, service, label) in missing else [price_document(query)],
                 "FormatVersion": "aws_v1"},
                {"ServiceCode": query.service_code, "Filters": query.filters(name), "FormatVersion": "aws_v1",
                 "MaxResults": 100})
        minor = region.eks.kubernetes_version
        for addon, pinned in EKS_VERSIONS[minor].addons.items():
            versions = [v for v in (pinned, f"{pinned}-newer") if not ((name, "eks", addon) in missing and v == pinned)]
            session.stub("eks", name).add_response(
                "describe_addon_versions",
                {"addons": [{"addonName": addon, "addonVersions": [
                    {"addonVersion": v, "compatibilities": [{"clusterVersion": minor}]} for v in versions]}]},
                {"addonName": addon, "kubernetesVersion": minor})


def run(session: StubbedSession, plan: Manifest) -> list[OfferingFinding]:
    findings = offerings.check(cast(boto3.Session, session), plan)
    session.assert_all_answered()
    return findings


def failed(findings: list[OfferingFinding]) -> list[tuple[str, str, str]]:
    return [(f.region, f.service, f.item) for f in offerings.problems(findings)]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_a_healthy_answer_has_no_findings(environment: str) -> None:
    session, plan = StubbedSession(), manifest(environment)
    stub_answers(session, plan)
    findings = run(session, plan)
    assert failed(findings) == []
    # Every item of every region was asked about: instance types, Aurora, engine, node type, Kafka, add-ons.
    for region in plan.regions:
        services = [f.service for f in findings if f.region == region.name]
        assert services.count("eks") == len(EKS_VERSIONS[region.eks.kubernetes_version].addons)
        assert {"ec2", "rds", "elasticache", "kafka"} <= set(services)


def test_needed_permissions_name_every_call_and_only_those() -> None:
    session, plan = StubbedSession(), manifest("dev")
    stub_answers(session, plan)
    run(session, plan)
    assert session.called == set(offerings.NEEDED_PERMISSIONS)


def test_one_client_per_service_per_region() -> None:
    session, plan = StubbedSession(), manifest("dev")
    stub_answers(session, plan)
    run(session, plan)
    assert set(session.clients) == {("pricing", "us-east-1")} | {
        (service, r) for r in plan.region_names for service in ("ec2", "rds", "elasticache", "kafka", "eks")}


def test_an_instance_type_not_offered_in_ap_south_1() -> None:
    session, plan = StubbedSession(), manifest("prod")
    stub_answers(session, plan, missing=frozenset({("ap-south-1", "ec2", "m8g.2xlarge")}))
    findings = run(session, plan)
    assert failed(findings) == [("ap-south-1", "ec2", "m8g.2xlarge")]
    (finding,) = offerings.problems(findings)
    assert "DescribeInstanceTypeOfferings" in finding.detail


def test_an_aurora_class_not_orderable() -> None:
    session, plan = StubbedSession(), manifest("dev")
    stub_answers(session, plan, missing=frozenset({("eu-west-1", "rds", "db.r7g.large")}))
    assert failed(run(session, plan)) == [("eu-west-1", "rds", "db.r7g.large (aurora-postgresql 17.5)")]


def test_an_aurora_class_orderable_but_not_for_global_databases() -> None:
    session, plan = StubbedSession(), manifest("dev")
    option = {"Engine": AURORA, "EngineVersion": "17.5", "DBInstanceClass": "db.r7g.large",
              "SupportsGlobalDatabases": False}
    stub_answers(session, plan,
                 answers={("us-east-1", "rds", "db.r7g.large"): {"OrderableDBInstanceOptions": [option]}})
    (finding,) = offerings.problems(run(session, plan))
    assert finding.region == "us-east-1" and "SupportsGlobalDatabases" in finding.detail


def test_a_secondary_is_checked_with_its_home_regions_class() -> None:
    plan = manifest("prod")
    # ap-south-1 hosts secondaries of eu-west-1 and ap-southeast-1 (their DR lists): their classes count there.
    homes = [r.name for r in plan.regions if "ap-south-1" in r.dr_regions]
    assert homes == ["eu-west-1", "ap-southeast-1"]
    assert offerings._aurora_needs(plan, plan.region("ap-south-1")) == [("17.5", "db.r7g.4xlarge")]


def test_an_addon_version_missing() -> None:
    session, plan = StubbedSession(), manifest("dev")
    stub_answers(session, plan, missing=frozenset({("us-east-1", "eks", "coredns")}))
    findings = run(session, plan)
    pinned = EKS_VERSIONS["1.35"].addons["coredns"]
    assert failed(findings) == [("us-east-1", "eks", f"coredns {pinned}")]
    (finding,) = offerings.problems(findings)
    assert f"newest listed: {pinned}-newer" in finding.detail


def test_a_node_type_without_a_price_is_reported_as_the_proxy_it_is() -> None:
    session, plan = StubbedSession(), manifest("dev")
    stub_answers(session, plan, missing=frozenset({("eu-west-1", "elasticache", "cache.t4g.small")}))
    (finding,) = offerings.problems(run(session, plan))
    assert (finding.region, finding.service, finding.item) == ("eu-west-1", "elasticache", "cache.t4g.small")
    assert "no API lists elasticache node types per region" in finding.detail


def test_a_deprecated_kafka_version() -> None:
    session, plan = StubbedSession(), manifest("dev")
    version = plan.region("us-east-1").kafka.kafka_version
    stub_answers(session, plan, answers={("us-east-1", "kafka", version): {
        "KafkaVersions": [{"Version": version, "Status": "DEPRECATED"}]}})
    (finding,) = offerings.problems(run(session, plan))
    assert finding.item == f"Kafka {version}" and "DEPRECATED" in finding.detail


def test_a_refused_read_names_the_region_and_the_permissions() -> None:
    session, plan = StubbedSession(), manifest("dev")
    session.stub("pricing", price_list.PRICING_REGION)
    session.stub("ec2", "us-east-1").add_client_error(
        "describe_instance_type_offerings", "UnauthorizedOperation", "not authorized", 403)
    with pytest.raises(OperatorError, match=r"in us-east-1 .*ec2:DescribeInstanceTypeOfferings"):
        offerings.check(cast(boto3.Session, session), plan)


def test_render_marks_what_is_missing() -> None:
    findings = [OfferingFinding("us-east-1", "ec2", "m7g.large", True, "offered in the region"),
                OfferingFinding("ap-south-1", "ec2", "m8g.2xlarge", False, "not listed")]
    console = Console(record=True, width=200)
    offerings.render(findings, console)
    text = console.export_text()
    assert "MISSING" in text and "1 item(s) not offered" in text
    assert "- ap-south-1: ec2 m8g.2xlarge: not listed" in text
    console = Console(record=True, width=200)
    offerings.render(findings[:1], console)
    assert "every region offers what the plan asks of it" in console.export_text()
