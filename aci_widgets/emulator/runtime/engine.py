"""The container engine interface: what the state machine (``emulator/state/``) asks of whatever runs containers.

Two engines implement it: ``process_engine.ProcessEngine`` (a container is a sandboxed local process tree) and
``docker_engine.DockerEngine`` (a container is a Docker container). The state machine above them (restart
policies, instance views, events, operations) is the same for both; an engine only starts, watches, stops and
removes what it runs, and reports each exit through ``on_exit(run_uid, exit_code, finished_at, oom)``.

A *run* is one start of one container (``run_uid``); a restart is a new run. ``exec`` and ``stats`` take the
run uid of the container's current run.

Choosing an engine: ``aci-emulator serve --engine auto|docker|process`` (env ``ACI_EMULATOR_ENGINE``). ``auto``
is Docker when its API answers (``DOCKER_HOST`` honoured, else the default socket), else the process engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

ENGINE_ENV = "ACI_EMULATOR_ENGINE"
ENGINE_CHOICES = ("auto", "docker", "process")
# ACI's detailStatus for a container killed over its memory is unverified (scripts/docker/README.md): Kubernetes'
# reason string, which ACI's other detailStatus values follow. See COVERAGE.md.
OOM_DETAIL_STATUS = "OOMKilled"
OOM_EXIT_CODE = 137

ExitCallback = Callable[[str, int, datetime, bool], None]


class ExecSession(Protocol):
    """An interactive command in a running container (``az container exec``)."""

    exit_code: int | None

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes:
        """What the command wrote since the last read; ``b""`` only at the end of its output. Raises
        ``TimeoutError`` when nothing came within ``timeout`` seconds."""
        ...

    def resize(self, cols: int, rows: int) -> None: ...

    def close(self) -> None: ...


@dataclass
class ContainerStats:
    """Counters of one container's current run (cumulative since it started) at ``at`` (epoch seconds)."""

    cpu_seconds_total: float
    memory_bytes: int
    rx_bytes: int
    tx_bytes: int
    at: float


class CommandNotRunnable(Exception):
    """A container's command, or an exec's, could not be executed at all (not found, not executable).
    ``exit_code`` is the shell's (127, 126); ``message`` says so as runc does (``runc_failure``)."""

    def __init__(self, exit_code: int, message: str):
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


def runc_failure(argv: list[str], reason: str, *, exec_into: bool = False) -> str:
    """runc's words for a command it cannot start: at a container's start (as Docker and ACI report it in the
    Failed event) or for an exec into a running one."""
    executable = argv[0] if argv else ""
    lead = "exec failed: " if exec_into else ("failed to create containerd task: failed to create shim task: OCI "
                                              "runtime create failed: runc create failed: ")
    return f"{lead}unable to start container process: exec: \"{executable}\": {reason}"


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot run here (``--engine docker`` without an answering Docker API)."""


class ImageUnavailable(LookupError):
    """The engine cannot get this image (ACI: ``InaccessibleImage``); ``reason`` is what the pull said."""

    def __init__(self, image: str, reason: str = "not found"):
        super().__init__(f"image '{image}' is not available: {reason}")
        self.image = image
        self.reason = reason


@dataclass(frozen=True)
class Mount:
    """A volume prepared on the host (``volumes.py``) and where a container sees it."""

    source: Path
    target: str
    read_only: bool = False


@dataclass
class RunSpec:
    """Everything an engine needs to start one run of one container."""

    run_uid: str
    home_id: str
    group_uid: str
    group_name: str
    container: str
    image: str
    command: list[str] | None
    env: dict[str, str]               # the group's environmentVariables (values and secure values)
    log_path: Path
    work_dir: Path                    # a folder of the container's own on the host
    cpu: float = 1.0
    memory_bytes: int = 1024 ** 3
    first_in_group: bool = True       # the process engine ignores these two; Docker's network namespace owner
    host_ports: dict[int, int] = field(default_factory=dict)   # container port -> 127.0.0.1 port
    group_port_env: dict[str, str] = field(default_factory=dict)  # process engine: PORT / ACI_PORT_<n>
    mounts: list[Mount] = field(default_factory=list)
    credentials: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RunHandle:
    """What the backend records about a started run (enough for a later emulator to find it)."""

    run_uid: str
    pid: int
    start_ticks: int | None
    started_at: datetime


@dataclass(frozen=True)
class LeftoverRun:
    """A run the store lists as live that this emulator did not start (an earlier emulator's)."""

    run_uid: str
    group_uid: str | None
    pid: int | None
    start_ticks: int | None


@dataclass
class Recovered:
    """What an engine did with an earlier emulator's runs: ``adopted`` run uids keep running and are watched;
    ``ended`` maps the others to the exit code to record (137 when the engine killed them)."""

    adopted: set[str] = field(default_factory=set)
    ended: dict[str, int] = field(default_factory=dict)


class Engine(Protocol):
    name: str

    def describe(self) -> str: ...

    def check_image(self, image: str, credentials: list[dict[str, Any]]) -> None:
        """Make the image available (pull it if needed); raise :class:`ImageUnavailable`."""
        ...

    def image_is_known(self, image: str) -> bool: ...

    def cached_images(self) -> list[str]: ...

    def start(self, spec: RunSpec) -> RunHandle:
        """Start a run; raise ``CommandNotRunnable`` when its command cannot be executed."""
        ...

    def kill(self, run_uids: Iterable[str], grace: float | None = None) -> dict[str, int]: ...

    def discard(self, run_uid: str) -> None:
        """Forget an ended run whose container will not be shown again (a newer run replaced it)."""
        ...

    def is_running(self, run_uid: str) -> bool: ...

    def running_uids(self) -> set[str]: ...

    def logs(self, run_uid: str, log_path: Path, *, running: bool, tail: int | None, timestamps: bool) -> str: ...

    def stats(self, run_uid: str) -> ContainerStats: ...

    def stats_many(self, run_uids: Iterable[str]) -> dict[str, ContainerStats]:
        """``stats`` of many runs at once (the metrics sampler's call); a run that ended is left out."""
        ...

    def exec(self, run_uid: str, argv: list[str], *, tty: bool, cols: int, rows: int) -> ExecSession: ...

    def remove_group(self, group_uid: str) -> None: ...

    def recover(self, leftovers: list[LeftoverRun], known_groups: set[str]) -> Recovered: ...

    def machine(self) -> tuple[float, float]:
        """(CPUs, memory in GB) the engine's machine has: capabilities never offer more."""
        ...

    def shutdown(self, kill_processes: bool = True) -> None: ...

    def abandon(self) -> None: ...


def home_id(home_path: Path) -> str:
    """The label value that marks a home's containers (a hash of its resolved path)."""
    return hashlib.sha256(str(Path(home_path).resolve()).encode()).hexdigest()[:16]
