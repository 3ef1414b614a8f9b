"""Job sweeps: one task group per row of a parameter DataFrame, run as a queue within Azure's limits.

At most ``max_active`` task groups exist at once (by default what the region's quota headroom allows for the
task's cores, from ``location.list_usage``); the next row launches when one has finished, its log and exit
code were collected and its group deleted (``keep="failed"`` or ``"all"`` keeps groups). Creates are paced
under ACI's create rate and ARM's write budget, and the watch spends reads within ARM's read budget: see
``sweep_queue.py``.

Every group of a sweep carries the tags ``aci-sweep=<sweep name>``, ``aci-sweep-row=<row index>`` and
``aci-sweep-rows=<rows>`` (and the row's parameters as JSON when they fit ARM's 256-character tag limit), and
a local journal (``sweep_journal.py``) keeps the plan and each row's result, so a sweep can be found again by
name after a kernel restart and resumed: ``Sweep.attach(session, "lr-grid")``.

Everything about the input is checked before the first launch: templates that name a missing column, derived
names that are not valid group names, a concurrency below 1, and each row's full group spec.
"""

from __future__ import annotations

import json
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import rules
from .cost import estimate_group_cost, running_seconds
from .errors import AciError, InvalidInput
from .results import TERMINAL_GROUP_STATES
from .sweep_journal import Journal, replay, restore_secure_values, strip_secure_values
from .sweep_queue import KEEP_CHOICES, SweepRunner, default_max_active

if TYPE_CHECKING:
    import pandas as pd

    from .session import Session
    from .spec import GroupSpec

SWEEP_TAG = "aci-sweep"
ROW_TAG = "aci-sweep-row"
PARAMS_TAG = "aci-sweep-params"
ROWS_TAG = "aci-sweep-rows"
MAX_TAG_VALUE = 256
RESULT_COLUMNS = ("task", "state", "exit_code", "start_time", "duration_s", "cost", "output")

SweepProgress = Callable[[int, int, str], None]  # (launched, total, message)
# Sweeps whose queue runs in this process, so that attaching to one again finds it instead of a second runner.
_RUNNING: dict[tuple[str, str, str], Sweep] = {}


def _key(session: Session, resource_group: str, name: str) -> tuple[str, str, str]:
    return (str(session.subscription_id).lower(), resource_group.lower(), name.lower())


def template_fields(template: str) -> list[str]:
    """The ``{column}`` names a ``str.format`` template uses (``{{`` escapes are not fields)."""
    names: list[str] = []
    for _text, name, _spec, _conv in string.Formatter().parse(template):
        if name is not None:
            if not name or name.isdigit():
                raise InvalidInput({"template": f"{template!r} uses a positional field; name a column: {{lr}}"})
            names.append(name.split(".")[0].split("[")[0])
    return names


def _render(template: str, row: Mapping[str, Any], what: str) -> str:
    try:
        return template.format_map(dict(row))
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise InvalidInput({what: f"cannot fill {template!r}: {exc}"}) from None


def task_names(sweep: str, count: int) -> list[str]:
    width = max(3, len(str(max(count - 1, 0))))
    return [f"{sweep}-{i:0{width}d}" for i in range(count)]


@dataclass
class SweepPlan:
    """What a sweep will launch: one spec per row, checked as a whole before anything starts."""

    name: str
    params: pd.DataFrame
    specs: list[GroupSpec]

    @property
    def task_names(self) -> list[str]:
        return [spec.name for spec in self.specs]


def plan_sweep(
    name: str,
    params: pd.DataFrame,
    *,
    image: str,
    command: str | Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    secure_env: Mapping[str, str] | None = None,
    cpu: float = 1.0,
    memory_gb: float = 1.5,
    concurrency: int = 8,
    shell: bool = False,
) -> SweepPlan:
    """Build and check every task's spec; raises ``InvalidInput`` naming the first kind of problem found.

    ``command`` is a template (``"python train.py --lr {lr}"``, split like ``--command-line``, or with
    ``shell=True`` run through ``/bin/sh -c``); ``env`` values are templates too. Columns are named in braces.
    """
    from .spec import GroupSpec, command_from_line, shell_command

    problems: dict[str, str] = {}
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        problems["concurrency"] = f"{concurrency!r} must be a whole number of 1 or more"
    bad_name = rules.check_group_name(f"{name}-000")
    if bad_name:
        problems["name"] = f"sweep name {name!r} gives task names like '{name}-000', which {bad_name}"
    if params is None or len(params) == 0:
        problems["params"] = "the parameter DataFrame has no rows"
    columns = set(map(str, getattr(params, "columns", [])))
    templates: dict[str, str] = {}
    if isinstance(command, str):
        templates["command"] = command
    elif command is not None:
        templates.update({f"command[{i}]": part for i, part in enumerate(command)})
    templates.update({f"env.{key}": value for key, value in (env or {}).items()})
    for where, template in templates.items():
        try:
            missing = [f for f in template_fields(str(template)) if f not in columns]
        except InvalidInput as exc:
            problems[where] = next(iter(exc.problems.values()))
            continue
        if missing:
            hint = f"; the columns are {', '.join(sorted(columns))}" if columns else ""
            problems[where] = f"names the missing column {', '.join(repr(m) for m in missing)}{hint}"
    if problems:
        raise InvalidInput(problems)

    specs: list[GroupSpec] = []
    names = task_names(name, len(params))
    for task, (index, row) in zip(names, params.iterrows()):
        values = {str(k): v for k, v in row.items()}
        if isinstance(command, str):
            text = _render(command, values, "command")
            argv = shell_command(text) if shell else command_from_line(text)
        elif command is not None:
            argv = [_render(part, values, "command") for part in command]
        else:
            argv = None
        variables = {key: _render(str(value), values, f"env.{key}") for key, value in (env or {}).items()}
        tags = {SWEEP_TAG: name, ROW_TAG: str(index), ROWS_TAG: str(len(params))}
        params_json = json.dumps(values, default=str, separators=(",", ":"))
        if len(params_json) <= MAX_TAG_VALUE:
            tags[PARAMS_TAG] = params_json
        spec = GroupSpec.single(task, image, cpu=cpu, memory_gb=memory_gb, command=argv, env=variables,
                                secure_env=dict(secure_env or {}), restart_policy="Never", tags=tags)
        row_problems = spec.problems()
        if row_problems:
            raise InvalidInput({f"row {index}: {field}": message for field, message in row_problems.items()})
        specs.append(spec)
    return SweepPlan(name, params, specs)


@dataclass
class TaskStatus:
    """The last known state of one task, from a GET (finished tasks are not fetched again).

    ``launched`` (its create was sent), ``created`` (its group exists or existed), ``collected`` (log and
    exit code kept in ``log`` / ``output`` and the journal), ``deleted`` (its group is gone).
    """

    name: str
    row: str
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    error: str = ""
    output: Any = None
    log: str = ""
    launched: bool = False
    created: bool = False
    collected: bool = False
    deleted: bool = False
    cancelled: bool = False
    created_at: float = 0.0
    last_get: float = 0.0

    @property
    def state(self) -> str:
        if self.cancelled and not self.created:
            return "Cancelled"
        if self.error:
            return "Lost" if self.created else "LaunchFailed"
        if self.json is None:
            return "Queued"
        return str(((self.json.get("properties") or {}).get("instanceView") or {}).get("state") or "Pending")

    @property
    def finished(self) -> bool:
        return self.state in (*TERMINAL_GROUP_STATES, "LaunchFailed", "Lost", "Cancelled")

    @property
    def succeeded(self) -> bool:
        return self.state == "Succeeded" and self.container_state().get("exitCode") in (0, None)

    def container_state(self) -> dict[str, Any]:
        containers = ((self.json or {}).get("properties") or {}).get("containers") or [{}]
        return ((containers[0].get("properties") or {}).get("instanceView") or {}).get("currentState") or {}


class Sweep:
    """A launched (or re-attached) sweep: status, results, logs, cancel and clean-up.

    ``runner`` (``sweep_queue.SweepRunner``) works the queue in a background thread while rows are left;
    ``journal`` is the sweep's local journal.
    """

    def __init__(self, session: Session, name: str, resource_group: str,
                 tasks: list[TaskStatus]) -> None:
        self.session = session
        self.name = name
        self.resource_group = resource_group
        self.tasks = tasks
        self._lock = threading.Lock()
        self.runner: SweepRunner | None = None
        self.journal: Journal | None = None
        self.started = time.monotonic()

    # -- launching --------------------------------------------------------------------------------------
    @classmethod
    def launch(cls, session: Session, plan: SweepPlan, *, concurrency: int = 8,
               resource_group: str | None = None, progress: SweepProgress | None = None,
               max_active: int | None = None, keep: str = "none") -> Sweep:
        """Start the queue: the first ``max_active`` rows are launched (at most ``concurrency`` creates at a
        time) before this returns, the rest as tasks finish, in a background thread. A failed launch is
        recorded, not raised. ``keep``: "none" (delete each group once its log is collected), "failed", "all".
        """
        if keep not in KEEP_CHOICES:
            raise InvalidInput({"keep": f"{keep!r} must be one of {', '.join(KEEP_CHOICES)}"})
        if max_active is not None and (isinstance(max_active, bool) or not isinstance(max_active, int)
                                       or max_active < 1):
            raise InvalidInput({"max_active": f"{max_active!r} must be a whole number of 1 or more"})
        rg = session.calls.resource_group(resource_group)
        if getattr(session, "backend", "") == "local":
            session.ensure_resource_group(rg)
        tasks = [TaskStatus(spec.name, spec.tags.get(ROW_TAG, ""), _row_params(plan, i))
                 for i, spec in enumerate(plan.specs)]
        sweep = cls(session, plan.name, rg, tasks)
        location = session.location or "eastus"
        bodies = [spec.to_arm(location_default=location) for spec in plan.specs]
        cpu = sum(float(c.cpu) for c in plan.specs[0].containers) if plan.specs else 1.0
        if max_active is None:
            max_active = default_max_active(session, cpu, len(tasks), location)
        stored = [strip_secure_values(body) for body in bodies]
        journal = Journal.for_sweep(session.subscription_id, rg, plan.name)
        journal.start({"name": plan.name, "rg": rg, "keep": keep, "max_active": max_active,
                       "tasks": [{"name": t.name, "row": t.row, "params": t.params} for t in tasks],
                       "bodies": [body for body, _names in stored],
                       "secure": sorted({name for _body, names in stored for name in names})})
        sweep.journal = journal
        sweep.runner = SweepRunner(session, plan.name, rg, tasks, bodies, journal=journal, max_active=max_active,
                                   keep=keep, concurrency=concurrency, parse_output=parse_output,
                                   sweep_tag=SWEEP_TAG, progress=progress)
        sweep.runner.launch_round()
        sweep.runner.start()
        _RUNNING[_key(session, rg, plan.name)] = sweep
        return sweep

    @classmethod
    def attach(cls, session: Session, name: str, resource_group: str | None = None, *, resume: bool = True,
               secure_env: Mapping[str, str] | None = None, progress: SweepProgress | None = None,
               concurrency: int = 8) -> Sweep:
        """Find a sweep again (after a kernel restart, say): what ran (the journal's results), what runs (the
        groups tagged with its name) and what is left (the journal's plan). With ``resume`` (the default) and
        rows left, the queue goes on where it stopped; no row that was created is created again.
        ``secure_env`` gives the secure values again (the journal never holds them)."""
        rg = session.calls.resource_group(resource_group)
        running = _RUNNING.get(_key(session, rg, name))
        if running is not None and running.runner is not None and running.runner.running:
            return running  # its queue runs in this process already
        journal = Journal.for_sweep(session.subscription_id, rg, name)
        plan = journal.plan()
        listing = {str(g.get("name", "")).lower(): g for g in session.list_group_json(rg)
                   if (g.get("tags") or {}).get(SWEEP_TAG) == name}
        if plan is None and not listing:
            from .errors import NotFound

            raise NotFound(f"no sweep named '{name}' in resource group '{rg}'")
        if plan is not None:
            tasks = [TaskStatus(str(t["name"]), str(t.get("row", "")), dict(t.get("params") or {}))
                     for t in plan.get("tasks") or []]
        else:
            tasks = [_task_from_tags(group) for group in sorted(listing.values(), key=lambda g: str(g.get("name")))]
        sweep = cls(session, name, rg, tasks)
        sweep.journal = journal
        bodies = list(plan.get("bodies") or []) if plan is not None else []
        runner = SweepRunner(session, name, rg, tasks, bodies, journal=journal,
                             max_active=int((plan or {}).get("max_active") or max(1, len(listing))),
                             keep=str((plan or {}).get("keep") or "none"), concurrency=concurrency,
                             parse_output=parse_output, sweep_tag=SWEEP_TAG, progress=progress)
        replay(journal, tasks, listing, runner.pacer)
        runner.queue.clear()
        runner.queue.extend(i for i, t in enumerate(tasks) if not t.launched and not t.error and not t.collected)
        if plan is None:
            runner.queue.clear()  # no plan to launch from: watch and collect what exists
        missing = sorted(set((plan or {}).get("secure") or []) - set(secure_env or {}))
        if runner.queue and missing:
            if resume:
                raise InvalidInput({"secure_env": f"the rows left use the secure variables {', '.join(missing)}; "
                                                  "the journal never keeps their values: pass secure_env="})
        else:
            runner.bodies = [restore_secure_values(body, dict(secure_env or {})) for body in bodies]
        sweep.runner = runner
        if resume and not runner.complete:
            runner.start()
            _RUNNING[_key(session, rg, name)] = sweep
        else:
            sweep.refresh()
        return sweep

    def detach(self) -> None:
        """Stop this process's work on the sweep (groups and journal stay; ``attach`` resumes)."""
        if self.runner is not None:
            self.runner.stop()
            self.runner.join(10)

    # -- watching --------------------------------------------------------------------------------------
    def refresh(self) -> list[TaskStatus]:
        """While the queue runs, its runner keeps the tasks current and this only returns them. Otherwise one
        GET for each created, unfinished task (bounded parallel); finished tasks keep their last answer."""
        if self.runner is not None and self.runner.running:
            return self.tasks
        pending = [t for t in self.tasks if not t.finished and t.created and not t.deleted]

        def fetch(task: TaskStatus) -> None:
            try:
                task.json = self.session.get_group_json(task.name, self.resource_group)
            except AciError as exc:
                task.error = str(exc)

        if pending:
            workers = min(len(pending), self.session.tuning.max_parallel_gets)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aci-sweep-poll") as pool:
                list(pool.map(fetch, pending))
        return self.tasks

    def counts(self) -> dict[str, Any]:
        """queued / running / done / failed, the throughput (rows done per minute) and the ETA in seconds."""
        queued = sum(1 for t in self.tasks if not t.launched and not t.finished)
        done = sum(1 for t in self.tasks if t.finished and t.succeeded)
        failed = sum(1 for t in self.tasks if t.finished and not t.succeeded)
        running = len(self.tasks) - queued - done - failed
        elapsed = max(1e-6, time.monotonic() - self.started)
        per_minute = 60.0 * (done + failed) / elapsed
        left = queued + running
        eta = (left / (per_minute / 60.0)) if per_minute > 0 and left else (0.0 if not left else None)
        notice = self.runner.notice if self.runner is not None and self.runner.running else ""
        return {"queued": queued, "running": running, "done": done, "failed": failed,
                "per_minute": per_minute, "eta_s": eta, "notice": notice}

    @property
    def finished(self) -> bool:
        if self.runner is not None and self.runner.running:
            return self.runner.complete
        return all(task.finished for task in self.tasks)

    def wait(self, *, timeout: float | None = None, interval: float | None = None) -> Sweep:
        """Until every row has finished (and, while the queue runs, been collected), or ``timeout``."""
        if self.runner is not None and self.runner.running:
            self.runner.join(timeout)
            return self
        started = time.monotonic()
        pause = interval if interval is not None else max(0.1, self.session.tuning.poll_interval)
        while not self.finished:
            if timeout is not None and time.monotonic() - started > timeout:
                break
            time.sleep(pause * self.session.calls.slowdown())
            self.refresh()
        return self

    def status(self) -> pd.DataFrame:
        """One row per task: state, exit code, start, duration and estimated cost (no log requests)."""
        import pandas as pd

        rows = []
        for task in self.tasks:
            current = task.container_state() if task.json else {}
            rows.append({
                "task": task.name,
                "state": task.state,
                "exit_code": current.get("exitCode"),
                "start_time": pd.to_datetime(current.get("startTime"), utc=True),
                "duration_s": running_seconds(task.json) if task.json else 0.0,
                "cost": estimate_group_cost(task.json) if task.json else 0.0,
                "error": task.error,
            })
        frame = pd.DataFrame(rows, columns=["task", "state", "exit_code", "start_time", "duration_s", "cost",
                                            "error"])
        frame["exit_code"] = frame["exit_code"].astype("Int64")
        return frame

    def results(self) -> pd.DataFrame:
        """Each row's parameters joined with exit code, duration, cost and output (the log's last line, as
        JSON when it parses). Fetches the log of each finished task once."""
        import pandas as pd

        for task in self.tasks:
            if task.output is None and task.finished and task.json is not None and not task.deleted:
                task.log = self.session.logs(task.name, resource_group=self.resource_group)
                task.output = parse_output(task.log)
        status = self.status()
        status["output"] = [task.output for task in self.tasks]
        params = pd.DataFrame([task.params for task in self.tasks])
        return pd.concat([params.reset_index(drop=True), status[list(RESULT_COLUMNS)]], axis=1)

    def logs(self, task: str | int) -> str:
        """A task's log: the one collected when its group was deleted, else asked for now."""
        found = self.tasks[task] if isinstance(task, int) else next((t for t in self.tasks if t.name == task), None)
        if found is not None and found.collected:
            return found.log
        name = found.name if found is not None else str(task)
        return self.session.logs(name, resource_group=self.resource_group)

    # -- ending ----------------------------------------------------------------------------------------
    def cancel(self) -> list[str]:
        """Launch nothing more and stop every task that has not finished; returns the names stopped."""
        self.detach()
        for task in self.tasks:
            if not task.launched and not task.finished:
                task.cancelled = True
        if self.journal is not None:
            self.journal.write("cancelled")
        stopped = []
        for task in self.tasks:
            if not task.finished and task.json is not None and not task.deleted:
                self.session.stop(task.name, resource_group=self.resource_group)
                stopped.append(task.name)
        self.refresh()
        return stopped

    def clean_up(self, *, confirm: bool = False) -> list[str]:
        """Delete every group of the sweep. Pass ``confirm=True``: deleting loses their logs."""
        if not confirm:
            raise InvalidInput({"confirm": f"clean_up() deletes {len(self.tasks)} groups and their logs; "
                                           "call clean_up(confirm=True)"})
        self.detach()
        names = [t.name for t in self.tasks if t.created and not t.deleted]
        deleted = self.session.delete_groups(*names, resource_group=self.resource_group) if names else []
        for task in self.tasks:
            if task.name in deleted:
                task.deleted = True
        return deleted

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task.state] = counts.get(task.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        return f"<Sweep {self.name}: {len(self.tasks)} tasks ({summary})>"


def _task_from_tags(group: Mapping[str, Any]) -> TaskStatus:
    tags = group.get("tags") or {}
    try:
        params = json.loads(tags.get(PARAMS_TAG, "{}"))
    except ValueError:
        params = {}
    return TaskStatus(str(group.get("name")), str(tags.get(ROW_TAG, "")), params, launched=True, created=True)


def _row_params(plan: SweepPlan, position: int) -> dict[str, Any]:
    row = plan.params.iloc[position]
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def parse_output(log: str) -> Any:
    """What a task printed as its result.

    The last non-empty line, parsed as JSON when it is JSON; but when the whole log is one JSON value or
    one Python literal (``pprint`` of a list, as the aci-wordcount sample prints over several lines), that
    value.
    """
    import ast

    text = log.strip()
    if not text:
        return ""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    last = text.splitlines()[-1].strip()
    try:
        return json.loads(last)
    except ValueError:
        return last


def run_sweep(session: Session, name: str, params: pd.DataFrame, *, image: str,
              command: str | Sequence[str] | None = None, env: Mapping[str, str] | None = None,
              secure_env: Mapping[str, str] | None = None, cpu: float = 1.0, memory_gb: float = 1.5,
              concurrency: int = 8, shell: bool = False, resource_group: str | None = None,
              progress: SweepProgress | None = None, max_active: int | None = None, keep: str = "none") -> Sweep:
    """Plan (everything checked first), then launch the queue. The returned ``Sweep`` watches and collects."""
    plan = plan_sweep(name, params, image=image, command=command, env=env, secure_env=secure_env, cpu=cpu,
                      memory_gb=memory_gb, concurrency=concurrency, shell=shell)
    return Sweep.launch(session, plan, concurrency=concurrency, resource_group=resource_group, progress=progress,
                        max_active=max_active, keep=keep)
