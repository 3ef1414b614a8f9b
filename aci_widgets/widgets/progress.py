"""A status line and a runner for operations that run in the background.

Why a thread and not ``with output:``: since ipykernel 7 output printed or displayed from another
thread can land in the wrong cell or nowhere (ipykernel#1450, ipywidgets#4020). Setting a widget's
*value* from a thread is what works everywhere, so the runner reports only through ``HTML.value``.
Nothing here prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..errors import AciError
from ..results import Progress
from .render import status_html

TICK_SECONDS = 0.5


def one_line_error(exc: BaseException) -> str:
    """An exception as the one line a user should read: our errors already are; others get their type."""
    if isinstance(exc, AciError):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class StatusLine:
    """An ``HTML`` widget showing one line: idle text, a running operation with its elapsed time, or a result."""

    def __init__(self, idle: str = "", widget: widgets.HTML | None = None) -> None:
        self.widget = widget if widget is not None else widgets.HTML()
        self.widget.value = status_html(idle) if idle else ""
        self.text = idle  # the plain message, for tests and text fallbacks
        self.kind = "info"

    def show(self, message: str, kind: str = "info") -> None:
        self.text, self.kind = message, kind
        self.widget.value = status_html(message, kind)

    def busy(self, message: str) -> None:
        self.show(message, "busy")

    def ok(self, message: str) -> None:
        self.show(message, "ok")

    def error(self, message: str) -> None:
        self.show(message, "error")

    def clear(self) -> None:
        self.show("", "info")


class BackgroundRunner:
    """Runs one operation at a time in a daemon thread, with a ticking status line.

    ``run(label, work, on_success=...)``: ``work(progress)`` runs in the thread; ``progress`` accepts
    :class:`~aci_widgets.results.Progress` reports (or plain strings) and shows them with the elapsed time.
    The status line ticks every half second even when the operation reports nothing (start, stop,
    delete), so the user sees it is alive. ``on_success(result)`` and ``on_error(exc)`` run in the same
    thread afterwards. Errors end as one red line; they are kept in ``last_error`` for tests.
    """

    def __init__(self, status: StatusLine, *, on_busy_change: Callable[[bool], None] | None = None) -> None:
        self.status = status
        self.on_busy_change = on_busy_change
        self.thread: threading.Thread | None = None
        self.last_error: BaseException | None = None
        self.last_result: Any = None
        self._lock = threading.Lock()
        self._running = False  # set before the thread starts, cleared before on_busy_change(False)

    @property
    def busy(self) -> bool:
        return self._running

    def run(self, label: str, work: Callable[[Callable[[Progress | str], None]], Any], *,
            on_success: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None) -> threading.Thread | None:
        """Start ``work`` unless another operation runs (then say so and return None)."""
        with self._lock:
            if self.busy:
                self.status.error(f"{label}: another operation is still running; wait for it to finish")
                return None
            self.last_error = None
            self.last_result = None
            self._running = True
            thread = threading.Thread(target=self._main, args=(label, work, on_success, on_error),
                                      name=f"aci-widgets {label}", daemon=True)
            self.thread = thread
        self._busy_changed(True)
        thread.start()
        return thread

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current operation ended; True if it did within ``timeout``."""
        thread = self.thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- in the thread ------------------------------------------------------------------------------------
    def _main(self, label: str, work: Callable[..., Any], on_success: Callable[[Any], None] | None,
              on_error: Callable[[BaseException], None] | None) -> None:
        started = time.monotonic()
        latest = {"status": "starting"}
        done = threading.Event()

        def show() -> None:
            self.status.busy(f"{label}: {latest['status']} ({time.monotonic() - started:.1f} s)")

        def progress(report: Progress | str) -> None:
            latest["status"] = report.status if isinstance(report, Progress) else str(report)
            if not done.is_set():
                show()

        def tick() -> None:
            while not done.wait(TICK_SECONDS):
                show()

        show()
        ticker = threading.Thread(target=tick, name=f"aci-widgets {label} ticker", daemon=True)
        ticker.start()
        try:
            result = work(progress)
        except BaseException as exc:  # noqa: BLE001 - a background thread has nobody else to report to
            done.set()
            ticker.join()
            self.last_error = exc
            self.status.error(f"{label} failed: {one_line_error(exc)}")
            if on_error is not None:
                self._guarded(on_error, exc)
        else:
            done.set()
            ticker.join()
            self.last_result = result
            self.status.ok(f"{label}: done in {time.monotonic() - started:.1f} s")
            if on_success is not None:
                self._guarded(on_success, result)
        finally:
            self._running = False
            self._busy_changed(False)

    def _guarded(self, callback: Callable[[Any], None], value: Any) -> None:
        try:
            callback(value)
        except Exception as exc:  # noqa: BLE001 - show it instead of losing it in a thread
            self.last_error = exc
            self.status.error(one_line_error(exc))

    def _busy_changed(self, busy: bool) -> None:
        if self.on_busy_change is not None:
            try:
                self.on_busy_change(busy)
            except Exception as exc:  # noqa: BLE001
                self.status.error(one_line_error(exc))
