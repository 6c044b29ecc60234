"""A manifest's stack as `pulumi up` leaves it, created in moto, and the stack outputs that deploy would export.

Names follow the components (components/aurora.py, kafka.py, redis.py, eks.py); the outputs have the shape of
program/build.py's ``export()`` (tests/test_plan_document.py checks that verify reads the real ones). ``skip``
leaves resources out while the outputs still list them, as if deleted behind Pulumi's back.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.kafka.models import kafka_backends

from regions import published_map
from regions.schema import Manifest
from regions.shards import ShardMap

ACCOUNT = DEFAULT_ACCOUNT_ID  # what moto's STS answers
ENGINE = "aurora-postgresql"


@functools.cache
def _client(service: str, region: str) -> Any:
    """Clients are slow to build and moto intercepts them whenever a mock is active: one per service and region."""
    return boto3.client(service, region_name=region)


def deploy(manifest: Manifest, *, writers: Mapping[str, str] | None = None,
           skip: Collection[tuple[str, ...]] = ()) -> dict[str, Any]:
    """Create every resource verify checks; return the outputs.

    ``writers``: group id -> region whose member joins the global cluster first, so moto makes it the writer
    (default: the manifest's current writer). ``skip`` entries: ``("global", gid)``, ``("member", gid, region)``
    (the cluster exists but is not attached), ``("kafka"|"cache"|"eks"|"shard-map", region)``.
    """
    env, shard_map = manifest.environment, ShardMap(manifest)
    writers = writers or {}
    global_clusters: dict[str, Any] = {}
    endpoints: dict[str, published_map.GroupEndpoints] = {}
    for group in shard_map.groups:
        identifier = f"{env}-{group.id}"
        clusters = {r: f"{identifier}-{manifest.region(r).short_code}" for r in group.placement}
        global_clusters[group.id] = {"globalClusterIdentifier": identifier, "homeRegion": group.home_region,
                                     "clusters": clusters}
        attached = ("global", group.id) not in skip
        if attached:
            _client("rds", group.home_region).create_global_cluster(
                GlobalClusterIdentifier=identifier, Engine=ENGINE, EngineVersion="16.6")
        first = writers.get(group.id, group.current_writer)
        described = {}
        for region in sorted(group.placement, key=lambda r: r != first):
            member = attached and ("member", group.id, region) not in skip
            described[region] = _client("rds", region).create_db_cluster(
                DBClusterIdentifier=clusters[region], Engine=ENGINE, EngineVersion="16.6",
                **({"GlobalClusterIdentifier": identifier} if member else {}),
                # Secondaries replicate the primary's credentials; a cluster on its own needs its own.
                **({"MasterUsername": "platform_admin", "MasterUserPassword": "not-a-secret-1"}
                   if region == first or not member else {}))["DBCluster"]
        endpoints[group.id] = published_map.GroupEndpoints(
            writer=described[group.current_writer]["Endpoint"],
            readers={r: c["ReaderEndpoint"] for r, c in described.items()})
    outputs: dict[str, Any] = {"environment": env, "globalClusters": global_clusters, "clusters": {}, "kafka": {},
                               "cache": {}, "shardMaps": {}}
    for stamp in manifest.regions:
        name, ident = stamp.name, f"{env}-{stamp.short_code}"
        outputs["kafka"][name] = {"arn": _kafka(name, f"{ident}-kafka", ("kafka", name) not in skip)}
        outputs["cache"][name] = {"replicationGroupId": f"{ident}-cache"}
        if ("cache", name) not in skip:
            _client("elasticache", name).create_replication_group(
                ReplicationGroupId=f"{ident}-cache", ReplicationGroupDescription="hot data", Engine="valkey",
                CacheNodeType="cache.r7g.large", NumNodeGroups=2, ReplicasPerNodeGroup=1)
        outputs["clusters"][name] = {"name": ident, "arn": f"arn:aws:eks:{name}:{ACCOUNT}:cluster/{ident}"}
        if ("eks", name) not in skip:
            _client("eks", name).create_cluster(name=ident, roleArn=f"arn:aws:iam::{ACCOUNT}:role/{ident}-eks-cluster",
                                                resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"]})
        text = shard_map_json(published_map.build(shard_map, name, endpoints))
        outputs["shardMaps"][name] = text
        if ("shard-map", name) not in skip:
            _client("ssm", name).put_parameter(Name=published_map.parameter_name(env), Value=text, Type="String")
    return outputs


def shard_map_json(document: dict[str, Any]) -> str:
    """Serialised as components/shard_map.py publishes it."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _kafka(region: str, name: str, create: bool) -> str:
    if not create:  # an ARN in the outputs, of a cluster that is gone
        return f"arn:aws:kafka:{region}:{ACCOUNT}:cluster/{name}/00000000-0000-0000-0000-000000000000-1"
    arn: str = _client("kafka", region).create_cluster_v2(ClusterName=name, Provisioned={
        "BrokerNodeGroupInfo": {"InstanceType": "kafka.m7g.large", "ClientSubnets": ["subnet-1", "subnet-2"]},
        "KafkaVersion": "3.8.x", "NumberOfBrokerNodes": 2})["ClusterArn"]
    # moto creates every MSK cluster in CREATING and never moves it on; AWS turns it ACTIVE when it is built.
    kafka_backends[ACCOUNT][region].clusters[arn].state = "ACTIVE"
    return arn
