"""The shard map as applications read it, one copy per region (SSM parameter, ConfigMap, stack output).

It is plain JSON: the hash that turns a user id into a logical shard, every shard group's range and
placement, and, for the region the copy is published in, which PgBouncer database reaches each group
there. Groups with no copy in the region have no database: the caller sends the request to their home region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from regions.shards import HASH_PERSON, ShardGroup, ShardMap

FORMAT_VERSION = 1
PGBOUNCER_HOST = "pgbouncer.data.svc.cluster.local"
PGBOUNCER_PORT = 6432
DATABASE_NAME = "platform"  # the database inside every shard group's clusters

LocalRole = Literal["writer", "secondary"]


@dataclass(frozen=True)
class GroupEndpoints:
    writer: str  # the home cluster's writer endpoint
    readers: Mapping[str, str]  # region -> reader endpoint of that region's cluster


def parameter_name(environment: str) -> str:
    """The SSM parameter holding a region's copy; the same name in every region of the environment."""
    return f"/platform/{environment}/shard-map"


def read_only_database(group_id: str) -> str:
    return f"{group_id}_ro"


def local_role(group: ShardGroup, region: str) -> LocalRole | None:
    if group.current_writer == region:
        return "writer"
    return "secondary" if region in group.placement else None


def hash_spec(logical_shards: int) -> dict[str, Any]:
    """Everything another language needs to compute a user's logical shard exactly as regions/shards.py."""
    return {"function": "blake2b", "digestSizeBytes": 8, "person": HASH_PERSON.decode("ascii"),
            "input": "the user id as a UTF-8 string", "byteOrder": "big", "modulo": logical_shards}


def build(shard_map: ShardMap, region: str, endpoints: Mapping[str, GroupEndpoints]) -> dict[str, Any]:
    manifest = shard_map.manifest
    groups = []
    for group in shard_map.groups:
        role = local_role(group, region)
        ends = endpoints[group.id]
        groups.append({
            "id": group.id,
            "start": group.start,
            "end": group.end,
            "homeRegion": group.home_region,
            "writerRegion": group.current_writer,
            "drRegions": list(group.dr_regions),
            "local": role,
            "database": group.id if role else None,
            "readOnlyDatabase": read_only_database(group.id) if role else None,
            "writerEndpoint": ends.writer,
            "localReaderEndpoint": ends.readers.get(region),
        })
    return {
        "formatVersion": FORMAT_VERSION,
        "environment": manifest.environment,
        "region": region,
        "logicalShards": manifest.logical_shards,
        "usersPerLogicalShard": manifest.users_per_logical_shard,
        "hash": hash_spec(manifest.logical_shards),
        "pgbouncer": {"host": PGBOUNCER_HOST, "port": PGBOUNCER_PORT},
        "groups": groups,
    }
