"""The Cloudflare edge: a hardened zone, geo-steered load balancers over the regional ingresses, WAF and limits.

Users reach the nearest healthy region: every Cloudflare region code is steered to the pool of the AWS
region that serves it, then to that region's DR regions' pools; adaptive routing fails over across pools.
Attacks stop at the edge (managed WAF and OWASP rules, rate limits, method and source restrictions), and
origins accept only Cloudflare (authenticated origin pulls, and the ingress security group's ranges).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_cloudflare as cf

# Cloudflare's managed WAF rulesets and the OWASP anomaly-score rule (Cloudflare docs, "WAF managed rulesets").
CLOUDFLARE_MANAGED_RULESET = "efb7b8c949ac4650a09736fc376e9aee"
OWASP_CORE_RULESET = "4814384a9e5d4991b9815dcfc25d2f1f"
OWASP_ANOMALY_RULE = "6179ae15870a4bb7b2d480d4843b323c"
ANOMALY_SCORES = {"low": 60, "medium": 40, "high": 25}
# Telegram's published webhook source ranges (core.telegram.org/bots/webhooks).
TELEGRAM_RANGES = ("149.154.160.0/20", "91.108.4.0/22")
API_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
HSTS = {"strict_transport_security": {  # snake_case: camelCase keys here cause perpetual diffs
    "enabled": True, "include_subdomains": True, "max_age": 31536000, "nosniff": True, "preload": True}}
ZONE_SETTINGS: dict[str, Any] = {
    "ssl": "strict",  # Full (strict): Cloudflare verifies the origin's certificate
    "min_tls_version": "1.2",
    "tls_1_3": "on",
    "always_use_https": "on",
    "automatic_https_rewrites": "on",
    "security_header": HSTS,
    "http3": "on",
    "0rtt": "off",  # replayable early data must never reach the API
    # Authenticated origin pulls with the Cloudflare certificate (signed by origin-pull-ca.pem, which the
    # edge gateway requires, components/edge_gateway.py): the zone setting `tls_client_auth` is what makes
    # Cloudflare present it ("Enable global Authenticated Origin Pulls", developers.cloudflare.com/ssl/
    # origin-configuration/authenticated-origin-pull/set-up/global/); the zone-level switch below is kept.
    "tls_client_auth": "on",
}


@dataclass(frozen=True)
class EdgeRegion:
    name: str
    short_code: str
    cloudflare_regions: Sequence[str]
    dr_regions: Sequence[str]
    origin: pulumi.Input[str]  # the regional ingress hostname


@dataclass(frozen=True)
class EdgeArgs:
    environment: str
    domain: str
    zone_id: str
    account_id: str
    api_host: str
    webhook_host: str
    webhook_path: str
    health_path: str
    api_requests_per_minute: int
    auth_requests_per_minute: int
    auth_paths: Sequence[str]
    static_extensions: Sequence[str]
    static_ttl_seconds: int
    waf_anomaly_threshold: Literal["low", "medium", "high"]
    waf_paranoia_level: int
    regions: Sequence[EdgeRegion]  # the first is the fallback
    alert_emails: Sequence[str]
    alert_webhook_url: pulumi.Input[str] | None  # a secret (it embeds the integration key)
    region_codes: Sequence[str]  # every Cloudflare region code, each served by exactly one region

    @property
    def api_hostname(self) -> str:
        return f"{self.api_host}.{self.domain}"

    @property
    def webhook_hostname(self) -> str:
        return f"{self.webhook_host}.{self.domain}"


class Edge(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:edge:Edge", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        self.zone_settings = {
            setting: cf.ZoneSetting(f"{name}-{setting}", zone_id=args.zone_id, setting_id=setting, value=value,
                                    opts=child)
            for setting, value in ZONE_SETTINGS.items()}
        # Origins present Cloudflare's client certificate check: only requests proxied by Cloudflare pass.
        self.origin_pulls = cf.AuthenticatedOriginPullsSettings(f"{name}-origin-pulls", zone_id=args.zone_id,
                                                                enabled=True, opts=child)
        self.monitor = cf.LoadBalancerMonitor(
            f"{name}-https", account_id=args.account_id, type="https", method="GET", path=args.health_path,
            port=443, expected_codes="200", header={"Host": [args.api_hostname]}, interval=60, retries=2,
            timeout=5, consecutive_up=2, consecutive_down=2, follow_redirects=False, allow_insecure=False,
            # Probes egress with the zone's settings, so they present the origin-pull client certificate the
            # gateways require: "Simulate Zone ... changes the egress zone settings of a health monitor request
            # to ensure compatibility with features like Authenticated Origin Pulls (mTLS)" (developers.
            # cloudflare.com/learning-paths/load-balancing/setup/create-monitor/). Without it they are refused.
            probe_zone=args.domain,
            description=f"{args.environment}: HTTPS {args.health_path} on every regional ingress", opts=child)
        self.pools = {r.name: self._pool(name, r, child) for r in args.regions}
        region_pools = self.region_pools()
        self.load_balancers = {
            host: cf.LoadBalancer(
                f"{name}-{label}", zone_id=args.zone_id, name=host,
                description=f"{args.environment} {label}: nearest healthy region, then its DR regions",
                default_pools=[p.id for p in self.pools.values()],
                fallback_pool=self.pools[args.regions[0].name].id,
                region_pools=region_pools,
                steering_policy="geo",
                adaptive_routing=cf.LoadBalancerAdaptiveRoutingArgs(failover_across_pools=True),
                location_strategy=cf.LoadBalancerLocationStrategyArgs(mode="resolver_ip", prefer_ecs="proximity"),
                session_affinity="none",
                proxied=True,
                opts=child)
            for host, label in ((args.api_hostname, "api"), (args.webhook_hostname, "webhook"))}
        self.records = self._dns(name, child)
        self.pool_alerts = self._pool_alerts(name, child)
        self.rulesets = {
            "http_request_firewall_managed": self._managed_waf(name, child),
            "http_request_firewall_custom": self._custom_rules(name, child),
            "http_ratelimit": self._rate_limits(name, child),
            "http_request_cache_settings": self._cache_rules(name, child),
        }
        self.register_outputs({"api": args.api_hostname, "webhook": args.webhook_hostname})

    # -- load balancing -------------------------------------------------------------------------------

    def _pool(self, name: str, region: EdgeRegion, opts: pulumi.ResourceOptions) -> cf.LoadBalancerPool:
        return cf.LoadBalancerPool(
            f"{name}-{region.short_code}", account_id=self.args.account_id,
            name=f"{self.args.environment}-{region.short_code}",
            description=f"{region.name} regional ingress",
            origins=[cf.LoadBalancerPoolOriginArgs(name=region.short_code, address=region.origin, enabled=True,
                                                   weight=1)],
            monitor=self.monitor.id,
            check_regions=list(region.cloudflare_regions),  # health seen from where this region's users are
            minimum_origins=1,
            enabled=True,
            opts=opts)

    def region_pools(self) -> Mapping[str, list[pulumi.Output[str]]]:
        """Each Cloudflare region code -> the serving region's pool, then its DR regions' pools in order."""
        serving = {code: r for r in self.args.regions for code in r.cloudflare_regions}
        return {code: [self.pools[serving[code].name].id, *(self.pools[dr].id for dr in serving[code].dr_regions)]
                for code in self.args.region_codes}

    def _pool_alerts(self, name: str, opts: pulumi.ResourceOptions) -> cf.NotificationPolicy | None:
        """Pool health changes page the same on-call target as the AWS alarms."""
        args = self.args
        webhooks = None
        if args.alert_webhook_url:
            hook = cf.NotificationPolicyWebhooks(f"{name}-oncall", account_id=args.account_id,
                                                 name=f"{args.environment} on-call", url=args.alert_webhook_url,
                                                 opts=opts)
            webhooks = [cf.NotificationPolicyMechanismsWebhookArgs(id=hook.id)]
        emails = [cf.NotificationPolicyMechanismsEmailArgs(id=e) for e in args.alert_emails] or None
        if webhooks is None and emails is None:
            return None  # nobody to tell; the stack config names no alert target
        return cf.NotificationPolicy(
            f"{name}-pool-health", account_id=args.account_id, name=f"{args.environment} origin pool health",
            alert_type="load_balancing_health_alert", enabled=True,
            description="A regional pool became unhealthy or recovered",
            mechanisms=cf.NotificationPolicyMechanismsArgs(emails=emails, webhooks=webhooks),
            filters=cf.NotificationPolicyFiltersArgs(pool_ids=[p.id for p in self.pools.values()],
                                                     new_healths=["Unhealthy", "Healthy"]),
            opts=opts)

    def _dns(self, name: str, opts: pulumi.ResourceOptions) -> list[cf.DnsRecord]:
        """Proxied records for the hostnames; the load balancers take precedence while they are enabled."""
        fallback = self.args.regions[0]
        return [cf.DnsRecord(f"{name}-{label}-record", zone_id=self.args.zone_id, name=host, type="CNAME",
                             content=fallback.origin, proxied=True, ttl=1,
                             comment=f"fallback to {fallback.name} when the load balancer is disabled", opts=opts)
                for host, label in ((self.args.api_hostname, "api"), (self.args.webhook_hostname, "webhook"))]

    # -- rulesets -------------------------------------------------------------------------------------

    def _ruleset(self, name: str, phase: str, rules: list[cf.RulesetRuleArgs],
                 opts: pulumi.ResourceOptions) -> cf.Ruleset:
        return cf.Ruleset(f"{name}-{phase}", zone_id=self.args.zone_id, kind="zone", phase=phase,
                          name=f"{self.args.environment} {phase}", description=f"Entry point of {phase}",
                          rules=rules, opts=opts)

    def _managed_waf(self, name: str, opts: pulumi.ResourceOptions) -> cf.Ruleset:
        args = self.args
        # Paranoia level N: the categories of the levels above N are switched off.
        disabled = [cf.RulesetRuleActionParametersOverridesCategoryArgs(category=f"paranoia-level-{level}",
                                                                        enabled=False)
                    for level in range(args.waf_paranoia_level + 1, 5)]
        return self._ruleset(name, "http_request_firewall_managed", [
            cf.RulesetRuleArgs(action="execute", expression="true", description="Cloudflare Managed Ruleset",
                               action_parameters=cf.RulesetRuleActionParametersArgs(id=CLOUDFLARE_MANAGED_RULESET)),
            cf.RulesetRuleArgs(
                action="execute", expression="true",
                description=f"OWASP Core Ruleset, paranoia {args.waf_paranoia_level}, "
                            f"threshold {args.waf_anomaly_threshold}",
                action_parameters=cf.RulesetRuleActionParametersArgs(
                    id=OWASP_CORE_RULESET,
                    overrides=cf.RulesetRuleActionParametersOverridesArgs(
                        categories=disabled or None,
                        rules=[cf.RulesetRuleActionParametersOverridesRuleArgs(
                            id=OWASP_ANOMALY_RULE, action="block",
                            score_threshold=ANOMALY_SCORES[args.waf_anomaly_threshold])]))),
        ], opts)

    def _custom_rules(self, name: str, opts: pulumi.ResourceOptions) -> cf.Ruleset:
        args = self.args
        api, hook = f'http.host eq "{args.api_hostname}"', f'http.host eq "{args.webhook_hostname}"'
        telegram = " ".join(TELEGRAM_RANGES)
        methods = " ".join(f'"{m}"' for m in API_METHODS)
        return self._ruleset(name, "http_request_firewall_custom", [
            cf.RulesetRuleArgs(
                action="block", description="The webhook accepts only Telegram's published ranges",
                expression=f"({hook} and not ip.src in {{{telegram}}})"),
            cf.RulesetRuleArgs(
                action="block", description="The webhook host serves one path, by POST only",
                expression=f'({hook} and (http.request.uri.path ne "{args.webhook_path}" or '
                           f'http.request.method ne "POST"))'),
            cf.RulesetRuleArgs(
                action="block", description="Methods the API does not implement",
                expression=f"({api} and not http.request.method in {{{methods}}})"),
        ], opts)

    def _rate_limits(self, name: str, opts: pulumi.ResourceOptions) -> cf.Ruleset:
        args = self.args
        api = f'http.host eq "{args.api_hostname}"'
        auth = " or ".join(f'starts_with(http.request.uri.path, "{p}")' for p in args.auth_paths)

        def limit(description: str, expression: str, per_minute: int, timeout: int) -> cf.RulesetRuleArgs:
            return cf.RulesetRuleArgs(
                action="block", description=description, expression=expression,
                ratelimit=cf.RulesetRuleRatelimitArgs(characteristics=["cf.colo.id", "ip.src"], period=60,
                                                      requests_per_period=per_minute, mitigation_timeout=timeout))

        return self._ruleset(name, "http_ratelimit", [
            limit("Authentication: strict per-IP limit", f"({api} and ({auth}))", args.auth_requests_per_minute,
                  600),
            limit("API: per-IP limit", f"({api})", args.api_requests_per_minute, 60),
        ], opts)

    def _cache_rules(self, name: str, opts: pulumi.ResourceOptions) -> cf.Ruleset:
        args = self.args
        extensions = " ".join(f'"{e}"' for e in args.static_extensions)
        return self._ruleset(name, "http_request_cache_settings", [
            cf.RulesetRuleArgs(
                action="set_cache_settings", description="Static assets: cache at the edge",
                expression=f'(http.host eq "{args.api_hostname}" and http.request.uri.path.extension in '
                           f"{{{extensions}}})",
                action_parameters=cf.RulesetRuleActionParametersArgs(
                    cache=True,
                    edge_ttl=cf.RulesetRuleActionParametersEdgeTtlArgs(mode="override_origin",
                                                                        default=args.static_ttl_seconds),
                    browser_ttl=cf.RulesetRuleActionParametersBrowserTtlArgs(mode="respect_origin"))),
        ], opts)
