"""What an application uses: read the published shard map once, then route each user id.

    reader = ShardMapReader.from_json(ssm_parameter_value)   # or the ConfigMap's shard-map.json
    route = reader.route(user_id)
    if route.database is None:   # no copy of the user's shard group in this region
        forward the request to route.home_region
    else:
        connect to route.host:route.port, database route.database (or route.read_only_database)

The text is either the document itself (the ConfigMap, the stack output, a Standard parameter) or, in an
Advanced parameter, the document gzip-compressed and base64-encoded in an envelope
``{"contentEncoding": "gzip+base64", "content": "..."}`` (regions/published_map.py says why). Another language
opens it with its standard library: base64-decode ``content``, gunzip, parse the JSON.

The reader checks the text before trusting it: an envelope with another encoding, other fields or content
that is not a gzip-compressed JSON document (at most 1 MiB, a single gzip member, never another envelope), a
document format it does not know, a hash it does not implement, or ranges that leave a logical shard without
a group are refused with ``ShardMapError``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import zlib
from dataclasses import dataclass
from typing import Any

from regions.published_map import CONFIG_MAP_BYTES, CONTENT_ENCODING, ENVELOPE_FIELDS, FORMAT_VERSION, hash_spec
from regions.shards import logical_shard


class ShardMapError(ValueError):
    """The published document cannot be routed with; the message says which field and why."""


def parse(text: str) -> Any:
    """The document a published text holds: the JSON document itself, or the one its envelope encodes."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ShardMapError(f"(document): not JSON ({exc})") from None
    if isinstance(value, dict) and "contentEncoding" in value:
        return _open(value)
    return value


def _open(envelope: dict[str, Any]) -> Any:
    encoding = envelope["contentEncoding"]
    if encoding != CONTENT_ENCODING:
        raise ShardMapError(f"contentEncoding: this reader understands {CONTENT_ENCODING!r}, got {encoding!r}")
    extra = sorted(set(envelope) - set(ENVELOPE_FIELDS))
    if extra:
        raise ShardMapError(f"{extra[0]}: not a field of a {CONTENT_ENCODING} envelope ({', '.join(ENVELOPE_FIELDS)})")
    content = envelope.get("content")
    if not isinstance(content, str) or not content:
        raise ShardMapError("content: required, the base64 text of the gzip-compressed document")
    try:
        compressed = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ShardMapError("content: not base64") from None
    gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing; checks the CRC and the length
    try:
        raw = gunzip.decompress(compressed, CONFIG_MAP_BYTES + 1)
    except zlib.error as exc:
        raise ShardMapError(f"content: not gzip ({exc})") from None
    if len(raw) > CONFIG_MAP_BYTES:
        raise ShardMapError(f"content: decompresses to more than {CONFIG_MAP_BYTES} bytes")
    if not gunzip.eof or gunzip.unused_data:
        raise ShardMapError("content: " + ("truncated gzip data" if not gunzip.eof else "data after the gzip member"))
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardMapError(f"content: not a JSON document ({exc})") from None
    if isinstance(document, dict) and "contentEncoding" in document:
        raise ShardMapError("content: an envelope inside an envelope")
    return document


@dataclass(frozen=True)
class Route:
    user_id: str
    logical_shard: int
    group_id: str
    home_region: str
    writer_region: str  # where writes land now (the home region unless a switchover moved the writer)
    region: str  # the region whose copy of the map answered
    local: str | None  # "writer", "secondary" or None when the group has no copy here
    database: str | None  # PgBouncer database for reads and writes (writes forwarded on a secondary)
    read_only_database: str | None
    host: str
    port: int


class ShardMapReader:
    def __init__(self, document: dict[str, Any]) -> None:
        self._check(document)
        self.document = document
        self.region: str = document["region"]
        self.logical_shards: int = document["logicalShards"]
        self._groups: list[dict[str, Any]] = sorted(document["groups"], key=lambda g: g["start"])
        self._starts = [g["start"] for g in self._groups]

    @classmethod
    def from_json(cls, text: str) -> ShardMapReader:
        """The reader of a published text: the document as is, or its gzip+base64 envelope."""
        return cls(parse(text))

    def route(self, user_id: int | str) -> Route:
        shard = logical_shard(user_id, self.logical_shards)
        group = self._groups[bisect.bisect_right(self._starts, shard) - 1]
        pgbouncer = self.document["pgbouncer"]
        return Route(user_id=str(user_id), logical_shard=shard, group_id=group["id"], home_region=group["homeRegion"],
                     writer_region=group.get("writerRegion", group["homeRegion"]), region=self.region,
                     local=group["local"], database=group["database"],
                     read_only_database=group["readOnlyDatabase"], host=pgbouncer["host"], port=pgbouncer["port"])

    @staticmethod
    def _check(document: Any) -> None:
        if not isinstance(document, dict):
            raise ShardMapError("(document): must be a JSON object")
        for field in ("formatVersion", "region", "logicalShards", "hash", "pgbouncer", "groups"):
            if field not in document:
                raise ShardMapError(f"{field}: required")
        if document["formatVersion"] != FORMAT_VERSION:
            raise ShardMapError(f"formatVersion: this reader understands {FORMAT_VERSION}, "
                                f"got {document['formatVersion']!r}")
        total = document["logicalShards"]
        if not isinstance(total, int) or total < 1:
            raise ShardMapError(f"logicalShards: must be a positive integer, got {total!r}")
        if document["hash"] != hash_spec(total):
            raise ShardMapError(f"hash: this reader implements {hash_spec(total)}, got {document['hash']}")
        expected = 0
        for i, group in enumerate(sorted(document["groups"], key=lambda g: g["start"])):
            if group["start"] != expected:
                kind = "gap" if group["start"] > expected else "overlap"
                raise ShardMapError(f"groups[{i}].start ({group['id']}): {kind} at logical shard {expected}")
            if group["end"] <= group["start"]:
                raise ShardMapError(f"groups[{i}].end ({group['id']}): empty range")
            if (group["database"] is None) != (group["local"] is None):
                raise ShardMapError(f"groups[{i}].database ({group['id']}): must be set exactly when `local` is")
            expected = group["end"]
        if expected != total:
            raise ShardMapError(f"groups: cover [0, {expected}), not all {total} logical shards")
