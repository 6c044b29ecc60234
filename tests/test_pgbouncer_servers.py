"""The dev plan's pgbouncer.ini, run by a real PgBouncer in front of a real PostgreSQL.

Each Aurora endpoint the ini names becomes a local database that stores its shard group and endpoint; the
ini is rewritten only where it must be (endpoints, listen port, file paths), so pooling, SCRAM
pass-through, client TLS and server TLS ``verify-full`` are the generated ones.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components import scram
from components.database_users import APP_USER
from regions import pgbouncer_ini
from regions.published_map import read_only_database
from tests import servers
from tests.plan_helpers import Doc, of_type

_CONN = re.compile(r"host=(?P<host>\S+) port=(?P<port>\d+) dbname=(?P<dbname>\S+)")


def rendered_ini(plan: Doc, region: str) -> str:
    (config,) = [c for c in of_type(plan, "kubernetes:core/v1:ConfigMap", region)
                 if c["inputs"]["metadata"]["name"] == "pgbouncer-config"]
    return str(config["inputs"]["data"]["pgbouncer.ini"])


def expected_routes(plan: Doc, region: str) -> dict[str, tuple[str, str]]:
    """PgBouncer database -> (shard group, Aurora endpoint) from the region's published shard map."""
    published = json.loads(plan["stackOutputs"]["shardMaps"][region])
    routes = {}
    for g in published["groups"]:
        if g["local"]:
            primary = g["writerEndpoint"] if g["local"] == "writer" else g["localReaderEndpoint"]
            routes[g["id"]] = (g["id"], primary)
            routes[read_only_database(g["id"])] = (g["id"], g["localReaderEndpoint"])
    return routes


def rewrite(ini: str, local_db: dict[str, str], pg_port: int, overrides: dict[str, str]) -> str:
    """Point each database at the local copy of its endpoint and put files and ports where the test has them."""
    out, section = [], None
    for line in ini.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "databases" and "=" in line:
            name, conn = (part.strip() for part in line.split("=", 1))
            m = _CONN.search(conn)
            assert m, line
            conn = conn.replace(m.group(0), f"host={servers.HOST} port={pg_port} dbname={local_db[m['host']]}")
            line = f"{name} = {conn}"
        elif section == "pgbouncer" and "=" in line and line.split("=", 1)[0].strip() in overrides:
            key = line.split("=", 1)[0].strip()
            line = f"{key} = {overrides[key]}"
        out.append(line)
    return "\n".join(out) + "\n"


@dataclass
class Cluster:
    work: servers.Workdir
    tls: servers.Tls
    pg: servers.Postgres
    passwords: dict[str, str]
    userlist: Path


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with servers.workdir() as work:
        tls = servers.make_tls(work, ("postgres", "pgbouncer"))
        with servers.postgres(work, tls) as pg:
            passwords = {user: secrets.token_hex(20) for user in (APP_USER, pgbouncer_ini.STATS_USER)}
            verifiers = {user: scram.verifier(pw, os.urandom(16)) for user, pw in passwords.items()}
            # What the database bootstrap does in every global cluster with the verifier from Secrets Manager.
            pg.sql(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{verifiers[APP_USER]}'")
            userlist = work.path / "userlist.txt"
            userlist.write_text(scram.userlist(verifiers))
            work.give_to_server_user(userlist)
            yield Cluster(work, tls, pg, passwords, userlist)


@pytest.fixture(scope="module", params=["us-east-1", "eu-west-1"])
def bouncer(request: pytest.FixtureRequest, cluster: Cluster, dev_plan: Doc) -> Iterator[dict[str, Any]]:
    region = request.param
    routes = expected_routes(dev_plan, region)
    local_db: dict[str, str] = {}
    for _, endpoint in routes.values():
        local_db.setdefault(endpoint, f"endpoint_{len(local_db) + 1}_{region.replace('-', '_')}")
    for group, endpoint in routes.values():
        db = local_db[endpoint]
        if not cluster.pg.sql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'"):
            cluster.pg.sql(f"CREATE DATABASE {db} OWNER {APP_USER}")
            cluster.pg.sql("CREATE TABLE whoami (shard_group text, endpoint text); "
                           f"INSERT INTO whoami VALUES ('{group}', '{endpoint}'); "
                           f"GRANT SELECT ON whoami TO {APP_USER}", database=db)
    cert, key = cluster.tls.certs["pgbouncer"]
    port = servers.free_port()
    ini = rewrite(rendered_ini(dev_plan, region), local_db, cluster.pg.port, {
        "listen_addr": servers.HOST, "listen_port": str(port), "auth_file": str(cluster.userlist),
        "server_tls_ca_file": str(cluster.tls.ca), "client_tls_cert_file": str(cert),
        "client_tls_key_file": str(key)})
    with servers.pgbouncer(cluster.work, ini, port):
        yield {"region": region, "port": port, "routes": routes, "ini": ini}


def _conninfo(cluster: Cluster, port: int, database: str, user: str = APP_USER, sslmode: str = "verify-full") -> str:
    return (f"host={servers.HOST} port={port} dbname={database} user={user} sslmode={sslmode} "
            f"sslrootcert={cluster.tls.ca}")


def test_the_rendered_ini_keeps_its_security_settings(bouncer: dict[str, Any]) -> None:
    ini = bouncer["ini"]
    for setting in ("pool_mode = transaction", "auth_type = scram-sha-256", "server_tls_sslmode = verify-full",
                    "client_tls_sslmode = require"):
        assert setting in ini


def test_every_database_lands_on_its_shard_groups_endpoint(cluster: Cluster, bouncer: dict[str, Any]) -> None:
    assert len(bouncer["routes"]) == 4  # dev: two shard groups, each with a copy in both regions
    for database, (group, endpoint) in bouncer["routes"].items():
        result = servers.psql(_conninfo(cluster, bouncer["port"], database),
                              "SELECT shard_group || '|' || endpoint FROM whoami", cluster.passwords[APP_USER],
                              cluster.pg.bin)
        assert result.returncode == 0, f"{database}: {result.stderr}"
        assert result.stdout.strip() == f"{group}|{endpoint}", database


def test_plaintext_clients_are_refused(cluster: Cluster, bouncer: dict[str, Any]) -> None:
    database = next(iter(bouncer["routes"]))
    result = servers.psql(_conninfo(cluster, bouncer["port"], database, sslmode="disable"), "SELECT 1",
                          cluster.passwords[APP_USER], cluster.pg.bin)
    assert result.returncode != 0
    assert "SSL required" in result.stderr or "ssl" in result.stderr.lower()


def test_a_wrong_password_is_refused(cluster: Cluster, bouncer: dict[str, Any]) -> None:
    database = next(iter(bouncer["routes"]))
    result = servers.psql(_conninfo(cluster, bouncer["port"], database), "SELECT 1", "not-the-password",
                          cluster.pg.bin)
    assert result.returncode != 0 and "SASL authentication failed" in result.stderr


def test_the_exporter_login_reads_pool_statistics(cluster: Cluster, bouncer: dict[str, Any]) -> None:
    result = servers.psql(_conninfo(cluster, bouncer["port"], "pgbouncer", user=pgbouncer_ini.STATS_USER,
                                    sslmode="require"), "SHOW POOLS", cluster.passwords[pgbouncer_ini.STATS_USER],
                          cluster.pg.bin)
    assert result.returncode == 0, result.stderr

