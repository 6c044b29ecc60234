"""`make preflight`'s Cloudflare part against a real HTTP server on loopback answering as Cloudflare's API does.

pytest-httpserver plays api.cloudflare.com/client/v4: every answer is Cloudflare's JSON envelope
(``{"success": ..., "errors": [...], "messages": [...], "result": ...}``), the SDK is the real one pointed at the
server with ``CLOUDFLARE_BASE_URL``; nothing is mocked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudflare
import pytest
from pytest_httpserver import HTTPServer
from rich.console import Console

from operations import cloudflare_check, preflight
from operations.stack import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK
from tests.test_preflight import FakeAws, fake_aws, moto_stack  # noqa: F401  (fixtures)

TOKEN = "test-token-0123456789"
ZONE = "00000000000000000000000000000002"  # Pulumi.prod-global.yaml's placeholders
ACCOUNT = "00000000000000000000000000000001"
PARENT = "prod-edge=urn:pulumi:prod-global::global-platform::platform:edge:Edge::prod-edge"


def envelope(result: Any, success: bool = True, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"success": success, "errors": errors or [], "messages": [], "result": result}


def zone(legacy_id: str, name: str) -> dict[str, Any]:
    """A zone as `GET /zones/{zone_id}` returns it."""
    return {
        "id": ZONE, "account": {"id": ACCOUNT, "name": "Platform"}, "activated_on": "2026-01-02T00:01:00.12345Z",
        "created_on": "2026-01-01T05:20:00.12345Z", "development_mode": 0,
        "meta": {"cdn_only": False, "custom_certificate_quota": 1, "dns_only": False, "foundation_dns": False,
                 "page_rule_quota": 100, "phishing_detected": False, "step": 2},
        "modified_on": "2026-01-01T05:20:00.12345Z", "name": "example.com",
        "name_servers": ["bob.ns.cloudflare.com", "lola.ns.cloudflare.com"], "original_dnshost": None,
        "original_name_servers": None, "original_registrar": None,
        "owner": {"id": None, "name": None, "type": "organization"},
        "plan": {"id": "94f3b7b768b0458b56d2cac4fe5ec0f9", "can_subscribe": False, "currency": "USD",
                 "externally_managed": False, "frequency": "monthly", "is_subscribed": True, "legacy_discount": False,
                 "legacy_id": legacy_id, "name": name, "price": 0},
        "paused": False, "permissions": ["#zone:read"], "status": "active", "type": "full",
    }


def subscription(rate_plan: str, public_name: str, state: str = "Paid") -> dict[str, Any]:
    """An account subscription as `GET /accounts/{account_id}/subscriptions` lists it."""
    return {"id": f"506e3185e9c882d175a2d0cb0093d9f2-{rate_plan.lower()}", "currency": "USD",
            "current_period_end": "2026-11-01T00:00:00Z", "current_period_start": "2026-10-01T00:00:00Z",
            "frequency": "monthly", "price": 5, "state": state,
            "rate_plan": {"id": rate_plan, "currency": "USD", "externally_managed": False, "is_contract": False,
                          "public_name": public_name, "scope": "zone", "sets": []}}


def ruleset(ruleset_id: str, kind: str, phase: str, name: str) -> dict[str, Any]:
    """A ruleset as `GET /zones/{zone_id}/rulesets` lists it."""
    return {"id": ruleset_id, "kind": kind, "last_updated": "2026-10-01T12:00:00.000000Z", "name": name,
            "phase": phase, "version": "3", "description": ""}


class FakeCloudflare:
    def __init__(self, server: HTTPServer) -> None:
        self.server = server

    def answer(self, legacy_id: str, plan_name: str, subscriptions: list[dict[str, Any]],
               rulesets: list[dict[str, Any]]) -> None:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        self.server.expect_request(f"/client/v4/zones/{ZONE}", method="GET", headers=auth).respond_with_json(
            envelope(zone(legacy_id, plan_name)))
        self.server.expect_request(f"/client/v4/accounts/{ACCOUNT}/subscriptions", method="GET",
                                   headers=auth).respond_with_json(envelope(subscriptions))
        self.server.expect_request(f"/client/v4/zones/{ZONE}/rulesets", method="GET", headers=auth).respond_with_json(
            envelope(rulesets))

    def refuse_token(self) -> None:
        self.server.expect_request(re.compile("^/client/v4/.*")).respond_with_json(
            envelope(None, False, [{"code": 10000, "message": "Authentication error"}]), status=401)


@pytest.fixture
def api(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudflare]:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", httpserver.url_for("/client/v4"))
    for name in ("CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "CLOUDFLARE_API_USER_SERVICE_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield FakeCloudflare(httpserver)
    httpserver.check_assertions()


LOAD_BALANCING = subscription("LOAD_BALANCING_BASIC_PLUS", "Load Balancing")


def run_section(environment: str = "prod") -> tuple[int, str]:
    out = Console(record=True, width=400)
    client = cloudflare_check.client_from_environment(max_retries=0)
    code = cloudflare_check.section(environment, out, client)
    return code, out.export_text()


def test_a_zone_on_the_right_plan_without_rulesets_has_no_findings(api: FakeCloudflare) -> None:
    api.answer("enterprise", "Enterprise Website", [LOAD_BALANCING], [
        ruleset("efb7b8c949ac4650a09736fc376e9aee", "managed", "http_request_firewall_managed",
                "Cloudflare Managed Ruleset"),  # Cloudflare's own: not an entry point of the zone
    ])

    code, text = run_section()

    assert code == EXIT_OK
    assert f"Cloudflare: zone {ZONE} (example.com) of Pulumi.prod-global.yaml: plan enterprise, add-ons " \
           "load_balancing, entry points of the edge's phases: none" in text
    assert "the zone is entitled to everything the edge builds" in text


def test_a_zone_without_traffic_steering_is_a_finding(api: FakeCloudflare) -> None:
    api.answer("business", "Business Website", [LOAD_BALANCING, subscription("ARGO_ZONE_BASIC", "Argo",
                                                                              state="Cancelled")], [])

    code, text = run_section()

    assert code == EXIT_FINDINGS
    assert [line for line in text.splitlines() if line.startswith("- ")] == [
        f"- zone {ZONE} (example.com): global-platform:cloudflareAddOns: geo steering of the load balancers needs "
        "traffic_steering (or cloudflarePlan enterprise); the zone is on business with add-ons load_balancing "
        "(Pulumi.prod-global.yaml declares enterprise with add-ons load_balancing)"]


def test_a_free_zone_without_add_ons_misses_every_entitlement(api: FakeCloudflare) -> None:
    api.answer("free", "Free Website", [], [])

    code, text = run_section()

    assert code == EXIT_FINDINGS
    assert [line.split(": ", 2)[1] for line in text.splitlines() if line.startswith("- ")] == [
        "global-platform:cloudflarePlan", "global-platform:cloudflareAddOns", "global-platform:cloudflareAddOns"]


def test_existing_entry_points_are_listed_with_their_import_commands(api: FakeCloudflare) -> None:
    api.answer("enterprise", "Enterprise Website", [LOAD_BALANCING], [
        ruleset("2f2feab2026849078ba485f918791bdc", "zone", "http_request_firewall_custom", "default"),
        ruleset("67013aa153df4e39b15e8a2e2d0e1b7b", "zone", "http_request_transform", "default"),  # not the edge's
        ruleset("b232b534beea4e00a21dcbb7a8a545e9", "zone", "http_ratelimit", "Rate limits made in the dashboard"),
        ruleset("0d6e8e3a7a4b4a5c8bb6ab5b0a6f0e51", "custom", "http_request_firewall_custom", "My custom ruleset"),
    ])

    code, text = run_section()

    assert code == EXIT_FINDINGS
    commands = [line.strip() for line in text.splitlines() if line.startswith("  pulumi import")]
    assert commands == [
        "pulumi import cloudflare:index/ruleset:Ruleset prod-edge-http_request_firewall_custom "
        f"zones/{ZONE}/2f2feab2026849078ba485f918791bdc --stack prod-global --parent {PARENT}",
        "pulumi import cloudflare:index/ruleset:Ruleset prod-edge-http_ratelimit "
        f"zones/{ZONE}/b232b534beea4e00a21dcbb7a8a545e9 --stack prod-global --parent {PARENT}",
    ]
    assert f"- zone {ZONE} (example.com): the http_ratelimit entry point ruleset b232b534beea4e00a21dcbb7a8a545e9 " \
           "('Rate limits made in the dashboard') already exists; creating the edge's would fail: adopt it into the " \
           "stack" in text
    assert "2 Cloudflare finding(s)" in text


def test_a_bad_token_is_refused_with_one_message(api: FakeCloudflare) -> None:
    api.refuse_token()

    with pytest.raises(cloudflare_check.OperatorError) as err:
        run_section()

    assert str(err.value) == ("Cloudflare refused the API token of CLOUDFLARE_API_TOKEN (10000 Authentication error); "
                              f"use a valid token with {cloudflare_check.PERMISSIONS} on zone {ZONE}")


def test_the_edge_phases_are_those_components_edge_writes() -> None:
    source = (Path(__file__).resolve().parent.parent / "components" / "edge.py").read_text()
    block = source[source.index("self.rulesets = {"):source.index("}", source.index("self.rulesets = {"))]
    assert tuple(re.findall(r'"(http_[a-z_]+)": self\._', block)) == cloudflare_check.EDGE_PHASES


def test_the_sdk_takes_the_base_url_of_the_environment(api: FakeCloudflare, httpserver: HTTPServer) -> None:
    client = cloudflare_check.client_from_environment()
    assert isinstance(client, cloudflare.Cloudflare)
    assert str(client.base_url).rstrip("/") == httpserver.url_for("/client/v4")


# -- `make preflight` end to end: the AWS quotas (on moto), then the Cloudflare section -------------------------

def preflight_run(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = preflight.main(["--stack", "prod"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("moto_stack")
def test_preflight_ends_with_the_cloudflare_section(fake_aws: FakeAws, api: FakeCloudflare,  # noqa: F811
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("enterprise", "Enterprise Website", [LOAD_BALANCING], [
        ruleset("2f2feab2026849078ba485f918791bdc", "zone", "http_request_firewall_managed", "default")])

    code, out, err = preflight_run(capsys)

    assert (code, err) == (EXIT_FINDINGS, "")
    assert out.index("every quota holds the plan") < out.index(f"Cloudflare: zone {ZONE}")
    assert "1 Cloudflare finding(s)" in out
    assert f"  pulumi import cloudflare:index/ruleset:Ruleset prod-edge-http_request_firewall_managed " \
           f"zones/{ZONE}/2f2feab2026849078ba485f918791bdc --stack prod-global --parent {PARENT}" in out


@pytest.mark.usefixtures("moto_stack")
def test_preflight_with_a_bad_token_exits_2(fake_aws: FakeAws, api: FakeCloudflare,  # noqa: F811
                                            capsys: pytest.CaptureFixture[str]) -> None:
    api.refuse_token()

    code, out, err = preflight_run(capsys)

    assert code == EXIT_BAD_INPUT
    assert "every quota holds the plan" in out
    assert err.count("error:") == 1
    assert "Cloudflare refused the API token of CLOUDFLARE_API_TOKEN (10000 Authentication error)" in err


@pytest.mark.usefixtures("moto_stack")
def test_preflight_without_a_token_skips_cloudflare(fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)

    code, out, err = preflight_run(capsys)

    assert (code, err) == (EXIT_OK, "")
    assert "Cloudflare: skipped: CLOUDFLARE_API_TOKEN is not set" in out
