"""How the platform invariants read a stack: resource types, the fail-closed reader, and helpers they share.

The invariants (P1-P15, TAG1; docs/guardrails.md) are stack policies: each relates several resources (a
PgBouncer config to the Aurora cluster it targets, a global cluster to its members, a subnet to its VPC), and
each lives in the module of the service it guards. Mandatory rules fail closed per resource: a value they read
that is unknown during preview is reported as "<name>: <path> is unknown during preview; failing closed"
rather than skipped.

A stack's first preview knows none of its own computed outputs (ids, ARNs), so an input computed from one is
unknown. Where the engine's property dependencies name the one resource such a value comes from (a subnet's
vpcId -> its Vpc, a kmsKeyId -> its kms Key), the rule checks the relation on that resource instead
(``resolved``, ``guardrails.core.dependency``), and fails closed only when the dependencies do not settle it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from guardrails.core import (
    MISSING,
    Check,
    dependency,
    get,
    region_of,
)

Finding = tuple[str, str | None]

GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
MSK_CLUSTER = "aws:msk/cluster:Cluster"
MSK_CONFIGURATION = "aws:msk/configuration:Configuration"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
CACHE_USER = "aws:elasticache/user:User"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"

APPROVED_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1", "ap-south-1")

REGIONS_SCHEMA = {"approvedRegions": {"type": "array", "items": {"type": "string"},
                                       "description": "the AWS regions the platform may run in"}}

# Instance sizes in capacity order (EC2 naming, shared by db., cache. and kafka. classes).
SIZES = ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge",
          "16xlarge", "24xlarge", "32xlarge", "48xlarge")


# ----------------------------------------------------------------------------------------------- reading


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


class Reader:
    """Reads props; an unknown value becomes UNKNOWN and, for a mandatory rule, one fail-closed finding."""

    def __init__(self, mandatory: bool = True) -> None:
        self.mandatory = mandatory
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str]] = set()

    def unknown(self, resource: Any, path: str) -> Any:
        if self.mandatory and (resource.urn, path) not in self._seen:
            self._seen.add((resource.urn, path))
            self.findings.append((f"{resource.name}: {path} is unknown during preview; failing closed", resource.urn))
        return UNKNOWN

    def peek(self, resource: Any, path: str) -> Any:
        """Like reading, but an unknown value is not a finding (the caller fails closed later if it matters)."""
        try:
            return get(resource.props, path)
        except UnknownValueError:
            return UNKNOWN

    def __call__(self, resource: Any, path: str) -> Any:
        try:
            return get(resource.props, path)
        except UnknownValueError:
            return self.unknown(resource, path)

    def items(self, resource: Any, path: str) -> list[Any]:
        """The elements of a list prop as [value], [] when absent; an unknown list or element is recorded."""
        value = self(resource, path)
        if value is MISSING or value is UNKNOWN or isinstance(value, str) or not isinstance(value, Sequence):
            return []
        return [self(resource, f"{path}.{i}") for i in range(len(value))]

    def region(self, resource: Any) -> Any:
        try:
            return region_of(resource)
        except UnknownValueError:
            return self.unknown(resource, "region")

    def check(self, resource: Any, chk: Check) -> list[Finding]:
        try:
            failure = chk.failure(resource.props)
        except UnknownValueError:
            self.unknown(resource, chk.path)
            return []
        return [(f"{resource.name}: {failure}", resource.urn)] if failure else []


def of_type(resources: Iterable[Any], *types: str) -> list[Any]:
    return [r for r in resources if r.resource_type in types]


def is_known(*values: Any) -> bool:
    return all(v is not MISSING and v is not UNKNOWN for v in values)


def approved_regions(config: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(config.get("approvedRegions") or APPROVED_REGIONS)


def is_prod(config: Mapping[str, Any]) -> bool:
    return str(config.get("environment") or "") == "prod"


def size_rank(instance_class: Any) -> int | None:
    """The capacity rank of an instance class's size (db.r7g.2xlarge -> rank of 2xlarge), None if unknown."""
    if not isinstance(instance_class, str):
        return None
    size = instance_class.rsplit(".", 1)[-1]
    return SIZES.index(size) if size in SIZES else None


def differ(label: str, values: Sequence[tuple[Any, Any]]) -> list[Finding]:
    """One finding when the known values of (resource, value) pairs are not all equal."""
    known = [(r, v) for r, v in values if is_known(v)]
    if len({json.dumps(v, sort_keys=True, default=str) for _, v in known}) <= 1:
        return []
    shown = ", ".join(f"{r.name} {v!r} ({region_name(r)})" for r, v in known)
    return [(f"{label} differs across regions: {shown}", None)]


def region_name(resource: Any) -> str:
    try:
        return str(region_of(resource))
    except UnknownValueError:
        return "unknown region"


def k8s_region(resource: Any, read: Reader) -> Any:
    """A Kubernetes resource's AWS region: its provider's region, else the region in its kubeconfig."""
    region = read.region(resource)
    if region is not None:
        return region
    provider = getattr(resource, "provider", None)
    if provider is None:
        return None
    kubeconfig = get(provider.props, "kubeconfig")
    if isinstance(kubeconfig, str):
        found = re.search(r"--region\W+([a-z]{2}(?:-[a-z]+)+-\d)", kubeconfig) \
            or re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.eks\.amazonaws\.com", kubeconfig)
        if found:
            return found.group(1)
    return f"<cluster of {provider.name}>"


def k8s_name(resource: Any, read: Reader) -> Any:
    return read(resource, "metadata.name")


def data_entry(read: Reader, cm: Any, key: str) -> Any:
    """A ConfigMap's data[key]: the text, MISSING, or UNKNOWN (recorded)."""
    data = read(cm, "data")
    if data is UNKNOWN or not isinstance(data, Mapping):
        return data if data is UNKNOWN else MISSING
    try:
        value = data.get(key, MISSING)
    except UnknownValueError:
        return read.unknown(cm, f'data["{key}"]')
    return value if isinstance(value, str) else MISSING



def resolved(read: Reader, resource: Any, path: str, source_type: str, source_path: str) -> Any:
    """The value at path; when it is unknown (a computed output during preview), source_path of the one
    source_type resource the engine says it came from (a member's globalClusterIdentifier -> its
    GlobalCluster's globalClusterIdentifier input, an instance's clusterIdentifier -> its cluster's). Fails
    closed (UNKNOWN, recorded) when the dependencies do not settle it or the source's value is unknown too.
    """
    value = read.peek(resource, path)
    if value is not UNKNOWN:
        return value
    source = dependency(resource, path, source_type)
    own = read.peek(source, source_path) if source is not None else UNKNOWN
    return own if is_known(own) else read.unknown(resource, path)


def global_id(read: Reader, cluster: Any) -> Any:
    return resolved(read, cluster, "globalClusterIdentifier", GLOBAL_CLUSTER, "globalClusterIdentifier")


def global_members(read: Reader, resources: Sequence[Any]) -> list[tuple[Any, Any, list[Any]]]:
    """[(global cluster, its globalClusterIdentifier, member clusters)]."""
    clusters = of_type(resources, CLUSTER)
    result = []
    for gc in of_type(resources, GLOBAL_CLUSTER):
        gid = read(gc, "globalClusterIdentifier")
        members = [c for c in clusters if is_known(gid) and global_id(read, c) == gid]
        result.append((gc, gid, members))
    return result


def is_primary(read: Reader, cluster: Any) -> bool | None:
    value = read(cluster, "masterUsername")
    return None if value is UNKNOWN else value is not MISSING and value != ""


_Check = Callable[[Sequence[Any], Mapping[str, Any]], list[Finding]]


def stable(check_fn: _Check) -> _Check:
    """The check over the resources in name order, so findings and their wording never depend on plan order."""

    def ordered(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
        return check_fn(sorted(resources, key=lambda r: (r.name, r.resource_type, r.urn)), config)

    ordered.__name__ = check_fn.__name__
    ordered.__doc__ = check_fn.__doc__
    return ordered
