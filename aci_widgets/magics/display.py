"""How ``%aci`` shows things: progress, one-line errors, and readable results in a notebook or a terminal.

Results are returned, not printed, so that ``x = %aci show NAME`` assigns silently (IPython displays a
line magic's value only when it is not assigned). The returned objects are thin subclasses of the API's
results that know how to look in each front end:

- a notebook kernel with ipywidgets: the widgets' own detail view when the widgets package has one;
- a notebook without it: HTML (the results' ``_repr_html_``);
- a terminal IPython: readable text (``_repr_pretty_``), not a one-line ``repr``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
from collections.abc import Iterator
from typing import Any

from ..results import GroupDetails, Progress, TaskResult
from ..secrets import redact


def in_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (rich front end), False in a terminal IPython or a plain shell."""
    return getattr(shell, "kernel", None) is not None


def widgets_available() -> bool:
    """Whether ipywidgets can be imported, without importing it (it costs ~100 ms)."""
    return importlib.util.find_spec("ipywidgets") is not None


# -- text renderings ---------------------------------------------------------------------------------


def _frame_text(frame: Any, empty: str) -> str:
    if frame is None or len(frame) == 0:
        return f"  ({empty})"
    return "\n".join("  " + line for line in frame.to_string(index=False).splitlines())


def details_text(details: GroupDetails) -> str:
    """A group as a terminal user reads it: properties, then the instance-view and events tables."""
    properties = details.properties
    width = max((len(str(key)) for key in properties), default=0)
    lines = [f"{details.name}  (provisioning {details.provisioning_state or '-'}, state {details.state or '-'})"]
    lines += [f"  {str(key).ljust(width)}  {value}" for key, value in properties.items()]
    lines += ["", "Containers:", _frame_text(details.instance_view, "no instance view yet")]
    lines += ["", "Events:", _frame_text(details.events, "no events")]
    return "\n".join(lines)


def task_text(result: TaskResult) -> str:
    """A finished task: the summary, then each container's exit code and log."""
    lines = [result.summary()]
    for container, text in result.logs.items():
        code = result.exit_codes.get(container)
        lines.append(f"--- logs of {container} (exit code {'-' if code is None else code}) ---")
        lines.append(text.rstrip("\n") if text.strip() else "(no output)")
    return "\n".join(lines)


class ShownDetails(GroupDetails):
    """``GroupDetails`` as ``%aci show`` / ``%aci create`` return it: readable in every front end.

    ``session`` (not a dataclass field: equality and repr stay GroupDetails') lets the widget view show logs.
    """

    session: Any = None

    @classmethod
    def of(cls, details: GroupDetails | dict[str, Any], session: Any = None) -> ShownDetails:
        shown = cls(details.json if isinstance(details, GroupDetails) else details)
        shown.session = session
        return shown

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else details_text(self))

    def _ipython_display_(self) -> None:
        from IPython import get_ipython
        from IPython.display import display

        view = detail_widget(self, self.session) if in_kernel(get_ipython()) and widgets_available() else None
        if view is not None:
            display(view)
        else:
            display({"text/plain": details_text(self), "text/html": self._repr_html_()}, raw=True)


class ShownTask(TaskResult):
    """``TaskResult`` as ``%aci run`` returns it: summary, exit codes and logs, as text or HTML."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else task_text(self))


class ExportedText(str):
    """``%aci export``'s text: a ``str`` (``y = %aci export web`` assigns it, ``--out`` stores it) that
    displays as the plain text itself, not as a quoted repr."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self).rstrip("\n"))


def detail_widget(details: GroupDetails, session: Any = None) -> Any | None:
    """The widgets' detail view of one group (header, instance views, logs, events, properties), or None."""
    try:
        from ..widgets import GroupDetailView

        return GroupDetailView(details, session)
    except Exception:  # noqa: BLE001 - a widget that cannot show this must not hide the data: fall back to HTML
        return None


# -- progress ------------------------------------------------------------------------------------------


class ProgressPrinter:
    """The ``progress=`` callback of ``create_group``/``run_task``.

    In a notebook: one output line updated in place (``display(..., display_id=True)`` then ``update``).
    In a terminal: a new line when the status changes (or every ``every`` seconds), never a redraw.
    """

    def __init__(self, shell: Any, *, every: float = 10.0, throttle: float = 0.2) -> None:
        self.rich = in_kernel(shell)
        self.every = every
        self.throttle = throttle
        self._handle: Any = None
        self._last_status: str | None = None
        self._last_time = 0.0
        self._last_line: str | None = None

    def start(self, line: str) -> None:
        self._show(line, force=True)

    @contextlib.contextmanager
    def finish_on_error(self) -> Iterator[None]:
        """On an error, finish the progress line ("… failed") so that no "sending …" hangs above the error."""
        try:
            yield
        except BaseException:
            # A notebook's line is updated in place: finish it. A terminal's lines are history: the error
            # printed next finishes them.
            if self._handle is not None:
                what = (self._last_line or "").split(": ")[0]
                self._show(f"{what}: failed (the error is below)", force=True)
            raise

    def __call__(self, progress: Progress) -> None:
        changed = progress.status != self._last_status
        self._last_status = progress.status
        self._show(progress.line(), force=changed or progress.done)

    def _show(self, line: str, *, force: bool) -> None:
        now = time.monotonic()
        self._last_line = line
        if self.rich:
            if not force and now - self._last_time < self.throttle:
                return
            from IPython.display import display

            bundle = {"text/plain": line}
            if self._handle is None:
                self._handle = display(bundle, raw=True, display_id=True)
            else:
                self._handle.update(bundle, raw=True)
        else:
            if not force and now - self._last_time < self.every:
                return
            print(line, flush=True)
        self._last_time = now


# -- messages ------------------------------------------------------------------------------------------


def one_line(text: str, secrets: Any = ()) -> str:
    """``text`` on one line with every known secret masked."""
    return " ".join(redact(str(text), secrets).split())


def notice(message: str) -> None:
    """What the session says to the user (backend chosen, retries): a plain line on stdout."""
    print(message, file=sys.stdout, flush=True)
