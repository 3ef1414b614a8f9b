"""Issue 9's bar: a sweep of 100 tasks with concurrency 16 is at least 8x faster than one after another.

Both sides launch the same plan through ``Sweep.launch`` (create, poll the operation to the end, get the
group): the baseline with ``concurrency=1``, ours with 16. The emulator's injected latency (100 ms on every
ARM request, creates included) stands in for a real ARM round trip; without it the emulator answers in a few
milliseconds and both sides would be bound by this 2-core machine's CPU, not by waiting. Each task is a
group that exits at once, so nothing keeps running. Groups are deleted between runs.
"""

from __future__ import annotations

import time
from typing import Any

from harness import Context, Row, median

NAME = "sweep"
RG = "bench-sweep"
LATENCY_MS = 100
BAR = 8.0


def launch(session: Any, rg: str, size: int, concurrency: int, tag: str) -> float:
    import pandas as pd

    from aci_widgets.sweep import Sweep, plan_sweep

    plan = plan_sweep(f"{tag}", pd.DataFrame({"i": range(size)}), image="alpine", command=["true"],
                      concurrency=concurrency)
    started = time.perf_counter()
    sweep = Sweep.launch(session, plan, concurrency=concurrency, resource_group=rg)
    elapsed = time.perf_counter() - started
    sweep.detach()  # the launch is what is measured: the queue's watch must not run on into the next sample
    failed = [t.name for t in sweep.tasks if t.error]
    if failed:
        raise RuntimeError(f"sweep case: {len(failed)} launches failed, e.g. {sweep.tasks[0].error}")
    return elapsed


def clean(ctx: Context, rg: str) -> None:
    ctx.control.set_latency(0)
    names = [str(g["name"]) for g in ctx.session.list_group_json(rg)]
    if names:
        ctx.session.delete_groups(*names, resource_group=rg)


def run(ctx: Context) -> list[Row]:
    size, concurrency = (16, 8) if ctx.quick else (100, 16)
    rg = ctx.resource_group(RG)
    samples: dict[str, list[float]] = {"sequential": [], "ours": []}
    repeats = 1
    try:
        for round_ in range(repeats):
            for label, workers in (("sequential", 1), ("ours", concurrency)):
                clean(ctx, rg)
                ctx.control.set_latency(LATENCY_MS)
                samples[label].append(launch(ctx.session, rg, size, workers, f"bs{round_}{label[0]}"))
    finally:
        clean(ctx, rg)
    base, value = median(samples["sequential"]), median(samples["ours"])
    ratio = base / value
    return [Row(case=f"9 sweep launch, {size} tasks, concurrency {concurrency}, {LATENCY_MS} ms latency",
                measured=value, unit="s", baseline=base, ratio=ratio, ratio_text="x faster",
                bar=f">= {BAR:g}x", passed=ratio >= BAR, samples=samples,
                note=f"baseline: the same plan with concurrency 1 ({size} tasks one after another); "
                     f"{LATENCY_MS} ms on every ARM request; one run each (the baseline alone takes "
                     f"~{size * 0.4:.0f} s)")]
