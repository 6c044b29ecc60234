"""The Metrics Insights queries of the group alarms: quoting, and the limits a query must stay within."""

from __future__ import annotations

import pytest

from regions import group_alarms as g
from regions.cache_facts import NODES_PER_CLUSTER_MAX
from regions.catalog import AWS_REGIONS
from regions.cloudwatch_facts import EXPRESSION_CHARACTERS, SERIES_PER_QUERY
from regions.kafka_facts import BROKERS_PER_CLUSTER
from regions.loader import load, manifest_path

DISK = g.KAFKA_BROKER_SIGNALS[1]


def test_names_with_other_characters_are_double_quoted_and_values_single_quoted() -> None:
    source = g.Source('AWS/My"Space', ("Cluster Name", "Broker_ID"), "Broker_ID", "Cluster Name", "every broker")
    signal = g.GroupSignal("x", "Disk.Used", "SUM", 1, "disk")
    assert g.query(source, signal, "o'brien") == (
        'SELECT SUM("Disk.Used") FROM SCHEMA("AWS/My\\"Space", "Cluster Name", Broker_ID) '
        "WHERE \"Cluster Name\" = 'o\\'brien' GROUP BY Broker_ID ORDER BY SUM() DESC")


def test_a_source_without_a_group_dimension_has_no_where() -> None:
    query = g.query(g.CACHE, g.CACHE_SIGNALS[0], "prod-use1-cache")
    assert "WHERE" not in query and "prod-use1-cache" not in query


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_thresholds_and_descriptions_come_from_the_manifests_alarms_block(env: str) -> None:
    alarms = load(manifest_path(env), env).alarms
    assert DISK.limit(alarms) == alarms.kafka_disk_used_percent
    assert DISK.describe(alarms) == f"data disk above {alarms.kafka_disk_used_percent}%"
    assert g.KAFKA_BROKER_SIGNALS[0].limit(alarms) == 0  # a fixed threshold: any under-replicated partition


def test_every_query_fits_an_alarms_expression() -> None:
    code = max((r.short_code for r in AWS_REGIONS.values()), key=len)  # the longest the catalog names
    longest_name = f"prod-{code}-kafka"
    queries = [g.query(g.KAFKA, s, longest_name) for s in g.KAFKA_BROKER_SIGNALS] + \
        [g.query(g.CACHE, s, longest_name) for s in g.CACHE_SIGNALS]
    assert max(len(q) for q in queries) <= EXPRESSION_CHARACTERS


def test_the_largest_group_fits_the_series_one_query_returns() -> None:
    """Past 500 series the alarm evaluates PARTIAL_DATA; the largest cluster and group the rules allow fit."""
    assert NODES_PER_CLUSTER_MAX <= SERIES_PER_QUERY
    assert BROKERS_PER_CLUSTER <= SERIES_PER_QUERY
