"""`make prices`: refresh regions/prices.json from the AWS Price List API for what the committed manifests need.

Every price item regions/cost.py looks up for regions/prod.yaml and regions/dev.yaml is queried in each region
that needs it (operations/price_list.py says how). An answer naming one price replaces the entry; any other
answer keeps the entry as it was (hand-sourced, or the us-east-1 estimate) and is reported. Sources no entry
cites any more are dropped from `sources`. `--dry-run` prints the changes and writes nothing.

Exit codes: 0 every item refreshed; 1 some items unresolved (the others written); 2 no usable credentials,
access denied, or a manifest or price file that does not load, with one message.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from operations.price_list import PRICING_REGION, Unresolved, fetch, query_for, read_answer
from operations.stack import AWS_ERRORS, EXIT_FINDINGS, EXIT_OK, console, fail
from regions import loader, prices
from regions.cost import price_items
from regions.prices import Price, PriceBook

ENVIRONMENTS = ("prod", "dev")
ACCESS_HINT = "`make prices` needs AWS credentials allowed pricing:GetProducts (for example AWS_PROFILE)"


@dataclass(frozen=True)
class Refresh:
    item: str
    region: str
    old: Price | None  # the book's answer before, possibly the us-east-1 figure marked estimated
    new: Price | None  # None: unresolved, the entry stays as it was
    problem: str | None = None


def wanted_items(environments: tuple[str, ...] = ENVIRONMENTS) -> list[tuple[str, str]]:
    """(item, region) for everything the environments' manifests are priced by, sorted."""
    wants: set[tuple[str, str]] = set()
    for environment in environments:
        manifest = loader.load(loader.manifest_path(environment), environment)
        wants |= {(item, region) for region, items in price_items(manifest).items() for item in items}
    return sorted(wants)


def refresh(client: Any, book: PriceBook, wants: list[tuple[str, str]], today: date) -> list[Refresh]:
    """One Price List query per (item, region); AWS errors propagate (they concern every query alike)."""
    results = []
    for item, region in wants:
        old = book.lookup(item, region)
        query = query_for(item)
        if query is None:
            results.append(Refresh(item, region, old, None, "no Price List query maps this item"))
            continue
        try:
            answer = read_answer(query, fetch(client, query, region))
        except Unresolved as exc:
            results.append(Refresh(item, region, old, None, str(exc)))
            continue
        new = Price(item=item, region=region, usd=answer.usd, unit=answer.unit, source=answer.source,
                    date=today.isoformat())
        results.append(Refresh(item, region, old, new))
    return results


def updated_book(book: PriceBook, results: list[Refresh]) -> PriceBook:
    fresh = {(r.item, r.region): r.new for r in results if r.new is not None}
    kept = [p for p in book.prices if (p.item, p.region) not in fresh]
    entries = kept + list(fresh.values())
    cited = {p.source for p in entries}
    return book.model_copy(update={"prices": entries, "sources": {k: v for k, v in book.sources.items() if k in cited}})


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of it."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                     delete=False) as tmp:
        tmp.write(text)
    os.chmod(tmp.name, mode)  # temporary files are created 0600; keep the price file readable as it was
    os.replace(tmp.name, path)


def _figure(price: Price | None) -> str:
    if price is None:
        return "-"
    return f"{price.usd:g}" + (" (us-east-1 estimate)" if price.estimated else "")


def _change(result: Refresh) -> str:
    if result.new is None or result.old is None or not result.old.usd:
        return ""
    return f"{(result.new.usd - result.old.usd) / result.old.usd * 100:+.1f}%"


def render(results: list[Refresh], name: str, out: Console) -> None:
    table = Table(title=f"{name}: old -> new (USD, on-demand)", title_justify="left")
    for column, justify in (("item", "left"), ("region", "left"), ("unit", "left"), ("old", "right"),
                            ("new", "right"), ("change", "right"), ("", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in results:
        shown = r.new or r.old
        note = f"[yellow]kept: {escape(r.problem)}[/yellow]" if r.problem else ""
        table.add_row(r.item, r.region, shown.unit if shown else "", _figure(r.old), _figure(r.new), _change(r), note)
    out.print(table)


def main(argv: list[str] | None = None, client: Any | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make prices", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    parser.add_argument("--file", type=Path, default=prices.PRICES_FILE, help="the price file to refresh")
    args = parser.parse_args(argv)
    out = console()
    try:
        book = prices.load(args.file)
        wants = wanted_items()
    except (prices.PriceFileError, loader.ManifestError) as exc:
        return fail(str(exc))
    if client is None:
        session = boto3.Session()
        if session.get_credentials() is None:
            return fail(f"no AWS credentials found; {ACCESS_HINT}")
        client = session.client("pricing", region_name=PRICING_REGION)
    try:
        results = refresh(client, book, wants, date.today())
    except AWS_ERRORS as exc:
        return fail(f"the AWS Price List API refused the request ({exc}); {ACCESS_HINT}")
    name = loader.display(args.file)
    render(results, name, out)
    unresolved = [r for r in results if r.new is None]
    if args.dry_run:
        out.print(f"dry run: {name} not written")
    else:
        write_atomically(args.file, updated_book(book, results).as_json())
        out.print(f"{name}: {len(results) - len(unresolved)} of {len(results)} prices refreshed")
    if unresolved:
        out.print(f"[bold yellow]{len(unresolved)} item(s) unresolved[/bold yellow]: their entries stay as they were "
                  "(check the query in operations/price_list.py against the Price List API)")
        return EXIT_FINDINGS
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
