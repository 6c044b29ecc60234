"""S10: every secret rotates within the period, through Secrets Manager rotation or a program-rotated password."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from pulumi_policy import PolicyResource

from guardrails import kms_secrets
from guardrails.core import StackRule
from guardrails.registry import all_rules
from offline import guardrails
from tests.plan_helpers import Doc, of_type
from tests.policies.harness import stack_resource, stack_violations

RULE = next(r for r in all_rules() if r.meta.id == "S10" and isinstance(r, StackRule))
PROD = {"environment": "prod"}
SECRET = stack_resource(kms_secrets.SECRET, {"name": "prod/x", "id": "arn:secret:x", "arn": "arn:secret:x"}, "x")
NONE_ROTATES = "[S10] x: no aws:secretsmanager/secretRotation:SecretRotation rotates it and its value is no " \
               "rotating password"


def linked(type_token: str, props: Mapping[str, Any], name: str,
           dependencies: Mapping[str, Sequence[PolicyResource]]) -> PolicyResource:
    base = stack_resource(type_token, props, name)
    return PolicyResource(type_token, base.props, base.urn, name, base.opts, None, None, [],
                          {k: list(v) for k, v in dependencies.items()})


def failures(*resources: PolicyResource, config: Mapping[str, Any] | None = None) -> list[str]:
    return stack_violations(RULE, [SECRET, *resources], {**PROD, **(config or {})})


def rotation(rules: Mapping[str, Any], **props: Any) -> PolicyResource:
    return stack_resource(kms_secrets.SECRET_ROTATION, {"secretId": "arn:secret:x", "rotationLambdaArn": "arn:fn",
                                                        "rotationRules": dict(rules), **props}, "rot")


def program_rotated(days: int, keeper: bool = True) -> list[PolicyResource]:
    rotating = stack_resource(kms_secrets.ROTATING, {"rotationDays": days}, "keeper")
    password = linked(kms_secrets.RANDOM_PASSWORD, {"length": 40}, "pw", {"keepers": [rotating]} if keeper else {})
    version = linked(kms_secrets.SECRET_VERSION, {"secretId": "arn:secret:x"}, "v",
                     {"secretId": [SECRET], "secretString": [password]})
    return [rotating, password, version]


def from_stack(stack: str, tags: Mapping[str, str]) -> list[PolicyResource]:
    secret = stack_resource(kms_secrets.SECRET, {"name": "prod/x", "id": "arn:secret:x", "arn": "arn:secret:x",
                                                 "tags": dict(tags)}, "x")
    reference = stack_resource(kms_secrets.STACK_REFERENCE, {"name": f"organization/global-platform/{stack}"},
                               f"organization/global-platform/{stack}")
    version = linked(kms_secrets.SECRET_VERSION, {"secretId": "arn:secret:x"}, "v",
                     {"secretId": [secret], "secretString": [reference]})
    return [secret, reference, version]


def test_a_secret_nothing_rotates_is_reported() -> None:
    assert not RULE.meta.mandatory
    assert failures() == [NONE_ROTATES]


@pytest.mark.parametrize("rules", [{"automaticallyAfterDays": 30}, {"scheduleExpression": "rate(90 days)"},
                                   {"scheduleExpression": "cron(0 4 1 * ? *)"}])
def test_secrets_manager_rotation_within_the_period_passes(rules: dict[str, Any]) -> None:
    assert failures(rotation(rules)) == []


@pytest.mark.parametrize(("rules", "props", "why"), [
    ({"automaticallyAfterDays": 120}, {}, "rotates it automaticallyAfterDays 120, not within 90 days"),
    ({"scheduleExpression": "rate(100 days)"}, {}, "rotates it rate(100 days), not within 90 days"),
    ({"automaticallyAfterDays": 30}, {"rotationEnabled": False}, "has rotation disabled"),
    ({}, {}, "states no automaticallyAfterDays or scheduleExpression"),
])
def test_secrets_manager_rotation_too_rare_or_off_fails(rules: dict[str, Any], props: dict[str, Any],
                                                        why: str) -> None:
    assert failures(rotation(rules, **props)) == [f"[S10] x: rot {why}"]


def test_the_period_comes_from_the_pack_config() -> None:
    assert failures(rotation({"automaticallyAfterDays": 30}), config={"maxRotationDays": 20}) == [
        "[S10] x: rot rotates it automaticallyAfterDays 30, not within 20 days"]


def test_a_password_kept_by_a_rotating_passes_and_its_period_is_checked() -> None:
    assert failures(*program_rotated(30)) == []
    assert failures(*program_rotated(120)) == [
        "[S10] x: its password's keeper keeper rotates every 120 days, not within 90"]
    assert failures(*program_rotated(30, keeper=False)) == [NONE_ROTATES]


def test_a_value_rotated_in_another_stack_must_come_from_that_stack() -> None:
    tags = {"rotation": "program", "rotation-days": "90", "rotated-in": "prod-global"}
    assert stack_violations(RULE, from_stack("prod-global", tags), PROD) == []
    assert stack_violations(RULE, from_stack("prod-us-east-1", tags), PROD) == [
        "[S10] x: its tags say it rotates in prod-global, but its value does not come from that stack"]
    assert stack_violations(RULE, from_stack("prod-global", {**tags, "rotation-days": "365"}), PROD) == [
        "[S10] x: its rotation-days tag must be at most 90 (got '365')"]


def test_the_prod_plan_has_no_secret_that_does_not_rotate(prod_plan: Doc) -> None:
    assert [v for v in guardrails.evaluate(prod_plan, {}) if v.id == "S10"] == []
    rotated = {r["inputs"]["secretId"] for r in of_type(prod_plan, kms_secrets.SECRET_ROTATION)}
    for secret in of_type(prod_plan, kms_secrets.SECRET):
        name = secret["inputs"]["name"]
        if "/aurora/" in name:  # the master secrets: Secrets Manager rotation, 30 days in prod
            assert secret["outputs"]["arn"] in rotated, name
        else:  # the cache's and the database logins: program-rotated, and say so
            assert secret["inputs"]["tags"]["rotation"] == "program", name
    for rot in of_type(prod_plan, kms_secrets.SECRET_ROTATION):
        assert rot["inputs"]["rotationRules"] == {"automaticallyAfterDays": 30}
