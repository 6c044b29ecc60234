"""What preflight and verify share: the stack's account and manifest, the AWS session, and one error type."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from rich.console import Console

from regions import loader
from regions.schema import Manifest

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2
# Errors that mean "these credentials cannot do this here": reported as one message, exit 2.
AWS_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


class OperatorError(Exception):
    """Bad input (stack, manifest, outputs) or unusable credentials; the message says which and what to do."""


@dataclass(frozen=True)
class Target:
    stack: str  # an environment (all of its stacks) or one stack
    account_id: str
    manifest: Manifest
    stacks: tuple[str, ...] = ()  # every stack of the environment, in deploy order (whose outputs are read)
    region: str | None = None  # a regional stack's region: only what lives there is checked


def load_target(stack: str, manifest_path: Path | None = None) -> Target:
    """The environment's account and manifest, validated like `make plan`; ``stack`` names it or one of its stacks.

    The account is read from the environment's first infra stack file (`make plan` refuses files that disagree).
    """
    from offline import stack_files
    from program import config as stack_config
    from regions.stacks import Layout, environment_of

    environment = environment_of(stack)
    try:
        manifest = loader.load(manifest_path or loader.manifest_path(environment), environment)
        layout = Layout(manifest)
        names = [s.name for s in layout.order()]
        if stack != environment and stack not in names:
            raise OperatorError(f"no stack {stack}; the stacks of {environment} are {', '.join(names)}")
        infra = next(s for s in layout.order() if s.layer == "infra")
        values, _secrets = stack_files.read(infra.name)
        prefix = f"{stack_config.PROJECT}:"
        config = stack_config.parse({k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)},
                                    infra.name)
    except (stack_config.ConfigError, loader.ManifestError) as exc:
        raise OperatorError(str(exc)) from None
    assert config.aws_account_id is not None  # required of infra stacks
    region = layout.by_name(stack).region if stack != environment else None
    return Target(stack, config.aws_account_id, manifest, tuple(names), region)


def aws_session(target: Target) -> boto3.Session:
    """A session whose credentials belong to the stack's account; anything else stops before the first check."""
    session = boto3.Session()
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except AWS_ERRORS as exc:
        raise OperatorError(f"AWS credentials are missing or unusable ({exc}); "
                            "configure credentials for the stack's account (for example AWS_PROFILE)") from None
    if account != target.account_id:
        raise OperatorError(f"the AWS credentials are for account {account}, but the stacks of {target.stack} deploy "
                            f"to account {target.account_id}; use credentials for that account")
    return session


def tag_map(tags: Iterable[Mapping[str, Any]] | Mapping[str, str] | None) -> dict[str, str]:
    """Tags as a dict, from either shape AWS uses: ``[{"Key": k, "Value": v}]`` or ``{k: v}``."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags}


def console(stderr: bool = False) -> Console:
    # CI logs are not terminals: give the tables room instead of rich's 80-column default (as `make plan`).
    return Console(stderr=stderr, width=None if sys.stdout.isatty() else 150)


def fail(message: str) -> int:
    err = console(stderr=True)
    err.print("[bold red]error:[/bold red] ", end="")
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    return EXIT_BAD_INPUT
