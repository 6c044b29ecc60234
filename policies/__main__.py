"""The CrossGuard entry point: `pulumi preview --policy-pack policies`. Rules live in guardrails/."""

from pulumi_policy import PolicyPack

from guardrails.registry import all_rules

PolicyPack(
    name="global-platform-guardrails",
    policies=[rule.policy() for rule in all_rules()],
    description="Security, data-loss and platform invariants of the global-platform stacks",
)
