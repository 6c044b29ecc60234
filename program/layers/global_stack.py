"""`<env>-global`: what has no region: the Cloudflare edge over every region's NLB, and the database logins.

The edge's Origin CA certificate (for the api and webhook hostnames, key from pulumi-tls) is made here and
exported as the secret `edgeOriginCertificate`; every cluster stack's edge gateway terminates TLS with it.

The logins (pulumi-random passwords and salts, the PgBouncer client-TLS CA from pulumi-tls) touch no cloud
API; every cluster stack reads them as secret outputs, so all regions share one login per user.
"""

from __future__ import annotations

import pulumi

from components.database_users import DatabaseUsers, DatabaseUsersArgs
from components.edge import Edge, EdgeArgs, EdgeRegion
from components.edge_gateway import origin_certificate
from program.config import StackConfig
from program.references import Stacks
from regions.catalog import CLOUDFLARE_REGION_CODES
from regions.schema import Manifest
from regions.stacks import StackId


def build(config: StackConfig, manifest: Manifest, stacks: Stacks) -> None:
    assert config.domain and config.cloudflare_zone_id and config.cloudflare_account_id  # the global layer's keys
    env = manifest.environment
    users = DatabaseUsers("platform-db", DatabaseUsersArgs(environment=env, protect=manifest.protected,
                                                                password_days=manifest.rotation.login_days))
    edge = manifest.edge
    cloudflare_edge = Edge(f"{env}-edge", EdgeArgs(
        environment=env, domain=config.domain, zone_id=config.cloudflare_zone_id,
        account_id=config.cloudflare_account_id, api_host=edge.api_host, webhook_host=edge.webhook_host,
        webhook_path=edge.webhook_path, health_path=edge.health_path,
        api_requests_per_minute=edge.api_requests_per_minute, auth_requests_per_minute=edge.auth_requests_per_minute,
        auth_paths=edge.auth_paths, static_extensions=edge.static_extensions,
        static_ttl_seconds=edge.static_ttl_seconds, waf_anomaly_threshold=config.waf_anomaly_threshold,
        waf_paranoia_level=config.waf_paranoia_level,
        regions=[EdgeRegion(name=r.name, short_code=r.short_code, cloudflare_regions=r.cloudflare_regions,
                            dr_regions=r.dr_regions,
                            origin=stacks.regional(StackId(env, "infra", r.name), "ingressHostnames"))
                 for r in manifest.regions],
        region_codes=list(CLOUDFLARE_REGION_CODES), alert_emails=config.alert_emails,
        alert_webhook_url=config.alert_webhook()))
    hostnames = [cloudflare_edge.args.api_hostname, cloudflare_edge.args.webhook_hostname]
    origin = origin_certificate(f"{env}-edge", hostnames, pulumi.ResourceOptions(parent=cloudflare_edge))
    logins = users.logins
    pulumi.export("environment", env)
    pulumi.export("databaseLogins", pulumi.Output.secret({
        "passwords": dict(logins.passwords), "verifiers": dict(logins.verifiers), "userlist": logins.userlist,
        "caKeyPem": logins.ca_key_pem}))
    pulumi.export("pgbouncerCaCertificate", logins.ca_cert_pem)
    pulumi.export("edge", {"api": cloudflare_edge.args.api_hostname, "webhook": cloudflare_edge.args.webhook_hostname})
    pulumi.export("edgeOriginCertificate", pulumi.Output.secret({"certificate": origin.certificate,
                                                                 "privateKey": origin.private_key}))
