"""The application's shard map (the shard-map ConfigMap every region publishes): P2, shard coverage."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Severity

from guardrails.core import (
    Meta,
    StackRule,
)
from guardrails.stack_reads import (
    CONFIG_MAP,
    UNKNOWN,
    Finding,
    Reader,
    data_entry,
    k8s_name,
    of_type,
    stable,
)

# --------------------------------------------------------------------------------------- P2 shard map


def _shard_coverage(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = Reader()
    found: list[Finding] = []
    totals: list[tuple[Any, int]] = []
    for cm in of_type(resources, CONFIG_MAP):
        if k8s_name(cm, read) != "shard-map":
            continue
        text = data_entry(read, cm, "shard-map.json")
        if text is UNKNOWN:
            continue
        if not isinstance(text, str):
            found.append((f"{cm.name}: data[\"shard-map.json\"] is not set; shard coverage cannot be verified",
                          cm.urn))
            continue
        try:
            doc = json.loads(text)
        except ValueError as exc:
            found.append((f"{cm.name}: shard-map.json is not valid JSON ({exc})", cm.urn))
            continue
        n = doc.get("logicalShards") if isinstance(doc, dict) else None
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            found.append((f"{cm.name}: shard-map.json logicalShards must be a positive integer (got {n!r})", cm.urn))
            continue
        totals.append((cm, n))
        found.extend((f"{cm.name}: shard-map.json {problem}", cm.urn) for problem in _tiling(doc.get("groups"), n))
    if len({n for _, n in totals}) > 1:
        shown = ", ".join(f"{cm.name} {n}" for cm, n in totals)
        found.append((f"shard maps disagree on logicalShards: {shown}", None))
    return read.findings + found


def _tiling(groups: Any, n: int) -> list[str]:
    """What keeps groups [{id, start, end}] from tiling [0, n) exactly once."""
    if not isinstance(groups, list) or not groups:
        return [f"has no groups; logical shards [0, {n}) are unallocated"]
    problems: list[str] = []
    spans: list[tuple[int, int, Any]] = []
    for g in groups:
        gid, start, end = (g.get("id"), g.get("start"), g.get("end")) if isinstance(g, dict) else (None, None, None)
        if isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool) \
                and not isinstance(end, bool) and start < end:
            spans.append((start, end, gid))
        else:
            problems.append(f"group {gid} has no valid range (start {start!r}, end {end!r})")
    cursor, last = 0, None
    for start, end, gid in sorted(spans, key=lambda s: (s[0], s[1])):
        if start > cursor:
            problems.append(f"leaves logical shards [{cursor}, {start}) unallocated (before group {gid})")
        elif start < cursor:
            if last is None:
                problems.append(f"group {gid} allocates logical shards [{start}, {min(cursor, end)}) below 0")
            else:
                problems.append(f"groups {last} and {gid} both allocate logical shards [{start}, {min(cursor, end)})")
        if end > cursor:
            cursor, last = end, gid
    if cursor < n:
        problems.append(f"leaves logical shards [{cursor}, {n}) unallocated (after group {last})")
    elif cursor > n:
        problems.append(f"group {last} ends at {cursor}, past logicalShards {n}")
    return problems


INVARIANTS = [
    StackRule(
        Meta("P2", "platform-shard-coverage", "Every logical shard is allocated exactly once, the same N everywhere",
             Severity.HIGH, mandatory=True,
             remediation="Regenerate the shard map so groups tile [0, logicalShards) with no gap or overlap and "
                         "every region publishes the same logicalShards."),
        stable(_shard_coverage)),
]
