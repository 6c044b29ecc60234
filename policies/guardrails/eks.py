"""EKS clusters, node groups, launch templates, add-ons and control-plane logs: the K rows of docs/guardrails.md.

All of K1..K14 apply (K1 and K2 are one rule; K5 is split into retention and encryption; K9 is a stack rule
over node groups and subnets plus a launch-template rule).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import (
    MISSING,
    Meta,
    ResourceRule,
    StackRule,
    at_least,
    check,
    equals,
    get,
    is_false,
    is_true,
    one_of,
    present,
    region_of,
)
from guardrails.core import (
    show as _show,
)
from guardrails.network import UNKNOWN_ENTRY, entries, known_id

EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SUBNET = "aws:ec2/subnet:Subnet"

WORLD = ("0.0.0.0/0", "::/0")
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CONTROL_PLANE_LOG_GROUP = "/aws/eks/*/cluster"
KUBERNETES_VERSIONS_KEY = "kubernetesVersions"
DEFAULT_KUBERNETES_VERSIONS = ("1.34", "1.35")




def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _is_true(value: Any) -> bool:
    """The AWS provider types some booleans of launch templates as strings ("true")."""
    return value is True or value == "true"


def _control_plane_log_group(props: Any) -> bool:
    name = get(props, "name")
    return isinstance(name, str) and fnmatch.fnmatchcase(name, CONTROL_PLANE_LOG_GROUP)


# --- custom checks -----------------------------------------------------------------------------------------

def _endpoint(props: Any, _args: ResourceValidationArgs) -> list[str]:
    public = get(props, "vpcConfig.endpointPublicAccess")
    if public is False:
        return []
    state = "true" if public is not MISSING else "not set (AWS defaults it to true)"
    cidrs = get(props, "vpcConfig.publicAccessCidrs")
    if cidrs is MISSING or (_is_list(cidrs) and len(cidrs) == 0):
        return [f"vpcConfig.endpointPublicAccess is {state} and vpcConfig.publicAccessCidrs is not set, so AWS "
                f"opens the endpoint to 0.0.0.0/0; it must be false or limited to specific CIDRs"]
    if isinstance(cidrs, str) or any(c in WORLD for c in cidrs):
        return [f"vpcConfig.publicAccessCidrs must not include 0.0.0.0/0 or ::/0 while the public endpoint is on "
                f"(got {_show(cidrs)})"]
    return []


def _secrets_resources(props: Any, _args: ResourceValidationArgs) -> list[str]:
    resources = get(props, "encryptionConfig.resources")
    expect = "must be ['secrets']"
    if resources is MISSING:
        return [f"encryptionConfig.resources is not set; it {expect}"]
    if _is_list(resources) and list(resources) == ["secrets"]:
        return []
    return [f"encryptionConfig.resources {expect} (got {_show(resources)})"]


def _log_types(props: Any, _args: ResourceValidationArgs) -> list[str]:
    types = get(props, "enabledClusterLogTypes")
    expect = f"must include {', '.join(LOG_TYPES)}"
    if types is MISSING:
        return [f"enabledClusterLogTypes is not set; it {expect}"]
    if _is_list(types) and set(LOG_TYPES) <= set(types):
        return []
    return [f"enabledClusterLogTypes {expect} (got {_show(types)})"]


def _kubernetes_version(props: Any, args: ResourceValidationArgs) -> list[str]:
    allowed = tuple((args.get_config() or {}).get(KUBERNETES_VERSIONS_KEY) or DEFAULT_KUBERNETES_VERSIONS)
    expect = f"must be one of {', '.join(allowed)}"
    version = get(props, "version")
    if version is MISSING:
        return [f"version is not set; it {expect}"]
    return [] if version in allowed else [f"version {expect} (got {version!r})"]


def _network_policy(props: Any, _args: ResourceValidationArgs) -> list[str]:
    if get(props, "addonName") != "vpc-cni":
        return []
    expect = "must be 'true'"
    raw = get(props, "configurationValues")
    if raw is MISSING:
        return [f"configurationValues is not set; its enableNetworkPolicy {expect}"]
    try:
        values = json.loads(raw)
    except (TypeError, ValueError):
        return [f"configurationValues must be JSON with enableNetworkPolicy 'true' (got {_show(raw)})"]
    setting = values.get("enableNetworkPolicy", MISSING) if isinstance(values, dict) else MISSING
    if setting is MISSING:
        return [f"configurationValues.enableNetworkPolicy is not set; it {expect}"]
    return [] if setting == "true" else [f"configurationValues.enableNetworkPolicy {expect} (got {setting!r})"]


def _ssh_sources(props: Any, _args: ResourceValidationArgs) -> list[str]:
    if get(props, "remoteAccess.ec2SshKey") is MISSING:
        return []
    expect = "must be set when remoteAccess.ec2SshKey is (else SSH is open to 0.0.0.0/0)"
    groups = get(props, "remoteAccess.sourceSecurityGroupIds")
    if groups is MISSING:
        return [f"remoteAccess.sourceSecurityGroupIds is not set; it {expect}"]
    return [] if _is_list(groups) and len(groups) > 0 else \
        [f"remoteAccess.sourceSecurityGroupIds {expect} (got {_show(groups)})"]


def _no_public_ip(props: Any, _args: ResourceValidationArgs) -> list[str]:
    interfaces = get(props, "networkInterfaces")
    if not _is_list(interfaces):
        return []
    failures = []
    for i, interface in enumerate(interfaces):
        value = get(interface, "associatePublicIpAddress")
        if _is_true(value):
            failures.append(f"networkInterfaces.{i}.associatePublicIpAddress must not be true (got {_show(value)})")
    return failures


def _ebs_encrypted(props: Any, _args: ResourceValidationArgs) -> list[str]:
    """Every EBS volume is encrypted (a literal, so an unknown ``encrypted`` fails closed) with a key set.

    During a first preview ``ebs.kmsKeyId`` is unknown: it is computed from the region's EBS key, an output of
    another resource. An unknown value cannot be a typed-in literal, so it counts as set, as the presence checks
    of core.present() accept it; a missing or empty key is reported in every plan.
    """
    mappings = get(props, "blockDeviceMappings")
    expect = "must define the root volume with ebs.encrypted 'true' and ebs.kmsKeyId (the AMI's may be unencrypted)"
    if mappings is MISSING:
        return [f"blockDeviceMappings is not set; it {expect}"]
    volumes = [(i, get(m, "ebs")) for i, m in enumerate(mappings)]
    volumes = [(i, ebs) for i, ebs in volumes if ebs is not MISSING]  # instance-store / no_device entries
    if not volumes:
        return [f"blockDeviceMappings {expect} (got no EBS volume)"]
    failures = []
    for i, ebs in volumes:
        encrypted = get(ebs, "encrypted")
        if encrypted is MISSING:
            failures.append(f"blockDeviceMappings.{i}.ebs.encrypted is not set; it must be 'true'")
        elif not _is_true(encrypted):
            failures.append(f"blockDeviceMappings.{i}.ebs.encrypted must be 'true' (got {_show(encrypted)})")
        try:
            key = get(ebs, "kmsKeyId")
        except UnknownValueError:
            continue  # an output of another resource (the region's EBS key): set, as K3's present() accepts
        if key in (MISSING, ""):
            failures.append(f"blockDeviceMappings.{i}.ebs.kmsKeyId is not set; it must be a customer-managed key")
    return failures


# --- stack checks ------------------------------------------------------------------------------------------

def _private_nodes(resources: Sequence[Any], _config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """Every subnet a node group is placed in is a private subnet of the stack.

    A subnet id known in the plan is looked up among the stack's subnets. During a first preview the ids are
    unknown (the subnets do not exist yet): an unknown id is resolved through the engine's property
    dependencies of ``subnetIds``, and each subnet resource it comes from must be private. An unknown id with no
    subnet of the stack among its dependencies (or an unknown list) cannot be verified and fails closed.
    """
    subnets = {(region_of(r), sid): r for r in resources
               if r.resource_type == SUBNET and (sid := known_id(r)) is not None}
    failures: list[tuple[str, str | None]] = []

    def check_subnet(group: Any, subnet: Any, shown: str) -> None:
        if get(subnet.props, "mapPublicIpOnLaunch") is True:
            failures.append((f"{group.name}: subnet {subnet.name} ({shown}) has mapPublicIpOnLaunch true; "
                             f"node groups must use private subnets", group.urn))
        elif get(subnet.props, "tags.tier") == "public":
            failures.append((f"{group.name}: subnet {subnet.name} ({shown}) is tagged tier=public; "
                             f"node groups must use private subnets", group.urn))

    for group in (r for r in resources if r.resource_type == NODE_GROUP):
        try:
            listed = entries(group.props, "subnetIds")
        except UnknownValueError:
            listed = None
        ids = None if listed is None else [] if listed is MISSING else \
            [None if v is UNKNOWN_ENTRY else str(v) for v in listed]
        dependencies = (getattr(group, "property_dependencies", None) or {}).get("subnetIds") or []
        if ids is None or (None in ids and not dependencies):
            failures.append((f"{group.name}: subnetIds is unknown during preview; failing closed", group.urn))
            continue
        if len(ids) == 0:
            failures.append((f"{group.name}: subnetIds is not set; it must list the stack's private subnets",
                             group.urn))
            continue
        for subnet_id in (i for i in ids if i is not None):
            subnet = subnets.get((region_of(group), subnet_id))
            if subnet is None:
                failures.append((f"{group.name}: subnet {subnet_id} is not a subnet of this stack, so it cannot be "
                                 f"verified private", group.urn))
            else:
                check_subnet(group, subnet, subnet_id)
        if None not in ids:
            continue
        # Unknown ids: the engine says which resources they were computed from.
        for source in sorted(dependencies, key=lambda d: d.urn):
            if source.resource_type == SUBNET:
                check_subnet(group, source, "id unknown during preview")
            else:
                failures.append((f"{group.name}: subnetIds depends on {source.name} ({source.resource_type}), not "
                                 f"a subnet of this stack, so it cannot be verified private", group.urn))
    return failures


RULES: list[ResourceRule | StackRule] = [
    ResourceRule(
        Meta("K1", "eks-endpoint-not-public",
             "The EKS API endpoint is private, or public only to specific CIDRs (K1 and K2)",
             Severity.CRITICAL, mandatory=True,
             remediation="Set vpc_config.endpoint_public_access=False and endpoint_private_access=True on the "
                         "aws.eks.Cluster; if a public endpoint is unavoidable, set public_access_cidrs to the "
                         "operators' ranges (never 0.0.0.0/0 or ::/0).",
             mirrors=("EKS.1", "CKV_AWS_39", "CKV_AWS_38", "CIS-EKS 5.4.1", "CIS-EKS 5.4.2")),
        (EKS_CLUSTER,), custom=_endpoint),
    ResourceRule(
        Meta("K3", "eks-secrets-encryption", "EKS envelope-encrypts Kubernetes secrets with a KMS key",
             Severity.HIGH, mandatory=True,
             remediation='Set encryption_config={resources: ["secrets"], provider: {key_arn: <CMK of the region>}} on '
                         "the aws.eks.Cluster.",
             mirrors=("EKS.3", "CKV_AWS_58", "CIS-EKS 5.3.1")),
        (EKS_CLUSTER,), (check("encryptionConfig.provider.keyArn", **present()),), custom=_secrets_resources),
    ResourceRule(
        Meta("K4", "eks-control-plane-logging", "EKS clusters send all five control-plane log types (incl. audit)",
             Severity.MEDIUM, mandatory=True,
             remediation="Set enabled_cluster_log_types to api, audit, authenticator, controllerManager, scheduler.",
             mirrors=("EKS.8", "CKV_AWS_37", "CIS-EKS 2.1.1")),
        (EKS_CLUSTER,), custom=_log_types),
    ResourceRule(
        Meta("K5", "eks-control-plane-log-retention", "EKS control-plane log groups keep logs for at least a year",
             Severity.LOW, mandatory=False,
             remediation="Create the /aws/eks/<cluster>/cluster aws.cloudwatch.LogGroup before the cluster with "
                         "retention_in_days >= 365. Advisory: dev keeps 30 days on purpose.",
             mirrors=("CKV_AWS_66", "CKV_AWS_338", "CIS-EKS 2.1.2")),
        (LOG_GROUP,), (check("retentionInDays", **at_least(365, wrong=30), when=_control_plane_log_group),)),
    ResourceRule(
        Meta("K5", "eks-control-plane-log-encrypted", "EKS control-plane log groups are encrypted with a KMS key",
             Severity.MEDIUM, mandatory=True,
             remediation="Set kms_key_id on the /aws/eks/<cluster>/cluster aws.cloudwatch.LogGroup to a key whose "
                         "policy lets logs.<region>.amazonaws.com use it.",
             mirrors=("CKV_AWS_158", "CIS-EKS 2.1.2")),
        (LOG_GROUP,), (check("kmsKeyId", **present(), when=_control_plane_log_group),)),
    ResourceRule(
        Meta("K6", "eks-version", "EKS clusters run an allowed Kubernetes version",
             Severity.HIGH, mandatory=False,
             remediation="Set version on the aws.eks.Cluster (and its node groups) to one of the pack's "
                         "kubernetesVersions (policy config); move the allow-list as EKS standard support moves.",
             mirrors=("EKS.2", "CKV_AWS_339")),
        (EKS_CLUSTER,), custom=_kubernetes_version,
        config={KUBERNETES_VERSIONS_KEY: {"type": "array", "items": {"type": "string"},
                                          "default": list(DEFAULT_KUBERNETES_VERSIONS),
                                          "description": "allowed EKS Kubernetes versions"}}),
    ResourceRule(
        Meta("K7", "eks-deletion-protection", "Prod EKS clusters have deletion protection",
             Severity.HIGH, mandatory=True,
             remediation="Set deletion_protection=True on the prod aws.eks.Cluster.", mirrors=()),
        (EKS_CLUSTER,), (check("deletionProtection", **is_true()),), prod_only=True),
    ResourceRule(
        Meta("K8", "eks-network-policy", "The vpc-cni add-on enforces Kubernetes NetworkPolicies",
             Severity.HIGH, mandatory=True,
             remediation='Set configuration_values=json.dumps({"enableNetworkPolicy": "true", ...}) on the vpc-cni '
                         "aws.eks.Addon.",
             mirrors=("CIS-EKS 5.4.4",)),
        (ADDON,), custom=_network_policy),
    StackRule(
        Meta("K9", "eks-private-nodes", "EKS node groups run only in private subnets",
             Severity.HIGH, mandatory=True,
             remediation="Set subnet_ids of every aws.eks.NodeGroup to the stack's private subnets (tier=private, "
                         "map_public_ip_on_launch=False).",
             mirrors=("EC2.15", "CKV_AWS_130", "CIS-EKS 5.4.3")),
        _private_nodes),
    ResourceRule(
        Meta("K9", "eks-launch-template-no-public-ip", "Node launch templates do not assign public IPs",
             Severity.HIGH, mandatory=True,
             remediation="Remove associate_public_ip_address (or set it False) in the launch template's "
                         "network_interfaces.",
             mirrors=("EC2.25", "CKV_AWS_88", "CIS-EKS 5.4.3")),
        (LAUNCH_TEMPLATE,), custom=_no_public_ip),
    ResourceRule(
        Meta("K10", "eks-node-group-ssh-restricted", "Node groups with an SSH key restrict SSH sources",
             Severity.MEDIUM, mandatory=True,
             remediation="Drop remote_access from the aws.eks.NodeGroup (use SSM), or set "
                         "remote_access.source_security_group_ids next to ec2_ssh_key.",
             mirrors=("CKV_AWS_100",)),
        (NODE_GROUP,), custom=_ssh_sources),
    ResourceRule(
        Meta("K11", "eks-launch-template-imdsv2", "Node launch templates require IMDSv2",
             Severity.LOW, mandatory=True,
             remediation='Set metadata_options.http_tokens="required" in the aws.ec2.LaunchTemplate.',
             mirrors=("EC2.170", "CKV_AWS_79", "CIS-AWS 6.7")),
        (LAUNCH_TEMPLATE,), (check("metadataOptions.httpTokens", **equals("required", wrong="optional")),)),
    ResourceRule(
        Meta("K12", "eks-launch-template-imds-hop-limit",
             "Node launch templates keep IMDS away from pods (hop limit 1)",
             Severity.MEDIUM, mandatory=True,
             remediation="Set metadata_options.http_put_response_hop_limit=1 in the aws.ec2.LaunchTemplate; give pods "
                         "AWS access through Pod Identity or IRSA.",
             mirrors=("CKV_AWS_341",)),
        (LAUNCH_TEMPLATE,), (check("metadataOptions.httpPutResponseHopLimit", **equals(1, wrong=2)),)),
    ResourceRule(
        Meta("K13", "eks-launch-template-ebs-encrypted", "Node volumes are EBS-encrypted with a customer-managed key",
             Severity.MEDIUM, mandatory=True,
             remediation='In every block_device_mappings entry of the aws.ec2.LaunchTemplate set ebs.encrypted="true" '
                         "and ebs.kms_key_id to a key of the region.",
             mirrors=("EC2.181",)),
        (LAUNCH_TEMPLATE,), custom=_ebs_encrypted),
    ResourceRule(
        Meta("K14", "eks-access-management", "EKS access is managed with IAM access entries",
             Severity.MEDIUM, mandatory=True,
             remediation='Set access_config.authentication_mode="API" (or "API_AND_CONFIG_MAP" while migrating) and '
                         "bootstrap_cluster_creator_admin_permissions=False; grant access with aws.eks.AccessEntry.",
             mirrors=("CIS-EKS 5.5.1",)),
        (EKS_CLUSTER,), (check("accessConfig.authenticationMode", **one_of(("API", "API_AND_CONFIG_MAP"),
                                                                              wrong="CONFIG_MAP")),
                         check("accessConfig.bootstrapClusterCreatorAdminPermissions", **is_false()))),
]
