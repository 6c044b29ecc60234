"""`make bench-suite`: the whole suite's wall time against one prod plan's (`make plan`), measured in one run.

A prod plan, the suite (as `make test` runs it), and a prod plan again, each a fresh process: the suite's time
is divided by the mean of the two plans around it, so that machine load during the run hits both sides.
Target: suite / prod plan <= 3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 3.0


def _timed(argv: list[str], quiet: bool = True) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True,
                   stdout=subprocess.DEVNULL if quiet else None)
    return time.perf_counter() - start


def main() -> int:
    python = [sys.executable, "-W", "ignore::DeprecationWarning"]
    plan = [*python, "-m", "offline.plan", "--stack", "prod"]
    workers = os.environ.get("TEST_WORKERS", "2")
    before = _timed(plan)
    suite = _timed([*python, "-m", "pytest", "-n", workers, "--durations=15"], quiet=False)
    after = _timed(plan)
    mean = (before + after) / 2
    print(f"prod plan {before:.1f} s and {after:.1f} s, suite {suite:.1f} s ({workers} workers): "
          f"suite / prod plan = {suite / mean:.2f}x (target <= {TARGET:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
