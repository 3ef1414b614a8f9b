"""``LogViewer``: one container's log in a Textarea, with refresh and bounded, append-only following.

ACI has no log stream: following means polling the logs API. Each round makes one get (has the container
terminated?) and one logs request, and appends only the lines a :class:`~aci_widgets.logtail.LogCursor`
has not emitted yet, so a line appears exactly once (``az container logs --follow`` repaints the whole log
and repeats lines outside a terminal, azure-cli#21298). The polling thread only sets widget values.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..logtail import LogCursor
from ..ops import container_finished, new_run, run_marker
from ..results import GroupDetails
from .progress import StatusLine, one_line_error

if TYPE_CHECKING:
    from ..session import Session

FOLLOW_MAX_SECONDS = 600.0


def _interval_for(session: Any) -> float:
    """One poll a second locally; ARM requests cost more on Azure, and its logs lag a little anyway."""
    return 1.0 if getattr(session, "backend", "") == "local" else 2.0


def _window(lines: list[str], tail: int) -> list[str]:
    return lines[-tail:] if tail > 0 else lines


class LogViewer(widgets.VBox):
    """The log of one container of a group.

    ``group`` is a group name (one get finds its containers) or the :class:`GroupDetails` of a get the
    caller already made (no extra request: the browser passes its own). The text is ``viewer.text.value``.
    """

    def __init__(self, session: Session | None, group: str | GroupDetails, container: str | None = None, *,
                 resource_group: str | None = None, tail: int = 0, timestamps: bool = False,
                 follow_interval: float | None = None, follow_max_seconds: float = FOLLOW_MAX_SECONDS,
                 load: bool = True) -> None:
        if session is None:
            from ..session import default_session

            session = default_session()
        self.session = session
        if isinstance(group, GroupDetails):
            details = group
        else:
            details = session.get_group(group, resource_group)
        self.group_name = details.name
        self.resource_group = resource_group or details.resource_group or session.resource_group
        self._details_json: Mapping[str, Any] = details.json
        containers = details.containers
        if container is not None and container not in containers:
            from ..errors import NotFound

            raise NotFound(f"The container '{container}' does not exist in container group '{details.name}'.")
        self.follow_interval = follow_interval if follow_interval is not None else _interval_for(session)
        self.follow_max_seconds = follow_max_seconds

        first = containers[0] if containers else None
        self.container = widgets.Dropdown(options=containers, value=container or first, description="container",
                                          layout=widgets.Layout(width="260px"))
        self.tail = widgets.BoundedIntText(value=max(0, int(tail)), min=0, max=1_000_000, description="tail",
                                           tooltip="how many of the last lines to show; 0 shows all",
                                           layout=widgets.Layout(width="150px"))
        self.timestamps = widgets.Checkbox(value=timestamps, description="timestamps", indent=False,
                                           layout=widgets.Layout(width="110px"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="fetch the log again", layout=widgets.Layout(width="100px"))
        self.follow = widgets.ToggleButton(value=False, description="Follow", icon="play",
                                           tooltip="poll for new lines until the container terminates",
                                           layout=widgets.Layout(width="100px"))
        self.status = StatusLine()
        self.text = widgets.Textarea(value="", placeholder="no output yet",
                                     layout=widgets.Layout(width="100%", height="260px"))
        self.text.add_class("aci-log-text")
        controls = widgets.HBox([self.container, self.tail, self.timestamps, self.refresh_button, self.follow])
        super().__init__(children=[controls, self.status.widget, self.text])

        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._restart_follow = threading.Event()
        self._thread: threading.Thread | None = None
        self._setting_follow = False
        self._wakeup = False  # set with _stop when an option changed: start over instead of stopping
        self.follow_ended = ""  # why the last follow stopped: "terminated", "stopped", "timeout", "error"
        # Called (from the follow thread) with each GET answer; the detail view sets it.
        self.on_answer: Callable[[Mapping[str, Any]], None] | None = None

        # Observers only after the initial values are in: building the viewer must make no request
        # except the one explicit refresh below.
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.follow.observe(self._on_follow, names="value")
        for control in (self.container, self.tail, self.timestamps):
            control.observe(self._on_option, names="value")
        if load and containers:
            self.refresh()
        elif not containers:
            self.status.error(f"{self.group_name} has no containers")

    # -- snapshot -------------------------------------------------------------------------------------------
    def refresh(self) -> str:
        """Fetch the log once (one request) and show it; returns the text shown."""
        container = self.container.value
        if not container:
            return ""
        try:
            content = self.session.logs(self.group_name, container, resource_group=self.resource_group,
                                        tail=self.tail.value or None, timestamps=self.timestamps.value)
        except Exception as exc:  # noqa: BLE001 - shown in the widget; a widget callback has no caller
            self.status.error(f"logs of {container}: {one_line_error(exc)}")
            return self.text.value
        shown = content.removesuffix("\n")
        self.text.value = shown
        count = len(shown.splitlines())
        self.status.show(f"{container}: {count} line{'s' if count != 1 else ''} at {time.strftime('%H:%M:%S')}")
        return shown

    # -- following ------------------------------------------------------------------------------------------
    @property
    def following(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start_following(self) -> None:
        self.follow.value = True

    def stop_following(self, wait: float | None = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)

    def wait_following(self, timeout: float | None = None) -> bool:
        """Block until following ended (the container terminated, or it was stopped); True if it did."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _on_follow(self, change: Mapping[str, Any]) -> None:
        if self._setting_follow:
            return
        if change["new"]:
            self._start_thread()
        else:
            self._stop.set()

    def _on_option(self, _change: Mapping[str, Any]) -> None:
        if self.following:
            self._restart_follow.set()  # the thread starts over with the new container/options
            self._stop_wait_wakeup()
        else:
            self.refresh()

    def _stop_wait_wakeup(self) -> None:
        # The thread sleeps on _stop; a restart request must not wait a whole interval. A separate
        # event would need a second wait, so wake it and let it tell a restart from a stop.
        with self._lock:
            self._wakeup = True
            self._stop.set()

    def _start_thread(self) -> None:
        with self._lock:
            if self.following:
                return
            self._stop = threading.Event()
            self._restart_follow.clear()
            self._wakeup = False
            self.follow_ended = ""
            self._thread = threading.Thread(target=self._follow_main, name=f"aci-widgets follow {self.group_name}",
                                            daemon=True)
            self.follow.icon = "stop"
            self._thread.start()

    def _set_follow_off(self) -> None:
        self._setting_follow = True
        try:
            self.follow.value = False
            self.follow.icon = "play"
        finally:
            self._setting_follow = False

    def _follow_main(self) -> None:
        started = time.monotonic()
        container = self.container.value
        cursor, lines = LogCursor(), []
        marker: tuple[int, str] | None = None
        reason = "stopped"
        try:
            while True:
                if self._restart_follow.is_set():
                    self._restart_follow.clear()
                    container, cursor, lines, marker = self.container.value, LogCursor(), [], None
                group_json = self.session.get_group_json(self.group_name, self.resource_group)
                self._answered(group_json)
                finished = container_finished(group_json, container)
                current = run_marker(group_json, container)
                if new_run(marker, current):  # a new run (restarted here or elsewhere): its log starts again
                    lines.extend(cursor.restart())
                if marker is None or current[1] or current[0] != marker[0]:
                    marker = current
                content = self.session.logs(self.group_name, container, resource_group=self.resource_group,
                                            timestamps=self.timestamps.value)
                lines.extend(cursor.advance(content))
                if finished:
                    lines.extend(cursor.flush())
                self._show_lines(lines, cursor.partial)
                elapsed = time.monotonic() - started
                if finished:
                    reason = "terminated"
                    self.status.ok(f"{container} terminated; {len(lines)} lines (followed {elapsed:.0f} s)")
                    break
                if elapsed >= self.follow_max_seconds:
                    reason = "timeout"
                    self.status.show(f"stopped following after {self.follow_max_seconds:g} s; "
                                     "press Follow to go on")
                    break
                self.status.busy(f"following {container}: {len(lines)} lines ({elapsed:.0f} s)")
                if self._stop.wait(self.follow_interval * self.session.calls.slowdown()):
                    with self._lock:
                        if self._wakeup:  # an option changed: go on with a fresh cursor
                            self._wakeup = False
                            self._stop.clear()
                            continue
                    self.status.show(f"stopped following {container}; {len(lines)} lines")
                    break
        except Exception as exc:  # noqa: BLE001 - a background thread reports through the status line
            reason = "error"
            self.status.error(f"following {container}: {one_line_error(exc)}")
        finally:
            self.follow_ended = reason
            self._set_follow_off()

    def _answered(self, group_json: Mapping[str, Any]) -> None:
        """Every GET answer the viewer gets goes to ``on_answer`` (the detail view above re-renders from it:
        one latest answer for header, instance view and log, issue 17 case 4)."""
        self._details_json = group_json
        if self.on_answer is not None:
            try:
                self.on_answer(group_json)
            except Exception as exc:  # noqa: BLE001 - a listener's bug must not stop the log
                self.status.error(f"showing the latest answer: {one_line_error(exc)}")

    def adopt(self, details: GroupDetails) -> None:
        """A newer GET answer made by someone else (the browser after an action): use it, no request."""
        self._details_json = details.json

    def _show_lines(self, lines: list[str], partial: str) -> None:
        shown = _window(lines + ([partial] if partial else []), self.tail.value)
        text = "\n".join(shown)
        if text != self.text.value:
            self.text.value = text

    # -- lifecycle and fallbacks -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop following (if it runs) and close the widget."""
        self.stop_following(wait=2.0)
        for child in (self.container, self.tail, self.timestamps, self.refresh_button, self.follow,
                      self.status.widget, self.text):
            child.close()
        super().close()

    def summary(self) -> str:
        count = len(self.text.value.splitlines())
        return f"LogViewer {self.group_name}/{self.container.value}: {count} lines"

    def _repr_html_(self) -> str:
        return (f"<div><b>{html.escape(self.group_name)}/{html.escape(str(self.container.value))}</b>"
                f"<pre>{html.escape(self.text.value)}</pre></div>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self.summary()
        bundle["text/html"] = self._repr_html_()
        return bundle
