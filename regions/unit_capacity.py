"""What one unit of each tier carries, with its basis: measured, declared or documented.

- Measured (benchmarks/capacity_units.py, with real servers; recorded in benchmarks/capacity_units.json with the
  machine, date and command): PgBouncer transactions/s per core, PostgreSQL reads/s and writes/s per core,
  Valkey/Redis operations/s per engine core. The manifest plans on ``recorded x derating`` and the rules refuse
  a manifest whose figure is not exactly that, so a figure cannot drift from its measurement.
- Declared (the manifest, with their basis): application requests/s per vCPU, gateway connections per GiB.
- Documented by AWS:
  - Network Load Balancer quotas ("Quotas for your Network Load Balancers", Elastic Load Balancing user guide,
    checked 2026-12): 500 targets per Availability Zone per NLB, and with cross-zone load balancing on (as
    components/ingress.py sets it) at most 500 targets per load balancer whatever the number of zones. Every
    edge-gateway replica is one IP target.
  - Instance sizes (EC2 instance types guide): vCPUs by size (regions/eks_facts.py), memory per vCPU by family:
    c 2 GiB, m 4 GiB, r 8 GiB (c7g, m7g, m8g, r7g, r8g alike). Aurora's db.r7g/db.r8g classes have the r sizes.
  - MSK ingress per broker: AWS's sizing model in regions/kafka_facts.py.
- Aurora per instance class: AWS publishes no transactions/s per class. The model derives it from the measured
  PostgreSQL figures per core times the class's vCPUs, derated in the manifest (Aurora's quorum writes to
  storage in three AZs are slower per commit than a local disk, so writes are derated harder).
- Cloudflare publishes no per-zone request or connection ceiling for proxied traffic; its load-balancing limits
  (pools, origins, monitors) are counts the edge already stays within, so no Cloudflare row is modelled.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from regions.eks_facts import vcpus

RECORD = Path(__file__).resolve().parent.parent / "benchmarks" / "capacity_units.json"
NLB_TARGETS_CROSS_ZONE = 500
MEMORY_GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8}
MEASURED_FIELDS = ("throughputPerSecond", "serverCoresBusy", "perCore", "command")


@cache
def record(path: Path = RECORD) -> dict[str, Any]:
    """The benchmark's record: date, machine, server versions and one entry per measured figure."""
    return dict(json.loads(path.read_text(encoding="utf-8")))


def measured(name: str) -> float:
    return float(record()["figures"][name]["perCore"])


def instance_vcpus(instance_type: str) -> int:
    """vCPUs of an EC2 type (m7g.2xlarge) or an RDS/ElastiCache class (db.r7g.4xlarge, cache.r7g.xlarge)."""
    return vcpus(instance_type.split(".", 1)[1] if instance_type.startswith(("db.", "cache.")) else instance_type)


def instance_memory_gib(instance_type: str) -> int:
    family = instance_type.split(".", 1)[0]
    return MEMORY_GIB_PER_VCPU[family[0]] * vcpus(instance_type)
