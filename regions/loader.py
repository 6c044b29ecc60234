"""Load a manifest file: YAML -> schema -> rules, or one ``ManifestError`` naming file, field and rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from regions import rules
from regions.schema import Manifest

REGIONS_DIR = Path(__file__).resolve().parent


class ManifestError(ValueError):
    """Raised before anything is built; the message lists every problem as ``file: field: rule``."""


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that refuses duplicate keys, which plain YAML silently resolves to the last one.

    On libyaml's parser where PyYAML has it: a third of the pure-Python parser's time, paid by every stack."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def manifest_path(environment: str) -> Path:
    return REGIONS_DIR / f"{environment}.yaml"


def display(path: Path) -> str:
    """The path as the user knows it: relative to the project when it lives inside it."""
    try:
        return str(path.resolve().relative_to(REGIONS_DIR.parent))
    except ValueError:
        return str(path)


def _field(loc: tuple[int | str, ...], raw: Any) -> str:
    parts: list[str] = []
    node = raw
    region_name = None
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
        if loc[:1] == ("regions",) and len(parts) == 2 and isinstance(node, dict):
            region_name = node.get("name")
    text = "".join(parts) or "(top level)"
    return f"{text} ({region_name})" if region_name else text


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (misspelt?); the schema rejects keys it does not define"
    if err["type"] == "missing":
        return "required key is missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{msg} (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict | list) else msg


def parse(raw: Any, source: str) -> Manifest:
    """Validate already-loaded YAML data; ``source`` names the file in messages."""
    if not isinstance(raw, dict):
        raise ManifestError(f"{source}: (top level): must be a mapping of manifest keys")
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {_field(e['loc'], raw)}: {_message(e)}" for e in exc.errors()]
        raise ManifestError("\n".join(lines)) from None
    findings = rules.check(manifest)
    if findings:
        raise ManifestError("\n".join(f"{source}: {f}" for f in findings))
    return manifest


def load(path: Path, environment: str | None = None) -> Manifest:
    """Read and validate one manifest; ``environment`` (from stack config) must match the file's."""
    source = display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"{source}: (file): cannot be read ({exc.strerror})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(f"{source}: {where}: not valid YAML ({problem})") from None
    manifest = parse(raw, source)
    if environment is not None and manifest.environment != environment:
        raise ManifestError(f"{source}: environment: must be {environment!r}, the stack's environment "
                            f"(got {manifest.environment!r})")
    return manifest
