"""LogViewer against the emulator: snapshot, tail, follow (each line once, stops at termination), close."""

from __future__ import annotations

import itertools
import threading
import time

from aci_widgets.spec import ContainerSpec, GroupSpec, shell_command
from aci_widgets.widgets.logs import LogViewer


def _task(session, name, script, **kwargs):
    spec = GroupSpec.single(name, "alpine", command=shell_command(script), restart_policy="Never", **kwargs)
    return session.create_group(spec)


def _wait_state(session, name, states=("Succeeded", "Failed"), timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        details = session.get_group(name)
        if details.state in states:
            return details
        time.sleep(0.1)
    raise AssertionError(f"{name} did not reach {states}")


def test_snapshot_from_details_makes_one_logs_request_and_no_get(session, emulator, arm_requests, unique_name):
    _task(session, unique_name, "echo one; echo two; echo three")
    details = _wait_state(session, unique_name)
    emulator.control.clear_requests()
    viewer = LogViewer(session, details)
    requests = arm_requests()
    assert [m for m, _p in requests] == ["GET"]
    assert requests[0][1].endswith(f"/containers/{unique_name}/logs")
    assert viewer.text.value == "one\ntwo\nthree"
    assert viewer.container.options == (unique_name,)
    viewer.tail.value = 2  # an option change fetches again, with the server's tail
    assert viewer.text.value == "two\nthree"
    viewer.timestamps.value = True
    assert all(line.split(" ", 1)[1] in ("two", "three") for line in viewer.text.value.splitlines())
    assert "3 lines" not in viewer.summary()
    viewer.close()


def test_viewer_by_name_gets_the_group_once(session, emulator, arm_requests, unique_name):
    _task(session, unique_name, "echo hello")
    _wait_state(session, unique_name)
    emulator.control.clear_requests()
    viewer = LogViewer(session, unique_name)
    assert [m for m, _p in arm_requests()] == ["GET", "GET"]  # the group, then its log
    assert viewer.text.value == "hello"
    bundle = viewer._repr_mimebundle_()
    assert "1 lines" in bundle["text/plain"] and "hello" in bundle["text/html"]


def test_follow_appends_each_line_once_and_stops_when_the_container_terminates(session, unique_name, capsys):
    script = "for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.3; done"
    details = _task(session, unique_name, script)
    viewer = LogViewer(session, details, follow_interval=0.2)
    seen: list[str] = []
    viewer.text.observe(lambda change: seen.append(change["new"]), names="value")
    viewer.follow.value = True
    assert viewer.following
    assert viewer.wait_following(30), "follow did not stop at termination"
    expected = [f"line-{i}" for i in range(1, 7)]
    assert viewer.text.value.splitlines() == expected
    # Appended, never repainted: every value shown is a prefix of the next one.
    for before, after in itertools.pairwise(seen):
        assert after.startswith(before)
    assert len(seen) >= 2, "expected the log to grow while following"
    assert viewer.follow_ended == "terminated"
    assert viewer.follow.value is False
    assert "terminated" in viewer.status.text
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # background threads never print
    viewer.close()


def test_follow_stops_when_toggled_off_or_closed(session, unique_name):
    details = _task(session, unique_name, "while true; do echo tick; sleep 0.2; done")
    viewer = LogViewer(session, details, follow_interval=0.1)
    viewer.follow.value = True
    time.sleep(0.5)
    viewer.follow.value = False
    assert viewer.wait_following(5)
    assert viewer.follow_ended == "stopped"
    viewer.follow.value = True
    assert viewer.following
    thread = viewer._thread
    viewer.close()
    assert thread is not None and not thread.is_alive()
    assert not any(t.name.startswith("aci-widgets follow") and t.is_alive() for t in threading.enumerate())
    session.delete_groups(unique_name)


def test_follow_has_a_maximum_duration(session, unique_name):
    details = _task(session, unique_name, "while true; do echo tick; sleep 0.2; done")
    viewer = LogViewer(session, details, follow_interval=0.1, follow_max_seconds=0.5)
    viewer.follow.value = True
    assert viewer.wait_following(10)
    assert viewer.follow_ended == "timeout"
    assert "stopped following after" in viewer.status.text
    viewer.close()
    session.delete_groups(unique_name)


def test_container_picker_switches_to_the_other_containers_log(session, emulator, arm_requests, unique_name):
    spec = GroupSpec(name=unique_name, restart_policy="Never", containers=[
        ContainerSpec("first", "alpine", cpu=0.5, memory_gb=0.5, command=shell_command("echo from-first")),
        ContainerSpec("second", "alpine", cpu=0.5, memory_gb=0.5, command=shell_command("echo from-second")),
    ])
    session.create_group(spec)
    details = _wait_state(session, unique_name)
    viewer = LogViewer(session, details)
    assert viewer.container.options == ("first", "second")
    assert viewer.text.value == "from-first"
    emulator.control.clear_requests()
    viewer.container.value = "second"
    assert viewer.text.value == "from-second"
    assert [p.rsplit("/", 2)[-2] for _m, p in arm_requests()] == ["second"]
    viewer.close()
