"""Volumes on both engines (issue 14): each kind mounted at its mountPath.

emptyDir written by one container and read by the other; a secret's decoded content, read-only, mode 0444;
a gitRepo cloned from a local repository (served on 127.0.0.1) at a revision into a directory; an azureFile
share whose files a notebook reads after the task under ``<home>/azure-files/<account>/<share>``; readOnly honoured.
"""

from __future__ import annotations

import base64
import functools
import http.server
import subprocess
import threading
from pathlib import Path

import pytest

from aci_widgets.emulator.runtime.sandbox import sandbox_kind
from aci_widgets.emulator.runtime.volumes import azure_file_share

from .conftest import EngineEmulator, container, group_body, skip_outside_ci, wait_for


@pytest.fixture(autouse=True)
def _mounts_possible(engine_emulator: EngineEmulator) -> None:
    if engine_emulator.engine == "process" and sandbox_kind() != "bwrap":
        skip_outside_ci("no bubblewrap here: the process engine puts volumes under the working folder (COVERAGE.md)")


def _done(emu: EngineEmulator, rg: str, name: str) -> str:
    assert wait_for(lambda: emu.ci.container_groups.get(rg, name).instance_view.state in ("Succeeded", "Failed"),
                    timeout=30)
    return str(emu.ci.container_groups.get(rg, name).instance_view.state)


def test_empty_dir_is_shared_by_the_groups_containers(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    mount = [{"name": "scratch", "mountPath": "/mnt/scratch"}]
    emu.create(rg, "shared", group_body(
        container("writer", emu.images.shell, command=["/bin/sh", "-c", "echo from-writer > /mnt/scratch/note"],
                  mounts=mount, cpu=0.5, memory=0.5),
        container("reader", emu.images.shell, mounts=mount, cpu=0.5, memory=0.5, command=[
            "/bin/sh", "-c", ("for i in $(seq 100); do [ -s /mnt/scratch/note ] && break; sleep 0.1; done; "
                              "cat /mnt/scratch/note")]),
        policy="Never", volumes=[{"name": "scratch", "emptyDir": {}}]))
    assert _done(emu, rg, "shared") == "Succeeded"
    assert emu.logs(rg, "shared", "reader") == "from-writer\n"


def test_secret_files_are_decoded_and_read_only(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    value = "the key: s3cr3t\n"
    script = ("cat /etc/creds/api-key; stat -c %a /etc/creds/api-key; "
              "touch /etc/creds/new 2>/dev/null && echo writable || echo read-only")
    emu.create(rg, "secret", group_body(
        container("c", emu.images.shell, command=["/bin/sh", "-c", script],
                  mounts=[{"name": "creds", "mountPath": "/etc/creds"}]),
        policy="Never", volumes=[{"name": "creds", "secret": {"api-key": base64.b64encode(value.encode()).decode()}}]))
    assert _done(emu, rg, "secret") == "Succeeded"
    assert emu.logs(rg, "secret", "c") == f"{value}444\nread-only\n"
    assert "s3cr3t" not in str(emu.group_json(rg, "secret"))


def test_git_repo_is_cloned_at_its_revision(engine_emulator: EngineEmulator, rg: str, tmp_path: Path) -> None:
    emu = engine_emulator
    repo = tmp_path / "origin"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "version.txt").write_text("one\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    first = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    (repo / "version.txt").write_text("two\n")
    subprocess.run([*git, "commit", "-qam", "two"], check=True)
    # ACI takes http(s) repositories only: serve it on 127.0.0.1 with git's dumb HTTP protocol.
    bare = tmp_path / "served" / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(bare.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/origin.git"
    try:
        _create_git_group(emu, rg, url, first)
    finally:
        server.shutdown()
        server.server_close()
    assert _done(emu, rg, "git") == "Succeeded"
    assert emu.logs(rg, "git", "c") == "one\n"


def _create_git_group(emu: EngineEmulator, rg: str, url: str, revision: str) -> None:
    emu.create(rg, "git", group_body(
        container("c", emu.images.shell, command=["cat", "/src/code/version.txt"],
                  mounts=[{"name": "source", "mountPath": "/src"}]),
        policy="Never", volumes=[{"name": "source", "gitRepo": {"repository": url, "directory": "code",
                                                                 "revision": revision}}]))


def test_azure_file_share_is_a_folder_a_notebook_reads_after_the_task(engine_emulator: EngineEmulator,
                                                                       rg: str) -> None:
    emu = engine_emulator
    share = {"shareName": "results", "storageAccountName": f"acct{emu.engine}", "storageAccountKey": "a2V5"}
    emu.create(rg, "writer-task", group_body(
        container("c", emu.images.shell, command=["/bin/sh", "-c", "echo 42 > /aci/out/answer.txt"],
                  mounts=[{"name": "output", "mountPath": "/aci/out"}]),
        policy="Never", volumes=[{"name": "output", "azureFile": share}]))
    assert _done(emu, rg, "writer-task") == "Succeeded"
    folder = azure_file_share(emu.running.home.path, share["storageAccountName"], "results")
    assert (folder / "answer.txt").read_text() == "42\n"
    emu.ci.container_groups.begin_delete(rg, "writer-task").result()
    assert (folder / "answer.txt").exists()  # the share outlives the group, as on Azure

    emu.create(rg, "ro-reader", group_body(
        container("c", emu.images.shell, mounts=[{"name": "input", "mountPath": "/aci/in", "readOnly": True}],
                  command=["/bin/sh", "-c", ("cat /aci/in/answer.txt; touch /aci/in/x 2>/dev/null && echo writable "
                                             "|| echo read-only")]),
        policy="Never", volumes=[{"name": "input", "azureFile": share}]))
    assert _done(emu, rg, "ro-reader") == "Succeeded"
    assert emu.logs(rg, "ro-reader", "c") == "42\nread-only\n"
    assert not (folder / "x").exists()
