"""`make diff BASE=a.json HEAD=b.json`: what a change does to the infrastructure, as Markdown for a pull request.

Reads plan documents (`make plan JSON=...`) or `pulumi preview --json` output. It counts additions,
changes and deletions per region and component, lists property changes, flags replacements and deletions
of stateful resources as data loss, and shows guardrail violations introduced or fixed, and the cost and
capacity deltas when both plan documents carry those sections (a preview has neither).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.capacity_report import usd as _usd
from offline.capacity_report import worst_rows
from offline.urn_snapshot import STATEFUL_TYPES

# Properties whose change makes the provider replace the resource (pulumi-aws schema `forceNew`; curated).
REPLACING: dict[str, frozenset[str]] = {
    "aws:rds/globalCluster:GlobalCluster": frozenset({"globalClusterIdentifier", "engine", "storageEncrypted",
                                                      "databaseName"}),
    "aws:rds/cluster:Cluster": frozenset({"clusterIdentifier", "engine", "kmsKeyId", "storageEncrypted",
                                          "dbSubnetGroupName", "masterUsername", "databaseName", "snapshotIdentifier"}),
    "aws:rds/clusterInstance:ClusterInstance": frozenset({"identifier", "clusterIdentifier", "engine",
                                                          "dbSubnetGroupName"}),
    "aws:msk/cluster:Cluster": frozenset({"clusterName", "encryptionInfo", "brokerNodeGroupInfo.clientSubnets",
                                          "brokerNodeGroupInfo.securityGroups"}),
    "aws:elasticache/replicationGroup:ReplicationGroup": frozenset({"replicationGroupId", "atRestEncryptionEnabled",
                                                                    "kmsKeyId", "subnetGroupName", "engine"}),
    "aws:eks/cluster:Cluster": frozenset({"name", "encryptionConfig", "kubernetesNetworkConfig",
                                          "bootstrapSelfManagedAddons"}),
    "aws:kms/key:Key": frozenset({"customerMasterKeySpec", "keyUsage", "multiRegion"}),
    "aws:secretsmanager/secret:Secret": frozenset({"name"}),
    "aws:ec2/vpc:Vpc": frozenset({"cidrBlock"}),
    "kafka:index/topic:Topic": frozenset({"name", "replicationFactor"}),
    "random:index/randomPassword:RandomPassword": frozenset({"length", "special", "overrideSpecial", "keepers"}),
}


@dataclass
class Resource:
    urn: str
    type: str
    region: str | None
    inputs: Mapping[str, Any]
    stack: str = ""  # plan documents name it; a preview's URN carries it

    @property
    def name(self) -> str:
        return self.urn.split("::")[-1]


@dataclass
class Side:
    resources: dict[str, Resource]
    violations: set[tuple[str, str, str]] = field(default_factory=set)  # (enforcement, id, message)
    # From `pulumi preview --json`: the engine's own verdict per URN (create, update, replace, delete, ...).
    operations: dict[str, str] = field(default_factory=dict)
    cost: Mapping[str, Any] | None = None
    capacity: Mapping[str, Any] | None = None


def _stack_of(urn: str) -> str:
    return urn.split("::")[0].removeprefix("urn:pulumi:")


def load(path: Path, stack: str | None = None) -> Side:
    """A side of the diff; ``stack`` keeps only that stack's resources (a whole-environment document holds all)."""
    side = _load(path)
    if stack:
        side.resources = {u: r for u, r in side.resources.items() if r.stack == stack}
    return side


def _load(path: Path) -> Side:
    data = json.loads(path.read_text(encoding="utf-8"))
    if "steps" in data:  # pulumi preview --json
        resources: dict[str, Resource] = {}
        operations: dict[str, str] = {}
        for step in data["steps"]:
            state = step.get("newState") or step.get("oldState") or {}
            urn = str(step.get("urn") or state.get("urn"))
            operations[urn] = str(step.get("op", "same"))
            resources[urn] = Resource(urn, state.get("type") or urn.split("::")[2].split("$")[-1], None,
                                      state.get("inputs") or {}, _stack_of(urn))
        return Side(resources, operations=operations)
    resources = {r["urn"]: Resource(r["urn"], r["type"], r["region"], r["inputs"],
                                    r.get("stack") or _stack_of(r["urn"]))
                 for r in data["resources"] if r["custom"]}
    violations = {(v["enforcement"], v["id"], v["message"]) for v in data.get("policyViolations") or []}
    return Side(resources, violations, cost=data.get("cost"), capacity=data.get("capacity"))


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested inputs as dotted paths; lists are compared whole."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def changed_paths(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    old, new = flatten(before), flatten(after)
    return sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))


def replaces(resource_type: str, paths: list[str]) -> list[str]:
    forcing = REPLACING.get(resource_type, frozenset())
    return [p for p in paths if any(p == f or p.startswith(f + ".") for f in forcing)]


def _component(resource: Resource) -> str:
    module, name = resource.type.split(":")[1:3]
    return f"{module.split('/')[0]}/{name}" if module not in ("index", "") else f"{resource.type.split(':')[0]}/{name}"


def render(base: Side, head: Side, limit: int = 40) -> str:
    added = [head.resources[u] for u in sorted(head.resources.keys() - base.resources.keys())]
    deleted = [base.resources[u] for u in sorted(base.resources.keys() - head.resources.keys())]
    changes: list[tuple[Resource, list[str]]] = []
    for urn in sorted(base.resources.keys() & head.resources.keys()):
        paths = changed_paths(base.resources[urn].inputs, head.resources[urn].inputs)
        if paths or head.operations.get(urn, "same") != "same":
            changes.append((head.resources[urn], paths))
    replaced = [(r, replaces(r.type, p)) for r, p in changes
                if replaces(r.type, p) or head.operations.get(r.urn) == "replace"]
    data_loss = [r for r in deleted if r.type in STATEFUL_TYPES] + [r for r, _ in replaced if r.type in STATEFUL_TYPES]

    lines = ["## Infrastructure diff", ""]
    if data_loss:
        lines += ["### :warning: Data loss", "",
                  "These stateful resources would be deleted or replaced. If this is a rename, add an alias; "
                  "otherwise make sure the data is moved first.", ""]
        lines += [f"- `{r.urn}`" for r in data_loss]
        lines.append("")
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for kind, items in (("added", added), ("changed", [r for r, _ in changes]), ("deleted", deleted)):
        for r in items:
            counts[(r.stack, r.region or "global", _component(r), kind)] += 1
    lines += ["### Summary", "", "| Stack | Region | Component | Added | Changed | Deleted |",
              "|---|---|---|---:|---:|---:|"]
    for key in sorted({k[:3] for k in counts}):
        lines.append(f"| {' | '.join(key)} | {counts[(*key, 'added')]} | {counts[(*key, 'changed')]} | "
                     f"{counts[(*key, 'deleted')]} |")
    if not counts:
        lines.append("| - | - | no changes | 0 | 0 | 0 |")
    lines.append("")
    lines += _named("Added", added, limit) + _named("Replaced", [r for r, _ in replaced], limit)
    lines += _named("Deleted", deleted, limit)
    if changes:
        lines += ["### Property changes", ""]
        for r, paths in changes[:limit]:
            forced = replaces(r.type, paths)
            note = f" (replacement: {', '.join(forced)})" if forced else ""
            lines.append(f"- `{r.urn.split('::')[-1]}` ({_component(r)}, {r.region or 'global'}){note}: "
                         + ", ".join(f"`{p}`" for p in paths[:8]) + (" ..." if len(paths) > 8 else ""))
        if len(changes) > limit:
            lines.append(f"- ... and {len(changes) - limit} more")
        lines.append("")
    introduced, fixed = head.violations - base.violations, base.violations - head.violations
    if introduced or fixed:
        lines += ["### Guardrails", ""]
        lines += [f"- introduced ({level}): {message}" for level, _, message in sorted(introduced)]
        lines += [f"- fixed ({level}): {message}" for level, _, message in sorted(fixed)]
        lines.append("")
    lines += (cost_delta(base.cost, head.cost) + headroom_delta(base.capacity, head.capacity)
              + capacity_delta(base.capacity, head.capacity))
    return "\n".join(lines)


def _named(title: str, resources: list[Resource], limit: int) -> list[str]:
    """Every resource of one kind of change, by stack, type, name and region (the first ``limit`` of them)."""
    if not resources:
        return []
    lines = [f"### {title} ({len(resources)})", "", "| Stack | Type | Name | Region |", "|---|---|---|---|"]
    lines += [f"| {r.stack} | `{r.type}` | `{r.name}` | {r.region or 'global'} |" for r in resources[:limit]]
    if len(resources) > limit:
        lines.append(f"| ... | and {len(resources) - limit} more | | |")
    return [*lines, ""]


def _signed_usd(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):,.0f}"


def cost_delta(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[str]:
    """Monthly cost per region and in total, base -> head, when it moved."""
    if not base or not head or base["monthlyTotal"] == head["monthlyTotal"]:
        return []
    regions = list(dict.fromkeys([*base["regions"], *head["regions"]]))
    lines = ["### Cost (monthly, on-demand list prices)", "",
             "| Region | Base | Head | Change |", "|---|---:|---:|---:|"]
    for region in regions:
        old = base["regions"].get(region, {}).get("total", 0.0)
        new = head["regions"].get(region, {}).get("total", 0.0)
        if old != new:
            lines.append(f"| {region} | {_usd(old)} | {_usd(new)} | {_signed_usd(new - old)} |")
    old, new = base["monthlyTotal"], head["monthlyTotal"]
    lines.append(f"| **total** | {_usd(old)} | {_usd(new)} | **{_signed_usd(new - old)}** "
                 f"({(new - old) / old:+.1%}) |" if old else f"| **total** | - | {_usd(new)} | |")
    per_user = head.get("usdPerUserMonth")
    if per_user is not None:
        lines.append("")
        lines.append(f"Head: ${per_user:.6f} per user per month"
                     + (" (a lower bound: some items are unpriced)" if head.get("lowerBound") else "") + ".")
    return [*lines, ""]


def _capacity_leaves(capacity: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """(region, dotted path) -> value; quotas keyed by their name instead of their list position."""
    leaves: dict[tuple[str, str], Any] = {}
    for region, figures in capacity["regions"].items():
        rest = {k: v for k, v in figures.items() if k != "quotas"}
        leaves |= {(region, path): value for path, value in flatten(rest).items()}
        leaves |= {(region, f"quota {q['quota']}"): f"{q['need']} / {q['limit']}" for q in figures.get("quotas", [])}
    return leaves


def headroom_delta(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[str]:
    """What the change does to each tier's headroom in its worst scenario (`capacity.tiers`), where it moved."""
    if not base or not head or "tiers" not in base or "tiers" not in head:
        return []
    old = {(r["region"], r["tier"]): r for r in worst_rows(list(base["tiers"]))}
    new = {(r["region"], r["tier"]): r for r in worst_rows(list(head["tiers"]))}
    moved = [k for k in sorted(old.keys() | new.keys())
             if (old.get(k) or {}).get("headroomPercent") != (new.get(k) or {}).get("headroomPercent")]
    if not moved:
        return []
    required = head["demand"]["headroomPercent"]

    def cell(row: Mapping[str, Any] | None) -> str:
        if row is None:
            return "-"
        percent = row["headroomPercent"]
        mark = " :x:" if percent is not None and percent < required else ""
        return f"{percent:+.1f}% ({row['scenario']}){mark}"

    lines = ["### Capacity headroom (worst scenario per tier)", "",
             f"Required: {required}%; :x: marks a tier below it (`make plan` refuses such a manifest).", "",
             "| Region | Tier | Base | Head |", "|---|---|---:|---:|"]
    lines += [f"| {region} | {tier} | {cell(old.get((region, tier)))} | {cell(new.get((region, tier)))} |"
              for region, tier in moved]
    return [*lines, ""]


def capacity_delta(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[str]:
    """Every capacity figure that changed, and default quotas newly exceeded or back within limits."""
    if not base or not head:
        return []
    old, new = _capacity_leaves(base), _capacity_leaves(head)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    exceeded = sorted(set(head["quotasExceeded"]) - set(base["quotasExceeded"]))
    relieved = sorted(set(base["quotasExceeded"]) - set(head["quotasExceeded"]))
    if not (changed or exceeded or relieved):
        return []
    lines = ["### Capacity", ""]
    lines += [f"- :warning: newly over a default quota: {item}" for item in exceeded]
    lines += [f"- back within a default quota: {item}" for item in relieved]
    if changed:
        lines += [*([""] if exceeded or relieved else []), "| Region | Figure | Base | Head |", "|---|---|---:|---:|"]
        lines += [f"| {region} | {path} | {old.get((region, path), '-')} | {new.get((region, path), '-')} |"
                  for region, path in changed]
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make diff", description=__doc__)
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--head", type=Path, required=True)
    parser.add_argument("--stack", help="only this stack's resources (the documents may hold a whole environment)")
    args = parser.parse_args(argv)
    print(render(load(args.base, args.stack), load(args.head, args.stack)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
