"""AWS load balancers the stack owns (aws.lb): the L rows of docs/guardrails.md.

The program creates one internet-facing Network Load Balancer per region whose TCP listener passes TLS through
to the gateway pods (Cloudflare → NLB:443 → pods:8443); load balancers the AWS Load Balancer Controller creates
are outside IaC. The HTTP/HTTPS rows therefore apply to listeners only when one is HTTP, HTTPS or TLS, and the
ALB-only rows (L3, L4, L6) only to application load balancers: the rules stand ready for either.

Rows not implemented:
  L9-L13  WAFv2 (web ACLs, associations, logging, metrics, managed rule groups): the stack creates no
          aws:wafv2 resource; its WAF is Cloudflare's (C6, C7 in cloudflare.py).
Target groups (TCP, TCP health checks) have no row. C11 (origins reachable only from Cloudflare) lives in
cloudflare.py.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity
from pulumi_policy.proxy import UnknownValueError

from guardrails.core import MISSING, Meta, ResourceRule, Rule, StackRule, check, get, is_true
from guardrails.network import SUBNET, items, of_type, referenced

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")

# TLS 1.2+ with forward secrecy only (ELB.17's recommended set): TLS13-1-2 (not the Ext* ones with CBC/SHA1
# ciphers), TLS13-1-3, their Res/FIPS/PQ variants, and the FS-1-2-Res family.
ALLOWED_SSL_POLICIES = ("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-*",
                        "ELBSecurityPolicy-TLS13-1-2-FIPS-*", "ELBSecurityPolicy-TLS13-1-2-PQ-*",
                        "ELBSecurityPolicy-TLS13-1-3-*", "ELBSecurityPolicy-FS-1-2-Res-*")
DESYNC_MODES = ("defensive", "strictest")


def _application(props: Any) -> bool:
    """aws.lb.LoadBalancer defaults to an application load balancer."""
    return get(props, "loadBalancerType") in (MISSING, "application")


def _protocol(props: Any) -> str | None:
    """The listener's protocol; an unset one is HTTP on an ALB, None for gateway listeners (no port either)."""
    protocol = get(props, "protocol")
    if protocol is MISSING:
        return None if get(props, "port") is MISSING else "HTTP"
    return str(protocol).upper()


def _action_text(action: Any) -> str:
    kind = str(get(action, "type")) if get(action, "type") is not MISSING else "<no type>"
    target = get(action, "redirect.protocol")
    return kind if target is MISSING else f"{kind} to {target}"


def _http_redirects(props: Any, args: ResourceValidationArgs) -> list[str]:
    if _protocol(props) != "HTTP":
        return []
    actions = items(get(props, "defaultActions"))
    if len(actions) == 1 and get(actions[0], "type") == "redirect" \
            and str(get(actions[0], "redirect.protocol")).upper() == "HTTPS":
        return []
    got = ", ".join(_action_text(a) for a in actions) or "no actions"
    return [f"defaultActions must be a single redirect to HTTPS on an HTTP listener (got {got})"]


_TLS_EXPECT = "must be a TLS 1.2+ forward-secret policy (TLS13-1-2, TLS13-1-3, their Res/FIPS variants, FS-1-2-Res)"


def _tls_policy(props: Any, args: ResourceValidationArgs) -> list[str]:
    if _protocol(props) not in ("HTTPS", "TLS"):
        return []
    allowed = (args.get_config() or {}).get("allowedSslPolicies") or ALLOWED_SSL_POLICIES
    policy = get(props, "sslPolicy")
    if policy is MISSING:
        return [f"sslPolicy is not set; it {_TLS_EXPECT} (the default ELBSecurityPolicy-2016-08 allows TLS 1.0)"]
    if not any(fnmatch.fnmatchcase(str(policy), str(pattern)) for pattern in allowed):
        return [f"sslPolicy {_TLS_EXPECT} (got {policy!r})"]
    return []


def _drop_invalid_headers(props: Any, args: ResourceValidationArgs) -> list[str]:
    if not _application(props):
        return []
    value = get(props, "dropInvalidHeaderFields")
    if value is MISSING:
        return ["dropInvalidHeaderFields is not set; it must be true"]
    return [] if value is True else [f"dropInvalidHeaderFields must be true (got {value!r})"]


def _access_logs(props: Any, args: ResourceValidationArgs) -> list[str]:
    if not _application(props):
        return []
    found = []
    enabled = get(props, "accessLogs.enabled")
    if enabled is MISSING:
        found.append("accessLogs.enabled is not set; it must be true")
    elif enabled is not True:
        found.append(f"accessLogs.enabled must be true (got {enabled!r})")
    bucket = get(props, "accessLogs.bucket")
    if bucket is MISSING:
        found.append("accessLogs.bucket is not set; it must be set")
    elif not str(bucket).strip():
        found.append(f"accessLogs.bucket must be set (got {bucket!r})")
    return found


def _desync(props: Any, args: ResourceValidationArgs) -> list[str]:
    if not _application(props):
        return []
    mode = get(props, "desyncMitigationMode")  # unset is "defensive"
    if mode is MISSING or mode in DESYNC_MODES:
        return []
    return [f"desyncMitigationMode must be one of {', '.join(DESYNC_MODES)} (got {mode!r})"]


def _subnet_ids(lb: Any) -> list[str]:
    ids = [str(s) for s in items(get(lb.props, "subnets"))]
    ids += [str(get(m, "subnetId")) for m in items(get(lb.props, "subnetMappings"))
            if get(m, "subnetId") is not MISSING]
    return ids


def _zone(subnet: Any) -> str | None:
    for key in ("availabilityZoneId", "availabilityZone"):
        value = get(subnet.props, key)
        if value is not MISSING:
            return str(value)
    return None


def _zones(lb: Any, subnets: Sequence[Any]) -> set[str]:
    """The AZs of the load balancer's subnets; a subnet the stack does not know counts as its own zone."""
    zones: set[str] = set()
    try:
        ids = _subnet_ids(lb)
    except UnknownValueError:
        ids = []
    by_id = {}
    for subnet in subnets:
        try:
            subnet_id = get(subnet.props, "id")
        except UnknownValueError:
            continue
        if subnet_id is not MISSING:
            by_id[str(subnet_id)] = subnet
    for subnet_id in ids:
        subnet = by_id.get(subnet_id)
        zones.add((_zone(subnet) if subnet is not None else None) or subnet_id)
    if not ids:  # unknown during a first preview: the engine still knows which subnets they are
        for prop in ("subnets", "subnetMappings"):
            zones |= {z for s in referenced(lb, prop, subnets) if (z := _zone(s))}
    return zones


def _multi_az(resources: Sequence[Any], config: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    subnets = of_type(resources, SUBNET)
    found: list[tuple[str, str | None]] = []
    for lb in of_type(resources, *LOAD_BALANCERS):
        try:
            zones = _zones(lb, subnets)
        except UnknownValueError:
            continue  # advisory: a load balancer this preview cannot place yet is skipped, not the whole stack
        if len(zones) < 2:
            found.append((f"{lb.name}: subnets must span at least 2 Availability Zones (got "
                          f"{', '.join(sorted(zones)) or 'none'})", lb.urn))
    return found


RULES: list[Rule] = [
    ResourceRule(
        Meta("L1", "lb-listener-http-redirects-to-https", "HTTP listeners only redirect to HTTPS", Severity.MEDIUM,
             mandatory=True,
             remediation="Give HTTP listeners a single default action type='redirect' with redirect.protocol='HTTPS' "
                         "(or drop the HTTP listener).",
             mirrors=("ELB.1", "CKV2_AWS_20", "CKV_AWS_2", "CKV_AWS_378")),
        LISTENERS, custom=_http_redirects),
    ResourceRule(
        Meta("L2", "lb-listener-modern-tls-policy", "HTTPS and TLS listeners use a TLS 1.2+ forward-secret policy",
             Severity.MEDIUM, mandatory=True,
             remediation="Set ssl_policy='ELBSecurityPolicy-TLS13-1-2-2021-06' (or a TLS13-1-3 policy).",
             mirrors=("ELB.17", "CKV_AWS_103", "CKV2_AWS_74")),
        LISTENERS, custom=_tls_policy,
        config={"allowedSslPolicies": {"type": "array", "items": {"type": "string"},
                                       "description": "ELB security policy names (globs) listeners may use"}}),
    ResourceRule(
        Meta("L3", "lb-alb-drop-invalid-headers", "Application load balancers drop invalid HTTP headers",
             Severity.MEDIUM, mandatory=False, remediation="Set drop_invalid_header_fields=True on the ALB.",
             mirrors=("ELB.4", "CKV_AWS_131")),
        LOAD_BALANCERS, custom=_drop_invalid_headers),
    ResourceRule(
        Meta("L4", "lb-alb-access-logs", "Application load balancers write access logs", Severity.MEDIUM,
             mandatory=False, remediation="Set access_logs=LoadBalancerAccessLogsArgs(enabled=True, bucket=...).",
             mirrors=("ELB.5", "CKV_AWS_91")),
        LOAD_BALANCERS, custom=_access_logs),
    ResourceRule(
        Meta("L5", "lb-deletion-protection", "Prod load balancers have deletion protection", Severity.MEDIUM,
             mandatory=False, remediation="Set enable_deletion_protection=True on prod load balancers.",
             mirrors=("ELB.6", "CKV_AWS_150")),
        LOAD_BALANCERS, (check("enableDeletionProtection", **is_true()),), prod_only=True),
    ResourceRule(
        Meta("L6", "lb-alb-desync-mitigation", "Application load balancers mitigate HTTP desync (defensive or "
             "strictest)", Severity.MEDIUM, mandatory=False,
             remediation="Leave desync_mitigation_mode unset (defensive) or set 'strictest'.",
             mirrors=("ELB.12", "CKV_AWS_328")),
        LOAD_BALANCERS, custom=_desync),
    StackRule(
        Meta("L7", "lb-multi-az", "Load balancers span at least two Availability Zones", Severity.MEDIUM,
             mandatory=False, remediation="Give the load balancer subnets in two or more AZs.",
             mirrors=("ELB.13",)),
        _multi_az),
    ResourceRule(
        Meta("L8", "lb-nlb-cross-zone", "Network load balancers balance across zones", Severity.LOW,
             mandatory=False, remediation="Set enable_cross_zone_load_balancing=True on the NLB.",
             mirrors=("CKV_AWS_152",)),
        LOAD_BALANCERS, (check("enableCrossZoneLoadBalancing", **is_true(),
                               when=lambda p: get(p, "loadBalancerType") == "network"),)),
]
