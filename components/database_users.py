"""The platform's database logins and PgBouncer's client-TLS authority, shared by every region.

Two logins: ``app`` (what applications use through PgBouncer) and the exporter's ``pgbouncer_stats``
(PgBouncer's admin console only). Passwords and salts come from pulumi-random and stay Pulumi secrets;
the SCRAM verifiers go to each region's PgBouncer and, with the app password, to Secrets Manager, from
where the database bootstrap creates the role in every global cluster (docs/runbooks).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random
import pulumi_tls as tls

from components import scram
from regions.pgbouncer_ini import STATS_USER

APP_USER = "app"
CA_VALIDITY_HOURS = 10 * 365 * 24


@dataclass(frozen=True)
class SecretSite:
    region: str
    provider: pulumi.ProviderResource
    kms_key_arn: pulumi.Input[str]


@dataclass(frozen=True)
class DatabaseUsersArgs:
    environment: str
    sites: Sequence[SecretSite]  # the first holds the secret, the others its replicas
    protect: bool


class DatabaseUsers(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseUsersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:DatabaseUsers", name, None, opts)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.passwords: dict[str, pulumi.Output[str]] = {}
        verifiers: dict[str, pulumi.Output[str]] = {}
        for user in (APP_USER, STATS_USER):
            label = user.replace("_", "-")
            # Letters and digits only: the password travels in connection URLs and shell-free env vars.
            password = random.RandomPassword(f"{label}-password", length=40, special=False, opts=stateful)
            salt = random.RandomBytes(f"{label}-scram-salt", length=16, opts=stateful)
            self.passwords[user] = password.result
            verifiers[user] = pulumi.Output.all(password.result, salt.base64).apply(
                lambda values: scram.verifier(values[0], base64.b64decode(values[1])))
        self.verifiers = verifiers
        self.userlist: pulumi.Output[str] = pulumi.Output.all(**verifiers).apply(
            lambda v: scram.userlist(dict(v)))

        self.ca_key = tls.PrivateKey(f"{name}-pgbouncer-ca", algorithm="ECDSA", ecdsa_curve="P256", opts=stateful)
        self.ca_cert = tls.SelfSignedCert(
            f"{name}-pgbouncer-ca", private_key_pem=self.ca_key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"{args.environment} PgBouncer client TLS CA",
                                                  organization="global-platform"),
            validity_period_hours=CA_VALIDITY_HOURS, early_renewal_hours=365 * 24,
            allowed_uses=["cert_signing", "crl_signing"], opts=stateful)

        home, *replicas = args.sites
        self.app_secret = aws.secretsmanager.Secret(
            f"{name}-app", name=f"{args.environment}/database/{APP_USER}",
            description="Application login of every shard group (via PgBouncer) and its SCRAM verifier",
            kms_key_id=home.kms_key_arn,
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=s.region, kms_key_id=s.kms_key_arn)
                      for s in replicas],
            recovery_window_in_days=30 if args.protect else 7,
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(provider=home.provider)))
        aws.secretsmanager.SecretVersion(
            f"{name}-app", secret_id=self.app_secret.id,
            secret_string=pulumi.Output.all(self.passwords[APP_USER], verifiers[APP_USER]).apply(
                lambda v: json.dumps({"username": APP_USER, "password": v[0], "scramVerifier": v[1]})),
            opts=pulumi.ResourceOptions(parent=self.app_secret, provider=home.provider))
        self.register_outputs({"appSecretArn": self.app_secret.arn})
