"""The platform's database logins and PgBouncer's client-TLS authority, shared by every region.

Two logins: ``app`` (what applications use through PgBouncer) and the exporter's ``pgbouncer_stats``
(PgBouncer's admin console only). Passwords and salts come from pulumi-random and stay Pulumi secrets;
the SCRAM verifiers go to each region's PgBouncer and, with the app password, to each region's Secrets
Manager, from where the database bootstrap creates the role in every global cluster (docs/runbooks). No
cloud API is involved: the global stack makes them once and every cluster stack reads them as secrets.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random
import pulumi_tls as tls

from components import scram
from components.rotating_password import rotating_password
from regions.pgbouncer_ini import STATS_USER

APP_USER = "app"
DATABASE_SECRETS = "database"  # secrets are named <env>/database/<user>
CA_VALIDITY_HOURS = 10 * 365 * 24


@dataclass(frozen=True)
class DatabaseLogins:
    """What a region's PgBouncer and its applications need of the logins (made by the global stack)."""

    passwords: Mapping[str, pulumi.Output[str]]  # user -> password
    verifiers: Mapping[str, pulumi.Output[str]]  # user -> SCRAM verifier
    userlist: pulumi.Output[str]  # PgBouncer's userlist.txt
    ca_cert_pem: pulumi.Output[str]  # PgBouncer's client-TLS CA: applications trust it
    ca_key_pem: pulumi.Output[str]  # signs each region's PgBouncer certificate


@dataclass(frozen=True)
class DatabaseUsersArgs:
    environment: str
    protect: bool
    password_days: int = 90  # the manifest's rotation.login_days


def app_login_secret(name: str, environment: str, logins: DatabaseLogins, kms_key_arn: pulumi.Input[str],
                     protect: bool, opts: pulumi.ResourceOptions, *, rotation_days: int,
                     rotated_in: str) -> aws.secretsmanager.Secret:
    """The application login and its SCRAM verifier in one region's Secrets Manager, under that region's key.

    The database bootstrap reads it to create the role in every global cluster (docs/runbooks). Each
    region holds its own copy (same name, same value), written by that region's cluster stack. The password
    rotates in the stack ``rotated_in`` (the global stack's Rotating keeper); the tags say so, and the next
    deploy of this stack writes the new value.
    """
    secret = aws.secretsmanager.Secret(
        name, name=f"{environment}/{DATABASE_SECRETS}/{APP_USER}",
        description="Application login of every shard group (via PgBouncer) and its SCRAM verifier",
        kms_key_id=kms_key_arn, recovery_window_in_days=30 if protect else 7,
        tags={"rotation": "program", "rotation-days": str(rotation_days), "rotated-in": rotated_in},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protect)))
    aws.secretsmanager.SecretVersion(
        name, secret_id=secret.id,
        secret_string=pulumi.Output.all(logins.passwords[APP_USER], logins.verifiers[APP_USER]).apply(
            lambda v: json.dumps({"username": APP_USER, "password": v[0], "scramVerifier": v[1]})),
        opts=pulumi.ResourceOptions(parent=secret))
    return secret


class DatabaseUsers(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseUsersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:data:DatabaseUsers", name, None, opts)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.passwords: dict[str, pulumi.Output[str]] = {}
        verifiers: dict[str, pulumi.Output[str]] = {}
        for user in (APP_USER, STATS_USER):
            label = user.replace("_", "-")
            # Letters and digits only: the password travels in connection URLs and shell-free env vars. A new
            # one every password_days (PostgreSQL and PgBouncer's userlist hold one password per role, so no
            # dual slot: the bootstrap re-sets the role, docs/runbooks/database-bootstrap.md). Not protected:
            # its replacement is the rotation.
            password = rotating_password(f"{label}-password", args.password_days, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
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

        self.logins = DatabaseLogins(passwords=self.passwords, verifiers=verifiers, userlist=self.userlist,
                                     ca_cert_pem=self.ca_cert.cert_pem, ca_key_pem=self.ca_key.private_key_pem)
        self.register_outputs({})
