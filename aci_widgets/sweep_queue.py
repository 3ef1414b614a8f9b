"""A sweep as a queue: at most ``max_active`` task groups exist at once, within ACI's and ARM's limits.

Each round of ``SweepRunner``:

1. **launch** as many queued rows as there are free slots (``max_active`` minus the sweep's groups that
   exist) and as ACI's create rate allows (``CreatePacer``: 100 per 5 minutes and 300 per hour, on the
   endpoint's clock). Creates are raw PUTs (no long-running-operation polling: the watch below sees them
   through). A ``ContainerGroupQuotaReached`` puts the row back at the head of the queue and lowers the
   slots to what exists;
2. **watch** with one list call plus GETs of only the tasks whose state can have changed: created, not yet
   seen ending, running for at least 90 % of the shortest run seen so far and not looked at in the last
   tenth of it, longest-unseen first, and no more than the read budget affords (``ArmBudget.affordable_reads``);
3. **collect** each ended task: its log (one GET) and exit code go to the journal, then its group is deleted
   (paced by the delete rate) unless ``keep`` says to keep it ("failed": those that did not exit 0; "all").

The pause between rounds grows with the reads a round spent against the refill rate and as the reads left
fall (``ArmBudget.slowdown``). Everything is written to the sweep's journal (``sweep_journal.py``) as it
happens, so ``Sweep.attach`` can resume after the process died. This module does not import ``sweep.py``:
it works on the task objects that module hands it.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .errors import AciError
from .sweep_journal import MAX_LOG_CHARS, Journal

KEEP_CHOICES = ("none", "failed", "all")
RATE_WINDOWS = ((100, 300.0), (300, 3600.0))  # ACI: creates (and deletes) per 5 minutes and per hour
QUOTA_CODE = "ContainerGroupQuotaReached"
STALE_SECONDS = 30.0  # a running task is looked at at least this often, whatever the shortest run seen


def default_max_active(session: Any, cpu: float, rows: int, location: str | None = None) -> int:
    """What the subscription's quota headroom allows in the region (``list_usage``), for tasks of ``cpu``."""
    try:
        usages = session.location_usage(location)
    except AciError:
        usages = []
    headroom: list[float] = []
    for usage in usages:
        name = str((usage.get("name") or {}).get("value") or usage.get("id") or "")
        free = float(usage.get("limit") or 0) - float(usage.get("currentValue") or 0)
        if name == "ContainerGroups":
            headroom.append(free)
        elif name == "StandardCores" and cpu > 0:
            headroom.append(math.floor(free / cpu + 1e-9))
    limit = min(headroom) if headroom else 100
    return int(max(1, min(rows, limit)))


class CreatePacer:
    """ACI's create and delete rates mirrored on the client, on the endpoint's clock (``budget.time_scale``).

    Only endpoints that report ARM's budget are paced (Azure always does; the emulator with limits off
    does not, and enforces nothing). Times are wall-clock, so a journal's carry over a kernel restart.
    """

    def __init__(self, budget: Any, windows: Sequence[tuple[int, float]] = RATE_WINDOWS, margin: float = 0.002):
        self.budget = budget
        self.windows = tuple(windows)
        self.margin = margin
        self.events: dict[str, list[float]] = {"creates": [], "deletes": []}

    @property
    def active(self) -> bool:
        return any(self.budget.known(kind) for kind in ("reads", "writes", "deletes"))

    def _window(self, seconds: float) -> float:
        return seconds * self.budget.time_scale * (1 + self.margin) + 0.02

    def allowed(self, kind: str, now: float | None = None) -> tuple[int, float]:
        """(how many may go now, seconds until one more may go when none)."""
        if not self.active:
            return 1 << 30, 0.0
        now = time.time() if now is None else now
        times = self.events[kind]
        longest = self._window(max(window for _limit, window in self.windows))
        times[:] = [t for t in times if t > now - longest]
        free, wait = 1 << 30, 0.0
        for limit, seconds in self.windows:
            window = self._window(seconds)
            recent = [t for t in times if t > now - window]
            free = min(free, limit - len(recent))
            if len(recent) >= limit:
                wait = max(wait, recent[len(recent) - limit] + window - now)
        return max(0, free), (wait if free <= 0 else 0.0)

    def record(self, kind: str, when: float | None = None) -> None:
        self.events[kind].append(time.time() if when is None else when)


class SweepRunner:
    """Runs a sweep's queue in a background thread (or step by step: ``step()``)."""

    def __init__(self, session: Any, name: str, resource_group: str, tasks: list[Any], bodies: list[dict],
                 *, journal: Journal, max_active: int, keep: str = "none", concurrency: int = 8,
                 parse_output: Callable[[str], Any], sweep_tag: str = "aci-sweep",
                 progress: Callable[[int, int, str], None] | None = None) -> None:
        if keep not in KEEP_CHOICES:
            raise ValueError(f"keep must be one of {', '.join(KEEP_CHOICES)}")
        self.session = session
        self.name = name
        self.resource_group = resource_group
        self.tasks = tasks
        self.bodies = bodies
        self.journal = journal
        self.max_active = max(1, int(max_active))
        self.slots = self.max_active
        self.keep = keep
        self.concurrency = max(1, int(concurrency))
        self.parse_output = parse_output
        self.sweep_tag = sweep_tag
        self.progress = progress
        self.pacer = CreatePacer(session.budget)
        self.queue: collections.deque[int] = collections.deque(
            i for i, task in enumerate(tasks) if not task.launched and not task.error and not task.collected)
        self.started = time.monotonic()
        self.notice = ""
        self.refused = 0
        self.rounds = 0
        self.reads = 0
        self._min_run: float | None = None
        self._last_list = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="aci-sweep")
        return self._executor

    # -- life cycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"aci-sweep {self.name}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop launching and watching (groups are left as they are; ``Sweep.attach`` can resume)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def complete(self) -> bool:
        return not self.queue and all(task.error or (task.collected and (task.deleted or self._keeps(task)))
                                      for task in self.tasks)

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self.complete:
                pause = self.step()
                if self.complete:
                    break
                self._stop.wait(pause)
        except Exception as exc:  # noqa: BLE001 - kept for the monitor; never printed from a thread
            self.notice = f"the sweep's runner stopped: {exc}"
        finally:
            executor, self._executor = self._executor, None
            if executor is not None:
                executor.shutdown(wait=False)

    # -- one round -----------------------------------------------------------------------------------------
    def step(self) -> float:
        self.rounds += 1
        reads_before = self.session.budget.sent["reads"]
        launch_wait = self.launch_round()
        self.watch_round()
        self.collect_round()
        self.reads += self.session.budget.sent["reads"] - reads_before
        return self._pause(self.session.budget.sent["reads"] - reads_before, launch_wait)

    def _pause(self, reads: int, launch_wait: float) -> float:
        budget = self.session.budget
        base = max(0.02, float(self.session.tuning.poll_interval))
        pause = base
        if budget.known("reads"):
            pause = max(base, reads / (0.5 * budget.refill("reads")))
        pause *= budget.slowdown()
        if launch_wait > 0 and self.queue:
            pause = min(pause, max(base, launch_wait)) if launch_wait < pause else pause
        return pause

    def alive(self) -> list[int]:
        return [i for i, task in enumerate(self.tasks) if task.created and not task.deleted]

    def launch_round(self) -> float:
        """Launch what the slots and the create rate allow; the seconds until the rate allows more."""
        free = self.slots - len(self.alive())
        if free <= 0 or not self.queue:
            return 0.0
        allowed, wait = self.pacer.allowed("creates")
        count = min(free, allowed, len(self.queue))
        if count <= 0:
            self.notice = (f"next create in {wait:.1f} s (Azure Container Instances allows 100 per 5 minutes, "
                           "300 per hour)")
            return wait
        batch = [self.queue.popleft() for _ in range(count)]
        for index in batch:
            self.journal.write("launch", i=index, name=self.tasks[index].name)
        outcomes = list(self._pool.map(self._create, batch))
        refused: list[int] = []
        for index, (body, error, code, answered_at) in zip(batch, outcomes):
            task = self.tasks[index]
            if body is not None:
                task.json, task.launched, task.created = body, True, True
                task.created_at = answered_at
                self.journal.write("created", i=index)
            elif code == QUOTA_CODE:
                refused.append(index)
                self.journal.write("refused", i=index, error=error)
            else:
                task.error, task.launched = error, True
                self.journal.write("failed", i=index, error=error)
            if code != QUOTA_CODE:
                self._report(sum(1 for t in self.tasks if t.launched), f"{task.name}: {task.state}")
        if refused:
            self.refused += len(refused)
            self.queue.extendleft(reversed(refused))
            self.slots = max(1, len(self.alive()))
            self.notice = (f"quota reached: {len(refused)} row(s) wait for a running task to end "
                           f"(at most {self.slots} at once now)")
        return 0.0

    def _report(self, launched: int, message: str) -> None:
        try:
            if self.progress is not None:
                self.progress(launched, len(self.tasks), message)
        except Exception:  # noqa: BLE001, S110 - a progress display must not stop the sweep
            pass

    def _create(self, index: int) -> tuple[dict | None, str, str | None, float]:
        task = self.tasks[index]
        calls = self.session.calls
        try:
            with calls.errors(f"create {task.name}"):
                body = calls.send_json("PUT", calls.group_path(self.resource_group, task.name),
                                       body=self.bodies[index])
        except AciError as exc:
            return None, str(exc), getattr(exc, "code", None), time.monotonic()
        self.pacer.record("creates")
        return body or {}, "", None, time.monotonic()

    def watch_round(self) -> None:
        alive = [i for i in self.alive() if not self.tasks[i].finished]
        if not alive:
            return
        now = time.monotonic()
        if (self._min_run is not None and now - self._last_list < 0.1 * self._min_run
                and not any(self._due(self.tasks[i], now) for i in alive)):
            return  # nothing can have ended since the last look: spare the list call
        self._last_list = now
        try:
            listing = {str(g.get("name", "")).lower(): g for g in self.session.list_group_json(self.resource_group)
                       if (g.get("tags") or {}).get(self.sweep_tag) == self.name}
        except AciError as exc:
            self.notice = f"list failed: {exc}"
            return
        now = time.monotonic()
        urgent, candidates = [], []
        for index in alive:
            task = self.tasks[index]
            listed = listing.get(task.name.lower())
            if listed is None:
                task.error = "its group was deleted before its result was collected"
                task.deleted = True
                self.journal.write("failed", i=index, error=task.error)
                continue
            if (listed.get("properties") or {}).get("provisioningState") == "Failed":
                urgent.append(index)
            elif self._due(task, now):
                candidates.append(index)
        candidates.sort(key=lambda i: self.tasks[i].last_get)
        budget = self.session.budget.affordable_reads(max(0.05, float(self.session.tuning.poll_interval)))
        chosen = urgent + candidates
        if budget is not None:
            chosen = chosen[:max(1, budget - 1)]
        chosen = chosen[:max(1, int(self.session.tuning.max_parallel_gets) * 4)]
        for index, body in zip(chosen, self._pool.map(self._get, chosen)):
            task = self.tasks[index]
            task.last_get = time.monotonic()
            if body is not None:
                task.json = body
                if task.finished and task.created_at > 0:  # created by this runner: its run time is known
                    run = time.monotonic() - task.created_at
                    self._min_run = run if self._min_run is None else min(self._min_run, run)

    def _due(self, task: Any, now: float) -> bool:
        """Whether a running task's state can have changed since it was last looked at: never before 90 % of
        the shortest run seen, then at most every tenth of it; and at least every ``STALE_SECONDS``."""
        if now - task.last_get >= STALE_SECONDS or self._min_run is None:
            return True
        return (now - task.created_at >= 0.9 * self._min_run
                and now - task.last_get >= 0.1 * self._min_run)

    def _get(self, index: int) -> dict | None:
        try:
            return self.session.get_group_json(self.tasks[index].name, self.resource_group)
        except AciError:
            return None

    def collect_round(self) -> None:
        ended = [i for i in self.alive() if self.tasks[i].finished and not self.tasks[i].collected]
        for index, log in zip(ended, self._pool.map(self._log, ended)):
            task = self.tasks[index]
            task.log = log
            task.output = self.parse_output(log)
            task.collected = True
            self.journal.write("done", i=index, state=task.state, json=task.json, log=log[-MAX_LOG_CHARS:],
                               output=task.output)
        to_delete = [i for i in self.alive() if self.tasks[i].collected and not self._keeps(self.tasks[i])]
        if not to_delete:
            return
        allowed, wait = self.pacer.allowed("deletes")
        if allowed <= 0:
            self.notice = f"next delete in {wait:.1f} s (Azure Container Instances' delete rate)"
            return
        batch = to_delete[:allowed]
        for index, ok in zip(batch, self._pool.map(self._delete, batch)):
            if ok:
                self.tasks[index].deleted = True
                self.journal.write("deleted", i=index)

    def _keeps(self, task: Any) -> bool:
        if self.keep == "all":
            return True
        return self.keep == "failed" and not task.succeeded

    def _log(self, index: int) -> str:
        try:
            return str(self.session.logs(self.tasks[index].name, resource_group=self.resource_group))
        except AciError as exc:
            return f"(log not available: {exc})"

    def _delete(self, index: int) -> bool:
        calls = self.session.calls
        name = self.tasks[index].name
        try:
            with calls.errors(f"delete {name}"):
                calls.send_json("DELETE", calls.group_path(self.resource_group, name))
        except AciError as exc:
            self.notice = f"delete {name} failed: {exc}"
            return False
        self.pacer.record("deletes")
        return True

