"""What an application uses: read the published shard map once, then route each user id.

    reader = ShardMapReader.from_json(ssm_parameter_value)
    route = reader.route(user_id)
    if route.database is None:   # no copy of the user's shard group in this region
        forward the request to route.home_region
    else:
        connect to route.host:route.port, database route.database (or route.read_only_database)

The reader checks the document before trusting it: a format it does not know, a hash it does not
implement, or ranges that leave a logical shard without a group are refused with ``ShardMapError``.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

from regions.published_map import FORMAT_VERSION, hash_spec
from regions.shards import logical_shard


class ShardMapError(ValueError):
    """The published document cannot be routed with; the message says which field and why."""


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
        try:
            return cls(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ShardMapError(f"(document): not JSON ({exc})") from None

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
