"""EKS Pod Identity: one IAM role per controller, bound to exactly one namespace/service account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import service_role

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


@dataclass(frozen=True)
class ClusterRef:
    """What a pod-identity role needs to know about its cluster (all plain values, known before creation)."""

    name: str
    arn: str
    account_id: str
    environment: str
    short_code: str
    partition: str = "aws"


def pod_role(
    cluster: ClusterRef,
    controller: str,
    *,
    managed_policies: Sequence[str] = (),
    inline_policy: pulumi.Input[str] | None = None,
    opts: pulumi.ResourceOptions,
) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
    """A role only EKS Pod Identity of this cluster (this account, this cluster ARN) may assume."""
    return service_role(
        f"{cluster.short_code}-{controller}",
        role_name=f"{cluster.environment}-{cluster.short_code}-{controller}",
        service=POD_IDENTITY_SERVICE,
        actions=("sts:AssumeRole", "sts:TagSession"),
        conditions={"StringEquals": {"aws:SourceAccount": cluster.account_id},
                    "ArnEquals": {"aws:SourceArn": cluster.arn}},
        managed_policies=managed_policies,
        inline_policy=inline_policy,
        partition=cluster.partition,
        opts=opts)


def bind(
    cluster: ClusterRef,
    controller: str,
    role: aws.iam.Role,
    *,
    namespace: str,
    service_account: str,
    cluster_name: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.eks.PodIdentityAssociation:
    """Associate ``role`` with one service account; no other pod of the cluster can obtain it."""
    return aws.eks.PodIdentityAssociation(
        f"{cluster.short_code}-{controller}", cluster_name=cluster_name, namespace=namespace,
        service_account=service_account, role_arn=role.arn, opts=opts)
