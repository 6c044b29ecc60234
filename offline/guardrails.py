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


def evaluate(document: Mapping[str, Any], pack_config: Mapping[str, Any]) -> list[Violation]:
    """Every violation of every rule over the document's custom resources."""
    if document.get("preview"):
        document = {**document, "resources": [
            {**r, "inputs": with_unknown_sentinels(r["inputs"]), "outputs": with_unknown_sentinels(r["outputs"])}
            for r in document["resources"]]}
    by_urn = {r["urn"]: r for r in document["resources"]}
    resources = [r for r in document["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:")]

    def provider_of(r: Mapping[str, Any]) -> PolicyProviderResource | None:
        p = by_urn.get(r["provider"] or "")
        return PolicyProviderResource(p["type"], p["inputs"], p["urn"], p["name"]) if p else None

    stack_view = [PolicyResource(r["type"], unknown_checking_proxy({**r["inputs"], **r["outputs"]}), r["urn"],
                                 r["name"], _options(r), provider_of(r), None, [], {}) for r in resources]
    # Dependencies as the policy server hands them to stack rules: the stack's resources, per input property too.
    in_stack = {view.urn: view for view in stack_view}
    for view, r in zip(stack_view, resources, strict=True):
        view.dependencies = [in_stack[u] for u in r["dependencies"] if u in in_stack]
        view.property_dependencies = {prop: [in_stack[u] for u in urns if u in in_stack]
                                      for prop, urns in (r.get("propertyDependencies") or {}).items()}
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
            rule.validate(StackValidationArgs(stack_view, config), report)
        elif isinstance(rule, ResourceRule):
            for r in resources:
                if r["type"] in rule.types:
                    args = ResourceValidationArgs(r["type"], unknown_checking_proxy(r["inputs"]), r["urn"], r["name"],
                                                  _options(r), provider_of(r), config)
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
