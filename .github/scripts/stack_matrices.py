"""The matrices deploy.yml and preview.yml run, from the stack layout (regions/stacks.py via offline.layout).

    PYTHONPATH=. .venv/bin/python .github/scripts/stack_matrices.py deploy [--first-deploy true|false]
    PYTHONPATH=. .venv/bin/python .github/scripts/stack_matrices.py preview

Each prints `name=<compact JSON>` lines for $GITHUB_OUTPUT; the jobs read them with `fromJSON`.

deploy: per environment and deploy wave, one entry per region naming its three regional stacks and the CodeBuild
project of its in-VPC runner (`<env>_wave<n>`), and the global stack's name (`<env>_global`). deploy.yml has one
set of jobs per wave it knows (WORKFLOW_WAVES); a manifest with another number of waves stops here, before
anything deploys, rather than being squeezed into the jobs there are. With --first-deploy true the first wave is
every region of the environment (the layout's `order`: all infra, all replicas, global, all clusters; deploy.yml
skips the later waves then).

preview: every stack of every environment, split by where it must run: `hosted` (GitHub-hosted runners, AWS
through OIDC) and `in_vpc` (the region's CodeBuild runner).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from offline.layout import ENVIRONMENTS, as_json, layout

# How many deploy waves deploy.yml has jobs for, per environment.
WORKFLOW_WAVES: dict[str, int] = {"dev": 1, "prod": 2}
REGIONAL_LAYERS = ("infra", "replicas", "cluster")


class LayoutMismatch(ValueError):
    """The layout cannot be run by the workflow's jobs as they are written."""


def _regions(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """region -> {region, infra, replicas, cluster, runnerProject}, from the layout document's stacks."""
    entries: dict[str, dict[str, Any]] = {}
    for stack in doc["stacks"]:
        if stack["region"] is None:
            continue
        entry = entries.setdefault(stack["region"], {"region": stack["region"]})
        if stack["layer"] in entry:
            raise LayoutMismatch(f"{doc['environment']}: two {stack['layer']} stacks in {stack['region']}")
        entry[stack["layer"]] = stack["name"]
        if stack["inVpc"]:
            if not stack["runnerProject"]:
                raise LayoutMismatch(f"{stack['name']} runs in the VPC but names no runner project")
            entry["runnerProject"] = stack["runnerProject"]
    for region, entry in entries.items():
        missing = [layer for layer in (*REGIONAL_LAYERS, "runnerProject") if layer not in entry]
        if missing:
            raise LayoutMismatch(f"{doc['environment']} {region}: no {', '.join(missing)}")
    return entries


def _global(doc: dict[str, Any]) -> str:
    names = [s["name"] for s in doc["stacks"] if s["layer"] == "global"]
    if len(names) != 1:
        raise LayoutMismatch(f"{doc['environment']}: {len(names)} global stacks, the workflows deploy exactly one")
    return str(names[0])


def deploy_matrices(docs: dict[str, dict[str, Any]], first_deploy: bool = False) -> dict[str, Any]:
    """The outputs deploy.yml's layout job sets, from the layout documents (`as_json`) of every environment."""
    out: dict[str, Any] = {}
    for env, expected in WORKFLOW_WAVES.items():
        doc = docs[env]
        regions = _regions(doc)
        waves: list[list[str]] = doc["waves"]
        if len(waves) != expected:
            raise LayoutMismatch(f"{env} deploys in {len(waves)} wave(s) ({waves}) but deploy.yml has jobs for "
                                 f"{expected}; change deploy.yml (and WORKFLOW_WAVES) with the manifest")
        listed = [r for wave in waves for r in wave]
        if sorted(listed) != sorted(regions) or len(set(listed)) != len(listed):
            raise LayoutMismatch(f"{env}: the waves {waves} do not list each region {sorted(regions)} once")
        if first_deploy:
            # Every region in the first wave, in the layout's order (the later waves' jobs are skipped).
            order = [s["region"] for s in doc["stacks"] if s["layer"] == "infra"]
            waves = [order, *waves[1:]]
        for i, wave in enumerate(waves, 1):
            out[f"{env}_wave{i}"] = [regions[r] for r in wave]
        out[f"{env}_global"] = _global(doc)
    return out


def preview_matrices(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every stack of every environment: `hosted` ones and `in_vpc` ones (with their runner project)."""
    hosted: list[dict[str, Any]] = []
    in_vpc: list[dict[str, Any]] = []
    for env in ENVIRONMENTS:
        for stack in docs[env]["stacks"]:
            entry = {"environment": env, "stack": stack["name"], "layer": stack["layer"], "region": stack["region"]}
            if stack["inVpc"]:
                in_vpc.append({**entry, "runnerProject": stack["runnerProject"]})
            else:
                hosted.append(entry)
    return {"hosted": hosted, "in_vpc": in_vpc}


def layout_documents() -> dict[str, dict[str, Any]]:
    return {env: as_json(layout(env)) for env in ENVIRONMENTS}


def github_output(values: dict[str, Any]) -> str:
    """`name=value` lines: strings as they are, anything else as compact JSON (read with `fromJSON`)."""
    return "".join(f"{name}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}\n"
                   for name, value in values.items())


def _bool(text: str) -> bool:
    if text not in ("true", "false", ""):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text == "true"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="workflow", required=True)
    deploy = sub.add_parser("deploy", help="deploy.yml's waves and global stacks")
    deploy.add_argument("--first-deploy", type=_bool, default=False, metavar="true|false",
                        help="an empty environment: every region in the first wave (the layout's order)")
    sub.add_parser("preview", help="preview.yml's stacks")
    args = parser.parse_args(argv)
    try:
        docs = layout_documents()
        values = deploy_matrices(docs, args.first_deploy) if args.workflow == "deploy" else preview_matrices(docs)
    except LayoutMismatch as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 1
    sys.stdout.write(github_output(values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
