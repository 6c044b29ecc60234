"""Policy tests import the pack the way the policy server does: with policies/ on the path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policies"))
