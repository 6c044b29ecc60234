"""mypy checks only the parts of the largest SDKs that the code uses (pyproject's [[tool.mypy.overrides]]).

A part it skips is Any to mypy, so a use of one that is not listed would be checked for nothing, silently.
These tests find every use in the repository's code, resolve it to the module that defines it, and require
mypy (its own reading of the configuration) to check that module. A use is an attribute chain from
`pulumi_aws`, `pulumi_kubernetes` or `cloudflare` (or from a name assigned one of those chains), also
inside string annotations; a `from ... import`; and a chain from a Cloudflare client (a parameter or
variable annotated `cloudflare.Cloudflare`, assigned one, or named `client` where `cloudflare` is imported),
through its resources to the models their calls return.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import io
import os
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from mypy.config_parser import parse_config_file
from mypy.options import Options

ROOT = Path(__file__).resolve().parent.parent
SDKS = ("pulumi_aws", "pulumi_kubernetes", "cloudflare")
CLIENT_CLASS = "cloudflare.Cloudflare"


@functools.cache
def _mypy_options() -> Options:
    options = Options()
    with contextlib.redirect_stderr(io.StringIO()):
        parse_config_file(options, lambda: None, str(ROOT / "pyproject.toml"), io.StringIO(), io.StringIO())
    return options


def follows(module: str) -> str:
    """mypy's follow_imports for ``module``, as mypy reads pyproject.toml."""
    return str(_mypy_options().clone_for_module(module).follow_imports)


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None for anything else."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return [node.id, *reversed(names)] if isinstance(node, ast.Name) else None


def _in_sdks(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in SDKS


def _defining_module(obj: Any, fallback: str) -> str:
    """The module that defines ``obj``; ``fallback`` (the last SDK module on the way) for what is defined
    outside the SDKs, such as a type alias (its __module__ is typing)."""
    module = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", None)
    return module if isinstance(module, str) and _in_sdks(module) else fallback


def _resolve(root: Any, attrs: list[str]) -> tuple[Any, str]:
    """Follow ``attrs`` from ``root`` while they are modules: the object reached and the last module."""
    obj, last = root, root.__name__ if inspect.ismodule(root) else _defining_module(root, "")
    for attr in attrs:
        nxt = getattr(obj, attr, None)
        if nxt is None:
            break
        obj = nxt
        if not inspect.ismodule(obj):
            break
        last = obj.__name__
    return obj, last


def _models(annotation: Any, seen: set[type]) -> Iterator[type]:
    """The classes an annotation names (through Optional, unions and generics), and the pydantic models'
    fields' classes: what the code can read off a response."""
    for arg in typing.get_args(annotation):
        yield from _models(arg, seen)
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and origin not in seen and _in_sdks(origin.__module__):
        seen.add(origin)
        yield origin
        if issubclass(origin, pydantic.BaseModel):
            for field in origin.model_fields.values():
                yield from _models(field.annotation, seen)


@functools.cache
def _client() -> Any:
    import cloudflare

    return cloudflare.Cloudflare(api_token="unused", base_url="http://127.0.0.1:9")  # no request is made


def _client_uses(attrs: list[str]) -> Iterator[str]:
    """The modules a chain from a Cloudflare client reaches on a real client."""
    obj: Any = _client()
    for attr in attrs:
        obj = getattr(obj, attr, None)
        if obj is None:
            return
        if inspect.ismethod(obj):
            hints = typing.get_type_hints(obj.__func__)
            yield from (model.__module__ for model in _models(hints.get("return"), set()))
            return
        yield type(obj).__module__


def _annotations(tree: ast.AST) -> Iterator[tuple[str | None, ast.expr]]:
    """(the name each annotation annotates, None for a return type or an attribute; the annotation)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation:
            yield node.arg, node.annotation
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            yield None, node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.target.id if isinstance(node.target, ast.Name) else None, node.annotation


def _expressions(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node of the module, and of the expressions written as strings in its annotations."""
    yield from ast.walk(tree)
    for _, annotation in _annotations(tree):
        for node in ast.walk(annotation):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                with contextlib.suppress(SyntaxError):
                    yield from ast.walk(ast.parse(node.value, mode="eval"))


def _names(tree: ast.Module) -> tuple[dict[str, Any], set[str]]:
    """The names bound to the SDKs' modules or objects (imports, and assignments of a chain from one), and the
    names of Cloudflare clients."""
    aliases: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if _in_sdks(name.name):
                    bound = name.asname or name.name.split(".")[0]
                    aliases[bound] = importlib.import_module(name.name if name.asname else bound)
        elif isinstance(node, ast.ImportFrom) and _in_sdks(node.module):
            for name in node.names:
                aliases[name.asname or name.name] = getattr(importlib.import_module(str(node.module)), name.name)
    clients = {"client"} if "cloudflare" in aliases else set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value.func if isinstance(node.value, ast.Call) else node.value
            chain = _chain(value)
            if chain and chain[0] in aliases:
                obj, _ = _resolve(aliases[chain[0]], chain[1:])
                if isinstance(node.value, ast.Call) and _qualified(obj) == CLIENT_CLASS:
                    clients.add(node.targets[0].id)
                elif not isinstance(node.value, ast.Call):
                    aliases[node.targets[0].id] = obj
    clients |= {name for name, annotation in _annotations(tree) if name and "Cloudflare" in ast.unparse(annotation)}
    return aliases, clients


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '').split('.')[0]}.{getattr(obj, '__qualname__', '')}"


def uses(source: str) -> Iterator[tuple[str, str]]:
    """(expression, defining module) of every use of the SDKs in a module's source."""
    tree = ast.parse(source)
    aliases, clients = _names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _in_sdks(node.module):
            for name in node.names:  # _names bound each to what it imports
                yield (f"from {node.module} import {name.name}",
                       _defining_module(aliases[name.asname or name.name], str(node.module)))
    nodes = list(_expressions(tree))
    inner = {id(node.value) for node in nodes if isinstance(node, ast.Attribute)}
    for node in nodes:
        chain = _chain(node) if isinstance(node, ast.Attribute) and id(node) not in inner else None
        if not chain:  # only whole chains: a.b of a.b.c is part of it
            continue
        if chain[0] in aliases:
            obj, last = _resolve(aliases[chain[0]], chain[1:])
            yield ".".join(chain), _defining_module(obj, last)
        elif chain[0] in clients or chain[:2] == ["self", "client"]:
            attrs = chain[2:] if chain[0] == "self" else chain[1:]
            yield from ((".".join(chain), module) for module in _client_uses(attrs))


def _python_files() -> Iterator[Path]:
    """Every Python file of the repository that mypy reads (it checks `.`), hidden directories aside."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
        yield from (Path(folder) / f for f in sorted(files) if f.endswith(".py"))


@functools.cache
def _repository_uses() -> dict[str, list[tuple[str, str]]]:
    """Every module of the repository's code (this one aside) -> its uses of the SDKs."""
    texts = {str(p.relative_to(ROOT)): p.read_text() for p in _python_files() if p.name != Path(__file__).name}
    return {path: list(uses(text)) for path, text in texts.items() if any(sdk in text for sdk in SDKS)}


def _skipped(found: list[tuple[str, str]]) -> list[str]:
    return sorted({f"{expression} (module {module})" for expression, module in found
                   if _in_sdks(module) and follows(module) == "skip"})


def _unchecked(source: str) -> list[str]:
    return _skipped(list(uses(source)))


def test_every_use_of_the_sdks_is_type_checked() -> None:
    unchecked = {path: skipped for path, found in _repository_uses().items() if (skipped := _skipped(found))}
    assert unchecked == {}, ("mypy skips these (add their modules to the follow_imports = \"normal\" override in "
                             f"pyproject.toml): {unchecked}")


def test_the_uses_found_include_the_programs_resources() -> None:
    """What the finder sees of the repository: a finder that missed these would pass anything."""
    found = {module for found in _repository_uses().values() for _, module in found}
    for prefix in ("pulumi_aws.rds.", "pulumi_aws.ec2.", "pulumi_kubernetes.core.v1", "pulumi_kubernetes.networking.",
                   "cloudflare.resources.zones.", "cloudflare.types.zones.", "cloudflare.types.rulesets."):
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
def test_mypy_reads_the_overrides_as_intended(module: str, expected: str) -> None:
    assert follows(module) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("import pulumi_aws as aws\naws.sqs.Queue('q')\naws.ec2.Vpc('v')\n",
     ["aws.sqs.Queue (module pulumi_aws.sqs.queue)"]),
    ("import pulumi_aws as aws\nqueues = aws.sqs\nqueues.Queue('q')\n",
     ["aws.sqs (module pulumi_aws.sqs)", "queues.Queue (module pulumi_aws.sqs.queue)"]),
    ("import pulumi_aws as aws\nx: 'aws.sqs.Queue | None' = None\n",
     ["aws.sqs.Queue (module pulumi_aws.sqs.queue)"]),
    ("from pulumi_aws.sqs import Queue\n", ["from pulumi_aws.sqs import Queue (module pulumi_aws.sqs.queue)"]),
    ("from cloudflare.types.dns import RecordResponse\n",  # a type alias: its module is typing
     ["from cloudflare.types.dns import RecordResponse (module cloudflare.types.dns)"]),
    ("import pulumi_aws as aws\nimport pulumi_kubernetes as k8s\naws.ec2.Vpc('v')\nk8s.core.v1.ConfigMap('m')\n", []),
], ids=["chain", "alias", "string-annotation", "from-import", "type-alias", "listed"])
def test_an_unlisted_module_is_reported(source: str, expected: list[str]) -> None:
    assert _unchecked(source) == expected


@pytest.mark.parametrize("source", [
    "import cloudflare\n\nclient.dns.records.list(zone_id='z')\nclient.zones.get(zone_id='z')\n",
    "import cloudflare\n\ndef read(cf: cloudflare.Cloudflare) -> None:\n    cf.dns.records.list(zone_id='z')\n",
    "import cloudflare\n\napi = cloudflare.Cloudflare()\napi.dns.records.list(zone_id='z')\n",
], ids=["named-client", "annotated", "assigned"])
def test_an_unlisted_cloudflare_resource_is_reported(source: str) -> None:
    modules = {u.removesuffix(")").split("(module ")[1] for u in _unchecked(source)}
    # The resources on the way and the models the call returns; the listed zones resource is not reported.
    assert {"cloudflare.resources.dns.dns", "cloudflare.resources.dns.records",
            "cloudflare.types.dns.record_response"} <= modules
    assert all(m.startswith(("cloudflare.resources.dns.", "cloudflare.types.dns.")) for m in modules)
