"""Access: tokens, the listening address, and file modes (issue 8, item 6)."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from aci_widgets.emulator import auth

RM_API = "api-version=2021-04-01"


def _tokens(emulator: Any) -> dict[str, tuple[str | None, str]]:
    """Authorization header values that must be refused, and the ARM code each gets."""
    config = emulator.home.config()
    base = emulator.base_url
    good = auth.issue_token(config, audience=base, issuer=f"{base}/{config['tenantId']}/v2.0")
    header, payload, signature = good.split(".")
    forged_key = {**config, "signingKey": "00" * 32}  # same claims, signed with a key that is not the home's
    expired = auth.issue_token(config, audience=base, issuer="i", now=time.time() - 2 * auth.TOKEN_LIFETIME_SECONDS)
    other_tenant = auth.issue_token({**config, "tenantId": "11111111-1111-1111-1111-111111111111"},
                                    audience=base, issuer="i")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    return {
        "missing": (None, "AuthenticationFailed"),
        "bearer without a token": ("Bearer", "AuthenticationFailed"),
        "basic scheme": ("Basic dXNlcjpwYXNz", "AuthenticationFailed"),
        "garbage": ("Bearer not-a-token", "InvalidAuthenticationToken"),
        "wrong signature": (f"Bearer {header}.{payload}.{flipped}", "InvalidAuthenticationToken"),
        "forged with another key": (f"Bearer {auth.issue_token(forged_key, audience=base, issuer='i')}",
                                    "InvalidAuthenticationToken"),
        "alg none": (f"Bearer {header}.{payload}.", "InvalidAuthenticationToken"),
        "expired": (f"Bearer {expired}", "ExpiredAuthenticationToken"),
        "other tenant": (f"Bearer {other_tenant}", "InvalidAuthenticationTokenTenant"),
    }


def test_requests_without_a_valid_token_get_401_in_the_arm_envelope(emulator: Any, rtools: Any) -> None:
    sub = emulator.auth["subscriptionId"]
    paths = [f"/subscriptions/{sub}/resourcegroups?{RM_API}",
             f"/subscriptions/{sub}/providers/Microsoft.ContainerInstance/containerGroups?api-version=2023-05-01",
             (f"/subscriptions/{sub}/resourceGroups/x/providers/Microsoft.ContainerInstance/containerGroups/y"
              "?api-version=2023-05-01")]
    with rtools.https_client(emulator, token=False) as client:
        for label, (value, code) in _tokens(emulator).items():
            headers = {} if value is None else {"Authorization": value}
            for path in paths:
                for method in ("GET", "PUT", "DELETE"):
                    response = client.request(method, path, headers=headers, json={"location": "eastus"})
                    assert response.status_code == 401, (label, method, path, response.text)
                    error = rtools.assert_arm_envelope(response)
                    if label != "other tenant" or error["code"] != "InvalidAuthenticationToken":
                        assert error["code"] == code, (label, error)
                    assert response.headers["www-authenticate"].startswith("Bearer ")
        # and the good token works, so the 401s above are about the token
        good = rtools.arm_token(client, emulator.auth, emulator.base_url)
        assert client.get(paths[0], headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_control_plane_needs_its_key_but_health_and_the_document_do_not(emulator: Any, rtools: Any) -> None:
    with rtools.https_client(emulator, token=True) as client:  # an ARM token is not the control key
        for method, route in (("POST", "reset"), ("GET", "requests"), ("POST", "faults"), ("GET", "settings")):
            response = client.request(method, f"/_emulator/{route}", headers={"x-aci-emulator-key": "guess"})
            assert response.status_code == 401
            assert rtools.assert_arm_envelope(response)["code"] == "InvalidControlKey"
        assert client.get("/_emulator/health").status_code == 200
        assert client.get("/_emulator/openapi.json").json()["openapi"].startswith("3.")


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp{,6} write them) of sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.append(address)
    return found


def test_the_emulator_listens_on_loopback_only(emulator: Any) -> None:
    addresses = _listening(emulator.port)
    assert addresses == ["0100007F"], addresses  # 127.0.0.1, little-endian hex; no 0.0.0.0, no IPv6
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://[::1]:{emulator.port}/_emulator/health", verify=False, timeout=2)


def test_state_files_and_folders_are_private(emulator: Any, ci_client: Any, resource_group: str) -> None:
    # Make sure there is a container log, a store with WAL files, and the rest.
    body = {"location": "eastus", "properties": {"osType": "Linux", "restartPolicy": "Never", "containers": [
        {"name": "c", "properties": {"image": "alpine", "command": ["echo", "hi"],
                                     "resources": {"requests": {"cpu": 0.1, "memoryInGB": 0.1}}}}]}}
    ci_client.container_groups.begin_create_or_update(resource_group, "private-files", body).result()
    home = emulator.home
    assert stat.S_IMODE(home.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.logs_dir.stat().st_mode) == 0o700
    required = [home.config_path, home.auth_file_path, home.state_path, home.ca_key_path, home.server_key_path,
                home.server_log_path, home.pid_path]
    logs = list(home.logs_dir.glob("*.log"))
    assert logs, "no container log was written"
    wrong = {}
    for path in [*required, *logs, *home.path.glob("state.sqlite-*"), *home.path.glob("*.json"),
                 *home.path.glob("*.pem")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != 0o600:
            wrong[str(path.relative_to(home.path))] = oct(mode)
    # Nothing anywhere under the home may be readable or writable by group or others, except the volume
    # folders shared with containers (azure-files/<account>/<share>, volumes/<group>/...): a container's non-root
    # user must be able to write its outputs there. The home's 0700 (asserted above) keeps other users out.
    shared = ("azure-files", "volumes")
    for path in home.path.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        relative = path.relative_to(home.path).parts
        if len(relative) > 2 and relative[0] in shared:
            continue  # the folders above a share's own (azure-files/<account>, volumes/<group>) stay private
        if mode & 0o077:
            wrong[str(path.relative_to(home.path))] = oct(mode)
    assert not wrong, wrong
