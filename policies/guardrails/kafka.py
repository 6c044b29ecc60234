"""Amazon MSK provisioned clusters: the M rows of docs/guardrails.md.

Not implemented: MSK Connect encryption and logging (MSK.3, MSK.5) - the program creates no
aws.mskconnect.Connector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import (
    MISSING,
    Meta,
    ResourceRule,
    StackRule,
    check,
    dependencies,
    dependency,
    equals,
    get,
    present,
)
from guardrails.stack_reads import (
    MSK_CONFIGURATION,
    SUBNET,
    UNKNOWN,
    Finding,
    Reader,
    is_prod,
    of_type,
    stable,
)

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


def _server_properties(text: str) -> dict[str, str]:
    props = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


def _client_subnets(read: Reader, cluster: Any, zones: Mapping[str, Any]) -> tuple[list[Any] | None, list[Any]]:
    """(clientSubnets as read, or None when unsettled; the zone of each that resolves to a subnet of the stack).

    During the first preview the subnet ids are unknown; when the Subnets the engine names for
    brokerNodeGroupInfo are exactly as many as the unknown ids, they are those subnets (their zones are
    inputs). Otherwise an unknown id fails closed.
    """
    path = "brokerNodeGroupInfo.clientSubnets"
    info = read(cluster, "brokerNodeGroupInfo")
    try:
        value = info.get("clientSubnets") if isinstance(info, Mapping) else info  # the list, not its elements
    except UnknownValueError:
        value = read.unknown(cluster, path)
    if value is None or value is MISSING or value is UNKNOWN or isinstance(value, str) \
            or not isinstance(value, Sequence):
        return [], []
    subnets = [read.peek(cluster, f"{path}.{i}") for i in range(len(value))]
    azs = [zones[s] for s in subnets if isinstance(s, str) and s in zones and isinstance(zones[s], str)]
    unknown = [i for i, s in enumerate(subnets) if s is UNKNOWN]
    if not unknown:
        return subnets, azs
    sources = dependencies(cluster, path, SUBNET)
    if len(sources) != len(unknown):
        read.unknown(cluster, path)
        return None, []
    for subnet in sources:
        zone = read(subnet, "availabilityZoneId")
        if isinstance(zone, str):
            azs.append(zone)
    return subnets, azs


def _msk_layout(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    """P6. At the first preview subnet ids and the configuration ARN are unknown: the zones are those of the
    Subnets brokerNodeGroupInfo depends on, the settings those of the msk Configuration configurationInfo does."""
    read = Reader()
    found: list[Finding] = []
    configurations = {arn: c for c in of_type(resources, MSK_CONFIGURATION)
                      if isinstance(arn := read.peek(c, "arn"), str)}
    zones = {sid: read.peek(s, "availabilityZoneId") for s in of_type(resources, SUBNET)
             if isinstance(sid := read.peek(s, "id"), str)}
    for cluster in of_type(resources, MSK_CLUSTER):
        brokers = read(cluster, "numberOfBrokerNodes")
        subnets, azs = _client_subnets(read, cluster, zones)
        if brokers is MISSING:
            found.append((f"{cluster.name}: numberOfBrokerNodes is not set", cluster.urn))
        if not subnets and read(cluster, "brokerNodeGroupInfo.clientSubnets") is MISSING:
            found.append((f"{cluster.name}: brokerNodeGroupInfo.clientSubnets is not set", cluster.urn))
        elif subnets:
            if isinstance(brokers, int) and brokers % len(subnets):
                found.append((f"{cluster.name}: numberOfBrokerNodes {brokers} is not a multiple of the "
                              f"{len(subnets)} brokerNodeGroupInfo.clientSubnets", cluster.urn))
            if is_prod(config) and len(subnets) < 3:
                found.append((f"{cluster.name}: brokerNodeGroupInfo.clientSubnets has {len(subnets)} subnets; prod "
                              "needs at least 3", cluster.urn))
            if len(set(azs)) < len(azs):
                found.append((f"{cluster.name}: brokerNodeGroupInfo.clientSubnets share availability zones "
                              f"({', '.join(azs)}); each must be in its own zone", cluster.urn))
        arn = read.peek(cluster, "configurationInfo.arn")
        if arn is MISSING:
            found.append((f"{cluster.name}: configurationInfo.arn is not set; default.replication.factor and "
                          "min.insync.replicas cannot be verified", cluster.urn))
            continue
        # Unknown during the first preview: the configuration the engine says it comes from.
        configuration = configurations.get(arn) if arn is not UNKNOWN \
            else dependency(cluster, "configurationInfo", MSK_CONFIGURATION)
        if arn is UNKNOWN and configuration is None:
            read.unknown(cluster, "configurationInfo.arn")
            continue
        if configuration is None:
            found.append((f"{cluster.name}: configurationInfo.arn {arn} names no msk Configuration in the stack",
                          cluster.urn))
            continue
        found.extend(_replication_settings(read, cluster, configuration, brokers))
    return read.findings + found


def _replication_settings(read: Reader, cluster: Any, configuration: Any, brokers: Any) -> list[Finding]:
    """default.replication.factor fits the brokers and min.insync.replicas leaves room for a restart."""
    found: list[Finding] = []
    text = read(configuration, "serverProperties")
    if text is UNKNOWN:
        return []
    props = _server_properties(text if isinstance(text, str) else "")
    values: dict[str, int] = {}
    for key in ("default.replication.factor", "min.insync.replicas"):
        raw = props.get(key)
        if raw is None or not raw.isdigit():
            found.append((f"{configuration.name}: serverProperties {key} must be set to a number (got {raw!r})",
                          configuration.urn))
        else:
            values[key] = int(raw)
    rf, isr = values.get("default.replication.factor"), values.get("min.insync.replicas")
    if rf is not None and isinstance(brokers, int) and rf > brokers:
        found.append((f"{configuration.name}: serverProperties default.replication.factor {rf} exceeds the "
                      f"{brokers} brokers of {cluster.name}", configuration.urn))
    if rf is not None and isr is not None and isr >= rf:
        found.append((f"{configuration.name}: serverProperties min.insync.replicas {isr} must be below "
                      f"default.replication.factor {rf}", configuration.urn))
    return found


INVARIANTS = [
    StackRule(
        Meta("P6", "platform-msk-broker-layout",
             "MSK brokers spread evenly over >= 3 zones; replication factor and min ISR leave room for a restart",
             Severity.MEDIUM, mandatory=True,
             remediation="Use a broker count that is a multiple of the client subnets (3 in prod), "
                         "default.replication.factor <= brokers and min.insync.replicas < replication factor."),
        stable(_msk_layout)),
]
