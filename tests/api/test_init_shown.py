"""An init container's outcome is where users look (found in a new user's trial: a group that failed in its
init phase said nothing of why): the details' instance view and events, its properties, a task summary."""

from __future__ import annotations

import time

from aci_widgets import GroupSpec
from aci_widgets.results import TaskResult


def test_a_failed_init_container_is_shown(session, unique_name):
    spec = GroupSpec.from_dict({"name": unique_name, "location": "eastus", "properties": {
        "osType": "Linux", "restartPolicy": "Never",
        "initContainers": [{"name": "setup", "properties": {
            "image": "alpine", "command": ["/bin/sh", "-c", "echo failing; exit 5"]}}],
        "containers": [{"name": "app", "properties": {
            "image": "alpine", "command": ["echo", "never"],
            "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}}}}]}})
    session.create_group(spec)
    deadline = time.monotonic() + 20
    while (details := session.get_group(unique_name)).state != "Failed":
        assert time.monotonic() < deadline, details.state
        time.sleep(0.1)
    view = details.instance_view
    setup = view[view["init"]].iloc[0]
    assert (setup["container"], setup["state"], setup["exit_code"]) == ("setup", "Terminated", 5)
    assert view[~view["init"]]["container"].tolist() == ["app"]
    assert "setup" in set(details.events["container"])
    assert details.properties["Init containers"].startswith("setup (Terminated, exit 5")
    assert details.init_exit_codes == {"setup": 5} and details.exit_codes == {"app": None}
    summary = TaskResult(details, {}, 0.0).summary()
    assert "init setup: exit 5" in summary, summary
    assert session.logs(unique_name, "setup").strip() == "failing"
