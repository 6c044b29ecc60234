"""The building blocks of every guardrail: metadata, property checks, and how violations are worded.

A rule is either a list of property checks on one resource type (most guardrails) or a function over the
whole stack (invariants that relate several resources). Every violation message starts with the rule's id
and names the property, the rule and the value found, so CI output and tests can match it exactly.

Mandatory rules fail closed: a value that is unknown during preview is reported as a violation, because
"cannot verify" must not ship an unencrypted database.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError


class _Missing:
    def __repr__(self) -> str:
        return "<not set>"


MISSING: Any = _Missing()
EXEMPTIONS_KEY = "exemptions"  # policy config: resource-name globs this rule does not apply to


@dataclass(frozen=True)
class Meta:
    id: str  # "A2": its row in the table of docs/guardrails.md
    name: str  # the policy name CrossGuard shows and config keys on
    description: str
    severity: Severity
    mandatory: bool  # security and data-loss rules; hygiene is advisory
    remediation: str
    mirrors: tuple[str, ...] = ()  # Security Hub, checkov, CIS ids it corresponds to

    @property
    def enforcement(self) -> EnforcementLevel:
        return EnforcementLevel.MANDATORY if self.mandatory else EnforcementLevel.ADVISORY

    def message(self, text: str) -> str:
        return f"[{self.id}] {text}"


def region_of(resource: Any) -> str | None:
    """The AWS region a stack-policy resource lands in: its own ``region`` input, else its provider's."""
    own = get(resource.props, "region")
    if own is not MISSING:
        return str(own)
    provider = getattr(resource, "provider", None)
    if provider is None:
        return None
    region = get(provider.props, "region")
    return None if region is MISSING else str(region)


def environment(config: Mapping[str, Any] | None) -> str:
    return str((config or {}).get("environment") or "")


def tagged_environment(provider: Any) -> str:
    """The ``environment`` default tag of an AWS provider (JSON string or mapping), or ""."""
    if provider is None:
        return ""
    tags = get(provider.props, "defaultTags")
    if isinstance(tags, str):
        try:
            tags = json.loads(tags)
        except ValueError:
            return ""
    value = get(tags, "tags.environment") if isinstance(tags, Mapping) else MISSING
    return "" if value is MISSING else str(value)


def _with_environment(config: Mapping[str, Any] | None, providers: Iterable[Any]) -> dict[str, Any]:
    """The policy config, its environment filled in from the providers' default tags when not configured."""
    merged = dict(config or {})
    if not merged.get("environment"):
        merged["environment"] = next((env for p in providers if (env := tagged_environment(p))), "")
    return merged


ENVIRONMENT_SCHEMA = {"environment": {"type": "string", "description": "the stack's environment (prod, dev, ...)"}}


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any, mappings: bool = False) -> Any:
    """A proxied policy value with its lists (and, if asked, mappings) as plain Python values.

    Reading an unknown part raises UnknownValueError. Mappings stay proxies by default, so an unknown
    member is reported at its own path when a check reads it.
    """
    if type(value) in _SCALARS:  # most values: no abstract-class checks
        return value
    if mappings and isinstance(value, Mapping):
        return {k: plain(value[k], mappings) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v, mappings) for v in value]
    return value


def get(props: Any, path: str) -> Any:
    """The value at a dotted path (``vpcConfig.endpointPublicAccess``), or MISSING; list indexes are digits."""
    node = props
    for part in path.split("."):
        if isinstance(node, Mapping):
            # One look-up per part (a proxy checks each for unknowns); an unknown value still raises.
            node = node.get(part)
            if node is None:
                return MISSING
        elif isinstance(node, Sequence) and not isinstance(node, str) and part.isdigit():
            if int(part) >= len(node):
                return MISSING
            node = node[int(part)]
        else:
            return MISSING
    return plain(node)


@dataclass(frozen=True)
class Check:
    """One property and what it must satisfy. ``wrong`` is a value that must fail (it drives the tests)."""

    path: str
    test: Callable[[Any], bool]
    expect: str  # "must be true", completes "<path> <expect>"
    wrong: Any
    missing_ok: bool = False  # an absent value passes (the provider's default is safe)
    when: Callable[[Any], bool] | None = None  # applies only to resources this selects
    # A value unknown during preview is still set (an output of another resource, e.g. a key's ARN): presence
    # checks accept it; every other check fails closed on it when the rule is mandatory.
    unknown_ok: bool = False

    def failure(self, props: Any) -> str | None:
        if self.when is not None and not self.when(props):
            return None
        value = get(props, self.path)
        if value is MISSING:
            return None if self.missing_ok else f"{self.path} is not set; it {self.expect}"
        return None if self.test(value) else f"{self.path} {self.expect} (got {show(value)})"


def plain_all(value: Any) -> Any:
    """A proxied policy value entirely as plain dicts and lists (for comparisons and messages)."""
    return plain(value, mappings=True)


def show(value: Any) -> str:
    """A value as violation messages print it: plain, and cut at 80 characters."""
    text = repr(plain_all(value))
    return text if len(text) <= 80 else text[:77] + "..."


def equals(expected: Any, wrong: Any) -> dict[str, Any]:
    return {"test": lambda v: v == expected, "expect": f"must be {show(expected)}", "wrong": wrong}


def is_true() -> dict[str, Any]:
    return {"test": lambda v: v is True, "expect": "must be true", "wrong": False}


def is_false() -> dict[str, Any]:
    return {"test": lambda v: v is False, "expect": "must be false", "wrong": True}


def one_of(allowed: Iterable[Any], wrong: Any) -> dict[str, Any]:
    options = tuple(allowed)
    return {"test": lambda v: v in options, "expect": f"must be one of {', '.join(map(str, options))}",
            "wrong": wrong}


def present(wrong: Any = "") -> dict[str, Any]:
    return {"test": lambda v: v not in ("", [], {}), "expect": "must be set", "wrong": wrong, "unknown_ok": True}


def at_least(minimum: float, wrong: Any) -> dict[str, Any]:
    return {"test": lambda v: isinstance(v, int | float) and v >= minimum, "expect": f"must be at least {minimum}",
            "wrong": wrong}


def _exempt(name: str, config: Mapping[str, Any] | None) -> bool:
    patterns = (config or {}).get(EXEMPTIONS_KEY) or []
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


_EXEMPTION_SCHEMA = {EXEMPTIONS_KEY: {"type": "array", "items": {"type": "string"},
                                      "description": "resource names (globs) this rule does not apply to"}}


@dataclass(frozen=True)
class ResourceRule:
    meta: Meta
    types: tuple[str, ...]
    checks: tuple[Check, ...] = ()
    # Extra logic over one resource: (props, args) -> failure texts. For what a property check cannot say.
    custom: Callable[[Any, ResourceValidationArgs], list[str]] | None = None
    config: Mapping[str, Any] = field(default_factory=dict)  # extra config schema properties
    prod_only: bool = False  # applies only when the policy config's environment is "prod"

    def failures(self, args: ResourceValidationArgs) -> list[str]:
        """Failure texts for one resource (empty when it complies or the rule does not apply)."""
        config = _with_environment(args.get_config(), [args.provider])
        if args.resource_type not in self.types or _exempt(args.name, config):
            return []
        if self.prod_only and environment(config) != "prod":
            return []
        found: list[str] = []
        for check in self.checks:
            try:
                failure = check.failure(args.props)
            except UnknownValueError:
                closed = self.meta.mandatory and not check.unknown_ok
                failure = f"{check.path} is unknown during preview; failing closed" if closed else None
            if failure:
                found.append(failure)
        if self.custom is not None:
            try:
                found.extend(self.custom(args.props, args))
            except UnknownValueError:
                if self.meta.mandatory:
                    found.append("a value it depends on is unknown during preview; failing closed")
        return found

    def validate(self, args: ResourceValidationArgs, report: ReportViolation) -> None:
        for failure in self.failures(args):
            report(self.meta.message(f"{args.name}: {failure}"), None)

    def policy(self) -> ResourceValidationPolicy:
        return ResourceValidationPolicy(
            name=self.meta.name, description=self.meta.description, validate=self.validate,
            enforcement_level=self.meta.enforcement, severity=self.meta.severity,
            remediation_steps=self.meta.remediation, tags=[self.meta.id, *self.meta.mirrors],
            config_schema=PolicyConfigSchema(properties={**_EXEMPTION_SCHEMA, **ENVIRONMENT_SCHEMA, **self.config}))


@dataclass(frozen=True)
class StackRule:
    meta: Meta
    # (resources, config) -> (failure text, urn or None)
    check: Callable[[Sequence[Any], Mapping[str, Any]], list[tuple[str, str | None]]]
    config: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # initial config of the pack

    def failures(self, args: StackValidationArgs) -> list[tuple[str, str | None]]:
        config = _with_environment({**self.defaults, **(args.get_config() or {})},
                                   (getattr(r, "provider", None) for r in args.resources))
        resources = [r for r in args.resources if not _exempt(r.name, config)]
        try:
            return self.check(resources, config)
        except UnknownValueError:
            if self.meta.mandatory:
                return [("a value it depends on is unknown during preview; failing closed", None)]
            return []

    def validate(self, args: StackValidationArgs, report: ReportViolation) -> None:
        for text, urn in self.failures(args):
            report(self.meta.message(text), urn)

    def policy(self) -> StackValidationPolicy:
        return StackValidationPolicy(
            name=self.meta.name, description=self.meta.description, validate=self.validate,
            enforcement_level=self.meta.enforcement, severity=self.meta.severity,
            remediation_steps=self.meta.remediation, tags=[self.meta.id, *self.meta.mirrors],
            config_schema=PolicyConfigSchema(properties={**_EXEMPTION_SCHEMA, **ENVIRONMENT_SCHEMA, **self.config}))


Rule = ResourceRule | StackRule


def check(path: str, **spec: Any) -> Check:
    return Check(path=path, **spec)


def dependencies(resource: Any, prop: str, *resource_types: str) -> list[Any]:
    """The stack's resources of the given types the engine says ``prop``'s value came from (deduplicated).

    During a stack's first preview an input computed from another resource's output is unknown; the policy
    server still hands stack rules each input's property dependencies (top-level input -> the stack's
    resources its value was computed from), so a rule can check the relation on that resource instead of the
    value. ``prop`` may be a dotted path: dependencies are kept per top-level input. No types: all of them.
    """
    found = (getattr(resource, "property_dependencies", None) or {}).get(prop.split(".", 1)[0], [])
    return list({d.urn: d for d in found if not resource_types or d.resource_type in resource_types}.values())


def dependency(resource: Any, prop: str, *resource_types: str) -> Any:
    """The one resource of the given types ``prop``'s value came from; None when there is none or several."""
    found = dependencies(resource, prop, *resource_types)
    return found[0] if len(found) == 1 else None
