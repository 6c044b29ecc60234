"""The plan document's `capacity` and `cost` sections, computed from the validated manifest the plan ran on."""

from __future__ import annotations

from typing import Any

from regions import capacity, cost, prices
from regions.quota_needs import quota_uses
from regions.schema import Manifest


def sections(manifest: Manifest, book: prices.PriceBook | None = None) -> dict[str, Any]:
    return {"capacity": capacity.report(manifest, quota_uses(manifest)),
            "cost": cost.report(manifest, book or prices.default_book())}
