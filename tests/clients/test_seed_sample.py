"""The seed's own sample (tests/fixtures/seed-sample/aci_docs_sample.py, MIT) run as a script, with only the
edits its README lists, against a fresh emulator: every step it prints is checked, and so is the task's log.

The script runs once (module fixture); each test is one of its steps, so the tally reads off pytest's summary.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "seed-sample"

FACTORY = '''\
import json as _json
from azure.identity import ClientSecretCredential


def get_client_from_auth_file(client_class):
    with open(getenv('AZURE_AUTH_LOCATION'), encoding='utf-8') as auth_file:
        auth = _json.load(auth_file)
    credential = ClientSecretCredential(auth['tenantId'], auth['clientId'], auth['clientSecret'],
                                        authority=auth['activeDirectoryEndpointUrl'], disable_instance_discovery=True)
    return client_class(credential, auth['subscriptionId'], base_url=auth['resourceManagerEndpointUrl'],
                        credential_scopes=[auth['resourceManagerEndpointUrl'] + '.default'])'''

# (original, replacement, how many times the original occurs): the README's table, nothing else.
EDITS = [
    ("from azure.common.client_factory import get_client_from_auth_file", FACTORY, 1),
    ("from azure.mgmt.resource import ResourceManagementClient",
     "from azure.mgmt.resource.resources import ResourceManagementClient", 1),
    (".create_or_update(resource_group.name,", ".begin_create_or_update(resource_group.name,", 3),
    ("aciclient.container_groups.delete(", "aciclient.container_groups.begin_delete(", 3),
    ("resclient.resource_groups.delete(", "resclient.resource_groups.begin_delete(", 1),
    ("aci_client.container.list_logs(", "aci_client.containers.list_logs(", 1),
]


def edited_sample() -> str:
    text = (SAMPLE_DIR / "aci_docs_sample.py").read_text(encoding="utf-8")
    for original, replacement, times in EDITS:
        assert text.count(original) == times, original
        text = text.replace(original, replacement)
    # The factory defined at import time needs getenv, which the sample imports a line earlier.
    assert text.index("from os import getenv") < text.index("def get_client_from_auth_file")
    return text


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, emulator_tools: SimpleNamespace) -> Any:
    home = tmp_path_factory.mktemp("seed-sample-home")
    # Under Azure's default limits, as a user's emulator runs: the real sample must stay within them unchanged.
    emulator = emulator_tools.start_emulator(home, emulator_tools.free_port(), ("--limits=azure",))
    try:
        script = tmp_path_factory.mktemp("seed-sample") / "aci_docs_sample.py"
        script.write_text(edited_sample(), encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if not key.startswith("AZURE_")}
        env.update(AZURE_AUTH_LOCATION=str(emulator.auth_file), REQUESTS_CA_BUNDLE=str(emulator.ca_path))
        result = subprocess.run([sys.executable, str(script)], input="\n", capture_output=True, text=True,
                                env=env, timeout=240, check=False, cwd=script.parent)
        ci, rm = emulator_tools.sdk_clients(emulator.auth_file)
        groups_left = [g.name for g in ci.container_groups.list()]
        rgs_left = [g.name for g in rm.resource_groups.list()]
        yield SimpleNamespace(result=result, out=result.stdout, lines=result.stdout.splitlines(),
                              groups_left=groups_left, rgs_left=rgs_left)
    finally:
        left = emulator_tools.stop_emulator(emulator)
        assert not left, f"container processes left running: {sorted(left)}"


def _line(run: Any, pattern: str) -> re.Match[str]:
    for line in run.lines:
        match = re.fullmatch(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matches {pattern!r} in:\n{run.out}\n{run.result.stderr[-2000:]}")


def test_01_it_exits_0_without_a_traceback(run: Any) -> None:
    assert run.result.returncode == 0, run.result.stderr[-3000:]
    assert "Traceback" not in run.result.stderr


def test_02_authenticates_with_the_auth_file(run: Any) -> None:
    _line(run, r"Authenticating with Azure using credentials in file at .*auth\.json")


def test_03_creates_the_resource_group(run: Any) -> None:
    _line(run, r"Creating resource group 'aci-rg-\d{6}'\.\.\.")


def test_04_single_container_group_with_its_fqdn(run: Any) -> None:
    name = _line(run, r"Creating container group '(aci-\d{6})'\.\.\.").group(1)
    _line(run, rf"Once DNS has propagated, container group '{name}' will be reachable at "
               rf"http://{name}\.eastus\.localhost")


def test_05_multi_container_group_with_its_fqdn(run: Any) -> None:
    name = _line(run, r"Creating container group '(aci-\d{6}-multi)'\.\.\.").group(1)
    _line(run, rf"Once DNS has propagated, container group '{name}' will be reachable at "
               rf"http://{name}\.eastus\.localhost")


def test_06_task_group_with_its_start_command(run: Any) -> None:
    _line(run, r"Creating container group 'aci-\d{6}-task' with start command "
               r"'python wordcount\.py http://shakespeare\.mit\.edu/romeo_juliet/full\.html'")


def test_07_the_task_creation_succeeds(run: Any) -> None:
    _line(run, r"\.*Creation of container group 'aci-\d{6}-task' succeeded\.")


def test_08_the_task_log_is_a_word_count(run: Any) -> None:
    start = run.lines.index(_line(run, r"Logs for container 'aci-\d{6}-task':").group(0)) + 1
    end = run.lines.index(_line(run, r"Listing container groups in resource group 'aci-rg-\d{6}'\.\.\.").group(0))
    words = ast.literal_eval("\n".join(run.lines[start:end]).strip())
    # NumWords=5 and MinLength=8, as the sample sets them
    assert len(words) == 5 and all(len(word) >= 8 and count > 0 for word, count in words), words
    assert [count for _, count in words] == sorted((count for _, count in words), reverse=True)


def test_09_lists_its_three_groups(run: Any) -> None:
    at = run.lines.index(_line(run, r"Listing container groups in resource group 'aci-rg-\d{6}'\.\.\.").group(0))
    listed = [line.strip() for line in run.lines[at + 1:at + 4]]
    assert len(listed) == 3
    assert {re.sub(r"\d{6}", "N", name) for name in listed} == {"aci-N", "aci-N-multi", "aci-N-task"}


def test_10_details_of_the_multi_container_group(run: Any) -> None:
    name = _line(run, r"Name:   (aci-\d{6}-multi)").group(1)
    _line(run, r"State:  Succeeded")
    _line(run, rf"FQDN:   {name}\.eastus\.localhost")
    _line(run, r"IP:     127\.0\.0\.1")
    _line(run, r"Region: eastus")
    at = run.lines.index("Containers:")
    assert [line.strip() for line in run.lines[at + 1:at + 9]] == [
        f"Name:  {name}-1", "Image: microsoft/aci-helloworld", "State: Running", "----------",
        f"Name:  {name}-2", "Image: microsoft/aci-tutorial-sidecar", "State: Running", "----------"]


def test_11_asks_before_deleting(run: Any) -> None:
    assert "Press ENTER to delete all resources created by this sample: " in run.out


def test_12_deletes_everything_it_created(run: Any) -> None:
    assert run.groups_left == [] and run.rgs_left == []
