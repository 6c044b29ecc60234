"""Shard math: stable hashing, exact tiling, placement; property-tested with hypothesis."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regions import loader
from regions.shards import ShardMap, logical_shard

PROD = ShardMap(loader.load(loader.manifest_path("prod")))
DEV = ShardMap(loader.load(loader.manifest_path("dev")))
USER_IDS = st.one_of(st.integers(min_value=0, max_value=2**63 - 1), st.text(min_size=1, max_size=64))


def test_hash_is_pinned() -> None:
    """These values are the contract with every application that routes users; they never change."""
    assert [logical_shard(u, 90_000) for u in (0, 1, 42, 123456789, "alice", 2**63 - 1)] == \
        [77022, 50045, 32834, 28945, 51593, 84495]


@given(USER_IDS)
def test_logical_shard_is_in_range_and_deterministic(user_id: int | str) -> None:
    shard = logical_shard(user_id, 90_000)
    assert 0 <= shard < 90_000
    assert logical_shard(user_id, 90_000) == shard


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_int_and_decimal_string_ids_agree(user_id: int) -> None:
    assert logical_shard(user_id, 90_000) == logical_shard(str(user_id), 90_000)


@pytest.mark.parametrize("bad", [True, 1.5, None, b"1"])
def test_other_id_types_are_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        logical_shard(bad, 90_000)  # type: ignore[arg-type]


@pytest.mark.parametrize("shard_map", [PROD, DEV], ids=["prod", "dev"])
def test_groups_tile_all_logical_shards(shard_map: ShardMap) -> None:
    groups = shard_map.groups
    assert groups[0].start == 0 and groups[-1].end == 90_000
    assert all(a.end == b.start for a, b in itertools.pairwise(groups))
    for region in shard_map.manifest.regions:
        mine = shard_map.groups_in(region.name)
        assert len(mine) == region.shard_groups
        assert {g.logical_shards for g in mine} == {region.logical_shards.size // region.shard_groups}


def test_prod_allocation() -> None:
    assert [len(PROD.groups_in(r)) for r in PROD.manifest.region_names] == [6, 5, 4, 3]
    assert {g.logical_shards for g in PROD.groups} == {5000}
    assert [g.id for g in PROD.groups_in("ap-south-1")] == ["aps1-sg01", "aps1-sg02", "aps1-sg03"]
    # Balanced DR: every region hosts the secondaries of 9 shard groups, none of its own.
    for region in PROD.manifest.region_names:
        hosted = PROD.hosted_secondaries(region)
        assert len(hosted) == 9 and all(g.home_region != region for g in hosted)


@given(st.integers(min_value=0, max_value=89_999))
def test_each_shard_has_exactly_one_group_in_its_home_range(shard: int) -> None:
    group = PROD.group_of_shard(shard)
    assert shard in group
    assert [g for g in PROD.groups if shard in g] == [group]
    home = PROD.manifest.region(group.home_region)
    assert home.logical_shards.start <= shard < home.logical_shards.end
    assert PROD.home_region(shard) == group.home_region


@given(st.integers(min_value=0, max_value=89_999))
def test_placement_is_home_then_distinct_dr_regions(shard: int) -> None:
    placement = PROD.group_of_shard(shard).placement
    assert len(placement) == 3 == len(set(placement))
    assert placement[0] == PROD.home_region(shard)
    assert set(placement) <= set(PROD.manifest.region_names)


@pytest.mark.parametrize("shard", [-1, 90_000])
def test_out_of_range_shard_is_refused(shard: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        PROD.group_of_shard(shard)


def test_users_spread_in_proportion_to_ranges() -> None:
    homes = Counter(PROD.group_of_user(user).home_region for user in range(200_000))
    for region in PROD.manifest.regions:
        expected = region.logical_shards.size / 90_000
        assert abs(homes[region.name] / 200_000 - expected) < 0.01
