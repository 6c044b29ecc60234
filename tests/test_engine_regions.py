"""How the offline engine fills `region`: AWS by provider, Kubernetes by its cluster's region, global as null."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from offline import document, engine
from tests.plan_helpers import of_type


def _program() -> None:
    provider = aws.Provider("aws-aps1", region="ap-south-1")
    stamp = pulumi.ComponentResource("platform:test:Stamp", "aps1", None,
                                     pulumi.ResourceOptions(providers={"aws": provider}))
    aws.ec2.Vpc("aps1-vpc", cidr_block="10.40.0.0/16", opts=pulumi.ResourceOptions(parent=stamp))
    cluster = k8s.Provider("aps1-k8s", kubeconfig="{}", opts=pulumi.ResourceOptions(parent=stamp))
    k8s.core.v1.Namespace("data", metadata={"name": "data"}, opts=pulumi.ResourceOptions(provider=cluster))
    random.RandomPassword("global-secret", length=32)


def test_regions_follow_providers_and_clusters() -> None:
    doc = document.build(engine.run("dev-us-east-1", program=_program))
    regions = {r["type"]: r["region"] for r in doc["resources"]}
    assert regions["pulumi:providers:aws"] == "ap-south-1"
    assert regions["platform:test:Stamp"] == "ap-south-1"
    assert regions["aws:ec2/vpc:Vpc"] == "ap-south-1"
    assert regions["pulumi:providers:kubernetes"] == "ap-south-1"
    assert regions["kubernetes:core/v1:Namespace"] == "ap-south-1"
    assert regions["random:index/randomPassword:RandomPassword"] is None
    (vpc,) = of_type(doc, "aws:ec2/vpc:Vpc")
    assert vpc["outputs"]["arn"].startswith("arn:aws:ec2:ap-south-1:222222222222:vpc/vpc-")
