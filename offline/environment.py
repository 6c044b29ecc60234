"""Plan an environment's stacks in deploy order on the mock engine, each reading the outputs of those before it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from offline import engine
from offline.mocks import StackOutputs
from regions.loader import load, manifest_path
from regions.stacks import Layout, StackId, closure


def environment_of(stack: str) -> str:
    """``prod`` -> ``prod``; ``prod-us-east-1-cluster`` -> ``prod`` (environments are the manifests' names)."""
    return stack.split("-", 1)[0]


def layout(environment: str, manifest: Path | None = None) -> Layout:
    return Layout(load(manifest or manifest_path(environment), environment))


def plan(stacks: list[StackId], *, manifest: Path | None = None,
         progress: Callable[[StackId, int], None] | None = None) -> list[engine.PlanRun]:
    """Plan ``stacks`` (in deploy order), feeding every StackReference the outputs planned so far."""
    outputs: dict[str, StackOutputs] = {}
    runs = []
    for i, stack in enumerate(stacks):
        if progress:
            progress(stack, i)
        run = engine.run(stack.name, manifest=manifest, stack_outputs=outputs)
        outputs[stack.name] = run.outputs
        runs.append(run)
    return runs


def plan_named(name: str, *, manifest: Path | None = None,
               progress: Callable[[StackId, int], None] | None = None) -> tuple[list[engine.PlanRun], list[str]]:
    """``name`` is an environment (every stack) or one stack (it and what it reads, transitively).

    Returns the runs and the names of the stacks asked for (the others were planned only for their outputs).
    """
    env = environment_of(name)
    lay = layout(env, manifest)
    if name == env:
        stacks = lay.order()
        return plan(stacks, manifest=manifest, progress=progress), [s.name for s in stacks]
    return plan(closure(lay, [name]), manifest=manifest, progress=progress), [name]
