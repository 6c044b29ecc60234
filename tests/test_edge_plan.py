"""The Cloudflare edge of the planned stacks: zone hardening, geo-steered load balancers, WAF, limits, caching."""

from __future__ import annotations

from typing import Any

import pytest

from components.edge import (
    ANOMALY_SCORES,
    CLOUDFLARE_MANAGED_RULESET,
    OWASP_ANOMALY_RULE,
    OWASP_CORE_RULESET,
    TELEGRAM_RANGES,
)
from offline import stack_files
from program.config import PROJECT
from regions.catalog import CLOUDFLARE_REGION_CODES
from regions.loader import load, manifest_path
from tests.conftest import plan as run_plan
from tests.plan_helpers import Doc, of_type


@pytest.fixture(params=["prod", "dev"])
def plan(request: pytest.FixtureRequest) -> Doc:
    return request.getfixturevalue(f"{request.param}_plan")


def _pools_by_id(plan: Doc) -> dict[str, dict[str, Any]]:
    return {p["outputs"]["id"]: p for p in of_type(plan, "cloudflare:index/loadBalancerPool:LoadBalancerPool")}


def _ruleset(plan: Doc, phase: str) -> dict[str, Any]:
    (ruleset,) = [r for r in of_type(plan, "cloudflare:index/ruleset:Ruleset") if r["inputs"]["phase"] == phase]
    return ruleset["inputs"]


def test_zone_settings(plan: Doc) -> None:
    settings = {s["inputs"]["settingId"]: s["inputs"]["value"]
                for s in of_type(plan, "cloudflare:index/zoneSetting:ZoneSetting")}
    assert settings["ssl"] == "strict" and settings["min_tls_version"] == "1.2" and settings["tls_1_3"] == "on"
    assert settings["always_use_https"] == "on" and settings["automatic_https_rewrites"] == "on"
    assert settings["http3"] == "on" and settings["0rtt"] == "off"
    hsts = settings["security_header"]["strict_transport_security"]
    assert hsts["enabled"] is True and hsts["max_age"] >= 31536000 and hsts["include_subdomains"] is True
    assert all(s["region"] is None for s in of_type(plan, "cloudflare:index/zoneSetting:ZoneSetting"))


def test_one_pool_per_region_with_an_https_monitor_that_checks_certificates(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    pools = of_type(plan, "cloudflare:index/loadBalancerPool:LoadBalancerPool")
    assert len(pools) == len(manifest.regions)
    monitors = {m["outputs"]["id"]: m["inputs"]
                for m in of_type(plan, "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")}
    hostnames = plan["stackOutputs"]["ingressHostnames"]
    for region in manifest.regions:
        (pool,) = [p["inputs"] for p in pools if p["inputs"]["name"] == f"{plan['environment']}-{region.short_code}"]
        (origin,) = pool["origins"]
        assert origin["address"] == hostnames[region.name]
        assert pool["checkRegions"] == region.cloudflare_regions and pool["minimumOrigins"] == 1
        monitor = monitors[pool["monitor"]]
        assert monitor["type"] == "https" and monitor["allowInsecure"] is False
        assert monitor["path"] == manifest.edge.health_path and monitor["expectedCodes"] == "200"
        assert monitor["interval"] > 0 and monitor["retries"] > 0


def test_load_balancers_steer_every_region_code_to_at_least_two_pools(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    pools = _pools_by_id(plan)
    balancers = {lb["inputs"]["name"]: lb["inputs"]
                 for lb in of_type(plan, "cloudflare:index/loadBalancer:LoadBalancer")}
    assert set(balancers) == set(plan["stackOutputs"]["edge"].values())
    serving = {code: r for r in manifest.regions for code in r.cloudflare_regions}
    for lb in balancers.values():
        assert lb["steeringPolicy"] == "geo" and lb["proxied"] is True
        assert lb["adaptiveRouting"] == {"failoverAcrossPools": True}
        assert pools[lb["fallbackPool"]]["inputs"]["name"].endswith(manifest.regions[0].short_code)
        assert set(lb["regionPools"]) == set(CLOUDFLARE_REGION_CODES)
        for code, ids in lb["regionPools"].items():
            assert len(ids) >= 2 and len(set(ids)) == len(ids), code
            names = [pools[i]["inputs"]["name"].rsplit("-", 1)[-1] for i in ids]
            region = serving[code]
            assert names == [region.short_code, *(manifest.region(dr).short_code for dr in region.dr_regions)]


def test_managed_waf_executes_both_managed_rulesets(plan: Doc) -> None:
    rules = _ruleset(plan, "http_request_firewall_managed")["rules"]
    executed = [r["actionParameters"]["id"] for r in rules if r["action"] == "execute"]
    assert executed == [CLOUDFLARE_MANAGED_RULESET, OWASP_CORE_RULESET]
    owasp = rules[1]["actionParameters"]["overrides"]
    (anomaly,) = owasp["rules"]
    assert anomaly == {"id": OWASP_ANOMALY_RULE, "action": "block", "scoreThreshold": ANOMALY_SCORES["medium"]}
    assert [c["category"] for c in owasp["categories"]] == ["paranoia-level-3", "paranoia-level-4"]
    assert all(c["enabled"] is False for c in owasp["categories"])


def test_waf_tuning_comes_from_stack_config() -> None:
    values, secrets = stack_files.read("dev-global")
    values |= {f"{PROJECT}:wafAnomalyThreshold": "high", f"{PROJECT}:wafParanoiaLevel": "4"}
    doc = run_plan("dev-global", configs={"dev-global": (values, secrets)})
    owasp = _ruleset(doc, "http_request_firewall_managed")["rules"][1]["actionParameters"]["overrides"]
    assert owasp["rules"][0]["scoreThreshold"] == 25 and "categories" not in owasp


def test_webhook_only_from_telegram_and_methods_restricted(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    rules = _ruleset(plan, "http_request_firewall_custom")["rules"]
    webhook = plan["stackOutputs"]["edge"]["webhook"]
    by_description = {r["description"]: r for r in rules}
    source = by_description["The webhook accepts only Telegram's published ranges"]
    assert source["action"] == "block" and f'http.host eq "{webhook}"' in source["expression"]
    assert all(cidr in source["expression"] for cidr in TELEGRAM_RANGES)
    assert "not ip.src in {149.154.160.0/20 91.108.4.0/22}" in source["expression"]
    path = by_description["The webhook host serves one path, by POST only"]
    assert f'"{manifest.edge.webhook_path}"' in path["expression"] and 'ne "POST"' in path["expression"]
    assert by_description["Methods the API does not implement"]["action"] == "block"


def test_rate_limits_are_stricter_on_authentication(plan: Doc) -> None:
    manifest = load(manifest_path(plan["environment"]), plan["environment"])
    auth, api = _ruleset(plan, "http_ratelimit")["rules"]
    assert all(p in auth["expression"] for p in manifest.edge.auth_paths)
    assert auth["ratelimit"]["requestsPerPeriod"] == manifest.edge.auth_requests_per_minute
    assert api["ratelimit"]["requestsPerPeriod"] == manifest.edge.api_requests_per_minute
    assert auth["ratelimit"]["requestsPerPeriod"] < api["ratelimit"]["requestsPerPeriod"]
    for rule in (auth, api):
        assert rule["action"] == "block" and rule["ratelimit"]["period"] == 60
        assert "ip.src" in rule["ratelimit"]["characteristics"]


def test_static_assets_are_cached_at_the_edge(plan: Doc) -> None:
    (rule,) = _ruleset(plan, "http_request_cache_settings")["rules"]
    assert rule["action"] == "set_cache_settings" and rule["actionParameters"]["cache"] is True
    assert '"woff2"' in rule["expression"]


def test_one_entry_point_ruleset_per_phase(plan: Doc) -> None:
    phases = [r["inputs"]["phase"] for r in of_type(plan, "cloudflare:index/ruleset:Ruleset")]
    assert sorted(phases) == sorted(set(phases)) and len(phases) == 4
    assert all(r["inputs"]["kind"] == "zone" for r in of_type(plan, "cloudflare:index/ruleset:Ruleset"))


def test_origins_accept_only_cloudflare(plan: Doc) -> None:
    (pulls,) = of_type(plan, "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings")
    assert pulls["inputs"]["enabled"] is True
    records = of_type(plan, "cloudflare:index/dnsRecord:DnsRecord")
    assert {r["inputs"]["name"] for r in records} == set(plan["stackOutputs"]["edge"].values())
    assert all(r["inputs"]["proxied"] is True for r in records)
