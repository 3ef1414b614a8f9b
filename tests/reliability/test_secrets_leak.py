"""Secrets never leak: secure env values, registry passwords and the auth file's clientSecret (issue 8, item 5).

Sentinel values go in through every front door (the magics in an IPython shell, the Python API), and every
place a user or a log could see them is scanned: cell output (text and rich), frames (``to_string()``),
exports (YAML, Python, az), errors, reprs, the emulator's HTTP answers and its log files. The SQLite store
may hold secure values (ACI keeps them too: it must restart the container with them); nothing else may.
The teaching notebooks are executed with nbclient and their outputs scanned for the clientSecret.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aci_widgets
from aci_widgets import session as sessions
from aci_widgets.errors import AciError
from aci_widgets.spec import GroupSpec, RegistryCredential

SECURE = f"SeNtInEl-secure-{uuid.uuid4().hex}"
PASSWORD = f"SeNtInEl-password-{uuid.uuid4().hex}"
REGISTRY = "sentinelreg.azurecr.io"
NOTEBOOKS = ["01-quickstart.ipynb", "02-seed-walkthrough.ipynb"]
NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


class Seen:
    """Everything a test showed or wrote, to scan at the end."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, value: Any) -> Any:
        self.texts.append((where, value if isinstance(value, str) else repr(value)))
        return value

    def leaks(self, *secrets: str) -> list[str]:
        return [f"{where}: ...{text[max(0, text.find(s) - 80):text.find(s) + 40]}..."
                for where, text in self.texts for s in secrets if s and s in text]


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def shell() -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "aci_widgets")
    yield ip
    sessions.set_default_session(None)


@pytest.fixture
def rg(emulator: Any) -> Iterator[str]:
    name = f"rg-secrets-{uuid.uuid4().hex[:8]}"
    session = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=name, quiet=True)
    session.ensure_resource_group(name)
    yield name
    session.delete_resource_group(name)
    sessions.set_default_session(None)


def run_cell(ip: Any, cell: str, seen: Seen) -> Any:
    """Run a cell; record its stdout, stderr, rich outputs and result as a user would see them."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell(cell)
    seen.add(f"{cell!r} stdout", captured.stdout)
    seen.add(f"{cell!r} stderr", captured.stderr)
    for output in captured.outputs:
        seen.add(f"{cell!r} display", json.dumps(output.data, default=repr))
    if result.result is not None:
        value = result.result
        seen.add(f"{cell!r} result", value.to_string() if hasattr(value, "to_string") else repr(value))
        for method in ("_repr_html_", "_repr_markdown_"):
            if hasattr(value, method):
                seen.add(f"{cell!r} {method}", str(getattr(value, method)()))
    if result.error_in_exec is not None:
        seen.add(f"{cell!r} error", f"{type(result.error_in_exec).__name__}: {result.error_in_exec}")
    return result


def scan_emulator(emulator: Any, rg: str, names: list[str], seen: Seen) -> None:
    """The emulator's own answers and files (the store excepted)."""
    session = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=rg, quiet=True)
    for name in names:
        try:
            seen.add(f"GET {name}", json.dumps(session.get_group_json(name)))
        except AciError as exc:
            seen.add(f"GET {name} error", str(exc))
    seen.add("list json", json.dumps(session.list_group_json()))
    for path in [*emulator.home.logs_dir.glob("*"), emulator.home.server_log_path]:
        seen.add(str(path), path.read_text(encoding="utf-8", errors="replace"))
    seen.add("request log", json.dumps(emulator.control.requests()))


def test_magics_never_show_secure_values_or_passwords(shell: Any, rg: str, emulator: Any, seen: Seen) -> None:
    name, failing = f"sec-{uuid.uuid4().hex[:6]}", f"secfail-{uuid.uuid4().hex[:6]}"
    registry = f"--registry-login-server {REGISTRY} --registry-username bob --registry-password {PASSWORD}"
    created = run_cell(shell, f'%aci create {name} -g {rg} --image alpine --command-line "sleep 60" '
                              f"--env PLAIN=visible --secure-env TOKEN={SECURE} {registry}", seen)
    assert created.success, seen.texts[-3:]
    for line in (f"%aci show {name} -g {rg}", f"%aci export {name} -g {rg}", f"%aci logs {name} -g {rg}",
                 f"%aci list -g {rg}", f"%aci list -g {rg} --live"):
        assert run_cell(shell, line, seen).success, line
    # A create ACI refuses (the private image is not in the catalogue), and a line the parser refuses.
    run_cell(shell, f"%aci create {failing} -g {rg} --image {REGISTRY}/private:1 --secure-env TOKEN={SECURE} "
                    f"{registry}", seen)
    run_cell(shell, f"%aci create Bad_Name -g {rg} --image alpine --secure-env TOKEN={SECURE} {registry}", seen)
    run_cell(shell, f"%aci create x -g {rg} --image alpine --secure-env TOKEN={SECURE} --cpu lots", seen)
    run_cell(shell, f"%%aci create {name}-yaml -g {rg}\n" + _yaml(f"{name}-yaml"), seen)
    assert any("visible" in text for _, text in seen.texts), "the plain env value should be shown"
    scan_emulator(emulator, rg, [name, failing, f"{name}-yaml"], seen)
    client_secret = emulator.auth["clientSecret"]
    assert not seen.leaks(SECURE, PASSWORD, client_secret), seen.leaks(SECURE, PASSWORD, client_secret)


def _yaml(name: str) -> str:
    return f"""apiVersion: 2023-05-01
name: {name}
location: eastus
type: Microsoft.ContainerInstance/containerGroups
properties:
  osType: Linux
  restartPolicy: Never
  containers:
  - name: main
    properties:
      image: alpine
      command: ["true"]
      resources: {{requests: {{cpu: 0.5, memoryInGB: 0.5}}}}
      environmentVariables:
      - name: TOKEN
        secureValue: {SECURE}
  imageRegistryCredentials:
  - server: {REGISTRY}
    username: bob
    password: {PASSWORD}
"""


def test_python_api_never_shows_secure_values_or_passwords(emulator: Any, rg: str, seen: Seen) -> None:
    from aci_widgets.spec import formats as spec_io

    session = aci_widgets.connect(auth_file=emulator.auth_file, resource_group=rg, quiet=True)
    notes: list[str] = []
    session.notify = notes.append
    name = f"secapi-{uuid.uuid4().hex[:6]}"
    spec = GroupSpec.single(name, "alpine", command=["sleep", "60"], env={"PLAIN": "visible"},
                            secure_env={"TOKEN": SECURE}, registry=RegistryCredential(REGISTRY, "bob", PASSWORD))
    for label, value in (("repr spec", repr(spec)), ("str spec", str(spec)), ("yaml", spec_io.to_yaml(spec)),
                         ("python", spec_io.to_python(spec)), ("az", spec_io.to_az(spec)),
                         ("without_secrets", repr(spec.without_secrets()))):
        seen.add(label, value)
    details = session.create_group(spec, progress=lambda p: seen.add("progress", p.line()))
    seen.add("details repr", repr(details))
    seen.add("details html", getattr(details, "_repr_html_", lambda: "")())
    seen.add("details json", json.dumps(details.json))
    seen.add("details model", repr(details.model))
    seen.add("instance view", details.instance_view.to_string())
    seen.add("events", details.events.to_string())
    seen.add("properties", repr(details.properties))
    seen.add("list frame", session.list_groups().to_string())
    seen.add("live frame", session.list_groups(live=True).to_string())
    seen.add("get", repr(session.get_group(name)))
    seen.add("export", session.export_group(name))
    seen.add("logs", session.logs(name))
    seen.add("session", repr(session))
    seen.add("whoami", repr(session.whoami()))
    round_trip = spec_io.spec_from_yaml(session.export_group(name))
    seen.add("round trip", repr(round_trip))
    # Errors: ACI refusing the group, and the library refusing input, both mentioning the secure variable.
    failing = GroupSpec.single(f"secbad-{uuid.uuid4().hex[:6]}", f"{REGISTRY}/private:1",
                               secure_env={"TOKEN": SECURE}, registry=RegistryCredential(REGISTRY, "bob", PASSWORD))
    with pytest.raises(AciError) as refused:
        session.create_group(failing)
    seen.add("aci error", f"{refused.value!s} {refused.value!r} {refused.value.args!r}")
    invalid = GroupSpec.single("Bad_Name", "alpine", secure_env={"TOKEN": SECURE, "1bad": SECURE},
                               registry=RegistryCredential(REGISTRY, "bob", PASSWORD))
    with pytest.raises(AciError) as rejected:
        session.create_group(invalid)
    seen.add("invalid input", f"{rejected.value!s} {rejected.value!r} {getattr(rejected.value, 'problems', '')!r}")
    seen.add("notices", "\n".join(notes))
    scan_emulator(emulator, rg, [name], seen)
    client_secret = emulator.auth["clientSecret"]
    assert any("visible" in text for _, text in seen.texts)
    assert not seen.leaks(SECURE, PASSWORD, client_secret), seen.leaks(SECURE, PASSWORD, client_secret)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_teaching_notebooks_never_show_the_client_secret(notebook: str, emulator: Any) -> None:
    import nbformat
    from nbclient import NotebookClient

    path = NOTEBOOK_DIR / notebook
    assert path.exists(), f"{notebook} is missing"
    document = nbformat.read(path, as_version=4)
    # The kernel finds the session's emulator through ACI_EMULATOR_HOME/PORT (set by the emulator fixture).
    assert os.environ.get("ACI_EMULATOR_HOME") == str(emulator.home.path)
    NotebookClient(document, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    outputs = json.dumps([cell.get("outputs", []) for cell in document.cells])
    secret = emulator.auth["clientSecret"]
    assert secret not in outputs
    assert secret not in emulator.home.server_log_path.read_text(encoding="utf-8", errors="replace")
