"""Stack config: the committed stacks pass; each key's failure modes name the stack file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offline import engine, stack_files
from program.config import PROJECT, ConfigError, parse


def _values(stack: str) -> dict[str, str]:
    values, _ = stack_files.read(stack)
    return {k.removeprefix(f"{PROJECT}:"): v for k, v in values.items() if k.startswith(f"{PROJECT}:")}


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_committed_stacks_are_valid(stack: str) -> None:
    config = parse(_values(stack), stack)
    assert config.environment == stack
    assert config.admin_role_arn.startswith(f"arn:aws:iam::{config.aws_account_id}:role/")


FAILURES: list[tuple[str, str, Any, str]] = [
    # (case, key, value or None to delete, rule)
    ("account missing", "awsAccountId", None, "required; set it with `pulumi config set awsAccountId"),
    ("account short", "awsAccountId", "12345", "String should match pattern"),
    ("environment missing", "environment", None, "required"),
    ("environment without manifest", "environment", "staging", "no manifest regions/staging.yaml"),
    ("environment malformed", "environment", "Prod!", "String should match pattern"),
    ("owner empty", "owner", "", "at least 1 character"),
    ("domain invalid", "domain", "not a domain", "String should match pattern"),
    ("zone id invalid", "cloudflareZoneId", "zone-123", "String should match pattern"),
    ("account id missing", "cloudflareAccountId", None, "required"),
    ("admin role not an ARN", "adminRoleArn", "platform-admin", "must be an IAM role ARN"),
    ("admin role in another account", "adminRoleArn", "arn:aws:iam::999999999999:role/admin",
     "the role must live in awsAccountId 111111111111 (got account 999999999999)"),
    ("unknown key", "awsRegion", "us-east-1", "Extra inputs are not permitted"),
    ("admin CIDRs open to the world", "adminCidrs", ["203.0.113.0/24", "0.0.0.0/0"],
     "0.0.0.0/0 opens the EKS API to the whole internet"),
    ("admin CIDRs open to the IPv6 world", "adminCidrs", ["::/0"], "::/0 opens the EKS API to the whole internet"),
    ("admin CIDR IPv6", "adminCidrs", ["2001:db8::/32"], "2001:db8::/32 is IPv6; the EKS public endpoint accepts IPv4"),
    ("admin CIDR with host bits", "adminCidrs", ["203.0.113.7/24"], "'203.0.113.7/24' is not a network in CIDR"),
    ("admin CIDRs not a list", "adminCidrs", "203.0.113.0/24", "Input should be a valid list"),
    ("alert email malformed", "alertEmails", ["oncall"], "String should match pattern"),
    ("alert webhook not HTTPS", "alertWebhookUrl", "http://oncall.example/hook", "String should match pattern"),
    ("WAF threshold unknown", "wafAnomalyThreshold", "paranoid", "Input should be 'low', 'medium' or 'high'"),
    ("WAF paranoia above 4", "wafParanoiaLevel", "5", "Input should be less than or equal to 4"),
    ("WAF paranoia not a number", "wafParanoiaLevel", "two", "Input should be a valid integer"),
]


@pytest.mark.parametrize(("case", "key", "value", "rule"), FAILURES, ids=[c[0] for c in FAILURES])
def test_bad_stack_config_is_rejected(case: str, key: str, value: Any, rule: str) -> None:
    values = _values("prod")
    if value is None:
        values.pop(key)
    else:
        values[key] = value
    with pytest.raises(ConfigError) as err:
        parse(values, "prod")
    assert any(line.startswith(f"Pulumi.prod.yaml: {PROJECT}:{key}: ") and rule in line
               for line in str(err.value).splitlines()), str(err.value)


def test_admin_cidrs_default_to_none_and_accept_networks() -> None:
    values = _values("prod")
    assert "adminCidrs" not in values and parse(values, "prod").admin_cidrs == []
    assert parse({**values, "adminCidrs": ["203.0.113.0/24"]}, "prod").admin_cidrs == ["203.0.113.0/24"]


def test_bad_config_stops_the_program_before_any_resource() -> None:
    values, _ = stack_files.read("prod")
    values[f"{PROJECT}:awsAccountId"] = "not-an-account"
    with pytest.raises(engine.InvalidInput, match=f"Pulumi.prod.yaml: {PROJECT}:awsAccountId") as err:
        engine.run("prod", config=values)
    assert err.value.registrations == []


def test_secure_values_reach_the_program_as_secrets(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  cloudflare:apiToken:\n    secure: v1:abc\n  global-platform:owner: me\n"
        "  global-platform:tags: {a: 1}\n")
    values, secrets = stack_files.read("x", tmp_path)
    assert secrets == ["cloudflare:apiToken"]
    assert values["cloudflare:apiToken"] == stack_files.OFFLINE_SECRET
    assert values["global-platform:tags"] == '{"a": 1}'


def test_unknown_stack_is_reported() -> None:
    with pytest.raises(ConfigError, match=r"Pulumi\.qa\.yaml: \(file\): no such stack; known stacks: dev, prod"):
        stack_files.read("qa")
