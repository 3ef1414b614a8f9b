"""Case 3: selecting a row in ``GroupBrowser``.

Requests: the emulator's request log (control plane) around one selection must hold exactly one GET of
the group and one GET of its logs, nothing else.

Latency: ``browser.selected = name`` until ``browser.wait()`` returns (the one get, the detail widgets,
the log viewer's one logs request and its text), against the bare SDK calls a script would make for the
same information: ``container_groups.get`` + ``containers.list_logs``. Selections alternate between two
groups so that each one is a real change. Measured with no injected latency (reported) and with 50 ms
(judged): a real ARM round trip costs tens of milliseconds, so that is what a user feels. Bar: the
selection at most 2x the bare calls, i.e. everything the widget adds (JSON to frames to HTML, the widgets)
may cost no more than the two round trips themselves.
"""

from __future__ import annotations

from typing import Any

from harness import LOCATION, Context, Row, interleaved, median

NAME = "browser"
RG = "bench-browse"
TARGETS = ("web-a", "web-b")
LATENCY_MS = 50
BAR = 2.0


def _logging_body() -> dict[str, Any]:
    script = "for i in $(seq 1 40); do echo log line $i of a running job; done; sleep 300"
    return {"location": LOCATION, "properties": {
        "osType": "Linux", "restartPolicy": "Never",
        "containers": [{"name": "app", "properties": {
            "image": "alpine", "command": ["/bin/sh", "-c", script],
            "environmentVariables": [{"name": "MODE", "value": "bench"}],
            "ports": [{"port": 80}],
            "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}}}}]}}


def _classify(requests: list[dict[str, Any]], rg: str, name: str) -> tuple[int, int, list[str]]:
    group_path = f"/resourcegroups/{rg}/providers/microsoft.containerinstance/containergroups/{name}".lower()
    gets = logs = 0
    other: list[str] = []
    for record in requests:
        path, method = str(record.get("path", "")).lower(), str(record.get("method", "")).upper()
        if method == "GET" and path.endswith(group_path):
            gets += 1
        elif method == "GET" and group_path + "/containers/" in path and path.endswith("/logs"):
            logs += 1
        else:
            other.append(f"{method} {record.get('path')}")
    return gets, logs, other


def run(ctx: Context) -> list[Row]:
    from aci_widgets import GroupBrowser

    session, control = ctx.session, ctx.control
    rg = ctx.resource_group(RG)
    ctx.seeder.grow(rg, 20)
    for name in TARGETS:
        session.ci.container_groups.begin_create_or_update(rg, name, _logging_body(), polling_interval=0).result()
    browser = GroupBrowser(session, resource_group=rg)
    if not browser.wait(60):
        raise RuntimeError("GroupBrowser did not finish its first list")
    rows: list[Row] = []
    try:
        # -- requests of one selection ----------------------------------------------------------------
        control.clear_requests()
        browser.selected = TARGETS[0]
        browser.wait(30)
        requests = control.requests()
        gets, logs, other = _classify(requests, rg, TARGETS[0])
        shown = browser.detail_view.logs.text.value if browser.detail_view and browser.detail_view.logs else ""
        ok = gets == 1 and logs == 1 and not other and "log line 1 " in shown
        rows.append(Row(case="3 browser select: requests", measured=float(len(requests)), unit="req",
                        bar="1 get + 1 logs", passed=ok,
                        note=f"{gets} group GET, {logs} logs GET, other: {other or 'none'}; "
                             f"log viewer shows {len(shown.splitlines())} lines"))

        # -- latency ----------------------------------------------------------------------------------
        turn = {"browser": 0, "bare": 0}

        def select() -> None:
            turn["browser"] += 1
            browser.selected = TARGETS[turn["browser"] % 2]
            browser.wait(30)

        def bare() -> None:
            turn["bare"] += 1
            name = TARGETS[turn["bare"] % 2]
            group = session.ci.container_groups.get(rg, name)
            session.ci.containers.list_logs(rg, name, group.containers[0].name)

        for latency in (0, LATENCY_MS):
            control.set_latency(latency)
            try:
                repeats = 3 if ctx.quick else (15 if latency == 0 else 9)
                samples = interleaved({"bare": bare, "browser": select}, repeats)
            finally:
                control.set_latency(0)
            base, value = median(samples["bare"]), median(samples["browser"])
            judged = latency == LATENCY_MS
            rows.append(Row(case=f"3 browser select: latency, {latency} ms injected", measured=value, unit="s",
                            baseline=base, ratio=value / base, ratio_text="x of baseline",
                            bar="<= 2x" if judged else "-", passed=(value / base <= BAR) if judged else None,
                            samples=samples,
                            note=f"baseline: SDK get + list_logs; median of {repeats}; widget overhead "
                                 f"{(value - base) * 1000:.0f} ms"))
    finally:
        browser.close()
    return rows
