"""What a platform engineer reads before `pulumi up`: rich tables over the plan document."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from regions.cache_facts import NODES_PER_CLUSTER_QUOTA
from regions.rds_facts import rds_quotas

GLOBAL = "global"


def _short(type_token: str) -> str:
    """``platform:network:Network`` -> ``Network``; ``aws:ec2/subnet:Subnet`` -> ``ec2/Subnet``."""
    package, module, name = type_token.split(":")
    if package == "platform":
        return name
    return f"{module.split('/')[0]}/{name}" if module not in ("index", "") else f"{package}/{name}"


def _component_of(resource: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str:
    """The nearest enclosing component (or the resource's own type when it is top level)."""
    parent = resource["parent"]
    while parent is not None:
        owner = by_urn[parent]
        if not owner["custom"]:
            return _short(owner["type"])
        parent = owner["parent"]
    return "(top level)"


def _region_columns(document: dict[str, Any], counts: Counter[tuple[str, str]], table: Table) -> list[str]:
    """Add a column per region that has any counted resource (global last); return those regions."""
    used = [region for region in (*document["regions"], GLOBAL) if any(k[1] == region for k in counts)]
    for region in used:
        table.add_column(region, justify="right")
    return used


def allocation_table(document: dict[str, Any], allocation: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Shard allocation - {document['stack']}", title_justify="left")
    for column, justify in (("Region", "left"), ("Logical shards", "right"), ("Count", "right"),
                            ("Users", "right"), ("Shard groups", "left"), ("DR regions", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    shards = users = groups = 0
    for row in allocation:
        count = row["end"] - row["start"]
        shards, users, groups = shards + count, users + row["users"], groups + len(row["shardGroups"])
        ids = row["shardGroups"]
        span = ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1].rsplit('-sg', 1)[-1]}"
        table.add_row(row["region"], f"[{row['start']:,}, {row['end']:,})", f"{count:,}", f"{row['users']:,}",
                      f"{len(ids)} ({span})", " -> ".join(row["drRegions"]))
    table.add_section()
    table.add_row("total", "", f"{shards:,}", f"{users:,}", str(groups), "", style="bold")
    return table


def resources_table(document: dict[str, Any]) -> Table:
    by_urn = {r["urn"]: r for r in document["resources"]}
    counts: Counter[tuple[str, str]] = Counter()
    for r in document["resources"]:
        if r["custom"] and not r["type"].startswith("pulumi:providers:"):
            counts[(_component_of(r, by_urn), r["region"] or GLOBAL)] += 1
    table = Table(title="Resources by component and region", title_justify="left")
    table.add_column("Component")
    used = _region_columns(document, counts, table)
    table.add_column("total", justify="right", style="bold")
    for component in sorted({k[0] for k in counts}):
        row = [counts[(component, region)] for region in used]
        table.add_row(component, *map(str, row), str(sum(row)))
    table.add_section()
    totals = [sum(v for (_, reg), v in counts.items() if reg == region) for region in used]
    table.add_row("total", *map(str, totals), str(sum(totals)), style="bold")
    return table


def types_table(document: dict[str, Any]) -> Table:
    counts: Counter[tuple[str, str]] = Counter(
        (r["type"], r["region"] or GLOBAL) for r in document["resources"] if r["custom"])
    table = Table(title="Resource types by region", title_justify="left")
    table.add_column("Type")
    used = _region_columns(document, counts, table)
    table.add_column("protected", justify="right")
    protected = Counter(r["type"] for r in document["resources"] if r["protect"])
    for type_token in sorted({k[0] for k in counts}):
        table.add_row(_short(type_token), *(str(counts[(type_token, region)] or "-") for region in used),
                      str(protected[type_token] or "-"))
    return table


def _per_region(document: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """region -> type -> custom resources of that type in that region."""
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {region: {} for region in document["regions"]}
    for r in document["resources"]:
        if r["custom"] and r["region"] in grouped:
            grouped[r["region"]].setdefault(r["type"], []).append(r)
    return grouped


def network_table(document: dict[str, Any]) -> Table:
    table = Table(title="Networks", title_justify="left")
    for column in ("Region", "VPC CIDR", "AZ IDs", "public / private / data subnets", "NAT gateways",
                   "Interface endpoints"):
        table.add_column(column)
    for region, mine in _per_region(document).items():
        subnets = mine.get("aws:ec2/subnet:Subnet", [])
        tiers = Counter(r["inputs"].get("tags", {}).get("tier") for r in subnets)
        azs = sorted({r["inputs"].get("availabilityZoneId") for r in subnets})
        endpoints = mine.get("aws:ec2/vpcEndpoint:VpcEndpoint", [])
        interface = [r for r in endpoints if r["inputs"].get("vpcEndpointType") == "Interface"]
        table.add_row(region, ", ".join(r["inputs"]["cidrBlock"] for r in mine.get("aws:ec2/vpc:Vpc", [])),
                      ", ".join(azs), f"{tiers['public']} / {tiers['private']} / {tiers['data']}",
                      str(len(mine.get("aws:ec2/natGateway:NatGateway", []))), str(len(interface)))
    return table


def eks_table(document: dict[str, Any]) -> Table:
    table = Table(title="EKS", title_justify="left")
    for column in ("Region", "Cluster", "API endpoint", "Node groups (min-desired-max types)",
                   "Ingress origin (443 from Cloudflare only)"):
        table.add_column(column)
    for region, mine in _per_region(document).items():
        for cluster in mine.get("aws:eks/cluster:Cluster", []):
            vpc = cluster["inputs"].get("vpcConfig", {})
            public = vpc.get("publicAccessCidrs") or []
            access = "private" + (f" + public from {', '.join(public)}" if vpc.get("endpointPublicAccess") else "")
            groups = [
                f"{g['inputs']['nodeGroupName']} {g['inputs']['scalingConfig']['minSize']}-"
                f"{g['inputs']['scalingConfig']['desiredSize']}-{g['inputs']['scalingConfig']['maxSize']} "
                f"{'/'.join(g['inputs']['instanceTypes'])}"
                for g in mine.get("aws:eks/nodeGroup:NodeGroup", [])
                if g["inputs"].get("clusterName") == cluster["outputs"].get("name")]
            nlbs = [lb["outputs"].get("dnsName", "") for lb in mine.get("aws:lb/loadBalancer:LoadBalancer", [])]
            table.add_row(region, f"{cluster['inputs']['name']} ({cluster['inputs']['version']})", access,
                          "\n".join(groups), "\n".join(nlbs))
    return table


def data_table(document: dict[str, Any]) -> Table:
    """Aurora per region against the default RDS quotas; a need over its quota is printed in red."""
    table = Table(title="Aurora (global clusters, their regional clusters and instances)", title_justify="left")
    for column in ("Region", "Global clusters (home)", "Secondary clusters hosted", "RDS clusters / quota",
                   "RDS instances / quota", "Subnet groups / quota", "PgBouncer databases"):
        table.add_column(column, justify="left" if column == "Region" else "right")
    for region, mine in _per_region(document).items():
        quotas = rds_quotas(region)
        clusters = mine.get("aws:rds/cluster:Cluster", [])
        secondaries = [c for c in clusters if "masterPassword" not in c["inputs"]]
        databases = ((document.get("stackOutputs") or {}).get("pgbouncer") or {}).get(region, {}).get("databases", [])

        def against(need: int, quota: int) -> str:
            return f"[bold red]{need} / {quota}[/bold red]" if need > quota else f"{need} / {quota}"

        table.add_row(region, str(len(mine.get("aws:rds/globalCluster:GlobalCluster", []))), str(len(secondaries)),
                      against(len(clusters), quotas.clusters),
                      against(len(mine.get("aws:rds/clusterInstance:ClusterInstance", [])), quotas.instances),
                      against(len(mine.get("aws:rds/subnetGroup:SubnetGroup", [])), quotas.subnet_groups),
                      str(len(databases)))
    return table


def streams_cache_table(document: dict[str, Any]) -> Table:
    """MSK and ElastiCache per region: sizes, replication into the region, and the limits they must fit."""
    table = Table(title="Streams (MSK) and cache (ElastiCache)", title_justify="left")
    for column in ("Region", "Kafka brokers", "Storage GiB (max)", "Topics / partitions", "Replicators in",
                   "Cache", "Cache nodes / quota"):
        table.add_column(column, justify="left" if column in ("Region", "Kafka brokers", "Cache") else "right")
    replicators_in = Counter(r["region"] for r in document["resources"] if r["type"] == "aws:msk/replicator:Replicator")
    for region, mine in _per_region(document).items():
        for cluster in mine.get("aws:msk/cluster:Cluster", []):
            info = cluster["inputs"]["brokerNodeGroupInfo"]
            ceiling = [t["inputs"]["maxCapacity"] for t in mine.get("aws:appautoscaling/target:Target", [])]
            topics = mine.get("kafka:index/topic:Topic", [])
            caches = mine.get("aws:elasticache/replicationGroup:ReplicationGroup", [])
            cache = caches[0]["inputs"] if caches else {}
            nodes = cache.get("numNodeGroups", 0) * (1 + cache.get("replicasPerNodeGroup", 0))
            nodes_text = f"{nodes} / {NODES_PER_CLUSTER_QUOTA}"
            table.add_row(
                region, f"{cluster['inputs']['numberOfBrokerNodes']} x {info['instanceType']}",
                f"{info['storageInfo']['ebsStorageInfo']['volumeSize']} ({', '.join(map(str, ceiling))})",
                f"{len(topics)} / {sum(t['inputs']['partitions'] for t in topics)}", str(replicators_in[region]),
                f"{cache.get('engine', '-')} {cache.get('engineVersion', '')} {cache.get('numNodeGroups', 0)} shards x "
                f"{1 + cache.get('replicasPerNodeGroup', 0)} {cache.get('nodeType', '')}",
                f"[bold red]{nodes_text}[/bold red]" if nodes > NODES_PER_CLUSTER_QUOTA else nodes_text)
    return table


def edge_table(document: dict[str, Any]) -> Table:
    """Where Cloudflare sends each region code: the pools in failover order, as the load balancers have them."""
    pools = {p["outputs"].get("id"): p["inputs"]["name"] for p in document["resources"]
             if p["type"] == "cloudflare:index/loadBalancerPool:LoadBalancerPool"}
    balancers = [lb["inputs"] for lb in document["resources"]
                 if lb["type"] == "cloudflare:index/loadBalancer:LoadBalancer"]
    table = Table(title="Cloudflare geo steering (pools in failover order)", title_justify="left")
    table.add_column("Region code")
    for lb in balancers:
        table.add_column(f"{lb['name']} (fallback {pools.get(lb['fallbackPool'], '?')})")
    for code in sorted({c for lb in balancers for c in lb.get("regionPools", {})}):
        table.add_row(code, *(" -> ".join(pools.get(i, "?") for i in lb["regionPools"].get(code, []))
                             for lb in balancers))
    return table


def versions_table(document: dict[str, Any]) -> Table:
    """Pinned add-on and chart versions, one column per region, so a skew between regions stands out."""
    pinned: dict[str, dict[str, str]] = {}
    for region, mine in _per_region(document).items():
        for a in mine.get("aws:eks/addon:Addon", []):
            pinned.setdefault(f"add-on {a['inputs']['addonName']}", {})[region] = a["inputs"]["addonVersion"]
        for r in mine.get("kubernetes:helm.sh/v3:Release", []):
            pinned.setdefault(f"chart {r['inputs']['chart']}", {})[region] = r["inputs"]["version"]
    table = Table(title="EKS add-on and chart versions", title_justify="left")
    table.add_column("Component")
    for region in document["regions"]:
        table.add_column(region)
    for component in sorted(pinned):
        table.add_row(component, *(pinned[component].get(region, "-") for region in document["regions"]))
    return table


def stacks_table(document: dict[str, Any]) -> Table:
    """Each stack planned: its layer, region, where it deploys from, what it reads, how many registrations."""
    table = Table(title="Stacks (in deploy order)", title_justify="left")
    for column in ("Stack", "Layer", "Region", "Runs on", "Reads", "Registrations", "Protected"):
        table.add_column(column, justify="right" if column in ("Registrations", "Protected") else "left")
    for stack in document.get("stacks") or []:
        mine = [r for r in document["resources"] if r["stack"] == stack["name"]]
        table.add_row(stack["name"], stack.get("layer", ""), stack.get("region") or "-",
                      "in-VPC runner" if stack.get("layer") == "cluster" else "GitHub-hosted (OIDC)",
                      ", ".join(stack.get("reads") or []) or "-", str(len(mine)), str(sum(r["protect"] for r in mine)))
    return table


def render(document: dict[str, Any], allocation: list[dict[str, Any]], console: Console) -> None:
    custom = sum(1 for r in document["resources"] if r["custom"])
    console.print(f"[bold]global-platform[/bold] stack [bold]{document['stack']}[/bold] "
                  f"(environment {document['environment']}): {len(document['resources'])} registrations, "
                  f"{custom} custom resources in {len(document['regions'])} regions "
                  f"({', '.join(document['regions'])})")
    if document.get("stacks"):
        console.print(stacks_table(document))
    console.print(allocation_table(document, allocation))
    console.print(network_table(document))
    console.print(eks_table(document))
    console.print(versions_table(document))
    console.print(data_table(document))
    console.print(streams_cache_table(document))
    console.print(edge_table(document))
    console.print(resources_table(document))
    console.print(types_table(document))


def render_violations(violations: list[dict[str, Any]], config_name: str | None, console: Console) -> None:
    """Guardrail results grouped by severity, mandatory first; advisory ones are counted per rule.

    ``config_name``: the whole environment's pack config, or None when only each stack's own run counts.
    """
    mandatory = [v for v in violations if v["enforcement"] == "mandatory"]
    advisory = [v for v in violations if v["enforcement"] != "mandatory"]
    runs = (f"config {config_name} on the whole environment, each stack with its layer's config" if config_name
            else "each stack with its layer's config, as its own run sees it")
    console.print(f"[bold]Guardrails[/bold] (policies/, {runs}): {len(mandatory)} mandatory and {len(advisory)} "
                  "advisory violation(s)")
    if mandatory:
        table = Table(title="Mandatory violations", title_justify="left")
        for column in ("Severity", "Rule", "Found by", "Violation"):
            table.add_column(column)
        for v in mandatory:
            table.add_row(v["severity"], f"{v['id']} {v['policy']}", v.get("scope", "environment"), v["message"])
        console.print(table)
    if advisory:
        counts = Counter((v["severity"], v["id"], v["policy"]) for v in advisory)
        table = Table(title="Advisory violations", title_justify="left")
        for column, justify in (("Severity", "left"), ("Rule", "left"), ("Count", "right"), ("First", "left")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
        for (severity, rule_id, policy), count in sorted(counts.items(), key=lambda kv: (order.get(kv[0][0], 9),
                                                                                          kv[0][1])):
            first = next(v["message"] for v in advisory if v["id"] == rule_id)
            table.add_row(severity, f"{rule_id} {policy}", str(count), first)
        console.print(table)
