"""Issue 17, the magics a newcomer tripped over: run failures with their reason (case 6), create over an
existing group (7), delete that checks first (8), export into a variable (9), and the deterministic
follow interrupt (2). The shell is the terminal-style one of conftest; the kernel paths are in
test_kernel_newcomer.py."""

from __future__ import annotations

import builtins
import linecache
import os
import signal
import sys
import threading
import time

import pytest
import yaml

import aci_widgets
from aci_widgets.errors import BackendUnavailable
from aci_widgets.results import TaskResult

HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"


def _one_error_line(shown) -> str:
    assert not shown.success
    assert "Traceback" not in shown.text
    message = shown.err.strip()
    assert message.count("\n") == 0, shown.text
    return message


def test_run_failure_shows_the_failing_events_message_beside_the_exit_code(ip, rg, run):
    shown = run('r = %aci run alpine --command-line "nosuchbinary --x"')
    assert shown.success, shown.text
    result = ip.user_ns["r"]
    assert isinstance(result, TaskResult) and result.state == "Failed"
    (container, code), = result.exit_codes.items()
    assert code == 127
    reason = result.failure_reasons()[container]
    assert 'exec: "nosuchbinary": no such file or directory' in reason
    assert f"{container}: exit 127 ({reason})" in result.summary()
    text = run("r").out  # what the cell shows
    assert f"exit 127 ({reason})" in text
    # A task that succeeds says nothing more than its exit code.
    ok = run('%aci run alpine --command-line "echo fine" --out ok')
    assert ok.success and ip.user_ns["ok"].failure_reasons() == {}
    assert ip.user_ns["ok"].summary().endswith("exit 0")


def test_create_over_an_existing_group_says_what_it_was_and_what_changes(ip, rg, unique_name, run):
    assert run(f"%aci create {unique_name} --image {HELLO} --ports 80 --ip-address Public "
               f"--dns-name-label {unique_name}").success
    before = aci_widgets.default_session().get_group(unique_name)
    ip_address = before.json["properties"]["ipAddress"]["ip"]
    shown = run(f"%aci create {unique_name} --image {HELLO} --env MODE=demo")
    assert shown.success, shown.text
    notice = [line for line in shown.out.splitlines() if line.startswith("aci: updating")]
    expected = (f"aci: updating existing group {unique_name} (was: image {HELLO}, ports 80, "
                f"ip Public {ip_address}, dns label {unique_name}); changes: env (none) -> MODE, ports 80 -> (none), "
                f"ip Public -> (none), dns label {unique_name} -> (none)")
    assert notice == [expected]
    assert shown.out.index("aci: updating") < shown.out.index(f"create {unique_name}")  # said before sending
    again = run(f"%aci create {unique_name} --image {HELLO} --env MODE=demo")
    assert "nothing changes" in again.out
    # A new group says nothing of the kind.
    fresh = run(f"%aci create {unique_name}-b --image {HELLO}")
    assert fresh.success and "updating existing" not in fresh.out


def test_create_no_overwrite_refuses_and_changes_nothing(ip, rg, unique_name, run, requests):
    assert run(f"%aci create {unique_name} --image {HELLO} --ports 80 --ip-address Public").success
    requests.clear_requests()
    message = _one_error_line(run(f"%aci create {unique_name} --image alpine --no-overwrite"))
    assert message.endswith(f"create: container group {unique_name} already exists in resource group '{rg}' "
                            "(--no-overwrite); nothing was changed")
    assert [r["method"] for r in requests.requests()] == ["GET"]  # one look, no PUT
    details = aci_widgets.default_session().get_group(unique_name)
    assert details.json["properties"]["containers"][0]["properties"]["image"] == HELLO
    assert run(f"%aci create {unique_name}-new --image {HELLO} --no-overwrite").success


def test_delete_checks_existence_before_asking(rg, unique_name, run, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(builtins, "input", lambda prompt="": asked.append(prompt) or "y")
    message = _one_error_line(run("%aci delete doesnotexist"))
    assert asked == []  # never asked
    assert f"container group doesnotexist not found in resource group '{rg}'; nothing was deleted" in message
    assert run(f"%aci create {unique_name} --image {HELLO}").success
    message = _one_error_line(run(f"%aci delete {unique_name} {unique_name}x"))
    assert asked == [] and f"{unique_name}x not found" in message and f"did you mean '{unique_name}'" in message
    assert aci_widgets.default_session().get_group(unique_name).name == unique_name  # nothing deleted
    shown = run(f"%aci delete {unique_name}")
    assert shown.success and len(asked) == 1 and f"deleted {unique_name}" in shown.out


def test_delete_in_a_kernel_without_stdin_cancels_in_one_line(rg, unique_name, run, monkeypatch):
    """nbclient, nbconvert and papermill cannot answer input(): IPython raises StdinNotImplementedError there."""
    from IPython.core.error import StdinNotImplementedError

    def no_stdin(prompt: str = "") -> str:
        raise StdinNotImplementedError("raw_input was called, but this frontend does not support input requests.")

    monkeypatch.setattr(builtins, "input", no_stdin)
    assert run(f"%aci create {unique_name} --image {HELLO}").success
    for line in (f"%aci delete {unique_name}", f"%aci delete-rg {rg}"):
        shown = run(line)
        assert shown.success and "Traceback" not in shown.text, shown.text
        assert "cancelled; nothing was deleted (--yes deletes without asking)" in shown.out
    assert aci_widgets.default_session().get_group(unique_name).name == unique_name  # nothing deleted


def test_help_lists_exec_with_its_syntax(run):
    shown = run("%aci --help")
    lines = shown.text.splitlines()
    at = next(index for index, text in enumerate(lines) if text.strip().startswith("exec "))
    entry = " ".join(text.strip() for text in lines[at:at + 2])  # argparse may wrap it
    assert "(%aci exec NAME -- CMD ARGS)" in entry and "option_strings" not in shown.text, entry
    usage = run("%aci exec --help").text
    assert "NAME -- CMD [ARGS ...]" in usage


def test_export_returns_its_text_and_takes_out(ip, rg, unique_name, run):
    assert run(f"%aci create {unique_name} --image {HELLO} --ports 80 --ip-address Public").success
    assigned = run(f"y = %aci export {unique_name}")
    assert assigned.success and assigned.out == ""
    text = ip.user_ns["y"]
    assert isinstance(text, str) and yaml.safe_load(text)["name"] == unique_name
    stored = run(f"%aci export {unique_name} --format az --out az_line")
    assert stored.success and stored.out == "" and ip.user_ns["az_line"].startswith("az container create")
    shown = run(f"%aci export {unique_name}")
    assert "\napiVersion: " in shown.out and "\\n" not in shown.out  # plain text, not a quoted repr


def _main_thread_sleeps_in_follow() -> bool:
    frame = sys._current_frames().get(threading.main_thread().ident)
    if frame is None or frame.f_code.co_name != "follow_logs":
        return False
    return linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip().startswith("time.sleep(")


def test_logs_follow_stops_cleanly_on_interrupt(rg, unique_name, run):
    """Deterministic (issue 17 case 2): the SIGINT is sent when the follow loop is inside its sleep, seen in
    the main thread's own frame, after a log with lines exists: no timer guessing how long the set-up takes."""
    assert run(f"""%aci create {unique_name} --image alpine """
               f"""--command-line "/bin/sh -c 'while true; do echo tick; sleep 0.1; done'" """).success
    session = aci_widgets.default_session()
    while "tick" not in session.logs(unique_name):
        time.sleep(0.05)
    done = threading.Event()

    def interrupt_when_sleeping() -> None:
        while not done.is_set():
            if _main_thread_sleeps_in_follow():
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=interrupt_when_sleeping, daemon=True)
    watcher.start()
    try:
        shown = run(f"%aci logs {unique_name} --follow")
    finally:
        done.set()
        watcher.join(5)
    assert shown.success, shown.text
    assert "tick" in shown.out
    assert shown.out.splitlines()[-1] == "--- stopped following: interrupted (the container goes on running) ---"
    assert "Traceback" not in shown.text and "KeyboardInterrupt" not in shown.text


def test_local_backend_says_when_it_creates_a_missing_resource_group(rg, unique_name, run):
    """A convenience of the local backend only (Azure answers ResourceGroupNotFound): never silent."""
    assert run("%aci use local").success
    fresh = f"{rg}-made"
    try:
        shown = run(f"%aci create {unique_name} -g {fresh} --image {HELLO}")
        assert shown.success, shown.text
        assert (f"created resource group {fresh} in the local emulator (on Azure it must exist first: "
                f"%aci create-rg {fresh})") in shown.text
        again = run(f"%aci create {unique_name}-b -g {fresh} --image {HELLO}")
        assert again.success and "created resource group" not in again.text  # it exists now
    finally:
        aci_widgets.default_session().delete_resource_group(fresh)


def test_a_stopped_emulator_is_named_as_the_reason(emulator_tools, tmp_path):
    """"Connection refused" from the local emulator's port says what to do (found in a new user's trial)."""
    running = emulator_tools.start_emulator(tmp_path / "home", emulator_tools.free_port(), ())
    session = aci_widgets.connect(auth_file=running.auth_file, resource_group="rg", quiet=True)
    session.notify = lambda message: None
    session.ensure_resource_group("rg")  # a token now, so the next failure is ARM's connection, not the login's
    emulator_tools.stop_emulator(running)
    with pytest.raises(BackendUnavailable) as caught:
        session.list_groups()
    message = str(caught.value)
    assert "cannot reach the service" in message and len(message.splitlines()) == 1
    assert message.endswith("(the local emulator is not running: %aci use local starts it, or aci-emulator start)")


def test_exec_into_a_wrong_name_offers_the_groups_there_are(rg, unique_name, run):
    assert run(f"%aci create {unique_name} --image {HELLO}").success
    message = _one_error_line(run(f"%aci exec {unique_name}x -- ls"))
    assert f"did you mean '{unique_name}'" in message, message
