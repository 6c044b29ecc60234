"""The regional ingress: an internet-facing NLB that admits HTTPS from Cloudflare's ranges and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from components.ingress import GATEWAY_PORT
from offline import document, engine, stack_files
from offline.mocks import CLOUDFLARE_IPV4
from program.config import PROJECT
from tests.plan_helpers import Doc, of_type, tagged


@pytest.fixture(params=["prod", "dev"])
def plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


def _one(plan: Doc, token: str, region: str) -> dict[str, Any]:
    (found,) = of_type(plan, token, region)
    return found


def test_internet_facing_nlb_in_the_public_subnets(plan: Doc) -> None:
    for region in plan["regions"]:
        nlb = _one(plan, "aws:lb/loadBalancer:LoadBalancer", region)["inputs"]
        public = {s["outputs"]["id"] for s in tagged(of_type(plan, "aws:ec2/subnet:Subnet", region), "tier", "public")}
        assert nlb["loadBalancerType"] == "network" and nlb["internal"] is False
        assert set(nlb["subnets"]) == public
        assert nlb["enableDeletionProtection"] is (plan["environment"] == "prod")
        listener = _one(plan, "aws:lb/listener:Listener", region)["inputs"]
        assert listener["port"] == 443 and listener["protocol"] == "TCP"


def test_nlb_security_group_admits_443_from_cloudflare_only(plan: Doc) -> None:
    for region in plan["regions"]:
        nlb = _one(plan, "aws:lb/loadBalancer:LoadBalancer", region)
        (sg_id,) = nlb["inputs"]["securityGroups"]
        sg = [g for g in of_type(plan, "aws:ec2/securityGroup:SecurityGroup", region) if g["outputs"]["id"] == sg_id]
        assert len(sg) == 1 and "ingress" not in sg[0]["inputs"] and "egress" not in sg[0]["inputs"]
        rules = of_type(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", region)
        ingress = [r["inputs"] for r in rules if r["inputs"]["securityGroupId"] == sg_id]
        prefix_list = _one(plan, "aws:ec2/managedPrefixList:ManagedPrefixList", region)
        assert ingress == [{"securityGroupId": sg_id, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                            "prefixListId": prefix_list["outputs"]["id"], "description": "HTTPS from Cloudflare"}]
        assert sorted(e["cidr"] for e in prefix_list["inputs"]["entries"]) == sorted(CLOUDFLARE_IPV4)
        assert all(e["cidr"] not in ("0.0.0.0/0", "::/0") for e in prefix_list["inputs"]["entries"])


def test_nlb_reaches_only_the_gateway_port_on_the_workload_nodes(plan: Doc) -> None:
    for region in plan["regions"]:
        (sg_id,) = _one(plan, "aws:lb/loadBalancer:LoadBalancer", region)["inputs"]["securityGroups"]
        workloads = [g["outputs"]["id"] for g in of_type(plan, "aws:ec2/securityGroup:SecurityGroup", region)
                     if g["inputs"].get("tags", {}).get("node-group") == "workloads"]
        (egress,) = [r["inputs"] for r in of_type(plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                                                  region) if r["inputs"]["securityGroupId"] == sg_id]
        assert egress["referencedSecurityGroupId"] == workloads[0]
        assert (egress["fromPort"], egress["toPort"]) == (GATEWAY_PORT, GATEWAY_PORT)
        target = _one(plan, "aws:lb/targetGroup:TargetGroup", region)["inputs"]
        assert target["port"] == GATEWAY_PORT and target["targetType"] == "ip"
        assert target["preserveClientIp"] == "true"  # no per-target connection cap of ~55,000


def test_gateway_bound_to_the_target_group_through_the_controller(plan: Doc) -> None:
    for region in plan["regions"]:
        (binding,) = of_type(plan, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", region)
        target = _one(plan, "aws:lb/targetGroup:TargetGroup", region)
        assert binding["inputs"]["spec"]["targetGroupARN"] == target["outputs"]["arn"]
        assert binding["inputs"]["metadata"]["namespace"] == "ingress"
        controller = [r for r in of_type(plan, "kubernetes:helm.sh/v3:Release", region)
                      if r["inputs"]["chart"] == "aws-load-balancer-controller"]
        assert controller[0]["urn"] in binding["dependencies"]


def test_hostnames_are_stack_outputs(plan: Doc) -> None:
    hostnames = plan["stackOutputs"]["ingressHostnames"]
    assert sorted(hostnames) == sorted(plan["regions"])
    for region, hostname in hostnames.items():
        assert hostname == _one(plan, "aws:lb/loadBalancer:LoadBalancer", region)["outputs"]["dnsName"]


STACK = "prod-us-east-1"  # the infra stack holding the region's EKS cluster


def _config_with(key: str, value: str) -> tuple[dict[str, str], list[str]]:
    values, secrets = stack_files.read(STACK)
    return {**values, f"{PROJECT}:{key}": value}, secrets


def test_admin_cidrs_open_the_public_endpoint_to_those_networks_only() -> None:
    config, secrets = _config_with("adminCidrs", '["203.0.113.0/24", "198.51.100.10/32"]')
    doc = document.build(engine.run(STACK, config=config, secret_keys=secrets))
    (cluster,) = of_type(doc, "aws:eks/cluster:Cluster")
    vpc = cluster["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24", "198.51.100.10/32"]


@pytest.mark.parametrize("cidrs", ['["0.0.0.0/0"]', '["::/0"]'])
def test_world_open_admin_cidrs_stop_the_program_before_any_resource(cidrs: str) -> None:
    config, secrets = _config_with("adminCidrs", cidrs)
    expected = f"Pulumi.{STACK}.yaml: {PROJECT}:adminCidrs: .*whole internet"
    with pytest.raises(engine.InvalidInput, match=expected) as err:
        engine.run(STACK, config=config, secret_keys=secrets)
    assert err.value.registrations == []
