"""PostgreSQL SCRAM-SHA-256 verifiers (RFC 5802 / RFC 7677), as PostgreSQL stores them in pg_authid.

PgBouncer authenticates clients against these and, because it holds the same verifier the server has,
logs in to the server as that client (SCRAM pass-through); PostgreSQL accepts the verifier verbatim in
``CREATE ROLE ... PASSWORD 'SCRAM-SHA-256$...'``. Passwords here are ASCII, for which SASLprep is the identity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

ITERATIONS = 4096  # PostgreSQL's scram_iterations default


def verifier(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    if not password.isascii():
        raise ValueError("SCRAM verifiers are computed for ASCII passwords only (no SASLprep here)")
    if len(salt) < 16:
        raise ValueError("the salt must be at least 16 bytes")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def userlist(entries: dict[str, str]) -> str:
    """A PgBouncer auth_file: one ``"user" "verifier"`` line per user."""
    return "".join(f'"{user}" "{secret}"\n' for user, secret in sorted(entries.items()))
