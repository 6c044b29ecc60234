"""`make preflight`, Cloudflare part: is the zone entitled to what the edge builds, and what is already there?

Reads, with the official ``cloudflare`` SDK and the token in ``CLOUDFLARE_API_TOKEN`` (``CLOUDFLARE_BASE_URL``
points the SDK at another API root, as the tests do):

- the zone's plan (``client.zones.get``: ``GET /zones/{zone_id}``, ``plan.legacy_id``);
- the account's subscriptions (``client.accounts.subscriptions.get``: ``GET /accounts/{account_id}/subscriptions``),
  whose rate plans name the add-ons bought (``LOAD_BALANCING_BASIC_PLUS``, ``PARTNERS_LOAD_BALANCING``, ...);
- the zone's rulesets (``client.rulesets.list``: ``GET /zones/{zone_id}/rulesets``): an entry point (kind ``zone``)
  of a phase the edge writes makes `pulumi up` fail ("A similar configuration with rules already exists",
  pulumi/pulumi-cloudflare#782) until it is imported into the stack.

Each entitlement the zone lacks and each existing entry point is a finding (exit 1; an entry point with the
`pulumi import` command that adopts it under the name the program gives it); an unusable token is exit 2.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import cloudflare
from rich.console import Console

from operations.stack import EXIT_FINDINGS, EXIT_OK, OperatorError
from program import config as stack_config

TOKEN_VARIABLE = "CLOUDFLARE_API_TOKEN"
# The phases components/edge.py writes one zone entry point ruleset each for (Edge.rulesets; a test keeps them equal).
EDGE_PHASES = ("http_request_firewall_managed", "http_request_firewall_custom", "http_ratelimit",
               "http_request_cache_settings")
RULESET_TYPE = "cloudflare:index/ruleset:Ruleset"
EDGE_TYPE = "platform:edge:Edge"
# Subscription states in which the add-on is in force.
ACTIVE_STATES = frozenset({"Trial", "Provisioned", "Paid"})
# Rate plan ids of account subscriptions, by the add-on they provide. Load Balancing's are Cloudflare's published
# samples (tenant docs, "Available subscriptions"); Traffic Steering has no published id: any rate plan naming
# steering is taken for it.
ADD_ON_MARKERS = {"load_balancing": "LOAD_BALANCING", "traffic_steering": "STEERING"}
# Zone plans as legacy ids; partner and self-serve variants mapped onto the four the stack config names.
PLAN_ALIASES = {"biz": "business", "ent": "enterprise"}
PERMISSIONS = "Zone Read, Zone WAF Read and Account Billing Read"


@dataclass(frozen=True)
class GlobalStack:
    """What the environment's global stack file declares about its zone."""

    stack: str
    environment: str
    account_id: str
    zone_id: str
    plan: str
    add_ons: tuple[str, ...]

    @property
    def edge_urn(self) -> str:
        """The URN of the edge component (program/layers/global_stack.py: ``Edge(f"{env}-edge", ...)``)."""
        return f"urn:pulumi:{self.stack}::{stack_config.PROJECT}::{EDGE_TYPE}::{self.environment}-edge"


@dataclass(frozen=True)
class Entrypoint:
    phase: str
    ruleset_id: str
    name: str


@dataclass(frozen=True)
class ZoneFacts:
    name: str
    plan: str  # free, pro, business or enterprise
    add_ons: frozenset[str]
    subscriptions: tuple[str, ...]  # the active rate plan ids, as the API names them
    entrypoints: tuple[Entrypoint, ...]


@dataclass(frozen=True)
class Finding:
    message: str
    command: str | None = None


def load_global(environment: str) -> GlobalStack:
    """Zone, account and declared entitlements of ``Pulumi.<environment>-global.yaml``, validated like the program."""
    from offline import stack_files

    stack = f"{environment}-global"
    try:
        values, _secrets = stack_files.read(stack)
        prefix = f"{stack_config.PROJECT}:"
        config = stack_config.parse({k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)},
                                    stack)
        stack_config.check_entitlements(config, stack)
    except stack_config.ConfigError as exc:
        raise OperatorError(str(exc)) from None
    assert config.cloudflare_account_id and config.cloudflare_zone_id and config.cloudflare_plan  # global layer keys
    return GlobalStack(stack, environment, config.cloudflare_account_id, config.cloudflare_zone_id,
                       config.cloudflare_plan, tuple(config.cloudflare_add_ons))


def client_from_environment(max_retries: int = 2) -> cloudflare.Cloudflare | None:
    """An SDK client with the token of ``CLOUDFLARE_API_TOKEN`` (None when it is unset); the SDK reads
    ``CLOUDFLARE_BASE_URL`` for another API root."""
    token = os.environ.get(TOKEN_VARIABLE)
    if not token:
        return None
    return cloudflare.Cloudflare(api_token=token, base_url=os.environ.get("CLOUDFLARE_BASE_URL") or None,
                                 max_retries=max_retries)


def _plan(legacy_id: str | None) -> str:
    name = (legacy_id or "").lower().removeprefix("partners_").removeprefix("cf_")
    name = PLAN_ALIASES.get(name, name)
    for plan in reversed(stack_config.PLAN_ORDER):
        if name.startswith(plan):
            return plan
    raise OperatorError(f"the zone's plan {legacy_id!r} is none of {', '.join(stack_config.PLAN_ORDER)}")


def add_ons(rate_plans: Iterable[str]) -> frozenset[str]:
    return frozenset(add_on for add_on, marker in ADD_ON_MARKERS.items()
                     if any(marker in plan.upper() for plan in rate_plans))


def read_zone(client: cloudflare.Cloudflare, target: GlobalStack) -> ZoneFacts:
    """The zone's plan, the account's add-ons and the zone's entry points of the edge's phases."""
    try:
        zone = client.zones.get(zone_id=target.zone_id)
        subscriptions = tuple(s.rate_plan.id for s in client.accounts.subscriptions.get(account_id=target.account_id)
                              if s.rate_plan is not None and s.rate_plan.id and s.state in ACTIVE_STATES)
        entrypoints = tuple(Entrypoint(r.phase, r.id, r.name) for r in client.rulesets.list(zone_id=target.zone_id)
                            if r.kind == "zone" and r.phase in EDGE_PHASES)
    except cloudflare.AuthenticationError as exc:
        raise OperatorError(f"Cloudflare refused the API token of {TOKEN_VARIABLE} ({_reason(exc)}); use a valid "
                            f"token with {PERMISSIONS} on zone {target.zone_id}") from None
    except cloudflare.APIStatusError as exc:
        raise OperatorError(f"Cloudflare refused a read for zone {target.zone_id} of {target.stack} "
                            f"({exc.request.method} {exc.request.url.path}: {_reason(exc)}); the token of "
                            f"{TOKEN_VARIABLE} needs {PERMISSIONS}") from None
    except cloudflare.APIConnectionError as exc:
        raise OperatorError(f"the Cloudflare API could not be reached ({exc}); check the network and "
                            "CLOUDFLARE_BASE_URL") from None
    if zone is None:
        raise OperatorError(f"Cloudflare answered no zone {target.zone_id} (cloudflareZoneId of "
                            f"{stack_config.stack_file(target.stack)})")
    return ZoneFacts(zone.name, _plan(zone.plan.legacy_id if zone.plan else None), add_ons(subscriptions),
                     subscriptions, tuple(sorted(entrypoints, key=lambda e: EDGE_PHASES.index(e.phase))))


def _reason(exc: cloudflare.APIStatusError) -> str:
    """Cloudflare's own error lines from the envelope, else the HTTP status."""
    body = exc.body if isinstance(exc.body, dict) else {}
    errors = [f"{e.get('code')} {e.get('message')}" for e in body.get("errors") or [] if isinstance(e, dict)]
    return "; ".join(errors) or f"HTTP {exc.status_code}"


def import_command(target: GlobalStack, entrypoint: Entrypoint) -> str:
    """`pulumi import` of an existing entry point under the name components/edge.py gives that phase's ruleset."""
    name = f"{target.environment}-edge-{entrypoint.phase}"
    return (f"pulumi import {RULESET_TYPE} {name} zones/{target.zone_id}/{entrypoint.ruleset_id} "
            f"--stack {target.stack} --parent {target.environment}-edge={target.edge_urn}")


def findings(target: GlobalStack, zone: ZoneFacts) -> list[Finding]:
    found = [Finding(f"zone {target.zone_id} ({zone.name}): {stack_config.PROJECT}:{rule.key}: {rule.rule}; the zone "
                     f"is on {zone.plan} with add-ons {_listed(zone.add_ons)} ({stack_config.stack_file(target.stack)} "
                     f"declares {target.plan} with add-ons {_listed(target.add_ons)})")
             for rule in stack_config.missing_entitlements(zone.plan, zone.add_ons)]
    found += [Finding(f"zone {target.zone_id} ({zone.name}): the {entrypoint.phase} entry point ruleset "
                      f"{entrypoint.ruleset_id} ({entrypoint.name!r}) already exists; creating the edge's would "
                      "fail: adopt it into the stack", import_command(target, entrypoint))
              for entrypoint in zone.entrypoints]
    return found


def _listed(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def section(environment: str, out: Console, client: cloudflare.Cloudflare | None = None) -> int:
    """The Cloudflare section of `make preflight`: EXIT_OK or EXIT_FINDINGS; OperatorError when it cannot check."""
    target = load_global(environment)
    client = client or client_from_environment()
    if client is None:
        out.print(f"Cloudflare: skipped: {TOKEN_VARIABLE} is not set (set it to a token with {PERMISSIONS} to check "
                  f"zone {target.zone_id}'s plan, add-ons and existing rulesets)", markup=False, highlight=False,
                  soft_wrap=True)
        return EXIT_OK
    zone = read_zone(client, target)
    out.print(f"Cloudflare: zone {target.zone_id} ({zone.name}) of {stack_config.stack_file(target.stack)}: plan "
              f"{zone.plan}, add-ons {_listed(zone.add_ons)}, entry points of the edge's phases: "
              f"{_listed(e.phase for e in zone.entrypoints)}", markup=False, highlight=False, soft_wrap=True)
    found = findings(target, zone)
    if not found:
        out.print("[green]the zone is entitled to everything the edge builds and holds none of its entry "
                  "points[/green]")
        return EXIT_OK
    out.print(f"[bold red]{len(found)} Cloudflare finding(s)[/bold red]; resolve them before `pulumi up`:")
    for finding in found:
        out.print(f"- {finding.message}", markup=False, highlight=False, soft_wrap=True)
        if finding.command:
            out.print(f"  {finding.command}", markup=False, highlight=False, soft_wrap=True)
    if zone.entrypoints:
        out.print(f"  (the import needs the edge component in the state of {target.stack}: on a stack never deployed, "
                  "run `pulumi up` once first; it stops at the rulesets)", markup=False, highlight=False,
                  soft_wrap=True)
    return EXIT_FINDINGS
