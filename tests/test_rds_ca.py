"""The bundled RDS roots: each region's file holds the root of the authority the Aurora instances use."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from components.aurora_region import CA_CERT_IDENTIFIER
from regions.loader import load, manifest_path
from regions.rds_ca import BUNDLE_DIR, bundle

AUTHORITY_KEY = {"rds-ca-rsa2048-g1": "RSA2048 G1", "rds-ca-rsa4096-g1": "RSA4096 G1", "rds-ca-ecc384-g1": "ECC384 G1"}


def _certificates(region: str) -> list[tuple[str, datetime]]:
    """(common name, not-after) of every certificate in the region's bundle, as openssl reads them."""
    text = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(BUNDLE_DIR / f"{region}.pem")],
                          capture_output=True, text=True, check=True).stdout
    listing = subprocess.run(["openssl", "pkcs7", "-print_certs", "-noout", "-text"], input=text,
                             capture_output=True, text=True, check=True).stdout
    names = [line.split("CN=", 1)[1].split(",")[0] for line in listing.splitlines()
             if line.strip().startswith("Subject:")]
    ends = [datetime.strptime(line.split("Not After :", 1)[1].strip(), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
            for line in listing.splitlines() if "Not After :" in line]
    return list(zip(names, ends, strict=True))


@pytest.mark.parametrize("region", sorted({r.name for env in ("prod", "dev")
                                           for r in load(manifest_path(env), env).regions}))
def test_each_region_bundles_the_root_of_the_instances_authority(region: str) -> None:
    certificates = _certificates(region)
    assert f"Amazon RDS {region} Root CA {AUTHORITY_KEY[CA_CERT_IDENTIFIER]}" in [name for name, _ in certificates]
    assert sorted(name.rsplit(" CA ", 1)[1] for name, _ in certificates) == ["ECC384 G1", "RSA2048 G1", "RSA4096 G1"]
    assert all(end > datetime(2030, 1, 1, tzinfo=UTC) for _, end in certificates)


def test_a_region_without_a_bundle_is_named() -> None:
    with pytest.raises(FileNotFoundError, match=r"regions/rds_ca/eu-north-1\.pem: no RDS CA bundle for eu-north-1"):
        bundle("eu-north-1")
