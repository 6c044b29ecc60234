"""Issue 15: every region's shard map fits where it is published, today and at four times today's shard groups."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from components.aurora import MemberSpec
from operations.drift import shard_map_findings
from operations.live_state import LiveState
from operations.outputs import DeployedStack
from regions import loader, published_map
from regions.published_map import ADVANCED_PARAMETER_BYTES, CONFIG_MAP_BYTES, CONTENT_ENCODING
from regions.schema import Manifest
from regions.shard_map_reader import ShardMapReader
from regions.shards import ShardMap
from tests.manifest_edits import set_path
from tests.plan_helpers import Doc, of_type

PROD = loader.load(loader.manifest_path("prod"), "prod")
USERS = [*range(2_000), "alice", "bob@example.com", "ユーザー", str(2**63)]


def _times_four(data: dict[str, Any]) -> None:
    for region in data["regions"]:
        region["shard_groups"] *= 4  # 1,250 logical shards a group: every range still divides evenly


def _load(data: dict[str, Any], write_manifest: Callable[..., Path]) -> Any:
    return loader.load(write_manifest(data), "prod")


def test_prods_map_fits_its_advanced_parameter_today() -> None:
    sizes = published_map.rendered_sizes(ShardMap(PROD))
    assert [s.region for s in sizes] == PROD.region_names
    for s in sizes:
        # As is, the document would need 89% of the Advanced tier (7,309 bytes in us-east-1).
        assert 7_000 < s.document_bytes <= ADVANCED_PARAMETER_BYTES
        assert (s.parameter.tier, s.parameter.encoding) == ("Advanced", CONTENT_ENCODING)
        assert s.parameter_bytes <= ADVANCED_PARAMETER_BYTES // 4  # about 1.6 KB of 8,192 bytes


def test_devs_map_stays_the_document_in_a_standard_parameter() -> None:
    dev = loader.load(loader.manifest_path("dev"), "dev")
    for s in published_map.rendered_sizes(ShardMap(dev)):
        assert (s.parameter.tier, s.parameter.encoding) == ("Standard", None)
        assert s.parameter_bytes == s.document_bytes <= published_map.STANDARD_PARAMETER_BYTES


def test_four_times_todays_shard_groups_still_fit(raw_manifest: Any, write_manifest: Callable[..., Path]) -> None:
    data = raw_manifest("prod")
    _times_four(data)
    manifest = _load(data, write_manifest)  # every other rule holds too
    shard_map = ShardMap(manifest)
    assert len(shard_map.groups) == 72
    for s in published_map.rendered_sizes(shard_map):
        assert s.document_bytes > 3 * ADVANCED_PARAMETER_BYTES  # 28 KB as is: only the envelope fits
        assert s.parameter.tier == "Advanced" and s.parameter_bytes <= ADVANCED_PARAMETER_BYTES * 6 // 10
        assert s.document_bytes <= CONFIG_MAP_BYTES
    # And the reader routes from the envelope exactly as from the document.
    endpoints = published_map.longest_endpoints(shard_map)
    for region in manifest.region_names:
        document = published_map.build(shard_map, region, endpoints)
        envelope = ShardMapReader.from_json(published_map.parameter_value(document).value)
        plain = ShardMapReader.from_json(published_map.document_text(document))
        assert [envelope.route(u) for u in USERS] == [plain.route(u) for u in USERS]
        assert all(envelope.route(u).group_id == shard_map.group_of_user(u).id for u in USERS)


def _refusal(data: dict[str, Any], write_manifest: Callable[..., Path]) -> tuple[Path, list[str]]:
    path = write_manifest(data)
    with pytest.raises(loader.ManifestError) as err:
        loader.load(path, "prod")
    return path, str(err.value).splitlines()


def test_a_map_that_cannot_fit_its_parameter_is_refused(raw_manifest: Any,
                                                        write_manifest: Callable[..., Path]) -> None:
    data = raw_manifest("prod")
    set_path("regions.0.shard_groups", 600)(data)  # 50 logical shards a group: 612 in all
    path, lines = _refusal(data, write_manifest)
    assert len(lines) == 4  # every region's copy, and nothing else is wrong
    sizes = published_map.rendered_sizes(ShardMap(_unchecked(data)))
    for i, (line, s) in enumerate(zip(lines, sizes, strict=True)):
        assert line == (
            f"{path}: regions[{i}].shard_groups ({s.region}): the shard map published in {s.region} holds all 612 "
            "shard groups of the manifest (regions[*].shard_groups: 600 + 5 + 4 + 3) and renders to "
            f"{s.parameter_bytes} bytes gzip+base64 as the SSM parameter /platform/prod/shard-map, over the "
            "8192-byte limit of the Advanced tier; use fewer, larger shard groups")
        assert s.parameter_bytes > ADVANCED_PARAMETER_BYTES


def test_a_map_over_a_configmaps_mebibyte_is_refused(raw_manifest: Any, write_manifest: Callable[..., Path]) -> None:
    data = raw_manifest("prod")
    set_path("regions.0.shard_groups", 3000)(data)  # 10 logical shards a group
    _, lines = _refusal(data, write_manifest)
    configmap = [line for line in lines if "as the ConfigMap shard-map" in line]
    assert configmap and all("over the 1048576-byte (1 MiB) limit of a ConfigMap's data" in line for line in configmap)
    assert ": regions[0].shard_groups (us-east-1): " in configmap[0]


def _unchecked(data: dict[str, Any]) -> Manifest:
    return Manifest.model_validate(data)


def test_the_estimate_uses_the_endpoint_forms_aurora_and_the_program_use() -> None:
    endpoints = published_map.longest_endpoints(ShardMap(PROD))
    group = next(g for g in ShardMap(PROD).groups if g.id == "euw1-sg02")
    ends = endpoints[group.id]
    spec = MemberSpec(environment="prod", group_id=group.id, engine_version="", instance_class="",
                      backup_retention_days=35, log_retention_days=365, alarms=PROD.alarms, protect=True)
    ident = spec.cluster_identifier("euw1")
    assert ident == published_map.cluster_identifier("prod", group.id, "euw1")
    writer_id, rest = ends.writer.split(".", 1)
    assert writer_id == ident and rest.startswith("cluster-") and rest.endswith(".eu-west-1.rds.amazonaws.com")
    assert len(rest.split(".")[0]) == len("cluster-") + 12
    assert set(ends.readers) == set(group.placement)
    assert ends.readers["us-east-1"].startswith(f"{spec.cluster_identifier('use1')}.cluster-ro-")


def test_the_envelope_is_plain_gzip_and_base64() -> None:
    """Any language opens it with its standard library; the bytes do not depend on when they were made."""
    document = published_map.build(ShardMap(PROD), "us-east-1", published_map.longest_endpoints(ShardMap(PROD)))
    envelope = json.loads(published_map.envelope_text(document))
    assert sorted(envelope) == ["content", "contentEncoding"] and envelope["contentEncoding"] == "gzip+base64"
    assert json.loads(gzip.decompress(base64.b64decode(envelope["content"]))) == document
    assert published_map.envelope_text(document) == published_map.envelope_text(json.loads(json.dumps(document)))


def test_the_planned_maps_fit_and_the_estimate_bounds_them(prod_plan: Doc) -> None:
    estimate = {s.region: s for s in published_map.rendered_sizes(ShardMap(PROD))}
    for region in prod_plan["regions"]:
        text = prod_plan["stackOutputs"]["shardMaps"][region]
        published = published_map.parameter_value(json.loads(text))
        assert published.value != text and ShardMapReader.from_json(published.value).document == json.loads(text)
        assert published_map.size(published.value) <= ADVANCED_PARAMETER_BYTES
        (parameter,) = of_type(prod_plan, "aws:ssm/parameter:Parameter", region)
        assert parameter["inputs"]["tier"] == published.tier == "Advanced"
        # The estimate's endpoints are as long as the planned ones, and compress no better.
        assert estimate[region].document_bytes == published_map.size(text)
        assert estimate[region].parameter_bytes >= published_map.size(published.value)


class _Parameters:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def parameter(self, name: str, region: str) -> str | None:
        return self.values.get(region)


def _verify(region: str, value: Callable[[dict[str, Any]], str]) -> tuple[str, str, bool]:
    shard_map = ShardMap(PROD)
    endpoints = published_map.longest_endpoints(shard_map)
    deployed = DeployedStack("prod", {}, {}, {}, {}, {r: endpoints for r in PROD.region_names})
    state = cast(LiveState, _Parameters({region: value(published_map.build(shard_map, region, endpoints))}))
    (finding,) = shard_map_findings(state, shard_map, region, deployed)
    return finding.expected, finding.found, finding.ok


def _edited_envelope(document: dict[str, Any]) -> str:
    document["groups"][0]["end"] = 4000
    return published_map.envelope_text(document)


@pytest.mark.parametrize(("value", "found", "ok"), [
    (lambda d: published_map.parameter_value(d).value, "as planned", True),
    (published_map.document_text, "the plan's document as plain JSON, but the plan publishes gzip+base64",
     False),
    (_edited_envelope, "groups[use1-sg01].end: 4000, plan 5000", False),
    (lambda d: json.dumps({"contentEncoding": "gzip+base64", "content": "not base64!"}),
     "unreadable (content: not base64)", False),
], ids=["envelope as planned", "document as is", "envelope that differs", "envelope that does not open"])
def test_verify_opens_the_envelope(value: Callable[[dict[str, Any]], str], found: str, ok: bool) -> None:
    assert _verify("ap-south-1", value) == ("the plan's document (18 groups, gzip+base64)", found, ok)
