"""The URNs of stateful resources, per stack, committed so that no refactor replaces a database unnoticed.

A stateful resource whose URN disappears from the plan would be deleted and recreated by `pulumi up`
(data loss), unless the resource at its new URN declares the old one as an alias. `make urn-snapshot
STACK=<stack>` records the current URNs on purpose (a reviewed change: removals are deletions).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "tests" / "urn_snapshots"
# Replacing any of these loses data, keys, credentials or a running cluster.
STATEFUL_TYPES = frozenset({
    "aws:rds/globalCluster:GlobalCluster", "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance",
    "aws:msk/cluster:Cluster", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:eks/cluster:Cluster",
    "aws:kms/key:Key", "aws:secretsmanager/secret:Secret", "aws:backup/vault:Vault",
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration", "random:index/randomPassword:RandomPassword",
    "random:index/randomBytes:RandomBytes", "kafka:index/topic:Topic", "aws:ec2/vpc:Vpc",
})


def snapshot_path(stack: str) -> Path:
    return SNAPSHOT_DIR / f"{stack}.txt"


def stateful_urns(document: Mapping[str, Any]) -> list[str]:
    return sorted(r["urn"] for r in document["resources"] if r["type"] in STATEFUL_TYPES)


def read(stack: str) -> list[str]:
    path = snapshot_path(stack)
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]


@dataclass(frozen=True)
class Drift:
    lost: list[str]  # recorded URNs no planned resource has (or aliases): `pulumi up` would replace them
    new: list[str]  # planned stateful URNs not yet recorded

    def message(self, stack: str) -> str:
        lines = []
        if self.lost:
            lines.append(f"{len(self.lost)} stateful resource(s) of stack {stack} would be deleted and recreated:")
            lines += [f"  {urn}" for urn in self.lost]
            lines.append("If you renamed or moved them, keep their identity: add "
                         "opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name=<old name>, parent=<old parent>)]) "
                         "to the new registration. If the deletion is intended, run "
                         f"`make urn-snapshot STACK={stack}` and say so in the pull request.")
        if self.new:
            lines.append(f"{len(self.new)} new stateful resource(s) in stack {stack}; record them with "
                         f"`make urn-snapshot STACK={stack}`:")
            lines += [f"  {urn}" for urn in self.new]
        return "\n".join(lines)


def compare(document: Mapping[str, Any], recorded: list[str]) -> Drift:
    planned = set(stateful_urns(document))
    answered = planned | {alias for r in document["resources"] if r["type"] in STATEFUL_TYPES
                          for alias in r.get("aliases") or []}
    return Drift(lost=sorted(set(recorded) - answered), new=sorted(planned - set(recorded)))


def write(stack: str, document: Mapping[str, Any]) -> Path:
    path = snapshot_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [f"# Stateful resources of stack {stack}: `make urn-snapshot STACK={stack}` rewrites this file.",
              "# A URN that disappears without an alias is a deletion; review every change here."]
    path.write_text("\n".join([*header, *stateful_urns(document)]) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make urn-snapshot", description=__doc__)
    parser.add_argument("--stack", default="prod", help="an environment (all its stacks, one file) or one stack")
    args = parser.parse_args(argv)
    from offline import environment

    doc = environment.document_of(args.stack)
    path = write(args.stack, doc)
    print(f"{path.relative_to(SNAPSHOT_DIR.parent.parent)}: {len(stateful_urns(doc))} stateful URNs recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
