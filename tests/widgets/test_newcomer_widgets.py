"""Issue 17 cases 4 and 14 through widget values: the widgets derive what they show from the latest answer.

- a followed log that sees its container end refreshes the header and the instance view above it;
- Restart with Follow on keeps Follow on and shows the new run;
- a LogViewer notices a restart made elsewhere (the SDK's ``begin_restart``), where the restart count stays
  0 and the new log can be as long as the old one;
- a vanished resource group empties the table and disables the actions, with one line saying why;
- buttons follow the state.
"""

from __future__ import annotations

import re

from aci_widgets._testing import wait_for
from aci_widgets.logtail import RESTART_MARKER
from aci_widgets.spec import GroupSpec, shell_command
from aci_widgets.widgets.browser import GroupBrowser
from aci_widgets.widgets.logs import LogViewer

RUN_ID = re.compile(r"^run-(\d+)$", re.MULTILINE)


def _create(session, name, script, restart):
    return session.create_group(GroupSpec.single(name, "alpine", command=shell_command(script),
                                                 restart_policy=restart))


def _enabled(browser) -> set[str]:
    return {action for action, button in browser.action_buttons.items() if not button.disabled}


def _browse(session, name) -> GroupBrowser:
    browser = GroupBrowser(session)
    assert browser.wait(30)
    browser.selected = name
    assert browser.wait(30)
    return browser


def test_a_log_that_sees_termination_refreshes_header_and_instance_view(session, unique_name):
    _create(session, unique_name, "sleep 1; for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.1; done", "Never")
    browser = _browse(session, unique_name)
    view = browser.detail_view
    assert "Running" in view.header.value and _enabled(browser) == {"stop", "restart", "delete"}
    view.logs.follow_interval = 0.2
    view.logs.follow.value = True
    assert view.logs.wait_following(30)
    assert view.logs.follow_ended == "terminated" and view.logs.text.value.endswith("line-6")
    # The log's last answer is what header, instance view and buttons show now: no click needed.
    assert "Succeeded" in view.header.value and "Running" not in view.header.value
    assert "Terminated" in view.instance_view.value and ">0<" in view.instance_view.value  # exit code 0
    assert _enabled(browser) == {"start", "delete"}
    browser.close()


def test_restart_with_follow_on_keeps_follow_and_shows_the_new_run(session, unique_name):
    _create(session, unique_name, "echo run-$(date +%s%N); while true; do echo tick; sleep 0.2; done", "Always")
    browser = _browse(session, unique_name)
    logs = browser.detail_view.logs
    logs.follow_interval = 0.2
    logs.follow.value = True
    first = wait_for(lambda: RUN_ID.findall(logs.text.value), 20)[0]
    browser.request_action("restart")
    browser.confirm()
    assert browser.wait(60) and browser.runner.last_error is None, browser.status.text
    assert browser.detail_view.logs is logs  # the same viewer, updated in place
    text = wait_for(lambda: RESTART_MARKER in logs.text.value and logs.text.value, 20)
    after = text.split(RESTART_MARKER, 1)[1]
    second = wait_for(lambda: RUN_ID.findall(logs.text.value.split(RESTART_MARKER, 1)[1]), 20)[0]
    assert second != first and f"run-{first}" not in after
    assert logs.follow.value is True and logs.following
    logs.follow.value = False
    browser.close()


def test_a_logviewer_notices_a_restart_made_elsewhere(session, ci_client, resource_group, unique_name):
    # A long first line-run: the new run's log soon is as long as the old one, which no length check sees.
    details = _create(session, unique_name, "echo run-$(date +%s%N); for i in 1 2 3; do echo tick-$i; done; sleep 600",
                      "Always")
    viewer = LogViewer(session, details, follow_interval=0.2)
    viewer.follow.value = True
    first = wait_for(lambda: "tick-3" in viewer.text.value and RUN_ID.findall(viewer.text.value), 20)[0]
    ci_client.container_groups.begin_restart(resource_group, unique_name).result()  # the SDK, not the widget
    text = wait_for(lambda: RESTART_MARKER in viewer.text.value and viewer.text.value, 20)
    new_run = wait_for(lambda: "tick-3" in viewer.text.value.split(RESTART_MARKER, 1)[1]
                       and viewer.text.value.split(RESTART_MARKER, 1)[1], 20)
    assert RUN_ID.findall(new_run) and RUN_ID.findall(new_run)[0] != first
    assert text.count(RESTART_MARKER) == 1 and viewer.following
    viewer.close()


def test_a_vanished_resource_group_empties_the_table_and_disables_the_actions(session, rm_client, resource_group,
                                                                             unique_name, emulator, arm_requests):
    _create(session, unique_name, "while true; do sleep 1; done", "Always")
    browser = _browse(session, unique_name)
    assert browser.table.records and _enabled(browser) == {"stop", "restart", "delete"}
    rm_client.resource_groups.begin_delete(resource_group).result()  # deleted elsewhere
    browser.refresh()
    assert browser.wait(30)
    assert browser.table.records == [] and browser.table.row_texts == []
    assert browser.selected == "" and browser.detail_view is None
    assert _enabled(browser) == set()
    line = browser.status.text
    assert f"resource group '{resource_group}' no longer exists" in line and "\n" not in line
    # A click on a row that is no longer there cannot happen, and an action asked from Python says why.
    emulator.control.clear_requests()
    browser.request_action("stop")
    assert "select a container group first" in browser.status.text and arm_requests() == []
    session.ensure_resource_group(resource_group)  # the fixture deletes it again
    browser.close()
