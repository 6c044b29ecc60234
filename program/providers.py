"""One AWS provider per region, tagged and pinned to the stack's account."""

from __future__ import annotations

import pulumi_aws as aws

from program.config import PROJECT, StackConfig


def default_tags(config: StackConfig, region: str) -> dict[str, str]:
    assert config.owner and config.cost_center  # required of every layer with an AWS provider (program/config.py)
    return {
        "project": PROJECT,
        "environment": config.environment,
        "region": region,
        "owner": config.owner,
        "cost-center": config.cost_center,
        "managed-by": "pulumi",
    }


def regional_provider(config: StackConfig, region: str, short_code: str) -> aws.Provider:
    assert config.aws_account_id is not None
    # allowed_account_ids makes `pulumi up` refuse credentials for any other account (prod vs dev mix-ups).
    return aws.Provider(
        f"aws-{short_code}",
        region=region,
        allowed_account_ids=[config.aws_account_id],
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(config, region)),
    )
