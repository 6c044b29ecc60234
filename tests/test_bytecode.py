"""The virtual environment is byte-compiled when it is built, so no process compiles the SDKs again.

CI images commonly set PYTHONDONTWRITEBYTECODE=1 and uv installs sources only: without `uv sync
--compile-bytecode` (the Makefile's) every `make plan` and every test process compiles pulumi_aws's thousands of
modules again, which used to be a third of a plan's time.
"""

from __future__ import annotations

import importlib.util
import py_compile
import sys
from pathlib import Path

import pytest

# The SDKs every plan imports (the big ones: the reason this matters).
SDKS = ["pulumi", "pulumi_aws", "pulumi_cloudflare", "pulumi_kubernetes", "pulumi_kafka", "pulumi_random",
        "pulumi_tls", "pydantic"]


def _usable(source: Path) -> bool:
    """True when the interpreter would load ``source``'s cached bytecode instead of compiling it."""
    cached = Path(importlib.util.cache_from_source(str(source)))
    try:
        with cached.open("rb") as pyc:  # the header only: pulumi_aws's bytecode is hundreds of megabytes
            header = pyc.read(16)
    except OSError:
        return False
    if header[:4] != importlib.util.MAGIC_NUMBER:
        return False
    if int.from_bytes(header[4:8], "little") & 1:  # hash-based: valid by construction of the build
        return True
    stat = source.stat()  # timestamp-based: the source's mtime and size must match the header's
    return (int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF)


def missing_bytecode(package: Path) -> list[Path]:
    """The modules under ``package`` the interpreter would have to compile at import."""
    return [p for p in sorted(package.rglob("*.py")) if not _usable(p)]


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, f"{name} is not installed"
    return Path(spec.origin).parent


@pytest.mark.parametrize("sdk", SDKS)
def test_every_module_of_the_sdk_has_its_bytecode(sdk: str) -> None:
    package = _package_dir(sdk)
    assert package.is_relative_to(Path(sys.prefix)), f"{sdk} is not the virtual environment's"
    modules = list(package.rglob("*.py"))
    assert modules, f"no modules found under {package}"
    missing = missing_bytecode(package)
    assert not missing, (f"{len(missing)} of {len(modules)} modules of {sdk} have no usable bytecode "
                         f"(first: {missing[0]}); the venv must be built with `uv sync --compile-bytecode`")


def test_the_check_finds_a_module_without_bytecode_and_a_stale_one(tmp_path: Path) -> None:
    compiled, uncompiled, stale = (tmp_path / f"{n}.py" for n in ("compiled", "uncompiled", "stale"))
    for module in (compiled, uncompiled, stale):
        module.write_text("VALUE = 1\n")
    py_compile.compile(str(compiled), doraise=True)
    py_compile.compile(str(stale), doraise=True)
    stale.write_text("VALUE = 2  # edited after it was compiled\n")
    assert missing_bytecode(tmp_path) == [stale, uncompiled]
