"""`make docs`: the program's facts the standalone policy pack needs, as policies/guardrails/facts.json.

The pack is published on its own and imports nothing from the program, so the facts it shares with the
manifest rules and the plan's cost report (Aurora max_connections per instance class, the connection reserve,
the list prices) reach it as this generated file; tests/policies/test_pack_facts.py fails when it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from regions import prices, rds_facts

FACTS_FILE = Path(__file__).resolve().parent.parent / "policies" / "guardrails" / "facts.json"


def facts() -> dict[str, Any]:
    book = prices.default_book()
    return {
        "generatedBy": "make docs, from regions/rds_facts.py and regions/prices.json; do not edit",
        "auroraMaxConnections": dict(sorted(rds_facts.AURORA_MAX_CONNECTIONS.items())),
        "connectionReserveFraction": rds_facts.CONNECTION_RESERVE_FRACTION,
        "currency": book.currency,
        "hoursPerMonth": book.hours_per_month,
        "baseRegion": prices.BASE_REGION,
        "prices": [{"item": p.item, "region": p.region, "usd": p.usd, "unit": p.unit}
                   for p in sorted(book.prices, key=lambda p: (p.item, p.region))],
    }


def render() -> str:
    return json.dumps(facts(), indent=1) + "\n"


def write() -> Path:
    FACTS_FILE.write_text(render(), encoding="utf-8")
    return FACTS_FILE
