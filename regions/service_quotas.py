"""Service Quotas the platform consumes: each quota's code, its documented default and where it was read.

`make preflight` asks Service Quotas for the applied value of each code and falls back to these defaults only
when the service has no value to give. Sources (checked 2026-11):

- Amazon VPC user guide, "Amazon VPC quotas": VPCs per Region 5 (vpc/L-F678F1CE), Elastic IP addresses per
  Region 5 (ec2/L-0263D0A3, "EC2-VPC Elastic IPs"), NAT gateways per Availability Zone 5 (vpc/L-FE5A380F; pending,
  active and deleting gateways count).
- Aurora user guide, "Quotas and constraints for Amazon Aurora": DB clusters (rds/L-952B80B8), DB instances
  (rds/L-7B6409FD) and DB subnet groups (rds/L-48C6BF61); the defaults are in ``rds_facts`` (ap-south-1 is lower).
- AWS General Reference, "Amazon EKS endpoints and quotas": Clusters 100 (eks/L-1194D53C), Managed node groups
  per cluster 30 (eks/L-6D54EA21).
- AWS General Reference, "Amazon MSK endpoints and quotas": Number of brokers per account 90 (kafka/L-EDD31C36),
  Number of brokers per KRaft cluster 60 (kafka/L-03FD6822), Number of replicators per account 15
  (kafka/L-8F940D28); all "per supported Region".
- ElastiCache user guide, "Quotas for ElastiCache": Nodes per Region 300, Nodes per cluster per instance type
  (cluster mode enabled) 90. NOT CONFIRMED: the quota codes elasticache/L-DFE45DF3 and L-AF354865 come from
  third-party tooling only, no AWS page read here shows them. A wrong code makes Service Quotas answer "no such
  resource" and preflight falls back to the documented default, saying so; check the codes with
  ``aws service-quotas list-service-quotas --service-code elasticache`` before requesting an increase.
- Amazon EKS user guide, "Amazon EKS service quotas": Nodes per managed node group 450 (adjustable). NOT
  CONFIRMED: the code eks/L-BD136A63 was not seen on an AWS page read here (same fallback as above).
- Amazon EC2 user guide, "On-Demand Instance quotas": vCPUs of running On-Demand Standard (A, C, D, H, I, M, R,
  T, Z) instances, ec2/L-1216C47A, counted per Region over every instance of those families, in vCPUs. Code,
  name and the AWS default of 5 as in the AWS CLI user guide's service-quotas example
  (``aws service-quotas get-aws-default-service-quota --service-code ec2 --quota-code L-1216C47A``); the
  applied value differs per account, and preflight reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from regions.cache_facts import NODES_PER_CLUSTER_QUOTA
from regions.kafka_facts import BROKERS_PER_CLUSTER, REPLICATORS_PER_REGION
from regions.rds_facts import DEFAULT_RDS_QUOTAS, RDS_QUOTAS

# What one unit of the quota is counted over: the whole Region, each Availability Zone, or one cluster.
Scope = Literal["region", "zone", "cluster"]


@dataclass(frozen=True)
class QuotaFact:
    service_code: str
    quota_code: str
    name: str  # as the Service Quotas console names it
    default: int
    scope: Scope
    code_confirmed: bool = True  # False: the code was not seen on an AWS page (see the module docstring)
    # Left out of the hash (a mapping is unhashable) so facts can key dicts; equality still compares it.
    regional_defaults: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def default_in(self, region: str) -> int:
        return self.regional_defaults.get(region, self.default)


def _rds_defaults(kind: str) -> Mapping[str, int]:
    return MappingProxyType({region: getattr(quotas, kind) for region, quotas in RDS_QUOTAS.items()})


VPCS = QuotaFact("vpc", "L-F678F1CE", "VPCs per Region", 5, "region")
ELASTIC_IPS = QuotaFact("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5, "region")
NAT_GATEWAYS_PER_ZONE = QuotaFact("vpc", "L-FE5A380F", "NAT gateways per Availability Zone", 5, "zone")
RDS_CLUSTERS = QuotaFact("rds", "L-952B80B8", "DB clusters", DEFAULT_RDS_QUOTAS.clusters, "region",
                         regional_defaults=_rds_defaults("clusters"))
RDS_INSTANCES = QuotaFact("rds", "L-7B6409FD", "DB instances", DEFAULT_RDS_QUOTAS.instances, "region",
                          regional_defaults=_rds_defaults("instances"))
RDS_SUBNET_GROUPS = QuotaFact("rds", "L-48C6BF61", "DB subnet groups", DEFAULT_RDS_QUOTAS.subnet_groups, "region",
                              regional_defaults=_rds_defaults("subnet_groups"))
EKS_CLUSTERS = QuotaFact("eks", "L-1194D53C", "Clusters", 100, "region")
EKS_NODE_GROUPS = QuotaFact("eks", "L-6D54EA21", "Managed node groups per cluster", 30, "cluster")
MSK_BROKERS = QuotaFact("kafka", "L-EDD31C36", "Number of brokers per account", 90, "region")
MSK_BROKERS_PER_CLUSTER = QuotaFact("kafka", "L-03FD6822", "Number of brokers per KRaft cluster",
                                    BROKERS_PER_CLUSTER, "cluster")
MSK_REPLICATORS = QuotaFact("kafka", "L-8F940D28", "Number of replicators per account", REPLICATORS_PER_REGION,
                            "region")
CACHE_NODES = QuotaFact("elasticache", "L-DFE45DF3", "Nodes per Region", 300, "region", code_confirmed=False)
CACHE_NODES_PER_CLUSTER = QuotaFact("elasticache", "L-AF354865", "Nodes per cluster (cluster mode enabled)",
                                    NODES_PER_CLUSTER_QUOTA, "cluster", code_confirmed=False)

EKS_NODES_PER_GROUP = QuotaFact("eks", "L-BD136A63", "Nodes per managed node group", 450, "cluster",
                                code_confirmed=False)
EC2_STANDARD_VCPUS = QuotaFact("ec2", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
                               5, "region")

ALL: tuple[QuotaFact, ...] = (VPCS, ELASTIC_IPS, NAT_GATEWAYS_PER_ZONE, RDS_CLUSTERS, RDS_INSTANCES, RDS_SUBNET_GROUPS,
                              EKS_CLUSTERS, EKS_NODE_GROUPS, MSK_BROKERS, MSK_BROKERS_PER_CLUSTER, MSK_REPLICATORS,
                              CACHE_NODES, CACHE_NODES_PER_CLUSTER, EKS_NODES_PER_GROUP, EC2_STANDARD_VCPUS)
