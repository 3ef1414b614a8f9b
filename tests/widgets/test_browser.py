"""GroupBrowser without a browser: list, select (one get + one logs request), filter, actions."""

from __future__ import annotations

import time

import pytest

from aci_widgets.spec import GroupSpec, shell_command
from aci_widgets.widgets.browser import GroupBrowser


def _task(session, name, script="echo hello-from-task; echo second", restart="Never"):
    return session.create_group(GroupSpec.single(name, "alpine", command=shell_command(script),
                                                 restart_policy=restart))


def _settle(session, name, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        details = session.get_group(name)
        if details.state in ("Succeeded", "Failed"):
            return details
        time.sleep(0.1)
    raise AssertionError(f"{name} did not finish")


@pytest.fixture
def two_groups(session, make_name):
    done, running = make_name(), make_name()
    _task(session, done)
    _task(session, running, "echo serving; while true; do sleep 0.2; done", restart="Always")
    _settle(session, done)
    return done, running


def _browser(session) -> GroupBrowser:
    browser = GroupBrowser(session)
    assert browser.wait(30)
    return browser


def test_list_shows_the_groups_with_provisioning_state_labelled_as_such(session, two_groups):
    done, running = two_groups
    browser = _browser(session)
    rows = browser.table.row_texts
    assert len(rows) == 2
    assert any(row.startswith(done) for row in rows) and any(row.startswith(running) for row in rows)
    assert "provisioning state" in browser.table.header_text
    assert all("✔ Succeeded" in row for row in rows)  # provisioning, not the live state
    assert "provisioning state" in browser.status.text
    browser.close()


def test_live_state_lists_the_real_state(session, two_groups):
    done, running = two_groups
    browser = _browser(session)
    browser.live.value = True
    assert browser.wait(30)
    header = browser.table.header_text
    assert "state" in header.split() and "provisioning state" not in header
    rows = {row.split()[0]: row for row in browser.table.row_texts}
    assert "● Running" in rows[running]
    assert "✔ Succeeded" in rows[done]
    browser.close()


def test_selecting_makes_one_get_and_one_logs_request_and_shows_everything(
        session, emulator, arm_requests, two_groups):
    done, _running = two_groups
    browser = _browser(session)
    emulator.control.clear_requests()
    browser.selected = done
    assert browser.wait(30)
    requests = arm_requests()
    assert len(requests) == 2, requests
    (get_method, get_path), (logs_method, logs_path) = requests
    assert get_method == "GET" and get_path.endswith(f"/containerGroups/{done}")
    assert logs_method == "GET" and logs_path.endswith(f"/containerGroups/{done}/containers/{done}/logs")
    view = browser.detail_view
    assert view is not None and browser.detail.children == (view,)
    assert done in view.header.value and "✔ Succeeded" in view.header.value
    assert done in view.instance_view.value and "Terminated" in view.instance_view.value
    assert "<td" in view.instance_view.value and ">0<" in view.instance_view.value  # the exit code
    assert "Started" in view.events.value
    assert "Restart policy" in view.properties.value and "Never" in view.properties.value
    assert view.logs is not None and view.logs.text.value == "hello-from-task\nsecond"
    table = browser.table
    assert table.grid.selected_rows == [table.row_keys.index(f"{session.resource_group}/{done}")]  # highlighted
    # Buttons follow the state (issue 17): a finished task can be started again or deleted, not stopped.
    assert {a for a, b in browser.action_buttons.items() if not b.disabled} == {"start", "delete"}
    browser.close()


def test_clicking_a_row_is_the_same_as_setting_selected(session, emulator, arm_requests, two_groups):
    _done, running = two_groups
    browser = _browser(session)
    emulator.control.clear_requests()
    browser.table.grid.selected_rows = [browser.table.row_keys.index(f"{session.resource_group}/{running}")]  # a click
    assert browser.wait(30)
    assert browser.selected == running
    assert len(arm_requests()) == 2
    assert "● Running" in browser.detail_view.header.value
    browser.selected = ""
    assert browser.detail.children == () and browser.table.grid.selected_rows == []
    assert all(b.disabled for b in browser.action_buttons.values())
    browser.close()


def test_name_filter_hides_rows_without_requests(session, emulator, arm_requests, two_groups):
    _done, running = two_groups
    browser = _browser(session)
    emulator.control.clear_requests()
    browser.name_filter.value = running[-6:]
    assert [row.split()[0] for row in browser.table.row_texts] == [running]
    browser.name_filter.value = "no-such-group"
    assert browser.table.row_texts == []
    assert "no row matches" in browser.table.empty.value
    browser.name_filter.value = ""
    assert len(browser.table.row_texts) == 2
    assert browser.wait(5)
    assert arm_requests() == []
    browser.close()


def test_confirmed_delete_deletes_and_refreshes(session, two_groups):
    done, running = two_groups
    browser = _browser(session)
    browser.selected = done
    assert browser.wait(30)
    browser.action_buttons["delete"].click()
    assert f"Really delete {done}" in browser.confirm_text.value
    assert browser.confirm_box.children == (browser.confirm_text, browser.confirm_button, browser.cancel_button)
    browser.confirm_button.click()
    assert browser.wait(60)
    assert browser.runner.last_error is None, browser.status.text
    assert [row.split()[0] for row in browser.table.row_texts] == [running]
    assert browser.selected == "" and browser.detail.children == ()
    assert f"delete {done}: done" in browser.status.text
    assert done not in list(session.list_groups()["name"])
    browser.close()


def test_cancelled_delete_deletes_nothing(session, emulator, arm_requests, two_groups):
    done, _running = two_groups
    browser = _browser(session)
    browser.selected = done
    assert browser.wait(30)
    emulator.control.clear_requests()
    browser.action_buttons["delete"].click()
    browser.cancel_button.click()
    assert browser.wait(10)
    assert browser.confirm_box.children == ()
    assert "cancelled" in browser.status.text
    assert arm_requests() == []
    assert done in list(session.list_groups()["name"])
    browser.close()


def test_stop_then_start_with_status_and_refresh(session, two_groups):
    _done, running = two_groups
    browser = _browser(session)
    browser.selected = running
    assert browser.wait(30)
    browser.request_action("stop")
    browser.confirm()
    assert browser.wait(60)
    assert browser.runner.last_error is None, browser.status.text
    assert "■ Stopped" in browser.detail_view.header.value  # the detail was got again after the action
    browser.request_action("start")
    assert session.get_group(running).state == "Stopped", "start waits for confirmation"
    browser.confirm()
    assert browser.wait(60)
    assert browser.runner.last_error is None, browser.status.text
    assert session.get_group(running).state in ("Running", "Pending")
    browser.close()


def test_fallback_and_default_session(session, two_groups):
    browser = GroupBrowser()  # None -> the default session (connect() made it)
    assert browser.session is session
    assert browser.wait(30)
    bundle = browser._repr_mimebundle_()
    assert "2 container groups" in bundle["text/plain"]
    assert two_groups[0] in bundle["text/html"]
    browser.close()


def test_detail_view_alone_makes_no_request(session, emulator, arm_requests, two_groups):
    """What ``%aci show`` displays: the details of one get, no log viewer, no request of its own."""
    from aci_widgets.widgets.browser import GroupDetailView

    details = session.get_group(two_groups[0])
    emulator.control.clear_requests()
    view = GroupDetailView(details)
    assert arm_requests() == []
    assert view.logs is None and [view.tabs.get_title(i) for i in range(2)] == ["Events", "Properties"]
    assert two_groups[0] in view._repr_mimebundle_()["text/html"]
