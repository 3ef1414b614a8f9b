"""The engine in use is shown (issue 14): ``%aci whoami`` (Session.whoami), ``aci-emulator status``, health."""

from __future__ import annotations

from typing import Any

from aci_widgets.emulator import launcher

from .conftest import read_some


def test_whoami_status_and_health_name_the_engine(emulator: Any) -> None:
    import aci_widgets

    session = aci_widgets.connect("local", quiet=True)  # the session emulator (tests pin the process engine)
    assert session.whoami()["engine"].startswith("process (sandbox ")
    current = launcher.status(emulator.home)
    assert current.engine and current.engine.startswith("process") and "engine process" in current.describe()
    assert emulator.control.health()["engine"] == "process"


def test_process_engine_exec_and_stats(tmp_path: Any) -> None:
    """The simple exec/stats of the process engine (the interface i16's exec endpoint and metrics use)."""
    import time

    from aci_widgets.emulator.config import EmulatorHome
    from aci_widgets.emulator.state.backend import Backend

    backend = Backend(EmulatorHome(tmp_path / "home"), engine="process")
    try:
        backend.create_or_update_resource_group("sub", "rg", {"location": "eastus"})
        backend.create_or_update_group("sub", "rg", "g", {"location": "eastus", "properties": {
            "osType": "Linux", "containers": [{"name": "c", "properties": {
                "image": "alpine", "command": ["sleep", "60"], "environmentVariables": [{"name": "X", "value": "42"}],
                "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}}]}})
        session = backend.container_exec("sub", "rg", "g", "c", ["/bin/sh", "-c", "read line; echo $X $line"],
                                         tty=False)
        session.write(b"hello\n")
        out = b""
        deadline = time.monotonic() + 10
        while not out.endswith(b"\n") and time.monotonic() < deadline:
            out += read_some(session)
        session.close()
        assert out == b"42 hello\n" and session.exit_code == 0
        stats = backend.container_stats("sub", "rg", "g", "c")
        assert stats.memory_bytes > 0 and stats.cpu_seconds_total >= 0
    finally:
        backend.shutdown()


def test_engine_choice_says_why_docker_is_not_used(monkeypatch: Any, caplog: Any, tmp_path: Any) -> None:
    """auto says in one log line why it fell back; --engine docker without the client names the package."""
    import logging
    import sys

    import pytest

    from aci_widgets.emulator.config import EmulatorHome
    from aci_widgets.emulator.runtime.engine import EngineUnavailable
    from aci_widgets.emulator.runtime.select import choose_engine, make_engine

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    with caplog.at_level(logging.WARNING, logger="aci_widgets.emulator.runtime.select"):
        assert choose_engine("auto") == "process"
    assert f"no Docker API answers at unix://{tmp_path}/no-daemon.sock" in caplog.text
    monkeypatch.setitem(sys.modules, "docker", None)  # as if the docker package were not installed
    with pytest.raises(EngineUnavailable, match=r"needs the docker package: pip install 'aci-widgets\[docker\]'"):
        make_engine("docker", EmulatorHome(tmp_path / "home"), lambda *args: None, kill_grace_seconds=1)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="aci_widgets.emulator.runtime.select"):
        assert choose_engine("auto") == "process"
    assert "the docker package is not installed" in caplog.text
