"""Issue 15's bar: a sweep's makespan under Azure's limits is at most 1.15x its lower bound, never throttled.

N tasks of duration d with c cores, under ACI's default quotas (100 groups and 100 standard cores per region:
``max_active`` = 100 for c = 1) and create rates (100 per 5 minutes, 300 per hour), time-scaled by 0.01 (5
minutes are 3 s, an hour 36 s; ARM's refills 100x as fast). The bound is the makespan of an ideal scheduler
that knows everything: it launches a task the moment both the quota and both create windows allow, creates
take no time and each task takes exactly d (``makespan_bound``, a greedy event simulation, which is optimal
here). Ours is ``run_sweep`` from its call until every row has finished and its log and exit code are
collected (what the user waits for); deleting the last groups after that is reported as the clean-up time.

Also reported: requests the emulator throttled (ARM's 429s) or refused (quota, create/delete rates) during the
sweep, which must be 0, and the reads the sweep spent per task (list pages, GETs, logs). The case runs in its
own region (westus2), so the groups the other cases left in eastus do not use up its quota.
"""

from __future__ import annotations

import math
import time
from typing import Any

from harness import Context, Row

NAME = "sweep_limits"
RG = "bench-sweep-limits"
LOCATION = "westus2"
SCALE = 0.01
DURATION = 2.0  # seconds each task sleeps
BAR = 1.15
WINDOWS = ((100, 300.0), (300, 3600.0))  # ACI's creates per 5 minutes and per hour


def makespan_bound(tasks: int, duration: float, cores: float = 1.0, scale: float = SCALE,
                   groups_quota: int = 100, cores_quota: float = 100.0) -> float:
    """The earliest all ``tasks`` can have finished under the quota and the create windows."""
    max_active = int(min(groups_quota, math.floor(cores_quota / cores)))
    windows = [(limit, seconds * scale) for limit, seconds in WINDOWS]
    now, launched = 0.0, 0
    creates: list[float] = []
    finishes: list[float] = []
    while launched < tasks:
        alive = sum(1 for end in finishes if end > now)
        free = min([max_active - alive] + [limit - sum(1 for t in creates if t > now - window)
                                           for limit, window in windows])
        count = min(free, tasks - launched)
        if count > 0:
            creates += [now] * count
            finishes += [now + duration] * count
            launched += count
            continue
        events = [end for end in finishes if end > now]
        events += [t + window for _limit, window in windows for t in creates if t + window > now]
        now = min(events)
    return max(finishes)


def sweep_once(ctx: Context, tasks: int) -> dict[str, Any]:
    import pandas as pd

    import aci_widgets
    from aci_widgets.sweep import run_sweep

    session = aci_widgets.connect(auth_file=ctx.emulator.auth_file(), location=LOCATION, quiet=True)
    session.notify = lambda message: None
    session.ensure_resource_group(RG, LOCATION)
    ctx.control.set_limits("azure", time_scale=SCALE, clear=True)
    before = ctx.control.limits()
    started = time.perf_counter()
    sweep = run_sweep(session, f"bl{tasks}", pd.DataFrame({"i": range(tasks)}), image="alpine", shell=True,
                      command=f"sleep {DURATION:g}; echo {{i}}", resource_group=RG)
    while not all(task.collected or task.error for task in sweep.tasks) and time.perf_counter() - started < 600:
        time.sleep(0.02)
    makespan = time.perf_counter() - started
    sweep.wait(timeout=600)
    cleanup = time.perf_counter() - started - makespan
    after = ctx.control.limits()
    ctx.control.set_limits("off", time_scale=1.0, clear=True)
    ok = sum(1 for task in sweep.tasks if task.state == "Succeeded" and task.collected)
    left = len(session.list_group_json(RG))
    return {"makespan": makespan, "cleanup": cleanup, "ok": ok, "left": left, "max_active": sweep.runner.max_active,
            "throttled": sum(after["throttled"].values()), "refused": sum(after["refused"].values()),
            "reads": after["answered"].get("reads", 0) - before["answered"].get("reads", 0),
            "peak": max(after["peakGroups"].values() or [0])}


def run(ctx: Context) -> list[Row]:
    sizes = (40,) if ctx.quick else (500, 1000)
    rows = []
    for tasks in sizes:
        result = sweep_once(ctx, tasks)
        bound = makespan_bound(tasks, DURATION)
        ratio = result["makespan"] / bound
        clean = result["throttled"] == 0 and result["refused"] == 0 and result["ok"] == tasks and not result["left"]
        rows.append(Row(
            case=f"15 sweep makespan under Azure's limits, {tasks} tasks of {DURATION:g} s (x{SCALE:g} time)",
            measured=result["makespan"], unit="s", baseline=bound, ratio=ratio, ratio_text="x of the bound",
            bar=f"<= {BAR:g}x, 0 throttled", passed=ratio <= BAR and clean,
            samples={"makespan": [result["makespan"]], "bound": [bound]},
            note=(f"bound: {bound:.1f} s (quota max_active 100, creates 100/5 min and 300/h at x{SCALE:g}, "
                  f"d = {DURATION:g} s); {result['ok']}/{tasks} rows done and collected, {result['left']} groups "
                  f"left {result['cleanup']:.1f} s later; throttled {result['throttled']}, "
                  f"refused {result['refused']}; "
                  f"max_active {result['max_active']}, peak groups {result['peak']}; "
                  f"reads {result['reads']} = {result['reads'] / tasks:.2f} per task")))
        rows.append(Row(case=f"15 sweep reads per task, {tasks} tasks", measured=result["reads"] / tasks,
                        unit="req", note="list pages + GETs + log reads the emulator answered, per task"))
    return rows
