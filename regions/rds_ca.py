"""Amazon RDS root certificate authorities per region, for clients that verify Aurora's certificate.

The PEM files in ``regions/rds_ca/`` are AWS's published roots (RSA2048, RSA4096 and ECC384 G1) for each
region, taken from https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem; their README
records fingerprints and validity. PgBouncer verifies Aurora against them (``server_tls_sslmode =
verify-full``), so a region without its bundle cannot be planned.
"""

from __future__ import annotations

from pathlib import Path

BUNDLE_DIR = Path(__file__).resolve().parent / "rds_ca"


def bundle(region: str) -> str:
    path = BUNDLE_DIR / f"{region}.pem"
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise FileNotFoundError(f"regions/rds_ca/{region}.pem: no RDS CA bundle for {region}; download "
                                f"https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"regions/rds_ca/{region}.pem: holds no PEM certificate")
    return text
