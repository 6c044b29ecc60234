"""The stack layout of an environment: which stacks exist, what each reads, and the order they deploy in.

Every environment is cut into stacks by AWS region and by network reach (plain data, derived from the
manifest; the program, `make plan`, the workflows' matrices and docs/stacks.md all read it from here):

- ``<env>-<region>`` (layer ``infra``): everything in that region reachable through the AWS API alone: the
  VPC, EKS (control plane, node groups, add-ons), the region's KMS keys, Aurora's regional pieces and the
  primary clusters of the shard groups homed there, MSK, the cache, the ingress NLB, alerts and alarms, and
  the in-VPC deploy runner the ``cluster`` stack runs on.
- ``<env>-<region>-replicas`` (layer ``replicas``): the cross-region members that live in the region: the
  Aurora secondaries of other regions' shard groups (joining each global cluster by its identifier) and
  the MSK Replicators arriving from the regions it is a DR region of. Separate from ``infra`` so that a
  first deploy converges in one pass (every home region's primaries exist before any secondary joins)
  without a stack-level cycle between regions.
- ``<env>-global`` (layer ``global``): what has no region: the Cloudflare edge (its pools point at every
  region's NLB) and the platform's generated database logins and PgBouncer CA (pulumi-random/tls).
- ``<env>-<region>-cluster`` (layer ``cluster``): what needs private network reach into the region's VPC:
  Kubernetes objects (namespaces, Helm releases, PgBouncer, monitoring, TargetGroupBinding) and Kafka topics,
  plus the region's copies of the shard map and the database login. Runs on the region's in-VPC runner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from regions.schema import Manifest
from regions.shards import ShardMap

Layer = Literal["infra", "replicas", "global", "cluster"]
LAYERS: tuple[Layer, ...] = ("infra", "replicas", "global", "cluster")
# Layers whose deploy job must run inside the region's VPC (private EKS API, brokers on 9098).
IN_VPC_LAYERS = frozenset({"cluster"})


@dataclass(frozen=True, order=True)
class StackId:
    environment: str
    layer: Layer
    region: str | None = None  # None only for the global layer

    @property
    def name(self) -> str:
        if self.region is None:
            return f"{self.environment}-global"
        suffix = "" if self.layer == "infra" else f"-{self.layer}"
        return f"{self.environment}-{self.region}{suffix}"

    @property
    def in_vpc(self) -> bool:
        return self.layer in IN_VPC_LAYERS


def stack_id(environment: str, layer: Layer, region: str | None = None) -> StackId:
    if (layer == "global") != (region is None):
        raise ValueError(f"layer {layer!r} {'takes no' if layer == 'global' else 'needs a'} region")
    return StackId(environment, layer, region)


def environment_of(stack: str) -> str:
    """``prod`` -> ``prod``; ``prod-us-east-1-cluster`` -> ``prod`` (environments are the manifests' names)."""
    return stack.split("-", 1)[0]


def runner_project(environment: str, short_code: str) -> str:
    """The CodeBuild project hosting a region's in-VPC GitHub Actions runner (`runs-on: codebuild-<this>-...`)."""
    return f"{environment}-{short_code}-deploy-runner"


@dataclass(frozen=True)
class Layout:
    manifest: Manifest

    @property
    def environment(self) -> str:
        return self.manifest.environment

    def stacks(self) -> list[StackId]:
        """Every stack of the environment, in an order that deploys (each after every stack it reads)."""
        env = self.environment
        regions = self.manifest.region_names
        return [*(StackId(env, "infra", r) for r in regions), *(StackId(env, "replicas", r) for r in regions),
                StackId(env, "global"), *(StackId(env, "cluster", r) for r in regions)]

    def by_name(self, name: str) -> StackId:
        for stack in self.stacks():
            if stack.name == name:
                return stack
        raise KeyError(name)

    def reads(self, stack: StackId) -> list[StackId]:
        """The stacks whose outputs ``stack`` reads through StackReferences, sorted."""
        env, shard_map = self.environment, ShardMap(self.manifest)
        if stack.layer == "infra":
            return []
        if stack.layer == "global":
            return [StackId(env, "infra", r) for r in self.manifest.region_names]
        assert stack.region is not None
        if stack.layer == "replicas":
            region = stack.region
            # Homes of the secondaries it hosts (their global clusters), sources of the replicators arriving,
            # and the DR regions of its own groups (the keys their master secrets replicate under).
            homes = {g.home_region for g in shard_map.groups if region in g.dr_regions}
            sources = {r.name for r in self.manifest.regions if region in r.dr_regions}
            drs = set(self.manifest.region(region).dr_regions)
            return sorted(StackId(env, "infra", r) for r in {region, *homes, *sources, *drs})
        # cluster: its own region's stacks, the global logins, and whichever stack holds each group's writer.
        writers = {self.member_stack(g.home_region, g.current_writer) for g in shard_map.groups}
        return sorted({StackId(env, "infra", stack.region), StackId(env, "replicas", stack.region),
                       StackId(env, "global"), *writers})

    def member_stack(self, home_region: str, region: str) -> StackId:
        """The stack holding a shard group's cluster in ``region``: the home's infra stack, else the replicas."""
        layer: Layer = "infra" if region == home_region else "replicas"
        return StackId(self.environment, layer, region)

    def waves(self) -> list[list[str]]:
        """Regions deployed together, in order (the manifest's ``deploy_waves``; one wave when unset)."""
        return [list(w) for w in self.manifest.deploy_waves] or [self.manifest.region_names]

    def order(self) -> list[StackId]:
        """``stacks()`` checked to be a valid deploy order: a stack never reads one listed after it."""
        seen: set[StackId] = set()
        for stack in self.stacks():
            late = [r.name for r in self.reads(stack) if r not in seen]
            if late:
                raise AssertionError(f"{stack.name} reads {late} before they deploy")
            seen.add(stack)
        return self.stacks()


def closure(layout: Layout, names: Iterable[str]) -> list[StackId]:
    """The named stacks and every stack they read, transitively, in deploy order."""
    wanted: set[StackId] = set()
    todo = [layout.by_name(n) for n in names]
    while todo:
        stack = todo.pop()
        if stack not in wanted:
            wanted.add(stack)
            todo.extend(layout.reads(stack))
    return [s for s in layout.order() if s in wanted]
