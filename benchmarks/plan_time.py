"""`make bench`: `make plan` of every stack of an environment against the SDK's own floor, measured in one run.

Each side is a fresh process, as `make plan` is, and the three alternate round by round, each round starting
with the next side, so that machine noise (a shared two-core machine) and going first hit all alike; medians are
compared, as ratios within the one run.

- plan: the same imports (every module a plan loads, imported first so that the phases below hold no import),
  then `offline.plan.main` for the environment, split into its phases: registration (every stack on the mock
  engine, in deploy order, in one process), policies (the guardrail pack on the whole environment and on each
  stack), reports (the document and the tables).
- SDK floor: the same imports, then the same number of registrations of a trivial custom resource (no inputs,
  no program) in as many engine runs as the environment has stacks, on the same recording monitor and mocks.
- Replay (for the split, not the target): the same imports, then every planned registration again, stack by
  stack, in the planned order, through the SDK class of its type (pulumi_aws.cloudwatch.MetricAlarm for
  aws:cloudwatch/metricAlarm:MetricAlarm, pulumi_aws.Provider for a provider, apiextensions.CustomResource for
  a CRD's kind) with its recorded inputs as literals and its recorded graph: the replayed parent, provider and
  dependencies, protect, ignore_changes and aliases. No program, and no Output passed between resources: what
  the SDK costs for this resource graph itself; plan - replay is what the program adds. Components and
  StackReferences go through the generic classes.

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
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    replay: dict[str, list[list[Any]]] = {}
    for resource in resources:
        counts[resource["stack"]] = counts.get(resource["stack"], 0) + 1
        graph = {key: resource[key] for key in ("urn", "parent", "provider", "dependencies", "protect",
                                                 "ignoreChanges", "aliases")}
        replay.setdefault(resource["stack"], []).append(
            [resource["type"], resource["name"], resource["custom"], resource["inputs"], graph])
    # In the order they were loaded: the SDK patches asyncio at import, which another order breaks.
    modules = [name for name in sys.modules if name != "__main__" and not name.startswith("benchmarks")]
    out.write_text(json.dumps({"modules": modules, "counts": counts, "replay": replay}))


def _started(modules: list[str]) -> dict[str, float]:
    """Every side's process: `make plan`'s process policy, then the same imports, timed."""
    from offline import plan

    plan.as_process()
    return {"imports": _import_all(modules)}


def _registered(programs: dict[str, Callable[[], None]], config: dict[str, str] | None = None) -> float:
    """Seconds to run each stack's program on the engine, in order."""
    from offline import engine

    start = time.perf_counter()
    for stack_name, program in programs.items():
        engine.run(stack_name, program=program, config=config)
    return time.perf_counter() - start


def _child_plan(stack: str, modules: list[str]) -> dict[str, float]:
    timings = _started(modules)
    from offline import plan

    start = time.perf_counter()
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        plan.main(["--stack", stack], timings=timings)
    timings["other"] = time.perf_counter() - start - sum(timings[p] for p in PHASES[1:])
    return timings


def _child_floor(modules: list[str], counts: dict[str, int]) -> dict[str, float]:
    timings = _started(modules)
    import pulumi

    class Trivial(pulumi.CustomResource):
        def __init__(self, name: str) -> None:
            super().__init__("bench:index:Trivial", name, {})

    def registering(count: int) -> Callable[[], None]:
        def program() -> None:
            for i in range(count):
                Trivial(f"r{i}")
        return program

    timings["registration"] = _registered({name: registering(count) for name, count in counts.items()})
    return timings


_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "random": "pulumi_random",
             "cloudflare": "pulumi_cloudflare", "tls": "pulumi_tls", "kafka": "pulumi_kafka",
             "time": "pulumiverse_time"}


def _sdk_class(type_token: str) -> Any:
    """The SDK class registering ``type_token`` (package:module/name:Class), or None."""
    package, module, cls = type_token.split(":")
    if package not in _PACKAGES:
        return None
    if package == "kubernetes":  # group/version: networking.k8s.io/v1 is pulumi_kubernetes.networking.v1
        group, _, version = module.partition("/")
        if not version or "." in group.removesuffix(".k8s.io").removesuffix(".sh"):
            return None  # a CRD's group (gateway.envoyproxy.io): no class of the SDK's own
        path = [group.split(".")[0], version]
    else:  # module/file: cloudwatch/metricAlarm is pulumi_aws.cloudwatch
        path = [p for p in module.split("/")[:-1] if p != "index"]
    try:
        return getattr(importlib.import_module(".".join([_PACKAGES[package], *path])), cls)
    except (ImportError, AttributeError):
        return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _replay_class(type_token: str, custom: bool) -> Any:
    """The SDK class a planned registration of ``type_token`` goes through in the replay, or None (generic)."""
    if type_token.startswith("pulumi:providers:"):
        package = _PACKAGES.get(type_token.removeprefix("pulumi:providers:"))
        return getattr(importlib.import_module(package), "Provider", None) if package else None
    return _sdk_class(type_token) if custom and not type_token.startswith("pulumi:") else None


def _child_replay(modules: list[str], replay: dict[str, list[list[Any]]]) -> dict[str, float]:
    timings = _started(modules)
    import pulumi

    generic = [0]

    def register(entry: list[Any], index: int, replayed: dict[str, Any]) -> None:
        type_, name, custom, inputs, graph = entry
        # The recorded graph as the SDK is given it: the replayed parent, provider and dependencies, and the
        # recorded protect, ignore_changes and aliases. Input values are literals (no Output between resources).
        provider = replayed.get(graph["provider"]) if graph["provider"] else None
        opts = pulumi.ResourceOptions(
            parent=replayed.get(graph["parent"]) if graph["parent"] else None,
            provider=provider if isinstance(provider, pulumi.ProviderResource) else None,
            depends_on=[replayed[urn] for urn in graph["dependencies"] if urn in replayed],
            protect=graph["protect"], ignore_changes=graph["ignoreChanges"] or None, aliases=graph["aliases"] or None)
        name = f"{name}-{index}"
        cls = _replay_class(type_, custom)
        kubernetes = type_.startswith("kubernetes:")
        if cls is None and kubernetes and custom:  # a CRD's kind, as the program declares it
            from pulumi_kubernetes.apiextensions import CustomResource

            replayed[graph["urn"]] = CustomResource(name, opts=opts, **{_snake(k): v for k, v in inputs.items()})
            return
        if cls is not None:
            skip = ("apiVersion", "kind") if kubernetes else ()  # a Kubernetes class sets its own
            try:
                replayed[graph["urn"]] = cls(name, **{_snake(k): v for k, v in inputs.items() if k not in skip},
                                             opts=opts)
                return
            except TypeError:  # an input name the class does not take as a keyword (a few renamed ones)
                pass
        generic[0] += 1
        if type_.startswith("pulumi:"):
            type_ = "bench:index:Replayed"  # no stack to read, no provider plugin to load
        replayed[graph["urn"]] = (pulumi.CustomResource if custom else pulumi.ComponentResource)(
            type_, name, inputs, opts)

    def registering(entries: list[list[Any]]) -> Callable[[], None]:
        def program() -> None:
            replayed: dict[str, Any] = {}
            for i, entry in enumerate(entries):
                register(entry, i, replayed)
        return program

    timings["registration"] = _registered({name: registering(entries) for name, entries in replay.items()},
                                          config={"aws:region": "us-east-1"})
    timings["generic"] = float(generic[0])
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
    parser.add_argument("--child", choices=["record", "plan", "floor", "replay"], help=argparse.SUPPRESS)
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
                  else _child_floor(data["modules"], data["counts"]) if args.child == "floor"
                  else _child_replay(data["modules"], data["replay"]))
        print(json.dumps(result))
        return 0

    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "imports.json"
        _spawn("--child", "record", "--stack", args.stack, "--data", str(data_path))
        data = json.loads(data_path.read_text())
        count = sum(data["counts"].values())
        runs: dict[str, list[dict[str, float]]] = {"plan": [], "floor": [], "replay": []}
        sides = list(runs)
        for round_ in range(args.rounds):  # each round starts with the next side: no side always goes first
            for side in sides[round_ % 3:] + sides[:round_ % 3]:
                runs[side].append(_spawn("--child", side, "--stack", args.stack, "--data", str(data_path)))

    def median(side: str, phase: str) -> float:
        return statistics.median(r.get(phase, 0.0) for r in runs[side])

    phases = (*PHASES, "other")
    totals = {side: statistics.median(sum(v for k, v in r.items() if k in phases) for r in runs[side])
              for side in runs}
    table = Table(title=f"make plan of {args.stack} ({len(data['counts'])} stacks, {count} registrations, one "
                        f"process) against the SDK floor: medians of {args.rounds} alternating rounds",
                  title_justify="left")
    for column in ("phase", "plan s", "SDK floor s", "plan / floor", "replay s", "plan / replay"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase in (*PHASES, "other"):
        plan_s, floor_s, replay_s = median("plan", phase), median("floor", phase), median("replay", phase)
        table.add_row(phase, f"{plan_s:.2f}", f"{floor_s:.2f}" if floor_s else "-",
                      f"{plan_s / floor_s:.2f}x" if floor_s else "", f"{replay_s:.2f}" if replay_s else "-",
                      f"{plan_s / replay_s:.2f}x" if replay_s else "")
    ratio = totals["plan"] / totals["floor"]
    table.add_row("total", f"{totals['plan']:.2f}", f"{totals['floor']:.2f}", f"{ratio:.2f}x",
                  f"{totals['replay']:.2f}", f"{totals['plan'] / totals['replay']:.2f}x")
    console = Console()
    console.print(table)
    console.print(f"plan / SDK floor: [bold]{ratio:.2f}x[/bold] (target <= {TARGET:.2f}x); "
                  f"{1000 * median('plan', 'registration') / count:.2f} ms per registration against "
                  f"{1000 * median('floor', 'registration') / count:.2f} ms for a trivial one and "
                  f"{1000 * median('replay', 'registration') / count:.2f} ms replayed through its SDK class with "
                  f"literal inputs ({median('replay', 'generic'):.0f} of them through the generic classes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
