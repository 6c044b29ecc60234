"""Publish one region's copy of the shard map where applications read it: SSM and the apps namespace."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from regions.published_map import parameter_name

# SSM Standard parameters hold 4 KB; Advanced ones 8 KB (prod's 18 groups need Advanced).
STANDARD_TIER_LIMIT = 4096


@dataclass(frozen=True)
class ShardMapArgs:
    environment: str
    short_code: str
    document: pulumi.Input[dict[str, Any]]
    namespace: str
    kubernetes: pulumi.ProviderResource


class ShardMapPublication(pulumi.ComponentResource):
    def __init__(self, name: str, args: ShardMapArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:ShardMap", name, None, opts)
        self.json: pulumi.Output[str] = pulumi.Output.from_input(args.document).apply(
            lambda doc: json.dumps(doc, sort_keys=True, separators=(",", ":")))
        self.parameter = aws.ssm.Parameter(
            f"{args.short_code}-shard-map", name=parameter_name(args.environment), type="String",
            tier=self.json.apply(lambda text: "Standard" if len(text) <= STANDARD_TIER_LIMIT else "Advanced"),
            value=self.json, description="Shard map: logical shard ranges, placement and PgBouncer databases",
            opts=pulumi.ResourceOptions(parent=self))
        self.config_map = k8s.core.v1.ConfigMap(
            f"{args.short_code}-shard-map",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="shard-map", namespace=args.namespace),
            data={"shard-map.json": self.json},
            opts=pulumi.ResourceOptions(parent=self, provider=args.kubernetes))
        self.register_outputs({"parameter": self.parameter.name})
