"""IAM roles the way every component builds them: a service trust, managed policies, inline statements."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws


def policy_document(statements: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


def service_role(
    name: str,
    *,
    role_name: str,
    service: str,
    actions: Sequence[str] = ("sts:AssumeRole",),
    conditions: dict[str, Any] | None = None,
    managed_policies: Sequence[str] = (),
    inline_policy: pulumi.Input[str] | None = None,
    partition: str = "aws",
    opts: pulumi.ResourceOptions,
) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
    """A role only ``service`` may assume, with its AWS-managed and inline policies.

    Returns the role and the attachments, so dependants can wait until the role can actually act.
    """
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}
    if conditions:
        trust["Condition"] = conditions
    role = aws.iam.Role(name, name=role_name, assume_role_policy=policy_document([trust]), opts=opts)
    child = pulumi.ResourceOptions(parent=role)
    grants: list[pulumi.Resource] = [
        aws.iam.RolePolicyAttachment(f"{name}-{policy}", role=role.name,
                                     policy_arn=managed_policy_arn(partition, policy), opts=child)
        for policy in managed_policies
    ]
    if inline_policy is not None:
        grants.append(aws.iam.RolePolicy(name, role=role.name, policy=inline_policy, opts=child))
    return role, grants
