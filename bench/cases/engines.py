"""Case 8: the container engines (issue 14).

Docker engine: create -> Running of a local image (``aci-test/busybox``, ``sleep 300``) through the SDK, against
``docker run -d`` of the same image and command (docker-py ``containers.run(detach=True)``: it returns once the
container started), the engine's own floor; and delete (SDK ``begin_delete().result()``) against ``docker rm -f``.
Ratios of medians, interleaved; bars 1.5x. The process engine's figures for the same flows are reported.

Each engine gets its own emulator (a fresh home), started and stopped here; the shared bench emulator is not
used. Without a Docker API the Docker rows are left out (noted).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import LOCATION, Context, Row, free_port, median

NAME = "engines"
BAR = 1.5
IMAGE = {"docker": "aci-test/busybox", "process": "alpine"}


@contextlib.contextmanager
def _emulator(engine: str) -> Iterator[tuple[Any, Any]]:
    from aci_widgets.emulator.auth import write_auth_file
    from aci_widgets.emulator.config import EmulatorHome
    from aci_widgets.emulator.launcher import ensure_running, stop

    with tempfile.TemporaryDirectory(prefix=f"aci-bench-{engine}-") as folder:
        home = EmulatorHome(Path(folder) / "home")
        url, _pid = ensure_running(home, free_port(), extra_args=(f"--engine={engine}",))
        try:
            import aci_widgets

            session = aci_widgets.connect(auth_file=write_auth_file(home, url), location=LOCATION, quiet=True)
            session.notify = lambda message: None
            session.ensure_resource_group("bench-engines", LOCATION)
            yield session, home
        finally:
            stop(home)


def _body(image: str) -> dict[str, Any]:
    return {"location": LOCATION, "properties": {"osType": "Linux", "restartPolicy": "Never", "containers": [
        {"name": "main", "properties": {"image": image, "command": ["sleep", "300"],
                                        "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}}}}]}}


def _create(session: Any, image: str) -> tuple[float, str]:
    name = f"e{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    session.ci.container_groups.begin_create_or_update("bench-engines", name, _body(image),
                                                       polling_interval=0).result()
    state = session.get_group_json(name, "bench-engines")["properties"].get("instanceView", {}).get("state")
    elapsed = time.perf_counter() - started
    if state != "Running":
        raise RuntimeError(f"{name} is {state!r}, not Running")
    return elapsed, name


def _delete(session: Any, name: str) -> float:
    started = time.perf_counter()
    session.ci.container_groups.begin_delete("bench-engines", name, polling_interval=0).result()
    return time.perf_counter() - started


def _docker_run(client: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    container = client.containers.run(IMAGE["docker"], ["sleep", "300"], detach=True)
    return time.perf_counter() - started, container


def _docker_rm(container: Any) -> float:
    started = time.perf_counter()
    container.remove(force=True)
    return time.perf_counter() - started


def _docker_client() -> Any | None:
    from aci_widgets.emulator.runtime.docker_engine import docker_answers

    if not docker_answers():
        return None
    import docker

    return docker.from_env(version="auto")


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    count = 3 if ctx.quick else 11
    client = _docker_client()
    if client is not None:
        with _emulator("docker") as (session, _home):
            _delete(session, _create(session, IMAGE["docker"])[1])  # warm-up: token, imports, image layers
            _docker_rm(_docker_run(client)[1])
            ours_create, ours_delete, floor_create, floor_delete = [], [], [], []
            for _ in range(count):  # interleaved, one container at a time (2 cores)
                seconds, name = _create(session, IMAGE["docker"])
                ours_create.append(seconds)
                ours_delete.append(_delete(session, name))
                seconds, container = _docker_run(client)
                floor_create.append(seconds)
                floor_delete.append(_docker_rm(container))
        for what, ours, floor, floor_name in (("create -> Running", ours_create, floor_create, "docker run -d"),
                                              ("delete", ours_delete, floor_delete, "docker rm -f")):
            value, base = median(ours), median(floor)
            rows.append(Row(case=f"8 engines: docker {what}", measured=value, unit="s", baseline=base,
                            ratio=value / base, ratio_text="x the floor",
                            bar=f"<= {BAR}x {floor_name}", passed=value <= BAR * base,
                            samples={"emulator": ours, floor_name: floor},
                            note=f"{IMAGE['docker']} sleep 300, SDK with polling_interval=0; medians of {count}; "
                                 f"ratio {value / base:.2f}x"))
        client.close()
    with _emulator("process") as (session, _home):
        _delete(session, _create(session, IMAGE["process"])[1])
        creates, deletes = [], []
        for _ in range(count):
            seconds, name = _create(session, IMAGE["process"])
            creates.append(seconds)
            deletes.append(_delete(session, name))
    missing = "" if client is not None else (
        f"; Docker not measured: no Docker API (DOCKER_HOST={os.environ.get('DOCKER_HOST') or 'unset'})")
    rows.append(Row(case="8 engines: process create -> Running", measured=median(creates), unit="s",
                    samples={"create": creates}, note=f"alpine sleep 300 (bwrap + cgroup); median of {count}{missing}"))
    rows.append(Row(case="8 engines: process delete", measured=median(deletes), unit="s",
                    samples={"delete": deletes}, note=f"SIGTERM, tree kill; median of {count}; reported"))
    return rows
