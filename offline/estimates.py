"""The plan document's `capacity` and `cost` sections, computed from the validated manifest the plan ran on.

The cost is the policy pack's cost model (policies/guardrails/cost.py, P10's) over the plan's resources when the
plan document is given, so the plan's monthly total is the figure P10 compares with the budget; without a
document it is the manifest's estimate, which prices the same items (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from offline import guardrails
from regions import capacity, cost, prices
from regions.quota_needs import quota_uses
from regions.schema import Manifest

COMPONENTS = ("aurora", "eks", "kafka", "cache", "network", "backup")


def plan_cost_lines(manifest: Manifest, document: Mapping[str, Any]) -> list[cost.Line]:
    """The pack's cost lines of the plan, by region (the manifest's order), component and item."""
    regions = [r.name for r in manifest.regions]

    def order(line: Any) -> tuple[int, int, str]:  # stable: the engine may register resources in any order
        return (regions.index(line.region) if line.region in regions else len(regions),
                COMPONENTS.index(line.component) if line.component in COMPONENTS else len(COMPONENTS), line.item)

    found = guardrails.cost_lines(document, manifest.backups.estimated_gib_per_group)
    return [cost.Line(line.region or "unknown", line.component, line.item, float(line.quantity), line.unit_usd,
                      line.monthly_usd, line.estimated) for line in sorted(found, key=order)]


def sections(manifest: Manifest, book: prices.PriceBook | None = None,
             document: Mapping[str, Any] | None = None) -> dict[str, Any]:
    book = book or prices.default_book()
    items = plan_cost_lines(manifest, document) if document is not None else None
    return {"capacity": capacity.report(manifest, quota_uses(manifest)),
            "cost": cost.report(manifest, book, items)}
