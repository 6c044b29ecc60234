"""`make prices` against a stubbed AWS Price List API (botocore's Stubber on a real client: no network), and the
price book it writes (regions/prices.py)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from operations import prices as make_prices
from operations.price_list import query_for
from regions import prices
from regions.prices import PriceFileError

OFFER_VERSION = "20261103201538"
PUBLISHED = "2026-11-03T20:15:38Z"
# Usage-type region prefixes as the Price List writes them; us-east-1 EC2 items carry none.
PREFIX = {"us-east-1": "USE1-", "eu-west-1": "EU-", "ap-southeast-1": "APS1-", "ap-south-1": "APS3-"}


def term(field: str, value: str) -> dict[str, str]:
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def price_document(filters: list[dict[str, str]], usage_type: str, usd: float, unit: str, sku: str = "SKU1") -> str:
    """One PriceList entry as get_products returns it: a JSON string of product, OnDemand terms and offer data."""
    attributes = {f["Field"]: f["Value"] for f in filters}
    family = attributes.pop("productFamily", "")
    attributes |= {"usagetype": usage_type, "locationType": "AWS Region"}
    return json.dumps({
        "product": {"productFamily": family, "attributes": attributes, "sku": sku},
        "serviceCode": "stubbed",
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {
            "priceDimensions": {f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                "unit": unit, "endRange": "Inf", "description": f"${usd} per {unit}", "appliesTo": [],
                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7", "beginRange": "0",
                "pricePerUnit": {"USD": f"{usd:.10f}"}}},
            "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
            "termAttributes": {}}}},
        "version": OFFER_VERSION,
        "publicationDate": PUBLISHED,
    })


def request(service_code: str, filters: list[dict[str, str]], next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"ServiceCode": service_code, "Filters": filters, "FormatVersion": "aws_v1",
                              "MaxResults": 100}
    return params | ({"NextToken": next_token} if next_token else {})


@pytest.fixture
def pricing(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("pricing", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.json"
    shutil.copyfile(prices.PRICES_FILE, path)
    return path


# The exact request per item kind in eu-west-1, the usage type its product carries, and its unit.
EU = term("regionCode", "eu-west-1")
KINDS = {
    "rds/db.r7g.2xlarge": ("AmazonRDS", [
        term("productFamily", "Database Instance"), term("databaseEngine", "Aurora PostgreSQL"),
        term("deploymentOption", "Single-AZ"), term("storage", "EBS Only"), term("instanceType", "db.r7g.2xlarge"),
        EU], "EU-InstanceUsage:db.r7g.2xlarge", "Hrs"),
    "ec2/m7g.xlarge": ("AmazonEC2", [
        term("productFamily", "Compute Instance"), term("instanceType", "m7g.xlarge"),
        term("operatingSystem", "Linux"), term("tenancy", "Shared"), term("preInstalledSw", "NA"),
        term("capacitystatus", "Used"), EU], "EU-BoxUsage:m7g.xlarge", "Hrs"),
    "ec2/nat-gateway": ("AmazonEC2", [term("productFamily", "NAT Gateway"), EU], "EU-NatGateway-Hours", "Hrs"),
    "eks/cluster": ("AmazonEKS", [term("productFamily", "Compute"), EU], "EU-AmazonEKS-Hours:perCluster", "Hours"),
    "msk/kafka.m7g.2xlarge": ("AmazonMSK", [
        term("productFamily", "Managed Streaming for Apache Kafka (MSK)"), term("operation", "RunBroker"),
        term("computeFamily", "m7g.2xlarge"), EU], "EU-Kafka.m7g.2xlarge", "hours"),
    "msk/storage": ("AmazonMSK", [
        term("productFamily", "Managed Streaming for Apache Kafka (MSK)"), term("operation", "RunVolume"), EU],
        "EU-Kafka.Storage.GP2", "GB-Mo"),
    "elasticache/valkey/cache.r7g.xlarge": ("AmazonElastiCache", [
        term("productFamily", "Cache Instance"), term("cacheEngine", "Valkey"),
        term("instanceType", "cache.r7g.xlarge"), EU], "EU-NodeUsage:cache.r7g.xlarge", "Hrs"),
    "elasticache/redis/cache.r7g.xlarge": ("AmazonElastiCache", [
        term("productFamily", "Cache Instance"), term("cacheEngine", "Redis"),
        term("instanceType", "cache.r7g.xlarge"), EU], "EU-NodeUsage:cache.r7g.xlarge", "Hrs"),
}
BOOK_UNIT = {"Hrs": "hour", "Hours": "hour", "hours": "hour", "GB-Mo": "GB-month"}


def refresh_one(client: Any, item: str, region: str, path: Path) -> list[make_prices.Refresh]:
    return make_prices.refresh(client, prices.load(path), [(item, region)], date(2026, 11, 5))


@pytest.mark.parametrize("item", KINDS)
def test_each_item_kind_sends_its_filters_and_reads_its_price(pricing: tuple[Any, Stubber], price_file: Path,
                                                               item: str) -> None:
    client, stubber = pricing
    service, filters, usage_type, unit = KINDS[item]
    stubber.add_response("get_products", {"FormatVersion": "aws_v1",
                                          "PriceList": [price_document(filters, usage_type, 0.4321, unit)]},
                         request(service, filters))
    [result] = refresh_one(client, item, "eu-west-1", price_file)
    stubber.assert_no_pending_responses()
    assert result.problem is None and result.new is not None
    assert (result.new.usd, result.new.unit, result.new.estimated) == (0.4321, BOOK_UNIT[unit], False)
    assert result.new.source == "AWS Price List API (offer 20261103201538, published 2026-11-03)"
    assert result.new.date == "2026-11-05"


def test_pages_are_followed_and_only_the_named_usage_type_counts(pricing: tuple[Any, Stubber],
                                                                  price_file: Path) -> None:
    """Redis OSS extended support shares the node's filters; its usage type tells it apart."""
    client, stubber = pricing
    service, filters, _, _ = KINDS["elasticache/redis/cache.r7g.xlarge"]
    extended = price_document(filters, "EU-ExtendedSupportYr1-NodeUsage:cache.r7g.xlarge", 0.3, "Hrs", "SKU2")
    node = price_document(filters, "EU-NodeUsage:cache.r7g.xlarge", 0.485, "Hrs")
    stubber.add_response("get_products", {"PriceList": [extended], "NextToken": "page2"}, request(service, filters))
    stubber.add_response("get_products", {"PriceList": [node]}, request(service, filters, "page2"))
    [result] = refresh_one(client, "elasticache/redis/cache.r7g.xlarge", "eu-west-1", price_file)
    stubber.assert_no_pending_responses()
    assert result.new is not None and result.new.usd == 0.485


def test_us_east_1_usage_types_without_region_prefix_match(pricing: tuple[Any, Stubber], price_file: Path) -> None:
    client, stubber = pricing
    filters = [term("productFamily", "NAT Gateway"), term("regionCode", "us-east-1")]
    stubber.add_response("get_products", {"PriceList": [
        price_document(filters, "NatGateway-Hours", 0.045, "Hrs"),
        price_document(filters, "NatGateway-Bytes", 0.045, "GB", "SKU2")]}, request("AmazonEC2", filters))
    [result] = refresh_one(client, "ec2/nat-gateway", "us-east-1", price_file)
    assert result.new is not None and (result.new.usd, result.new.unit) == (0.045, "hour")


def stub_every_wanted_item(stubber: Stubber, factor: float) -> None:
    """One answer per (item, region) the committed manifests need, in the order `make prices` asks."""
    book = prices.load()
    for item, region in make_prices.wanted_items():
        query = query_for(item)
        assert query is not None, item
        base = book.lookup(item, "us-east-1")  # dev's cache.t4g.small has no hand-sourced price
        usd = round((base.usd if base else 0.032) * (1 if region == "us-east-1" else factor), 4)
        api_unit = {"hour": "Hrs", "GB-month": "GB-Mo"}[query.unit]
        usage_type = ("" if region == "us-east-1" and item.startswith("ec2/") else PREFIX[region]) + query.usage_type
        document = price_document(query.filters(region), usage_type, usd, api_unit)
        stubber.add_response("get_products", {"PriceList": [document]}, request(query.service_code,
                                                                                query.filters(region)))


def test_refresh_writes_real_prices_that_the_book_accepts(pricing: tuple[Any, Stubber], price_file: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = pricing
    price_file.chmod(0o644)
    stub_every_wanted_item(stubber, factor=1.1)
    assert make_prices.main(["--file", str(price_file)], client=client) == 0
    stubber.assert_no_pending_responses()
    assert price_file.stat().st_mode & 0o777 == 0o644 and [p.name for p in price_file.parent.iterdir()] == [
        "prices.json"]  # replaced in place, no temporary file left behind
    book = prices.load(price_file)  # regions/prices.py accepts what was written
    aurora = book.lookup("rds/db.r7g.4xlarge", "eu-west-1")
    assert aurora is not None and not aurora.estimated
    assert aurora.usd == round(2.211 * 1.1, 4) and aurora.source.startswith("AWS Price List API")
    for item in ("eks/cluster", "msk/storage", "ec2/nat-gateway", "elasticache/valkey/cache.r7g.xlarge"):
        price = book.lookup(item, "eu-west-1")
        assert price is not None and not price.estimated, item
    # Entries no manifest needs stay hand-sourced; sources nobody cites any more are dropped.
    kept = book.lookup("rds/db.r8g.large", "us-east-1")
    assert kept is not None and kept.source == "A"
    assert "A" in book.sources and "F" not in book.sources
    text = price_file.read_text()
    assert text == book.as_json()  # sorted, as PriceBook writes it
    assert "+10.0%" in capsys.readouterr().out


def test_dry_run_prints_the_changes_and_writes_nothing(pricing: tuple[Any, Stubber], price_file: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = pricing
    before = price_file.read_bytes()
    stub_every_wanted_item(stubber, factor=1.2)
    assert make_prices.main(["--dry-run", "--file", str(price_file)], client=client) == 0
    assert price_file.read_bytes() == before
    out = capsys.readouterr().out
    assert "+20.0%" in out and "us-east-1 estimate" in out and "not written" in out


def test_ambiguous_or_empty_answers_keep_the_old_entry(pricing: tuple[Any, Stubber], price_file: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = pricing
    wants = [("eks/cluster", "us-east-1"), ("msk/storage", "eu-west-1"), ("rds/db.r7g.2xlarge", "us-east-1")]
    monkeypatch.setattr(make_prices, "wanted_items", lambda: wants)
    eks = [term("productFamily", "Compute"), term("regionCode", "us-east-1")]
    stubber.add_response("get_products", {"PriceList": [
        price_document(eks, "USE1-AmazonEKS-Hours:perCluster", 0.10, "Hours"),
        price_document(eks, "USE1-AmazonEKS-Hours:perCluster", 0.12, "Hours", "SKU2")]}, request("AmazonEKS", eks))
    storage = KINDS["msk/storage"][1]
    stubber.add_response("get_products", {"PriceList": []}, request("AmazonMSK", storage))
    rds = query_for("rds/db.r7g.2xlarge")
    assert rds is not None
    stubber.add_response("get_products", {"PriceList": [
        price_document(rds.filters("us-east-1"), "InstanceUsage:db.r7g.2xlarge", 1.12, "Hrs")]},
        request("AmazonRDS", rds.filters("us-east-1")))
    assert make_prices.main(["--file", str(price_file)], client=client) == 1
    book = prices.load(price_file)
    eks_price = book.lookup("eks/cluster", "us-east-1")
    assert eks_price is not None and (eks_price.usd, eks_price.source) == (0.1, "E")
    storage_price = book.lookup("msk/storage", "eu-west-1")
    assert storage_price is not None and storage_price.estimated
    rds_price = book.lookup("rds/db.r7g.2xlarge", "us-east-1")
    assert rds_price is not None and rds_price.usd == 1.12
    out = " ".join(capsys.readouterr().out.split())
    assert "2 distinct" in out and "no product with usage type Kafka.Storage.GP2" in out
    assert "2 item(s) unresolved" in out


def test_access_denied_exits_2_with_one_message(pricing: tuple[Any, Stubber], price_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = pricing
    before = price_file.read_bytes()
    stubber.add_client_error("get_products", service_error_code="AccessDeniedException",
                             service_message="User is not authorized to perform: pricing:GetProducts",
                             http_status_code=400)
    assert make_prices.main(["--file", str(price_file)], client=client) == 2
    assert price_file.read_bytes() == before
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "AccessDeniedException" in err and "pricing:GetProducts" in err


def test_no_credentials_exits_2_before_any_request(tmp_path: Path, price_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup: no network
    assert make_prices.main(["--file", str(price_file)]) == 2
    assert "no AWS credentials found" in capsys.readouterr().err


# -- regions/prices.py ----------------------------------------------------------------------------------------


def test_lookup_falls_back_to_us_east_1_marked_estimated() -> None:
    book = prices.load()
    own = book.lookup("rds/db.r7g.2xlarge", "us-east-1")
    fallback = book.lookup("rds/db.r7g.2xlarge", "ap-south-1")
    assert own is not None and not own.estimated
    assert fallback is not None and fallback.estimated
    assert (fallback.region, fallback.usd, fallback.source) == ("ap-south-1", own.usd, own.source)


def test_unknown_item_is_unpriced() -> None:
    assert prices.load().lookup("rds/db.x9z.huge", "us-east-1") is None


def edited_book(tmp_path: Path, **changes: Any) -> Path:
    data = json.loads(prices.PRICES_FILE.read_text())
    data["prices"][0] |= changes
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    return path


def test_a_source_missing_from_sources_is_rejected_naming_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError) as error:
        prices.load(edited_book(tmp_path, source="Z"))
    assert str(error.value).startswith("prices.json: prices[].source: ['Z']")


def test_a_negative_price_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError) as error:
        prices.load(edited_book(tmp_path, usd=-0.1))
    message = str(error.value)
    assert message.startswith("prices.json: not a valid price file") and "prices.0.usd" in message
