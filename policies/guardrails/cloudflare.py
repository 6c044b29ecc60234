"""The Cloudflare edge and the AWS origins behind it: the C rows of docs/guardrails.md. All rows are project-defined.

pulumi-cloudflare v6 declares one cloudflare:index/zoneSetting per setting (``settingId``, ``value``), so
C1-C5 are two rules each: one on the ZoneSetting resource of that setting (``when=`` selects it), and a stack
rule that the setting is declared at all for every zone the stack uses (an undeclared setting keeps
Cloudflare's default, e.g. ssl "full" that does not verify the origin's certificate).

C11 (origins reachable only from Cloudflare) is a stack rule over aws:lb load balancers, their security
groups, the standalone ingress rules and the managed prefix lists they admit, plus two resource rules:
authenticated origin pulls stay enabled, and DNS records that point at an AWS load balancer are proxied.

Rows not implemented: none. Narrowed: C8 requires two distinct default pools but not that they sit in two
AWS regions (pools name origins by hostname); C4's 0-RTT check applies to every zone, not only API zones.
cloudflare.ZoneSettingsOverride (provider v5) is not used by the program and not checked.
C8 is a stack rule (not a LoadBalancer resource rule) because pool ids are Cloudflare's, unknown until the
pools exist: during a stack's first preview only the engine's property dependencies, which stack rules
receive, say which pools a load balancer's defaultPools name (see _default_pools).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import (
    MISSING,
    Meta,
    ResourceRule,
    Rule,
    StackRule,
    at_least,
    check,
    environment,
    equals,
    get,
    is_false,
    is_true,
    one_of,
    present,
)
from guardrails.network import (
    INGRESS_RULE,
    PREFIX_LIST,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
    UNKNOWN_ENTRY,
    UNKNOWN_ID,
    Permission,
    entries,
    is_world,
    items,
    known_id,
    of_type,
    permissions,
    referenced,
    references,
)

ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
RULESET = "cloudflare:index/ruleset:Ruleset"
LOAD_BALANCER = "cloudflare:index/loadBalancer:LoadBalancer"
POOL = "cloudflare:index/loadBalancerPool:LoadBalancerPool"
MONITOR = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
ORIGIN_PULLS = "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings"
AWS_LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")

# Cloudflare's managed WAF rulesets: the Cloudflare Managed Ruleset and the Cloudflare OWASP Core Ruleset.
MANAGED_RULESETS = {"efb7b8c949ac4650a09736fc376e9aee": "Cloudflare Managed Ruleset",
                    "4814384a9e5d4991b9815dcfc25d2f1f": "Cloudflare OWASP Core Ruleset"}
# Cloudflare's published ranges (cloudflare.com/ips); the pack's config can replace them when they change.
CLOUDFLARE_RANGES = ("173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22", "141.101.64.0/18",
                     "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20", "197.234.240.0/22", "198.41.128.0/17",
                     "162.158.0.0/15", "104.16.0.0/13", "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
                     "2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32", "2405:8100::/32",
                     "2a06:98c0::/29", "2c0f:f248::/32")
ORIGIN_PORT = 443
_AWS_LB_HOST = re.compile(r"\.elb\.([a-z0-9-]+\.)?amazonaws\.com\.?$", re.I)


def _setting(setting_id: str) -> Callable[[Any], bool]:
    return lambda props: get(props, "settingId") == setting_id


def _zones(resources: Sequence[Any]) -> list[str]:
    """Every zone a zone-scoped Cloudflare resource of the stack names."""
    zones = {str(z) for r in resources if r.resource_type.startswith("cloudflare:")
             if (z := get(r.props, "zoneId")) is not MISSING}
    return sorted(zones)


def _in_zone(resources: Sequence[Any], resource_type: str, zone: str) -> list[Any]:
    return [r for r in of_type(resources, resource_type) if str(get(r.props, "zoneId")) == zone]


def _settings_declared(settings: Sequence[str]) -> Callable[[Sequence[Any], Mapping[str, Any]],
                                                            list[tuple[str, str | None]]]:
    def check_stack(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        found: list[tuple[str, str | None]] = []
        for zone in _zones(resources):
            declared = {get(r.props, "settingId") for r in _in_zone(resources, ZONE_SETTING, zone)}
            found.extend((f"zone {zone}: no {ZONE_SETTING} declares {setting}; the zone keeps Cloudflare's "
                          "default", None) for setting in settings if setting not in declared)
        return found
    return check_stack


# --- C6 managed WAF, C7 rate limiting -------------------------------------------------------------------


def _rules(ruleset: Any) -> list[tuple[int, Any]]:
    return [(i, rule) for i, rule in enumerate(items(get(ruleset.props, "rules")))
            if get(rule, "enabled") is not False]


def _phase(resources: Sequence[Any], zone: str, phase: str) -> list[Any]:
    return [r for r in _in_zone(resources, RULESET, zone)
            if get(r.props, "phase") == phase and get(r.props, "kind") in (MISSING, "zone")]


def _managed_waf(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    required = {str(k): str(v) for k, v in (config.get("managedRulesets") or MANAGED_RULESETS).items()}
    prod = environment(config) == "prod"
    found: list[tuple[str, str | None]] = []
    for zone in _zones(resources):
        rulesets = _phase(resources, zone, "http_request_firewall_managed")
        if not rulesets:
            found.append((f"zone {zone}: no {RULESET} in phase http_request_firewall_managed deploys the "
                          "managed WAF", None))
            continue
        executed = {}
        for ruleset in rulesets:
            for i, rule in _rules(ruleset):
                if get(rule, "action") == "execute" and get(rule, "actionParameters.id") is not MISSING:
                    executed[str(get(rule, "actionParameters.id"))] = (ruleset, i, rule)
        for ruleset_id, label in required.items():
            if ruleset_id not in executed:
                found.extend((f"{r.name}: rules must execute the {label} ({ruleset_id}) (got no enabled execute "
                              "rule for it)", r.urn) for r in rulesets)
                continue
            ruleset, i, rule = executed[ruleset_id]
            overrides = get(rule, "actionParameters.overrides")
            if prod and get(overrides, "action") == "log":
                found.append((f"{ruleset.name}: rules.{i}.actionParameters.overrides.action must not be 'log' in "
                              f"prod (the {label} would only log)", ruleset.urn))
            if get(overrides, "enabled") is False:
                found.append((f"{ruleset.name}: rules.{i}.actionParameters.overrides.enabled must not be false "
                              f"(it disables every rule of the {label})", ruleset.urn))
    return found


def _rate_limited(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for zone in _zones(resources):
        limits = [rule for r in _phase(resources, zone, "http_ratelimit") for _, rule in _rules(r)
                  if get(rule, "ratelimit") is not MISSING]
        if not limits:
            found.append((f"zone {zone}: no {RULESET} in phase http_ratelimit limits request rates", None))
    return found


# --- C8 load balancers, C9 pools ------------------------------------------------------------------------


_TWO_POOLS = "must list at least 2 distinct pools"


def _default_pools(lb: Any) -> list[str]:
    """At least two distinct default pools.

    Pool ids are Cloudflare's, unknown until the pools exist, so during a first preview the entries of
    defaultPools are unknown. Each unknown entry is resolved through the engine's property dependencies of
    defaultPools: it was computed from a pool resource of the stack, and the distinct pools it names count (a
    pool whose id is also listed known counts once). An unknown entry with no pool among the dependencies, or a
    list unknown as a whole (its length not known either), cannot be verified and fails closed.
    """
    try:
        listed = entries(lb.props, "defaultPools")
    except UnknownValueError:
        return ["defaultPools is unknown during preview; failing closed"]
    if listed is MISSING:
        return [f"defaultPools is not set; it {_TWO_POOLS}"]
    known = {str(p) for p in listed if p is not UNKNOWN_ENTRY}
    unknown = sum(1 for p in listed if p is UNKNOWN_ENTRY)
    if not unknown:
        return [] if len(known) >= 2 else [f"defaultPools {_TWO_POOLS} (got {len(known)})"]
    dependencies = (getattr(lb, "property_dependencies", None) or {}).get("defaultPools") or []
    pools = {d.urn for d in dependencies if d.resource_type == POOL and known_id(d) not in known}
    if not pools:
        return ["defaultPools is unknown during preview and depends on no pool of this stack; failing closed"]
    distinct = len(known) + min(unknown, len(pools))
    return [] if distinct >= 2 else [f"defaultPools {_TWO_POOLS} (got {distinct})"]


# Checked on each load balancer's inputs as a resource rule would (the stack rule adds the dependencies).
_LB_CHECKS = ResourceRule(
    Meta("C8", "cloudflare-lb-failover-inputs", "", Severity.HIGH, mandatory=True, remediation=""),
    (LOAD_BALANCER,), (check("fallbackPool", **present()), check("proxied", **is_true())))


def _failover(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """C8 over every load balancer of the stack: fallbackPool set (an unknown one is a pool's id: set), proxied,
    and two distinct default pools (see _default_pools)."""
    found: list[tuple[str, str | None]] = []
    for lb in of_type(resources, LOAD_BALANCER):
        args = ResourceValidationArgs(lb.resource_type, lb.props, lb.urn, lb.name, lb.opts, lb.provider, dict(config))
        failures = _LB_CHECKS.failures(args)
        try:
            failures += _default_pools(lb)
        except UnknownValueError:
            failures.append("a value it depends on is unknown during preview; failing closed")
        found.extend((f"{lb.name}: {f}", lb.urn) for f in failures)
    return found


def _origins_enabled(props: Any, args: ResourceValidationArgs) -> list[str]:
    origins = get(props, "origins")
    if origins is MISSING or not items(origins):
        return ["origins is not set; it must list at least one enabled origin"]
    return [f"origins.{i}.enabled must not be false (got False)" for i, origin in enumerate(items(origins))
            if get(origin, "enabled") is False]


# --- C11 origins reachable only from Cloudflare ---------------------------------------------------------


def _networks(values: Sequence[Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(str(v), strict=False) for v in values]


def _cloudflare(cidr: str, ranges: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return any(network.version == r.version and network.subnet_of(r) for r in ranges)  # type: ignore[arg-type]


def _admitted(group: Any, rules: Sequence[Any]) -> list[tuple[str, Any, Permission]]:
    """(where, declaring resource, permission) for every ingress permission of a security group."""
    found = [(group.name, group, p) for p in permissions(SECURITY_GROUP, group.props, "ingress")]
    for rule in rules:
        if references(rule, "securityGroupId", group):
            found.extend((rule.name, rule, p) for p in permissions(rule.resource_type, rule.props, "ingress"))
    return found


def _prefix_list_failures(where: str, p: Permission, declaring: Any, lists: Sequence[Any],
                          ranges: Sequence[Any], trusted: Sequence[str]) -> list[str]:
    found = []
    prop = "prefixListId" if declaring.resource_type == INGRESS_RULE else \
        ("ingress" if declaring.resource_type == SECURITY_GROUP else "prefixListIds")
    for pl_id in p.prefix_lists:
        if pl_id in trusted:
            continue
        matches = [pl for pl in lists if known_id(pl) == pl_id]
        if not matches and pl_id == UNKNOWN_ID:  # a first preview: the engine knows which list it is
            matches = referenced(declaring, prop, lists)
        if not matches:
            found.append(f"{where}: {p.origin}prefixListId must name a Cloudflare prefix list of this stack "
                         f"(got {pl_id}, which it cannot verify)")
        for pl in matches:
            outside = [str(get(e, "cidr")) for e in items(get(pl.props, "entries"))
                       if not _cloudflare(str(get(e, "cidr")), ranges)]
            if outside:
                found.append(f"{where}: admits {ORIGIN_PORT} from prefix list {pl.name}, whose entries must all be "
                             f"Cloudflare ranges (got {', '.join(outside)})")
    return found


def _named_groups(lb: Any) -> list[str]:
    try:
        return [str(s) for s in items(get(lb.props, "securityGroups"))]
    except UnknownValueError:
        return []  # a first preview: the engine's dependencies name the groups


def _cloudflare_only(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    ranges = _networks(config.get("cloudflareRanges") or CLOUDFLARE_RANGES)
    trusted = [str(t) for t in config.get("trustedPrefixLists") or []]
    groups = of_type(resources, SECURITY_GROUP)
    rules = of_type(resources, INGRESS_RULE, SECURITY_GROUP_RULE)
    lists = of_type(resources, PREFIX_LIST)
    found: list[tuple[str, str | None]] = []
    for lb in of_type(resources, *AWS_LOAD_BALANCERS):
        if get(lb.props, "internal") is True:
            continue
        attached = referenced(lb, "securityGroups", groups)
        known = {known_id(g) for g in attached}
        named = _named_groups(lb)
        if not attached and not named:
            found.append((f"{lb.name}: securityGroups must admit {ORIGIN_PORT} only from Cloudflare on an "
                          "internet-facing load balancer (got none)", lb.urn))
        found.extend((f"{lb.name}: security group {group_id} is not declared in this stack; cannot verify it admits "
                      f"{ORIGIN_PORT} only from Cloudflare", lb.urn) for group_id in named if group_id not in known)
        for group in attached:
            for where, declaring, p in _admitted(group, rules):
                texts = [f"{where}: {path} must admit nothing from the internet (got {p.shown(cidr)})"
                         for path, cidr in p.world()]
                if p.covers(ORIGIN_PORT):
                    texts += [f"{where}: {path} must admit {ORIGIN_PORT} only from Cloudflare (got {p.shown(cidr)})"
                              for path, cidr in p.cidrs if not is_world(cidr) and not _cloudflare(cidr, ranges)]
                    texts += [f"{where}: must admit {ORIGIN_PORT} only from Cloudflare "
                              f"(got {p.shown('security group ' + g)})" for g in p.groups]
                    texts += _prefix_list_failures(where, p, declaring, lists, ranges, trusted)
                found.extend((f"{lb.name} via {text}", declaring.urn) for text in texts)
    return found


def _aws_origin(props: Any) -> bool:
    content = get(props, "content")
    return get(props, "type") in ("A", "AAAA", "CNAME") and content is not MISSING \
        and bool(_AWS_LB_HOST.search(str(content)))


def _zone_setting_rule(meta: Meta, checks: Sequence[Any]) -> ResourceRule:
    return ResourceRule(meta, (ZONE_SETTING,), tuple(checks))


def _declared_rule(row: str, name: str, settings: Sequence[str], mandatory: bool, severity: Severity) -> StackRule:
    return StackRule(
        Meta(row, name, f"Every zone of the stack declares {', '.join(settings)}", severity, mandatory=mandatory,
             remediation=f"Declare cloudflare.ZoneSetting for {', '.join(settings)} in components/edge.py."),
        _settings_declared(settings))


RULES: list[Rule] = [
    _zone_setting_rule(
        Meta("C1", "cloudflare-ssl-strict", "Cloudflare verifies the origin certificate (SSL Full (strict))",
             Severity.HIGH, mandatory=True, remediation="Set the zone's ssl setting to 'strict'."),
        [check("value", **equals("strict", wrong="full"), when=_setting("ssl"))]),
    _declared_rule("C1", "cloudflare-ssl-setting-declared", ["ssl"], True, Severity.HIGH),
    _zone_setting_rule(
        Meta("C2", "cloudflare-min-tls-1-2", "Cloudflare refuses TLS below 1.2 at the edge", Severity.HIGH,
             mandatory=True, remediation="Set the zone's min_tls_version setting to '1.2' (or '1.3')."),
        [check("value", **one_of(("1.2", "1.3"), wrong="1.0"), when=_setting("min_tls_version"))]),
    _declared_rule("C2", "cloudflare-min-tls-setting-declared", ["min_tls_version"], True, Severity.HIGH),
    _zone_setting_rule(
        Meta("C3", "cloudflare-https-enforced", "Cloudflare redirects HTTP to HTTPS and rewrites mixed content",
             Severity.MEDIUM, mandatory=True,
             remediation="Set always_use_https and automatic_https_rewrites to 'on'."),
        [check("value", **equals("on", wrong="off"), when=_setting("always_use_https")),
         check("value", **equals("on", wrong="off"), when=_setting("automatic_https_rewrites"))]),
    _declared_rule("C3", "cloudflare-https-settings-declared", ["always_use_https", "automatic_https_rewrites"],
                   True, Severity.MEDIUM),
    _zone_setting_rule(
        Meta("C4", "cloudflare-tls13-no-0rtt", "TLS 1.3 is on and replayable 0-RTT data is off", Severity.LOW,
             mandatory=False, remediation="Set tls_1_3 to 'on' and 0rtt to 'off'."),
        [check("value", **one_of(("on", "zrt"), wrong="off"), when=_setting("tls_1_3")),
         check("value", **equals("off", wrong="on"), when=_setting("0rtt"))]),
    _declared_rule("C4", "cloudflare-tls13-settings-declared", ["tls_1_3", "0rtt"], False, Severity.LOW),
    _zone_setting_rule(
        Meta("C5", "cloudflare-hsts", "HSTS is on for at least 180 days, subdomains included", Severity.MEDIUM,
             mandatory=False,
             remediation="Set security_header.strict_transport_security: enabled, max_age >= 15552000, "
                         "include_subdomains."),
        [check(f"value.strict_transport_security.{key}", **spec, when=_setting("security_header"))
         for key, spec in (("enabled", is_true()), ("max_age", at_least(15552000, wrong=86400)),
                           ("include_subdomains", is_true()))]),
    _declared_rule("C5", "cloudflare-hsts-setting-declared", ["security_header"], False, Severity.MEDIUM),
    StackRule(
        Meta("C6", "cloudflare-managed-waf", "Every zone executes the Cloudflare Managed and OWASP Core rulesets "
             "(not log-only in prod)", Severity.HIGH, mandatory=True,
             remediation="Add a zone ruleset in phase http_request_firewall_managed with execute rules for both "
                         "managed rulesets (components/edge.py _managed_waf)."),
        _managed_waf,
        config={"managedRulesets": {"type": "object", "description": "managed ruleset id -> label to require"}}),
    StackRule(
        Meta("C7", "cloudflare-rate-limiting", "Every zone rate-limits requests", Severity.MEDIUM, mandatory=False,
             remediation="Add a zone ruleset in phase http_ratelimit covering the auth and API paths."),
        _rate_limited),
    StackRule(
        Meta("C8", "cloudflare-lb-failover", "Cloudflare load balancers are proxied, with a fallback pool and at "
             "least two default pools", Severity.HIGH, mandatory=True,
             remediation="Set fallback_pool, default_pools with two or more regional pools, and proxied=True."),
        _failover),
    ResourceRule(
        Meta("C9", "cloudflare-pool-monitored", "Pools are health-monitored and every origin is enabled",
             Severity.HIGH, mandatory=True,
             remediation="Set monitor on every pool, minimum_origins >= 1, and keep origins enabled."),
        (POOL,), (check("monitor", **present()), check("minimumOrigins", **at_least(1, wrong=0), missing_ok=True)),
        custom=_origins_enabled),
    ResourceRule(
        Meta("C10", "cloudflare-monitor-https", "Health monitors probe an explicit path over verified HTTPS",
             Severity.MEDIUM, mandatory=True,
             remediation="Set type='https', allow_insecure=False, expected_codes and path on the monitor."),
        (MONITOR,), (check("type", **equals("https", wrong="http")),
                     check("allowInsecure", **is_false(), missing_ok=True),
                     check("expectedCodes", **present()), check("path", **present()))),
    StackRule(
        Meta("C11", "cloudflare-origin-lb-cloudflare-only", "Internet-facing AWS load balancers admit 443 only "
             "from Cloudflare and nothing from the internet", Severity.HIGH, mandatory=True,
             remediation="Admit 443 on the load balancer's security group only from the Cloudflare prefix list "
                         "(components/ingress.py); remove world CIDRs."),
        _cloudflare_only,
        config={"cloudflareRanges": {"type": "array", "items": {"type": "string"},
                                     "description": "Cloudflare's published CIDRs (cloudflare.com/ips)"},
                "trustedPrefixLists": {"type": "array", "items": {"type": "string"},
                                       "description": "prefix list ids from outside the stack that hold "
                                                      "Cloudflare's ranges"}}),
    ResourceRule(
        Meta("C11", "cloudflare-origin-pulls-enabled", "Authenticated origin pulls stay enabled", Severity.HIGH,
             mandatory=True, remediation="Keep enabled=True on the AuthenticatedOriginPullsSettings."),
        (ORIGIN_PULLS,), (check("enabled", **is_true()),)),
    ResourceRule(
        Meta("C11", "cloudflare-origin-records-proxied", "DNS records pointing at an AWS load balancer are proxied",
             Severity.HIGH, mandatory=True,
             remediation="Set proxied=True on records whose content is an ELB hostname; DNS-only records bypass "
                         "the WAF and expose the origin."),
        (DNS_RECORD,), (check("proxied", **is_true(), when=_aws_origin),)),
]
