"""Issue 17 case 1: each home keeps a stable port, chosen free on first use and re-chosen when taken.

Real servers on real ports: a listening socket of this test plays "another process holds the port".
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aci_widgets.emulator import launcher
from aci_widgets.emulator.auth import write_auth_file
from aci_widgets.emulator.azcli import config_dir, write_cli_config
from aci_widgets.emulator.config import DEFAULT_PORT, PORT_ENV, EmulatorHome
from aci_widgets.emulator.ports import port_is_free


@pytest.fixture(autouse=True)
def _unpinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PORT_ENV, raising=False)


@pytest.fixture
def homes(tmp_path: Path) -> Iterator[list[EmulatorHome]]:
    made: list[EmulatorHome] = []

    def make(name: str) -> EmulatorHome:
        home = EmulatorHome(tmp_path / name)
        made.append(home)
        return home

    yield make  # type: ignore[misc]
    for home in made:
        launcher.stop(home)


def _listen(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def _saved_port(home: EmulatorHome) -> int:
    return int(json.loads(home.config_path.read_text())["port"])


def test_first_use_takes_the_default_when_free_else_a_free_port(homes) -> None:
    holder = _listen(DEFAULT_PORT) if port_is_free(DEFAULT_PORT) else None  # someone holds it either way
    try:
        home = homes("first")
        port = home.port()
        assert port != DEFAULT_PORT and port_is_free(port)
        assert _saved_port(home) == port == home.port()  # stable: read back, not chosen again
    finally:
        if holder is not None:
            holder.close()


def test_a_taken_port_is_rechosen_saved_and_the_auth_file_rewritten(homes, capsys) -> None:
    home = homes("taken")
    old = home.port()
    write_auth_file(home, f"https://127.0.0.1:{old}")
    write_cli_config(home, f"https://127.0.0.1:{old}")  # as `aci-emulator az-env` leaves it
    holder = _listen(old)
    try:
        url, _pid = launcher.ensure_running(home)
    finally:
        holder.close()
    new = int(url.rsplit(":", 1)[1])
    assert new != old and _saved_port(home) == new
    auth = json.loads(home.auth_file_path.read_text())
    assert auth["resourceManagerEndpointUrl"].startswith(f"https://127.0.0.1:{new}")
    assert f"127.0.0.1:{new}" in (config_dir(home) / "clouds.config").read_text()
    assert f"127.0.0.1:{old}" not in (config_dir(home) / "clouds.config").read_text()
    said = [line for line in capsys.readouterr().out.splitlines() if "taken" in line]
    expected = (f"aci-emulator: port {old} is taken by another process; {home.path} now uses port {new} "
                "(saved in config.json, auth file rewritten, az configuration rewritten; "
                "pin one with ACI_EMULATOR_PORT)")
    assert said == [expected]
    # The next start keeps the new port (stable), and says nothing.
    launcher.stop(home)
    url_again, _ = launcher.ensure_running(home)
    assert url_again == url
    assert "taken" not in capsys.readouterr().out


def test_two_homes_started_at_once_both_work(homes) -> None:
    first, second = homes("a"), homes("b")
    # Both chose the same free port (the race of two first uses at the same moment).
    shared = first.port()
    second.config()
    config = json.loads(second.config_path.read_text())
    config["port"] = shared
    second.config_path.write_text(json.dumps(config))
    results: dict[str, object] = {}

    def start(home: EmulatorHome) -> None:
        try:
            results[home.path.name] = launcher.ensure_running(home)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results[home.path.name] = exc

    threads = [threading.Thread(target=start, args=(home,)) for home in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    urls = [results.get("a"), results.get("b")]
    assert all(isinstance(result, tuple) for result in urls), urls
    assert urls[0][0] != urls[1][0]  # type: ignore[index]
    for home, (url, pid) in zip((first, second), urls):  # type: ignore[misc]
        status = launcher.status(home)
        assert status.healthy and status.url == url and status.pid == pid
        assert _saved_port(home) == int(url.rsplit(":", 1)[1])


def test_a_pinned_port_is_never_rechosen(homes, monkeypatch) -> None:
    home = homes("pinned")
    holder = _listen()
    port = holder.getsockname()[1]
    monkeypatch.setenv(PORT_ENV, str(port))
    try:
        with pytest.raises(launcher.EmulatorStartError, match="already in use"):
            launcher.ensure_running(home, timeout=20)
    finally:
        holder.close()
    assert home.port() == port
    assert os.environ[PORT_ENV] == str(port)
