"""The one editor of nested data in tests: manifests, plan entries and resource props, by dotted path.

A path is ``"regions.1.logical_shards.start"`` or its parts; a part indexes a list when the node is a list,
else it is a mapping key (created as an empty mapping on the way down when missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

REMOVE: Any = object()  # as a value: delete the mapping key instead of setting it


def _parts(path: str | Sequence[str]) -> list[str]:
    return path.split(".") if isinstance(path, str) else [str(p) for p in path]


def _parent(data: Any, parts: list[str]) -> Any:
    node = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    return node


def put(data: Any, path: str | Sequence[str], value: Any) -> None:
    """Set the value at path in place (or delete it when value is REMOVE)."""
    parts = _parts(path)
    node = _parent(data, parts)
    leaf = parts[-1]
    if value is REMOVE:
        if isinstance(node, dict):
            node.pop(leaf, None)
    elif isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value


def remove(data: Any, path: str | Sequence[str]) -> None:
    put(data, path, REMOVE)
