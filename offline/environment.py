"""Plan an environment's stacks in deploy order on the mock engine, each reading the outputs of those before it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline import engine
from offline.document import build_many
from offline.mocks import StackOutputs
from regions.loader import load, manifest_path
from regions.stacks import Layout, StackId, closure


def environment_of(stack: str) -> str:
    """``prod`` -> ``prod``; ``prod-us-east-1-cluster`` -> ``prod`` (environments are the manifests' names)."""
    return stack.split("-", 1)[0]


def layout(environment: str, manifest: Path | None = None) -> Layout:
    return Layout(load(manifest or manifest_path(environment), environment))


# Stack name -> (config values, secret keys) to plan instead of its stack file's (tests edit one stack's config).
Configs = dict[str, tuple[dict[str, str], list[str]]]


def plan(stacks: list[StackId], *, manifest: Path | None = None, configs: Configs | None = None,
         progress: Callable[[StackId, int], None] | None = None) -> list[engine.PlanRun]:
    """Plan ``stacks`` (in deploy order), feeding every StackReference the outputs planned so far."""
    outputs: dict[str, StackOutputs] = {}
    runs = []
    for i, stack in enumerate(stacks):
        if progress:
            progress(stack, i)
        config, secrets = (configs or {}).get(stack.name, (None, None))
        run = engine.run(stack.name, manifest=manifest, stack_outputs=outputs, config=config, secret_keys=secrets)
        outputs[stack.name] = run.outputs
        runs.append(run)
    return runs


def plan_named(name: str, *, manifest: Path | None = None, configs: Configs | None = None,
               progress: Callable[[StackId, int], None] | None = None) -> tuple[list[engine.PlanRun], list[str]]:
    """``name`` is an environment (every stack) or one stack (it and what it reads, transitively).

    Returns the runs and the names of the stacks asked for (the others were planned only for their outputs).
    """
    env = environment_of(name)
    lay = layout(env, manifest)
    if name == env:
        stacks = lay.order()
        return plan(stacks, manifest=manifest, configs=configs, progress=progress), [s.name for s in stacks]
    return plan(closure(lay, [name]), manifest=manifest, configs=configs, progress=progress), [name]


def stack_info(lay: Layout) -> dict[str, dict[str, Any]]:
    """What the plan document records of each stack: its layer and what it reads."""
    return {s.name: {"layer": s.layer, "reads": [r.name for r in lay.reads(s)]} for s in lay.order()}


def document_of(name: str, *, manifest: Path | None = None, configs: Configs | None = None) -> dict[str, Any]:
    """The plan document (resources and outputs only) of an environment or one stack."""
    runs, asked = plan_named(name, manifest=manifest, configs=configs)
    lay = layout(environment_of(name), manifest)
    return build_many([r for r in runs if r.stack in asked], name, stack_info(lay))
