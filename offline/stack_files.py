"""Read a stack's ``Pulumi.<stack>.yaml`` the way the CLI would hand it to the program."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from program.config import ConfigError, stack_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Stand-in for `secure:` values: the CLI decrypts them; offline there is no key, and no plan needs them.
OFFLINE_SECRET = "offline-plan-placeholder-secret"
# ... except where the program validates a secret's shape before it plans anything.
OFFLINE_SECRETS = {"global-platform:alertWebhookUrl": "https://on-call.invalid/offline-plan-placeholder"}


def stacks() -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in PROJECT_DIR.glob("Pulumi.*.yaml"))


def read(stack: str, directory: Path = PROJECT_DIR) -> tuple[dict[str, str], list[str]]:
    """Config values as namespaced strings (``project:key``), and the keys that hold secrets."""
    path = directory / stack_file(stack)
    if not path.is_file():
        raise ConfigError(f"{stack_file(stack)}: (file): no such stack; known stacks: {', '.join(stacks())}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{stack_file(stack)}: (file): not valid YAML ({exc})") from None
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{stack_file(stack)}: config: must be a mapping of keys to values")
    values: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = OFFLINE_SECRETS.get(key, OFFLINE_SECRET)
            secrets.append(key)
        elif isinstance(value, str):
            values[key] = value
        else:  # objects, lists, numbers and booleans reach programs JSON-encoded
            values[key] = json.dumps(value)
    return values, secrets


def check_agreement(stacks: list[str], directory: Path = PROJECT_DIR) -> None:
    """Every key that several of an environment's stack files hold has one value in all of them.

    The account, owner, cost centre and the like are facts of the environment that Pulumi keeps per stack;
    a file that disagrees is refused here, naming both files, before anything is planned.
    """
    seen: dict[str, tuple[str, str]] = {}  # key -> (first file holding it, its value)
    problems = []
    for stack in stacks:
        values, secrets = read(stack, directory)
        for key, value in values.items():
            if key in secrets or key.endswith((":layer", ":region", ":githubConnectionArn")):
                continue  # secrets are encrypted per stack; layer, region and connection differ by design
            if key not in seen:
                seen[key] = (stack_file(stack), value)
            elif seen[key][1] != value:
                problems.append(f"{stack_file(stack)}: {key}: {value!r} differs from {seen[key][1]!r} in "
                                f"{seen[key][0]}; the stacks of one environment must agree")
    if problems:
        raise ConfigError("\n".join(problems))
