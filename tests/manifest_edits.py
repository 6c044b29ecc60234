"""Edits of manifest data for failure-mode tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regions import loader
from tests import nested

Edit = Callable[[dict[str, Any]], None]


def set_path(path: str, value: Any) -> Edit:
    """Edit for a dotted path such as ``regions.1.logical_shards.start`` (digits index lists)."""
    def edit(data: dict[str, Any]) -> None:
        nested.put(data, path, value)
    return edit


def assert_refused(path: Path, environment: str, field: str, rule: str) -> None:
    """Loading the manifest at ``path`` fails with a line naming the file, ``field`` and ``rule``."""
    with pytest.raises(loader.ManifestError) as err:
        loader.load(path, environment)
    lines = str(err.value).splitlines()
    assert any(line.startswith(f"{path}: {field}: ") and rule in line for line in lines), str(err.value)
