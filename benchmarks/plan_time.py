"""`make bench`: `make plan` of every stack of an environment against the SDK's own floor, measured in one run.

Each side is a fresh process, as `make plan` is, and the two alternate round by round so that machine noise
(a shared two-core machine) hits both alike; medians are compared, as a ratio within the one run.

- plan: the same imports (every module a plan loads, imported first so that the phases below hold no import),
  then `offline.plan.main` for the environment, split into its phases: registration (every stack on the mock
  engine, in deploy order, in one process), policies (the guardrail pack on the whole environment and on each
  stack), reports (the document and the tables).
- SDK floor: the same imports, then the same number of registrations of a trivial custom resource (no inputs,
  no program) in as many engine runs as the environment has stacks, on the same recording monitor and mocks.

plan / floor is the target (<= 1.3 for prod). Registration alone against the floor's registration is shown too:
that is what the SDK's real resource classes (an Output per property) cost beyond a trivial one.

    make bench            # or: python benchmarks/plan_time.py --stack prod --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.3
PHASES = ("imports", "registration", "policies", "reports")


def _import_all(modules: list[str]) -> float:
    start = time.perf_counter()
    for name in modules:
        # A module a plan had loaded can refuse a direct import (a platform shim): the plan side gets the same.
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    return time.perf_counter() - start


def _child_record(stack: str, out: Path) -> None:
    """Warm-up: plan once, then record every module loaded and each stack's number of registrations."""
    from offline import plan

    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        document = Path(tmp) / "plan.json"
        plan.main(["--stack", stack, "--json", str(document)])
        resources = json.loads(document.read_text())["resources"]
    counts: dict[str, int] = {}
    for resource in resources:
        counts[resource["stack"]] = counts.get(resource["stack"], 0) + 1
    # In the order they were loaded: the SDK patches asyncio at import, which another order breaks.
    modules = [name for name in sys.modules if name != "__main__" and not name.startswith("benchmarks")]
    out.write_text(json.dumps({"modules": modules, "counts": counts}))


def _child_plan(stack: str, modules: list[str]) -> dict[str, float]:
    from offline import plan

    plan.as_process()  # as `make plan` runs
    timings = {"imports": _import_all(modules)}

    start = time.perf_counter()
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        plan.main(["--stack", stack], timings=timings)
    timings["other"] = time.perf_counter() - start - sum(timings[p] for p in PHASES[1:])
    return timings


def _child_floor(modules: list[str], counts: dict[str, int]) -> dict[str, float]:
    from offline import plan

    plan.as_process()  # the same process as the plan side's
    timings = {"imports": _import_all(modules)}
    import pulumi

    from offline import engine

    class Trivial(pulumi.CustomResource):
        def __init__(self, name: str) -> None:
            super().__init__("bench:index:Trivial", name, {})

    def registering(count: int) -> Callable[[], None]:
        def program() -> None:
            for i in range(count):
                Trivial(f"r{i}")
        return program

    start = time.perf_counter()
    for stack_name, count in counts.items():
        engine.run(stack_name, program=registering(count))
    timings["registration"] = time.perf_counter() - start
    return timings


def _spawn(*args: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", __file__, *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child {args[:2]} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="prod", help="an environment (every stack of it)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=["record", "plan", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    if args.child == "record":
        _child_record(args.stack, args.data)
        print("{}")
        return 0
    if args.child:
        data = json.loads(args.data.read_text())
        result = (_child_plan(args.stack, data["modules"]) if args.child == "plan"
                  else _child_floor(data["modules"], data["counts"]))
        print(json.dumps(result))
        return 0

    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "imports.json"
        _spawn("--child", "record", "--stack", args.stack, "--data", str(data_path))
        data = json.loads(data_path.read_text())
        count = sum(data["counts"].values())
        runs: dict[str, list[dict[str, float]]] = {"plan": [], "floor": []}
        for _ in range(args.rounds):
            for side in ("plan", "floor"):
                runs[side].append(_spawn("--child", side, "--stack", args.stack, "--data", str(data_path)))

    def median(side: str, phase: str) -> float:
        return statistics.median(r.get(phase, 0.0) for r in runs[side])

    totals = {side: statistics.median(sum(r.values()) for r in runs[side]) for side in runs}
    table = Table(title=f"make plan of {args.stack} ({len(data['counts'])} stacks, {count} registrations, one "
                        f"process) against the SDK floor: medians of {args.rounds} alternating rounds",
                  title_justify="left")
    for column in ("phase", "plan s", "SDK floor s", "plan / floor"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase in (*PHASES, "other"):
        plan_s, floor_s = median("plan", phase), median("floor", phase)
        table.add_row(phase, f"{plan_s:.2f}", f"{floor_s:.2f}" if floor_s else "-",
                      f"{plan_s / floor_s:.2f}x" if floor_s else "")
    ratio = totals["plan"] / totals["floor"]
    table.add_row("total", f"{totals['plan']:.2f}", f"{totals['floor']:.2f}", f"{ratio:.2f}x")
    console = Console()
    console.print(table)
    console.print(f"plan / SDK floor: [bold]{ratio:.2f}x[/bold] (target <= {TARGET:.2f}x); "
                  f"{1000 * median('plan', 'registration') / count:.2f} ms per registration against "
                  f"{1000 * median('floor', 'registration') / count:.2f} ms for a trivial one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
