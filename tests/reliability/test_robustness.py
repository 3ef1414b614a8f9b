"""Issue 12's cases, each a regression test against a real emulator over HTTPS (the numbers are the issue's).

Every request the emulator cannot serve gets a 4xx in ARM's envelope, found before any state changes; the one
5xx left (a full disk) names what happened and where, and leaves nothing half-changed.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aci_widgets.emulator import auth, launcher
from aci_widgets.emulator.config import UnsafePath, write_private

SUB_PATH = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/{name}"
API = {"api-version": "2023-05-01"}
RG_API = {"api-version": "2021-04-01"}  # Microsoft.Resources has its own api-versions


def group_body(command: list[str] | None = None, env: list[dict[str, Any]] | None = None,
               tags: dict[str, str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"image": "alpine", "command": command or ["sleep", "60"],
                                 "resources": {"requests": {"cpu": 0.1, "memoryInGB": 0.1}}}
    if env is not None:
        container["environmentVariables"] = env
    body: dict[str, Any] = {"location": "eastus", "properties": {
        "osType": "Linux", "restartPolicy": "Never", "containers": [{"name": "c", "properties": container}]}}
    if tags is not None:
        body["tags"] = tags
    return body


def group_path(emulator: Any, rg: str, name: str) -> str:
    return SUB_PATH.format(sub=emulator.auth["subscriptionId"], rg=rg, name=name)


def send_json(client: Any, method: str, path: str, body: Any) -> Any:
    """A request whose body is JSON text written by us (``\\u0000`` and ``\\ud800`` escapes survive)."""
    params = API if "/providers/" in path else RG_API
    return client.request(method, path, params=params, content=json.dumps(body).encode("ascii"),
                          headers={"content-type": "application/json"})


@pytest.fixture
def client(emulator: Any, rtools: Any) -> Any:
    with rtools.https_client(emulator) as http:
        yield http


# -- 1, 12: tokens -----------------------------------------------------------------------------------
def _token_with(emulator: Any, claims: dict[str, Any]) -> str:
    config = emulator.home.config()
    now = int(time.time())
    payload = {"tid": config["tenantId"], "iat": now, "nbf": now, "exp": now + 3600, **claims}
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    signed = f"{header}.{body}"
    return f"{signed}.{auth._signature(config['signingKey'], signed)}"


@pytest.mark.parametrize("token", [b"a.b.\xe9", b"\xe9\xe9.\xff.x", b"a" * 12000 + b".b.c", b"..",
                                   "a.b.\u20ac".encode()], ids=["latin1", "three-bad", "long", "dots", "utf8"])
def test_1_a_token_with_bad_bytes_is_401_never_500(emulator: Any, rtools: Any, token: bytes) -> None:
    with rtools.https_client(emulator, token=False) as http:
        answer = http.get(f"/subscriptions/{emulator.auth['subscriptionId']}/resourcegroups", params=RG_API,
                          headers={"Authorization": b"Bearer " + token})
    assert answer.status_code == 401, answer.text[:300]
    assert rtools.assert_arm_envelope(answer)["code"] == "InvalidAuthenticationToken"


@pytest.mark.parametrize("claims", [{"exp": 1e400}, {"exp": "soon"}, {"exp": True}, {"exp": None},
                                    {"nbf": 1e400}, {"iat": [1]}])
def test_1_signed_tokens_with_absurd_claims_are_401(emulator: Any, rtools: Any, claims: dict[str, Any]) -> None:
    token = _token_with(emulator, claims).replace("Infinity", "1e400")
    with rtools.https_client(emulator, token=False) as http:
        answer = http.get(f"/subscriptions/{emulator.auth['subscriptionId']}/resourcegroups", params=RG_API,
                          headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.text[:300]
    assert rtools.assert_arm_envelope(answer)["code"] in ("InvalidAuthenticationToken",
                                                           "ExpiredAuthenticationToken")


def test_1_the_server_log_holds_no_traceback_after_bad_tokens(emulator: Any, rtools: Any) -> None:
    log = emulator.home.server_log_path
    before = log.read_text(errors="replace") if log.exists() else ""
    with rtools.https_client(emulator, token=False) as http:
        for _ in range(3):
            http.get("/subscriptions", params=API, headers={"Authorization": b"Bearer a.b.\xe9"})
    after = log.read_text(errors="replace") if log.exists() else ""
    assert "Traceback" not in after[len(before):]


def test_12_a_token_dated_a_day_ahead_is_refused(emulator: Any, rtools: Any) -> None:
    ahead = int(time.time()) + 86400
    token = _token_with(emulator, {"nbf": ahead, "iat": ahead, "exp": ahead + 3600})
    with rtools.https_client(emulator, token=False) as http:
        answer = http.get(f"/subscriptions/{emulator.auth['subscriptionId']}/resourcegroups", params=RG_API,
                          headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
        assert "not valid yet" in rtools.assert_arm_envelope(answer)["message"]
        small_skew = _token_with(emulator, {"nbf": int(time.time()) + 30})
        fine = http.get(f"/subscriptions/{emulator.auth['subscriptionId']}/resourcegroups", params=RG_API,
                        headers={"Authorization": f"Bearer {small_skew}"})
    assert fine.status_code == 200


# -- 2, 3: NUL and lone surrogates ------------------------------------------------------------------------
BAD_TEXT = ["a\u0000b", "x\ud800y"]


@pytest.mark.parametrize("text", BAD_TEXT)
@pytest.mark.parametrize("where", ["command", "env value", "secure value", "env name", "tag"])
def test_2_bad_text_in_a_field_is_400_naming_it_and_leaves_no_ghost(emulator: Any, client: Any, rtools: Any,
                                                                     resource_group: str, unique_name: str,
                                                                     text: str, where: str) -> None:
    body = {
        "command": lambda: group_body(command=["echo", text]),
        "env value": lambda: group_body(env=[{"name": "A", "value": text}]),
        "secure value": lambda: group_body(env=[{"name": "A", "secureValue": text}]),
        "env name": lambda: group_body(env=[{"name": text, "value": "v"}]),
        "tag": lambda: group_body(tags={"k": text}),
    }[where]()
    path = group_path(emulator, resource_group, unique_name)
    answer = send_json(client, "PUT", path, body)
    assert answer.status_code == 400, answer.text[:300]
    error = rtools.assert_arm_envelope(answer)
    assert error["code"] == "InvalidRequestContent"
    assert "properties.containers[0]" in error["message"] or "tags.k" in error["message"], error["message"]
    assert text not in answer.text  # the value is never echoed (it may be a secret)
    assert client.get(path, params=API).status_code == 404
    listed = client.get(group_path(emulator, resource_group, "").rstrip("/"), params=API).json()["value"]
    assert unique_name not in [group["name"] for group in listed]


def test_2_no_ghost_in_the_store_either(emulator: Any, client: Any, resource_group: str,
                                        unique_name: str) -> None:
    import sqlite3

    send_json(client, "PUT", group_path(emulator, resource_group, unique_name), group_body(command=["a\u0000"]))
    with sqlite3.connect(emulator.home.state_path) as db:
        rows = db.execute("SELECT name_key FROM container_groups WHERE name_key = ?", (unique_name,)).fetchall()
        stuck = db.execute("SELECT doc FROM operations").fetchall()
    assert rows == []
    assert not [doc for (doc,) in stuck if unique_name in doc and '"InProgress"' in doc]


def test_3_surrogate_tags_refused_on_groups_and_resource_groups(emulator: Any, client: Any, rtools: Any,
                                                                resource_group: str, unique_name: str) -> None:
    path = group_path(emulator, resource_group, unique_name)
    assert send_json(client, "PUT", path, group_body()).status_code in (200, 201)
    patched = send_json(client, "PATCH", path, {"tags": {"a": "\ud800"}})
    assert patched.status_code == 400 and rtools.assert_arm_envelope(patched)["code"] == "InvalidRequestContent"
    assert client.get(path, params=API).status_code == 200
    rg_path = f"/subscriptions/{emulator.auth['subscriptionId']}/resourcegroups/{resource_group}"
    answer = send_json(client, "PUT", rg_path, {"location": "eastus", "tags": {"a": "\ud800"}})
    assert answer.status_code == 400, answer.text[:300]
    assert client.delete(path, params=API).status_code in (200, 204)


def test_3_a_surrogate_already_in_the_store_does_not_break_get_or_delete(tmp_path: Path, rtools: Any,
                                                                         emulator_tools: Any) -> None:
    """A store written by an older emulator may hold one: GET and DELETE still answer, escaped."""
    import sqlite3

    running = emulator_tools.start_emulator(tmp_path / "home")
    try:
        with rtools.https_client(running) as http:
            rg_path = f"/subscriptions/{running.auth['subscriptionId']}/resourcegroups/rg1"
            assert send_json(http, "PUT", rg_path, {"location": "eastus"}).status_code in (200, 201)
            path = group_path(running, "rg1", "web")
            assert send_json(http, "PUT", path, group_body()).status_code in (200, 201)
        launcher.stop(running.home)
        with sqlite3.connect(running.home.state_path) as db:
            (doc,) = db.execute("SELECT doc FROM container_groups").fetchone()
            stored = json.loads(doc)
            stored["spec"]["tags"] = {"a": "\ud800"}
            db.execute("UPDATE container_groups SET doc = ?", (json.dumps(stored),))
        running = emulator_tools.start_emulator(tmp_path / "home", running.port)
        with rtools.https_client(running) as http:
            got = http.get(path, params=API)
            assert got.status_code == 200, got.text[:300]
            assert got.json()["tags"] == {"a": "\ud800"}  # escaped in the JSON text, read back as stored
            assert http.delete(path, params=API).status_code in (200, 204)
    finally:
        emulator_tools.stop_emulator(running)


# -- 4: deep nesting --------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [100, 500, 980, 5000])
@pytest.mark.parametrize("under", ["container", "identity"])
def test_4_deep_nesting_is_400(emulator: Any, client: Any, rtools: Any, resource_group: str, unique_name: str,
                               depth: int, under: str) -> None:
    deep = "[" * depth + "]" * depth
    body = json.dumps(group_body())
    if under == "container":
        text = body.replace('"image": "alpine"', f'"image": "alpine", "x": {deep}')
    else:
        text = body[:-1] + f', "identity": {{"type": "None", "x": {deep}}}}}'
    answer = client.put(group_path(emulator, resource_group, unique_name), params=API, content=text.encode(),
                        headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text[:300]
    assert rtools.assert_arm_envelope(answer)["code"] == "InvalidRequestContent"


# -- 5: bodies are read as a stream with limits ------------------------------------------------------------
def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _raw_send(running: Any, method: str, path: str, total: int, *, declared: bool,
              token: str | None = None) -> tuple[int, float]:
    """Send ``total`` bytes over raw TLS (chunked unless ``declared``); the status and seconds to the answer."""
    context = ssl.create_default_context(cafile=str(running.ca_path))
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", running.port), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        headers = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{running.port}",
                   "Content-Type: application/x-www-form-urlencoded"]
        if token:
            headers.append(f"Authorization: Bearer {token}")
        headers.append(f"Content-Length: {total}" if declared else "Transfer-Encoding: chunked")
        tls.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        chunk = b"a" * 65536
        sent = 0
        tls.settimeout(0.001)
        answer = b""
        while sent < total and b"\r\n\r\n" not in answer:
            piece = chunk[: total - sent]
            try:
                tls.sendall(piece if declared else f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError, OSError):
                break
            sent += len(piece)
            try:
                answer += tls.recv(4096)
            except (TimeoutError, ssl.SSLWantReadError, OSError):
                pass
        tls.settimeout(30)
        while b"\r\n\r\n" not in answer:
            data = tls.recv(4096)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, time.monotonic() - started


@pytest.mark.slow
def test_5_huge_bodies_get_413_at_once_and_the_server_does_not_grow(own_emulator: Any, rtools: Any) -> None:
    running = own_emulator()
    before = _rss_kb(running.pid)
    token_path = f"/{running.auth['tenantId']}/oauth2/v2.0/token"
    with rtools.https_client(running) as http:
        token = http.headers["Authorization"].split(" ", 1)[1]
    group = group_path(running, "rg", "big") + "?api-version=2023-05-01"
    for method, path, bearer in (("POST", token_path, None), ("PUT", group, token)):
        for declared in (True, False):
            status, seconds = _raw_send(running, method, path, 200 * 1024 * 1024, declared=declared, token=bearer)
            assert status == 413, (path, declared, status)
            print(f"{method} 200 MB ({'Content-Length' if declared else 'chunked'}): 413 after {seconds:.2f} s")
    after = _rss_kb(running.pid)
    print(f"emulator RSS before {before} kB, after the 200 MB bodies {after} kB")
    assert after - before < 50 * 1024, (before, after)


# -- 8: a full disk ---------------------------------------------------------------------------------------
def _mount_tmpfs(target: Path, size: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target)],
                          capture_output=True, check=False).returncode == 0


@pytest.mark.slow
def test_8_a_full_disk_is_one_clear_507_and_nothing_half_changed(tmp_path: Path, rtools: Any,
                                                                  emulator_tools: Any) -> None:
    disk = tmp_path / "small-disk"
    if not _mount_tmpfs(disk, "24m"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root and must be able to mount a tmpfs for the full-disk test")
        pytest.skip("mounting a small tmpfs needs root")
    running = None
    try:
        running = emulator_tools.start_emulator(disk / "home")
        with rtools.https_client(running) as http:
            rg_path = f"/subscriptions/{running.auth['subscriptionId']}/resourcegroups/rg1"
            assert send_json(http, "PUT", rg_path, {"location": "eastus"}).status_code in (200, 201)
            filler = disk / "filler"
            with filler.open("wb") as handle:  # fill the disk to the last byte
                try:
                    while True:
                        handle.write(b"\0" * 65536)
                        handle.flush()
                except OSError:
                    pass
            path = group_path(running, "rg1", "web")
            answer = send_json(http, "PUT", path, group_body())
            assert answer.status_code == 507, answer.text[:300]
            message = rtools.assert_arm_envelope(answer)["message"]
            assert "disk is full" in message and str(running.home.path) in message
            assert http.get(path, params=API).status_code == 404  # not Pending in memory only
            filler.unlink()
            retry = send_json(http, "PUT", path, group_body())
            assert retry.status_code in (200, 201), retry.text[:300]  # not 409: nothing was left behind
        launcher.stop(running.home)
        running = emulator_tools.start_emulator(disk / "home", running.port)
        with rtools.https_client(running) as http:
            assert http.get(path, params=API).status_code == 200  # and it survives a restart
    finally:
        if running is not None:
            emulator_tools.stop_emulator(running)
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, check=False)


# -- 9: private files never go through a symlink ---------------------------------------------------------
def test_9_write_private_refuses_a_planted_link_and_a_predictable_temp(tmp_path: Path) -> None:
    stolen = tmp_path / "attacker-owned"
    stolen.write_text("")
    out = tmp_path / "auth.json"
    (tmp_path / "auth.json.tmp").symlink_to(stolen)  # the old predictable temp name
    write_private(out, "secret")
    assert out.read_text() == "secret" and stolen.read_text() == ""
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    out.unlink()
    out.symlink_to(stolen)
    with pytest.raises(UnsafePath):
        write_private(out, "secret")
    assert stolen.read_text() == ""


def test_9_auth_file_output_to_a_symlink_is_one_line_and_writes_nothing(tmp_path: Path, emulator: Any) -> None:
    stolen = tmp_path / "attacker-owned"
    stolen.write_text("")
    link = tmp_path / "shared-auth.json"
    link.symlink_to(stolen)
    result = subprocess.run([sys.executable, "-m", "aci_widgets.emulator.cli", "auth-file", "--home",
                             str(emulator.home.path), "--output", str(link)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert stolen.read_text() == ""


# -- 10: names never end in a newline ---------------------------------------------------------------------
@pytest.mark.parametrize("what", ["group", "resource group", "container", "env name"])
def test_10_a_trailing_newline_is_not_a_name(emulator: Any, client: Any, rtools: Any, resource_group: str,
                                             unique_name: str, what: str) -> None:
    if what == "resource group":
        path = f"/subscriptions/{emulator.auth['subscriptionId']}/resourcegroups/rg%0A"
        answer = send_json(client, "PUT", path, {"location": "eastus"})
    else:
        body = group_body(env=[{"name": "A\n", "value": "v"}] if what == "env name" else None)
        if what == "container":
            body["properties"]["containers"][0]["name"] = "c\n"
        name = unique_name + ("%0A" if what == "group" else "")
        answer = send_json(client, "PUT", group_path(emulator, resource_group, name), body)
    assert answer.status_code == 400, (what, answer.status_code, answer.text[:300])
    rtools.assert_arm_envelope(answer)


def test_10_the_client_rules_refuse_trailing_newlines_too() -> None:
    from aci_widgets import rules

    assert rules.check_group_name("web\n") and rules.check_container_name("c\n")
    assert rules.check_env_name("A\n") and rules.check_resource_group_name("rg\n")
    assert not rules.check_group_name("web")


# -- 11: faults and the request log need a token ---------------------------------------------------------
def test_11_faults_are_not_drained_without_a_token_and_no_query_is_logged(emulator: Any, emulator_knobs: Any,
                                                                          rtools: Any) -> None:
    emulator_knobs.inject_faults(503, 1)
    with rtools.https_client(emulator, token=False) as anonymous:
        for _ in range(3):
            assert anonymous.get("/subscriptions/x/resourcegroups", params={"api-version": "2021-04-01",
                                                                           "secret": "hunter2"}).status_code == 401
    with rtools.https_client(emulator) as http:
        faulted = http.get(f"/subscriptions/{emulator.auth['subscriptionId']}/resourcegroups", params=RG_API)
    assert faulted.status_code == 503  # the fault was still there for the authenticated caller
    log = emulator_knobs.requests()
    assert not [entry for entry in log if "hunter2" in json.dumps(entry)]


# -- 13: a corrupted store --------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "missing fields"])
def test_13_a_corrupted_store_is_one_line_naming_the_file_and_the_way_out(tmp_path: Path, emulator_tools: Any,
                                                                          rtools: Any, damage: str) -> None:
    import sqlite3

    running = emulator_tools.start_emulator(tmp_path / "home")
    with rtools.https_client(running) as http:
        send_json(http, "PUT", f"/subscriptions/{running.auth['subscriptionId']}/resourcegroups/rg1",
                  {"location": "eastus"})
    emulator_tools.stop_emulator(running)
    state = running.home.state_path
    if damage == "garbage":
        data = bytearray(state.read_bytes())
        data[100:4000] = os.urandom(3900)
        state.write_bytes(bytes(data))
    else:
        with sqlite3.connect(state) as db:
            db.execute("INSERT INTO container_groups VALUES ('s', 'r', 'n', '{\"name\": \"n\"}')")
    result = subprocess.run([sys.executable, "-m", "aci_widgets.emulator.cli", "serve", "--home",
                             str(running.home.path), "--port", str(emulator_tools.free_port())],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert str(state) in lines[0] and "aci-emulator reset" in lines[0] and ".bak" in lines[0]


# -- 14: resource-group delete does not stall other clients ----------------------------------------------
@pytest.mark.slow
def test_14_deleting_a_big_resource_group_does_not_block_others(own_emulator: Any, emulator_tools: Any,
                                                               rtools: Any) -> None:
    running = own_emulator()
    _ci, rm = emulator_tools.sdk_clients(running.auth_file)
    rm.resource_groups.create_or_update("big", {"location": "eastus"})
    with rtools.https_client(running) as http:
        for index in range(150):
            body = group_body(command=["sleep", "300"])
            assert send_json(http, "PUT", group_path(running, "big", f"g{index:03d}"), body).status_code == 201
        started = time.monotonic()
        deleted = http.delete(f"/subscriptions/{running.auth['subscriptionId']}/resourcegroups/big", params=RG_API)
        answered = time.monotonic() - started
        assert deleted.status_code == 202 and "operationresults" in deleted.headers["location"]
        stalls = []
        while True:
            ping = time.monotonic()
            assert http.get(f"/subscriptions/{running.auth['subscriptionId']}/resourcegroups",
                            params=RG_API).status_code == 200
            stalls.append(time.monotonic() - ping)
            poll = http.get(deleted.headers["location"])
            if poll.status_code == 200:
                break
            assert poll.status_code == 202
            time.sleep(0.05)
    print(f"delete answered in {answered * 1000:.0f} ms; slowest other request {max(stalls) * 1000:.0f} ms")
    assert answered < 1.0
    assert max(stalls) < 2.0
    assert not rm.resource_groups.check_existence("big")
    # and the SDK's own poller waits for it, as against Azure
    rm.resource_groups.create_or_update("small", {"location": "eastus"})
    rm.resource_groups.begin_delete("small").result()
    assert not rm.resource_groups.check_existence("small")


def test_14_the_retry_notice_names_the_method_and_url_of_a_failed_connection() -> None:
    from azure.core.pipeline.transport import HttpRequest

    from aci_widgets.retries import NotifyingRetryPolicy

    notes: list[str] = []
    policy = NotifyingRetryPolicy(on_retry=notes.append, retry_backoff_factor=0)
    history = [type("History", (), {"http_request": HttpRequest("GET", "https://127.0.0.1:1/subscriptions/s")})()]
    policy.sleep({"history": history, "backoff": 0, "retry_backoff_factor": 0, "retry_backoff_max": 0}, None)
    assert notes and "GET https://127.0.0.1:1/subscriptions/s" in notes[0]
    assert "to  " not in notes[0]


# -- 7: restart after a kill -9 with containers that ignore SIGTERM ---------------------------------------
STUBBORN = 20


@pytest.mark.slow
def test_7_restart_with_stubborn_containers_never_leaves_them_without_a_server(own_emulator: Any, rtools: Any,
                                                                               emulator_tools: Any) -> None:
    import contextlib
    import signal

    running = own_emulator()
    with rtools.https_client(running) as http:
        rg_path = f"/subscriptions/{running.auth['subscriptionId']}/resourcegroups/stubborn"
        assert send_json(http, "PUT", rg_path, {"location": "eastus"}).status_code in (200, 201)
        for index in range(STUBBORN):
            body = group_body(command=["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"])
            assert send_json(http, "PUT", group_path(running, "stubborn", f"s{index:02d}"), body).status_code == 201
        deadline = time.monotonic() + 30
        while len(running.container_processes()) < STUBBORN and time.monotonic() < deadline:
            time.sleep(0.1)
    old = running.container_processes()
    assert len(old) >= STUBBORN
    os.kill(running.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(running.pid, 0)
    launcher._children.pop(running.pid, None)

    started = time.monotonic()
    restarted = own_emulator(home=running.home.path)  # the launcher, exactly as `aci-emulator start`
    ready_seconds = time.monotonic() - started
    print(f"restart with {STUBBORN} containers ignoring SIGTERM: ready after {ready_seconds:.1f} s")
    assert launcher.status(restarted.home).healthy
    survivors = {pid for pid in old if emulator_tools.process_alive(pid)}
    assert not survivors, f"containers of the killed server still run: {sorted(survivors)}"
    with rtools.https_client(restarted) as http:
        listed = http.get(group_path(restarted, "stubborn", "").rstrip("/"), params=API)
        assert listed.status_code == 200 and len(listed.json()["value"]) == STUBBORN


def test_7_a_reconciling_server_says_so_and_arm_calls_wait(own_emulator: Any, rtools: Any) -> None:
    """Health answers "reconciling" while the server settles; ARM calls get 503 + Retry-After, never a kill."""
    running = own_emulator()
    with rtools.https_client(running) as http:
        assert http.get("/_emulator/health").json()["status"] == "ok"
    status = launcher.status(running.home)
    assert status.healthy and not status.reconciling and "healthy" in status.describe()
    reconciling = launcher.EmulatorStatus(True, 1, "https://127.0.0.1:1", "h", reconciling=True)
    assert "reconciling" in reconciling.describe()


def test_7_while_reconciling_arm_calls_get_503_with_retry_after(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from aci_widgets.emulator.arm.app import create_app
    from aci_widgets.emulator.config import EmulatorHome
    from aci_widgets.emulator.state.backend import Backend

    home = EmulatorHome(tmp_path / "home")
    backend = Backend(home)
    try:
        app = create_app(backend, home)
        app.state.api.control.ready.clear()
        with TestClient(app) as http:
            assert http.get("/_emulator/health").json()["status"] == "reconciling"
            answer = http.get("/subscriptions/x/resourcegroups", params=RG_API)
            assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
            assert answer.json()["error"]["code"] == "ServiceUnavailable"
            app.state.api.control.ready.set()
            assert http.get("/_emulator/health").json()["status"] == "ok"
    finally:
        backend.shutdown()


@pytest.mark.slow
def test_8_a_delete_on_a_full_disk_kills_nothing_and_a_retry_works(tmp_path: Path, rtools: Any,
                                                                   emulator_tools: Any) -> None:
    """DELETE writes SQLite before it kills: on a full disk it is a 507 and the group still runs."""
    disk = tmp_path / "small-disk"
    if not _mount_tmpfs(disk, "24m"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root and must be able to mount a tmpfs for the full-disk test")
        pytest.skip("mounting a small tmpfs needs root")
    running = None
    try:
        running = emulator_tools.start_emulator(disk / "home")
        with rtools.https_client(running) as http:
            rg_path = f"/subscriptions/{running.auth['subscriptionId']}/resourcegroups/rg1"
            assert send_json(http, "PUT", rg_path, {"location": "eastus"}).status_code in (200, 201)
            path = group_path(running, "rg1", "web")
            assert send_json(http, "PUT", path, group_body()).status_code == 201
            deadline = time.monotonic() + 20
            while not running.container_processes() and time.monotonic() < deadline:
                time.sleep(0.05)
            pids = running.container_processes()
            assert pids
            filler = disk / "filler"
            with filler.open("wb") as handle:
                try:
                    while True:
                        handle.write(b"\0" * 65536)
                        handle.flush()
                except OSError:
                    pass
            answer = http.delete(path, params=API)
            assert answer.status_code == 507, answer.text[:300]
            assert "disk is full" in rtools.assert_arm_envelope(answer)["message"]
            assert {pid for pid in pids if emulator_tools.process_alive(pid)} == pids  # nothing was killed
            view = http.get(path, params=API)
            assert view.status_code == 200
            state = view.json()["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]
            assert state["state"] == "Running", state
            filler.unlink()
            assert http.delete(path, params=API).status_code in (200, 204)
            assert http.get(path, params=API).status_code == 404
            assert not {pid for pid in pids if emulator_tools.process_alive(pid)}
    finally:
        if running is not None:
            emulator_tools.stop_emulator(running)
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, check=False)
