"""What every benchmark case shares: a fresh emulator, a session on it, timing, seeding, result rows.

Speed is always judged as a ratio against a baseline measured side by side in the same run (interleaved
samples, medians), never against a fixed number of milliseconds: this 2-core VM is noisy, and a ratio
survives the noise where an absolute time does not. The few absolute bars (the emulator's own speed) are
the brief's, and are shown next to what was measured.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CI_API_VERSION = "2023-05-01"
PROVIDER = "providers/Microsoft.ContainerInstance/containerGroups"
LOCATION = "eastus"


# -- results -----------------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the table. ``passed`` is None when the row is reported but not judged."""

    case: str
    measured: float | None
    unit: str  # "s", "MB", "req", "x"
    baseline: float | None = None
    ratio: float | None = None
    ratio_text: str = ""  # how to read the ratio: "x faster", "of baseline"...
    bar: str = "-"
    passed: bool | None = None
    note: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "-"}[self.passed]

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "measured": self.measured, "unit": self.unit, "baseline": self.baseline,
                "ratio": self.ratio, "ratio_text": self.ratio_text, "bar": self.bar, "verdict": self.verdict,
                "note": self.note, "samples": self.samples}


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "req":
        return f"{value:g} req"
    return f"{value:.3g} {unit}".strip()


def fmt_ratio(row: Row) -> str:
    if row.ratio is None:
        return "-"
    return f"{row.ratio:.2f}{row.ratio_text}" if row.ratio < 10 else f"{row.ratio:.1f}{row.ratio_text}"


def render_table(rows: Sequence[Row], *, judged: bool) -> str:
    header = ["case", "baseline", "median", "ratio", "bar", "result"]
    lines = [[r.case, fmt_value(r.baseline, r.unit), fmt_value(r.measured, r.unit), fmt_ratio(r), r.bar,
              r.verdict if judged else ("-" if r.passed is None else "(quick)")] for r in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()

    out = [line(header), line(["-" * w for w in widths]), *(line(cells) for cells in lines)]
    notes = [f"  [{r.case}] {r.note}" for r in rows if r.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


# -- timing ------------------------------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def interleaved(candidates: dict[str, Callable[[], Any]], repeats: int, *, warmup: int = 1,
                budget: float | None = None, min_repeats: int = 3) -> dict[str, list[float]]:
    """Time each callable ``repeats`` times, round robin (alternating order), after ``warmup`` untimed runs.

    Interleaving puts the baseline and the candidate under the same background load; alternating the
    order cancels any first-in-round advantage (warm caches, a fresh GC generation). With ``budget``
    (seconds), rounds stop once it is spent and ``min_repeats`` are done, so a slow case cannot blow the
    suite's time limit.
    """
    begun = time.perf_counter()
    for _ in range(warmup):
        for call in candidates.values():
            call()
    samples: dict[str, list[float]] = {key: [] for key in candidates}
    items = list(candidates.items())
    for round_ in range(repeats):
        for key, call in items if round_ % 2 == 0 else reversed(items):
            gc.collect()
            started = time.perf_counter()
            call()
            samples[key].append(time.perf_counter() - started)
        if budget is not None and round_ + 1 >= min_repeats and time.perf_counter() - begun > budget:
            break
    return samples


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


# -- processes ---------------------------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    return text[text.rindex(")") + 2:].split()


def process_start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def descendants(root: int) -> dict[int, int | None]:
    """``{pid: start ticks}`` of every live process below ``root`` (from /proc; Linux only)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: dict[int, int | None] = {}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found[child] = process_start_ticks(child)
                stack.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def rss_mb(pid: int) -> float | None:
    """Resident set size of one process, from /proc/<pid>/status."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat), in seconds."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the emulator under test -------------------------------------------------------------------------
# The engine the emulator under test runs containers with: the process engine (the figures in bench/README.md)
# unless ACI_BENCH_ENGINE=docker (the exec case then uses a Docker test image, scripts/docker/: the Debian one,
# whose /bin/sh is dash as on the host; busybox's ash asks the terminal for the cursor position after each prompt
# and waits for the answer, which adds about 20 ms to every round trip whatever the bridge does).
BENCH_ENGINE = os.environ.get("ACI_BENCH_ENGINE") or "process"
SHELL_IMAGE = "aci-test/python:3" if BENCH_ENGINE == "docker" else "alpine"

class Emulator:
    """A fresh emulator: its own temporary home and a free port, stopped (with its containers) at the end.

    ``ACI_EMULATOR_HOME``/``ACI_EMULATOR_PORT`` are set in this process too, so that ``%aci use local`` in
    the magics case finds this server instead of starting (or reusing) the user's own.
    """

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="aci-bench-")
        self.home_path = Path(self._tmp.name) / "home"
        self.port = free_port()
        self.url = ""
        self.pid = 0
        self.leftovers: list[str] = []
        self._saved_env: dict[str, str | None] = {}

    def start(self) -> Emulator:
        from aci_widgets.emulator.config import EmulatorHome
        from aci_widgets.emulator.launcher import ensure_running

        for key, value in {"ACI_EMULATOR_HOME": str(self.home_path), "ACI_EMULATOR_PORT": str(self.port),
                           "ACI_EMULATOR_PAGE_SIZE": "100", "ACI_EMULATOR_ENGINE": BENCH_ENGINE,
                           "ACI_WIDGETS_SWEEP_DIR": str(self.home_path.parent / "sweeps")}.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self.home = EmulatorHome(self.home_path)
        # Limits off for the cases that seed thousands of groups; the sweep-limits case turns Azure's on.
        self.url, self.pid = ensure_running(self.home, self.port, extra_args=("--limits=off",))
        return self

    def auth_file(self) -> Path:
        from aci_widgets.emulator.auth import write_auth_file

        return write_auth_file(self.home, self.url)

    def control(self) -> Any:
        from aci_widgets.emulator.control import EmulatorControl

        return EmulatorControl(self.home, self.url)

    def rss_mb(self) -> float | None:
        return rss_mb(self.pid)

    def stop(self) -> None:
        """Stop the server and check that no container process outlived it (killing, by pid, any that did)."""
        from aci_widgets.emulator.launcher import stop

        if self.pid:
            before = descendants(self.pid)
            stop(self.home)
            time.sleep(0.2)
            for pid, ticks in before.items():
                fields = _stat_fields(pid)
                # Same pid and start time, and not a zombie waiting for init to reap it: a real survivor.
                if ticks is not None and fields is not None and int(fields[19]) == ticks and fields[0] != "Z":
                    self.leftovers.append(f"{pid} ({_cmdline(pid)})")
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._tmp.cleanup()


@contextlib.contextmanager
def running_emulator() -> Iterator[Emulator]:
    emulator = Emulator()
    try:
        yield emulator.start()
    finally:
        emulator.stop()


# -- the benchmark context ---------------------------------------------------------------------------
@dataclass
class Context:
    """What a case gets: the emulator, a session on it (real SDK clients), its control plane, the mode."""

    quick: bool
    big: bool
    emulator: Emulator
    session: Any
    control: Any
    seeder: Seeder

    def resource_group(self, name: str) -> str:
        self.session.ensure_resource_group(name, LOCATION)
        return name


def make_context(emulator: Emulator, *, quick: bool, big: bool = False) -> Context:
    import aci_widgets

    session = aci_widgets.connect(auth_file=emulator.auth_file(), location=LOCATION, quiet=True)
    session.notify = lambda message: None
    return Context(quick=quick, big=big, emulator=emulator, session=session, control=emulator.control(),
                   seeder=Seeder(session))


# -- seeding -----------------------------------------------------------------------------------------
def task_group_body(index: int) -> dict[str, Any]:
    """A group shaped like the one the brief's "1.2 ms per group" was measured on (reference §7: two
    containers, env vars, ports, a public IP, tags), whose processes exit at once.

    Restart policy ``Never`` and ``["true"]``: thousands of groups must not mean thousands of live
    processes on a 2-core machine.
    """
    env = [{"name": f"VAR_{i}", "value": f"value-{index}-{i}"} for i in range(4)]
    env.append({"name": "TOKEN", "secureValue": "s3cret"})

    def container(name: str, variables: list[dict[str, str]], ports: list[int]) -> dict[str, Any]:
        return {"name": name, "properties": {
            "image": "alpine", "command": ["true"], "environmentVariables": variables,
            "ports": [{"port": port, "protocol": "TCP"} for port in ports],
            "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}}}}

    return {
        "location": LOCATION,
        "tags": {"project": "bench", "batch": str(index // 100), "owner": "data-science"},
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Never",
            "ipAddress": {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}]},
            "containers": [container("job", env, [80]),
                           container("sidecar", [*env[:4], {"name": "TARGET", "value": "http://localhost:80"}], [])],
        },
    }


class Seeder:
    """Creates many groups fast: concurrent raw PUTs, no LRO polling, then waits until they all settle.

    The control plane has no bulk-insert path, so this is the fastest honest way: the emulator does the
    same work per group as for any create (validation, store write, one short process).
    """

    def __init__(self, session: Any, workers: int = 8) -> None:
        self.session = session
        self.workers = workers
        self._counts: dict[str, int] = {}
        self._seeded = 0
        self._seconds = 0.0

    def _path(self, rg: str, name: str) -> str:
        return f"/subscriptions/{self.session.subscription_id}/resourceGroups/{rg}/{PROVIDER}/{name}"

    def _put(self, rg: str, name: str, index: int) -> None:
        from azure.core.rest import HttpRequest

        request = HttpRequest("PUT", self._path(rg, name), params={"api-version": CI_API_VERSION},
                              json=task_group_body(index))
        response = self.session.ci._send_request(request)
        if response.status_code >= 300:
            raise RuntimeError(f"seeding {rg}/{name}: HTTP {response.status_code} {response.text()[:300]}")

    def grow(self, rg: str, total: int, *, prefix: str = "g", settle_timeout: float = 120.0) -> float:
        """Make ``rg`` hold ``total`` seeded groups named ``{prefix}{index:05d}``; returns the seconds it took.

        Counts are kept here rather than listed: the emulator is fresh, and a list of thousands is itself
        one of the things being measured.
        """
        started = time.perf_counter()
        have = self._counts.get(rg, 0)
        names = [f"{prefix}{i:05d}" for i in range(have, total)]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="bench-seed") as pool:
            for future in [pool.submit(self._put, rg, name, i) for i, name in enumerate(names, start=have)]:
                future.result()
        self._counts[rg] = max(have, total)
        if names:
            self._seeded += len(names)
            self._seconds += time.perf_counter() - started
        self.settle(rg, names[-10:], settle_timeout)
        return time.perf_counter() - started

    def seconds_per_group(self) -> float:
        """The seeding rate so far (PUTs only), for projections."""
        return self._seconds / self._seeded if self._seeded else 0.02

    def settle(self, rg: str, names: Sequence[str], timeout: float) -> None:
        """Wait until the last groups created have left provisioning, so later timings see a quiet emulator.

        Only the last few are checked (the PUTs were answered in order, and each costs one cheap GET).
        """
        def settled() -> bool:
            return all(str(self.session.get_group_json(name, rg)["properties"].get("provisioningState"))
                       in ("Succeeded", "Failed") for name in names)

        if not wait_for(settled, timeout, interval=0.2):
            raise RuntimeError(f"groups of {rg} still provisioning after {timeout:g} s")


def dump_json(path: str, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps({"meta": meta, "rows": [row.to_json() for row in rows]}, indent=2) + "\n")
