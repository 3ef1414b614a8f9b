"""The live list and the browser over 300 groups: a minute of refreshes (time-scaled) without one 429.

300 live gets alone would empty ARM's read bucket (250). The session paces itself by the budget the answers
report, and ended groups are not fetched again (terminal_cache.py): after the first round each refresh costs
the list's three pages.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import aci_widgets
from aci_widgets.widgets.browser import GroupBrowser

GROUPS = 300
SCALE = 0.25  # a minute of Azure's clock in 15 s; refills 4 times as fast, the bucket as large


def test_a_minute_of_live_refreshes_over_300_groups_is_never_throttled(raw, limits, limits_emulator):
    limits.set_limits("off")  # seeding 300 groups at once is beyond ACI's own create rate
    rg = raw.rg("rg-refresh")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: raw.put_group(rg, f"r{i:03d}").status_code, range(GROUPS)))
    assert statuses == [201] * GROUPS
    session = aci_widgets.connect(auth_file=limits_emulator.auth_file, resource_group=rg, location="eastus",
                                  quiet=True)
    session.notify = lambda _message: None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = set(session.operations.live_states(session.list_group_json(rg)).values())
        if states == {"Succeeded"}:
            break
        time.sleep(0.5)
    assert states == {"Succeeded"}
    session.operations.terminal.clear()  # start as a fresh kernel would: nothing known

    limits.set_limits("azure", time_scale=SCALE, clear=True)
    browser = GroupBrowser(session, resource_group=rg, live=True, load=False)
    started = time.monotonic()
    refreshes = 0
    while time.monotonic() - started < 60 * SCALE:
        frame = session.list_groups(rg, live=True)
        assert len(frame) == GROUPS and set(frame["state"]) == {"Succeeded"}
        browser.refresh().result(60)
        assert len(browser.frame) == GROUPS
        refreshes += 2
    seen = limits.limits()
    assert seen["throttled"] == {}, seen
    assert refreshes >= 10
    # Only the first round fetched the groups; every refresh after it read the three list pages alone.
    assert seen["answered"]["reads"] <= GROUPS + 3 * refreshes + 10, (seen["answered"], refreshes)
    browser.close()
