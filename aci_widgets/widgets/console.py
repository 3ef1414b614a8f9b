"""``ConsoleView``: an interactive terminal in a container (the browser's "Console" tab).

Plain ipywidgets, no custom front-end code, so it works offline in JupyterLab, Notebook 7 and VS Code:
an input line (Enter sends it), output in a scrolling box that stays at its bottom (a reversed flex
column: no JavaScript), a Ctrl-C button, and a history (the lines sent, newest first; picking one puts it
back in the input line, Send sends it). It connects only when asked (``connect()``: the browser calls it when the tab is
first shown), through ``session.open_console`` (the exec websocket, the same path as ``az container exec``).
One reader thread turns what arrives into the output's value; it never prints.
"""

from __future__ import annotations

import html
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .progress import one_line_error

if TYPE_CHECKING:
    from ..session import Session

MAX_OUTPUT_CHARS = 64 * 1024
HISTORY_SIZE = 50
# CSI and OSC escape sequences, and the other control characters a terminal would act on (not \n or \t).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]"
                      r"|[\x00-\x08\x0b-\x1f\x7f]")


def terminal_text(raw: str) -> str:
    """What a terminal's output reads as plain text: line ends made ``\\n``, escape sequences dropped, a
    backspace removes the character before it."""
    text = raw.replace("\r\n", "\n").replace("\r", "")
    out: list[str] = []
    for char in text:
        if char == "\b":
            if out and out[-1] != "\n":
                out.pop()
        else:
            out.append(char)
    return _ESCAPES.sub("", "".join(out))


def output_html(text: str) -> str:
    # column-reverse keeps the box scrolled to its newest line without any script
    return ("<div class='aci-console-output' style='display:flex;flex-direction:column-reverse;"
            "overflow-y:auto;max-height:320px;min-height:120px;background:#1e1e1e;color:#e6e6e6;"
            "padding:6px;border-radius:4px'><pre style='margin:0;white-space:pre-wrap;"
            "font-family:monospace;font-size:12px;color:inherit;background:transparent'>"
            f"{html.escape(text)}</pre></div>")


class ConsoleView(widgets.VBox):
    """A terminal in ``group``'s container (the first one unless ``container`` is given)."""

    def __init__(self, session: Session, group: str, container: str | None = None, *,
                 resource_group: str | None = None, containers: list[str] | None = None) -> None:
        self.session = session
        self.group = group
        self.resource_group = resource_group
        self.console: Any = None
        self.text = ""
        self.history: list[str] = []
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._setting_input = False
        names = containers or ([container] if container else [])
        self.container = widgets.Dropdown(options=names, value=container or (names[0] if names else None),
                                          description="container", layout=widgets.Layout(width="260px"))
        self.container.layout.display = "" if len(names) > 1 else "none"
        self.connect_button = widgets.Button(description="Connect", icon="terminal",
                                             layout=widgets.Layout(width="110px"))
        self.interrupt_button = widgets.Button(description="Ctrl-C", tooltip="interrupt the running command",
                                               disabled=True, layout=widgets.Layout(width="80px"))
        self.history_box = widgets.Dropdown(options=[("history", "")], value="", layout=widgets.Layout(width="220px"))
        self.input = widgets.Text(placeholder="a command; Enter sends it", continuous_update=False,
                                  disabled=True, layout=widgets.Layout(flex="1 1 auto"))
        self.send_button = widgets.Button(description="Send", disabled=True, layout=widgets.Layout(width="70px"))
        self.output = widgets.HTML(value=output_html(""))
        self.status = widgets.HTML(value="<span style='color:#666'>not connected</span>")
        self.connect_button.on_click(lambda _b: self.connect())
        self.interrupt_button.on_click(lambda _b: self.interrupt())
        self.send_button.on_click(lambda _b: self._send_input())
        self.input.observe(self._on_input, names="value")
        self.history_box.observe(self._on_history, names="value")
        toolbar = widgets.HBox([self.container, self.connect_button, self.interrupt_button, self.history_box])
        super().__init__(children=[toolbar, self.output, widgets.HBox([self.input, self.send_button]), self.status])
        self.add_class("aci-console")

    # -- actions -----------------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the terminal (a no-op while one is open). Runs in the background; errors show in the status."""
        if self.console is not None and not self.console.closed:
            return
        self.connect_button.disabled = True
        self.status.value = "<span style='color:#666'>connecting …</span>"
        threading.Thread(target=self._open, name="aci-console-open", daemon=True).start()

    def send(self, line: str) -> None:
        """Type ``line`` and Enter into the terminal; it goes into the history."""
        if self.console is None or self.console.closed:
            self.status.value = "<span style='color:#b00'>not connected</span>"
            return
        if line.strip():
            self.history = [line, *[h for h in self.history if h != line]][:HISTORY_SIZE]
            self._setting_input = True
            try:
                self.history_box.options = [("history", ""), *[(h, h) for h in self.history]]
                self.history_box.value = ""
            finally:
                self._setting_input = False
        self.console.send(line + "\r")

    def interrupt(self) -> None:
        if self.console is not None:
            self.console.interrupt()

    def wait_for(self, fragment: str, timeout: float = 10.0) -> bool:
        """True once ``fragment`` is in the output (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fragment in self.text:
                return True
            time.sleep(0.05)
        return fragment in self.text

    def close(self) -> None:
        if self.console is not None:
            self.console.close()
        super().close()

    # -- background --------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self.console = self.session.open_console(self.group, self.container.value,
                                                     resource_group=self.resource_group)
        except Exception as error:  # noqa: BLE001 - shown, never raised on a thread
            self.status.value = f"<span style='color:#b00'>{html.escape(one_line_error(error))}</span>"
            self.connect_button.disabled = False
            return
        self.input.disabled = False
        self.interrupt_button.disabled = False
        self.send_button.disabled = False
        self.status.value = (f"<span style='color:#080'>connected to {html.escape(self.group)}/"
                             f"{html.escape(self.console.container)}</span>")
        self._reader = threading.Thread(target=self._read_loop, args=(self.console,), name="aci-console",
                                        daemon=True)
        self._reader.start()

    def _read_loop(self, console: Any) -> None:
        pending = ""
        while not console.closed:
            chunk = console.read(0.3)
            if chunk:
                pending += chunk.decode("utf-8", "replace")
                if "\x1b" in pending[-8:] or pending.endswith("\r"):
                    continue  # an escape sequence or line end split across reads: wait for the rest
                with self._lock:
                    self.text = terminal_text(self.text + pending)[-MAX_OUTPUT_CHARS:]
                    pending = ""
                    self.output.value = output_html(self.text)
        self.input.disabled = True
        self.interrupt_button.disabled = True
        self.send_button.disabled = True
        self.connect_button.disabled = False
        self.status.value = "<span style='color:#666'>disconnected (the command ended); Connect opens a new one</span>"

    # -- widget events -----------------------------------------------------------------------------
    def _on_input(self, change: Any) -> None:
        if not self._setting_input and change["new"]:
            self._send_input()

    def _send_input(self) -> None:
        line = str(self.input.value)
        self.send(line)
        self._setting_input = True
        try:
            self.input.value = ""
        finally:
            self._setting_input = False

    def _on_history(self, change: Any) -> None:
        if self._setting_input or not change["new"]:
            return
        self._setting_input = True
        try:
            self.input.value = str(change["new"])  # back in the input line, to edit or send
            self.history_box.value = ""
        finally:
            self._setting_input = False
