"""The deployed stack against the plan: one finding per resource and property, ok or drift.

What is expected comes from the manifest (which regions hold each shard group's copies, where its writer is,
what each region's shard map says); the identifiers to look up come from the stack outputs, because MSK ARNs
and the like exist only after a deploy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from operations.document_diff import differences, summary
from operations.live_state import LiveState
from operations.outputs import DeployedStack
from regions import published_map
from regions.schema import Manifest
from regions.shard_map_reader import ShardMapError, parse
from regions.shards import ShardGroup, ShardMap

GLOBAL_CLUSTERS, KAFKA, CACHE, EKS, SHARD_MAP = (
    "Aurora global clusters", "MSK clusters", "ElastiCache replication groups", "EKS clusters", "Shard map")
MISSING = "missing"


@dataclass(frozen=True)
class Finding:
    region: str
    resource: str
    check: str
    expected: str
    found: str
    ok: bool


def _expect(region: str, resource: str, check: str, expected: str, found: str | None) -> Finding:
    """A finding whose value must equal ``expected``; None means the resource does not exist."""
    return Finding(region, resource, check, expected, found or MISSING, found == expected)


def global_cluster_findings(state: LiveState, group: ShardGroup, deployed: DeployedStack) -> list[Finding]:
    ids = deployed.global_clusters[group.id]
    home = group.home_region
    live = state.global_cluster(ids.identifier, home)
    status = _expect(home, ids.identifier, "status", "available", live.status if live else None)
    if live is None:
        return [status]  # members and writer are moot
    expected = list(group.placement)
    # A member that is not the deployed cluster of its region (attached by hand) shows its identifier.
    found = [m.region if ids.clusters.get(m.region) == m.cluster_identifier else f"{m.region} ({m.cluster_identifier})"
             for m in live.members]
    in_plan_order = sorted(found, key=lambda m: expected.index(m) if m in expected else len(expected))
    writers = [m.region for m in live.members if m.is_writer]
    # The writer belongs in the home region unless the manifest records a switchover (writer_regions).
    writer_check = "writer region" if group.current_writer == home else "writer region (switchover recorded)"
    findings = [
        status,
        Finding(home, ids.identifier, "members", ", ".join(expected), ", ".join(in_plan_order) or "none",
                sorted(found) == sorted(expected)),
        Finding(home, ids.identifier, writer_check, group.current_writer, ", ".join(writers) or "no writer",
                writers == [group.current_writer]),
    ]
    for region in group.placement:
        identifier = ids.clusters[region]
        findings.append(_expect(region, identifier, "cluster status", "available",
                                state.db_cluster_status(identifier, region)))
    return findings


def kafka_findings(state: LiveState, region: str, deployed: DeployedStack) -> list[Finding]:
    arn = deployed.kafka_arns[region]
    # arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>: the name reads better than the whole ARN.
    name = arn.split("/")[1] if arn.count("/") >= 2 else arn
    return [_expect(region, name, "state", "ACTIVE", state.kafka_state(arn, region))]


def cache_findings(state: LiveState, region: str, deployed: DeployedStack) -> list[Finding]:
    group_id = deployed.replication_groups[region]
    return [_expect(region, group_id, "status", "available", state.replication_group_status(group_id, region))]


def eks_findings(state: LiveState, region: str, deployed: DeployedStack) -> list[Finding]:
    name = deployed.eks_clusters[region]
    return [_expect(region, name, "status", "ACTIVE", state.eks_status(name, region))]


def shard_map_findings(state: LiveState, shard_map: ShardMap, region: str, deployed: DeployedStack) -> list[Finding]:
    """The region's parameter against the document the manifest renders with the deploy's endpoints.

    A parameter holds the document as is or in its gzip+base64 envelope (regions/published_map.py): verify
    opens it as the applications' reader does, compares documents, and reports a form other than the plan's."""
    name = published_map.parameter_name(shard_map.manifest.environment)
    planned = published_map.build(shard_map, region, deployed.endpoints[region])
    form = published_map.parameter_value(planned).encoding
    expected = f"the plan's document ({len(planned['groups'])} groups{f', {form}' if form else ''})"
    text = state.parameter(name, region)
    if text is None:
        return [Finding(region, name, "value", expected, MISSING, False)]
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [Finding(region, name, "value", expected, "not JSON", False)]
    try:
        published = parse(text)
    except ShardMapError as exc:
        return [Finding(region, name, "value", expected, f"unreadable ({exc})", False)]
    found = differences(planned, published)
    if found:
        return [Finding(region, name, "value", expected, summary(found), False)]
    found_form = value.get("contentEncoding") if isinstance(value, dict) else None
    if found_form != form:
        def shown(encoding: str | None) -> str:
            return encoding or "plain JSON"
        return [Finding(region, name, "value", expected,
                        f"the plan's document as {shown(found_form)}, but the plan publishes {shown(form)}", False)]
    return [Finding(region, name, "value", expected, "as planned", True)]


def verify(state: LiveState, manifest: Manifest, deployed: DeployedStack) -> dict[str, list[Finding]]:
    """Every check, by category, in the manifest's order of regions and shard groups."""
    shard_map = ShardMap(manifest)
    regional: dict[str, Callable[[LiveState, str, DeployedStack], list[Finding]]] = {
        KAFKA: kafka_findings, CACHE: cache_findings, EKS: eks_findings}
    results = {GLOBAL_CLUSTERS: [f for g in shard_map.groups for f in global_cluster_findings(state, g, deployed)]}
    for category, check in regional.items():
        results[category] = [f for region in manifest.region_names for f in check(state, region, deployed)]
    results[SHARD_MAP] = [f for region in manifest.region_names
                          for f in shard_map_findings(state, shard_map, region, deployed)]
    return results
