"""Edits of manifest data for failure-mode tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Edit = Callable[[dict[str, Any]], None]


def set_path(path: str, value: Any) -> Edit:
    """Edit for a dotted path such as ``regions.1.logical_shards.start`` (digits index lists)."""
    def edit(data: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(leaf) if leaf.isdigit() else leaf] = value
    return edit
