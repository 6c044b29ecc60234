"""Every customer-managed KMS key of one region, made by one owner and handed to the components that use them.

One key per purpose (a compromised or disabled key touches one service's data), each with only the service
statements its users need. The keys used to be made by the components themselves; each carries the URNs it
had there as aliases, so moving them here replaces nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.kms import KeySpec, regional_key

# purpose -> the component type that made the key before (its former URNs' type chain, for the aliases).
_FORMER_OWNERS = {"logs": "platform:network:Network", "eks": "platform:eks:EksCluster",
                  "ebs": "platform:eks:EksCluster", "rds": "platform:data:AuroraRegion",
                  "secrets": "platform:data:AuroraRegion", "kafka": "platform:streams:KafkaCluster",
                  "cache": "platform:cache:RedisCluster", "alerts": "platform:observability:AlertTopic"}


@dataclass(frozen=True)
class RegionKeysArgs:
    environment: str
    region: str
    short_code: str
    account_id: str
    protect: bool
    partition: str = "aws"
    # The RegionStamp type these keys' former owners sat under (their URNs' type chain started with it).
    stamp_type: str = "platform:region:RegionStamp"


class RegionKeys(pulumi.ComponentResource):
    """``logs``, ``eks``, ``ebs``, ``rds``, ``secrets``, ``kafka``, ``cache``, ``alerts``, ``backup``: one each."""

    def __init__(self, name: str, args: RegionKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:region:RegionKeys", name, None, opts)
        self.args = args
        a = args
        logs_arn = f"arn:{a.partition}:logs:{a.region}:{a.account_id}:log-group:*"
        self.logs = self._key("logs", "CloudWatch Logs encryption", [{
            "Sid": "CloudWatchLogsOfThisRegionAndAccount", "Effect": "Allow",
            "Principal": {"Service": f"logs.{a.region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": logs_arn}},
        }])
        self.eks = self._key("eks", "EKS secrets envelope encryption")
        self.ebs = self._key("ebs", "EBS volumes of EKS nodes and persistent volumes", [{
            # The AWS-managed aws/ebs key's pattern: any principal of this account, only through EC2 in this
            # region. Covers the Auto Scaling service-linked role launching nodes and the EBS CSI driver.
            "Sid": "EbsThroughEc2OfThisAccount", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
                       "kms:CreateGrant"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": a.account_id,
                                           "kms:ViaService": f"ec2.{a.region}.amazonaws.com"}},
        }])
        self.rds = self._key("rds", "Aurora storage, snapshots and Performance Insights")
        self.secrets = self._key("secrets", "Secrets Manager secrets of the data tier")
        self.kafka = self._key("kafka", "MSK data at rest")
        self.cache = self._key("cache", "ElastiCache data at rest and snapshots")
        # CloudWatch publishes to an encrypted topic only if it may use the topic's key.
        # AWS Backup's vault notifications publish to the same topic.
        self.alerts = self._key("alerts", "SNS alert topic encryption", [{
            "Sid": "CloudWatchAlarmsPublish", "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": a.account_id}},
        }, {
            "Sid": "BackupNotificationsPublish", "Effect": "Allow",
            "Principal": {"Service": "backup.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": a.account_id}},
        }])
        # AWS Backup vault encryption (its recovery points' and copies' key); no former owner, so no aliases.
        self.backup = self._key("backup", "AWS Backup vault of the region's Aurora recovery points and copies")
        self.register_outputs({purpose: getattr(self, purpose).arn for purpose in (*_FORMER_OWNERS, "backup")})

    def _key(self, purpose: str, description: str, statements: list[dict[str, Any]] | None = None) -> aws.kms.Key:
        a = self.args
        label = f"{a.short_code}-{purpose}-key"
        owner = _FORMER_OWNERS.get(purpose)

        def former(resource_type: str) -> list[str]:
            if owner is None:
                return []
            chain = f"{a.stamp_type}${owner}"
            return [f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{chain}${resource_type}::{label}"]
        return regional_key(KeySpec(
            environment=a.environment, region=a.region, short_code=a.short_code, account_id=a.account_id,
            purpose=purpose, description=description, protect=a.protect, partition=a.partition,
            statements=statements or []), pulumi.ResourceOptions(parent=self),
            key_aliases=former("aws:kms/key:Key"), alias_aliases=former("aws:kms/alias:Alias"))
