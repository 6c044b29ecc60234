"""G1/G2: every CloudWatch log group the program creates has a KMS key and a retention; each failure mode fails."""

from __future__ import annotations

import copy
from typing import Any

from guardrails import logs
from guardrails.core import ResourceRule
from guardrails.registry import all_rules
from offline import guardrails
from tests.plan_helpers import Doc, of_type
from tests.policies.harness import violations

RULES = {r.meta.id: r for r in all_rules() if r.meta.id in ("G1", "G2") and isinstance(r, ResourceRule)}


def test_every_planned_log_group_has_a_key_and_a_retention(prod_plan: Doc) -> None:
    groups = of_type(prod_plan, logs.LOG_GROUP)
    assert len(groups) > 4 * 5  # flow logs, EKS, cache, MSK, runner and Aurora's, in every region
    for group in groups:
        assert group["inputs"]["kmsKeyId"].startswith(f"arn:aws:kms:{group['region']}:")
        assert group["inputs"]["retentionInDays"] in logs.RETENTION_DAYS
        for rule in RULES.values():
            assert violations(rule, logs.LOG_GROUP, group["inputs"], group["name"]) == []
    assert not [v for v in guardrails.evaluate(prod_plan, {}) if v.id in RULES]


def _failures(props: dict[str, Any]) -> list[str]:
    return [m for rule in RULES.values() for m in violations(rule, logs.LOG_GROUP, props, "lg")]


def test_a_plan_with_a_log_group_without_key_or_retention_fails(prod_plan: Doc) -> None:
    base = copy.deepcopy(of_type(prod_plan, logs.LOG_GROUP)[0]["inputs"])
    assert RULES["G1"].meta.mandatory and RULES["G2"].meta.mandatory
    no_key = {k: v for k, v in base.items() if k != "kmsKeyId"}
    assert _failures(no_key) == ["[G1] lg: kmsKeyId is not set; it must be set"]
    no_retention = {k: v for k, v in base.items() if k != "retentionInDays"}
    assert _failures(no_retention) == [f"[G2] lg: retentionInDays is not set; it {RULES['G2'].checks[0].expect}"]
    assert _failures({**base, "retentionInDays": 0}) == [
        f"[G2] lg: retentionInDays {RULES['G2'].checks[0].expect} (got 0)"]
    assert _failures({**base, "retentionInDays": 42}) == [
        f"[G2] lg: retentionInDays {RULES['G2'].checks[0].expect} (got 42)"]
    # The whole-plan run: the same group without its key makes `make plan` fail (mandatory).
    doc = copy.deepcopy(prod_plan)
    target = next(r for r in doc["resources"] if r["type"] == logs.LOG_GROUP)
    target["inputs"].pop("kmsKeyId")
    target["outputs"].pop("kmsKeyId", None)
    assert {v.id for v in guardrails.evaluate(doc, {}) if v.enforcement == "mandatory"} == {"G1"}
