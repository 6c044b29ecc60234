"""The program's entry: inputs are validated completely before the first resource is registered."""

from __future__ import annotations

from pathlib import Path

import pulumi

from program import config as stack_config
from program.build import build
from regions import loader


def run(manifest_override: Path | None = None) -> None:
    """``manifest_override`` lets the offline plan and tests point at another manifest file."""
    try:
        config = stack_config.read()
        path = manifest_override or loader.manifest_path(config.environment)
        manifest = loader.load(path, config.environment)
        stack_config.check_region(config, manifest, pulumi.get_stack())
        stack_config.check_entitlements(config, pulumi.get_stack())
    except (stack_config.ConfigError, loader.ManifestError) as exc:
        # RunError ends `pulumi up` with just this message, no traceback.
        raise pulumi.RunError(str(exc)) from None
    build(config, manifest)
