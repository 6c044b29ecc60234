"""The manifest's backups and rotation blocks: the committed manifests pass; each failure mode is rejected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from regions import loader
from tests.manifest_edits import Edit, assert_refused
from tests.manifest_edits import set_path as _set

FAILURES: list[tuple[str, Edit, str, str]] = [
    ("production without a vault lock", _set("backups.vault_lock", None), "backups.vault_lock",
     "production vaults are locked in compliance mode"),
    ("lock minimum above its maximum", _set("backups.vault_lock.min_retention_days", 500),
     "backups.vault_lock.min_retention_days", "must not exceed max_retention_days (500 > 400)"),
    ("daily retention under the lock's minimum", _set("backups.daily_retention_days", 7),
     "backups.daily_retention_days", "the vault lock accepts only 30 to 400 days (got 7)"),
    ("copies kept past the lock's maximum", _set("backups.copy_retention_days", 401),
     "backups.copy_retention_days", "the vault lock accepts only 30 to 400 days (got 401)"),
    ("continuous window under the lock's minimum", _set("backups.continuous_retention_days", 14),
     "backups.continuous_retention_days", "the vault lock accepts only 30 to 400 days (got 14)"),
    ("continuous window past AWS Backup's 35 days", _set("backups.continuous_retention_days", 36),
     "backups.continuous_retention_days", "less than or equal to 35"),
    ("lock grace period under AWS's 3 days", _set("backups.vault_lock.grace_days", 2),
     "backups.vault_lock.grace_days", "greater than or equal to 3"),
    ("schedule not a cron expression", _set("backups.schedule", "daily"), "backups.schedule",
     "String should match pattern"),
    ("backup account not an account id", _set("backups.backup_account_id", "backups"),
     "backups.backup_account_id", "String should match pattern"),
    ("master secret rotated too rarely", _set("rotation.master_days", 120), "rotation.master_days",
     "credentials rotate at least every 90 days (got 120)"),
    ("cache password rotated too rarely", _set("rotation.cache_days", 91), "rotation.cache_days",
     "credentials rotate at least every 90 days (got 91)"),
    ("database logins rotated too rarely", _set("rotation.login_days", 365), "rotation.login_days",
     "credentials rotate at least every 90 days (got 365)"),
]


@pytest.mark.parametrize(("case", "edit", "field", "rule"), FAILURES, ids=[c[0] for c in FAILURES])
def test_bad_backup_or_rotation_settings_are_rejected(case: str, edit: Edit, field: str, rule: str,
                                                      raw_manifest: Any,
                                                      write_manifest: Callable[[dict[str, Any]], Path]) -> None:
    data = raw_manifest("prod")
    edit(data)
    assert_refused(write_manifest(data), "prod", field, rule)


def test_development_may_go_without_a_lock(raw_manifest: Any, write_manifest: Any) -> None:
    data = raw_manifest("dev")
    assert "vault_lock" not in data["backups"]
    assert loader.load(write_manifest(data), "dev").backups.vault_lock is None


def test_a_backup_account_is_accepted(raw_manifest: Any, write_manifest: Any) -> None:
    data = raw_manifest("prod")
    data["backups"]["backup_account_id"] = "999999999999"
    assert loader.load(write_manifest(data), "prod").backups.backup_account_id == "999999999999"
