"""ElastiCache facts the manifest is checked against (ElastiCache user guide, checked 2026-11).

- Nodes per cluster (cluster mode enabled): 90 by default ("Shards.html": 90 shards with no replicas up
  to 15 shards with 5 replicas); raisable to 500 for Valkey 7.2+ / Redis OSS 5.0.6+ by quota request.
- Engine versions ElastiCache offers for new replication groups.
"""

from __future__ import annotations

NODES_PER_CLUSTER_QUOTA = 90
# What a quota increase can reach (Valkey 7.2+ and Redis OSS 5.0.6+; the engines ENGINE_VERSIONS offers).
NODES_PER_CLUSTER_MAX = 500
ENGINE_VERSIONS: dict[str, tuple[str, ...]] = {
    "valkey": ("7.2", "8.0", "8.1"),
    "redis": ("6.2", "7.0", "7.1"),
}
