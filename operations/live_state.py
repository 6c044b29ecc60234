"""What AWS reports now about the stack's resources, one boto3 read each; a resource that does not exist is None.

Any other refusal (access denied, throttling) stops verify with one message naming the region: it cannot tell
drift from a read it may not make.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions

from operations.stack import AWS_ERRORS, OperatorError

READ_ACCESS = ("verify needs read access to RDS, MSK, ElastiCache, EKS and SSM Parameter Store in every region "
               "of the stack")


@dataclass(frozen=True)
class Member:
    region: str
    cluster_identifier: str
    is_writer: bool


@dataclass(frozen=True)
class GlobalClusterState:
    status: str
    members: tuple[Member, ...]


def _member(entry: dict[str, Any]) -> Member:
    # arn:aws:rds:<region>:<account>:cluster:<identifier>
    parts = entry["DBClusterArn"].split(":")
    return Member(parts[3], parts[6], bool(entry.get("IsWriter")))


class LiveState:
    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        """One client per service and region, reused (tests stub a call on the very client the reads use)."""
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region)
        return self._clients[key]

    def _read(self, service: str, region: str, operation: str, not_found: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client(service, region), operation)(**kwargs)
        except AWS_ERRORS as exc:
            if isinstance(exc, botocore.exceptions.ClientError) and exc.response["Error"].get("Code") == not_found:
                return None
            raise OperatorError(f"AWS refused a read in {region} ({exc}); {READ_ACCESS}") from None

    def global_cluster(self, identifier: str, region: str) -> GlobalClusterState | None:
        response = self._read("rds", region, "describe_global_clusters", "GlobalClusterNotFoundFault",
                              GlobalClusterIdentifier=identifier)
        # Filter again: some implementations (moto among them) ignore the identifier and list them all.
        found = [g for g in (response or {}).get("GlobalClusters", [])
                 if g.get("GlobalClusterIdentifier") == identifier]
        if not found:
            return None
        return GlobalClusterState(found[0].get("Status", "unknown"),
                                  tuple(_member(m) for m in found[0].get("GlobalClusterMembers", [])))

    def db_cluster_status(self, identifier: str, region: str) -> str | None:
        response = self._read("rds", region, "describe_db_clusters", "DBClusterNotFoundFault",
                              DBClusterIdentifier=identifier)
        return response["DBClusters"][0]["Status"] if response else None

    def kafka_state(self, arn: str, region: str) -> str | None:
        response = self._read("kafka", region, "describe_cluster_v2", "NotFoundException", ClusterArn=arn)
        return response["ClusterInfo"]["State"] if response else None

    def replication_group_status(self, group_id: str, region: str) -> str | None:
        response = self._read("elasticache", region, "describe_replication_groups", "ReplicationGroupNotFoundFault",
                              ReplicationGroupId=group_id)
        return response["ReplicationGroups"][0]["Status"] if response else None

    def eks_status(self, name: str, region: str) -> str | None:
        response = self._read("eks", region, "describe_cluster", "ResourceNotFoundException", name=name)
        return response["cluster"]["status"] if response else None

    def parameter(self, name: str, region: str) -> str | None:
        response = self._read("ssm", region, "get_parameter", "ParameterNotFound", Name=name)
        return response["Parameter"]["Value"] if response else None
