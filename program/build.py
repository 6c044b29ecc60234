"""Build the stack the config names (one layer of one environment) from validated inputs, and export."""

from __future__ import annotations

import pulumi

from components.region_stamp import RegionContext
from program.config import StackConfig
from program.layers import cluster, global_stack, infra, replicas
from program.providers import regional_provider
from program.references import Stacks
from regions.catalog import AWS_REGIONS
from regions.schema import Manifest
from regions.stacks import Layout


def build(config: StackConfig, manifest: Manifest) -> None:
    stack = config.stack_id
    stacks = Stacks(Layout(manifest).reads(stack))
    if stack.layer == "global":
        global_stack.build(config, manifest, stacks)
        return
    assert stack.region is not None and config.aws_account_id is not None  # checked by program/config.py
    region = manifest.region(stack.region)
    ctx = RegionContext(environment=manifest.environment, region=region, account_id=config.aws_account_id,
                        partition=AWS_REGIONS[region.name].partition, protect=manifest.protected)
    provider = regional_provider(config, region.name, region.short_code)
    if stack.layer == "infra":
        infra.build(ctx, config, manifest, provider)
    elif stack.layer == "replicas":
        replicas.build(ctx, manifest, stacks, config.aws_account_id, provider)
    else:
        cluster.build(ctx, manifest, stacks, provider)
    pulumi.export("region", region.name)
