"""Stack configuration: the values that differ per deployment, read once and validated up front."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from regions.loader import manifest_path
from regions.schema import Manifest
from regions.stacks import StackId, stack_id

PROJECT = "global-platform"

HexId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="a 32-character lowercase hex Cloudflare id")]
_HOSTNAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
_ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>[0-9]{12}):role/[A-Za-z0-9+=,.@_/-]{1,512}$")


class ConfigError(ValueError):
    """Bad stack config, raised before anything is built; names the stack file and the key."""


_CONNECTION_ARN = re.compile(
    r"^arn:aws:(codeconnections|codestar-connections):(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):connection/[0-9a-f-]{36}$")
Layer = Literal["infra", "replicas", "global", "cluster"]

# The keys each layer's stack file must hold; any other key (but `region`) is refused as unused there.
LAYER_KEYS: dict[str, frozenset[str]] = {
    "infra": frozenset({"awsAccountId", "owner", "costCenter", "adminRoleArn", "adminCidrs", "alertEmails",
                        "alertWebhookUrl", "githubRepository", "githubConnectionArn"}),
    "replicas": frozenset({"awsAccountId", "owner", "costCenter"}),
    "global": frozenset({"domain", "cloudflareAccountId", "cloudflareZoneId", "cloudflarePlan", "cloudflareAddOns",
                         "wafAnomalyThreshold", "wafParanoiaLevel", "alertEmails", "alertWebhookUrl"}),
    "cluster": frozenset({"awsAccountId", "owner", "costCenter"}),
}
OPTIONAL_KEYS = frozenset({"adminCidrs", "alertEmails", "alertWebhookUrl", "wafAnomalyThreshold", "wafParanoiaLevel",
                           "cloudflareAddOns"})

CloudflarePlan = Literal["free", "pro", "business", "enterprise"]
CloudflareAddOn = Literal["load_balancing", "traffic_steering"]
PLAN_ORDER: tuple[str, ...] = ("free", "pro", "business", "enterprise")


@dataclass(frozen=True)
class EntitlementRule:
    """One thing components/edge.py builds that the zone's plan or add-ons must cover."""

    key: str  # the stack config key that declares the entitlement
    rule: str  # the message: what needs what
    min_plan: str = "free"  # the lowest plan that includes it
    add_on: str | None = None  # the add-on that must be bought for it ...
    enterprise_includes: bool = False  # ... unless the zone is on Enterprise

    def covered(self, plan: str, add_ons: frozenset[str]) -> bool:
        if PLAN_ORDER.index(plan) < PLAN_ORDER.index(self.min_plan):
            return False
        return self.add_on is None or self.add_on in add_ons or (self.enterprise_includes and plan == "enterprise")


# What the edge builds, and what Cloudflare sells it under (docs/operating.md, `make preflight`: the sources):
# - the Cloudflare Managed Ruleset and the OWASP Core Ruleset (http_request_firewall_managed) are for Pro and higher
#   (Free has only the Free Managed Ruleset); the two rate-limiting rules of http_ratelimit (host and path fields,
#   60 s period, 600 s mitigation) need Pro too (Free: one rule, path only, 10 s);
# - Load Balancing is a paid add-on on every plan;
# - geo steering (steering_policy "geo", region_pools) needs the Traffic Steering add-on or Enterprise: "Standard
#   steering policies include Off - Failover and Random. These are the only steering policies available to
#   non-Enterprise customers who have not purchased Traffic steering".
MANAGED_WAF_AND_RATE_LIMITS = EntitlementRule(
    "cloudflarePlan", "the Cloudflare Managed and OWASP Core rulesets and the two 60-second rate-limiting rules of the "
                      "edge need pro or higher", min_plan="pro")
LOAD_BALANCING = EntitlementRule(
    "cloudflareAddOns", "the load balancers of the edge need load_balancing (a paid add-on on every plan)",
    add_on="load_balancing")
TRAFFIC_STEERING = EntitlementRule(
    "cloudflareAddOns", "geo steering of the load balancers needs traffic_steering (or cloudflarePlan enterprise)",
    add_on="traffic_steering", enterprise_includes=True)
EDGE_ENTITLEMENTS = (MANAGED_WAF_AND_RATE_LIMITS, LOAD_BALANCING, TRAFFIC_STEERING)


def missing_entitlements(plan: str, add_ons: Iterable[str]) -> list[EntitlementRule]:
    """The rules of EDGE_ENTITLEMENTS that a zone on ``plan`` with ``add_ons`` does not cover, in order."""
    return [rule for rule in EDGE_ENTITLEMENTS if not rule.covered(plan, frozenset(add_ons))]


class StackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    environment: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
    # Which part of the environment this stack deploys (regions/stacks.py), and the AWS region it lands in.
    layer: Layer
    region: Annotated[str, Field(pattern=r"^[a-z]{2}-[a-z]+-[0-9]$")] | None = None
    aws_account_id: Annotated[str, Field(pattern=r"^[0-9]{12}$", description="12-digit AWS account id")] | None = None
    owner: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    cost_center: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    domain: Annotated[str, Field(pattern=_HOSTNAME, max_length=253)] | None = None
    cloudflare_account_id: HexId | None = None
    cloudflare_zone_id: HexId | None = None
    # What the zone is entitled to (its plan, the add-ons bought for it); checked against what the edge builds.
    cloudflare_plan: CloudflarePlan | None = None
    cloudflare_add_ons: list[CloudflareAddOn] = []
    admin_role_arn: str | None = None
    # The in-VPC deploy runner: the GitHub repository whose workflow jobs it runs, and the CodeConnections
    # connection (of the stack's region, handshake done once in the console) CodeBuild reaches GitHub with.
    github_repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")] | None = None
    github_connection_arn: str | None = None
    # Networks allowed to reach the EKS API over the internet. Empty (the default) keeps the public endpoint
    # off, so the API is reachable only from inside the VPC.
    admin_cidrs: list[str] = []
    # OWASP Core Ruleset tuning: the anomaly score that blocks (low 60, medium 40, high 25) and the paranoia
    # level (1-4; higher catches more and false-positives more).
    waf_anomaly_threshold: Literal["low", "medium", "high"] = "medium"
    waf_paranoia_level: Annotated[int, Field(ge=1, le=4)] = 2
    # Who is paged: email addresses subscribed to every region's alert topic, and an HTTPS on-call endpoint.
    alert_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]] = []
    # PagerDuty and Opsgenie URLs embed the integration key: a secret (pulumi config set --secret), never echoed.
    alert_webhook_url: SecretStr | None = None

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
    def _layer_keys(self) -> StackConfig:
        given = {to_camel(name) for name in self.model_fields_set} - {"environment", "layer", "region"}
        wanted = LAYER_KEYS[self.layer]
        unused = sorted(given - wanted)
        if unused:
            raise ValueError(f"{unused[0]}: not used by the {self.layer} layer; remove it from this stack file")
        missing = sorted(wanted - OPTIONAL_KEYS - given)
        if missing:
            raise ValueError(f"{missing[0]}: required by the {self.layer} layer; set it with "
                             f"`pulumi config set {missing[0]} <value>`")
        if (self.layer == "global") != (self.region is None):
            raise ValueError("region: the global layer has no region; every other layer names its AWS region"
                             if self.layer == "global" or self.region is not None else
                             f"region: required by the {self.layer} layer")
        return self

    @field_validator("cloudflare_add_ons")
    @classmethod
    def _add_ons(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("lists an add-on twice")
        return values

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"https://[^\s/]+(/[^\s]*)?", value.get_secret_value()):
            raise ValueError("must be an https:// URL (the value is not shown: it is a secret)")
        return value

    def alert_webhook(self) -> pulumi.Output[str] | None:
        """The on-call URL as a Pulumi secret: every resource and state that holds it keeps it encrypted."""
        url = self.alert_webhook_url
        return pulumi.Output.secret(url.get_secret_value()) if url is not None else None

    @model_validator(mode="after")
    def _admin_role(self) -> StackConfig:
        if self.admin_role_arn is None:
            return self
        match = _ROLE_ARN.match(self.admin_role_arn)
        if match is None:
            raise ValueError("adminRoleArn: must be an IAM role ARN, arn:aws:iam::<account>:role/<name>")
        if match["account"] != self.aws_account_id:
            raise ValueError(f"adminRoleArn: the role must live in awsAccountId {self.aws_account_id} "
                             f"(got account {match['account']})")
        return self

    @model_validator(mode="after")
    def _connection(self) -> StackConfig:
        if self.github_connection_arn is None:
            return self
        match = _CONNECTION_ARN.match(self.github_connection_arn)
        if match is None:
            raise ValueError("githubConnectionArn: must be a CodeConnections connection ARN, "
                             "arn:aws:codeconnections:<region>:<account>:connection/<uuid>")
        if match["account"] != self.aws_account_id or match["region"] != self.region:
            raise ValueError(f"githubConnectionArn: the connection must live in awsAccountId {self.aws_account_id} "
                             f"and region {self.region} (got {match['account']} {match['region']})")
        return self

    @property
    def stack_id(self) -> StackId:
        return stack_id(self.environment, self.layer, self.region)


KEYS: tuple[str, ...] = tuple(to_camel(name) for name in StackConfig.model_fields)
# Structured values: `pulumi config set --path 'global-platform:adminCidrs[0]' ...`.
OBJECT_KEYS = frozenset({"adminCidrs", "alertEmails", "cloudflareAddOns"})
# Keys that must be set with `pulumi config set --secret`; their values never appear in a message.
SECRET_KEYS = frozenset({"alertWebhookUrl"})


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
            elif "input" in err and isinstance(err["input"], str) and key not in SECRET_KEYS:
                msg = f"{msg} (got {err['input']!r})"
            lines.append(f"{source}: {PROJECT}:{key}: {msg}")
        raise ConfigError("\n".join(lines)) from None
    if not manifest_path(config.environment).is_file():
        raise ConfigError(f"{source}: {PROJECT}:environment: no manifest regions/{config.environment}.yaml "
                          f"for environment {config.environment!r}")
    if config.stack_id.name != stack:
        raise ConfigError(f"{source}: {PROJECT}:layer: environment {config.environment}, layer {config.layer} and "
                          f"region {config.region} make stack {config.stack_id.name}, not {stack}")
    return config


def check_entitlements(config: StackConfig, stack: str) -> None:
    """A global stack's declared plan and add-ons must cover what the edge builds; one line per missing entitlement."""
    if config.layer != "global" or config.cloudflare_plan is None:
        return
    missing = missing_entitlements(config.cloudflare_plan, config.cloudflare_add_ons)
    if missing:
        raise ConfigError("\n".join(f"{stack_file(stack)}: {PROJECT}:{rule.key}: {rule.rule} (got plan "
                                     f"{config.cloudflare_plan}, add-ons {_listed(config.cloudflare_add_ons)})"
                                     for rule in missing))


def _listed(values: Iterable[str]) -> str:
    return ", ".join(values) or "none"


def check_region(config: StackConfig, manifest: Manifest, stack: str) -> None:
    """The stack's region must be one of its environment's manifest."""
    if config.region is not None and config.region not in manifest.region_names:
        raise ConfigError(f"{stack_file(stack)}: {PROJECT}:region: {config.region} is not a region of "
                          f"regions/{config.environment}.yaml ({', '.join(manifest.region_names)})")


def read() -> StackConfig:
    """Read this stack's config through Pulumi (the CLI, or the offline plan's mock engine)."""
    cfg = pulumi.Config(PROJECT)
    values: dict[str, Any] = {}
    plaintext = []
    for key in KEYS:
        value = cfg.get_object(key) if key in OBJECT_KEYS else cfg.get(key)
        if value is not None:
            values[key] = value
            if key in SECRET_KEYS and not pulumi.runtime.is_config_secret(f"{PROJECT}:{key}"):
                plaintext.append(key)
    config = parse(values, pulumi.get_stack())
    if plaintext:
        raise ConfigError("\n".join(f"{stack_file(pulumi.get_stack())}: {PROJECT}:{key}: is stored in plain text; "
                                     f"set it with `pulumi config set --secret {key} <value>`" for key in plaintext))
    return config
