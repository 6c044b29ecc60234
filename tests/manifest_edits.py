"""Edits of manifest data for failure-mode tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests import nested

Edit = Callable[[dict[str, Any]], None]


def set_path(path: str, value: Any) -> Edit:
    """Edit for a dotted path such as ``regions.1.logical_shards.start`` (digits index lists)."""
    def edit(data: dict[str, Any]) -> None:
        nested.put(data, path, value)
    return edit
