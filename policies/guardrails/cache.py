"""ElastiCache (Valkey/Redis OSS) replication groups in cluster mode: the E rows of docs/guardrails.md.

All of E1..E10 apply; the program creates no stand-alone aws.elasticache.Cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from guardrails.core import (
    MISSING,
    Meta,
    ResourceRule,
    StackRule,
    at_least,
    check,
    equals,
    get,
    is_true,
    present,
)
from guardrails.core import show as _show
from guardrails.network import entries
from guardrails.stack_reads import (
    Finding,
    Reader,
    differ,
    is_prod,
    of_type,
    stable,
)

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def _non_empty_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0


def _authentication(props: Any, _args: ResourceValidationArgs) -> list[str]:
    groups = get(props, "userGroupIds")
    token = get(props, "authToken")
    if _non_empty_list(groups) or (token is not MISSING and token != ""):
        return []
    expect = "must be non-empty, or authToken set (RBAC user group or AUTH token)"
    if groups is MISSING:
        return [f"userGroupIds is not set; it {expect}"]
    return [f"userGroupIds {expect} (got {_show(groups)})"]


def _security_groups(props: Any, _args: ResourceValidationArgs) -> list[str]:
    """At least one group is listed. During a first preview the list's entries are unknown (each the id of a
    group the stack creates: an output of another resource, never a typed-in value), but its length is known,
    and that is what this rule checks. A list unknown as a whole could be empty: it fails closed."""
    groups = entries(props, "securityGroupIds")
    expect = "must list at least one security group (else the VPC's default group applies)"
    if groups is MISSING:
        return [f"securityGroupIds is not set; it {expect}"]
    return [] if _non_empty_list(groups) else [f"securityGroupIds {expect} (got {_show(groups)})"]


RULES: list[ResourceRule | StackRule] = [
    ResourceRule(
        Meta("E1", "elasticache-at-rest-encryption", "ElastiCache replication groups encrypt data at rest",
             Severity.MEDIUM, mandatory=True,
             remediation="Set at_rest_encryption_enabled=True on the aws.elasticache.ReplicationGroup (a change "
                         "replaces the group: plan it with a snapshot restore).",
             mirrors=("ElastiCache.4", "CKV_AWS_29")),
        (REPLICATION_GROUP,), (check("atRestEncryptionEnabled", **is_true()),)),
    ResourceRule(
        Meta("E2", "elasticache-customer-managed-key",
             "ElastiCache replication groups encrypt at rest with a customer-managed KMS key",
             Severity.MEDIUM, mandatory=True,
             remediation="Set kms_key_id on the aws.elasticache.ReplicationGroup to a customer-managed key of its "
                         "region.",
             mirrors=("CKV_AWS_191",)),
        (REPLICATION_GROUP,), (check("kmsKeyId", **present()),)),
    ResourceRule(
        Meta("E3", "elasticache-in-transit-encryption", "ElastiCache replication groups require TLS",
             Severity.MEDIUM, mandatory=True,
             remediation='Set transit_encryption_enabled=True and transit_encryption_mode="required" on the '
                         "aws.elasticache.ReplicationGroup.",
             mirrors=("ElastiCache.5", "CKV_AWS_30")),
        (REPLICATION_GROUP,), (check("transitEncryptionEnabled", **is_true()),
                               check("transitEncryptionMode", **equals("required", wrong="preferred"),
                                     missing_ok=True))),
    ResourceRule(
        Meta("E4", "elasticache-auth", "ElastiCache replication groups require authentication (RBAC or AUTH)",
             Severity.MEDIUM, mandatory=True,
             remediation="Attach an aws.elasticache.UserGroup via user_group_ids (preferred), or set auth_token from "
                         "a secret; transit encryption (E3) must be on for either.",
             mirrors=("ElastiCache.6", "CKV_AWS_31")),
        (REPLICATION_GROUP,), custom=_authentication),
    ResourceRule(
        Meta("E5", "elasticache-automatic-failover", "ElastiCache replication groups fail over automatically",
             Severity.MEDIUM, mandatory=False,
             remediation="Set automatic_failover_enabled=True (needs replicas_per_node_group >= 1).",
             mirrors=("ElastiCache.3", "CKV2_AWS_50")),
        (REPLICATION_GROUP,), (check("automaticFailoverEnabled", **is_true()),)),
    ResourceRule(
        Meta("E6", "elasticache-multi-az", "ElastiCache replication groups are Multi-AZ",
             Severity.MEDIUM, mandatory=False, remediation="Set multi_az_enabled=True on the ReplicationGroup.",
             mirrors=()),
        (REPLICATION_GROUP,), (check("multiAzEnabled", **is_true()),)),
    ResourceRule(
        Meta("E7", "elasticache-backups", "ElastiCache replication groups keep automatic snapshots",
             Severity.HIGH, mandatory=True,
             remediation="Set snapshot_retention_limit to 1..35 days (and a snapshot_window) on the ReplicationGroup.",
             mirrors=("ElastiCache.1",)),
        (REPLICATION_GROUP,), (check("snapshotRetentionLimit", **at_least(1, wrong=0)),)),
    ResourceRule(
        Meta("E8", "elasticache-auto-minor-upgrade", "ElastiCache replication groups take minor upgrades",
             Severity.HIGH, mandatory=False,
             remediation="Leave auto_minor_version_upgrade unset or set it to True on the ReplicationGroup.",
             mirrors=("ElastiCache.2", "CKV_AWS_322")),
        (REPLICATION_GROUP,), (check("autoMinorVersionUpgrade", **is_true(), missing_ok=True),)),
    ResourceRule(
        Meta("E9", "elasticache-subnet-group", "ElastiCache replication groups use their own subnet group",
             Severity.HIGH, mandatory=True,
             remediation="Create an aws.elasticache.SubnetGroup over the private data subnets and set "
                         "subnet_group_name to it (never 'default', which uses the default VPC).",
             mirrors=("ElastiCache.7", "CKV_AWS_323")),
        (REPLICATION_GROUP,), (check("subnetGroupName", test=lambda v: v not in ("", "default"),
                                     expect="must name a subnet group other than 'default'", wrong="default"),)),
    ResourceRule(
        Meta("E10", "elasticache-security-group", "ElastiCache replication groups have a security group attached",
             Severity.MEDIUM, mandatory=True,
             remediation="Set security_group_ids to the cache tier's security group (ingress from the EKS node/pod "
                         "groups only).",
             mirrors=("CKV2_AWS_5",)),
        (REPLICATION_GROUP,), custom=_security_groups),
]


# -------------------------------------------------------------------------------------------- P7 Redis

_RG_CHECKS = (
    check("numNodeGroups", **at_least(1, 0)),
    check("automaticFailoverEnabled", **is_true()),
    check("multiAzEnabled", **is_true()),
)
_RG_PROD_CHECKS = (check("replicasPerNodeGroup", **at_least(1, 0)),)


def _redis_sizing(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    read = Reader()
    found: list[Finding] = []
    groups = of_type(resources, REPLICATION_GROUP)
    for rg in groups:
        for chk in _RG_CHECKS + (_RG_PROD_CHECKS if is_prod(config) else ()):
            found.extend(read.check(rg, chk))
    for path in ("nodeType", "engineVersion"):
        found.extend(differ(f"elasticache ReplicationGroup {path}", [(rg, read(rg, path)) for rg in groups]))
    return read.findings + found


INVARIANTS = [
    StackRule(
        Meta("P7", "platform-redis-sizing",
             "Cluster-mode Valkey/Redis with replicas, failover and Multi-AZ, sized alike in every region",
             Severity.MEDIUM, mandatory=True,
             remediation="Set num_node_groups >= 1, replicas_per_node_group >= 1 (prod), automatic failover and "
                         "Multi-AZ, and the same node_type and engine_version in every region."),
        stable(_redis_sizing)),
]
