"""Per-unit capacity of the data tiers, measured with real servers on loopback: `make bench-capacity`.

Starts PostgreSQL and PgBouncer (Debian's packages, TLS on both legs and SCRAM, as tests/servers.py runs them
and as production's pgbouncer.ini configures them) and Valkey/Redis, drives them with their own benchmark
tools, and reads the CPU time each server process used from /proc. A figure is per core of the server
(throughput x wall seconds / server CPU seconds), so it does not depend on how many cores the machine gave
the server while the load generator shared them:

- PgBouncer: transactions/s per core, pgbench's select-only script through PgBouncer (transaction pooling).
- PostgreSQL: reads/s and writes/s per core, pgbench select-only and simple-update (fsync on) directly.
- Valkey/Redis: operations/s per core of the engine, redis-benchmark GET/SET without pipelining.

Writes benchmarks/capacity_units.json (figure, machine, date, command), which regions/unit_capacity.py reads and
derates. Not part of `make test`: run it by hand after a change of server version or machine kind.

    make bench-capacity            # or: python benchmarks/capacity_units.py --seconds 10
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components import scram
from tests import servers

OUT = Path(__file__).resolve().parent / "capacity_units.json"
USER = "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(match: Callable[[str, list[str]], bool]) -> float:
    """CPU seconds of every live process whose (comm, stat fields) match: its own (user + system) and its reaped
    children's (PostgreSQL's backends exit with their connections and are counted in the postmaster's)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        if match(comm, fields):
            total += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
    return total


def _by_name(name: str) -> Callable[[str, list[str]], bool]:
    return lambda comm, _fields: comm == name


def _measured(argv: list[str], server: Callable[[str, list[str]], bool], parse: Callable[[str], float],
              env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a load generator; its throughput, and the throughput per core-second the server spent."""
    before, start = _cpu_seconds(server), time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=env)
    wall, used = time.monotonic() - start, _cpu_seconds(server) - before
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    rate = parse(done.stdout)
    return {"throughputPerSecond": round(rate), "serverCoresBusy": round(used / wall, 2),
            "perCore": round(rate * wall / used) if used else 0}


def _pgbench_tps(stdout: str) -> float:
    found = re.search(r"tps = ([0-9.]+)", stdout)
    if not found:
        raise RuntimeError(f"no tps in pgbench output: {stdout[-500:]}")
    return float(found.group(1))


def _redis_rps(stdout: str) -> float:
    rates = [float(m) for m in re.findall(r"([0-9.]+) requests per second", stdout)]
    if not rates:
        raise RuntimeError(f"no rate in redis-benchmark output: {stdout[-500:]}")
    return sum(rates) / len(rates)


def _postgres_tiers(seconds: int, clients: int) -> dict[str, dict[str, object]]:
    with servers.workdir() as work:
        tls = servers.make_tls(work, ("postgres", "pgbouncer"))
        with servers.postgres(work, tls) as pg:
            # Durable commits for the write figure (the suite's servers run with fsync off).
            pg.sql("ALTER SYSTEM SET fsync = on")
            pg.sql("SELECT pg_reload_conf()")
            password = secrets.token_hex(20)
            verifier = scram.verifier(password, os.urandom(16))
            pg.sql(f"CREATE ROLE {USER} LOGIN PASSWORD '{verifier}'")
            pg.sql(f"CREATE DATABASE {USER} OWNER {USER}")
            pgbench = str(pg.bin / "pgbench")
            subprocess.run([*servers.as_server_user(), pgbench, "-i",
                            "-q", "-s", "10", "-h", str(pg.socket_dir), "-p", str(pg.port), "-U", "postgres", USER],
                           capture_output=True, text=True, timeout=600, check=True)
            pg.sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {USER}", database=USER)
            userlist = work.path / "userlist.txt"
            userlist.write_text(scram.userlist({USER: verifier}))
            work.give_to_server_user(userlist)
            cert, key = tls.certs["pgbouncer"]
            port = servers.free_port()
            ini = (f"[databases]\n{USER} = host={servers.HOST} port={pg.port} dbname={USER} pool_size=20\n"
                   f"[pgbouncer]\nlisten_addr = {servers.HOST}\nlisten_port = {port}\nunix_socket_dir =\n"
                   "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 20\n"
                   f"auth_type = scram-sha-256\nauth_file = {userlist}\nclient_tls_sslmode = require\n"
                   f"client_tls_cert_file = {cert}\nclient_tls_key_file = {key}\n"
                   f"server_tls_sslmode = verify-full\nserver_tls_ca_file = {tls.ca}\n")
            env = {**os.environ, "PGPASSWORD": password, "PGSSLMODE": "require"}
            common = ["-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-h", servers.HOST, "-U", USER]
            results: dict[str, dict[str, object]] = {}
            with servers.pgbouncer(work, ini, port):
                argv = [pgbench, "-S", *common, "-p", str(port), USER]
                results["pgbouncerTransactionsPerCore"] = {
                    **_measured(argv, _by_name("pgbouncer"), _pgbench_tps, env),
                    "command": " ".join(a for a in argv if a != servers.HOST) + " (through PgBouncer, TLS + SCRAM)"}
            for key_name, script in (("postgresReadsPerCore", "-S"), ("postgresWritesPerCore", "-N")):
                argv = [pgbench, script, *common, "-p", str(pg.port), USER]
                results[key_name] = {**_measured(argv, _by_name("postgres"), _pgbench_tps, env),
                                     "command": " ".join(a for a in argv if a != servers.HOST)
                                     + " (directly, TLS + SCRAM, fsync on)"}
            return results


def _cache_tier(requests: int, clients: int) -> dict[str, dict[str, object]]:
    server_bin = shutil.which("valkey-server") or shutil.which("redis-server")
    bench = shutil.which("valkey-benchmark") or shutil.which("redis-benchmark")
    if not server_bin or not bench:
        raise servers.ServersMissing("Valkey or Redis is not installed; run `make servers`")
    with servers.workdir() as work:
        port = servers.free_port()
        conf = work.path / "cache.conf"
        conf.write_text(f"bind {servers.HOST}\nport {port}\nsave \"\"\nappendonly no\ndir {work.path}\n")
        work.give_to_server_user(conf)
        proc = subprocess.Popen([*servers.as_server_user(), server_bin, str(conf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
        try:
            name = Path(server_bin).name
            for _ in range(200):
                try:
                    with socket.create_connection((servers.HOST, port), timeout=1):
                        break
                except OSError:
                    time.sleep(0.05)
            argv = [bench, "-h", servers.HOST, "-p", str(port), "-c", str(clients), "-n", str(requests),
                    "-t", "get,set", "-d", "256", "-r", "1000000", "-q"]
            result = _measured(argv, lambda comm, _f: comm.startswith(name.split("-")[0]), _redis_rps)
            return {"cacheOperationsPerCore": {**result, "command": " ".join(
                a for a in argv if a != servers.HOST and a != str(port)) + f" (against {name}, no pipelining)"}}
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _version(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout.strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench-capacity", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each pgbench run")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=400_000, help="requests of the cache run")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    figures = {**_postgres_tiers(args.seconds, args.clients), **_cache_tier(args.requests, args.clients)}
    pg_bin = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))[-1]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    record = {
        "measured": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "arch": platform.machine(),
                    "kernel": platform.release(), "note": "shared machine; the load generator ran beside the server"},
        "servers": {"postgresql": _version([str(pg_bin), "--version"]),
                    "pgbouncer": _version([servers._pgbouncer(), "--version"]),
                    "cache": _version([shutil.which("valkey-server") or shutil.which("redis-server") or "false",
                                       "--version"])},
        "method": "per core = throughput x wall seconds / CPU seconds the server's processes used (from /proc)",
        "figures": figures,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    for name, figure in figures.items():
        print(f"{name}: {figure['perCore']:,}/s per core ({figure['throughputPerSecond']:,}/s with "
              f"{figure['serverCoresBusy']} cores busy)")
    print(f"recorded in {args.out.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
