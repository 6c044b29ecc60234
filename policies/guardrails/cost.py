"""The cost model: P10, the stack's estimated monthly cost against its budget.

One code path for both estimates: the offline plan's cost report (`make plan`) prices the plan's resources
with ``cost_lines`` below, through offline/guardrails.py, so the budget in policies/config/<env>.json and the
plan's monthly total are the same figure. Basis: on-demand list prices of each resource's region (the
us-east-1 price, marked estimated, where the region has none; guardrails/facts.json, generated from the
program's price file), 730 hours a month, EKS node groups at their desired size, and AWS Backup storage of
the recovery points each plan keeps (its own vault and each copy destination, at the config's estimated GiB
per cluster: the program's manifest estimate, `backupGibPerCluster`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pulumi_policy import Severity

from guardrails.core import (
    Meta,
    StackRule,
    dependency,
)
from guardrails.facts import HOURS_PER_MONTH, price
from guardrails.stack_reads import (
    EKS_CLUSTER,
    INSTANCE,
    MSK_CLUSTER,
    NAT_GATEWAY,
    NODE_GROUP,
    REPLICATION_GROUP,
    UNKNOWN,
    Finding,
    Reader,
    is_known,
    of_type,
    stable,
)


@dataclass(frozen=True)
class CostLine:
    """One priced (or unpriced) item of one resource: the unit both the plan's cost report and P10 add up."""

    resource: Any
    region: str | None
    component: str  # aurora, eks, kafka, cache, network: the plan report's columns
    item: str  # the price file's item, e.g. rds/db.r7g.large, ec2/m7g.xlarge, msk/storage
    quantity: float  # instances (hourly items) or GB (GB-month items)
    unit_usd: float | None  # None: no price for the item
    monthly_usd: float | None
    estimated: bool  # priced at the base region's figure
    hours: float = HOURS_PER_MONTH  # per month: 730 for hourly prices, 1 for GB-month prices

    @property
    def priced(self) -> bool:
        return self.monthly_usd is not None


def _wants(read: Reader, resources: Sequence[Any]) -> list[tuple[Any, str, Any, Any, str]]:
    """(resource, component, price item or UNKNOWN, quantity, the path it was read at) of every priced thing."""
    wants: list[tuple[Any, str, Any, Any, str]] = []
    for r in of_type(resources, INSTANCE):
        wants.append((r, "aurora", _item("rds/", read(r, "instanceClass")), 1, "instanceClass"))
    for r in of_type(resources, EKS_CLUSTER):
        # upgradePolicy.supportType EXTENDED costs more only once the version leaves standard support, which
        # the plan cannot see (EKS user guide, "enable extended support"): the control plane's standard price.
        wants.append((r, "eks", "eks/cluster", 1, "control plane"))
    for r in of_type(resources, NODE_GROUP):
        types = read.items(r, "instanceTypes")
        wants.append((r, "eks", _item("ec2/", types[0] if types else "(instanceTypes not set)"),
                      read(r, "scalingConfig.desiredSize"), "instanceTypes.0"))
    for r in of_type(resources, MSK_CLUSTER):
        brokers = read(r, "numberOfBrokerNodes")
        volume = read(r, "brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize")
        wants.append((r, "kafka", _item("msk/", read(r, "brokerNodeGroupInfo.instanceType")), brokers,
                      "brokerNodeGroupInfo.instanceType"))
        if isinstance(volume, int | float) and isinstance(brokers, int):
            wants.append((r, "kafka", "msk/storage", volume * brokers, "brokerNodeGroupInfo.storageInfo"))
    for r in of_type(resources, REPLICATION_GROUP):
        shards, replicas = read(r, "numNodeGroups"), read(r, "replicasPerNodeGroup")
        nodes = shards * (1 + replicas) if isinstance(shards, int) and isinstance(replicas, int) \
            else read(r, "numCacheClusters")
        engine = read(r, "engine")
        wants.append((r, "cache", _item(f"elasticache/{engine if isinstance(engine, str) else 'redis'}/",
                                        read(r, "nodeType")), nodes, "nodeType"))
    for r in of_type(resources, NAT_GATEWAY):
        wants.append((r, "network", "ec2/nat-gateway", 1, "NAT gateway"))
    return wants


BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
BACKUP_ITEM = "backup/aurora-warm"


def _backup_wants(read: Reader, resources: Sequence[Any], gib_per_cluster: float) -> list[tuple[Any, Any, float]]:
    """(plan, region, GB-months) of the recovery points each backup plan keeps: the clusters its selections
    name, in its own region's vault and in each copy action's destination (the region of the vault's ARN)."""
    plans = {r.urn: r for r in of_type(resources, BACKUP_PLAN)}
    clusters: dict[str, int] = defaultdict(int)
    for selection in of_type(resources, BACKUP_SELECTION):
        plan = dependency(selection, "planId", BACKUP_PLAN)
        if plan is None:
            plan_id = read(selection, "planId")
            plan = next((p for p in plans.values() if is_known(plan_id) and p.props.get("id") == plan_id), None)
        if plan is not None:
            clusters[plan.urn] += len(read.items(selection, "resources"))
    out: list[tuple[Any, Any, float]] = []
    for urn, count in clusters.items():
        plan = plans[urn]
        out.append((plan, read.region(plan), count * gib_per_cluster))
        for rule in read.items(plan, "rules"):
            for copy in (rule.get("copyActions") or []) if isinstance(rule, Mapping) else []:
                arn = copy.get("destinationVaultArn") if isinstance(copy, Mapping) else None
                parts = arn.split(":") if isinstance(arn, str) else []
                out.append((plan, parts[3] if len(parts) > 3 else UNKNOWN, count * gib_per_cluster))
    return out


def _item(prefix: str, sku: Any) -> Any:
    return f"{prefix}{sku}" if isinstance(sku, str) else sku


def cost_lines(resources: Sequence[Any], backup_gib_per_cluster: float | None = None) -> list[CostLine]:
    """Every priced thing of the stack, at its region's list price; values unknown during preview are left out.
    Backup storage is counted when the estimated GiB per cluster is given (it is usage, not a resource's size)."""
    read = Reader(mandatory=False)
    wants = [(resource, component, item, quantity, read.region(resource))
             for resource, component, item, quantity, _path in _wants(read, resources)]
    if backup_gib_per_cluster is not None:
        wants += [(plan, "backup", BACKUP_ITEM, gib, region)
                  for plan, region, gib in _backup_wants(read, resources, backup_gib_per_cluster)]
    out = []
    for resource, component, item, quantity, region in wants:
        if not is_known(item, quantity) or not isinstance(quantity, int | float) or isinstance(quantity, bool):
            continue
        region = region if isinstance(region, str) else None
        found = price(item, region)
        if found is None:
            out.append(CostLine(resource, region, component, item, quantity, None, None, False))
            continue
        usd, unit, estimated = found
        hours = HOURS_PER_MONTH if unit == "hour" else 1
        out.append(CostLine(resource, region, component, item, quantity, usd, usd * quantity * hours, estimated,
                            hours))
    return out


def merged(lines: Sequence[CostLine]) -> list[CostLine]:
    """The lines of one item in one region as one (two node groups of one type), its monthly cost in cents:
    the lines the plan's cost report shows and P10 adds up, so both reach the same total."""
    out: dict[tuple[str | None, str, str], CostLine] = {}
    for line in lines:
        key = (line.region, line.component, line.item)
        seen = out.get(key)
        out[key] = replace(line, resource=seen.resource, quantity=seen.quantity + line.quantity) if seen else line
    return [replace(line, monthly_usd=round(line.unit_usd * line.quantity * line.hours, 2))
            if line.unit_usd is not None else line for line in out.values()]


def monthly_cost(resources: Sequence[Any], backup_gib_per_cluster: float | None = None
                 ) -> tuple[float, dict[str, float], list[Finding]]:
    """(estimated USD per month, per-component totals, unpriced items) of the stack."""
    components: dict[str, float] = defaultdict(float)
    unpriced: list[Finding] = []
    for line in merged(cost_lines(resources, backup_gib_per_cluster)):
        if line.monthly_usd is None:
            unpriced.append((f"{line.resource.name}: no list price for {line.item} in {line.region or 'any region'}; "
                             "the cost estimate cannot include it", line.resource.urn))
        else:
            components[line.component] += line.monthly_usd
    return round(sum(components.values()), 2), {k: round(v, 2) for k, v in sorted(components.items())}, unpriced


def _cost_ceiling(resources: Sequence[Any], config: Mapping[str, Any]) -> list[Finding]:
    budget = config.get("monthlyBudgetUsd")
    if budget is None:
        return []
    gib = config.get("backupGibPerCluster")
    total, components, unpriced = monthly_cost(resources, float(gib) if gib is not None else None)
    found = list(unpriced)
    if total > float(budget):
        breakdown = ", ".join(f"{component} ${value:,.2f}" for component, value in components.items())
        found.append((f"estimated monthly cost ${total:,.2f} exceeds monthlyBudgetUsd ${float(budget):,.2f} "
                      f"({breakdown}; on-demand list prices x {HOURS_PER_MONTH:g} h, node groups at desired "
                      "size)", None))
    return found


INVARIANTS = [
    StackRule(
        Meta("P10", "platform-cost-ceiling", "The stack's estimated monthly cost stays within its budget",
             Severity.MEDIUM, mandatory=False,
             remediation="Shrink instance classes or node counts, or raise monthlyBudgetUsd with the budget "
                         "owner; add a list price for any item the price file lacks."),
        stable(_cost_ceiling),
        config={"monthlyBudgetUsd": {"type": "number", "minimum": 0,
                                     "description": "monthly budget in USD; without it the rule does not apply"},
                "backupGibPerCluster": {"type": "number", "minimum": 0,
                                        "description": "estimated GiB of one Aurora cluster's recovery point "
                                                       "(written from the manifest by make docs); without it "
                                                       "backup storage is not counted"},
                "budgetBasis": {"type": "string",
                                "description": "how the budget was set, for reviewers (the rule does not read it)"}}),
]
