"""Shared fixtures: manifests as editable data, and plan documents of the real program on the mock engine."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import environment
from regions.loader import manifest_path

warnings.filterwarnings("ignore", category=DeprecationWarning)

_RAW = {env: yaml.safe_load(manifest_path(env).read_text()) for env in ("prod", "dev")}


@pytest.fixture
def raw_manifest() -> Callable[[str], dict[str, Any]]:
    """A fresh, editable copy of a committed manifest's YAML data."""
    return lambda env: copy.deepcopy(_RAW[env])


@pytest.fixture
def write_manifest(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write(data: dict[str, Any], name: str = "manifest.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path
    return write


def plan(name: str, **kwargs: Any) -> dict[str, Any]:
    """The plan document of an environment (every stack) or of one stack; ``configs`` overrides stack files."""
    return environment.document_of(name, **kwargs)


@pytest.fixture(scope="session")
def prod_plan() -> dict[str, Any]:
    return plan("prod")


@pytest.fixture(scope="session")
def dev_plan() -> dict[str, Any]:
    return plan("dev")
