"""Run the guardrail pack on a plan document, as `pulumi preview --policy-pack policies` would on the stack.

Resource policies see each resource's inputs (camelCase, secrets masked) with its provider; stack
policies see every resource with inputs and outputs merged. The policy config is the file users pass
with `--policy-pack-config` (policies/config/<stack>.json), so both runs enforce the same thing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

PACK_DIR = Path(__file__).resolve().parent.parent / "policies"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))

from guardrails.core import ResourceRule, Rule, StackRule  # noqa: E402
from guardrails.cost import CostLine, merged  # noqa: E402
from guardrails.cost import cost_lines as pack_cost_lines  # noqa: E402
from guardrails.registry import all_rules  # noqa: E402
from offline.document import UNKNOWN_MARK  # noqa: E402

SEVERITY_ORDER = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Violation:
    policy: str
    id: str
    severity: str
    enforcement: str  # "mandatory" or "advisory"
    urn: str | None
    message: str
    # Where the pack found it: "environment" (the whole-environment plan, the CI gate) or a stack's name
    # (what that stack's `pulumi up --policy-pack` refuses).
    scope: str = "environment"


def config_path(stack: str) -> Path:
    return PACK_DIR / "config" / f"{stack}.json"


def load_config(stack: str) -> dict[str, Any]:
    path = config_path(stack)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _options(resource: Mapping[str, Any]) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=resource["protect"], ignore_changes=list(resource["ignoreChanges"]),
                                 delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[])


def _enforcement(rule: Rule, config: Mapping[str, Any]) -> str:
    level = str(config.get("enforcementLevel") or rule.meta.enforcement.value)
    return level


def _reporting_for(report: Any, urn: str) -> Any:
    """A report callback that attributes resource-policy violations to the resource's URN."""
    def forward(message: str, _urn: str | None = None) -> None:
        report(message, _urn or urn)
    return forward


def with_unknown_sentinels(value: Any) -> Any:
    """The document's unknown marks as the policy SDK's unknown sentinel, which its proxies refuse to read."""
    if value == UNKNOWN_MARK:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: with_unknown_sentinels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_unknown_sentinels(v) for v in value]
    return value


def _prepared(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The document with a preview's unknown marks as the SDK's sentinels (a no-op on a prepared document)."""
    if not document.get("preview"):
        return document
    return {**document, "resources": [
        {**r, "inputs": with_unknown_sentinels(r["inputs"]), "outputs": with_unknown_sentinels(r["outputs"])}
        for r in document["resources"]]}


def custom_resources(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The (prepared) document's resources the pack judges: custom, not providers."""
    return [r for r in document["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:")]


def provider_of(document: Mapping[str, Any]) -> Any:
    by_urn = {r["urn"]: r for r in document["resources"]}

    def provider(r: Mapping[str, Any]) -> PolicyProviderResource | None:
        p = by_urn.get(r["provider"] or "")
        return PolicyProviderResource(p["type"], p["inputs"], p["urn"], p["name"]) if p else None
    return provider


# Plan entries that are never edited (id -> the entry, and its props proxy once built): a view reuses their proxy.
Proxies = dict[int, tuple[Mapping[str, Any], Any]]


def _props(resource: Mapping[str, Any], proxies: Proxies | None) -> Any:
    """The resource's inputs and outputs merged, as the policy SDK's proxy; built once for a never-edited entry."""
    entry, proxy = (proxies or {}).get(id(resource), (None, None))
    if entry is not resource:  # not a never-edited entry (or another object under a reused id)
        return unknown_checking_proxy({**resource["inputs"], **resource["outputs"]})
    if proxy is None:
        proxy = unknown_checking_proxy({**resource["inputs"], **resource["outputs"]})
        proxies[id(resource)] = (resource, proxy)  # type: ignore[index]  # entry found: proxies is not None
    return proxy


def stack_view(document: Mapping[str, Any], resources: list[Mapping[str, Any]] | None = None,
               proxies: Proxies | None = None) -> list[PolicyResource]:
    """The resources as the policy server hands them to stack rules: inputs and outputs merged, with the
    stack's resources each depends on (per input property too).

    ``proxies`` names entries that never change (a test session's shared plans, which tests view again and
    again with one edited copy of an entry each): their props proxies are built once. A preview's entries are
    prepared afresh for each view, so none of them is among those."""
    document = _prepared(document)
    resources = custom_resources(document) if resources is None else resources
    provider = provider_of(document)
    view = [PolicyResource(r["type"], _props(r, proxies), r["urn"], r["name"], _options(r), provider(r), None, [],
                           {}) for r in resources]
    in_stack = {v.urn: v for v in view}
    for v, r in zip(view, resources, strict=True):
        v.dependencies = [in_stack[u] for u in r["dependencies"] if u in in_stack]
        v.property_dependencies = {prop: [in_stack[u] for u in urns if u in in_stack]
                                   for prop, urns in (r.get("propertyDependencies") or {}).items()}
    return view


def cost_lines(document: Mapping[str, Any], backup_gib_per_cluster: float | None = None) -> list[CostLine]:
    """The pack's cost lines (guardrails.cost) of the document's resources, merged per region and item: what P10
    adds up, and what the plan's cost report shows."""
    return merged(pack_cost_lines(stack_view(document), backup_gib_per_cluster))


def evaluate(document: Mapping[str, Any], pack_config: Mapping[str, Any]) -> list[Violation]:
    """Every violation of every rule over the document's custom resources."""
    document = _prepared(document)
    resources = custom_resources(document)
    provider_of_ = provider_of(document)
    stack_resources = stack_view(document, resources)
    # Each entry's inputs proxy, built once for all the resource rules of its type (the policy server builds one
    # per policy; the rules only read their args, so sharing it changes no finding).
    inputs: dict[int, Any] = {}
    found: list[Violation] = []
    for rule in all_rules():
        config = dict(pack_config.get(rule.meta.name) or {})
        enforcement = _enforcement(rule, config)
        if enforcement == "disabled":
            continue

        def report(message: str, urn: str | None = None, rule: Rule = rule, enforcement: str = enforcement) -> None:
            found.append(Violation(rule.meta.name, rule.meta.id, rule.meta.severity.value, enforcement, urn,
                                   message))

        if isinstance(rule, StackRule):
            rule.validate(StackValidationArgs(stack_resources, config), report)
        elif isinstance(rule, ResourceRule):
            for r in resources:
                if r["type"] in rule.types:
                    if id(r) not in inputs:
                        inputs[id(r)] = unknown_checking_proxy(r["inputs"])
                    args = ResourceValidationArgs(r["type"], inputs[id(r)], r["urn"], r["name"], _options(r),
                                                  provider_of_(r), config)
                    rule.validate(args, _reporting_for(report, r["urn"]))
    order = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(found, key=lambda v: (v.enforcement != "mandatory", order.get(v.severity, 9), v.id, v.message))


def as_document(violations: list[Violation]) -> list[dict[str, Any]]:
    return [asdict(v) for v in violations]


def evaluate_stacks(document: Mapping[str, Any], configs: Mapping[str, Mapping[str, Any]]) -> list[Violation]:
    """Each stack of the document alone, as its own `pulumi up` runs the pack; ``configs``: stack -> its config."""
    found: list[Violation] = []
    for stack, config in configs.items():
        part = {**document, "resources": [r for r in document["resources"] if r.get("stack") == stack]}
        found += [replace(v, scope=stack) for v in evaluate(part, config)]
    return found


def combined(environment: list[Violation], stacks: list[Violation]) -> list[Violation]:
    """The whole-environment findings, then what only a single stack's run finds (the same finding once)."""
    seen = {(v.policy, v.urn, v.message) for v in environment}
    return [*environment, *(v for v in stacks if (v.policy, v.urn, v.message) not in seen)]
