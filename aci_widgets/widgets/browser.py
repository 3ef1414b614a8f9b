"""``GroupBrowser``: the list of container groups; selecting one shows its details and its log.

Requests, and why each is made:
- the list: one list request (``live state`` adds bounded parallel gets, since the list API has no
  instance view and so cannot know whether a group runs: its status column then says "provisioning state");
- a selection: exactly one get of that group, whose JSON feeds the properties, the instance-view table,
  the events and the log viewer (which gets it instead of getting again), plus one logs request;
- the name filter: none (it filters the rows already listed).

Network work runs on one worker thread so that a click never blocks the kernel; results are shown by
setting widget values. Rapid selections (arrow keys held down) are collapsed: a load that is no longer
the latest is dropped before it makes its request.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets

from ..results import GroupDetails
from .browser_actions import BrowserActions
from .grid import DataTable
from .logs import LogViewer
from .progress import BackgroundRunner, StatusLine, one_line_error
from .render import (
    Column,
    detail_header_html,
    frame_html,
    properties_html,
    state_text,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..session import Session

ALL_RESOURCE_GROUPS = ""


def list_columns(live: bool) -> list[Column]:
    """The list table's columns. Without live state the status column is the provisioning state, and says so."""
    status = Column("state_shown", "state", 14) if live else Column("state_shown", "provisioning state", 18)
    return [
        Column("name", "name", 63),
        Column("resource_group", "resource group", 20),
        Column("location", "location", 14),
        status,
        *([Column("provisioning_state", "provisioning", 12)] if live else []),
        Column("os_type", "os", 7),
        Column("restart_policy", "restart", 9),
        Column("containers", "n", 3),
        Column("images", "images", 44),
        Column("cpu", "cpu", 5),
        Column("memory_gb", "mem GB", 6),
        Column("ip", "ip", 15),
        Column("fqdn", "fqdn", 40),
        Column("ports", "ports", 28),
    ]


def list_records(frame: pd.DataFrame, live: bool) -> list[dict[str, Any]]:
    """The list frame as row records, with a row key (resource group/name) and a state shown with its symbol."""
    records = frame.to_dict(orient="records")
    for record in records:
        state = record.get("state") if live else record.get("provisioning_state")
        record["state_shown"] = state_text(str(state or "")) if state else ""
        record["key"] = f"{record.get('resource_group', '')}/{record.get('name', '')}"
    return records


class GroupDetailView(widgets.VBox):
    """One group as a single get returned it: a header with its state, the instance-view table, and tabs
    for the log, the events and the properties. Makes no request itself except the log viewer's one logs
    request (when a session is given and ``logs`` is true)."""

    def __init__(self, details: GroupDetails, session: Session | None = None, *, logs: bool | None = None) -> None:
        self.details = details
        self.header = widgets.HTML(value="")
        self.instance_view = widgets.HTML(value="")
        self.events = widgets.HTML(value="")
        self.properties = widgets.HTML(value="")
        # Called with each newer answer shown (the browser makes its buttons follow the state from it).
        self.on_details: Callable[[GroupDetails], None] | None = None
        self.logs: LogViewer | None = None
        self.show(details)
        want_logs = session is not None if logs is None else logs
        if want_logs and details.containers:
            self.logs = LogViewer(session, details)
            self.logs.on_answer = lambda answer: self.show(GroupDetails(dict(answer)))
        pages: list[tuple[str, widgets.Widget]] = []
        if self.logs is not None:
            pages.append(("Logs", self.logs))
        pages += [("Events", self.events), ("Properties", self.properties)]
        pages += self._live_pages(session if want_logs else None, details)  # Console, Metrics (issue 16)
        self.tabs = widgets.Tab(children=[page for _title, page in pages])
        for index, (title, _page) in enumerate(pages):
            self.tabs.set_title(index, title)
        self.tabs.observe(self._on_tab, names="selected_index")
        containers_title = widgets.HTML(value="<div style='font-weight:600;margin-top:4px'>Containers</div>")
        super().__init__(children=[self.header, containers_title, self.instance_view, self.tabs])

    def _live_pages(self, session: Session | None, details: GroupDetails) -> list[tuple[str, widgets.Widget]]:
        """The Console and Metrics tabs; they make no request until their tab is shown."""
        from .console import ConsoleView
        from .metrics import MetricsView

        self.console: ConsoleView | None = None
        self.metrics: MetricsView | None = None
        if session is None or not details.containers:
            return []
        self.console = ConsoleView(session, details.name, resource_group=details.resource_group,
                                   containers=list(details.containers))
        self.metrics = MetricsView(session, details.name, resource_group=details.resource_group)
        return [("Console", self.console), ("Metrics", self.metrics)]

    def _on_tab(self, change: Mapping[str, Any]) -> None:
        page = self.tabs.children[change["new"]] if change["new"] is not None else None
        if page is not None and page is self.console:
            self.console.connect()
        elif page is not None and page is self.metrics:
            self.metrics.start()

    def show(self, details: GroupDetails) -> None:
        """Render everything from ``details``, the latest GET answer (the one place the view derives from):
        the log viewer's own answers come here too, so header, instance view and log never disagree."""
        self.details = details
        values = {
            self.header: detail_header_html(details.name, details.resource_group, details.state,
                                            details.provisioning_state, details.fqdn),
            self.instance_view: frame_html(details.instance_view, empty="no containers"),
            self.events: frame_html(details.events, state_columns=(), empty="no events yet"),
            self.properties: properties_html(details.properties),
        }
        for widget, value in values.items():
            if widget.value != value:
                widget.value = value
        if self.logs is not None:
            self.logs.adopt(details)
        if self.on_details is not None:
            self.on_details(details)

    def close(self) -> None:
        if self.logs is not None:
            self.logs.close()
        for page in (self.console, self.metrics):
            if page is not None:
                page.close()
        super().close()

    def _repr_html_(self) -> str:
        return self.header.value + self.instance_view.value + self.events.value + self.properties.value

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = repr(self.details)
        bundle["text/html"] = self._repr_html_()
        return bundle


def _same_group(a: GroupDetails, b: GroupDetails) -> bool:
    return (a.name, a.resource_group.lower()) == (b.name, b.resource_group.lower())


class GroupBrowser(BrowserActions, widgets.VBox):
    """Container groups of a resource group (or of the subscription) with details on selection.

    ``selected`` is the selected group's name ("" for none); setting it acts like a click.
    ``wait()`` blocks until the background work (list, details, actions) is done, for scripts and tests.
    """

    selected = traitlets.Unicode("", help="Name of the selected container group; '' for none.")

    def __init__(self, session: Session | None = None, *, resource_group: str | None = None, live: bool = False,
                 load: bool = True) -> None:
        if session is None:
            from ..session import default_session

            session = default_session()
        self.session = session
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aci-browser")
        self._futures: list[Future[Any]] = []
        self._generation = 0
        self._selected_rg = ""
        self._selecting = False  # True while one of selected/table.value is being synced to the other
        self._frame: pd.DataFrame | None = None
        self.details: GroupDetails | None = None
        self._gone = False  # the resource group vanished: nothing to act on until a list succeeds

        self.resource_group = widgets.Text(
            value=resource_group if resource_group is not None else (session.resource_group or ""),
            description="resource group", placeholder="empty: every resource group", continuous_update=False,
            style={"description_width": "initial"}, layout=widgets.Layout(width="280px"))
        self.name_filter = widgets.Text(value="", placeholder="filter by name", description="name",
                                        layout=widgets.Layout(width="220px"))
        self.live = widgets.Checkbox(value=live, description="live state", indent=False,
                                     tooltip="get every group for its real state (the list API has none)",
                                     layout=widgets.Layout(width="100px"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             layout=widgets.Layout(width="100px"))
        self.table = DataTable(empty_message="no container groups here", layout=widgets.Layout(width="100%"))

        self.action_buttons = {
            action: widgets.Button(description=action.capitalize(), disabled=True,
                                   button_style="danger" if action == "delete" else "",
                                   layout=widgets.Layout(width="90px"))
            for action in ("start", "stop", "restart", "delete")
        }
        self.confirm_text = widgets.HTML(value="")
        self.confirm_button = widgets.Button(description="Confirm", button_style="danger",
                                             layout=widgets.Layout(width="90px"))
        self.cancel_button = widgets.Button(description="Cancel", layout=widgets.Layout(width="90px"))
        self.confirm_box = widgets.HBox([])
        self._pending_action: tuple[str, str, str] | None = None  # (action, name, resource group)
        self.status = StatusLine()
        self.runner = BackgroundRunner(self.status, on_busy_change=self._on_busy)
        self.detail = widgets.VBox([])
        self.detail_view: GroupDetailView | None = None

        toolbar = widgets.HBox([self.resource_group, self.name_filter, self.live, self.refresh_button])
        actions = widgets.HBox(list(self.action_buttons.values()))
        super().__init__(children=[toolbar, self.table, actions, self.confirm_box, self.status.widget, self.detail])

        self.refresh_button.on_click(lambda _b: self.refresh())
        self.resource_group.observe(lambda _c: self.refresh(details=False), names="value")
        self.live.observe(lambda _c: self.refresh(details=False), names="value")
        self.name_filter.observe(self._on_name_filter, names="value")
        self.table.observe(self._on_table_value, names="value")
        for action, button in self.action_buttons.items():
            button.on_click(lambda _b, action=action: self.request_action(action))
        self.confirm_button.on_click(lambda _b: self.confirm())
        self.cancel_button.on_click(lambda _b: self.cancel())
        if load:
            self.refresh()

    # -- background work -------------------------------------------------------------------------------------
    def _submit(self, work: Callable[[], None]) -> Future[Any]:
        def guarded() -> None:
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - the status line is the only place to report to
                self.status.error(one_line_error(exc))

        future = self._pool.submit(guarded)
        self._futures = [f for f in self._futures if not f.done()] + [future]
        return future

    def wait(self, timeout: float | None = 30.0) -> bool:
        """Block until pending list/detail loads and any action have finished; True if they did in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pending = [f for f in self._futures if not f.done()]
            busy = self.runner.busy
            if not pending and not busy:
                return True
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if remaining == 0.0:
                return False
            if pending:
                wait_futures(pending, timeout=remaining)
            else:
                self.runner.wait(remaining)

    # -- list ---------------------------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame | None:
        """The last list as the DataFrame ``session.list_groups`` returned."""
        return self._frame

    def refresh(self, *, details: bool = True, note: str = "") -> Future[Any]:
        """List again (and get the selected group again, if ``details``); ``note`` prefixes the status."""
        rg = self.resource_group.value.strip()
        live = self.live.value
        self.status.busy(f"listing {rg or 'every resource group'}…")

        def work() -> None:
            try:
                frame = self.session.list_groups(rg or None, live=live, all_groups=not rg)
            except Exception as exc:
                if self._on_not_found(exc):
                    return
                raise
            self._gone = False
            self._show_list(frame, live)
            where = f"in {rg}" if rg else "in the subscription"
            count = len(frame)
            summary = (f"{count} container group{'s' if count != 1 else ''} {where}"
                       + ("" if live else " · status is the provisioning state; tick live state for the real state"))
            if note:
                self.status.ok(f"{note} · {summary}")
            else:
                self.status.show(summary)
            if details and self.selected:
                self._load_details(self.selected, self._selected_rg or rg, self._generation, announce=False)

        return self._submit(work)

    def _show_list(self, frame: pd.DataFrame, live: bool) -> None:
        self._frame = frame
        records = list_records(frame, live)
        self.table.set_rows(records, list_columns(live), key="key", filter_field="name")

    def _empty_table(self) -> None:
        self.table.set_rows([], list_columns(self.live.value), key="key", filter_field="name")

    def _on_name_filter(self, change: Mapping[str, Any]) -> None:
        self.table.filter_text = change["new"]  # local: no request

    # -- selection ----------------------------------------------------------------------------------------
    def _on_table_value(self, change: Mapping[str, Any]) -> None:
        if self._selecting:
            return
        key = change["new"] or ""
        rg, _, name = key.partition("/") if key else ("", "", "")
        self._selected_rg = rg
        self._selecting = True
        try:
            if self.selected != name:
                self.selected = name  # -> _on_selected -> one load
            elif name:
                self._selection_changed(name)  # the same name in another resource group
        finally:
            self._selecting = False

    @traitlets.observe("selected")
    def _on_selected(self, change: Mapping[str, Any]) -> None:
        name = change["new"]
        if not self._selecting:
            # Set from Python: pick the row, preferring the resource group being shown.
            self._selected_rg = self._row_resource_group(name)
            self._selecting = True
            try:
                self.table.value = f"{self._selected_rg}/{name}" if name else ""
            finally:
                self._selecting = False
        self._selection_changed(name)

    def _row_resource_group(self, name: str) -> str:
        shown = self.resource_group.value.strip()
        candidates = [r for r in self.table.records if r.get("name") == name]
        for record in candidates:
            if not shown or record.get("resource_group") == shown:
                return str(record.get("resource_group", ""))
        return shown or (self.session.resource_group or "")

    def _selection_changed(self, name: str) -> None:
        self._generation += 1
        self._cancel_confirmation()
        self._update_action_buttons()
        if not name:
            self._show_details(None)
            return
        self.status.busy(f"getting {name}…")
        generation = self._generation
        rg = self._selected_rg
        self._submit(lambda: self._load_details(name, rg, generation))

    def _load_details(self, name: str, rg: str, generation: int, *, announce: bool = True) -> None:
        if generation != self._generation:
            return  # the user has moved on: skip the request
        try:
            details = self.session.get_group(name, rg or None)  # the one get of this selection
        except Exception as exc:
            if self._on_not_found(exc):
                return
            raise
        if generation != self._generation:
            return
        self._show_details(details)
        if announce:
            self.status.show(f"{name}: {details.state or details.provisioning_state or 'unknown'}")

    def _show_details(self, details: GroupDetails | None) -> None:
        old = self.detail_view
        self.details = details
        if details is not None and old is not None and _same_group(old.details, details):
            old.show(details)  # the same group again (refresh, after an action): update in place, Follow stays
            return
        self.detail_view = GroupDetailView(details, self.session, logs=True) if details is not None else None
        if self.detail_view is not None:
            self.detail_view.on_details = self._on_newer_details
        self.detail.children = [self.detail_view] if self.detail_view is not None else []
        if old is not None:
            old.close()
        self._update_action_buttons()

    def _on_newer_details(self, details: GroupDetails) -> None:
        if self.detail_view is not None and self.detail_view.details is details:
            self.details = details
            self._update_action_buttons()

    # -- lifecycle, fallbacks -----------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the log viewer's polling and the worker thread, and close the widgets."""
        if self.detail_view is not None:
            self.detail_view.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        super().close()

    def summary(self) -> str:
        where = self.resource_group.value or "every resource group"
        if self._frame is None:  # displayed before the first list answered
            return f"GroupBrowser of {where}: loading the list…"
        rows = len(self.table.row_texts)
        chosen = f"; selected {self.selected}" if self.selected else ""
        return f"GroupBrowser of {where}: {rows} container group{'s' if rows != 1 else ''}{chosen}"

    def _repr_html_(self) -> str:
        text = "\n".join([self.table.header_text, *self.table.row_texts])
        detail = self.detail_view._repr_html_() if self.detail_view is not None else ""
        return f"<div><b>{html.escape(self.summary())}</b><pre>{html.escape(text)}</pre>{detail}</div>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self.summary()
        bundle["text/html"] = self._repr_html_()
        return bundle
