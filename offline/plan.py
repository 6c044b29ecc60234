"""`make plan`: run the program offline for a stack, print the summary, optionally write the plan document.

Exit codes: 0 planned with no mandatory guardrail violation; 1 planned, but a mandatory guardrail is
violated (the document is still written, with the violations); 2 bad input (stack config or manifest),
with the validation message and no document written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

from rich.console import Console


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument("--stack", default="prod", help="stack whose Pulumi.<stack>.yaml to plan (default prod)")
    parser.add_argument("--json", type=Path, help="also write the plan document to this path")
    parser.add_argument("--manifest", type=Path, help="plan this manifest file instead of regions/<env>.yaml")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    from offline import capacity_report, document, engine, estimates, guardrails, report
    from program.config import ConfigError
    from regions.loader import load as load_manifest
    from regions.loader import manifest_path

    # CI logs are not terminals: give the tables room (the capacity table is ~200 columns) instead of 80.
    width = None if sys.stdout.isatty() else 200
    out, err = Console(width=width), Console(stderr=True, width=width)
    try:
        run = engine.run(args.stack, manifest=args.manifest)
    except (engine.InvalidInput, ConfigError) as exc:
        err.print("[bold red]plan failed:[/bold red] invalid input, nothing was planned")
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return 2
    doc = document.build(run)
    manifest = load_manifest(args.manifest or manifest_path(doc["environment"]), doc["environment"])
    doc |= estimates.sections(manifest)
    violations = guardrails.evaluate(doc, guardrails.load_config(args.stack))
    doc["policyViolations"] = guardrails.as_document(violations)
    report.render(doc, run.exports.get("shardAllocation") or [], out)
    capacity_report.render_capacity(doc["capacity"], out)
    capacity_report.render_cost(doc["cost"], out)
    report.render_violations(doc["policyViolations"], guardrails.config_path(args.stack).name, out)
    if args.json:
        _write_atomically(args.json, json.dumps(doc, indent=2, sort_keys=False) + "\n")
        out.print(f"plan document: {args.json} ({len(doc['resources'])} resources)")
    mandatory = [v for v in violations if v.enforcement == "mandatory"]
    if mandatory:
        err.print(f"[bold red]{len(mandatory)} mandatory guardrail violation(s)[/bold red]; `pulumi up` would refuse")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
