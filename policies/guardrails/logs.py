"""CloudWatch log groups: every one the program creates is encrypted with a KMS key and expires.

Not only the EKS control-plane group (K5): VPC flow logs, Aurora's exported postgresql logs, the cache's
slow and engine logs, MSK broker logs, the deploy runner's build logs all carry data worth a key, and a
group without retention keeps (and bills) everything forever (CloudWatch's default: never expire).
"""

from __future__ import annotations

from pulumi_policy import Severity

from guardrails.core import Meta, ResourceRule, Rule, check, present

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
# PutRetentionPolicy accepts only these; 0 or absent means never expire.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)

RULES: list[Rule] = [
    ResourceRule(
        Meta("G1", "cloudwatch-log-group-encrypted", "Every CloudWatch log group is encrypted with a KMS key",
             Severity.MEDIUM, mandatory=True,
             remediation="Set kms_key_id on the aws.cloudwatch.LogGroup to the region's log key "
                         "(RegionKeys.logs), whose policy lets logs.<region>.amazonaws.com use it.",
             mirrors=("CKV_AWS_158",)),
        (LOG_GROUP,), (check("kmsKeyId", **present()),)),
    ResourceRule(
        Meta("G2", "cloudwatch-log-group-retention", "Every CloudWatch log group has a retention period",
             Severity.MEDIUM, mandatory=True,
             remediation="Set retention_in_days on the aws.cloudwatch.LogGroup to the manifest's retention for "
                         "what it holds (a value CloudWatch accepts; 0 or unset keeps logs forever).",
             mirrors=("CKV_AWS_66",)),
        (LOG_GROUP,), (check("retentionInDays", test=lambda v: v in RETENTION_DAYS,
                             expect=f"must be one of CloudWatch's retention periods {RETENTION_DAYS[0]}.."
                                    f"{RETENTION_DAYS[-1]} days", wrong=0),)),
]
