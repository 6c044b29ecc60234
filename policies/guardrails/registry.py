"""Every rule of the pack, in the order the README table lists them."""

from __future__ import annotations

import importlib

from guardrails.core import Rule

# Modules by service; each exposes RULES.
MODULES = ("aurora", "cache", "kafka", "eks", "network", "kms_secrets", "load_balancers", "cloudflare", "platform")


def all_rules() -> list[Rule]:
    rules: list[Rule] = []
    for module in MODULES:
        try:
            loaded = importlib.import_module(f"guardrails.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"guardrails.{module}":
                raise
            continue
        rules.extend(loaded.RULES)
    names = [r.meta.name for r in rules]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"policy names must be unique; repeated: {sorted(duplicates)}")
    return rules
