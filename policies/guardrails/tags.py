"""The required tags every AWS resource carries through its provider's defaultTags: TAG1."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Severity

from guardrails.core import (
    MISSING,
    Meta,
    StackRule,
    get,
)
from guardrails.stack_reads import (
    Finding,
    stable,
)

REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")
# ------------------------------------------------------------------------------------------ TAG1 tags


def _default_tags(provider: Any) -> dict[str, Any] | None:
    raw = get(provider.props, "defaultTags")
    if raw is MISSING:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    tags = raw.get("tags") if isinstance(raw, Mapping) else None
    return dict(tags) if isinstance(tags, Mapping) else ({} if isinstance(raw, Mapping) else None)


def _own_tags(resource: Any) -> Mapping[str, Any]:
    tags = get(resource.props, "tags")
    return tags if isinstance(tags, Mapping) else {}


def _required_tags(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    required = list(config.get("requiredTags") or REQUIRED_TAGS)
    env = str(config.get("environment") or "")
    found: list[Finding] = []
    users: dict[str, list[Any]] = defaultdict(list)
    providers: dict[str, Any] = {}
    for resource in resources:
        provider = getattr(resource, "provider", None)
        if resource.resource_type.startswith("aws:") and provider is not None:
            users[provider.urn].append(resource)
            providers[provider.urn] = provider
    for urn, provider in providers.items():
        tags = _default_tags(provider)
        if tags is None:
            found.append((f"provider {provider.name}: defaultTags is not valid JSON with a tags map", urn))
            continue
        missing = [t for t in required if t not in tags]
        affected = [r for r in users[urn] if any(t not in _own_tags(r) for t in missing)]
        if missing and affected:
            found.append((f"provider {provider.name}: defaultTags lacks {', '.join(missing)} for {len(affected)} "
                          f"AWS resources (e.g. {affected[0].name}); required tags: {', '.join(required)}", urn))
        if env and "environment" in tags and tags["environment"] != env:
            found.append((f"provider {provider.name}: defaultTags environment is {tags['environment']!r}, but the "
                          f"stack's environment is {env!r}", urn))
    return found


INVARIANTS = [
    StackRule(
        Meta("TAG1", "platform-required-tags", "AWS providers stamp the required tags on every resource",
             Severity.LOW, mandatory=False,
             remediation="Add the missing keys to default_tags of the regional aws.Provider (or tag the resource)."),
        stable(_required_tags),
        config={"requiredTags": {"type": "array", "items": {"type": "string"},
                                 "description": "tag keys every AWS resource must carry"}},
        defaults={"requiredTags": list(REQUIRED_TAGS)}),
]
