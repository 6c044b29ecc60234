"""How much of each quota a region already uses, split into other workloads and this stack's own resources.

Ownership is by the tags every provider of the program stamps (``project`` and ``environment``, see
program/providers.py). A re-run after `pulumi up` therefore finds the stack's resources as "own" and does not
count them twice: the plan's need already includes them. Per-cluster quotas concern only the stack's own
clusters, so other workloads never use any of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from operations.stack import tag_map
from program.config import PROJECT
from regions import service_quotas as q

# NAT gateways in these states count toward the per-AZ quota (Amazon VPC quotas).
COUNTED_NAT_STATES = ["pending", "available", "deleting"]


@dataclass(frozen=True)
class Usage:
    others: int  # what the stack's need comes on top of
    own: int  # the stack's resources already deployed (informational)


class UsageReader:
    """Reads one region's usage with boto3; one method per quota, chosen by ``usage``."""

    def __init__(self, session: boto3.Session, region: str, environment: str) -> None:
        self.session, self.region, self.environment = session, region, environment
        self._clients: dict[str, Any] = {}
        self._readers: dict[q.QuotaFact, Callable[[], Usage]] = {
            q.VPCS: self._vpcs, q.ELASTIC_IPS: self._elastic_ips, q.NAT_GATEWAYS_PER_ZONE: self._nat_gateways,
            q.RDS_CLUSTERS: self._rds_clusters, q.RDS_INSTANCES: self._rds_instances,
            q.RDS_SUBNET_GROUPS: self._rds_subnet_groups, q.EKS_CLUSTERS: self._eks_clusters,
            q.MSK_BROKERS: self._msk_brokers, q.MSK_REPLICATORS: self._msk_replicators,
            q.CACHE_NODES: self._cache_nodes, q.EC2_STANDARD_VCPUS: self._standard_vcpus,
        }

    def usage(self, quota: q.QuotaFact) -> Usage:
        if quota.scope == "cluster":
            return Usage(0, 0)
        return self._readers[quota]()

    def is_own(self, tags: Mapping[str, str]) -> bool:
        return tags.get("project") == PROJECT and tags.get("environment") == self.environment

    def _client(self, service: str) -> Any:
        # One client per service: creating a client costs more than most of the reads made with it.
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]

    def _pages(self, service: str, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self._client(service).get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])

    def _split(self, items: Iterator[tuple[Mapping[str, str], int]]) -> Usage:
        """Sum ``(tags, amount)`` pairs into other workloads' and the stack's own usage."""
        others = own = 0
        for tags, amount in items:
            if self.is_own(tags):
                own += amount
            else:
                others += amount
        return Usage(others, own)

    def _vpcs(self) -> Usage:
        return self._split((tag_map(v.get("Tags")), 1) for v in self._pages("ec2", "describe_vpcs", "Vpcs"))

    def _elastic_ips(self) -> Usage:
        addresses = self._client("ec2").describe_addresses().get("Addresses", [])
        return self._split((tag_map(a.get("Tags")), 1) for a in addresses)

    def _nat_gateways(self) -> Usage:
        """The busiest AZ's count: the stack adds one gateway to each AZ it uses.

        A regional NAT gateway has no subnet and may serve every AZ of its VPC, so it counts in each AZ.
        """
        gateways = list(self._pages("ec2", "describe_nat_gateways", "NatGateways",
                                    Filters=[{"Name": "state", "Values": COUNTED_NAT_STATES}]))
        subnet_ids = sorted({g["SubnetId"] for g in gateways if g.get("SubnetId")})
        subnets = self._pages("ec2", "describe_subnets", "Subnets", SubnetIds=subnet_ids) if subnet_ids else iter(())
        zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}
        zonal = {True: Counter[str](), False: Counter[str]()}  # by ownership
        regional = Counter[bool]()
        for gateway in gateways:
            own = self.is_own(tag_map(gateway.get("Tags")))
            if gateway.get("SubnetId"):
                zonal[own][zone_of.get(gateway["SubnetId"], "?")] += 1
            else:
                regional[own] += 1

        def busiest(own: bool) -> int:
            return max(zonal[own].values(), default=0) + regional[own]

        return Usage(others=busiest(False), own=busiest(True))

    def _rds_clusters(self) -> Usage:
        clusters = self._pages("rds", "describe_db_clusters", "DBClusters")
        return self._split((tag_map(c.get("TagList")), 1) for c in clusters)

    def _rds_instances(self) -> Usage:
        # Neptune and DocumentDB instances share this quota and are listed here too.
        instances = self._pages("rds", "describe_db_instances", "DBInstances")
        return self._split((tag_map(i.get("TagList")), 1) for i in instances)

    def _rds_subnet_groups(self) -> Usage:
        rds = self._client("rds")
        groups = self._pages("rds", "describe_db_subnet_groups", "DBSubnetGroups")
        return self._split(
            (tag_map(rds.list_tags_for_resource(ResourceName=g["DBSubnetGroupArn"]).get("TagList")), 1) for g in groups)

    def _eks_clusters(self) -> Usage:
        eks = self._client("eks")
        names = self._pages("eks", "list_clusters", "clusters")
        return self._split((tag_map(eks.describe_cluster(name=n)["cluster"].get("tags")), 1) for n in names)

    def _msk_brokers(self) -> Usage:
        clusters = self._pages("kafka", "list_clusters_v2", "ClusterInfoList")
        return self._split((tag_map(c.get("Tags")), (c.get("Provisioned") or {}).get("NumberOfBrokerNodes", 0))
                           for c in clusters)

    def _msk_replicators(self) -> Usage:
        kafka = self._client("kafka")
        replicators = self._pages("kafka", "list_replicators", "Replicators")
        return self._split(
            (tag_map(kafka.list_tags_for_resource(ResourceArn=r["ReplicatorArn"]).get("Tags")), 1) for r in replicators)

    def _standard_vcpus(self) -> Usage:
        """vCPUs of the running and pending instances of the Standard families (A, C, D, H, I, M, R, T, Z)."""
        instances = (i for r in self._pages("ec2", "describe_instances", "Reservations",
                                            Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])
                     for i in r.get("Instances", []) if i.get("InstanceType", "")[:1] in "acdhimrtz")
        return self._split((tag_map(i.get("Tags")), (i.get("CpuOptions") or {}).get("CoreCount", 0)
                            * (i.get("CpuOptions") or {}).get("ThreadsPerCore", 1)) for i in instances)

    def _cache_nodes(self) -> Usage:
        """Nodes of replication groups (tagged on the group) plus those of stand-alone cache clusters."""
        cache = self._client("elasticache")

        def tags(arn: str) -> dict[str, str]:
            return tag_map(cache.list_tags_for_resource(ResourceName=arn).get("TagList"))

        groups = ((tags(g["ARN"]), len(g.get("MemberClusters", [])))
                  for g in self._pages("elasticache", "describe_replication_groups", "ReplicationGroups"))
        standalone = ((tags(c["ARN"]), c.get("NumCacheNodes", 0))
                      for c in self._pages("elasticache", "describe_cache_clusters", "CacheClusters")
                      if not c.get("ReplicationGroupId"))
        first, second = self._split(groups), self._split(standalone)
        return Usage(first.others + second.others, first.own + second.own)
