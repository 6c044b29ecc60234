"""The application-side reader of the published shard map: routes like the program, refuses bad maps."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regions import published_map
from regions.loader import load, manifest_path
from regions.shard_map_reader import ShardMapError, ShardMapReader
from regions.shards import ShardMap

SHARD_MAP = ShardMap(load(manifest_path("prod"), "prod"))


def _document(region: str) -> dict[str, Any]:
    endpoints = {g.id: published_map.GroupEndpoints(
        writer=f"{g.id}.cluster-x.{g.home_region}.rds.amazonaws.com",
        readers={r: f"{g.id}.cluster-ro-x.{r}.rds.amazonaws.com" for r in g.placement}) for g in SHARD_MAP.groups}
    return published_map.build(SHARD_MAP, region, endpoints)


DOCS = {r: _document(r) for r in SHARD_MAP.manifest.region_names}


@settings(max_examples=300, deadline=None)
@given(user_id=st.one_of(st.integers(min_value=0, max_value=2**63), st.text(min_size=1, max_size=40)),
       region=st.sampled_from(sorted(DOCS)))
def test_routes_agree_with_the_programs_shard_map(user_id: int | str, region: str) -> None:
    route = ShardMapReader(DOCS[region]).route(user_id)
    group = SHARD_MAP.group_of_user(user_id)
    assert (route.group_id, route.home_region) == (group.id, group.home_region)
    if region == group.home_region:
        assert (route.local, route.database, route.read_only_database) == ("writer", group.id, f"{group.id}_ro")
    elif region in group.dr_regions:
        assert (route.local, route.database) == ("secondary", group.id)
    else:  # no copy here: the caller forwards to the home region
        assert route.local is None and route.database is None and route.read_only_database is None
    assert (route.host, route.port) == ("pgbouncer.data.svc.cluster.local", 6432)


def test_round_trip_through_json() -> None:
    reader = ShardMapReader.from_json(json.dumps(DOCS["ap-south-1"]))
    assert reader.route(42).group_id == SHARD_MAP.group_of_user(42).id


ENVELOPES = {r: published_map.parameter_value(d).value for r, d in DOCS.items()}


@settings(max_examples=300, deadline=None)
@given(user_id=st.one_of(st.integers(min_value=0, max_value=2**63), st.text(min_size=1, max_size=40)),
       region=st.sampled_from(sorted(DOCS)))
def test_the_envelope_routes_exactly_as_the_document(user_id: int | str, region: str) -> None:
    """What prod's parameter holds (gzip+base64) and what its ConfigMap holds (the JSON) give the same answers."""
    assert json.loads(ENVELOPES[region])["contentEncoding"] == "gzip+base64"
    from_parameter = ShardMapReader.from_json(ENVELOPES[region])
    from_config_map = ShardMapReader.from_json(published_map.document_text(DOCS[region]))
    assert from_parameter.document == DOCS[region]
    assert from_parameter.route(user_id) == from_config_map.route(user_id)


def _envelope(**fields: Any) -> str:
    return json.dumps({"contentEncoding": "gzip+base64", **fields})


def _content(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _gz(document: Any) -> bytes:
    return gzip.compress(json.dumps(document).encode(), mtime=0)


BAD_ENVELOPES: list[tuple[str, str, str]] = [
    ("another encoding", json.dumps({"contentEncoding": "zstd+base64", "content": "AA=="}),
     "contentEncoding: this reader understands 'gzip+base64', got 'zstd+base64'"),
    ("a field it does not know", _envelope(content=_content(_gz(DOCS["us-east-1"])), formatVersion=1),
     "formatVersion: not a field of a gzip+base64 envelope (contentEncoding, content)"),
    ("no content", _envelope(), "content: required"),
    ("not base64", _envelope(content="***"), "content: not base64"),
    ("not gzip", _envelope(content=_content(b"plain bytes")), "content: not gzip"),
    ("truncated", _envelope(content=_content(_gz(DOCS["us-east-1"])[:-12])), "content: truncated gzip data"),
    ("two members", _envelope(content=_content(_gz(DOCS["us-east-1"]) * 2)), "content: data after the gzip member"),
    ("not JSON inside", _envelope(content=_content(gzip.compress(b"{nope"))), "content: not a JSON document"),
    ("an envelope inside", _envelope(content=_content(_gz({"contentEncoding": "gzip+base64", "content": ""}))),
     "content: an envelope inside an envelope"),
    ("over a mebibyte", _envelope(content=_content(gzip.compress(b" " * (1024 * 1024 + 1)))),
     "content: decompresses to more than 1048576 bytes"),
    ("a document from the future inside", _envelope(content=_content(_gz({**DOCS["us-east-1"], "formatVersion": 2}))),
     "formatVersion: this reader understands 1, got 2"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_ENVELOPES, ids=[b[0] for b in BAD_ENVELOPES])
def test_bad_envelopes_are_refused(case: str, text: str, message: str) -> None:
    with pytest.raises(ShardMapError) as err:
        ShardMapReader.from_json(text)
    assert message in str(err.value)


def _broken(edit: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOCS["us-east-1"])
    edit(doc)
    return doc


def _drop(key: str) -> Any:
    return lambda d: d.pop(key)


def _group(index: int, key: str, value: Any) -> Any:
    return lambda d: d["groups"][index].__setitem__(key, value)


BAD: list[tuple[str, Any, str]] = [
    ("format from the future", lambda d: d.__setitem__("formatVersion", 2), "formatVersion: this reader understands 1"),
    ("groups missing", _drop("groups"), "groups: required"),
    ("hash missing", _drop("hash"), "hash: required"),
    ("another hash person", lambda d: d["hash"].__setitem__("person", "gp-shard-v2"), "hash: this reader implements"),
    ("another modulo", lambda d: d["hash"].__setitem__("modulo", 80000), "hash: this reader implements"),
    ("gap", _group(1, "start", 5001), "groups[1].start (use1-sg02): gap at logical shard 5000"),
    ("overlap", _group(1, "start", 4000), "groups[1].start (use1-sg02): overlap at logical shard 5000"),
    ("short of the total", lambda d: d["groups"].pop(), "groups: cover [0, 85000), not all 90000 logical shards"),
    ("empty range", lambda d: (d["groups"][0].__setitem__("end", 0)), "groups[0].end (use1-sg01): empty range"),
    ("database without a local copy", _group(0, "local", None), "groups[0].database (use1-sg01): must be set exactly"),
    ("zero shards", lambda d: d.__setitem__("logicalShards", 0), "logicalShards: must be a positive integer"),
]


@pytest.mark.parametrize(("case", "edit", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_maps_are_refused(case: str, edit: Any, message: str) -> None:
    with pytest.raises(ShardMapError) as err:
        ShardMapReader(_broken(edit))
    assert message in str(err.value)


def test_not_json_is_refused() -> None:
    with pytest.raises(ShardMapError, match=r"\(document\): not JSON"):
        ShardMapReader.from_json("{not json")
