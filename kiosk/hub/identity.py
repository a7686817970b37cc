"""The hub's identity: an Ed25519 signing key (it signs nothing a node must trust
yet but names the hub in enrolment answers) and a self-signed TLS certificate that
nodes pin at enrolment (``kiosk.core.hubwire``). Made once by ``kiosk hub init`` and
kept in the database, so every hub process presents the same certificate.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.keys import public_key_to_text


@dataclass(frozen=True)
class Identity:
    sign_key: Ed25519PrivateKey
    sign_public: str
    tls_cert: str  # PEM
    tls_key: str  # PEM

    @property
    def certificate_der(self) -> bytes:
        cert = x509.load_pem_x509_certificate(self.tls_cert.encode("ascii"))
        return cert.public_bytes(serialization.Encoding.DER)


def make_certificate(names: list[str], now: datetime) -> tuple[str, str]:
    """A self-signed certificate (P-256, ten years) for ``names`` (host names or IP
    addresses), and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gatepass hub")])
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii"),
    )


def create(conn: psycopg.Connection, names: list[str]) -> bool:
    """Make the hub's identity unless it has one. True when made now."""
    if conn.execute("SELECT 1 FROM hub_identity").fetchone():
        return False
    key = Ed25519PrivateKey.generate()
    cert, tls_key = make_certificate(names, datetime.now(UTC))
    raw = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    conn.execute(
        "INSERT INTO hub_identity (id, sign_key, sign_public, tls_cert, tls_key) "
        "VALUES (1, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        [raw, public_key_to_text(key.public_key()), cert, tls_key],
    )
    return True


def load(conn: psycopg.Connection) -> Identity:
    row = conn.execute(
        "SELECT sign_key, sign_public, tls_cert, tls_key FROM hub_identity"
    ).fetchone()
    if row is None:
        raise UserError(tr("The hub's database is not set up: run kiosk hub init."))
    key = serialization.load_pem_private_key(row[0].encode("ascii"), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(tr("The hub's signing key is damaged."))
    return Identity(key, row[1], row[2], row[3])
