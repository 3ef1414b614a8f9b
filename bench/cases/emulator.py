"""Case 5: the emulator's own speed and size.

- create to Running: ``begin_create_or_update(..., polling_interval=0).result()`` then one GET that shows
  the instance view ``Running`` (a ``sleep`` process); median under 0.5 s.
- list 1,000 groups as raw JSON through the SDK pipeline (``session.list_group_json``: 10 pages of 100);
  median under 1 s.
- memory: RSS of the emulator process (``/proc/<pid>/status``) after start-up and with 500 groups
  (reported, no bar).

It runs on its own resource groups; the 1,000 listed groups are the first 1,000 of the list case's.
"""

from __future__ import annotations

import time
from typing import Any

from harness import LOCATION, Context, Row, interleaved, median

NAME = "emulator"
RG_CREATE = "bench-create"
RG_LIST = "bench-list"  # shared with the list case, which grows it further
CREATE_BAR = 0.5
LIST_BAR = 1.0


def _running_body() -> dict[str, Any]:
    return {
        "location": LOCATION,
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Never",
            "containers": [{"name": "main", "properties": {
                "image": "alpine", "command": ["sleep", "300"],
                "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}}}}],
        },
    }


def create_to_running(ctx: Context, name: str) -> float:
    """Seconds from the PUT to a GET that shows the group Running."""
    ci = ctx.session.ci
    started = time.perf_counter()
    ci.container_groups.begin_create_or_update(RG_CREATE, name, _running_body(), polling_interval=0).result()
    state = ctx.session.get_group_json(name, RG_CREATE)["properties"].get("instanceView", {}).get("state")
    elapsed = time.perf_counter() - started
    if state != "Running":
        raise RuntimeError(f"created {name} but its state is {state!r}, not Running")
    return elapsed


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    ctx.resource_group(RG_CREATE)
    count = 3 if ctx.quick else 15
    create_to_running(ctx, "warmup")  # first create pays imports and the token on both sides
    samples = [create_to_running(ctx, f"run{i:03d}") for i in range(count)]
    ctx.session.delete_groups("warmup", *(f"run{i:03d}" for i in range(count)), resource_group=RG_CREATE)
    value = median(samples)
    rows.append(Row(case="5 emulator: create -> Running", measured=value, unit="s", bar="< 0.5 s",
                    passed=value < CREATE_BAR, samples={"create": samples},
                    note=f"SDK create, polling_interval=0, then GET; median of {count}, "
                         f"min {min(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"))

    rss_empty = ctx.emulator.rss_mb()
    rg = ctx.resource_group(RG_LIST)
    resident = 200 if ctx.quick else 500
    ctx.seeder.grow(rg, resident)
    time.sleep(0.5)
    rss = ctx.emulator.rss_mb()
    rows.append(Row(case=f"5 emulator: RSS with {resident} groups", measured=rss, unit="MB", baseline=rss_empty,
                    note=f"baseline = RSS right after start-up and {count + 1} creates "
                         f"({rss_empty or 0:.0f} MB); reported, no bar"))

    size = 200 if ctx.quick else 1000
    ctx.seeder.grow(rg, size)
    samples_list = interleaved({"list": lambda: ctx.session.list_group_json(rg)}, 3 if ctx.quick else 7)["list"]
    value = median(samples_list)
    rows.append(Row(case=f"5 emulator: list {size:,} groups (raw JSON)", measured=value, unit="s",
                    bar="< 1 s" if not ctx.quick else "-", passed=(value < LIST_BAR) if not ctx.quick else None,
                    samples={"list": samples_list},
                    note=f"{size // 100} pages of 100 through ci._send_request; {value / size * 1e3:.2f} ms/group"))
    return rows
