"""Live lists reuse the GET answers of ended groups; this session's own writes make them ask again."""

from __future__ import annotations

import time

from aci_widgets.spec import GroupSpec


def _gets(requests, name):
    return [r for r in requests() if r["method"] == "GET" and r["path"].lower().endswith(f"/containergroups/{name}")]


def test_ended_groups_are_not_fetched_again_until_this_session_writes_to_them(session, emulator_knobs):
    name = "cached-task"
    session.create_group(GroupSpec.single(name, "alpine", command=["true"], restart_policy="Never"))
    deadline = time.monotonic() + 20
    while session.get_group(name).state != "Succeeded" and time.monotonic() < deadline:
        time.sleep(0.05)
    emulator_knobs.clear_requests()
    assert session.list_groups(live=True)["state"].tolist() == ["Succeeded"]
    assert len(_gets(emulator_knobs.requests, name)) == 1
    for _ in range(3):
        assert session.list_groups(live=True)["state"].tolist() == ["Succeeded"]
    assert len(_gets(emulator_knobs.requests, name)) == 1, "an ended group is answered from the cache"
    session.restart(name)  # our own write: the cached answer is dropped
    emulator_knobs.clear_requests()
    session.list_groups(live=True)
    assert len(_gets(emulator_knobs.requests, name)) == 1
