"""Every property check of every resource rule: the planned resource passes; missing and wrong values fail.

The baseline is the real prod plan's resource, so a rule that would fire on what the program builds fails
here first. The expected messages are exact: rule id, resource name, property path, rule and value.
"""

from __future__ import annotations

from typing import Any

import pytest

from guardrails.core import Check, ResourceRule
from guardrails.registry import all_rules
from tests.policies.harness import baseline, violations, with_value, without

CASES = [(rule, chk) for rule in all_rules() if isinstance(rule, ResourceRule) for chk in rule.checks]


def _id(case: tuple[ResourceRule, Check]) -> str:
    return f"{case[0].meta.id}:{case[1].path}"


PROD = {"environment": "prod"}


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_planned_resource_complies(case: tuple[ResourceRule, Check], prod_plan: Any) -> None:
    rule, chk = case
    resource_type, props = baseline(prod_plan, rule, chk.when)
    assert violations(rule, resource_type, props, config=PROD) == []


@pytest.mark.parametrize("case", [c for c in CASES if not c[1].missing_ok], ids=[_id(c) for c in CASES
                                                                                 if not c[1].missing_ok])
def test_missing_value_fails(case: tuple[ResourceRule, Check], prod_plan: Any) -> None:
    rule, chk = case
    resource_type, props = baseline(prod_plan, rule, chk.when)
    found = violations(rule, resource_type, without(props, chk.path), config=PROD)
    assert f"[{rule.meta.id}] subject: {chk.path} is not set; it {chk.expect}" in found


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_wrong_value_fails(case: tuple[ResourceRule, Check], prod_plan: Any) -> None:
    rule, chk = case
    resource_type, props = baseline(prod_plan, rule, chk.when)
    found = violations(rule, resource_type, with_value(props, chk.path, chk.wrong), config=PROD)
    assert f"[{rule.meta.id}] subject: {chk.path} {chk.expect} (got {chk.wrong!r})" in found


FAIL_CLOSED = [c for c in CASES if c[0].meta.mandatory and not c[1].unknown_ok]


@pytest.mark.parametrize("case", FAIL_CLOSED, ids=[_id(c) for c in FAIL_CLOSED])
def test_mandatory_rules_fail_closed_on_unknown_values(case: tuple[ResourceRule, Check], prod_plan: Any) -> None:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    rule, chk = case
    resource_type, props = baseline(prod_plan, rule, chk.when)
    found = violations(rule, resource_type, with_value(props, chk.path, UNKNOWN_STRING_VALUE), config=PROD)
    assert f"[{rule.meta.id}] subject: {chk.path} is unknown during preview; failing closed" in found


PRESENCE = [c for c in CASES if c[1].unknown_ok]


@pytest.mark.parametrize("case", PRESENCE, ids=[_id(c) for c in PRESENCE])
def test_presence_checks_accept_a_value_known_only_after_apply(case: tuple[ResourceRule, Check],
                                                              prod_plan: Any) -> None:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    rule, chk = case
    resource_type, props = baseline(prod_plan, rule, chk.when)
    found = violations(rule, resource_type, with_value(props, chk.path, UNKNOWN_STRING_VALUE), config=PROD)
    assert not [f for f in found if chk.path in f]
