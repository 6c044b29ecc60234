"""The subnet plan: inside the VPC, disjoint, and stable when AZs are added."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regions.addressing import TIERS, subnet_cidr, subnet_plan

VPCS = st.builds(lambda a, b, prefix: str(ipaddress.IPv4Network(f"10.{a}.{b}.0/{prefix}", strict=False)),
                 st.integers(0, 255), st.integers(0, 255), st.integers(16, 20))


@given(VPCS, st.integers(1, 6))
def test_subnets_fit_and_never_overlap(vpc: str, azs: int) -> None:
    network = ipaddress.IPv4Network(vpc)
    subnets = [s for tier in subnet_plan(vpc, azs).values() for s in tier]
    assert all(s.subnet_of(network) for s in subnets)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(subnets, 2))


@given(VPCS, st.integers(1, 5))
def test_adding_an_az_moves_nothing(vpc: str, azs: int) -> None:
    before, after = subnet_plan(vpc, azs), subnet_plan(vpc, azs + 1)
    assert all(after[tier][:azs] == before[tier] for tier in TIERS)


def test_prod_layout_for_a_16() -> None:
    plan = subnet_plan("10.10.0.0/16", 3)
    assert [str(s) for s in plan["private"]] == ["10.10.0.0/19", "10.10.32.0/19", "10.10.64.0/19"]
    assert [str(s) for s in plan["data"]] == ["10.10.192.0/22", "10.10.196.0/22", "10.10.200.0/22"]
    assert [str(s) for s in plan["public"]] == ["10.10.224.0/22", "10.10.228.0/22", "10.10.232.0/22"]


@pytest.mark.parametrize("index", [-1, 6])
def test_az_index_out_of_range_is_refused(index: int) -> None:
    with pytest.raises(ValueError, match="AZ index"):
        subnet_cidr("10.10.0.0/16", "private", index)
