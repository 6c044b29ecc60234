"""Every rule of the pack, in the order the README table lists them."""

from __future__ import annotations

from guardrails import (
    aurora,
    cache,
    cloudflare,
    deploy_reach,
    eks,
    kafka,
    kms_secrets,
    load_balancers,
    logs,
    network,
    platform,
)
from guardrails.core import Rule

# Modules by service, in table order; each exposes RULES. They are imported, not looked up by name, so a lost
# or renamed module stops the pack (the policy server, `make plan`, the tests) instead of silently dropping
# its rules.
MODULES = (aurora, cache, kafka, eks, logs, network, kms_secrets, load_balancers, cloudflare, platform, deploy_reach)


def all_rules() -> list[Rule]:
    rules: list[Rule] = [rule for module in MODULES for rule in module.RULES]
    names = [r.meta.name for r in rules]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"policy names must be unique; repeated: {sorted(duplicates)}")
    return rules
