"""Aurora PostgreSQL (global databases, clusters, instances, parameter groups): reference table A."""

from __future__ import annotations

from pulumi_policy import Severity

from guardrails.core import Meta, ResourceRule, check, is_true

GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"

RULES = [
    ResourceRule(
        Meta("A1", "aurora-global-cluster-encrypted", "Aurora global clusters encrypt storage",
             Severity.HIGH, mandatory=True, remediation="Set storage_encrypted=True on the GlobalCluster.",
             mirrors=("CKV_AWS_140",)),
        (GLOBAL_CLUSTER,), (check("storageEncrypted", **is_true()),)),
    ResourceRule(
        Meta("A2", "aurora-cluster-storage-encrypted", "Aurora clusters encrypt storage", Severity.HIGH,
             mandatory=True, remediation="Set storage_encrypted=True and a kms_key_id of the cluster's region.",
             mirrors=("RDS.27", "CKV_AWS_96")),
        (CLUSTER,), (check("storageEncrypted", **is_true()),)),
    ResourceRule(
        Meta("A14", "aurora-instance-not-public", "Aurora instances are never publicly accessible",
             Severity.CRITICAL, mandatory=True, remediation="Set publicly_accessible=False on the ClusterInstance.",
             mirrors=("RDS.2", "CKV_AWS_17", "CIS-AWS 3.2.3")),
        (INSTANCE,), (check("publiclyAccessible", test=lambda v: v is not True, expect="must not be true",
                            wrong=True, missing_ok=True),)),
]
