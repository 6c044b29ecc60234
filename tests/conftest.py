"""Shared fixtures: manifests as editable data, and plan documents of the real program on the mock engine.

Every run of the program on the mock engine is made once per test run for the same inputs (the stack, the
manifest's text, the stack config, the outputs of the stacks it reads, preview or not) and handed out as a copy:
the whole-environment plans that the fixtures, `make plan` tests and first-preview tests need are shared
instead of replanned, and a test that edits an input gets a run of its own. Under pytest-xdist the workers
share them through the session's temporary directory: the first worker to need a run makes it while the
other waits on its lock, instead of both planning prod.
"""

from __future__ import annotations

import copy
import fcntl
import gc
import hashlib
import json
import os
import pickle
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
import yaml

from offline import engine, environment, stack_files
from offline.mocks import StackOutputs
from regions.loader import manifest_path

warnings.filterwarnings("ignore", category=DeprecationWarning)
# A test process keeps large plans alive all session and allocates a great deal around them: with the default
# young-generation threshold (700) the cyclic collector runs so often that it took a fifth of the suite's CPU
# in one A/B (the pack, verify and preflight tests: 92 s of CPU against 72 s, at about 270 MB more per worker).
gc.set_threshold(20_000, 10, 10)

_RAW = {env: yaml.safe_load(manifest_path(env).read_text()) for env in ("prod", "dev")}


@pytest.fixture
def raw_manifest() -> Callable[[str], dict[str, Any]]:
    """A fresh, editable copy of a committed manifest's YAML data."""
    return lambda env: copy.deepcopy(_RAW[env])


@pytest.fixture
def write_manifest(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write(data: dict[str, Any], name: str = "manifest.yaml") -> Path:
        path = tmp_path / name
        # libyaml's emitter: the same text as yaml.safe_dump, a sixth of the time for a whole manifest.
        path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False))
        return path
    return write


@pytest.fixture
def plan_document(tmp_path: Path) -> Callable[[str], Path]:
    """Where a `make plan` test writes an environment's document: in $PLAN_ARTIFACTS when set (.ci/run keeps
    those as CI's plan documents, so CI does not plan both environments again after the suite), else a temp dir."""
    def path(env: str) -> Path:
        artifacts = os.environ.get("PLAN_ARTIFACTS")
        return Path(artifacts) / f"plan-{env}.json" if artifacts else tmp_path / "plans" / f"{env}.json"
    return path


def plan(name: str, **kwargs: Any) -> dict[str, Any]:
    """The plan document of an environment (every stack) or of one stack; ``configs`` overrides stack files."""
    return environment.document_of(name, **kwargs)


def _shared(doc: dict[str, Any]) -> dict[str, Any]:
    from tests.policies.harness import never_edited

    never_edited(doc)
    # It lives as long as the session (as do the runs it was made of): out of the cyclic collector's sight, so
    # full collections stop walking it again for every test.
    gc.collect()
    gc.freeze()
    return doc


@pytest.fixture(scope="session")
def prod_plan() -> dict[str, Any]:
    """Shared by every test of the session: edit a copy (copy.deepcopy, or the Plan views of the pack tests)."""
    return _shared(plan("prod"))


@pytest.fixture(scope="session")
def dev_plan() -> dict[str, Any]:
    return _shared(plan("dev"))


_run_program = engine.run
_RUNS: dict[str, bytes] = {}  # pickled: each caller gets its own copy, a few times faster than deepcopy
_SHARED_DIR: list[Path] = []  # the directory the xdist workers of this run share (none without xdist)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_once(key: str, make: Callable[[], engine.PlanRun]) -> bytes:
    """``make()``'s run, pickled, made by whichever worker of this test run needs it first."""
    if not _SHARED_DIR:
        return pickle.dumps(make())
    stored = _SHARED_DIR[0] / f"{key}.pickle"
    with _locked(stored.with_suffix(".lock")):
        if stored.exists():
            return stored.read_bytes()
        run = pickle.dumps(make())
        partial = stored.with_suffix(".partial")
        partial.write_bytes(run)
        partial.replace(stored)
        return run


def _fingerprint(stack: str, manifest: Path | None, config: dict[str, str], secret_keys: list[str],
                 stack_outputs: dict[str, StackOutputs] | None, preview: bool) -> str:
    """Everything a run of the program reads: two runs with the same fingerprint register the same resources."""
    path = manifest or manifest_path(environment.environment_of(stack))
    reads = {name: [outputs.values, sorted(outputs.secret_names)] for name, outputs in (stack_outputs or {}).items()}
    text = json.dumps([stack, path.name, path.read_text(), sorted(config.items()), sorted(secret_keys), reads, preview],
                      sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _shared_run(stack: str, program: Callable[[], object] | None = None, *, manifest: Path | None = None,
                config: dict[str, str] | None = None, secret_keys: list[str] | None = None,
                stack_outputs: dict[str, StackOutputs] | None = None, preview: bool = False) -> engine.PlanRun:
    if program is not None:  # a test's own program: always run
        return _run_program(stack, program, manifest=manifest, config=config, secret_keys=secret_keys,
                            stack_outputs=stack_outputs, preview=preview)
    if config is None:
        config, secret_keys = stack_files.read(stack)
    key = _fingerprint(stack, manifest, config, secret_keys or [], stack_outputs, preview)
    if key not in _RUNS:  # bad input raises and is not kept
        _RUNS[key] = _run_once(key, lambda: _run_program(
            stack, manifest=manifest, config=config, secret_keys=secret_keys, stack_outputs=stack_outputs,
            preview=preview))
    run: engine.PlanRun = pickle.loads(_RUNS[key])
    return run


class _SearchPaths(list[str]):
    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_loader() -> Iterator[None]:
    """Every boto3 session of the run reads AWS's service models through one loader, so each model is parsed once.

    The code under test makes one session per process, as the operator's tools do; the tests make one per test
    (moto's state and stubbed answers are per test), and each new session parsed the same models again: JSON
    decoding was a fifth of the preflight tests' time. The loader caches read-only model data; its search path
    is a list to which each boto3 session appends boto3's data directory, kept here without repeats.
    """
    loader = botocore.loaders.Loader(extra_search_paths=_SearchPaths())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session.Session, "_register_data_loader",
                      lambda self: self._components.lazy_register_component("data_loader", lambda: loader))
        yield


# The whole-environment plans tests ask for (by fixture, or by the first_preview marker), in the order the
# workers share them out: (environment, as its first preview).
_AHEAD = (("prod", False), ("prod", True), ("dev", False), ("dev", True))


def _plans_needed(items: list[pytest.Item]) -> list[tuple[str, bool]]:
    needed = {(env, False) for item in items for env in ("prod", "dev")
              if f"{env}_plan" in getattr(item, "fixturenames", ())}  # a test function's fixtures
    needed |= {(mark.args[0], True) for item in items for mark in item.iter_markers("first_preview") if mark.args}
    return [plan for plan in _AHEAD if plan in needed]


def _plan_ahead(items: list[pytest.Item], worker: int, workers: int) -> None:
    """This worker's share of the whole-environment plans the collected tests need, made before its first test.

    Without it the second worker to need prod's plan waited on the first's lock for the whole plan (11 s of two
    cores' run). Shared out, one worker plans prod while the other makes prod's first previews: each preview of
    a stack waits only for the runs of the stacks it reads, which the first worker makes in deploy order.
    """
    for env, preview in _plans_needed(items)[worker::workers]:
        try:
            environment.plan_named(env, preview=preview)  # the runs `make plan` and the fixtures ask for
        except Exception:  # only a head start: the tests that need this plan report its failure
            continue


@pytest.fixture(autouse=True, scope="session")
def _share_program_runs(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
                        ) -> Iterator[None]:
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    if worker:  # an xdist worker: its basetemp's parent is shared by all workers
        shared = tmp_path_factory.getbasetemp().parent / "program-runs"
        shared.mkdir(exist_ok=True)
        _SHARED_DIR.append(shared)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "run", _shared_run)
        if worker:
            _plan_ahead(request.session.items, int(worker.removeprefix("gw")),
                        int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
        yield
