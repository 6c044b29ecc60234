"""`make plan`: run the program offline for an environment's stacks, print the summary, optionally write the document.

`--stack prod` (the default) plans every stack of prod in deploy order, each StackReference answered with the
outputs of the stacks planned before it; `--stack prod-us-east-1` plans that stack (and, silently, the
stacks it reads). The summary names each stack planned, then shows the whole-environment tables.

Exit codes: 0 planned with no mandatory guardrail violation; 1 planned, but a mandatory guardrail is
violated (the document is still written, with the violations); 2 bad input (stack config or manifest),
with the validation message and no document written.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old document or the new one, never half of one; the file gets the mode any file would
    (the umask's), not a temporary file's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _phase(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    """Adds the wall time of the block to ``timings[name]`` (benchmarks/plan_time.py's per-phase split)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def main(argv: list[str] | None = None, timings: dict[str, float] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument("--stack", default="prod",
                        help="an environment (every stack of it) or one stack, Pulumi.<stack>.yaml (default prod)")
    parser.add_argument("--json", type=Path, help="also write the plan document to this path")
    parser.add_argument("--manifest", type=Path, help="plan this manifest file instead of regions/<env>.yaml")
    parser.add_argument("--preview", action="store_true",
                        help="as each stack's first `pulumi preview` sees it: its outputs unknown, the stacks it "
                             "reads deployed")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    from offline import (
        capacity_report,
        document,
        engine,
        environment,
        estimates,
        guardrails,
        report,
        stack_files,
    )
    from program.config import ConfigError
    from regions.loader import ManifestError, manifest_path
    from regions.loader import load as load_manifest
    from regions.stacks import StackId

    # CI logs are not terminals: give the tables room (the capacity table is ~200 columns) instead of 80.
    width = None if sys.stdout.isatty() else 200
    out, err = Console(width=width), Console(stderr=True, width=width)
    env = environment.environment_of(args.stack)
    try:
        manifest = load_manifest(args.manifest or manifest_path(env), env)
        lay = environment.layout(env, args.manifest)
        if args.stack != env:
            lay.by_name(args.stack)
        stack_files.check_agreement([s.name for s in lay.order()])
        # A live status line on a terminal only: rich's status draws nothing when stdout is not a terminal.
        with out.status("planning", spinner="dots") as status, _phase(timings, "registration"):
            def progress(stack: StackId, i: int, registered: int) -> None:
                status.update(f"planning {stack.name} ({i + 1} of {len(lay.order())} stacks at most, "
                              f"{registered} registrations so far)")
            runs, asked = environment.plan_named(args.stack, manifest=args.manifest, progress=progress,
                                                 preview=args.preview)
    except KeyError:
        err.print(f"[bold red]plan failed:[/bold red] no stack {args.stack}; stacks of {env}: "
                  + ", ".join(s.name for s in environment.layout(env).order()))
        return 2
    except (engine.InvalidInput, ConfigError, ManifestError) as exc:
        err.print("[bold red]plan failed:[/bold red] invalid input, nothing was planned")
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return 2
    with _phase(timings, "reports"):
        shown = [r for r in runs if r.stack in asked]
        doc = document.build_many(shown, args.stack, environment.stack_info(lay))
        # The environment's cost is the pack's estimate of its planned resources (P10's figure); a single
        # stack's plan, or a first preview, reports the manifest's estimate of the whole environment.
        doc |= estimates.sections(manifest, document=doc if args.stack == env and not args.preview else None)
    with _phase(timings, "policies"):
        layers = {s.name: s.layer for s in lay.order() if s.name in asked}
        violations = guardrails.combined(
            # A first preview runs per stack (nothing else exists yet); the whole environment is judged deployed.
            guardrails.evaluate(doc, guardrails.load_config(env)) if args.stack == env and not args.preview else [],
            # Each stack with its layer's committed config, as its `pulumi up --policy-pack-config` passes it
            # (a test keeps the files current with `make docs`).
            guardrails.evaluate_stacks(doc, {name: guardrails.load_config(f"{env}-{layer}")
                                             for name, layer in layers.items()}))
        doc["policyViolations"] = guardrails.as_document(violations)
    with _phase(timings, "reports"):
        report.render(doc, doc["stackOutputs"].get("shardAllocation") or [], out)
        capacity_report.render_capacity(doc["capacity"], out)
        capacity_report.render_cost(doc["cost"], out)
        whole = args.stack == env and not args.preview  # was the whole environment judged too?
        report.render_violations(doc["policyViolations"], guardrails.config_path(env).name if whole else None, out)
        if args.json:
            _write_atomically(args.json, json.dumps(doc, indent=2, sort_keys=False) + "\n")
            out.print(f"plan document: {args.json} ({len(doc['resources'])} resources)")
    mandatory = [v for v in violations if v.enforcement == "mandatory"]
    if mandatory:
        err.print(f"[bold red]{len(mandatory)} mandatory guardrail violation(s)[/bold red]; `pulumi up` would refuse")
        return 1
    return 0


def as_process() -> None:
    """How `make plan` runs: a one-shot process whose plan lives until it exits, so the cyclic collector would
    only walk the growing object graph again and again (a third of the run) and free next to nothing."""
    gc.disable()


if __name__ == "__main__":
    as_process()
    sys.exit(main())
