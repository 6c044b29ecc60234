"""Reading other stacks of the environment: one StackReference per stack, outputs by name and region.

Names are `<organization>/global-platform/<stack>`; the organization is the one the running stack lives in
(Pulumi Cloud's, or `organization` on a self-managed backend), so every stack of an environment lives in
one organization.
"""

from __future__ import annotations

from typing import Any

import pulumi

from program.config import PROJECT
from regions.stacks import StackId


class Stacks:
    """The StackReferences of one program run, made on first use and shared, and each output read once."""

    def __init__(self, allowed: list[StackId]) -> None:
        self._allowed = set(allowed)  # what regions/stacks.py says this stack reads: nothing else
        self._refs: dict[StackId, pulumi.StackReference] = {}
        # One Output per (stack, key): the SDK lifts an output's whole value into Outputs on every read, and the
        # layers read the same outputs (a region's sites, every group's endpoints) again and again.
        self._outputs: dict[tuple[StackId, str], pulumi.Output[Any]] = {}

    def _ref(self, stack: StackId) -> pulumi.StackReference:
        if stack not in self._allowed:
            raise AssertionError(f"{stack.name} is not among the stacks this stack reads (regions/stacks.py)")
        if stack not in self._refs:
            self._refs[stack] = pulumi.StackReference(f"{pulumi.get_organization()}/{PROJECT}/{stack.name}")
        return self._refs[stack]

    def output(self, stack: StackId, key: str) -> pulumi.Output[Any]:
        """``key`` of ``stack``'s outputs; a stack that has not exported it (not deployed yet, or deployed by an
        older program) stops the preview with a message that names both, not a bare KeyError."""
        def present(value: Any) -> Any:
            if value is None:
                raise pulumi.RunError(f"stack {stack.name} has no output {key!r}: deploy it first (the order is in "
                                      "docs/stacks.md), or run its `pulumi up` with the current program")
            return value
        if (stack, key) not in self._outputs:
            self._outputs[stack, key] = self._ref(stack).get_output(key).apply(present)
        return self._outputs[stack, key]

    def regional(self, stack: StackId, key: str) -> pulumi.Output[Any]:
        """``outputs[key][region]`` of a regional stack (outputs are keyed by region, as `make verify` reads)."""
        region = stack.region
        return self.output(stack, key).apply(lambda by_region: by_region[region])

    def item(self, stack: StackId, key: str, *path: str) -> pulumi.Output[Any]:
        def walk(value: Any) -> Any:
            for part in path:
                value = value[part]
            return value
        return self.output(stack, key).apply(walk)
