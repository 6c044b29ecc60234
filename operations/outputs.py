"""A deployed stack's outputs (`pulumi stack output --json`): the identifiers that exist only after `pulumi up`.

They are read from a file (``--outputs``, with or without ``--show-secrets``: verify reads no secret) or from the
pulumi CLI, and must cover every region and shard group of the manifest: outputs without them predate the
manifest or belong to another stack, and verify stops with one message naming the key.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.stack_files import PROJECT_DIR
from operations.stack import OperatorError
from regions.published_map import GroupEndpoints
from regions.schema import Manifest
from regions.shards import ShardMap

PULUMI = "pulumi"  # the CLI, looked up on PATH


@dataclass(frozen=True)
class GlobalClusterIds:
    identifier: str
    clusters: dict[str, str]  # region -> member cluster identifier


@dataclass(frozen=True)
class DeployedStack:
    environment: str
    global_clusters: dict[str, GlobalClusterIds]  # shard group id -> identifiers
    kafka_arns: dict[str, str]  # region -> MSK cluster ARN
    replication_groups: dict[str, str]  # region -> ElastiCache replication group id
    eks_clusters: dict[str, str]  # region -> EKS cluster name
    endpoints: dict[str, dict[str, GroupEndpoints]]  # region -> group id -> endpoints in that region's shard map


def pulumi_command(stack: str) -> list[str]:
    return [PULUMI, "stack", "output", "--json", "--stack", stack]


def load(path: Path | None, stacks: tuple[str, ...] | str) -> tuple[Any, str]:
    """The outputs as JSON data (every stack's, merged), and how to name their source in messages.

    The environment's stacks publish maps keyed by region or shard group, which merge into one view.
    """
    if isinstance(stacks, tuple):
        if path is not None:
            return load(path, "")
        from offline.document import merge_outputs

        parts = [load(None, stack) for stack in stacks]
        return merge_outputs([data for data, _ in parts]), f"`pulumi stack output --json` of {', '.join(stacks)}"
    stack = stacks
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise OperatorError(f"{path}: cannot read the stack outputs ({exc.strerror})") from None
        return _json(text, str(path)), str(path)
    command = pulumi_command(stack)
    source = f"`{' '.join(command)}`"
    if shutil.which(PULUMI) is None:
        raise OperatorError(f"the pulumi CLI is not on PATH, so {source} cannot run; install it and log in to the "
                            f"stack's backend, or pass the outputs of that command as a file (OUTPUTS=path)")
    done = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise OperatorError(f"{source} failed: {reason}")
    return _json(done.stdout, source), source


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OperatorError(f"{source}: not JSON ({exc}); expected the output of `pulumi stack output --json`") \
            from None


class _Reader:
    """Walks the outputs; a missing or mistyped value stops verify with its source and key path."""

    def __init__(self, data: Any, source: str) -> None:
        self.data, self.source = data, source

    def error(self, key: str, problem: str) -> OperatorError:
        return OperatorError(f"{self.source}: {key}: {problem}; the outputs must be this stack's, from a deploy of "
                             "the current program and manifest (`pulumi up` first)")

    def value(self, *path: str) -> Any:
        node = self.data
        for depth, key in enumerate(path):
            if not isinstance(node, Mapping) or key not in node:
                raise self.error(".".join(path[:depth + 1]), "missing")
            node = node[key]
        return node

    def text(self, *path: str) -> str:
        value = self.value(*path)
        if not isinstance(value, str) or not value:
            raise self.error(".".join(path), f"expected a non-empty string, found {json.dumps(value)}")
        return value


def read(data: Any, source: str, manifest: Manifest) -> DeployedStack:
    reader = _Reader(data, source)
    environment = reader.text("environment")
    if environment != manifest.environment:
        raise reader.error("environment", f"{environment}, but the manifest is {manifest.environment}'s")
    shard_map = ShardMap(manifest)
    regions = manifest.region_names
    return DeployedStack(
        environment=environment,
        global_clusters={
            g.id: GlobalClusterIds(reader.text("globalClusters", g.id, "globalClusterIdentifier"),
                                   {r: reader.text("globalClusters", g.id, "clusters", r) for r in g.placement})
            for g in shard_map.groups},
        kafka_arns={r: reader.text("kafka", r, "arn") for r in regions},
        replication_groups={r: reader.text("cache", r, "replicationGroupId") for r in regions},
        eks_clusters={r: reader.text("clusters", r, "name") for r in regions},
        endpoints={r: _published_endpoints(reader, shard_map, r) for r in regions},
    )


def _published_endpoints(reader: _Reader, shard_map: ShardMap, region: str) -> dict[str, GroupEndpoints]:
    """Each group's endpoints as the deploy published them in ``region``'s shard map (``shardMaps`` output)."""
    key = f"shardMaps.{region}"
    document = reader.value("shardMaps", region)
    if isinstance(document, str):  # the program exports the document as its JSON text
        document = _json(document, f"{reader.source}: {key}")
    groups = document.get("groups") if isinstance(document, Mapping) else None
    if not isinstance(groups, list):
        raise reader.error(f"{key}.groups", "missing")
    by_id = {g.get("id"): g for g in groups if isinstance(g, Mapping)}
    endpoints = {}
    for group in shard_map.groups:
        published = by_id.get(group.id)
        writer = published.get("writerEndpoint") if published else None
        if not isinstance(writer, str):
            raise reader.error(f"{key}.groups[{group.id}].writerEndpoint", "missing")
        local_reader = published.get("localReaderEndpoint") if published else None
        endpoints[group.id] = GroupEndpoints(writer=writer,
                                             readers={region: local_reader} if isinstance(local_reader, str) else {})
    return endpoints
