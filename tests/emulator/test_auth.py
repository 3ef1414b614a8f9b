"""The emulator's identity: CA and server certificate, tokens, client credentials, the sdk-auth file."""

from __future__ import annotations

import json
import socket
import ssl
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential
from cryptography import x509

from aci_widgets.emulator import auth
from aci_widgets.emulator.config import EmulatorHome

SDK_AUTH_KEYS = {"clientId", "clientSecret", "subscriptionId", "tenantId", "activeDirectoryEndpointUrl",
                 "resourceManagerEndpointUrl", "activeDirectoryGraphResourceId", "sqlManagementEndpointUrl",
                 "galleryEndpointUrl", "managementEndpointUrl"}


@pytest.fixture
def home(tmp_path: Path) -> EmulatorHome:
    return EmulatorHome(tmp_path / "home")


def test_certificates_are_private_and_valid_for_loopback(home: EmulatorHome) -> None:
    home.config()
    auth.ensure_certificates(home)
    assert stat.S_IMODE(home.path.stat().st_mode) == 0o700
    for path in (home.ca_path, home.ca_key_path, home.server_cert_path, home.server_key_path,
                 home.config_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    cert = x509.load_pem_x509_certificate(home.server_cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1"}
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    ca = x509.load_pem_x509_certificate(home.ca_path.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.subject


def test_server_certificate_verifies_against_the_ca_with_strict_python_tls(home: EmulatorHome) -> None:
    """A real TLS handshake, with hostname checks and X.509 strict mode (Python 3.13's default)."""
    auth.ensure_certificates(home)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(home.server_cert_path, home.server_key_path)
    client_ctx = ssl.create_default_context(cafile=str(home.ca_path))
    client_ctx.verify_flags |= getattr(ssl, "VERIFY_X509_STRICT", 0)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_one() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()
    for host in ("127.0.0.1", "localhost"):
        if host == "localhost":
            thread = threading.Thread(target=accept_one, daemon=True)
            thread.start()
        with socket.create_connection(("127.0.0.1", port)) as raw, \
                client_ctx.wrap_socket(raw, server_hostname=host) as tls:
            assert tls.version()
            tls.send(b"x")
    listener.close()


def test_certificates_are_made_once(home: EmulatorHome) -> None:
    auth.ensure_certificates(home)
    before = home.ca_path.read_bytes(), home.server_cert_path.read_bytes()
    auth.ensure_certificates(home)
    assert (home.ca_path.read_bytes(), home.server_cert_path.read_bytes()) == before
    home.server_cert_path.unlink()
    auth.ensure_certificates(home)  # a lost server certificate is re-issued by the same CA
    assert home.ca_path.read_bytes() == before[0]
    assert home.server_cert_path.exists()


def test_tokens_verify_and_survive_a_new_process_reading_the_same_home(home: EmulatorHome) -> None:
    config = home.config()
    token = auth.issue_token(config, audience="https://127.0.0.1:1", issuer="x")
    reread = json.loads(home.config_path.read_text())  # what a restarted server sees
    claims = auth.verify_token(reread, token)
    assert claims["tid"] == config["tenantId"] and claims["appid"] == config["clientId"]


@pytest.mark.parametrize("tamper", ["signature", "payload", "shape", "other-home"])
def test_tampered_tokens_are_rejected(home: EmulatorHome, tmp_path: Path, tamper: str) -> None:
    config = home.config()
    token = auth.issue_token(config, audience="a", issuer="i")
    header, payload, signature = token.split(".")
    if tamper == "signature":
        token = f"{header}.{payload}.{signature[:-2]}AA"
    elif tamper == "payload":
        token = f"{header}.{payload[:-2]}AA.{signature}"
    elif tamper == "shape":
        token = "not-a-token"
    else:
        token = auth.issue_token(EmulatorHome(tmp_path / "other").config(), audience="a", issuer="i")
    with pytest.raises(auth.TokenRejected) as info:
        auth.verify_token(config, token)
    assert info.value.code == "InvalidAuthenticationToken"


def test_expired_tokens_are_rejected_with_arms_code(home: EmulatorHome) -> None:
    config = home.config()
    token = auth.issue_token(config, audience="a", issuer="i", now=time.time() - 2 * auth.TOKEN_LIFETIME_SECONDS)
    with pytest.raises(auth.TokenRejected) as info:
        auth.verify_token(config, token)
    assert info.value.code == "ExpiredAuthenticationToken"
    assert "is earlier than current UTC time" in info.value.message


def test_client_credentials_check(home: EmulatorHome) -> None:
    config = home.config()
    assert auth.client_credentials_valid(config, config["clientId"], config["clientSecret"])
    assert not auth.client_credentials_valid(config, config["clientId"], "wrong")
    assert not auth.client_credentials_valid(config, "someone-else", config["clientSecret"])


def test_auth_file_has_the_sdk_auth_keys_and_is_private(home: EmulatorHome) -> None:
    path = auth.write_auth_file(home, "https://127.0.0.1:4711")
    data = json.loads(path.read_text())
    assert set(data) == SDK_AUTH_KEYS | {"caCertPath"}
    assert data["activeDirectoryEndpointUrl"] == "https://127.0.0.1:4711"
    assert data["resourceManagerEndpointUrl"] == "https://127.0.0.1:4711/"
    assert Path(data["caCertPath"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- against the running emulator --------------------------------------------------------------------
def test_client_secret_credential_gets_a_token_from_the_emulator(emulator) -> None:
    data = emulator.auth
    credential = ClientSecretCredential(data["tenantId"], data["clientId"], data["clientSecret"],
                                        authority=data["activeDirectoryEndpointUrl"],
                                        disable_instance_discovery=True, connection_verify=data["caCertPath"])
    token = credential.get_token(data["resourceManagerEndpointUrl"] + ".default")
    assert token.token.count(".") == 2 and token.expires_on > time.time() + 3000
    claims = auth.verify_token(emulator.home.config(), token.token)
    assert claims["aud"] == data["resourceManagerEndpointUrl"].rstrip("/")


def test_a_wrong_client_secret_is_refused_with_invalid_client(emulator) -> None:
    data = emulator.auth
    credential = ClientSecretCredential(data["tenantId"], data["clientId"], "not-the-secret",
                                        authority=data["activeDirectoryEndpointUrl"],
                                        disable_instance_discovery=True, connection_verify=data["caCertPath"])
    with pytest.raises(ClientAuthenticationError) as info:
        credential.get_token(data["resourceManagerEndpointUrl"] + ".default")
    assert "AADSTS7000215" in str(info.value)
    assert "not-the-secret" not in str(info.value)


def test_token_endpoint_raw_answers(emulator) -> None:
    data = emulator.auth
    url = f"{emulator.base_url}/{data['tenantId']}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": data["clientId"],
            "client_secret": data["clientSecret"], "scope": emulator.base_url + "/.default"}
    with httpx.Client(verify=ssl.create_default_context(cafile=emulator.ca_path)) as client:
        good = client.post(url, data=form)
        assert good.status_code == 200
        assert {"token_type", "expires_in", "ext_expires_in", "access_token"} <= set(good.json())
        assert good.json()["token_type"] == "Bearer" and good.json()["expires_in"] == 3600
        bad = client.post(url, data={**form, "client_secret": "nope"})
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        unknown = client.post(url, data={**form, "client_id": "00000000-0000-0000-0000-000000000000"})
        assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
        grant = client.post(url, data={**form, "grant_type": "password"})
        assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
        v1 = client.post(f"{emulator.base_url}/{data['tenantId']}/oauth2/token",
                         data={**form, "resource": emulator.base_url + "/"})
        assert v1.status_code == 200 and v1.json()["access_token"]
        discovery = client.get(f"{emulator.base_url}/{data['tenantId']}/v2.0/.well-known/openid-configuration")
        assert discovery.status_code == 200
        assert discovery.json()["token_endpoint"] == url
        assert {"authorization_endpoint", "issuer"} <= set(discovery.json())
        wrong_tenant = client.get(f"{emulator.base_url}/not-our-tenant/v2.0/.well-known/openid-configuration")
        assert wrong_tenant.status_code == 400 and wrong_tenant.json()["error"] == "invalid_tenant"
