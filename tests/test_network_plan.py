"""The regional networks as the engine receives them, from the real program on the mock engine."""

from __future__ import annotations

import ipaddress
import itertools
import json
from typing import Any

import pytest

from components.network import EKS_PRIVATE_ENDPOINTS
from regions import loader
from tests.plan_helpers import Doc, by_urn, of_type, tagged

FOUR = {"us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1"}


@pytest.fixture(params=["prod", "dev"])
def plan(request: Any, prod_plan: Doc, dev_plan: Doc) -> Doc:
    return prod_plan if request.param == "prod" else dev_plan


def test_every_aws_resource_lands_in_a_manifest_region(prod_plan: Doc) -> None:
    aws = [r for r in prod_plan["resources"] if r["type"].startswith(("aws:", "pulumi:providers:aws"))]
    assert aws and {r["region"] for r in aws} == FOUR
    assert all(r["region"] in FOUR for r in aws)


def test_each_aws_resource_uses_its_regions_provider(plan: Doc) -> None:
    providers = {p["urn"]: p["inputs"]["region"] for p in of_type(plan, "pulumi:providers:aws")}
    for r in plan["resources"]:
        if r["custom"] and r["type"].startswith("aws:"):
            assert providers[r["provider"]] == r["region"], r["urn"]
            # IAM and global clusters are global: their ARNs carry no region.
            if "arn" in r["outputs"] and not r["type"].startswith(("aws:iam/", "aws:rds/globalCluster:")):
                assert f":{r['region']}:" in r["outputs"]["arn"], r["urn"]


def test_vpc_cidrs_are_the_manifests_and_pairwise_disjoint(plan: Doc) -> None:
    manifest = loader.load(loader.manifest_path(plan["environment"]))
    vpcs = {v["region"]: v["inputs"]["cidrBlock"] for v in of_type(plan, "aws:ec2/vpc:Vpc")}
    assert vpcs == {r.name: r.vpc_cidr for r in manifest.regions}
    nets = [ipaddress.IPv4Network(c) for c in vpcs.values()]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(nets, 2))
    assert all(v["inputs"]["enableDnsSupport"] and v["inputs"]["enableDnsHostnames"]
               for v in of_type(plan, "aws:ec2/vpc:Vpc"))


def test_each_region_has_three_tiers_over_three_azs(plan: Doc) -> None:
    for region in plan["regions"]:
        vpc = ipaddress.IPv4Network(of_type(plan, "aws:ec2/vpc:Vpc", region)[0]["inputs"]["cidrBlock"])
        subnets = of_type(plan, "aws:ec2/subnet:Subnet", region)
        for tier in ("public", "private", "data"):
            mine = tagged(subnets, "tier", tier)
            assert len({s["inputs"]["availabilityZoneId"] for s in mine}) == 3 == len(mine), (region, tier)
        cidrs = [ipaddress.IPv4Network(s["inputs"]["cidrBlock"]) for s in subnets]
        assert all(c.subnet_of(vpc) for c in cidrs)
        assert not any(a.overlaps(b) for a, b in itertools.combinations(cidrs, 2))
        assert not any(s["inputs"]["mapPublicIpOnLaunch"] for s in subnets)


def test_azs_are_picked_by_id_and_skip_those_eks_cannot_use(prod_plan: Doc) -> None:
    use1 = {s["inputs"]["availabilityZoneId"] for s in of_type(prod_plan, "aws:ec2/subnet:Subnet", "us-east-1")}
    assert use1 == {"use1-az1", "use1-az2", "use1-az4"}


@pytest.mark.parametrize(("stack", "per_region"), [("prod", 3), ("dev", 1)])
def test_nat_gateways_per_region(stack: str, per_region: int, prod_plan: Doc, dev_plan: Doc) -> None:
    plan = prod_plan if stack == "prod" else dev_plan
    urns = by_urn(plan)
    for region in plan["regions"]:
        nats = of_type(plan, "aws:ec2/natGateway:NatGateway", region)
        assert len(nats) == per_region
        public_ids = {s["outputs"]["id"] for s in tagged(of_type(plan, "aws:ec2/subnet:Subnet", region),
                                                        "tier", "public")}
        igw = of_type(plan, "aws:ec2/internetGateway:InternetGateway", region)[0]["urn"]
        for nat in nats:
            assert nat["inputs"]["subnetId"] in public_ids
            assert igw in nat["dependencies"] and igw in urns


def test_private_subnets_leave_through_their_own_azs_nat(prod_plan: Doc) -> None:
    for region in prod_plan["regions"]:
        nat_az = {n["outputs"]["id"]: s["inputs"]["availabilityZoneId"]
                  for n in of_type(prod_plan, "aws:ec2/natGateway:NatGateway", region)
                  for s in of_type(prod_plan, "aws:ec2/subnet:Subnet", region)
                  if s["outputs"]["id"] == n["inputs"]["subnetId"]}
        tables = [t for t in of_type(prod_plan, "aws:ec2/routeTable:RouteTable", region) if "-private-rt-" in t["name"]]
        assert len(tables) == 3
        assert sorted(nat_az[t["inputs"]["routes"][0]["natGatewayId"]] for t in tables) == sorted(nat_az.values())


def test_data_subnets_have_no_route_out(plan: Doc) -> None:
    for region in plan["regions"]:
        data = [t for t in of_type(plan, "aws:ec2/routeTable:RouteTable", region) if t["name"].endswith("-data-rt")]
        assert len(data) == 1 and data[0]["inputs"]["routes"] == []
        data_subnets = {s["outputs"]["id"] for s in tagged(of_type(plan, "aws:ec2/subnet:Subnet", region),
                                                          "tier", "data")}
        associations = of_type(plan, "aws:ec2/routeTableAssociation:RouteTableAssociation", region)
        associated = {a["inputs"]["subnetId"] for a in associations
                      if a["inputs"]["routeTableId"] == data[0]["outputs"]["id"]}
        assert associated == data_subnets


def test_default_security_group_is_stripped(plan: Doc) -> None:
    groups = of_type(plan, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert len(groups) == len(plan["regions"])
    assert all(g["inputs"]["ingress"] == [] and g["inputs"]["egress"] == [] for g in groups)


def test_flow_logs_go_to_a_kms_encrypted_group_with_retention(plan: Doc) -> None:
    retention = 365 if plan["environment"] == "prod" else 30
    for region in plan["regions"]:
        (key,) = [k for k in of_type(plan, "aws:kms/key:Key", region) if k["name"].endswith("-logs-key")]
        (group,) = [g for g in of_type(plan, "aws:cloudwatch/logGroup:LogGroup", region)
                    if g["name"].endswith("-flow-logs")]
        (flow,) = of_type(plan, "aws:ec2/flowLog:FlowLog", region)
        (vpc,) = of_type(plan, "aws:ec2/vpc:Vpc", region)
        assert key["inputs"]["enableKeyRotation"] is True and key["inputs"]["deletionWindowInDays"] == 30
        assert group["inputs"]["kmsKeyId"] == key["outputs"]["arn"]
        assert group["inputs"]["retentionInDays"] == retention
        assert flow["inputs"]["vpcId"] == vpc["outputs"]["id"] and flow["inputs"]["trafficType"] == "ALL"
        assert flow["inputs"]["logDestination"] == group["outputs"]["arn"]
        policy = json.loads(key["inputs"]["policy"])
        services = [s["Principal"].get("Service") for s in policy["Statement"]]
        assert f"logs.{region}.amazonaws.com" in services


def test_log_keys_are_protected_in_prod_only(prod_plan: Doc, dev_plan: Doc) -> None:
    assert all(k["protect"] for k in of_type(prod_plan, "aws:kms/key:Key"))
    assert not any(r["protect"] for r in dev_plan["resources"])


def test_endpoints_for_a_private_eks_cluster(plan: Doc) -> None:
    for region in plan["regions"]:
        endpoints = of_type(plan, "aws:ec2/vpcEndpoint:VpcEndpoint", region)
        interface = {e["inputs"]["serviceName"].removeprefix(f"com.amazonaws.{region}.")
                     for e in endpoints if e["inputs"]["vpcEndpointType"] == "Interface"}
        assert interface == set(EKS_PRIVATE_ENDPOINTS)
        assert all(e["inputs"]["privateDnsEnabled"] for e in endpoints if e["inputs"]["vpcEndpointType"] == "Interface")
        (s3,) = [e for e in endpoints if e["inputs"]["vpcEndpointType"] == "Gateway"]
        assert s3["inputs"]["serviceName"] == f"com.amazonaws.{region}.s3"
        assert len(s3["inputs"]["routeTableIds"]) == 4  # three private tables and the data table
        (sg,) = [g for g in of_type(plan, "aws:ec2/securityGroup:SecurityGroup", region)
                 if g["name"].endswith("-endpoints")]
        vpc_cidr = of_type(plan, "aws:ec2/vpc:Vpc", region)[0]["inputs"]["cidrBlock"]
        rules = [(r["fromPort"], r["toPort"], r["cidrBlocks"]) for r in sg["inputs"]["ingress"]]
        assert rules == [(443, 443, [vpc_cidr])]
        assert sg["inputs"]["egress"] == []


def test_one_tagged_provider_per_regional_stack_pinned_to_the_account(plan: Doc) -> None:
    providers = of_type(plan, "pulumi:providers:aws")
    regional = {s["name"]: s["region"] for s in plan["stacks"] if s["region"]}
    # Each regional stack has exactly one AWS provider, for its own region; the global stack has none.
    assert sorted((p["stack"], p["inputs"]["region"]) for p in providers) == sorted(regional.items())
    account = "111111111111" if plan["stack"] == "prod" else "222222222222"
    for p in providers:
        assert json.loads(p["inputs"]["allowedAccountIds"]) == [account]
        tags = json.loads(p["inputs"]["defaultTags"])["tags"]
        assert tags["environment"] == plan["environment"] and tags["region"] == p["inputs"]["region"]
        assert {"project", "owner", "cost-center"} <= tags.keys()
