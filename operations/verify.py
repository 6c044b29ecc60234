"""`make verify`: after `pulumi up`, does what runs in AWS match the plan? Read-only; changes nothing.

Per shard group, its Aurora Global Database is available, has exactly one member in each region of its
placement (home region, then DR regions) whose cluster is available, and its writer is in the home region,
or in the region ``writer_regions`` records after a switchover. Per region, the MSK cluster is ACTIVE, the
ElastiCache replication group available, the EKS cluster ACTIVE, and the shard map parameter
(/platform/<env>/shard-map) equal to the plan.

"Equal to the plan" for a shard map: the parameter's document (the JSON itself, or what its gzip+base64 envelope
holds, opened as regions/shard_map_reader.py opens it) equals, as parsed JSON (key order and spacing aside), the
document regions/published_map.py renders for that region from the manifest on disk (ranges, placement, writer
regions, PgBouncer databases, hash), with the endpoints the deploy recorded in the ``shardMaps`` stack output
(which holds the document as is), because endpoints exist only after a deploy; and the parameter holds it in the
form the plan publishes (as is while it fits a Standard parameter, else the envelope). A switchover recorded in
the manifest but not yet deployed is therefore drift until `pulumi up` republishes the map.

Identifiers come from the stack outputs (`pulumi stack output --json --stack <stack>`, run here, or the file
``--outputs`` names); outputs that lack a region or shard group of the manifest are bad input.

Exit codes: 0 everything matches; 1 at least one drift (each row says what was expected and what was found);
2 bad input (stack, manifest, outputs) or unusable credentials, with one message.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from operations import outputs
from operations.drift import Finding, verify
from operations.live_state import LiveState
from operations.stack import EXIT_FINDINGS, EXIT_OK, OperatorError, aws_session, console, fail, load_target


def render(category: str, findings: list[Finding], out: Console) -> None:
    table = Table(title=category, title_justify="left")
    for column in ("region", "resource", "check", "expected", "found", ""):
        table.add_column(column)
    for f in findings:
        # Text cells: values such as groups[use1-sg01] are data, not rich markup.
        table.add_row(Text(f.region), Text(f.resource), Text(f.check), Text(f.expected), Text(f.found),
                      Text("ok", style="green") if f.ok else Text("DRIFT", style="bold red"))
    out.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="prod",
                        help="an environment (all its stacks) or a regional stack (what lives in its region)")
    parser.add_argument("--manifest", type=Path, help="compare with this manifest file instead of regions/<env>.yaml")
    parser.add_argument("--outputs", type=Path,
                        help="the stack outputs as JSON (`pulumi stack output --json`); default: run that command")
    args = parser.parse_args(argv)
    out = console()
    try:
        target = load_target(args.stack, args.manifest)
        data, source = outputs.load(args.outputs, target.stacks)
        deployed = outputs.read(data, source, target.manifest)
        results = verify(LiveState(aws_session(target)), target.manifest, deployed)
        if target.region:  # a regional stack: what lives in its region (a wave's check)
            results = {c: [f for f in findings if f.region == target.region] for c, findings in results.items()}
    except OperatorError as exc:
        return fail(str(exc))
    out.print(f"verify of stack {target.stack} (account {target.account_id}, {len(target.manifest.regions)} regions) "
              f"against the plan of {args.manifest or 'its manifest'} and the outputs of {source}",
              markup=False, highlight=False, soft_wrap=True)
    for category, findings in results.items():
        render(category, findings, out)
    drifted = sum(not f.ok for findings in results.values() for f in findings)
    if drifted:
        out.print(f"[bold red]{drifted} drift(s)[/bold red] from the plan")
        return EXIT_FINDINGS
    out.print("[green]everything matches the plan[/green]")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
