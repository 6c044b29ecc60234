"""Amazon MSK provisioned clusters: reference table 3 (M).

Not implemented: MSK Connect encryption and logging (MSK.3, MSK.5) - the program creates no
aws.mskconnect.Connector.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from guardrails.core import MISSING, Meta, ResourceRule, StackRule, check, equals, get, present

MSK_CLUSTER = "aws:msk/cluster:Cluster"

KAFKA_VERSIONS_KEY = "kafkaVersions"
DEFAULT_KAFKA_VERSIONS = ("3.7.x.kraft", "3.8.x.kraft", "3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft")
BROKER_LOG_SINKS = ("cloudwatchLogs", "firehose", "s3")
PUBLIC_ACCESS = "SERVICE_PROVIDED_EIPS"


def _authentication(props: Any, _args: ResourceValidationArgs) -> list[str]:
    expect = "must enable sasl.iam, sasl.scram or tls.certificateAuthorityArns"
    if get(props, "clientAuthentication") is MISSING:
        return [f"clientAuthentication is not set; it {expect}"]
    authorities = get(props, "clientAuthentication.tls.certificateAuthorityArns")
    if (get(props, "clientAuthentication.sasl.iam") is True or get(props, "clientAuthentication.sasl.scram") is True
            or (authorities is not MISSING and not isinstance(authorities, str) and len(authorities) > 0)):
        return []
    return [f"clientAuthentication {expect} (got none)"]


def _broker_logging(props: Any, _args: ResourceValidationArgs) -> list[str]:
    expect = f"must enable one of {', '.join(BROKER_LOG_SINKS)}"
    if get(props, "loggingInfo.brokerLogs") is MISSING:
        return [f"loggingInfo.brokerLogs is not set; it {expect}"]
    if any(get(props, f"loggingInfo.brokerLogs.{sink}.enabled") is True for sink in BROKER_LOG_SINKS):
        return []
    return [f"loggingInfo.brokerLogs {expect} (got none enabled)"]


def _kafka_version(props: Any, args: ResourceValidationArgs) -> list[str]:
    allowed = tuple((args.get_config() or {}).get(KAFKA_VERSIONS_KEY) or DEFAULT_KAFKA_VERSIONS)
    expect = f"must be one of {', '.join(allowed)}"
    version = get(props, "kafkaVersion")
    if version is MISSING:
        return [f"kafkaVersion is not set; it {expect}"]
    return [] if version in allowed else [f"kafkaVersion {expect} (got {version!r})"]


RULES: list[ResourceRule | StackRule] = [
    ResourceRule(
        Meta("M1", "msk-tls-in-cluster", "MSK brokers encrypt traffic between themselves",
             Severity.MEDIUM, mandatory=True,
             remediation="Leave encryption_info.encryption_in_transit.in_cluster unset or True on the aws.msk.Cluster "
                         "(changing it replaces the cluster).",
             mirrors=("MSK.1", "CKV_AWS_81")),
        (MSK_CLUSTER,), (check("encryptionInfo.encryptionInTransit.inCluster", test=lambda v: v is not False,
                               expect="must not be false", wrong=False, missing_ok=True),)),
    ResourceRule(
        Meta("M2", "msk-tls-client-broker", "MSK clients reach brokers over TLS only",
             Severity.MEDIUM, mandatory=True,
             remediation='Set encryption_info.encryption_in_transit.client_broker="TLS" on the aws.msk.Cluster '
                         "(not TLS_PLAINTEXT or PLAINTEXT).",
             mirrors=("MSK.1", "CKV_AWS_81")),
        (MSK_CLUSTER,), (check("encryptionInfo.encryptionInTransit.clientBroker",
                               **equals("TLS", wrong="TLS_PLAINTEXT")),)),
    ResourceRule(
        Meta("M3", "msk-customer-managed-key", "MSK clusters encrypt at rest with a customer-managed KMS key",
             Severity.MEDIUM, mandatory=True,
             remediation="Set encryption_info.encryption_at_rest_kms_key_arn to a customer-managed key of the "
                         "cluster's region.",
             mirrors=()),
        (MSK_CLUSTER,), (check("encryptionInfo.encryptionAtRestKmsKeyArn", **present()),)),
    ResourceRule(
        Meta("M4", "msk-not-public", "MSK brokers are not publicly accessible",
             Severity.MEDIUM, mandatory=True,
             remediation='Leave broker_node_group_info.connectivity_info.public_access.type unset or "DISABLED".',
             mirrors=("MSK.4", "CKV_AWS_291")),
        (MSK_CLUSTER,), (check("brokerNodeGroupInfo.connectivityInfo.publicAccess.type",
                               test=lambda v: v != PUBLIC_ACCESS, expect=f"must not be {PUBLIC_ACCESS!r}",
                               wrong=PUBLIC_ACCESS, missing_ok=True),)),
    ResourceRule(
        Meta("M5", "msk-authenticated-access", "MSK clusters refuse unauthenticated clients",
             Severity.MEDIUM, mandatory=True,
             remediation="Set client_authentication.unauthenticated=False and enable sasl.iam (as the platform does), "
                         "sasl.scram or tls.certificate_authority_arns.",
             mirrors=("MSK.6",)),
        (MSK_CLUSTER,), (check("clientAuthentication.unauthenticated", test=lambda v: v is not True,
                               expect="must not be true", wrong=True, missing_ok=True),),
        custom=_authentication),
    ResourceRule(
        Meta("M6", "msk-broker-logging", "MSK broker logs are delivered to CloudWatch Logs, Firehose or S3",
             Severity.LOW, mandatory=False,
             remediation="Set logging_info.broker_logs.cloudwatch_logs (enabled=True, log_group) on the "
                         "aws.msk.Cluster.",
             mirrors=("CKV_AWS_80",)),
        (MSK_CLUSTER,), custom=_broker_logging),
    ResourceRule(
        Meta("M7", "msk-enhanced-monitoring", "MSK clusters have enhanced monitoring",
             Severity.MEDIUM, mandatory=False,
             remediation='Set enhanced_monitoring to "PER_BROKER", "PER_TOPIC_PER_BROKER" or '
                         '"PER_TOPIC_PER_PARTITION".',
             mirrors=("MSK.2",)),
        (MSK_CLUSTER,), (check("enhancedMonitoring", test=lambda v: v != "DEFAULT", expect="must not be 'DEFAULT'",
                               wrong="DEFAULT"),)),
    ResourceRule(
        Meta("M8", "msk-kafka-version", "MSK clusters run an allowed Kafka version",
             Severity.MEDIUM, mandatory=False,
             remediation="Set kafka_version to one of the pack's kafkaVersions (policy config); update the allow-list "
                         "when AWS adds or retires versions.",
             mirrors=()),
        (MSK_CLUSTER,), custom=_kafka_version,
        config={KAFKA_VERSIONS_KEY: {"type": "array", "items": {"type": "string"},
                                     "default": list(DEFAULT_KAFKA_VERSIONS),
                                     "description": "allowed MSK kafka_version values"}}),
]
