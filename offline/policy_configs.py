"""The guardrail pack's config per stack layer, generated from the environment's (`make docs` rewrites them).

CrossGuard sees one stack at a time. A few platform invariants are about the whole environment and cannot
be judged from one stack's resources; in the layers where they would fail closed on resources that live in
another stack, the layer's config turns them off, and the offline plan enforces them on the whole
environment instead (`make plan`, the required CI check). Everything else is as `policies/config/<env>.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from offline.guardrails import PACK_DIR
from regions import loader
from regions.stacks import LAYERS

CONFIG_DIR = PACK_DIR / "config"
ENVIRONMENTS = ("prod", "dev")
# Layer -> rule -> why the stack alone cannot show it (the whole-environment plan checks it).
WHOLE_ENVIRONMENT: dict[str, dict[str, str]] = {
    "replicas": {
        "platform-global-cluster-topology": "its secondaries join global clusters that live in the home regions' "
                                            "infra stacks",
        "platform-region-symmetry": "the region's tiers (VPC, EKS, MSK, cache) are in its infra stack",
        "platform-credentials": "the shard groups whose master secrets it keeps have their clusters in the infra "
                                "stacks; its secret strings are read from the infra stack, where P14 checks them",
    },
    "cluster": {
        "platform-region-symmetry": "the region's tiers (VPC, EKS, MSK, cache, Aurora) are in its infra stack",
        "platform-connection-budget": "the Aurora instances PgBouncer's pools reach are in the infra and replicas "
                                      "stacks",
    },
}


def path(environment: str, layer: str) -> Path:
    return CONFIG_DIR / f"{environment}-{layer}.json"


COST_RULE = "platform-cost-ceiling"


def environment_config(environment: str) -> dict[str, Any]:
    """`<env>.json` with the cost rule's backup estimate taken from the manifest (its one source)."""
    base = json.loads((CONFIG_DIR / f"{environment}.json").read_text(encoding="utf-8"))
    gib = loader.load(loader.manifest_path(environment), environment).backups.estimated_gib_per_group
    base[COST_RULE] = {**base.get(COST_RULE, {}), "backupGibPerCluster": gib}
    return base


def config(environment: str, layer: str) -> dict[str, Any]:
    base = environment_config(environment)
    for rule in WHOLE_ENVIRONMENT.get(layer, {}):
        base[rule] = {"enforcementLevel": "disabled"}
    return base


def render(environment: str, layer: str) -> str:
    return json.dumps(config(environment, layer), indent=2) + "\n"


def render_environment(environment: str) -> str:
    return json.dumps(environment_config(environment), indent=2) + "\n"


def write() -> list[Path]:
    written = []
    for env in ENVIRONMENTS:
        target = CONFIG_DIR / f"{env}.json"
        target.write_text(render_environment(env), encoding="utf-8")
        written.append(target)
        for layer in LAYERS:
            target = path(env, layer)
            target.write_text(render(env, layer), encoding="utf-8")
            written.append(target)
    return written
