"""Customer-managed KMS keys, one per purpose and region: rotation on, 30-day deletion window, an alias."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class KeySpec:
    environment: str
    region: str
    short_code: str
    account_id: str
    purpose: str  # short word used in the resource name and the alias, e.g. "logs", "eks", "ebs"
    description: str
    protect: bool
    partition: str = "aws"
    # Statements beyond account administration (service principals, service-linked roles).
    statements: list[dict[str, Any]] = field(default_factory=list)


def regional_key(spec: KeySpec, opts: pulumi.ResourceOptions, *, key_aliases: list[str] | None = None,
                 alias_aliases: list[str] | None = None) -> aws.kms.Key:
    """A symmetric key whose policy grants the account root administration plus ``spec.statements``.

    Protected in prod: losing a key loses every ciphertext under it, so it is as stateful as the data.
    """
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdministration", "Effect": "Allow",
             "Principal": {"AWS": f"arn:{spec.partition}:iam::{spec.account_id}:root"},
             "Action": "kms:*", "Resource": "*"},
            *spec.statements,
        ],
    }
    key = aws.kms.Key(
        f"{spec.short_code}-{spec.purpose}-key",
        description=f"{spec.environment} {spec.region}: {spec.description}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=json.dumps(policy),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=spec.protect,
                                                                       aliases=key_aliases or None)))
    aws.kms.Alias(f"{spec.short_code}-{spec.purpose}-key",
                  name=f"alias/{spec.environment}-{spec.short_code}-{spec.purpose}",
                  target_key_id=key.key_id,
                  opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=alias_aliases or None)))
    return key
