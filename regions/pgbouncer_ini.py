"""``pgbouncer.ini`` for one region, generated from that region's published shard map.

Every shard group with a copy in the region gets two databases: ``<group>`` (the home writer, or the
local secondary, which forwards writes) and ``<group>_ro`` (the local reader endpoint). Transaction
pooling; TLS to Aurora verified against the RDS CA bundle (``verify-full``); TLS required from clients;
SCRAM authentication from a userlist file that also lets PgBouncer log in to Aurora as the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regions.published_map import DATABASE_NAME, PGBOUNCER_PORT

CONFIG_DIR = "/etc/pgbouncer"
INI_PATH = f"{CONFIG_DIR}/config/pgbouncer.ini"
AUTH_FILE = f"{CONFIG_DIR}/auth/userlist.txt"
SERVER_CA_FILE = f"{CONFIG_DIR}/ca/rds-ca.pem"
CLIENT_TLS_CERT = f"{CONFIG_DIR}/tls/tls.crt"
CLIENT_TLS_KEY = f"{CONFIG_DIR}/tls/tls.key"
STATS_USER = "pgbouncer_stats"  # the exporter's login to the admin console, SHOW commands only
POSTGRES_PORT = 5432


@dataclass(frozen=True)
class PoolSettings:
    default_pool_size: int
    max_client_conn: int


def databases(published: dict[str, Any], pool_size: int) -> dict[str, str]:
    """``[databases]`` entries: name -> connection string, for the groups with a copy in this region."""
    entries: dict[str, str] = {}
    for group in published["groups"]:
        if group["local"] is None:
            continue
        reader = group["localReaderEndpoint"]
        # On a secondary only the reader endpoint is live; write forwarding sends writes to the home writer.
        primary = group["writerEndpoint"] if group["local"] == "writer" else reader
        for name, host in ((group["database"], primary), (group["readOnlyDatabase"], reader)):
            entries[name] = f"host={host} port={POSTGRES_PORT} dbname={DATABASE_NAME} pool_size={pool_size}"
    return entries


def render(published: dict[str, Any], pools: PoolSettings) -> str:
    settings = {
        "listen_addr": "0.0.0.0",
        "listen_port": str(PGBOUNCER_PORT),
        "unix_socket_dir": "",  # read-only root filesystem: TCP only
        "pool_mode": "transaction",
        "max_client_conn": str(pools.max_client_conn),
        "default_pool_size": str(pools.default_pool_size),
        # No reserve pool: the connection budget checked against max_connections is exactly the pool.
        "reserve_pool_size": "0",
        "auth_type": "scram-sha-256",
        "auth_file": AUTH_FILE,
        "stats_users": STATS_USER,
        "client_tls_sslmode": "require",
        "client_tls_cert_file": CLIENT_TLS_CERT,
        "client_tls_key_file": CLIENT_TLS_KEY,
        "server_tls_sslmode": "verify-full",
        "server_tls_ca_file": SERVER_CA_FILE,
        "server_tls_protocols": "secure",
        "ignore_startup_parameters": "extra_float_digits,options",
        # Aurora endpoints are DNS names that move on failover: re-resolve quickly.
        "dns_max_ttl": "15",
        "server_lifetime": "3600",
        "server_idle_timeout": "300",
        "query_wait_timeout": "30",
        "server_connect_timeout": "5",
        "tcp_keepalive": "1",
        "log_connections": "0",
        "log_disconnections": "0",
        "log_pooler_errors": "1",
        "application_name_add_host": "1",
    }
    lines = [f"; generated from the {published['environment']} shard map for {published['region']}; do not edit",
             "[databases]"]
    lines += [f"{name} = {conn}" for name, conn in databases(published, pools.default_pool_size).items()]
    lines += ["", "[pgbouncer]"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"
