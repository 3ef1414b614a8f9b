"""The GroupBrowser's actions (start, stop, restart, delete with confirmation), the buttons that follow the
state of the latest answer, and what a vanished resource group does. A mixin of ``GroupBrowser``, kept
apart so that the browser's class stays readable; it reads the browser's widgets and session."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any


def allowed_actions(state: str | None) -> set[str]:
    """The actions that make sense for a group in ``state`` (its instance-view state; None: not known yet)."""
    if state is None or state == "":
        return {"delete"}
    if state in ("Running", "Pending", "Repairing"):
        return {"stop", "restart", "delete"}
    return {"start", "delete"}  # Stopped, Succeeded, Failed, Terminated: start runs it again


# Every action that changes a group asks first (the brief: start/stop/restart/delete with confirmation).
_CONFIRM = {"start", "stop", "restart", "delete"}


class BrowserActions:
    """Mixed into ``GroupBrowser`` (which defines every attribute used here)."""

    session: Any
    selected: str
    details: Any
    detail_view: Any
    runner: Any
    status: Any
    table: Any
    resource_group: Any
    action_buttons: dict[str, Any]
    confirm_text: Any
    confirm_button: Any
    cancel_button: Any
    confirm_box: Any
    _pending_action: tuple[str, str, str] | None
    _selected_rg: str
    _selecting: bool
    _generation: int
    _gone: bool
    _frame: Any

    # -- actions ------------------------------------------------------------------------------------------
    def request_action(self, action: str) -> None:
        """Start, or ask to confirm, ``action`` on the selected group (a button click calls this)."""
        name = self.selected
        if not name:
            self.status.error(f"{action}: select a container group first")
            return
        rg = self._selected_rg or self.resource_group.value.strip() or (self.session.resource_group or "")
        if action in _CONFIRM:
            self._pending_action = (action, name, rg)
            self.confirm_text.value = (f"<b style='color:#cf222e'>Really {html.escape(action)} "
                                       f"{html.escape(name)}</b> in {html.escape(rg)}?")
            self.confirm_box.children = [self.confirm_text, self.confirm_button, self.cancel_button]
            return
        self._run_action(action, name, rg)

    def confirm(self) -> None:
        pending = self._pending_action
        self._cancel_confirmation()
        if pending is not None:
            self._run_action(*pending)

    def cancel(self) -> None:
        if self._pending_action is not None:
            action, name, _rg = self._pending_action
            self.status.show(f"{action} {name}: cancelled")
        self._cancel_confirmation()

    def _cancel_confirmation(self) -> None:
        self._pending_action = None
        self.confirm_box.children = []
        self.confirm_text.value = ""

    def _run_action(self, action: str, name: str, rg: str) -> None:
        operations: dict[str, Callable[[], Any]] = {
            "start": lambda: self.session.start(name, resource_group=rg or None),
            "stop": lambda: self.session.stop(name, resource_group=rg or None),
            "restart": lambda: self.session.restart(name, resource_group=rg or None),
            "delete": lambda: self.session.delete_groups(name, resource_group=rg or None),
        }

        logs = self.detail_view.logs if self.detail_view is not None else None
        keep_following = action in ("restart", "start") and logs is not None and logs.follow.value

        def after(_result: Any) -> None:
            if action == "delete" and self.selected == name:
                self.selected = ""
            self.refresh(note=f"{action} {name}: done").result()
            # Restart with Follow on: Follow stays on and picks up the new run (the viewer sees the new start
            # time); if the old run's follow ended while the group restarted, it starts again.
            current = self.detail_view.logs if self.detail_view is not None else None
            if keep_following and current is logs and logs is not None and not logs.following:
                logs.start_following()

        def failed(exc: BaseException) -> None:
            from ..errors import NotFound

            if not self._on_not_found(exc) and isinstance(exc, NotFound):
                self.refresh(details=False)  # the group went away elsewhere: show the list as it is now

        self.runner.run(f"{action} {name}", lambda _progress: operations[action](), on_success=after,
                        on_error=failed)

    def _on_busy(self, busy: bool) -> None:
        self._update_action_buttons(busy)

    def _update_action_buttons(self, busy: bool | None = None) -> None:
        """Buttons follow the state of the latest answer: Start for a group that is not running, Stop and
        Restart for one that runs, Delete for any; nothing while an action runs or nothing is selected."""
        busy = self.runner.busy if busy is None else busy
        allowed = allowed_actions(self.details.state if self.details is not None else None)
        for action, button in self.action_buttons.items():
            disabled = busy or not self.selected or self._gone or action not in allowed
            if button.disabled != disabled:
                button.disabled = disabled

    def _on_not_found(self, exc: BaseException) -> bool:
        """A vanished resource group (deleted elsewhere): empty the table, no selection, actions off, and
        one line saying why. True if ``exc`` was that."""
        from ..errors import NotFound

        if not isinstance(exc, NotFound) or getattr(exc, "code", None) != "ResourceGroupNotFound":
            return False
        rg = self._selected_rg or self.resource_group.value.strip() or (self.session.resource_group or "")
        self._gone = True
        self._frame = None
        self._empty_table()
        if self.selected:
            self._selecting = True
            try:
                self.selected = ""
            finally:
                self._selecting = False
        self._generation += 1
        self._show_details(None)
        self._update_action_buttons()
        self.status.error(f"resource group '{rg}' no longer exists (deleted?): nothing to show; "
                          "choose another resource group or create it again, then Refresh")
        return True

