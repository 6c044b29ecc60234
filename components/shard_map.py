"""Publish one region's copy of the shard map where applications read it: SSM and the apps namespace.

The ConfigMap and the ``json`` output (the stack output ``shardMaps``) hold the document as is; the SSM
parameter holds it as is in a Standard parameter while it fits 4 KB, else gzip+base64 in its envelope in an
Advanced parameter (regions/published_map.py: ``parameter_value``, and why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from regions.published_map import document_text, parameter_name, parameter_value


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
        document = pulumi.Output.from_input(args.document)
        self.json: pulumi.Output[str] = document.apply(document_text)
        published = document.apply(parameter_value)
        self.parameter = aws.ssm.Parameter(
            f"{args.short_code}-shard-map", name=parameter_name(args.environment), type="String",
            tier=published.apply(lambda p: p.tier), value=published.apply(lambda p: p.value),
            description="Shard map: logical shard ranges, placement and PgBouncer databases",
            opts=pulumi.ResourceOptions(parent=self))
        self.config_map = k8s.core.v1.ConfigMap(
            f"{args.short_code}-shard-map",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="shard-map", namespace=args.namespace),
            data={"shard-map.json": self.json},
            opts=pulumi.ResourceOptions(parent=self, provider=args.kubernetes))
        self.register_outputs({"parameter": self.parameter.name})
