"""SCRAM verifiers: the format PostgreSQL stores (proven against a real server in test_pgbouncer_servers)."""

from __future__ import annotations

import base64
import re

import pytest

from components import scram


def test_verifier_format_and_determinism() -> None:
    salt = bytes(range(16))
    first = scram.verifier("pencil", salt)
    assert first == scram.verifier("pencil", salt) != scram.verifier("pencil", bytes(range(1, 17)))
    m = re.fullmatch(r"SCRAM-SHA-256\$4096:(?P<salt>[^$]+)\$(?P<stored>[^:]+):(?P<server>.+)", first)
    assert m and base64.b64decode(m["salt"]) == salt
    assert len(base64.b64decode(m["stored"])) == len(base64.b64decode(m["server"])) == 32


def test_userlist_quotes_each_user() -> None:
    assert scram.userlist({"b": "SCRAM-2", "a": "SCRAM-1"}) == '"a" "SCRAM-1"\n"b" "SCRAM-2"\n'


@pytest.mark.parametrize(("password", "salt", "message"), [
    ("pässword", bytes(16), "ASCII passwords only"),
    ("password", bytes(8), "at least 16 bytes"),
])
def test_refused_inputs(password: str, salt: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scram.verifier(password, salt)
