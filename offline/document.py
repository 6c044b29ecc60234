"""The plan document (ARCHITECTURE section 4): stable, versioned JSON that CI diffs."""

from __future__ import annotations

from typing import Any

from pulumi.runtime.rpc import is_rpc_secret

from offline.engine import PlanRun

VERSION = 1
SECRET = "[secret]"


def _clean(value: Any) -> Any:
    """Engine values as JSON: secrets masked, integral floats (the wire's only number type) as ints."""
    if is_rpc_secret(value):
        return SECRET
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def build(run: PlanRun) -> dict[str, Any]:
    allocation = run.exports.get("shardAllocation") or []
    return {
        "version": VERSION,
        "project": run.project,
        "stack": run.stack,
        "environment": run.exports.get("environment"),
        "regions": [row["region"] for row in allocation],
        "resources": [
            {
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
            for r in run.resources
        ],
        # What `pulumi stack output --json` would show after `pulumi up` (cluster names, ingress hostnames).
        "stackOutputs": _clean(run.exports),
    }
