"""The shard map as applications read it, one copy per region (SSM parameter, ConfigMap, stack output).

The document is plain JSON: the hash that turns a user id into a logical shard, every shard group's range and
placement, and, for the region the copy is published in, which PgBouncer database reaches each group
there. Groups with no copy in the region have no database: the caller sends the request to their home region.

Where it is published, and how it fits (every store holds the same document, ``document_text``):

- the ConfigMap ``shard-map`` (``shard-map.json``) and the stack output ``shardMaps`` hold the document as
  is: a ConfigMap holds 1 MiB, about 2,500 shard groups, and the policy pack reads the ConfigMap as JSON;
- the SSM parameter holds the document as is while it fits a Standard parameter (4 KB: dev). Past that it holds
  the document gzip-compressed and base64-encoded in an envelope, ``{"contentEncoding": "gzip+base64",
  "content": ...}``, in an Advanced parameter (8 KB). The whole map in one parameter is why: an application
  reads it with one GetParameter and routes with no second look-up, and it changes atomically (a split or a
  switchover is never half-published). The map compresses about 6:1 (every group repeats the same keys,
  regions and endpoint forms), so prod's 18 groups take about 1.6 KB in a parameter instead of 7.3 KB as is,
  and four times as many groups (72) about 4.4 KB: 53% of the Advanced limit, against 28 KB as is. One
  parameter per shard group plus an index would fit any number of groups but costs a read per group, is not
  atomic, and puts an Advanced parameter's charge on each; a leaner JSON form still carries two endpoints
  of about 70 characters per group, 10 KB of endpoints alone at 72 groups.
  Prod's parameter is already Advanced, and an Advanced parameter cannot be made Standard again (only deleted
  and recreated), so it stays Advanced even though today's envelope would fit 4 KB.
- ``regions/rules.py`` renders every region's map from the manifest with Aurora's longest endpoint forms
  (``rendered_sizes``) and refuses a manifest whose map would not fit where it is published.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from regions.shards import HASH_PERSON, ShardGroup, ShardMap

FORMAT_VERSION = 1
PGBOUNCER_HOST = "pgbouncer.data.svc.cluster.local"
PGBOUNCER_PORT = 6432
DATABASE_NAME = "platform"  # the database inside every shard group's clusters

LocalRole = Literal["writer", "secondary"]
Tier = Literal["Standard", "Advanced"]

# What each store holds, in bytes of the stored text. SSM Parameter Store ("Managing parameter tiers", AWS
# Systems Manager User Guide): a Standard parameter's value at most 4 KB (PutParameter refuses more than 4096
# characters), an Advanced one's 8 KB; a ConfigMap's data cannot exceed 1 MiB (Kubernetes, "ConfigMaps").
STANDARD_PARAMETER_BYTES = 4096
ADVANCED_PARAMETER_BYTES = 8192
CONFIG_MAP_BYTES = 1024 * 1024
PARAMETER_LIMITS: dict[Tier, int] = {"Standard": STANDARD_PARAMETER_BYTES, "Advanced": ADVANCED_PARAMETER_BYTES}

# The envelope of a compressed document: exactly these two fields.
CONTENT_ENCODING = "gzip+base64"
ENVELOPE_FIELDS = ("contentEncoding", "content")


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


def document_text(document: Mapping[str, Any]) -> str:
    """The document as the ConfigMap, the stack output and a Standard parameter hold it."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def size(text: str) -> int:
    """Bytes of a stored text (the document is ASCII, so also its characters)."""
    return len(text.encode("utf-8"))


def _gzip(data: bytes) -> bytes:
    """RFC 1952 with a fixed header (no name, mtime 0, OS unknown): the same bytes on every machine's zlib
    build of the same version, so a preview shows no change when nothing changed."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflate.compress(data) + deflate.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # magic, deflate, no flags, mtime 0, best, OS unknown
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def envelope_text(document: Mapping[str, Any]) -> str:
    """The document gzip-compressed and base64-encoded in its envelope (regions/shard_map_reader.py opens it)."""
    content = base64.b64encode(_gzip(document_text(document).encode("utf-8"))).decode("ascii")
    return json.dumps({"contentEncoding": CONTENT_ENCODING, "content": content}, sort_keys=True,
                      separators=(",", ":"))


@dataclass(frozen=True)
class ParameterValue:
    value: str
    tier: Tier
    encoding: str | None  # None: the document as is; else CONTENT_ENCODING

    @property
    def limit(self) -> int:
        return PARAMETER_LIMITS[self.tier]


def parameter_value(document: Mapping[str, Any]) -> ParameterValue:
    """What the SSM parameter holds: the document as is in a Standard parameter while it fits 4 KB, else its
    envelope in an Advanced parameter (never back to Standard: AWS cannot downgrade an Advanced parameter)."""
    text = document_text(document)
    if size(text) <= STANDARD_PARAMETER_BYTES:
        return ParameterValue(text, "Standard", None)
    return ParameterValue(envelope_text(document), "Advanced", CONTENT_ENCODING)


# --------------------------------------------------------------------------- sizes before a deploy

AURORA_ENDPOINT_ID_CHARS = 12  # the account-and-region identifier in every Aurora endpoint
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def cluster_identifier(environment: str, group_id: str, short_code: str) -> str:
    """A member cluster's identifier as components/aurora.py names it: ``prod-use1-sg01-euw1``."""
    return f"{environment}-{group_id}-{short_code}"


def _endpoint_id(seed: str) -> str:
    digest = int.from_bytes(hashlib.blake2b(seed.encode("utf-8"), digest_size=16).digest(), "big")
    chars = []
    for _ in range(AURORA_ENDPOINT_ID_CHARS):
        digest, k = divmod(digest, len(_ALPHABET))
        chars.append(_ALPHABET[k])
    return "".join(chars)


def longest_endpoints(shard_map: ShardMap) -> dict[str, GroupEndpoints]:
    """Every group's endpoints in Aurora's longest forms, before any exists:
    ``<cluster-id>.cluster-<12 chars>.<region>.rds.amazonaws.com`` (writer) and
    ``<cluster-id>.cluster-ro-<12 chars>.<region>.rds.amazonaws.com`` (reader). AWS uses one 12-character
    identifier per account and region; these draw a different one per cluster, which compresses worse, so a
    deployed map should take no more than this estimate (tests/test_shard_map_size.py checks the plan's)."""
    manifest = shard_map.manifest
    codes = {r.name: r.short_code for r in manifest.regions}

    def endpoint(group: ShardGroup, region: str, kind: str) -> str:
        ident = cluster_identifier(manifest.environment, group.id, codes.get(region, region))
        return f"{ident}.{kind}-{_endpoint_id(ident)}.{region}.rds.amazonaws.com"
    return {g.id: GroupEndpoints(writer=endpoint(g, g.current_writer, "cluster"),
                                 readers={r: endpoint(g, r, "cluster-ro") for r in g.placement})
            for g in shard_map.groups}


@dataclass(frozen=True)
class RenderedSize:
    region: str
    document_bytes: int  # as the ConfigMap and the stack output hold it
    parameter: ParameterValue

    @property
    def parameter_bytes(self) -> int:
        return size(self.parameter.value)


def rendered_sizes(shard_map: ShardMap) -> list[RenderedSize]:
    """Each region's copy as it would be published, with the longest endpoints Aurora gives."""
    endpoints = longest_endpoints(shard_map)
    sizes = []
    for region in shard_map.manifest.region_names:
        document = build(shard_map, region, endpoints)
        sizes.append(RenderedSize(region, size(document_text(document)), parameter_value(document)))
    return sizes
