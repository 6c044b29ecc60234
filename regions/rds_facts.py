"""Aurora PostgreSQL facts the manifest is checked against: connection limits and default RDS quotas.

Sources (checked 2026-11):
- ``max_connections`` defaults to ``LEAST({DBInstanceClassMemory/9531392}, 5000)``; the Aurora user guide's
  table (AuroraPostgreSQL.Managing, "Maximum connections") gives db.r6g.large 1,722, db.r6g.xlarge 3,479 and
  5,000 from db.r6g.2xlarge up. r7g and r8g sizes have the same memory as r6g, so they share the values
  (derived, not tabulated by AWS). t4g.medium: 405.
- Default quotas per account and region (AuroraUserGuide, CHAP_Limits): 40 DB clusters, 40 DB instances and
  50 DB subnet groups; ap-south-1 allows only 20 instances and 20 subnet groups.
"""

from __future__ import annotations

from dataclasses import dataclass

_SIZES = {"large": 1722, "xlarge": 3479, **{s: 5000 for s in ("2xlarge", "4xlarge", "8xlarge", "12xlarge",
                                                                "16xlarge", "24xlarge", "48xlarge")}}
AURORA_MAX_CONNECTIONS: dict[str, int] = {
    **{f"db.{family}.{size}": value for family in ("r6g", "r7g", "r8g") for size, value in _SIZES.items()},
    "db.t4g.medium": 405,
}

# Kept free of PgBouncer pools on every instance: rdsadmin and superuser-reserved slots, operators'
# sessions, monitoring, and (on writers) the connections global write forwarding opens, which the
# parameter group caps at 10% with apg_write_forward.max_forwarding_connections_percent.
CONNECTION_RESERVE_FRACTION = 0.15


def usable_connections(instance_class: str) -> int:
    """Server connections PgBouncer may open to one instance of this class."""
    return int(AURORA_MAX_CONNECTIONS[instance_class] * (1 - CONNECTION_RESERVE_FRACTION))


@dataclass(frozen=True)
class RdsQuotas:
    clusters: int = 40
    instances: int = 40
    subnet_groups: int = 50


DEFAULT_RDS_QUOTAS = RdsQuotas()
RDS_QUOTAS: dict[str, RdsQuotas] = {"ap-south-1": RdsQuotas(instances=20, subnet_groups=20)}


def rds_quotas(region: str) -> RdsQuotas:
    return RDS_QUOTAS.get(region, DEFAULT_RDS_QUOTAS)
