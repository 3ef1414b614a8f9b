"""The Docker engine: each container run is a Docker container, through the Docker Engine API (PyPI ``docker``).

* Images are real: found locally, else pulled (``imageRegistryCredentials`` for the image's registry); a pull
  that fails is ACI's ``InaccessibleImage``. The image's entrypoint, command, working directory and environment
  are kept; ``command`` replaces entrypoint and command (exec form, as ACI does); the group's env is added.
* One network namespace per group: the group's first container owns it (its ports published on 127.0.0.1
  only), the others join it (``network_mode=container:<first>``), so a sidecar reaches the app on localhost.
* ``resources``: memory (limits, else requests) as the cgroup limit with no swap on top, CPU as a quota
  (``nano_cpus``). An out-of-memory kill is exit 137 with ``State.OOMKilled`` (reported only with 137).
* Volumes (``volumes.py``) are bind mounts of host folders under the emulator home.
* Every container carries the labels ``org.aci-emulator.home`` (a hash of the home's path), ``.group``
  (the group's uid), ``.container`` and ``.run``; a restarted emulator adopts its own running containers
  and removes those it no longer knows, and never touches another home's.
* Exits come from the engine's event stream (``die``); logs and stats from the engine. A run's logs are
  copied to its log file when its container is removed, so that they stay readable as with processes.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .docker_exec import DockerExecSession
from .docker_probe import ContainerProbe
from .engine import (
    CommandNotRunnable,
    ContainerStats,
    ExecSession,
    ExitCallback,
    ImageUnavailable,
    LeftoverRun,
    Recovered,
    RunHandle,
    RunSpec,
    home_id,
)
from .process import render_log

logger = logging.getLogger(__name__)
LABEL = "org.aci-emulator"
PULL_TIMEOUT_SECONDS = 300
IMAGE_SEEN_SECONDS = 5.0  # an image confirmed this recently is not asked for again (PUT, then deploy)


def docker_answers(timeout: float = 2.0) -> bool:
    """True when a Docker Engine API answers (``DOCKER_HOST``, else the default socket)."""
    try:
        import docker
    except ImportError:
        return False
    try:
        client = docker.from_env(version="auto", timeout=timeout)
        client.ping()
        client.close()
        return True
    except Exception:  # noqa: BLE001 - the engine's client raises many kinds
        return False


def _parse_time(text: str | None) -> datetime:
    if not text or text.startswith("0001-"):
        return datetime.now(timezone.utc)
    text = text.rstrip("Z")
    main, _, fraction = text.partition(".")
    moment = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return moment.replace(microsecond=int((fraction + "000000")[:6])) if fraction else moment


class DockerEngine:
    name = "docker"
    remove_kills = True  # a group's delete is `docker rm -f` of its containers: SIGKILL, no grace

    def __init__(self, home: Any, on_exit: ExitCallback, *, kill_grace_seconds: float):
        import docker

        self._docker = docker
        self.home = home
        self.home_id = home_id(home.path)
        self._on_exit = on_exit
        self.kill_grace_seconds = kill_grace_seconds
        self.client = docker.from_env(version="auto", timeout=120)
        self.client.ping()
        self._lock = threading.Lock()
        self._runs: dict[str, str] = {}        # run uid -> container id (runs this emulator watches)
        self._log_paths: dict[str, Path] = {}
        self._group_owner: dict[str, str] = {}  # group uid -> id of the container owning its network namespace
        self._probe = ContainerProbe(self.client.api, docker.errors)  # stats, and whether exec has a shell
        self._killed: set[str] = set()
        self._images_seen: dict[str, float] = {}  # image -> when the engine last confirmed it is there
        self._exited: dict[str, int] = {}
        self._stopping = False
        self._exits: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._events = self._open_events()
        threading.Thread(target=self._event_loop, name="aci-emulator-docker-events", daemon=True).start()
        threading.Thread(target=self._notify_loop, name="aci-emulator-docker-exits", daemon=True).start()

    def describe(self) -> str:
        version = self.client.version()
        return f"docker (engine {version.get('Version', '?')}, API {version.get('ApiVersion', '?')})"

    # -- images --------------------------------------------------------------------------------------
    def _recently_seen(self, image: str) -> bool:
        seen = self._images_seen.get(image)
        return seen is not None and time.monotonic() - seen < IMAGE_SEEN_SECONDS

    def check_image(self, image: str, credentials: list[dict[str, Any]]) -> None:
        if self._recently_seen(image):  # validated at PUT a moment ago: no second round trip at deploy
            return
        errors = self._docker.errors
        try:
            self.client.images.get(image)
            self._images_seen[image] = time.monotonic()
            return
        except errors.ImageNotFound:
            pass
        except errors.APIError as error:
            raise ImageUnavailable(image, str(error.explanation or error)) from error
        auth = _auth_for(image, credentials)
        repository, tag = _split_tag(image)
        try:
            self.client.images.pull(repository, tag=tag, auth_config=auth)
        except (errors.APIError, errors.DockerException) as error:
            reason = getattr(error, "explanation", None) or str(error)
            raise ImageUnavailable(image, str(reason)) from error

    def image_is_known(self, image: str) -> bool:
        if self._recently_seen(image):
            return True
        with contextlib.suppress(Exception):
            self.client.images.get(image)
            self._images_seen[image] = time.monotonic()
            return True
        return False

    def cached_images(self) -> list[str]:
        names = set()
        for image in self.client.images.list():
            names.update(tag for tag in image.tags if not tag.startswith("<none>"))
        return sorted(names)

    # -- runs ----------------------------------------------------------------------------------------
    def _labels(self, spec: RunSpec) -> dict[str, str]:
        return {f"{LABEL}.home": self.home_id, f"{LABEL}.home-path": str(self.home.path),
                f"{LABEL}.group": spec.group_uid, f"{LABEL}.group-name": spec.group_name,
                f"{LABEL}.container": spec.container, f"{LABEL}.run": spec.run_uid}

    def _network_owner(self, spec: RunSpec) -> str | None:
        with self._lock:
            owner = self._group_owner.get(spec.group_uid)
        if owner is None:
            return None
        with contextlib.suppress(Exception):
            if self.client.api.inspect_container(owner)["State"]["Running"]:
                return owner
        return None

    def start(self, spec: RunSpec) -> RunHandle:
        owner = None if spec.first_in_group else self._network_owner(spec)
        try:
            container = self._create_and_start(spec, owner)
        except CommandNotRunnable as failure:
            if owner is None or "network" not in failure.message:
                raise
            # The namespace's owner ended between our check and the start: a namespace of its own, as after it.
            owner = None
            container = self._create_and_start(spec, None)
        state = self.client.api.inspect_container(container.id)["State"]
        with self._lock:
            self._runs[spec.run_uid] = container.id
            self._log_paths[spec.run_uid] = spec.log_path
            if owner is None:
                self._group_owner[spec.group_uid] = container.id
        if not state.get("Running"):  # it may have ended before the event stream could tell us
            self._exits.put(spec.run_uid)
        return RunHandle(spec.run_uid, int(state.get("Pid") or 0), None, _parse_time(state.get("StartedAt")))

    def _create_and_start(self, spec: RunSpec, owner: str | None) -> Any:
        options = _container_options(spec, owner, self._docker.types, self._labels(spec))
        errors = self._docker.errors
        try:
            container = self.client.containers.create(spec.image, **options)
        except errors.APIError as error:
            raise CommandNotRunnable(126, str(error.explanation or error)) from error
        try:
            container.start()
        except errors.APIError as error:
            message = str(error.explanation or error)
            with contextlib.suppress(Exception):
                container.remove(force=True)
            code = 127 if ("not found" in message or "no such file" in message) else 126
            raise CommandNotRunnable(code, message) from error
        return container

    def _container_id(self, run_uid: str) -> str | None:
        with self._lock:
            return self._runs.get(run_uid)

    def kill(self, run_uids: Iterable[str], grace: float | None = None) -> dict[str, int]:
        grace = self.kill_grace_seconds if grace is None else grace
        uids = [uid for uid in run_uids if self._container_id(uid)]
        with self._lock:
            self._killed.update(uids)

        def stop(uid: str) -> tuple[str, int]:
            cid = self._container_id(uid)
            try:
                self.client.api.stop(cid, timeout=max(0, round(grace)))
                code = int(self.client.api.wait(cid, timeout=30).get("StatusCode", 137))
            except Exception:  # noqa: BLE001 - the engine's client raises many kinds
                code = 137
            return uid, code

        if not uids:
            return {}
        with ThreadPoolExecutor(max_workers=min(8, len(uids))) as pool:
            return dict(pool.map(stop, uids))

    def discard(self, run_uid: str) -> None:
        """Remove an ended run's container (its logs are copied to its log file first)."""
        with self._lock:
            cid = self._runs.pop(run_uid, None)
            log_path = self._log_paths.pop(run_uid, None)
            self._killed.discard(run_uid)
            self._exited.pop(run_uid, None)
        if cid is not None:
            self._remove(cid, log_path)

    def _remove(self, cid: str, log_path: Path | None) -> None:
        if log_path is not None:
            with contextlib.suppress(Exception):
                data = self.client.api.logs(cid, timestamps=True)
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log_path.write_bytes(_docker_log_lines(data))
        with contextlib.suppress(Exception):
            self.client.api.remove_container(cid, force=True)

    def is_running(self, run_uid: str) -> bool:
        return run_uid in self.running_uids()

    def running_uids(self) -> set[str]:
        with self._lock:
            return {uid for uid in self._runs if uid not in self._killed and uid not in self._exited}

    def logs(self, run_uid: str, log_path: Path, *, running: bool, tail: int | None, timestamps: bool) -> str:
        cid = self._container_id(run_uid)
        data = None
        if cid is not None:
            with contextlib.suppress(Exception):
                data = _docker_log_lines(self.client.api.logs(cid, timestamps=True))
        if data is None:
            try:
                data = log_path.read_bytes()
            except OSError:
                return ""
        return render_log(data, running=running, tail=tail, timestamps=timestamps)

    def stats(self, run_uid: str) -> ContainerStats:
        cid = self._container_id(run_uid)
        if cid is None:
            raise LookupError(f"run {run_uid} has no container")
        return self._probe.stats(cid)

    def stats_many(self, run_uids: Iterable[str]) -> dict[str, ContainerStats]:
        """``stats`` of each run that still has a container (one that went away meanwhile is left out)."""
        result: dict[str, ContainerStats] = {}
        for run_uid in run_uids:
            # gone meanwhile (NotFound), or the daemon's client raised: no reading this round
            with contextlib.suppress(Exception):
                result[run_uid] = self.stats(run_uid)
        return result

    def exec(self, run_uid: str, argv: list[str], *, tty: bool, cols: int, rows: int) -> ExecSession:
        cid = self._container_id(run_uid)
        if cid is None or not self.is_running(run_uid):
            raise LookupError(f"run {run_uid} is not running")
        return DockerExecSession(self.client.api, cid, argv, tty=tty, cols=cols, rows=rows,
                                 shell=tty and self._probe.has_shell(cid))

    def remove_group(self, group_uid: str) -> None:
        containers = self.client.api.containers(all=True, filters={
            "label": [f"{LABEL}.home={self.home_id}", f"{LABEL}.group={group_uid}"]})
        with self._lock:
            self._group_owner.pop(group_uid, None)
            for uid, cid in list(self._runs.items()):
                if any(c["Id"] == cid for c in containers):
                    self._runs.pop(uid, None)
                    self._log_paths.pop(uid, None)
        for container in containers:
            with contextlib.suppress(Exception):
                self.client.api.remove_container(container["Id"], force=True)

    def recover(self, leftovers: list[LeftoverRun], known_groups: set[str]) -> Recovered:
        """Adopt this home's running containers whose run is still live; record the exit of those that ended;
        remove containers of runs or groups no longer known. Other homes' containers are never listed."""
        return _recover(self, leftovers, known_groups)

    def machine(self) -> tuple[float, float]:
        info = self.client.info()
        return float(info.get("NCPU") or 1), float(info.get("MemTotal") or 0) / 1024 ** 3

    def shutdown(self, kill_processes: bool = True) -> None:
        if kill_processes:
            with self._lock:
                uids = list(self._runs)
            self.kill(uids)
            for uid in uids:
                self.discard(uid)
        self.abandon()

    def abandon(self) -> None:
        self._stopping = True
        with contextlib.suppress(Exception):
            self._events.close()
        self._exits.put(None)

    # -- exits ---------------------------------------------------------------------------------------
    def _event_loop(self) -> None:
        """``die`` events of this home's containers. The stream ends when the client's read timeout passes
        with no event (or the daemon restarts): it is opened again, and every watched run is checked, so that
        an exit in between is not missed."""
        while not self._stopping:
            try:
                for event in self._events:
                    if self._stopping:
                        return
                    uid = (event.get("Actor", {}).get("Attributes") or {}).get(f"{LABEL}.run")
                    if uid:
                        self._exits.put(uid)
            except Exception:
                logger.debug("docker event stream ended", exc_info=True)
            if self._stopping:
                return
            try:
                self._events = self._open_events()
            except Exception:  # noqa: BLE001 - the daemon is away: try again shortly
                time.sleep(1.0)
                continue
            for uid in self.running_uids():
                self._exits.put(uid)

    def _open_events(self) -> Any:
        return self.client.events(decode=True, filters={
            "type": "container", "event": "die", "label": f"{LABEL}.home={self.home_id}"})

    def _notify_loop(self) -> None:
        while True:
            uid = self._exits.get()
            if uid is None:
                return
            cid = self._container_id(uid)
            with self._lock:
                if cid is None or uid in self._killed or uid in self._exited:
                    continue
            try:
                state = self.client.api.inspect_container(cid)["State"]
            except Exception:  # noqa: BLE001, S112 - a container gone meanwhile
                continue
            if state.get("Running"):
                continue
            code = int(state.get("ExitCode", 0))
            oom = code == 137 and bool(state.get("OOMKilled"))
            with self._lock:
                self._exited[uid] = code
            try:
                self._on_exit(uid, code, _parse_time(state.get("FinishedAt")), oom)
            except Exception:
                logger.debug("exit callback failed for %s", uid, exc_info=True)


def _recover(self: DockerEngine, leftovers: list[LeftoverRun], known_groups: set[str]) -> Recovered:
    """Adopt this home's running containers whose run is still live; record the exit of those that ended;
    remove containers of runs or groups no longer known. Other homes' containers are never listed."""
    live = {row.run_uid: row for row in leftovers}
    result = Recovered()
    found = self.client.api.containers(all=True, filters={"label": f"{LABEL}.home={self.home_id}"})
    for container in found:
        labels = container.get("Labels") or {}
        uid, group = labels.get(f"{LABEL}.run", ""), labels.get(f"{LABEL}.group", "")
        cid = container["Id"]
        if uid in live and group in known_groups:
            state = self.client.api.inspect_container(cid)["State"]
            with self._lock:
                self._runs[uid] = cid
                self._log_paths[uid] = self.home.logs_dir / f"{uid}.log"
                if self.client.api.inspect_container(cid)["HostConfig"].get("NetworkMode", "").find(
                        "container:") != 0:
                    self._group_owner[group] = cid
            if state.get("Running"):
                result.adopted.add(uid)
            else:
                result.ended[uid] = int(state.get("ExitCode", 137))
        elif uid not in live:
            with contextlib.suppress(Exception):
                self.client.api.remove_container(cid, force=True)
        else:  # a live run of a group that is gone
            with contextlib.suppress(Exception):
                self.client.api.remove_container(cid, force=True)
    for uid in live:
        if uid not in result.adopted and uid not in result.ended:
            result.ended[uid] = 137
    return result


def _container_options(spec: RunSpec, owner: str | None, types: Any, labels: dict[str, str]) -> dict[str, Any]:
    """docker-py ``containers.create`` options for one run."""
    options: dict[str, Any] = {
        "name": f"aci-{spec.group_name}-{spec.container}-{spec.run_uid[:8]}"[:120],
        "labels": labels, "environment": dict(spec.env), "detach": True,
        "mem_limit": spec.memory_bytes, "memswap_limit": spec.memory_bytes,
        "nano_cpus": max(10_000_000, int(spec.cpu * 1e9)),
        "mounts": [types.Mount(mount.target, str(mount.source), type="bind", read_only=mount.read_only)
                   for mount in spec.mounts],
    }
    if spec.command:  # ACI: the command replaces the image's entrypoint and command
        options["entrypoint"] = list(spec.command)
    if owner is not None:
        options["network_mode"] = f"container:{owner}"
    else:
        options["hostname"] = spec.group_name[:63]
        if spec.first_in_group:  # the group's ports are published once, on the namespace's first owner
            options["ports"] = {f"{port}/tcp": ("127.0.0.1", host) for port, host in spec.host_ports.items()}
    return options


def _docker_log_lines(data: bytes) -> bytes:
    """Docker's ``<RFC 3339 nano> <line>`` lines with the stamp cut to microseconds, as the log files hold them."""
    out = []
    for line in data.splitlines():
        stamp, _, content = line.partition(b" ")
        if b"." in stamp:
            main, _, fraction = stamp.rstrip(b"Z").partition(b".")
            stamp = main + b"." + (fraction + b"000000")[:6] + b"Z"
        out.append(stamp + b" " + content.rstrip(b"\r") + b"\n")
    return b"".join(out)


def _split_tag(image: str) -> tuple[str, str]:
    name = image.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest"


def _auth_for(image: str, credentials: list[dict[str, Any]]) -> dict[str, str] | None:
    first = image.split("/", 1)[0]
    registry = first if ("." in first or ":" in first or first == "localhost") and "/" in image else "docker.io"
    for entry in credentials or []:
        server = str(entry.get("server") or "").lower().removeprefix("https://").rstrip("/")
        if server in (registry.lower(), "index.docker.io" if registry == "docker.io" else registry.lower()):
            auth = {"username": str(entry.get("username") or ""), "password": str(entry.get("password") or "")}
            return auth
    return None


__all__ = ["DockerEngine", "docker_answers"]
