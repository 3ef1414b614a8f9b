"""ARM handlers of exec, attach and Azure Monitor metrics (routed in ``app.py``; the websocket is
``exec_socket.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .replies import Call, Reply

if TYPE_CHECKING:
    from ..state.backend import Backend


def _group_args(call: Call) -> tuple[str, str, str]:
    return call.params["sub"], call.params["rg"], call.params["name"]


def exec_command(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.issue_socket("exec", *_group_args(call), call.params["container"],
                                           call.json_body(), call.base_url))


def attach(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.issue_socket("attach", *_group_args(call), call.params["container"], None,
                                           call.base_url))


def group_metrics(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.metrics(*_group_args(call), call.query))


def group_metric_definitions(backend: Backend, call: Call) -> Reply:
    return Reply(200, backend.metrics(*_group_args(call), None))
