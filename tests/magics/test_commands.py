"""Every ``%aci`` command in an IPython shell against the real emulator (through the stock SDK clients)."""

from __future__ import annotations

import builtins
import os

import pandas as pd

import aci_widgets
from aci_widgets import session as sessions
from aci_widgets.results import CreateHandle, GroupDetails, TaskResult

SENTINEL = "S3NT1NEL-secure-value-7d1e"
HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"


def _one_error_line(shown) -> str:
    assert not shown.success
    assert "Traceback" not in shown.text
    message = shown.err.strip()
    assert message.count("\n") == 0, shown.text
    return message


# -- backend ------------------------------------------------------------------------------------------------


def test_whoami_before_connecting(ip, magics, run):
    sessions.set_default_session(None)
    shown = run("%aci whoami")
    assert shown.success and "not connected yet" in shown.out


def test_use_azure_with_auth_file_then_local(emulator, rg, magics, run):
    magics.resource_group = rg
    shown = run(f"%aci use azure --auth-file {emulator.auth_file}")
    assert shown.success, shown.text
    assert "auth file" in shown.out and rg in shown.out
    assert sessions.default_session().backend == "azure"
    who = run("%aci whoami")
    assert "backend:" in who.out and "azure" in who.out and rg in who.out
    assert emulator.auth["clientSecret"] not in who.text
    assert run("df = %aci list").success

    shown = run("%aci use local")  # the test environment points the local backend at the same emulator
    assert shown.success, shown.text
    assert sessions.default_session().backend == "local"
    assert sessions.default_session().resource_group == rg
    assert "backend:         local" in run("%aci whoami").out

    # !az follows the backend (issue 13): the emulator's own az configuration, then the user's again.
    assert "!az now talks to the emulator" in shown.out
    config_dir = os.environ["AZURE_CONFIG_DIR"]
    assert config_dir.startswith(str(emulator.home.path)) and os.environ["AZURE_CORE_INSTANCE_DISCOVERY"] == "false"
    with open(os.environ["REQUESTS_CA_BUNDLE"], encoding="utf-8") as bundle:
        assert emulator.home.ca_path.read_text() in bundle.read()
    assert "az uses your own Azure CLI configuration again" in run(
        f"%aci use azure --auth-file {emulator.auth_file}").out
    assert os.environ.get("AZURE_CONFIG_DIR") != config_dir


def test_use_azure_with_a_missing_auth_file(rg, run):
    message = _one_error_line(run("%aci use azure --auth-file /nonexistent/auth.json"))
    assert "auth file /nonexistent/auth.json does not exist" in message


# -- create / list / show ----------------------------------------------------------------------------------


def test_create_list_show(ip, rg, unique_name, run):
    shown = run(f"%aci create {unique_name} --image {HELLO} --ports 80 --ip-address Public "
                f"--dns-name-label {unique_name}")
    assert shown.success, shown.text
    assert f"create {unique_name}" in shown.out  # progress
    assert "Running" in shown.out and "done" in shown.out
    assert "Containers:" in shown.out and "Events:" in shown.out  # the detail view ends the output
    assert f"{unique_name}.eastus" in shown.out  # the FQDN

    listed = run("%aci list")
    assert listed.success and unique_name in listed.out
    assert isinstance(listed.result, pd.DataFrame) and "provisioning_state" in listed.result.columns

    assigned = run("df = %aci list")
    assert assigned.success and assigned.out == "" and assigned.err == ""
    frame = ip.user_ns["df"]
    assert isinstance(frame, pd.DataFrame) and list(frame["name"]) == [unique_name]
    assert frame["state"].fillna("").eq("").all()  # the list API has no instance view

    stored = run("%aci list --live --out groups")
    assert stored.success and stored.out == ""
    assert list(ip.user_ns["groups"]["state"]) == ["Running"]

    assert run("%aci list --all --out everything").success
    assert unique_name in list(ip.user_ns["everything"]["name"])

    detail = run(f"d = %aci show {unique_name}")
    assert detail.success and detail.out == ""
    details = ip.user_ns["d"]
    assert isinstance(details, GroupDetails) and details.state == "Running"
    assert not details.instance_view.empty

    text = run(f"%aci show {unique_name} -g {rg}")
    assert text.success
    for fragment in (unique_name, "Containers:", "Events:", "Running", HELLO):
        assert fragment in text.out


def test_show_not_found_suggests_the_closest_name(rg, unique_name, run):
    assert run(f"%aci create {unique_name} --image {HELLO} --no-wait --out h").success
    message = _one_error_line(run(f"%aci show {unique_name}x"))
    assert f"did you mean '{unique_name}'" in message
    message = _one_error_line(run(f"%aci logs {unique_name}-zz"))
    assert f"did you mean '{unique_name}'" in message
    message = _one_error_line(run("%aci show rg-nowhere -g no-such-rg"))
    assert "no-such-rg" in message
    message = _one_error_line(run(f"%aci list -g {rg}x"))
    assert f"did you mean '{rg}'" in message


def test_create_no_wait_returns_a_handle(ip, rg, unique_name, run):
    shown = run(f"h = %aci create {unique_name} --image {HELLO} --no-wait")
    assert shown.success, shown.text
    handle = ip.user_ns["h"]
    assert isinstance(handle, CreateHandle)
    details = handle.wait(timeout=30)
    assert details.provisioning_state == "Succeeded"


def test_command_line_quotes_and_env_values(ip, rg, unique_name, run):
    shown = run(f"""%aci create {unique_name} --image python --restart-policy Never """
                f"""--command-line "python -c 'import os; print(40 + 2, os.environ[\\"GREETING\\"])'" """
                f"""--env "GREETING=hello = world" --secure-env TOKEN={SENTINEL}""")
    assert shown.success, shown.text
    assert SENTINEL not in shown.text
    ip.user_ns["_details"] = None
    for _ in range(100):
        logs = run(f"%aci logs {unique_name}")
        if "42" in logs.out:
            break
    assert "42 hello = world" in logs.out
    assert SENTINEL not in run(f"%aci show {unique_name}").text
    assert SENTINEL not in run(f"%aci export {unique_name}").text
    assert SENTINEL not in run("%aci list --live").text


def test_secure_value_from_a_notebook_variable(ip, rg, unique_name, run):
    ip.user_ns["token"] = SENTINEL
    shown = run(f"""%aci run python --name {unique_name} --secure-env TOKEN=$token """
                f"""--command-line "python -c 'import os; print(len(os.environ[\\"TOKEN\\"]))'" """)
    assert shown.success, shown.text
    assert str(len(SENTINEL)) in shown.out
    assert SENTINEL not in shown.text


def test_cell_create_from_yaml(ip, rg, unique_name, run):
    cell = f"""%%aci create {unique_name}
apiVersion: 2023-05-01
name: {unique_name}
type: Microsoft.ContainerInstance/containerGroups
properties:
  osType: linux
  restartPolicy: Always
  containers:
  - name: app
    properties:
      image: {HELLO}
      resources:
        requests: {{cpu: 1, memoryInGb: 1.5}}
      ports: [{{port: 80}}]
  - name: sidecar
    properties:
      image: mcr.microsoft.com/azuredocs/aci-tutorial-sidecar
      resources:
        requests: {{cpu: 0.5, memoryInGB: 0.5}}
  ipAddress:
    type: Public
    ports: [{{protocol: tcp, port: 80}}]
"""
    shown = run(cell)
    assert shown.success, shown.text
    details = ip.user_ns["_"]
    assert isinstance(details, GroupDetails) and sorted(details.containers) == ["app", "sidecar"]


def test_export_reimports_with_cell_create(ip, rg, make_name, run):
    first, second = make_name(), make_name()
    assert run(f"%aci create {first} --image {HELLO} --ports 80 --ip-address Public --env MODE=demo "
               "--cpu 0.5 --memory 0.75").success
    exported = run(f"%aci export {first}")
    assert exported.success and "apiVersion" in exported.out
    yaml_text = exported.result.replace(f"name: {first}", f"name: {second}")  # export returns its text
    created = run(f"%%aci create {second}\n{yaml_text}")
    assert created.success, created.text
    d = ip.user_ns["_"]
    assert d.name == second and d.state == "Running"
    orig = aci_widgets.default_session().get_group(first)
    assert d.json["properties"]["containers"][0]["properties"]["resources"] == \
        orig.json["properties"]["containers"][0]["properties"]["resources"]

    python = run(f"%aci export {first} --format python")
    assert python.success and "ContainerGroup" in python.out
    az = run(f"%aci export {first} --format AZ")
    assert az.success and "az container create" in az.out


# -- run / logs ----------------------------------------------------------------------------------------------


def test_run_shows_exit_code_and_logs(ip, rg, unique_name, run):
    shown = run(f"""%aci run alpine --name {unique_name} --env WHO=world """
                f"""--command-line "/bin/sh -c 'echo hello $WHO; echo oops >&2; exit 3'" """)
    assert shown.success, shown.text
    assert "run " in shown.out  # progress
    assert "exit code 3" in shown.out
    assert "hello world" in shown.out and "oops" in shown.out

    assigned = run("""r = %aci run alpine --command-line "echo quiet" --timeout 60""")
    assert assigned.success
    result = ip.user_ns["r"]
    assert isinstance(result, TaskResult)
    assert list(result.exit_codes.values()) == [0]
    assert "quiet" in next(iter(result.logs.values()))
    assert "quiet" not in assigned.out  # progress only: the result itself is not displayed


def test_logs_tail_and_timestamps(rg, unique_name, run):
    run(f"""%aci run alpine --name {unique_name} --command-line "/bin/sh -c 'echo one; echo two; echo three'" """)
    tail = run(f"%aci logs {unique_name} --tail 1")
    assert tail.success and tail.out.strip() == "three"
    stamped = run(f"%aci logs {unique_name} -c {unique_name} --timestamps")
    assert stamped.success and stamped.out.count("T") >= 3 and "two" in stamped.out
    message = _one_error_line(run(f"%aci logs {unique_name} -c nope"))
    assert "nope" in message


def test_logs_follow_prints_each_line_once(rg, unique_name, run):
    script = "for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.15; done"
    assert run(f"""%aci create {unique_name} --image alpine --restart-policy Never """
               f"""--command-line "/bin/sh -c '{script}'" """).success
    shown = run(f"%aci logs {unique_name} --follow")
    assert shown.success, shown.text
    lines = shown.out.splitlines()
    for i in range(1, 7):
        assert lines.count(f"line-{i}") == 1, shown.out
    assert lines[-1].startswith("--- stopped following:") and "exit code 0" in lines[-1]


# test_logs_follow_stops_cleanly_on_interrupt lives in test_newcomer.py (made deterministic, issue 17).


# -- lifecycle ----------------------------------------------------------------------------------------------


def test_stop_start_restart(ip, rg, unique_name, run):
    assert run(f"%aci create {unique_name} --image {HELLO}").success
    assert "stopped" in run(f"%aci stop {unique_name}").out
    run(f"d = %aci show {unique_name}")
    assert ip.user_ns["d"].state == "Stopped"
    assert "started" in run(f"%aci start {unique_name}").out
    assert "restarted" in run(f"%aci restart {unique_name} -g {rg}").out
    run(f"d = %aci show {unique_name}")
    assert ip.user_ns["d"].state == "Running"


def test_delete_asks_first(ip, rg, make_name, run, monkeypatch):
    first, second = make_name(), make_name()
    for name in (first, second):
        assert run(f"%aci create {name} --image {HELLO} --no-wait --out h").success
        ip.user_ns["h"].wait(timeout=30)
    asked: list[str] = []

    def answer(reply: str):
        def fake_input(prompt: str = "") -> str:
            asked.append(prompt)
            return reply
        return fake_input

    monkeypatch.setattr(builtins, "input", answer("n"))
    shown = run(f"%aci delete {first} {second}")
    assert shown.success and "nothing was deleted" in shown.out
    assert first in asked[-1] and second in asked[-1] and rg in asked[-1]
    run("df = %aci list")
    assert sorted(ip.user_ns["df"]["name"]) == sorted([first, second])

    monkeypatch.setattr(builtins, "input", answer("y"))
    shown = run(f"%aci delete {first}")
    assert shown.success and f"deleted {first}" in shown.out

    def no_input(prompt: str = "") -> str:
        raise AssertionError("--yes must not ask")

    monkeypatch.setattr(builtins, "input", no_input)
    assert f"deleted {second}" in run(f"%aci delete {second} --yes").out
    run("df = %aci list")
    assert ip.user_ns["df"].empty
    message = _one_error_line(run(f"%aci delete {second} --yes"))
    assert second in message


def test_delete_rg(ip, emulator, run, monkeypatch):
    s = aci_widgets.connect(auth_file=emulator.auth_file, resource_group="rg-magic-doomed", quiet=True)
    assert "rg-magic-doomed is there" in run("%aci create-rg rg-magic-doomed -l westeurope").out
    monkeypatch.setattr(builtins, "input", lambda prompt="": "no")
    assert "nothing was deleted" in run("%aci delete-rg rg-magic-doomed").out
    assert "rg-magic-doomed" in s.list_resource_groups()
    assert "deleted resource group rg-magic-doomed" in run("%aci delete-rg rg-magic-doomed --yes").out
    assert "rg-magic-doomed" not in s.list_resource_groups()
    message = _one_error_line(run("%aci delete-rg rg-magic-doomed --yes"))
    assert "rg-magic-doomed" in message
    sessions.set_default_session(None)


# -- widgets and their fallbacks -------------------------------------------------------------------------------


def test_form_and_browse_without_a_kernel(ip, rg, unique_name, run):
    assert run(f"%aci create {unique_name} --image {HELLO} --no-wait --out h").success
    form = run("%aci form")
    assert form.success and "%aci create" in form.out
    browse = run("%aci browse")
    assert browse.success and unique_name in browse.out


def test_form_and_browse_in_a_kernel(ip, rg, run, monkeypatch):
    from aci_widgets.magics import display as shown_display
    from aci_widgets.widgets.browser import GroupBrowser
    from aci_widgets.widgets.form import GroupForm

    monkeypatch.setattr(shown_display, "in_kernel", lambda shell: True)
    displayed: list[object] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: displayed.append(obj))
    assert run("%aci form").success
    assert run(f"%aci browse -g {rg}").success
    assert isinstance(displayed[0], GroupForm) and isinstance(displayed[1], GroupBrowser)


def test_show_tracebacks_switch(magics, rg, run):
    magics.show_tracebacks = True
    shown = run("%aci show missing-group")
    assert not shown.success
    assert "NotFound" in shown.text and shown.text.count("\n") > 3
