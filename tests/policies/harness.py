"""Calling guardrails directly, the way the policy server would, on props taken from the real plans.

Whole plans reach stack rules through offline/guardrails.py's adapter, the one `make plan` runs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from guardrails.core import ResourceRule, StackRule
from offline.guardrails import Proxies, stack_view
from tests import nested


def options(protect: bool = False, ignore_changes: Sequence[str] = ()) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=protect, ignore_changes=list(ignore_changes), delete_before_replace=None,
                                 aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=[])


def resource_args(resource_type: str, props: Mapping[str, Any], name: str = "subject",
                  config: Mapping[str, Any] | None = None, protect: bool = False) -> ResourceValidationArgs:
    urn = f"urn:pulumi:test::global-platform::{resource_type}::{name}"
    return ResourceValidationArgs(resource_type, unknown_checking_proxy(copy.deepcopy(dict(props))), urn, name,
                                  options(protect), None, dict(config or {}))


def violations(rule: ResourceRule, resource_type: str, props: Mapping[str, Any], name: str = "subject",
               config: Mapping[str, Any] | None = None) -> list[str]:
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    rule.validate(resource_args(resource_type, props, name, config), report)
    return found


def stack_resource(resource_type: str, props: Mapping[str, Any], name: str, region: str | None = None,
                   protect: bool = False, ignore_changes: Sequence[str] = ()) -> PolicyResource:
    """A resource as a stack policy sees it; ``region`` becomes its provider's region."""
    urn = f"urn:pulumi:test::global-platform::{resource_type}::{name}"
    provider = PolicyProviderResource("pulumi:providers:aws", {"region": region}, f"{urn}-provider", "aws") \
        if region else None
    return PolicyResource(resource_type, unknown_checking_proxy(copy.deepcopy(dict(props))), urn, name,
                          options(protect, ignore_changes), provider, None, [], {})


def stack_violations(rule: StackRule, resources: Sequence[PolicyResource],
                     config: Mapping[str, Any] | None = None) -> list[str]:
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    rule.validate(StackValidationArgs(list(resources), dict(config or {})), report)
    return found


_PROXIES: Proxies = {}


def never_edited(doc: Mapping[str, Any]) -> None:
    """Mark a session-shared plan's entries as never edited in place (tests edit copies of them), so that
    every view of a document sharing them builds their props proxies once."""
    _PROXIES.update({id(r): (r, None) for r in doc["resources"]})


def plan_resources(doc: Mapping[str, Any]) -> list[PolicyResource]:
    """Every custom resource of a plan document as a stack policy receives it: the adapter `make plan` uses
    (offline/guardrails.py), so outputs merged into props and the engine's dependencies included. The shared
    plans' entries (`never_edited`) have their props proxies built once."""
    return stack_view(doc, proxies=_PROXIES)


def without(props: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A deep copy of props with the value at a dotted path removed."""
    result = copy.deepcopy(dict(props))
    nested.remove(result, path)
    return result


def with_value(props: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of props with the value at a dotted path set (intermediate mappings created)."""
    result = copy.deepcopy(dict(props))
    nested.put(result, path, value)
    return result


def baseline(doc: Mapping[str, Any], rule: ResourceRule, when: Any = None) -> tuple[str, dict[str, Any]]:
    """(type, inputs) of the first planned resource the rule applies to (and ``when`` selects)."""
    for r in doc["resources"]:
        if r["type"] in rule.types and (when is None or when(r["inputs"])):
            return r["type"], copy.deepcopy(r["inputs"])
    raise LookupError(f"the plan has no resource for {rule.meta.id} ({', '.join(rule.types)})")
