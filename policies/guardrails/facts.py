"""The program's facts the pack shares: facts.json, generated from the program's regions/ by `make docs`.

The pack imports nothing from the program; this file is how one source (the program's) reaches it. Published
with the pack, it is read once at import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FACTS: dict[str, Any] = json.loads(Path(__file__).with_name("facts.json").read_text(encoding="utf-8"))

# Aurora PostgreSQL's default max_connections per instance class, LEAST(DBInstanceClassMemory/9531392, 5000).
AURORA_MAX_CONNECTIONS: dict[str, int] = FACTS["auroraMaxConnections"]
# Share of max_connections kept free of PgBouncer pools (admin, replication, write forwarding).
CONNECTION_RESERVE_FRACTION: float = FACTS["connectionReserveFraction"]
HOURS_PER_MONTH: float = FACTS["hoursPerMonth"]
BASE_REGION: str = FACTS["baseRegion"]
# (item, region) -> (USD, unit "hour" or "GB-month")
PRICES: dict[tuple[str, str], tuple[float, str]] = {(p["item"], p["region"]): (p["usd"], p["unit"])
                                                    for p in FACTS["prices"]}


def price(item: str, region: Any) -> tuple[float, str, bool] | None:
    """(USD, unit, estimated) of item in region; the base region's price, estimated, when it has none."""
    if isinstance(region, str) and (item, region) in PRICES:
        return (*PRICES[(item, region)], False)
    if (item, BASE_REGION) in PRICES:
        return (*PRICES[(item, BASE_REGION)], True)
    return None
