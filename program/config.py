"""Stack configuration: the values that differ per deployment, read once and validated up front."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from regions.loader import manifest_path

PROJECT = "global-platform"

HexId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="a 32-character lowercase hex Cloudflare id")]
_HOSTNAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
_ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>[0-9]{12}):role/[A-Za-z0-9+=,.@_/-]{1,512}$")


class ConfigError(ValueError):
    """Bad stack config, raised before anything is built; names the stack file and the key."""


class StackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    environment: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
    aws_account_id: Annotated[str, Field(pattern=r"^[0-9]{12}$", description="12-digit AWS account id")]
    owner: Annotated[str, Field(min_length=1, max_length=128)]
    cost_center: Annotated[str, Field(min_length=1, max_length=128)]
    domain: Annotated[str, Field(pattern=_HOSTNAME, max_length=253)]
    cloudflare_account_id: HexId
    cloudflare_zone_id: HexId
    admin_role_arn: str
    # Networks allowed to reach the EKS API over the internet. Empty (the default) keeps the public endpoint
    # off, so the API is reachable only from inside the VPC.
    admin_cidrs: list[str] = []
    # OWASP Core Ruleset tuning: the anomaly score that blocks (low 60, medium 40, high 25) and the paranoia
    # level (1-4; higher catches more and false-positives more).
    waf_anomaly_threshold: Literal["low", "medium", "high"] = "medium"
    waf_paranoia_level: Annotated[int, Field(ge=1, le=4)] = 2
    # Who is paged: email addresses subscribed to every region's alert topic, and an HTTPS on-call endpoint.
    alert_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]] = []
    alert_webhook_url: Annotated[str, Field(pattern=r"^https://[^\s]+$")] | None = None

    @field_validator("admin_cidrs")
    @classmethod
    def _admin_cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                net = ipaddress.ip_network(value, strict=True)
            except ValueError:
                raise ValueError(f"{value!r} is not a network in CIDR notation with no host bits set") from None
            if net.prefixlen == 0:
                raise ValueError(f"{value} opens the EKS API to the whole internet; list the admin networks")
            if net.version != 4:
                raise ValueError(f"{value} is IPv6; the EKS public endpoint accepts IPv4 CIDRs only")
        return values

    @model_validator(mode="after")
    def _admin_role(self) -> StackConfig:
        match = _ROLE_ARN.match(self.admin_role_arn)
        if match is None:
            raise ValueError("adminRoleArn: must be an IAM role ARN, arn:aws:iam::<account>:role/<name>")
        if match["account"] != self.aws_account_id:
            raise ValueError(f"adminRoleArn: the role must live in awsAccountId {self.aws_account_id} "
                             f"(got account {match['account']})")
        return self


KEYS: tuple[str, ...] = tuple(to_camel(name) for name in StackConfig.model_fields)
# Structured values: `pulumi config set --path 'global-platform:adminCidrs[0]' ...`.
OBJECT_KEYS = frozenset({"adminCidrs", "alertEmails"})


def stack_file(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def _decoded(value: Any) -> Any:
    """Structured values arrive JSON-encoded from stack files; anything else is left for validation to judge."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def parse(values: dict[str, Any], stack: str) -> StackConfig:
    """Validate raw config values (camelCase keys without the project prefix)."""
    source = stack_file(stack)
    values = {key: _decoded(value) if key in OBJECT_KEYS else value for key, value in values.items()}
    try:
        config = StackConfig.model_validate(values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            msg = str(err["msg"]).removeprefix("Value error, ")
            if not key and ": " in msg:  # model-level rule that names its own key
                key, msg = msg.split(": ", 1)
            if err["type"] == "missing":
                msg = f"required; set it with `pulumi config set {key} <value>`"
            elif "input" in err and isinstance(err["input"], str):
                msg = f"{msg} (got {err['input']!r})"
            lines.append(f"{source}: {PROJECT}:{key}: {msg}")
        raise ConfigError("\n".join(lines)) from None
    if not manifest_path(config.environment).is_file():
        raise ConfigError(f"{source}: {PROJECT}:environment: no manifest regions/{config.environment}.yaml "
                          f"for environment {config.environment!r}")
    return config


def read() -> StackConfig:
    """Read this stack's config through Pulumi (the CLI, or the offline plan's mock engine)."""
    cfg = pulumi.Config(PROJECT)
    values: dict[str, Any] = {}
    for key in KEYS:
        value = cfg.get_object(key) if key in OBJECT_KEYS else cfg.get(key)
        if value is not None:
            values[key] = value
    return parse(values, pulumi.get_stack())
