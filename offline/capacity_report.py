"""`make plan`'s capacity, quota and cost tables, read from the plan document's `capacity` and `cost` sections."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

COMPONENTS = ("aurora", "eks", "kafka", "cache", "network", "backup")


def _pct(value: float | None) -> str:
    if value is None:
        return "-"
    text = f"{value:.0f}%"
    return f"[bold red]{text}[/bold red]" if value > 100 else text


def capacity_table(capacity: dict[str, Any]) -> Table:
    table = Table(title="Capacity per region", title_justify="left")
    for column in ("Region", "Users", "Logical shards", "Shard groups", "Writers / readers / DR secondaries",
                   "Connection budget (busiest instance)", "Kafka replicas per broker", "Kafka ingress (MiB/s)",
                   "Cache nodes / quota",
                   "EKS nodes (max)", "Pod capacity (max)"):
        table.add_column(column, justify="left" if column == "Region" else "right")
    for region, c in capacity["regions"].items():
        budget, kafka, cache, eks = c["connectionBudget"], c["kafka"], c["cache"], c["eks"]
        table.add_row(
            region, f"{c['users']:,}", f"{c['logicalShards']:,}", str(c["shardGroups"]),
            f"{c['aurora']['writers']} / {c['aurora']['readers']} / {c['aurora']['hostedSecondaries']}",
            f"{budget['serverConnections']:,} of {budget['usable']:,} ({_pct(budget['percent'])})" if budget else "-",
            f"{kafka['partitionReplicasPerBroker']:,} of {kafka['recommended'] or '?'} ({_pct(kafka['percent'])})",
            "-" if kafka["sustainableIngressMiBps"] is None else f"{kafka['sustainableIngressMiBps']:,.0f}",
            f"{cache['nodes']} / {cache['quota']} ({_pct(cache['percent'])})",
            f"{eks['nodesDesired']} ({eks['nodesMax']})", f"{eks['podsDesired']:,} ({eks['podsMax']:,})")
    return table


def quota_table(capacity: dict[str, Any]) -> Table:
    """One row per default quota the plan touches, fullest first: need / default per region, red when over."""
    regions = list(capacity["regions"])
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    for region, c in capacity["regions"].items():
        for q in c["quotas"]:
            cells.setdefault(q["quota"], {})[region] = q
    table = Table(title="Default quotas: need / default limit (per region, AZ or cluster as the quota counts)",
                  title_justify="left")
    table.add_column("Quota")
    for region in regions:
        table.add_column(region, justify="right")
    for quota, per_region in sorted(cells.items(), key=lambda kv: -max(q["percent"] for q in kv[1].values())):
        row = []
        for region in regions:
            q = per_region.get(region)
            text = f"{q['need']} / {q['limit']}" if q else "-"
            row.append(f"[bold red]{text}[/bold red]" if q and q["need"] > q["limit"] else text)
        table.add_row(quota, *row)
    return table


def worst_rows(tiers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per region and tier, the scenario with the least headroom (the one a change must keep positive)."""
    worst: dict[tuple[str, str], dict[str, Any]] = {}
    for row in tiers:
        key = (row["region"], row["tier"])
        if key not in worst or _ratio(row) < _ratio(worst[key]):
            worst[key] = row
    return list(worst.values())


def _ratio(row: dict[str, Any]) -> float:
    return float("inf") if not row["demand"] else row["supply"] / row["demand"]


def headroom_text(percent: float | None, required: float) -> str:
    """Red below zero (the tier cannot carry the load), yellow below the manifest's headroom, green above."""
    if percent is None:
        return "-"
    colour = "red" if percent < 0 else "yellow" if percent < required else "green"
    return f"[{colour}]{percent:+.1f}%[/{colour}]"


def tiers_table(capacity: dict[str, Any]) -> Table:
    demand = capacity["demand"]
    required = demand["headroomPercent"]
    table = Table(title=f"Capacity from demand: {demand['requestsPerSecond']:,} requests/s and "
                        f"{demand['concurrentConnections']:,} connections; worst scenario per tier and region "
                        f"(headroom required: {required}%)", title_justify="left")
    for column in ("Region", "Tier", "Worst scenario", "Demand", "Supply at max", "Unit", "Headroom"):
        table.add_column(column, justify="right" if column in ("Demand", "Supply at max", "Headroom") else "left")
    for row in worst_rows(capacity["tiers"]):
        table.add_row(row["region"], row["tier"], row["scenario"], f"{row['demand']:,}", f"{row['supply']:,}",
                      row["unit"], headroom_text(row["headroomPercent"], required))
    return table


def render_capacity(capacity: dict[str, Any], console: Console) -> None:
    console.print(capacity_table(capacity))
    console.print(tiers_table(capacity))
    console.print(quota_table(capacity))
    exceeded = capacity["quotasExceeded"]
    if exceeded:
        console.print(f"[bold red]{len(exceeded)} default quota(s) exceeded[/bold red]; request increases before "
                      "`pulumi up` (`make preflight` checks the account's actual quotas):")
        for line in exceeded:
            console.print(f"  - {line}", markup=False)
    else:
        console.print("No default quota is exceeded.")


def usd(value: float) -> str:
    return f"${value:,.0f}"


def cost_table(cost: dict[str, Any]) -> Table:
    estimated = set(cost["estimatedRegions"])
    table = Table(title=f"Monthly cost, on-demand list prices ({cost['currency']}, {cost['hoursPerMonth']:g} h)",
                  title_justify="left")
    for column in ("Region", *COMPONENTS, "Total"):
        table.add_column(column, justify="left" if column == "Region" else "right")
    for region, parts in cost["regions"].items():
        label = f"{region} (estimated)" if region in estimated else region
        table.add_row(label, *(usd(parts.get(c, 0.0)) for c in COMPONENTS), usd(parts["total"]))
    totals = [sum(parts.get(c, 0.0) for parts in cost["regions"].values()) for c in COMPONENTS]
    table.add_row("[bold]all regions[/bold]", *(usd(t) for t in totals), f"[bold]{usd(cost['monthlyTotal'])}[/bold]")
    return table


def render_cost(cost: dict[str, Any], console: Console) -> None:
    console.print(cost_table(cost))
    bound = "at least " if cost["lowerBound"] else ""
    per_user = cost["usdPerUserMonth"]
    console.print(f"Total {bound}{usd(cost['monthlyTotal'])} per month for {cost['users']:,} users: "
                  f"${per_user:.6f} per user per month (${cost['usdPerMillionUsersMonth']:,.0f} per million users).")
    at_max = cost["atMaxSize"]
    console.print(f"At maximum size (every node group at max_size, what a region's loss draws on): "
                  f"{'at least ' if at_max['lowerBound'] else ''}{usd(at_max['monthlyTotal'])} per month: "
                  f"${at_max['usdPerUserMonth']:.6f} per user per month "
                  f"(${at_max['usdPerMillionUsersMonth']:,.0f} per million users).")
    if cost["estimatedRegions"]:
        console.print(f"Estimated: {', '.join(cost['estimatedRegions'])} use us-east-1 list prices until "
                      "`make prices` refreshes them from the AWS Price List API.")
    if cost["unpriced"]:
        console.print("Unpriced (no list price in regions/prices.json): " + "; ".join(cost["unpriced"]), markup=False)
    if cost.get("estimatedItems"):
        console.print("Estimated sizes and rates: " + ", ".join(cost["estimatedItems"])
                      + " (backups.estimated_gib_per_group per shard group, at an estimated rate).", markup=False)
    console.print("Not counted: " + ", ".join(cost["excluded"]) + ".")
