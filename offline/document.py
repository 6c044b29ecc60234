"""The plan document (docs/plan.md): stable, versioned JSON that CI diffs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN, is_rpc_secret

from offline.engine import PlanRun

# 2: one document per environment or stack: every resource names the stack it belongs to; `stacks` lists the
#    stacks planned (layer, region, what each reads, resource count); `stack` is the environment or stack
#    asked for; stackOutputs merges the stacks' outputs (maps keyed by region or shard group).
#    `preview` says whether it is a first `pulumi preview`'s view (outputs unknown, shown as UNKNOWN_MARK).
# 3: `capacity.demand` (the load the environment is sized for and each region's share), `capacity.tiers` (every
#    tier's {region, tier, scenario, demand, supply, unit, headroomPercent}, normal and with each region lost),
#    `capacity.units` (the per-unit figures and their basis), `cost.atMaxSize` (node groups at their maxima).
VERSION = 3
SECRET = "[secret]"
UNKNOWN_MARK = "[unknown]"  # a value only known after apply (the engine's unknown sentinel)


def _clean(value: Any) -> Any:
    """Engine values as JSON: secrets masked, integral floats (the wire's only number type) as ints."""
    if is_rpc_secret(value):
        return SECRET
    if isinstance(value, Unknown) or value == UNKNOWN:
        return UNKNOWN_MARK
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def merge_outputs(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The stacks' outputs as one view: maps merged key by key, lists joined, equal scalars kept once."""
    def merge(a: Any, b: Any, where: str) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **{k: merge(a[k], v, f"{where}.{k}") if k in a else v for k, v in b.items()}}
        if isinstance(a, list) and isinstance(b, list):
            return [*a, *b]
        if a != b:
            raise ValueError(f"stack outputs disagree at {where}: {a!r} != {b!r}")
        return a
    merged: dict[str, Any] = {}
    for out in outputs:
        for key, value in out.items():
            if key == "region":  # each regional stack names its own
                continue
            merged[key] = merge(merged[key], value, key) if key in merged else value
    return merged


def build(run: PlanRun) -> dict[str, Any]:
    """The document of one stack."""
    return build_many([run], run.stack)


def build_many(runs: list[PlanRun], name: str, layout: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The document of several stacks (an environment, or a stack with the stacks it reads), named ``name``.

    ``layout``: stack name -> its ``layer`` and ``reads`` (regions/stacks.py), recorded in ``stacks``.
    """
    exports = merge_outputs([{k: SECRET if k in r.secret_exports else v for k, v in r.exports.items()} for r in runs])
    allocation = exports.get("shardAllocation") or []
    return {
        "version": VERSION,
        "project": runs[0].project,
        "stack": name,
        "environment": exports.get("environment"),
        # The regions of the stacks in the document (an environment's: all of its regions).
        "regions": [row["region"] for row in allocation] or list(dict.fromkeys(
            r.exports["region"] for r in runs if r.exports.get("region"))),
        "preview": any(r.preview for r in runs),
        "stacks": [{"name": r.stack, "region": r.exports.get("region"), **(layout or {}).get(r.stack, {}),
                    "resources": len(r.resources)} for r in runs],
        "resources": [
            {
                "stack": run.stack,
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "custom": r.custom,
                "parent": r.parent,
                "provider": r.provider,
                "region": r.region,
                "inputs": _clean(r.inputs),
                "outputs": _clean(r.outputs),
                "dependencies": r.dependencies,
                "propertyDependencies": r.property_dependencies,
                "protect": r.protect,
                "ignoreChanges": r.ignore_changes,
                "aliases": r.aliases,
            }
            for run in runs for r in run.resources
        ],
        # What `pulumi stack output --json` of each stack would show after `pulumi up`, merged.
        "stackOutputs": _clean(exports),
    }
