"""Stack config: the committed stacks pass; each key's failure modes name the stack file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offline import engine, stack_files
from offline.layout import ENVIRONMENTS, layout
from program.config import LAYER_KEYS, PROJECT, ConfigError, check_region, parse
from regions.loader import load, manifest_path

INFRA, GLOBAL = "prod-us-east-1", "prod-global"
ALL_STACKS = [s.name for env in ENVIRONMENTS for s in layout(env).order()]


def _values(stack: str) -> dict[str, str]:
    values, _ = stack_files.read(stack)
    return {k.removeprefix(f"{PROJECT}:"): v for k, v in values.items() if k.startswith(f"{PROJECT}:")}


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_committed_stacks_are_valid(stack: str) -> None:
    config = parse(_values(stack), stack)
    assert config.stack_id.name == stack
    assert set(_values(stack)) - {"environment", "layer", "region"} <= LAYER_KEYS[config.layer]
    if config.layer == "infra":
        assert config.admin_role_arn
        assert config.admin_role_arn.startswith(f"arn:aws:iam::{config.aws_account_id}:role/")
        assert config.github_connection_arn
        assert f":{config.region}:{config.aws_account_id}:" in config.github_connection_arn


def test_every_stack_of_the_layout_has_a_stack_file_and_no_other_exists() -> None:
    assert sorted(ALL_STACKS) == stack_files.stacks()


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_stacks_of_an_environment_agree(environment: str) -> None:
    stack_files.check_agreement([s.name for s in layout(environment).order()])


def test_stack_files_that_disagree_are_refused(tmp_path: Path) -> None:
    for name in ("prod-us-east-1", "prod-eu-west-1"):
        (tmp_path / f"Pulumi.{name}.yaml").write_text((stack_files.PROJECT_DIR / f"Pulumi.{name}.yaml").read_text())
    path = tmp_path / "Pulumi.prod-eu-west-1.yaml"
    path.write_text(path.read_text().replace('awsAccountId: "111111111111"', 'awsAccountId: "333333333333"'))
    with pytest.raises(ConfigError, match=r"Pulumi\.prod-eu-west-1\.yaml: global-platform:awsAccountId: '333333333333' "
                                          r"differs from '111111111111' in Pulumi\.prod-us-east-1\.yaml"):
        stack_files.check_agreement(["prod-us-east-1", "prod-eu-west-1"], tmp_path)


FAILURES: list[tuple[str, str, str, Any, str]] = [
    # (case, stack, key, value or None to delete, rule)
    ("account missing", INFRA, "awsAccountId", None, "required by the infra layer; set it with `pulumi config set"),
    ("account short", INFRA, "awsAccountId", "12345", "String should match pattern"),
    ("environment missing", INFRA, "environment", None, "required"),
    ("environment without manifest", INFRA, "environment", "staging", "no manifest regions/staging.yaml"),
    ("environment malformed", INFRA, "environment", "Prod!", "String should match pattern"),
    ("layer unknown", INFRA, "layer", "network", "Input should be 'infra', 'replicas', 'global' or 'cluster'"),
    ("layer not the stack's", "prod-us-east-1-cluster", "layer", "replicas",
     "make stack prod-us-east-1-replicas, not prod-us-east-1-cluster"),
    ("region missing", INFRA, "region", None, "required by the infra layer"),
    ("region on the global layer", GLOBAL, "region", "us-east-1", "the global layer has no region"),
    ("region malformed", INFRA, "region", "US East", "String should match pattern"),
    ("owner empty", INFRA, "owner", "", "at least 1 character"),
    ("key of another layer", INFRA, "domain", "example.com", "not used by the infra layer; remove it"),
    ("domain invalid", GLOBAL, "domain", "not a domain", "String should match pattern"),
    ("zone id invalid", GLOBAL, "cloudflareZoneId", "zone-123", "String should match pattern"),
    ("account id missing", GLOBAL, "cloudflareAccountId", None, "required by the global layer"),
    ("admin role not an ARN", INFRA, "adminRoleArn", "platform-admin", "must be an IAM role ARN"),
    ("admin role in another account", INFRA, "adminRoleArn", "arn:aws:iam::999999999999:role/admin",
     "the role must live in awsAccountId 111111111111 (got account 999999999999)"),
    ("repository malformed", INFRA, "githubRepository", "global-platform", "String should match pattern"),
    ("connection not an ARN", INFRA, "githubConnectionArn", "github", "must be a CodeConnections connection ARN"),
    ("connection in another region", INFRA, "githubConnectionArn",
     "arn:aws:codeconnections:eu-west-1:111111111111:connection/00000000-0000-0000-0000-000000000001",
     "must live in awsAccountId 111111111111 and region us-east-1 (got 111111111111 eu-west-1)"),
    ("unknown key", INFRA, "awsRegion", "us-east-1", "Extra inputs are not permitted"),
    ("admin CIDRs open to the world", INFRA, "adminCidrs", ["203.0.113.0/24", "0.0.0.0/0"],
     "0.0.0.0/0 opens the EKS API to the whole internet"),
    ("admin CIDRs open to the IPv6 world", INFRA, "adminCidrs", ["::/0"],
     "::/0 opens the EKS API to the whole internet"),
    ("admin CIDR IPv6", INFRA, "adminCidrs", ["2001:db8::/32"],
     "2001:db8::/32 is IPv6; the EKS public endpoint accepts IPv4"),
    ("admin CIDR with host bits", INFRA, "adminCidrs", ["203.0.113.7/24"], "'203.0.113.7/24' is not a network in CIDR"),
    ("admin CIDRs not a list", INFRA, "adminCidrs", "203.0.113.0/24", "Input should be a valid list"),
    ("alert email malformed", INFRA, "alertEmails", ["oncall"], "String should match pattern"),
    ("alert webhook not HTTPS", GLOBAL, "alertWebhookUrl", "http://oncall.example/hook",
     "must be an https:// URL (the value is not shown: it is a secret)"),
    ("WAF threshold unknown", GLOBAL, "wafAnomalyThreshold", "paranoid", "Input should be 'low', 'medium' or 'high'"),
    ("WAF paranoia above 4", GLOBAL, "wafParanoiaLevel", "5", "Input should be less than or equal to 4"),
    ("WAF paranoia not a number", GLOBAL, "wafParanoiaLevel", "two", "Input should be a valid integer"),
]


@pytest.mark.parametrize(("case", "stack", "key", "value", "rule"), FAILURES, ids=[c[0] for c in FAILURES])
def test_bad_stack_config_is_rejected(case: str, stack: str, key: str, value: Any, rule: str) -> None:
    values = _values(stack)
    if value is None:
        values.pop(key)
    else:
        values[key] = value
    with pytest.raises(ConfigError) as err:
        parse(values, stack)
    assert any(line.startswith(f"Pulumi.{stack}.yaml: {PROJECT}:{key}: ") and rule in line
               for line in str(err.value).splitlines()), str(err.value)


def test_a_region_outside_the_manifest_is_refused() -> None:
    manifest = load(manifest_path("dev"), "dev")
    config = parse(_values("prod-ap-south-1"), "prod-ap-south-1")
    with pytest.raises(ConfigError, match=r"Pulumi\.prod-ap-south-1\.yaml: global-platform:region: ap-south-1 is not a "
                                          r"region of regions/prod\.yaml \(us-east-1, eu-west-1\)"):
        check_region(config, manifest, "prod-ap-south-1")
    check_region(config, load(manifest_path("prod"), "prod"), "prod-ap-south-1")


def test_admin_cidrs_default_to_none_and_accept_networks() -> None:
    values = _values(INFRA)
    assert "adminCidrs" not in values and parse(values, INFRA).admin_cidrs == []
    assert parse({**values, "adminCidrs": ["203.0.113.0/24"]}, INFRA).admin_cidrs == ["203.0.113.0/24"]


def test_bad_config_stops_the_program_before_any_resource() -> None:
    values, _ = stack_files.read(INFRA)
    values[f"{PROJECT}:awsAccountId"] = "not-an-account"
    with pytest.raises(engine.InvalidInput, match=f"Pulumi.{INFRA}.yaml: {PROJECT}:awsAccountId") as err:
        engine.run(INFRA, config=values)
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
    with pytest.raises(ConfigError, match=r"Pulumi\.qa\.yaml: \(file\): no such stack; known stacks: dev-eu-west-1, "):
        stack_files.read("qa")


def test_a_bad_webhook_is_refused_without_showing_it() -> None:
    url = "http://events.pagerduty.example/integration/KEY-123"
    with pytest.raises(ConfigError) as err:
        parse({**_values(GLOBAL), "alertWebhookUrl": url}, GLOBAL)
    assert "KEY-123" not in str(err.value) and "alertWebhookUrl" in str(err.value)


def test_a_webhook_in_plain_text_stops_the_program_before_any_resource() -> None:
    values, secrets = stack_files.read(INFRA)
    values[f"{PROJECT}:alertWebhookUrl"] = "https://events.pagerduty.example/integration/KEY-123"
    with pytest.raises(engine.InvalidInput, match=f"Pulumi.{INFRA}.yaml: {PROJECT}:alertWebhookUrl: is stored in "
                                                  "plain text; set it with `pulumi config set --secret") as err:
        engine.run(INFRA, config=values, secret_keys=secrets)
    assert err.value.registrations == [] and "KEY-123" not in str(err.value)


# -- Cloudflare entitlements of the global stack ------------------------------------------------------------------

def _entitled(stack: str, plan: str | None, add_ons: list[str] | None) -> list[str]:
    """The lines check_entitlements refuses the stack with (none when it passes)."""
    from program.config import check_entitlements

    values: dict[str, Any] = _values(stack)
    for key, value in (("cloudflarePlan", plan), ("cloudflareAddOns", add_ons)):
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    try:
        check_entitlements(parse(values, stack), stack)
    except ConfigError as exc:
        return str(exc).splitlines()
    return []


STEERING = ("Pulumi.{stack}.yaml: global-platform:cloudflareAddOns: geo steering of the load balancers needs "
            "traffic_steering (or cloudflarePlan enterprise)")
BALANCING = ("Pulumi.{stack}.yaml: global-platform:cloudflareAddOns: the load balancers of the edge need "
             "load_balancing (a paid add-on on every plan)")
PLAN = ("Pulumi.{stack}.yaml: global-platform:cloudflarePlan: the Cloudflare Managed and OWASP Core rulesets and the "
        "two 60-second rate-limiting rules of the edge need pro or higher")


@pytest.mark.parametrize(("plan", "add_ons"), [("enterprise", ["load_balancing"]),
                                               ("business", ["load_balancing", "traffic_steering"]),
                                               ("pro", ["traffic_steering", "load_balancing"])])
def test_entitlements_that_cover_the_edge_pass(plan: str, add_ons: list[str]) -> None:
    assert _entitled(GLOBAL, plan, add_ons) == []


@pytest.mark.parametrize("stack", ["prod-global", "dev-global"])
def test_the_committed_global_stacks_are_entitled(stack: str) -> None:
    assert _entitled(stack, _values(stack)["cloudflarePlan"], json_list(_values(stack)["cloudflareAddOns"])) == []


def json_list(value: str) -> list[str]:
    import json

    return list(json.loads(value))


ENTITLEMENT_FAILURES: list[tuple[str, str, list[str], list[str]]] = [
    # (case, plan, add-ons, the rules refused, in order)
    ("no traffic steering below enterprise", "business", ["load_balancing"], [STEERING]),
    ("no load balancing", "enterprise", [], [BALANCING]),
    ("free plan", "free", ["load_balancing", "traffic_steering"], [PLAN]),
    ("nothing bought", "free", [], [PLAN, BALANCING, STEERING]),
]


@pytest.mark.parametrize(("case", "plan", "add_ons", "rules"), ENTITLEMENT_FAILURES,
                         ids=[c[0] for c in ENTITLEMENT_FAILURES])
def test_entitlements_that_do_not_cover_the_edge_are_refused(case: str, plan: str, add_ons: list[str],
                                                             rules: list[str]) -> None:
    lines = _entitled(GLOBAL, plan, add_ons)
    got = f" (got plan {plan}, add-ons {', '.join(add_ons) or 'none'})"
    assert lines == [rule.format(stack=GLOBAL) + got for rule in rules]


ENTITLEMENT_KEY_FAILURES: list[tuple[str, str, Any, str]] = [
    ("plan missing", "cloudflarePlan", None, "required by the global layer"),
    ("plan unknown", "cloudflarePlan", "premium", "Input should be 'free', 'pro', 'business' or 'enterprise'"),
    ("add-on unknown", "cloudflareAddOns", ["argo"], "Input should be 'load_balancing' or 'traffic_steering'"),
    ("add-on twice", "cloudflareAddOns", ["load_balancing", "load_balancing"], "lists an add-on twice"),
    ("add-ons not a list", "cloudflareAddOns", "load_balancing", "Input should be a valid list"),
]


@pytest.mark.parametrize(("case", "key", "value", "rule"), ENTITLEMENT_KEY_FAILURES,
                         ids=[c[0] for c in ENTITLEMENT_KEY_FAILURES])
def test_bad_entitlement_keys_are_rejected(case: str, key: str, value: Any, rule: str) -> None:
    test_bad_stack_config_is_rejected(case, GLOBAL, key, value, rule)


def test_entitlements_are_a_key_of_the_global_layer_only() -> None:
    values = {**_values(INFRA), "cloudflarePlan": "enterprise"}
    with pytest.raises(ConfigError, match=r"global-platform:cloudflarePlan: not used by the infra layer"):
        parse(values, INFRA)


def test_a_global_stack_short_of_entitlements_stops_the_program_before_any_resource() -> None:
    values, _ = stack_files.read(GLOBAL)
    values[f"{PROJECT}:cloudflareAddOns"] = '["load_balancing"]'
    values[f"{PROJECT}:cloudflarePlan"] = "business"
    with pytest.raises(engine.InvalidInput) as err:
        engine.run(GLOBAL, config=values)
    assert str(err.value).splitlines()[-1] == STEERING.format(stack=GLOBAL) + " (got plan business, add-ons " \
                                                                              "load_balancing)"
    assert err.value.registrations == []
