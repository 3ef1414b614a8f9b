"""The emulator's identity: its own CA and server certificate, bearer tokens, and the sdk-auth file.

The stock SDK only talks to an HTTPS endpoint with a bearer token (azure-core refuses bearer tokens over
plain http), so the emulator is its own tiny certificate authority and its own tiny Azure AD:

- ``ensure_certificates`` makes a CA (``ca.pem``) and a certificate for 127.0.0.1/localhost signed by it.
  Clients trust the emulator by ``connection_verify=<ca.pem>`` or ``REQUESTS_CA_BUNDLE``.
- Tokens are JWT-shaped (``header.payload.signature``, HS256) and signed with the home's ``signingKey``,
  so a token issued before an emulator restart is still valid after it (the SDK caches tokens for an hour).
- ``write_auth_file`` writes what ``az ad sp create-for-rbac --sdk-auth`` writes, pointing at the emulator.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import math
import secrets
import time
from pathlib import Path
from typing import Any

from .config import EmulatorHome, write_private

TOKEN_LIFETIME_SECONDS = 3600
# Renew the server certificate this long before it expires, so a long-lived home never serves a dead one.
_RENEW_BEFORE = dt.timedelta(days=30)
_CA_LIFETIME = dt.timedelta(days=3650)
_SERVER_CERT_LIFETIME = dt.timedelta(days=825)  # the longest lifetime browsers and macOS accept


# -- certificates ----------------------------------------------------------------------------------
def ensure_certificates(home: EmulatorHome) -> None:
    """Create the CA and the server certificate if they are missing (or the server one is near expiry).

    Idempotent and cheap when both exist: it only reads the server certificate's expiry date.
    """
    home.ensure()
    if not (home.ca_path.exists() and home.ca_key_path.exists()):
        _write_ca(home)
        _write_server_certificate(home)
    elif not (home.server_cert_path.exists() and home.server_key_path.exists()) or _expires_soon(
        home.server_cert_path
    ):
        _write_server_certificate(home)


def _new_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    # P-256: generated in a millisecond (RSA-2048 takes ~100 ms), accepted by every TLS stack we use.
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _cert_pem(cert: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _write_ca(home: EmulatorHome) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = _new_key()
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aci-widgets"),
        # A per-home serial in the name: two homes' CAs are told apart in a trust store.
        x509.NameAttribute(NameOID.COMMON_NAME, f"ACI emulator local CA {secrets.token_hex(4)}"),
    ])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(home.ca_key_path, _key_pem(key))
    write_private(home.ca_path, _cert_pem(cert))


def _write_server_certificate(home: EmulatorHome) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate(home.ca_path.read_bytes())
    ca_key = serialization.load_pem_private_key(home.ca_key_path.read_bytes(), password=None)
    key = _new_key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + _SERVER_CERT_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
                x509.DNSName("localhost"),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # Python 3.13's default VERIFY_X509_STRICT rejects certificates without key identifiers.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    write_private(home.server_key_path, _key_pem(key))
    write_private(home.server_cert_path, _cert_pem(cert))


def _expires_soon(cert_path: Path) -> bool:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) < _RENEW_BEFORE


# -- tokens ----------------------------------------------------------------------------------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(signing_key: str, signed_part: str) -> str:
    return _b64url(hmac.new(bytes.fromhex(signing_key), signed_part.encode("ascii"), hashlib.sha256).digest())


def issue_token(config: dict[str, Any], *, audience: str, issuer: str, now: float | None = None) -> str:
    """A bearer token for the home's service principal, valid for ``TOKEN_LIFETIME_SECONDS``."""
    issued_at = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "aud": audience,
        "iss": issuer,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + TOKEN_LIFETIME_SECONDS,
        "tid": config["tenantId"],
        "appid": config["clientId"],
        "sub": config["clientId"],
        "oid": config["clientId"],
    }
    signed_part = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    return f"{signed_part}.{_signature(config['signingKey'], signed_part)}"


class TokenRejected(Exception):
    """Why a bearer token is not accepted; ``code`` is the ARM error code to answer with."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# How far a token's nbf/iat may lie ahead of our clock (clients and server share a machine, but not always a clock).
CLOCK_SKEW_SECONDS = 300
MAX_TOKEN_CHARS = 16 * 1024


def verify_token(config: dict[str, Any], token: str, *, now: float | None = None) -> dict[str, Any]:
    """The token's claims, or ``TokenRejected`` with the ARM code and message for a 401.

    Anything that is not a well-formed token we signed is ``InvalidAuthenticationToken``: non-ASCII bytes,
    odd lengths, claims that are not numbers (``exp: 1e400``), never an exception.
    """
    invalid = TokenRejected("InvalidAuthenticationToken", "The access token is invalid.")
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise invalid
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid
    signed_part = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(config["signingKey"], signed_part), parts[2]):
        raise TokenRejected("InvalidAuthenticationToken",
                            "The access token is invalid: its signature does not match.")
    try:
        claims = json.loads(_b64url_decode(parts[1]))
        expires = _whole_seconds(claims["exp"])
        not_before = _whole_seconds(claims.get("nbf", claims.get("iat", 0)))
        issued = _whole_seconds(claims.get("iat", not_before))
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, binascii.Error):
        raise invalid from None
    current = time.time() if now is None else now
    if expires < current:
        raise TokenRejected("ExpiredAuthenticationToken",
                            f"The access token expiry UTC time '{_utc(expires)}' is earlier than current UTC "
                            f"time '{_utc(current)}'.")
    if max(not_before, issued) > current + CLOCK_SKEW_SECONDS:
        raise TokenRejected("InvalidAuthenticationToken",
                            f"The access token is not valid yet: it becomes valid at UTC time "
                            f"'{_utc(max(not_before, issued))}', after the current UTC time '{_utc(current)}'.")
    if claims.get("tid") != config["tenantId"]:
        raise TokenRejected("InvalidAuthenticationTokenTenant",
                            f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match "
                            f"the tenant associated with this subscription.")
    return claims


def _whole_seconds(value: Any) -> int:
    """A JWT time claim: a finite number of seconds (bools and text are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not finite")
    if abs(value) > 1e11:  # past the year 5000: no token of ours
        raise ValueError("out of range")
    return int(value)


def _utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%m/%d/%Y %H:%M:%S")


def client_credentials_valid(config: dict[str, Any], client_id: str, client_secret: str) -> bool:
    """Constant-time check of a client_credentials grant against the home's service principal."""
    id_ok = hmac.compare_digest(client_id.encode(), str(config["clientId"]).encode())
    secret_ok = hmac.compare_digest(client_secret.encode(), str(config["clientSecret"]).encode())
    return id_ok and secret_ok


# -- sdk-auth file ---------------------------------------------------------------------------------
def auth_file_content(home: EmulatorHome, base_url: str) -> dict[str, str]:
    """The sdk-auth JSON (the keys `az ad sp create-for-rbac --sdk-auth` writes, plus ``caCertPath``)."""
    config = home.config()
    base_url = base_url.rstrip("/")
    return {
        "clientId": config["clientId"],
        "clientSecret": config["clientSecret"],
        "subscriptionId": config["subscriptionId"],
        "tenantId": config["tenantId"],
        "activeDirectoryEndpointUrl": base_url,
        "resourceManagerEndpointUrl": base_url + "/",
        "activeDirectoryGraphResourceId": base_url + "/graph/",
        "sqlManagementEndpointUrl": base_url + "/sql/",
        "galleryEndpointUrl": base_url + "/gallery/",
        "managementEndpointUrl": base_url + "/",
        # Extension: the emulator's CA, so a client can trust it without an environment variable.
        "caCertPath": str(home.ca_path),
    }


def write_auth_file(home: EmulatorHome, base_url: str, path: Path | None = None) -> Path:
    """Write the sdk-auth file (0600; it holds the client secret) and return its path."""
    ensure_certificates(home)
    target = path or home.auth_file_path
    write_private(target, json.dumps(auth_file_content(home, base_url), indent=2) + "\n")
    return target


def ensure_auth_file(home: EmulatorHome, base_url: str) -> Path:
    """The home's auth file, (re)written when missing or pointing elsewhere than ``base_url``.

    The caller passes the running server's URL (``launcher.ensure_running`` returns it): this module makes
    certificates, tokens and auth files, and knows nothing of which server runs.
    """
    wanted = auth_file_content(home, base_url)
    try:
        if json.loads(home.auth_file_path.read_text(encoding="utf-8")) == wanted:
            return home.auth_file_path
    except (OSError, ValueError):
        pass
    return write_auth_file(home, base_url)
