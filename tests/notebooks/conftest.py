"""Fixtures for the notebook tests: a dedicated emulator home and port that kernels find by environment.

The teaching notebooks start the emulator themselves (``%aci use local`` starts it on demand), exactly as a
user's first run does. They must not touch the session emulator of the other tests, so this module points
``ACI_EMULATOR_HOME`` / ``ACI_EMULATOR_PORT`` at a fresh folder and port; every kernel or Jupyter server
started while the fixture is active inherits them. At the end the emulator is stopped and no container
process may be left.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aci_widgets.emulator import launcher
from aci_widgets.emulator.config import HOME_ENV, PORT_ENV, EmulatorHome

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO / "notebooks"
ARTIFACTS_DIR = REPO / "test-artifacts"

# Variables that would send a notebook to Azure, or change its defaults: never inherited by a test kernel.
_CLEARED = ("AZURE_AUTH_LOCATION", "AZURE_SUBSCRIPTION_ID", "ACI_RESOURCE_GROUP", "ACI_LOCATION",
            "ACI_SHOW_TRACEBACKS", "REQUESTS_CA_BUNDLE")


@dataclass
class NotebookEmulator:
    """Where the notebooks' emulator lives; ``server_pid()`` is None until a notebook has started it."""

    home: EmulatorHome
    port: int
    tools: SimpleNamespace

    def server_pid(self) -> int | None:
        return launcher.status(self.home).pid

    def container_processes(self) -> set[int]:
        """Live processes using the home other than the server itself (kernels and Jupyter servers too,
        since they inherit the home in their environment: call this once those are gone)."""
        server = self.server_pid()
        return self.tools.processes_using(self.home.path, exclude={server} if server else set())

    def wait_for_no_containers(self, timeout: float = 10.0) -> set[int]:
        """The leftover processes after waiting up to ``timeout`` for them to go (deletes are asynchronous)."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.container_processes()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def resource_groups(self) -> list[str]:
        """Resource groups in this emulator (through the stock SDK client, built from its auth file)."""
        _ci, rm = self.tools.sdk_clients(self.home.auth_file_path)
        return [group.name for group in rm.resource_groups.list()]

    # helpers for the test modules (which cannot import this conftest by name)
    @staticmethod
    def describe_processes(pids: set[int]) -> str:
        return describe_processes(pids)

    @staticmethod
    def output_texts(cell: Any) -> list[str]:
        return output_texts(cell)

    def delete_resource_group(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        _ci, rm = self.tools.sdk_clients(self.home.auth_file_path)
        try:
            rm.resource_groups.begin_delete(name).result()
        except ResourceNotFoundError:
            pass


@pytest.fixture(scope="module")
def notebook_emulator(tmp_path_factory: pytest.TempPathFactory, emulator_tools: SimpleNamespace
                      ) -> Iterator[NotebookEmulator]:
    home = EmulatorHome(tmp_path_factory.mktemp("notebook-emulator-home"))
    port = emulator_tools.free_port()
    patch = pytest.MonkeyPatch()
    patch.setenv(HOME_ENV, str(home.path))
    patch.setenv(PORT_ENV, str(port))
    patch.setenv("ACI_WIDGETS_BACKEND", "local")
    # Headless kernels: matplotlib must not look for a display.
    patch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in _CLEARED:
        patch.delenv(name, raising=False)
    running = NotebookEmulator(home, port, emulator_tools)
    try:
        yield running
    finally:
        patch.undo()
        launcher.stop(home)
        left = emulator_tools.processes_using(home.path, exclude=set())
        deadline = time.monotonic() + 10
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = emulator_tools.processes_using(home.path, exclude=set())
        assert not left, f"processes left running after the notebooks' emulator stopped: {sorted(left)}"


# -- the real-browser tests: a Jupyter server of our own and headless Chromium ----------------------------------
# The recipe (flags, kernel wait, news toast): reference/browser-testing.md. Used by test_browser.py and
# test_table_keyboard.py; they start a server through the ``start_jupyter`` fixture (test modules cannot
# import this conftest by name).

SERVER_TIMEOUT = 60.0
KERNEL_TIMEOUT = 60.0
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def _browser_or_skip() -> tuple[str, Any]:
    """(chromium path, playwright.sync_api.sync_playwright), or skip; in CI a missing browser fails."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = []
    if chromium is None:
        missing.append("Debian's chromium (apt-get install -y chromium)")
    if sync_playwright is None:
        missing.append("the Python playwright package (pip install playwright; never `playwright install`)")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("ACI_WIDGETS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (ACI_WIDGETS_REQUIRE_BROWSER=1: a missing browser is a failure)")
        pytest.skip(reason)
    return chromium, sync_playwright  # type: ignore[return-value]



@dataclass
class JupyterServer:
    process: subprocess.Popen[bytes]
    url: str
    token: str
    log_path: Path

    def api(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def wait_for_idle_kernel(self) -> float:
        """Run All before the kernel is connected and idle is silently dropped (the recipe's step 5)."""
        started = time.monotonic()
        while time.monotonic() - started < KERNEL_TIMEOUT:
            try:
                kernels = self.api("/api/kernels")
            except (urllib.error.URLError, OSError):
                # jupyter_server answers 500 while a kernel is half-started (its last_activity is still None);
                # on a loaded machine that window is seconds long: ask again.
                time.sleep(0.25)
                continue
            if any(k.get("connections", 0) >= 1 and k.get("execution_state") == "idle" for k in kernels):
                return time.monotonic() - started
            time.sleep(0.25)
        raise AssertionError(f"no connected idle kernel after {KERNEL_TIMEOUT:.0f} s: {self.api('/api/kernels')}")


def _isolated_jupyter_dirs(base: Path) -> dict[str, Path]:
    """Fresh config/runtime/data/IPython/workspace/settings folders: nothing of the user's leaks in."""
    dirs = {name: base / name for name in ("config", "runtime", "data", "ipython", "workspaces", "settings")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    # The "get notified about Jupyter news?" toast covers elements: turned off by the quickstart's own step
    # (scripts/lab_no_news.py), so this test also checks that quickstart.sh opens without it.
    subprocess.run([sys.executable, str(REPO / "scripts" / "lab_no_news.py")], check=True, capture_output=True,
                   env=dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"])))
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    assert json.loads(notification.read_text()) == {"fetchNews": "false"}
    return dirs


def start_jupyter(app: str, root: Path, base: Path, port: int) -> JupyterServer:
    """``jupyter lab`` or ``jupyter notebook`` on 127.0.0.1 with a random token; waits for /api/status."""
    dirs = _isolated_jupyter_dirs(base)
    token = secrets.token_hex(24)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
               JUPYTER_DATA_DIR=str(dirs["data"]), IPYTHONDIR=str(dirs["ipython"]))
    log_path = base / f"jupyter-{app}.log"
    command = [sys.executable, "-m", "jupyter", app, "--no-browser", "--allow-root", "--ip=127.0.0.1",
               f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", f"--LabServerApp.workspaces_dir={dirs['workspaces']}",
               f"--LabServerApp.user_settings_dir={dirs['settings']}"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    server = JupyterServer(process, f"http://127.0.0.1:{port}", token, log_path)
    deadline = time.monotonic() + SERVER_TIMEOUT
    while True:
        if process.poll() is not None:
            raise AssertionError(f"jupyter {app} exited ({process.returncode}):\n{server.log_tail()}")
        try:
            server.api("/api/status")
            return server
        except (OSError, urllib.error.URLError, ValueError):
            if time.monotonic() > deadline:
                server.stop()
                raise AssertionError(f"jupyter {app} did not answer in {SERVER_TIMEOUT:.0f} s:\n"
                                     f"{server.log_tail()}") from None
            time.sleep(0.25)


@dataclass
class NotebookPage:
    """A notebook open in the real browser: its page, the page's JavaScript errors, screenshots by step."""

    context: Any
    page: Any
    errors: list[str]
    shot_path: Callable[[str], Path]
    kernel_seconds: float = 0.0

    def shot(self, step: str) -> None:
        self.page.screenshot(path=str(self.shot_path(step)), full_page=False)

    @contextlib.contextmanager
    def guard(self, app: str, server: JupyterServer, emulator: NotebookEmulator, resource_group: str) -> Iterator[None]:
        """Around a test's steps: a screenshot on failure; then the page, the server and the test's resource group
        closed whatever happened; on success, no container process may be left."""
        try:
            yield
        except Exception:
            self.shot("failure")
            raise
        finally:
            self.context.close()
            server.stop()
            # The next front end starts from nothing (the quickstart keeps its groups: CLEAN_UP = False).
            if emulator.server_pid() is not None:
                emulator.delete_resource_group(resource_group)
        left = emulator.wait_for_no_containers()
        assert not left, f"processes left after the {app} run:\n{emulator.describe_processes(left)}"

    def run_all_cells(self) -> None:
        """Run > Run All Cells (both front ends have the JupyterLab menu bar)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def open_notebook(browser: Any, server: JupyterServer, url_path: str, shot_path: Callable[[str], Path], *,
                  step_timeout_ms: int) -> NotebookPage:
    """Open ``url_path`` (the front end's path + the notebook's name) at 1400x1000 and wait for its kernel."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(step_timeout_ms)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    opened = NotebookPage(context, page, errors, shot_path)
    page.goto(f"{server.url}{url_path}?token={server.token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    opened.kernel_seconds = server.wait_for_idle_kernel()
    return opened


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (Debian's binary, through playwright)."""
    chromium, sync_playwright = _browser_or_skip()
    # The browser needs none of the emulator's settings; without them in its environment, the leftover
    # checks (which look for processes naming the emulator's home) never mistake Chromium for a container.
    with pytest.MonkeyPatch.context() as patch:
        for name in ("ACI_EMULATOR_HOME", "ACI_EMULATOR_PORT"):
            patch.delenv(name, raising=False)
        playwright = sync_playwright().start()
    try:
        instance = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            instance.close()
    finally:
        playwright.stop()


@pytest.fixture(name="open_notebook")
def _open_notebook_fixture() -> Any:
    """``open_notebook(browser, server, url_path, shot_path, step_timeout_ms=...)`` -> NotebookPage."""
    return open_notebook


@pytest.fixture(name="start_jupyter")
def _start_jupyter_fixture() -> Any:
    """``start_jupyter(app, root, base, port)``: a ``JupyterServer`` answering on 127.0.0.1; the caller stops it."""
    return start_jupyter


def describe_processes(pids: set[int]) -> str:
    """``pid: command line`` for each pid, for failure messages."""
    lines = []
    for pid in sorted(pids):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            command = "(gone)"
        lines.append(f"{pid}: {command.strip()}")
    return "\n".join(lines)


def output_texts(cell: Any) -> list[str]:
    """Every text an executed code cell showed (streams, plain text, HTML, error fields)."""
    texts: list[str] = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            texts.append("\n".join([output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]))
        else:
            for mime in ("text/plain", "text/html"):
                value = output.get("data", {}).get(mime)
                if value:
                    texts.append(value if isinstance(value, str) else "".join(value))
    return texts
