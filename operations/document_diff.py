"""Where two JSON documents differ, as short paths an operator can read (``groups[use1-sg01].writerRegion``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

SHOWN = 5  # differences listed before "and N more": enough to see the pattern without a wall of text
WIDEST = 60  # characters of one value shown; a whole missing shard group would not fit a table cell


def _keyed(value: Any) -> bool:
    """A list of objects with unique ``id``s (the shard groups): compared by id, not by position."""
    return (isinstance(value, list) and all(isinstance(v, dict) and "id" in v for v in value)
            and len({v["id"] for v in value}) == len(value))


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= WIDEST else text[:WIDEST - 3] + "..."


def differences(expected: Any, found: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(found, dict):
        return _mapping(expected, found, lambda key: f"{path}.{key}" if path else key)
    if _keyed(expected) and _keyed(found) and expected and found:
        return _mapping({v["id"]: v for v in expected}, {v["id"]: v for v in found},
                        lambda key: f"{path}[{key}]")
    if expected == found and type(expected) is type(found):
        return []
    return [f"{path or '(document)'}: {_show(found)}, plan {_show(expected)}"]


def _mapping(expected: dict[str, Any], found: dict[str, Any], name: Callable[[str], str]) -> list[str]:
    out: list[str] = []
    for key in [*expected, *(k for k in found if k not in expected)]:
        if key not in found:
            out.append(f"{name(key)}: missing, plan {_show(expected[key])}")
        elif key not in expected:
            out.append(f"{name(key)}: {_show(found[key])}, not in the plan")
        else:
            out.extend(differences(expected[key], found[key], name(key)))
    return out


def summary(found: list[str]) -> str:
    more = len(found) - SHOWN
    return "; ".join(found[:SHOWN]) + (f"; and {more} more" if more > 0 else "")
