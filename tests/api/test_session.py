"""Sessions and credentials: the auth-file backend against the emulator, and clear one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import aci_widgets
from aci_widgets.errors import ConfigurationError, NotFound
from aci_widgets.session import auto_backend


def test_emulator_auth_file_works_as_it_is(emulator, monkeypatch):
    monkeypatch.delenv("AZURE_AUTH_LOCATION", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    notes: list[str] = []
    session = aci_widgets.connect(auth_file=emulator.auth_file, resource_group="rg-session", quiet=True)
    session.notify = notes.append
    assert aci_widgets.default_session() is session
    who = session.whoami()
    assert who["subscription_id"] == json.loads(Path(emulator.auth_file).read_text())["subscriptionId"]
    assert "127.0.0.1" in who["endpoint"]
    # A real round trip through ClientSecretCredential + the emulator's token endpoint.
    session.ensure_resource_group("rg-session")
    assert "rg-session" in session.list_resource_groups()


def test_auth_file_from_environment_variable(emulator, monkeypatch, capsys):
    monkeypatch.setenv("AZURE_AUTH_LOCATION", str(emulator.auth_file))
    assert auto_backend() == "azure"
    session = aci_widgets.connect()
    out = capsys.readouterr().out
    assert "auth file" in out and out.count("\n") == 1
    session.ensure_resource_group("rg-env")


def test_requests_ca_bundle_is_honoured(emulator, tmp_path, monkeypatch):
    data = json.loads(Path(emulator.auth_file).read_text())
    data.pop("caCertPath")
    plain = tmp_path / "azure-stack-style.json"
    plain.write_text(json.dumps(data))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emulator.ca_path))
    session = aci_widgets.connect(auth_file=plain, quiet=True)
    assert session.ensure_resource_group("rg-ca-bundle") == "rg-ca-bundle"


def _secret(emulator) -> str:
    return json.loads(Path(emulator.auth_file).read_text())["clientSecret"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON (line 1"),
        ("[1, 2]", "must hold a JSON object"),
        ({"clientSecret": "x", "subscriptionId": "s", "tenantId": "t"}, "missing the key 'clientId'"),
        ({"clientId": "c", "clientSecret": "x", "subscriptionId": "s", "tenantId": "t",
          "activeDirectoryEndpointUrl": "http://insecure"}, "activeDirectoryEndpointUrl must be an https:// URL"),
        ({"clientId": "c", "clientSecret": "x", "subscriptionId": "s", "tenantId": "t",
          "caCertPath": "/nonexistent/ca.pem"}, "caCertPath names /nonexistent/ca.pem"),
    ],
)
def test_bad_auth_files_give_one_line_naming_file_and_key(tmp_path, content, fragment):
    path = tmp_path / "auth.json"
    if content is not None:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ConfigurationError) as info:
        aci_widgets.connect(auth_file=path, quiet=True)
    message = str(info.value)
    assert fragment in message and str(path) in message
    assert "\n" not in message


def test_client_secret_never_in_errors_or_reprs(emulator, tmp_path):
    secret = _secret(emulator)
    broken = tmp_path / "broken.json"
    broken.write_text(Path(emulator.auth_file).read_text().replace('"clientId"', '"clientId" ,,'))
    with pytest.raises(ConfigurationError) as info:
        aci_widgets.connect(auth_file=broken, quiet=True)
    assert secret not in str(info.value)
    session = aci_widgets.connect(auth_file=emulator.auth_file, quiet=True)
    from aci_widgets.credentials import read_auth_file

    assert secret not in repr(read_auth_file(emulator.auth_file))
    assert secret not in repr(session)
    with pytest.raises(NotFound) as missing:
        session.get_group("no-such-group", resource_group="rg-nowhere")
    assert secret not in str(missing.value)


def test_wrong_secret_is_an_authentication_error(emulator, tmp_path):
    data = json.loads(Path(emulator.auth_file).read_text())
    data["clientSecret"] = "wrong-secret-value"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(data))
    session = aci_widgets.connect(auth_file=wrong, quiet=True)
    with pytest.raises(aci_widgets.AciError) as info:
        session.list_resource_groups()
    assert "wrong-secret-value" not in str(info.value)
    assert "\n" not in str(info.value)


def test_existing_clients_backend(emulator, ci_client, rm_client):
    session = aci_widgets.connect(clients=(ci_client, rm_client), resource_group="rg-clients", quiet=True)
    session.ensure_resource_group("rg-clients", location="westeurope")
    assert session.list_groups().empty


def test_unknown_backend_is_one_line():
    with pytest.raises(ConfigurationError, match="backend must be one of auto, local, azure"):
        aci_widgets.connect("gcp", quiet=True)


def test_azure_without_subscription_says_what_to_set(monkeypatch):
    for var in ("AZURE_AUTH_LOCATION", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigurationError, match="AZURE_SUBSCRIPTION_ID"):
        aci_widgets.connect("azure", quiet=True)
