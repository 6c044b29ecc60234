"""Plan time of every stack of an environment against the floor of the SDK itself, measured in one run.

The floor registers the same number of trivial custom resources on the same mock engine (the project's
recording monitor and mocks), after the same imports, in the same process. A second reference registers
the same number of bare ``aws.ec2.Subnet`` resources (two inputs, no program logic): the SDK builds one
Output per property of a real resource class, which is most of a real plan's cost and none of a trivial
one's. Runs alternate so that machine noise hits all sides alike; medians are compared. Target: program /
trivial floor <= 2.0.

    make bench            # or: python benchmarks/plan_time.py --stack prod --rounds 7

The program side plans the environment's stacks in deploy order (as `make plan` does, each reading the ones
before); the references register the same total number of resources in one engine run of its first stack.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", category=DeprecationWarning)

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from offline import engine, environment  # noqa: E402


class Trivial(pulumi.CustomResource):
    def __init__(self, name: str) -> None:
        super().__init__("bench:index:Trivial", name, {})


def _timed(stack: str, program: object = None) -> tuple[float, int]:
    """One plan: of every stack of ``stack``'s environment (or one stack), or of ``program`` in its first stack."""
    gc.collect()  # start every run from the same heap, so one side does not pay the other's garbage
    start = time.perf_counter()
    if program is None:
        runs, _ = environment.plan_named(stack)
        return time.perf_counter() - start, sum(len(r.resources) for r in runs)
    first = environment.layout(environment.environment_of(stack)).order()[0].name
    run = engine.run(first, program=program)  # type: ignore[arg-type]
    return time.perf_counter() - start, len(run.resources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)

    _, count = _timed(args.stack)  # warm-up: imports, caches, and the resource count to match

    def floor() -> None:
        for i in range(count):
            Trivial(f"r{i}")

    def typed() -> None:
        for i in range(count):
            aws.ec2.Subnet(f"r{i}", vpc_id="vpc-0123456789abcdef0", cidr_block="10.0.0.0/24")

    times: dict[str, list[float]] = {"program": [], "SDK floor (trivial)": [], "bare aws.ec2.Subnet": []}
    for _ in range(args.rounds):
        times["program"].append(_timed(args.stack)[0])
        times["SDK floor (trivial)"].append(_timed(args.stack, floor)[0])
        times["bare aws.ec2.Subnet"].append(_timed(args.stack, typed)[0])
    medians = {label: statistics.median(values) for label, values in times.items()}

    table = Table(title=f"Offline plan time, stack {args.stack}, {count} registrations, "
                        f"median of {args.rounds} alternating rounds", title_justify="left")
    for column in ("run", "median s", "min s", "ms per registration"):
        table.add_column(column, justify="right" if column != "run" else "left")
    for label, values in times.items():
        table.add_row(label, f"{medians[label]:.3f}", f"{min(values):.3f}", f"{1000 * medians[label] / count:.2f}")
    console = Console()
    console.print(table)
    program = medians["program"]
    console.print(f"program / trivial floor: [bold]{program / medians['SDK floor (trivial)']:.2f}x[/bold] "
                  f"(target <= 2.00x); program / bare subnets: {program / medians['bare aws.ec2.Subnet']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
