"""Real PostgreSQL and PgBouncer (Debian's packages, installed by `make servers`) on loopback, for tests.

Both refuse to run as root, so under root they run as the ``postgres`` user the package creates. TLS is
real on both legs: a throwaway CA signs the server certificates (SAN 127.0.0.1), and PostgreSQL's pg_hba
rejects plaintext like Aurora's ``rds.force_ssl``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


class ServersMissing(RuntimeError):
    pass


def _pg_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not candidates:
        raise ServersMissing("PostgreSQL is not installed; run `make servers` (Debian's postgresql package)")
    return candidates[-1].parent


def _pgbouncer() -> str:
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    if found is None:
        raise ServersMissing("PgBouncer is not installed; run `make servers` (Debian's pgbouncer package)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


SERVER_USER = "postgres"  # what the servers run as when the tests run as root (PostgreSQL refuses root)
AS_ROOT = os.geteuid() == 0


def as_server_user() -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--"] if AS_ROOT else []


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


@dataclass
class Workdir:
    path: Path

    def give_to_server_user(self, *paths: Path) -> None:
        if AS_ROOT:
            user = pwd.getpwnam(SERVER_USER)
            for p in (self.path, *paths):
                os.chown(p, user.pw_uid, user.pw_gid)


@contextmanager
def workdir() -> Iterator[Workdir]:
    path = Path(tempfile.mkdtemp(prefix="gp-servers-"))
    os.chmod(path, 0o755)
    try:
        yield Workdir(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Tls:
    ca: Path
    certs: dict[str, tuple[Path, Path]]  # name -> (cert, key)


def make_tls(work: Workdir, names: tuple[str, ...]) -> Tls:
    """A throwaway CA and one server certificate per name, valid for 127.0.0.1 and localhost."""
    d = work.path
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _run(["openssl", "req", "-x509", *ec, "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"), "-days", "2",
          "-subj", "/CN=global-platform test CA"])
    (d / "san.ext").write_text(f"subjectAltName=IP:{HOST},DNS:localhost\n")
    certs = {}
    for name in names:
        key, csr, crt = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.crt"
        _run(["openssl", "req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={HOST}"])
        _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
              "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(d / "san.ext")])
        os.chmod(key, 0o600)
        work.give_to_server_user(key, crt)
        certs[name] = (crt, key)
    return Tls(d / "ca.crt", certs)


@dataclass
class Postgres:
    port: int
    socket_dir: Path
    bin: Path

    def sql(self, statement: str, database: str = "postgres") -> str:
        return _run([str(self.bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                     str(self.socket_dir), "-p", str(self.port), "-U", "postgres", "-d", database, "-c",
                     statement]).stdout.strip()


@contextmanager
def postgres(work: Workdir, tls: Tls) -> Iterator[Postgres]:
    pg_bin, port = _pg_bin(), free_port()
    data = work.path / "pgdata"
    cert, key = tls.certs["postgres"]
    _run([*as_server_user(), str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
          "--auth-host=reject", "-E", "UTF8", "--no-sync"])
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(f"listen_addresses = '{HOST}'\nport = {port}\nunix_socket_directories = '{work.path}'\n"
                   f"ssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\n"
                   "password_encryption = 'scram-sha-256'\nfsync = off\nmax_connections = 200\n")
    # Like rds.force_ssl: TLS with SCRAM from the network, plaintext refused.
    (data / "pg_hba.conf").write_text(f"local all all trust\nhostssl all all {HOST}/32 scram-sha-256\n"
                                      f"hostnossl all all {HOST}/32 reject\n")
    _run([*as_server_user(), str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(work.path / "postgres.log"),
          "-w", "-t", "30", "start"])
    try:
        yield Postgres(port, work.path, pg_bin)
    finally:
        subprocess.run([*as_server_user(), str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)


@contextmanager
def pgbouncer(work: Workdir, ini_text: str, port: int) -> Iterator[subprocess.Popen[str]]:
    ini = work.path / f"pgbouncer-{port}.ini"
    ini.write_text(ini_text)
    work.give_to_server_user(ini)
    log = (work.path / f"pgbouncer-{port}.log").open("w")
    # As root, PgBouncer drops to the server user itself (-u): under runuser, terminating it went through
    # runuser, which waits two seconds after passing the signal on before it kills.
    as_user = ["-u", SERVER_USER] if AS_ROOT else []
    proc = subprocess.Popen([_pgbouncer(), *as_user, str(ini)], stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_port(port, proc, work.path / f"pgbouncer-{port}.log")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_for_port(port: int, proc: subprocess.Popen[str], log: Path, attempts: int = 200) -> None:
    """Until PgBouncer accepts connections; fails at once (with its log) if it exits instead."""
    for _ in range(attempts):
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            try:
                proc.wait(timeout=0.05)  # doubles as the pause between attempts
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"pgbouncer exited with {proc.returncode}: {log.read_text()}") from None
    raise RuntimeError(f"pgbouncer did not listen on {port}: {log.read_text()}")


def psql(conninfo: str, statement: str, password: str, pg_bin: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A client connection, as an application makes it; returns the finished process (not raising)."""
    return subprocess.run([str((pg_bin or _pg_bin()) / "psql"), "-X", "-A", "-t", "-c", statement, conninfo],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"})
