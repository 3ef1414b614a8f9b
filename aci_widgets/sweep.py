"""Job sweeps: one task group per row of a parameter DataFrame, launched with bounded concurrency.

Every group of a sweep carries the tags ``aci-sweep=<sweep name>`` and ``aci-sweep-row=<row index>`` (and the
row's parameters as JSON when they fit ARM's 256-character tag limit), so a sweep can be found again by name
after a kernel restart: ``Sweep.attach(session, "lr-grid")``.

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

if TYPE_CHECKING:
    import pandas as pd

    from .session import Session
    from .spec import GroupSpec

SWEEP_TAG = "aci-sweep"
ROW_TAG = "aci-sweep-row"
PARAMS_TAG = "aci-sweep-params"
MAX_TAG_VALUE = 256
RESULT_COLUMNS = ("task", "state", "exit_code", "start_time", "duration_s", "cost", "output")

SweepProgress = Callable[[int, int, str], None]  # (launched, total, message)


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
        tags = {SWEEP_TAG: name, ROW_TAG: str(index)}
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
    """The last known state of one task, from a GET (finished tasks are not fetched again)."""

    name: str
    row: str
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    error: str = ""
    output: Any = None

    @property
    def state(self) -> str:
        if self.error:
            return "LaunchFailed"
        if self.json is None:
            return "Queued"
        return str(((self.json.get("properties") or {}).get("instanceView") or {}).get("state") or "Pending")

    @property
    def finished(self) -> bool:
        return self.state in (*TERMINAL_GROUP_STATES, "LaunchFailed")

    def container_state(self) -> dict[str, Any]:
        containers = ((self.json or {}).get("properties") or {}).get("containers") or [{}]
        return ((containers[0].get("properties") or {}).get("instanceView") or {}).get("currentState") or {}


class Sweep:
    """A launched (or re-attached) sweep: status, results, logs, cancel and clean-up."""

    def __init__(self, session: Session, name: str, resource_group: str,
                 tasks: list[TaskStatus]) -> None:
        self.session = session
        self.name = name
        self.resource_group = resource_group
        self.tasks = tasks
        self._lock = threading.Lock()

    # -- launching --------------------------------------------------------------------------------------
    @classmethod
    def launch(cls, session: Session, plan: SweepPlan, *, concurrency: int = 8,
               resource_group: str | None = None, progress: SweepProgress | None = None) -> Sweep:
        """Create every task group, at most ``concurrency`` at a time; a failed launch is recorded, not raised."""
        rg = session.calls.resource_group(resource_group)
        if getattr(session, "backend", "") == "local":
            session.ensure_resource_group(rg)
        tasks = [TaskStatus(spec.name, spec.tags.get(ROW_TAG, ""), _row_params(plan, i))
                 for i, spec in enumerate(plan.specs)]
        sweep = cls(session, plan.name, rg, tasks)
        launched = 0
        lock = threading.Lock()

        def launch_one(index: int) -> None:
            nonlocal launched
            spec, task = plan.specs[index], tasks[index]
            try:
                details = session.create_group(spec, resource_group=rg)
                task.json = details.json  # type: ignore[union-attr]
            except AciError as exc:
                task.error = str(exc)
            with lock:
                launched += 1
                if progress is not None:
                    progress(launched, len(tasks), f"{spec.name}: {task.state}")

        with ThreadPoolExecutor(max_workers=min(concurrency, max(1, len(tasks))),
                                thread_name_prefix="aci-sweep") as pool:
            list(pool.map(launch_one, range(len(tasks))))
        return sweep

    @classmethod
    def attach(cls, session: Session, name: str, resource_group: str | None = None) -> Sweep:
        """Find a sweep's groups again by their tags (after a kernel restart, say)."""
        rg = session.calls.resource_group(resource_group)
        groups = [g for g in session.list_group_json(rg) if (g.get("tags") or {}).get(SWEEP_TAG) == name]
        if not groups:
            from .errors import NotFound

            raise NotFound(f"no sweep named '{name}' in resource group '{rg}'")
        tasks = []
        for group in sorted(groups, key=lambda g: str(g.get("name"))):
            tags = group.get("tags") or {}
            try:
                params = json.loads(tags.get(PARAMS_TAG, "{}"))
            except ValueError:
                params = {}
            tasks.append(TaskStatus(str(group.get("name")), str(tags.get(ROW_TAG, "")), params))
        sweep = cls(session, name, rg, tasks)
        sweep.refresh()
        return sweep

    # -- watching --------------------------------------------------------------------------------------
    def refresh(self) -> list[TaskStatus]:
        """One GET for each unfinished task (bounded parallel); finished tasks keep their last answer."""
        pending = [t for t in self.tasks if not t.finished]

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

    @property
    def finished(self) -> bool:
        return all(task.finished for task in self.tasks)

    def wait(self, *, timeout: float | None = None, interval: float | None = None) -> Sweep:
        started = time.monotonic()
        pause = interval if interval is not None else max(0.1, self.session.tuning.poll_interval)
        while not self.finished:
            if timeout is not None and time.monotonic() - started > timeout:
                break
            time.sleep(pause)
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
            if task.output is None and task.finished and task.json is not None:
                task.output = parse_output(self.session.logs(task.name, resource_group=self.resource_group))
        status = self.status()
        status["output"] = [task.output for task in self.tasks]
        params = pd.DataFrame([task.params for task in self.tasks])
        return pd.concat([params.reset_index(drop=True), status[list(RESULT_COLUMNS)]], axis=1)

    def logs(self, task: str | int) -> str:
        name = self.tasks[task].name if isinstance(task, int) else task
        return self.session.logs(name, resource_group=self.resource_group)

    # -- ending ----------------------------------------------------------------------------------------
    def cancel(self) -> list[str]:
        """Stop every task that has not finished; returns their names."""
        stopped = []
        for task in self.tasks:
            if not task.finished and task.json is not None:
                self.session.stop(task.name, resource_group=self.resource_group)
                stopped.append(task.name)
        self.refresh()
        return stopped

    def clean_up(self, *, confirm: bool = False) -> list[str]:
        """Delete every group of the sweep. Pass ``confirm=True``: deleting loses their logs."""
        if not confirm:
            raise InvalidInput({"confirm": f"clean_up() deletes {len(self.tasks)} groups and their logs; "
                                           "call clean_up(confirm=True)"})
        names = [t.name for t in self.tasks if not t.error or t.json is not None]
        return self.session.delete_groups(*names, resource_group=self.resource_group) if names else []

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task.state] = counts.get(task.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        return f"<Sweep {self.name}: {len(self.tasks)} tasks ({summary})>"


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
              progress: SweepProgress | None = None) -> Sweep:
    """Plan (everything checked first), then launch. The returned ``Sweep`` watches and collects."""
    plan = plan_sweep(name, params, image=image, command=command, env=env, secure_env=secure_env, cpu=cpu,
                      memory_gb=memory_gb, concurrency=concurrency, shell=shell)
    return Sweep.launch(session, plan, concurrency=concurrency, resource_group=resource_group, progress=progress)
