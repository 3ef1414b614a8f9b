"""Case 6: ``%aci run`` of a task that exits at once, against the emulator's own create + wait.

Ours: ``%aci run alpine --command-line true`` in an IPython shell (this process), output captured: spec
and validation, resource-group check, create, wait for the end, logs, the result display.
Baseline: the least any client can do for the same answer: SDK ``begin_create_or_update(...,
polling_interval=0).result()``, then raw GETs back to back until the group state is terminal, then one
logs request. The ratio shows what our polling cadence and rendering add. Reported, no bar.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from harness import LOCATION, Context, Row, interleaved, median

NAME = "run"
RG = "bench-run"
TERMINAL = {"Succeeded", "Failed", "Stopped"}


def _task_body() -> dict[str, Any]:
    return {"location": LOCATION, "properties": {
        "osType": "Linux", "restartPolicy": "Never",
        "containers": [{"name": "task", "properties": {
            "image": "alpine", "command": ["true"],
            "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}}}}]}}


def bare_run(session: Any, rg: str, name: str) -> None:
    session.ci.container_groups.begin_create_or_update(rg, name, _task_body(), polling_interval=0).result()
    deadline = time.monotonic() + 30
    while True:
        group = session.get_group_json(name, rg)
        if (group["properties"].get("instanceView") or {}).get("state") in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not end within 30 s")
    session.logs(name, "task", resource_group=rg)


def run(ctx: Context) -> list[Row]:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    import aci_widgets
    from aci_widgets.session import set_default_session

    rg = ctx.resource_group(RG)
    shell = InteractiveShell.instance()
    shell.run_line_magic("colors", "nocolor")  # plain tracebacks in our crash reports
    shell.run_line_magic("load_ext", "aci_widgets")
    # The magic uses the default session: one on this emulator, as `%aci use local` would make.
    aci_widgets.connect(auth_file=ctx.emulator.auth_file(), resource_group=rg, location=LOCATION, quiet=True)
    counter = itertools.count()
    outputs: list[str] = []

    def magic() -> None:
        # run_cell, not run_line_magic: a notebook cell also displays the result (the displayhook).
        with capture_output() as captured:
            result = shell.run_cell(f"%aci run alpine --command-line true -g {rg} --name magic{next(counter):03d}",
                                    store_history=False)
        if not result.success:
            raise RuntimeError(f"%aci run failed: {result.error_in_exec or result.error_before_exec}: "
                               f"{captured.stdout[-500:]}")
        outputs.append(captured.stdout)

    def bare() -> None:
        bare_run(ctx.session, rg, f"bare{next(counter):03d}")

    repeats = 3 if ctx.quick else 9
    requests: dict[str, int] = {}
    try:
        samples = interleaved({"bare": bare, "magic": magic}, repeats)
        # One more of each, untimed, to count the requests it makes (the polling cadences differ).
        for key, call in (("bare", bare), ("magic", magic)):
            ctx.control.clear_requests()
            call()
            requests[key] = len(ctx.control.requests())
    finally:
        set_default_session(ctx.session)
    if not outputs or not outputs[-1].strip():
        raise RuntimeError("%aci run showed nothing")
    base, value = median(samples["bare"]), median(samples["magic"])
    return [Row(case="6 %aci run (task exits at once)", measured=value, unit="s", baseline=base,
                ratio=value / base, ratio_text="x of baseline", bar="- (reported)", samples=samples,
                note=f"baseline: SDK create (polling 0) + GETs until terminal + logs; median of {repeats}; "
                     f"overhead {(value - base) * 1000:.0f} ms; requests per run: baseline {requests['bare']}, "
                     f"%aci run {requests['magic']}")]
