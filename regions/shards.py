"""Shard math: user id -> logical shard -> shard group -> home region and placement.

A user's logical shard is ``blake2b(str(user_id), digest_size=8, person=b"gp-shard-v1")`` read as a
big-endian unsigned 64-bit integer, modulo the manifest's ``logical_shards`` (90,000). The hash is
stable across processes, machines and languages (unlike Python's ``hash``); the modulo bias of a 64-bit
value over 90,000 buckets is below 1e-14. The function never changes: moving users means moving
logical shards between shard groups, never rehashing.

Shards are data: a region's range [start, end) is cut into ``shard_groups`` equal groups; group ``k``
(1-based, ``use1-sg01``) owns [start + (k-1)*size, start + k*size). Its writer is in the home region and
its copies in the region's DR regions, in order.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from functools import cached_property

from regions.schema import Manifest, Region

HASH_PERSON = b"gp-shard-v1"


def logical_shard(user_id: int | str, logical_shards: int) -> int:
    """The logical shard of a user id (an integer or its decimal/opaque string form)."""
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        raise TypeError(f"user id must be an int or str, got {type(user_id).__name__}")
    digest = hashlib.blake2b(str(user_id).encode("utf-8"), digest_size=8, person=HASH_PERSON).digest()
    return int.from_bytes(digest, "big") % logical_shards


@dataclass(frozen=True)
class ShardGroup:
    id: str  # "use1-sg01"
    index: int  # 1-based within the home region
    home_region: str
    dr_regions: tuple[str, ...]
    start: int
    end: int
    writer_region: str = ""  # where the writer is now; the home region unless the manifest records a switchover
    readers: int = 0  # reader instances of the primary cluster (the home region's, or the group's own override)

    @property
    def current_writer(self) -> str:
        return self.writer_region or self.home_region

    @property
    def placement(self) -> tuple[str, ...]:
        """Regions holding a copy: the writer's home region first, then the DR regions in order."""
        return (self.home_region, *self.dr_regions)

    @property
    def logical_shards(self) -> int:
        return self.end - self.start

    def __contains__(self, shard: int) -> bool:
        return self.start <= shard < self.end


def shard_group_id(short_code: str, index: int) -> str:
    return f"{short_code}-sg{index:02d}"


def group_readers(manifest: Manifest, region: Region) -> list[int]:
    """Readers of each of the region's own shard groups: the region's `aurora.readers` unless overridden."""
    return [manifest.group_readers.get(shard_group_id(region.short_code, k), region.aurora.readers)
            for k in range(1, region.shard_groups + 1)]


@dataclass(frozen=True)
class ShardMap:
    """The allocation of one validated manifest."""

    manifest: Manifest

    @cached_property
    def groups(self) -> tuple[ShardGroup, ...]:
        groups = []
        for region in self.manifest.regions:
            size = region.logical_shards.size // region.shard_groups
            readers = group_readers(self.manifest, region)
            for k in range(region.shard_groups):
                start = region.logical_shards.start + k * size
                gid = shard_group_id(region.short_code, k + 1)
                groups.append(ShardGroup(gid, k + 1, region.name, tuple(region.dr_regions), start, start + size,
                                         self.manifest.writer_regions.get(gid, ""),
                                         readers[k]))
        return tuple(sorted(groups, key=lambda g: g.start))

    @cached_property
    def _starts(self) -> list[int]:
        return [g.start for g in self.groups]

    def group_of_shard(self, shard: int) -> ShardGroup:
        if not 0 <= shard < self.manifest.logical_shards:
            raise ValueError(f"logical shard {shard} outside [0, {self.manifest.logical_shards})")
        return self.groups[bisect.bisect_right(self._starts, shard) - 1]

    def group_of_user(self, user_id: int | str) -> ShardGroup:
        return self.group_of_shard(logical_shard(user_id, self.manifest.logical_shards))

    def home_region(self, shard: int) -> str:
        return self.group_of_shard(shard).home_region

    def groups_in(self, region: str) -> list[ShardGroup]:
        return [g for g in self.groups if g.home_region == region]

    def hosted_secondaries(self, region: str) -> list[ShardGroup]:
        """Shard groups whose secondary cluster lives in ``region``."""
        return [g for g in self.groups if region in g.dr_regions]
