"""mypy checks only the parts of the largest SDKs that the code uses (pyproject's [[tool.mypy.overrides]]).

A part it skips is Any to mypy, so a use of one that is not listed would be checked for nothing, silently.
These tests find every use in the repository's code (an attribute chain from `pulumi_aws`, `pulumi_kubernetes`
or `cloudflare`, and the cloudflare client's resources and the models they return), resolve it to the module
that defines it, and require that module to be type-checked under mypy's own precedence rules.
"""

from __future__ import annotations

import ast
import functools
import inspect
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("program", "components", "offline", "operations", "regions", "policies", "benchmarks", "tests")
SDKS = ("pulumi_aws", "pulumi_kubernetes", "cloudflare")
CLIENT = "client"  # the name the code gives a cloudflare.Cloudflare (operations/cloudflare_check.py)


def overrides() -> list[tuple[str, str]]:
    """(module pattern, follow_imports) of every mypy override that sets follow_imports."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    return [(pattern, section["follow_imports"]) for section in config.get("overrides", [])
            if "follow_imports" in section
            for pattern in ([section["module"]] if isinstance(section["module"], str) else section["module"])]


def _matches(pattern: str, module: str) -> bool:
    if pattern.endswith(".*"):
        return module == pattern[:-2] or module.startswith(pattern[:-1])
    return module == pattern


def follows(module: str, rules: list[tuple[str, str]]) -> str:
    """mypy's follow_imports for ``module``: a concrete name wins over a glob, a longer glob over a shorter."""
    matching = [(not pattern.endswith(".*"), pattern.count("."), value) for pattern, value in rules
                if _matches(pattern, module)]
    return max(matching)[2] if matching else "normal"


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None for anything else."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return [node.id, *reversed(names)] if isinstance(node, ast.Name) else None


def _defining_module(obj: Any) -> str | None:
    return obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", None)


def _models(annotation: Any, seen: set[type]) -> Iterator[type]:
    """The classes an annotation names (through Optional, unions and generics), and the pydantic models'
    fields' classes: what the code can read off a response."""
    for arg in typing.get_args(annotation):
        yield from _models(arg, seen)
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and origin not in seen and origin.__module__.startswith(SDKS):
        seen.add(origin)
        yield origin
        if issubclass(origin, pydantic.BaseModel):
            for field in origin.model_fields.values():
                yield from _models(field.annotation, seen)


@functools.cache
def _client() -> Any:
    import cloudflare

    return cloudflare.Cloudflare(api_token="unused", base_url="http://127.0.0.1:9")


def _client_uses(chain: list[str]) -> Iterator[str]:
    """The modules a ``client.<resource>...<method>`` chain reaches on a real client (no request is made)."""
    obj: Any = _client()
    for attr in chain[1:]:
        obj = getattr(obj, attr, None)
        if obj is None:
            return
        if inspect.ismethod(obj):
            hints = typing.get_type_hints(obj.__func__)
            yield from (model.__module__ for model in _models(hints.get("return"), set()))
            return
        yield type(obj).__module__


def uses(source: str) -> Iterator[tuple[str, str]]:
    """(expression, defining module) of every use of the SDKs in a module's source."""
    import importlib

    tree = ast.parse(source)
    aliases: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if name.name.split(".")[0] in SDKS:
                    aliases[(name.asname or name.name).split(".")[0]] = importlib.import_module(
                        name.name if name.asname else name.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SDKS:
            for name in node.names:
                value = getattr(importlib.import_module(node.module), name.name)
                yield f"from {node.module} import {name.name}", _defining_module(value) or node.module
    cloudflare_client = "cloudflare" in aliases
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        chain = _chain(node) if isinstance(node, ast.Attribute) and id(node) not in inner else None
        if not chain:  # only whole chains: a.b of a.b.c is part of it
            continue
        if chain[0] in aliases:
            obj = aliases[chain[0]]
            for attr in chain[1:]:
                nxt = getattr(obj, attr, None)
                if nxt is None:
                    break
                obj = nxt
                if not inspect.ismodule(obj):
                    break
            module = _defining_module(obj)
            if module:
                yield ".".join(chain), module
        elif chain[0] == CLIENT and cloudflare_client:
            yield from ((".".join(chain), module) for module in _client_uses(chain))


@functools.cache
def _repository_uses() -> dict[str, list[tuple[str, str]]]:
    """Every module of the repository's code (this one aside) -> its uses of the SDKs."""
    paths = [p for folder in SOURCES for p in sorted((ROOT / folder).rglob("*.py")) if p.name != Path(__file__).name]
    texts = {str(p.relative_to(ROOT)): p.read_text() for p in paths}
    return {path: list(uses(text)) for path, text in texts.items() if any(sdk in text for sdk in SDKS)}


def _skipped(found: list[tuple[str, str]], rules: list[tuple[str, str]]) -> list[str]:
    return sorted({f"{expression} (module {module})" for expression, module in found
                   if module.startswith(SDKS) and follows(module, rules) == "skip"})


def _unchecked(source: str, rules: list[tuple[str, str]]) -> list[str]:
    return _skipped(list(uses(source)), rules)


def test_every_use_of_the_sdks_is_type_checked() -> None:
    rules = overrides()
    unchecked = {path: skipped for path, found in _repository_uses().items() if (skipped := _skipped(found, rules))}
    assert unchecked == {}, ("mypy skips these (add their modules to the follow_imports = \"normal\" override in "
                             f"pyproject.toml): {unchecked}")


def test_the_uses_found_include_the_programs_resources() -> None:
    """What the finder sees of the repository: a finder that missed these would pass anything."""
    found = {module for found in _repository_uses().values() for _, module in found}
    for prefix in ("pulumi_aws.rds.", "pulumi_aws.ec2.", "pulumi_kubernetes.core.v1", "cloudflare.resources.zones.",
                   "cloudflare.types.zones.", "cloudflare.types.rulesets."):
        assert any(module.startswith(prefix) for module in found), prefix


@pytest.mark.parametrize(("module", "expected"), [
    ("pulumi_aws", "normal"),  # named: wins over the pulumi_aws.* glob
    ("pulumi_aws.rds.cluster", "normal"),  # pulumi_aws.rds.* is longer than pulumi_aws.*
    ("pulumi_aws.sqs.queue", "skip"),
    ("pulumi_kubernetes.batch.v1", "skip"),
    ("cloudflare", "normal"),  # the client itself is not in a skipped part
    ("cloudflare.types.dns.record", "skip"),
    ("pulumi", "normal"),
])
def test_follows_applies_mypys_precedence(module: str, expected: str) -> None:
    assert follows(module, overrides()) == expected


def test_an_unlisted_module_is_reported() -> None:
    source = "import pulumi_aws as aws\n\naws.sqs.Queue('q')\naws.ec2.Vpc('v')\n"
    assert _unchecked(source, overrides()) == ["aws.sqs.Queue (module pulumi_aws.sqs.queue)"]


def test_an_unlisted_cloudflare_resource_is_reported() -> None:
    source = "import cloudflare\n\nclient.dns.records.list(zone_id='z')\nclient.zones.get(zone_id='z')\n"
    modules = {u.removesuffix(")").split("(module ")[1] for u in _unchecked(source, overrides())}
    # The resources on the way and the models the call returns; the listed zones resource is not reported.
    assert {"cloudflare.resources.dns.dns", "cloudflare.resources.dns.records",
            "cloudflare.types.dns.record_response"} <= modules
    assert all(m.startswith(("cloudflare.resources.dns.", "cloudflare.types.dns.")) for m in modules)
