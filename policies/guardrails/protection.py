"""P8: the prod stateful services (Aurora, MSK, ElastiCache, EKS, KMS, Secrets, load balancers) are protected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Severity

from guardrails.core import (
    Check,
    Meta,
    StackRule,
    at_least,
    check,
    equals,
    is_true,
    present,
)
from guardrails.stack_reads import (
    CLUSTER,
    EKS_CLUSTER,
    GLOBAL_CLUSTER,
    INSTANCE,
    KMS_KEY,
    LOAD_BALANCER,
    MSK_CLUSTER,
    REPLICATION_GROUP,
    SECRET,
    Finding,
    Reader,
    is_prod,
    stable,
)

# ------------------------------------------------------------------------------------ P8 protection

_PROTECTED = (GLOBAL_CLUSTER, CLUSTER, INSTANCE, MSK_CLUSTER, REPLICATION_GROUP, EKS_CLUSTER, KMS_KEY, SECRET)
_PROTECTION_CHECKS: dict[str, tuple[Check, ...]] = {
    GLOBAL_CLUSTER: (check("deletionProtection", **is_true()),),
    CLUSTER: (check("deletionProtection", **is_true()),
              check("skipFinalSnapshot", test=lambda v: v is False, expect="must be false", wrong=True,
                    missing_ok=True),
              check("finalSnapshotIdentifier", **present())),
    EKS_CLUSTER: (check("deletionProtection", **is_true()),),
    REPLICATION_GROUP: (check("finalSnapshotIdentifier", **present()),),
    KMS_KEY: (check("deletionWindowInDays", **equals(30, 7), missing_ok=True),),
    SECRET: (check("recoveryWindowInDays", **at_least(7, 0), missing_ok=True),),
    LOAD_BALANCER: (check("enableDeletionProtection", **is_true()),),
}


def _prod_protection(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    if not is_prod(config):
        return []
    read = Reader()
    found: list[Finding] = []
    for resource in resources:
        if resource.resource_type in _PROTECTED and not resource.opts.protect:
            found.append((f"{resource.name}: opts.protect must be true (got {resource.opts.protect!r})",
                          resource.urn))
        for chk in _PROTECTION_CHECKS.get(resource.resource_type, ()):
            found.extend(read.check(resource, chk))
    return read.findings + found


INVARIANTS = [
    StackRule(
        Meta("P8", "platform-prod-stateful-protected",
             "Prod stateful resources are protected against deletion by Pulumi and by AWS", Severity.CRITICAL,
             mandatory=True,
             remediation="Set protect=True on the resource options and the provider-level protection: "
                         "deletion_protection, skip_final_snapshot=False with a final_snapshot_identifier, KMS "
                         "deletion_window_in_days=30, Secrets recovery_window_in_days>=7, LB "
                         "enable_deletion_protection."),
        stable(_prod_protection)),
]
