"""The quota value that applies to the account in a region: applied value, else AWS's default, else the docs'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from regions.service_quotas import QuotaFact

Origin = Literal["applied", "AWS default", "documented default"]
# Service Quotas' answer when it holds no value for a code in this region (or the code does not exist).
NO_VALUE = "NoSuchResourceException"


@dataclass(frozen=True)
class QuotaValue:
    value: int
    origin: Origin


def _value(call: Any, fact: QuotaFact) -> int | None:
    try:
        quota = call(ServiceCode=fact.service_code, QuotaCode=fact.quota_code)["Quota"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == NO_VALUE:
            return None
        raise
    # Value is optional: when the owning service does not answer, Service Quotas sends an ErrorReason instead.
    return int(quota["Value"]) if "Value" in quota else None


def quota_value(client: Any, fact: QuotaFact, region: str) -> QuotaValue:
    """``client`` is a Service Quotas client of ``region``; access errors propagate (the caller reports them)."""
    applied = _value(client.get_service_quota, fact)
    if applied is not None:
        return QuotaValue(applied, "applied")
    default = _value(client.get_aws_default_service_quota, fact)
    if default is not None:
        return QuotaValue(default, "AWS default")
    return QuotaValue(fact.default_in(region), "documented default")
