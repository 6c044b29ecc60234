"""On-demand list prices the cost report uses (regions/prices.json), each with its source and date.

Only us-east-1 could be sourced offline. A region without its own entry is priced at the us-east-1 figure
and marked estimated until `make prices` refreshes it from the AWS Price List API, which writes real entries
for every region. An item with no entry at all is unpriced, and the report says so instead of guessing.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PRICES_FILE = Path(__file__).with_name("prices.json")
BASE_REGION = "us-east-1"


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str
    region: str
    usd: Annotated[float, Field(ge=0)]
    unit: str
    source: str
    date: str  # when the figure was read or published (YYYY-MM-DD)
    estimated: bool = False


class PriceBook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    currency: str
    hours_per_month: Annotated[float, Field(gt=0, alias="hoursPerMonth")]
    sources: dict[str, str]
    prices: list[Price]

    def lookup(self, item: str, region: str) -> Price | None:
        """The region's own price; else the us-east-1 price marked estimated; else None (unpriced)."""
        by_key = {(p.item, p.region): p for p in self.prices}
        if (item, region) in by_key:
            return by_key[(item, region)]
        base = by_key.get((item, BASE_REGION))
        if base is None:
            return None
        return base.model_copy(update={"region": region, "estimated": True})

    def as_json(self) -> str:
        prices = sorted(self.prices, key=lambda p: (p.item, p.region))
        data = {"currency": self.currency, "hoursPerMonth": self.hours_per_month, "sources": self.sources,
                "prices": [p.model_dump(exclude_defaults=True) | {"region": p.region} for p in prices]}
        return json.dumps(data, indent=2) + "\n"


class PriceFileError(ValueError):
    pass


def load(path: Path = PRICES_FILE) -> PriceBook:
    try:
        book = PriceBook.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise PriceFileError(f"{path.name}: not a valid price file ({exc})") from None
    unknown = sorted({p.source for p in book.prices if p.source not in book.sources
                      and not p.source.startswith("AWS Price List API")})
    if unknown:
        raise PriceFileError(f"{path.name}: prices[].source: {unknown} are not listed under `sources`")
    return book


@cache
def default_book() -> PriceBook:
    return load()
