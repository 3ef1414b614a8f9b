"""Case 4: ``list_groups(live=True)`` on 200 groups with 50 ms injected latency, against sequential gets.

The list API carries no instance view, so the real state needs one GET per group. Baseline: the same
list, then one SDK ``container_groups.get`` per group, one after another (what a loop in a notebook does).
Ours: bounded parallel raw-JSON gets (``Session.live_states``). The latency (control plane
``set_latency(50)``) stands in for a real ARM round trip; it applies to every request, list pages too.
Bar: at least 5x faster.
"""

from __future__ import annotations

from typing import Any

from harness import Context, Row, interleaved, median

NAME = "live"
RG = "bench-live"
LATENCY_MS = 50
BAR = 5.0


def sequential_states(session: Any, rg: str) -> dict[str, str]:
    frame = session.list_groups(rg)
    states = {}
    for name in frame["name"]:
        view = session.ci.container_groups.get(rg, name).instance_view
        states[name] = view.state if view else ""
    return states


def run(ctx: Context) -> list[Row]:
    session = ctx.session
    size = 30 if ctx.quick else 200
    rg = ctx.resource_group(RG)
    ctx.seeder.grow(rg, size)
    ctx.control.set_latency(LATENCY_MS)
    results: dict[str, Any] = {}
    try:
        def ours() -> None:
            frame = session.list_groups(rg, live=True)
            results["ours"] = dict(zip(frame["name"], frame["state"]))

        def sequential() -> None:
            results["seq"] = sequential_states(session, rg)

        repeats = 2 if ctx.quick else 3
        samples = interleaved({"sequential": sequential, "ours": ours}, repeats, warmup=0)
        repeats = len(samples["ours"])
    finally:
        ctx.control.set_latency(0)
    if results["ours"] != results["seq"] or len(results["ours"]) != size:
        raise RuntimeError("live case: the parallel and sequential states differ")
    base, value = median(samples["sequential"]), median(samples["ours"])
    ratio = base / value
    return [Row(case=f"4 list --live, {size} groups, {LATENCY_MS} ms latency", measured=value, unit="s",
                baseline=base, ratio=ratio, ratio_text="x faster", bar=">= 5x", passed=ratio >= BAR,
                samples=samples,
                note=f"baseline: list + {size} sequential SDK gets; ours: list + parallel raw gets "
                     f"(max_parallel_gets={session.tuning.max_parallel_gets}); median of {repeats}")]
