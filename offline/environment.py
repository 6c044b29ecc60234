"""Plan an environment's stacks in deploy order on the mock engine, each reading the outputs of those before it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline import engine
from offline.document import build_many
from offline.mocks import StackOutputs
from regions.loader import load, manifest_path
from regions.stacks import Layout, StackId, closure, environment_of


def layout(environment: str, manifest: Path | None = None) -> Layout:
    return Layout(load(manifest or manifest_path(environment), environment))


# Stack name -> (config values, secret keys) to plan instead of its stack file's (tests edit one stack's config).
Configs = dict[str, tuple[dict[str, str], list[str]]]


def plan(stacks: list[StackId], *, manifest: Path | None = None, configs: Configs | None = None,
         progress: Callable[[StackId, int, int], None] | None = None, preview: frozenset[str] = frozenset()
         ) -> list[engine.PlanRun]:
    """Plan ``stacks`` (in deploy order), feeding every StackReference the outputs planned so far.

    The stacks named in ``preview`` are also planned as their first `pulumi preview` sees them (nothing of
    theirs deployed, the stacks they read deployed): that run replaces theirs in the result. ``progress`` is
    called before each stack with its index and the number of registrations so far.
    """
    outputs: dict[str, StackOutputs] = {}
    runs: list[engine.PlanRun] = []
    for i, stack in enumerate(stacks):
        if progress:
            progress(stack, i, sum(len(r.resources) for r in runs))
        config, secrets = (configs or {}).get(stack.name, (None, None))
        run = engine.run(stack.name, manifest=manifest, stack_outputs=outputs, config=config, secret_keys=secrets)
        outputs[stack.name] = run.outputs
        if stack.name in preview:
            run = engine.run(stack.name, manifest=manifest, stack_outputs=outputs, config=config,
                             secret_keys=secrets, preview=True)
        runs.append(run)
    return runs


def plan_named(name: str, *, manifest: Path | None = None, configs: Configs | None = None,
               progress: Callable[[StackId, int, int], None] | None = None, preview: bool = False
               ) -> tuple[list[engine.PlanRun], list[str]]:
    """``name`` is an environment (every stack) or one stack (it and what it reads, transitively).

    Returns the runs and the names of the stacks asked for (the others were planned only for their outputs).
    """
    env = environment_of(name)
    lay = layout(env, manifest)
    if name == env:
        stacks = lay.order()
        names = [s.name for s in stacks]
        return plan(stacks, manifest=manifest, configs=configs, progress=progress,
                    preview=frozenset(names) if preview else frozenset()), names
    return plan(closure(lay, [name]), manifest=manifest, configs=configs, progress=progress,
                preview=frozenset([name]) if preview else frozenset()), [name]


def stack_info(lay: Layout) -> dict[str, dict[str, Any]]:
    """What the plan document records of each stack: its layer and what it reads."""
    return {s.name: {"layer": s.layer, "reads": [r.name for r in lay.reads(s)]} for s in lay.order()}


def document_of(name: str, *, manifest: Path | None = None, configs: Configs | None = None,
                preview: bool = False) -> dict[str, Any]:
    """The plan document (resources and outputs only) of an environment or one stack."""
    runs, asked = plan_named(name, manifest=manifest, configs=configs, preview=preview)
    lay = layout(environment_of(name), manifest)
    return build_many([r for r in runs if r.stack in asked], name, stack_info(lay))
