"""Every rule of the pack, in the order the README table lists them."""

from __future__ import annotations

import re

from guardrails import (
    address_plan,
    aurora,
    cache,
    cloudflare,
    cost,
    credentials,
    deploy_reach,
    eks,
    kafka,
    kms_secrets,
    load_balancers,
    logs,
    network,
    pgbouncer,
    protection,
    region_parity,
    shard_map,
    tags,
    tier_reachability,
)
from guardrails.core import Rule

# Modules by service, in table order; each exposes RULES. They are imported, not looked up by name, so a lost
# or renamed module stops the pack (the policy server, `make plan`, the tests) instead of silently dropping
# its rules.
MODULES = (aurora, cache, kafka, eks, logs, network, kms_secrets, load_balancers, cloudflare)
# The platform invariants (P1-P15, TAG1) relate several resources; each lives with the service it guards and
# is exposed as INVARIANTS. The table lists them together, by id, after the service rules.
INVARIANT_MODULES = (pgbouncer, shard_map, aurora, kms_secrets, kafka, cache, protection, cost, region_parity,
                     address_plan, tier_reachability, credentials, tags)
LAST = (deploy_reach,)


def _by_id(rule: Rule) -> tuple[str, int]:
    letters, number = re.fullmatch(r"([A-Z]+)(\d+)", rule.meta.id).groups()  # type: ignore[union-attr]
    return letters, int(number)


def invariants() -> list[Rule]:
    return sorted((rule for module in INVARIANT_MODULES for rule in module.INVARIANTS), key=_by_id)


def all_rules() -> list[Rule]:
    rules: list[Rule] = [*(rule for module in MODULES for rule in module.RULES), *invariants(),
                         *(rule for module in LAST for rule in module.RULES)]
    names = [r.meta.name for r in rules]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"policy names must be unique; repeated: {sorted(duplicates)}")
    return rules
