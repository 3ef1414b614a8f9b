"""The websocket bridge of exec and attach: ``wss://host:port/bridge/{exec|attach}/{token}``.

ACI's protocol (``az container exec``): the client opens the ``webSocketUri`` that ``POST .../exec`` answered,
sends the ``password`` as its first text frame, then stdin as binary frames; the bridge sends the command's
output back (binary frames here: a pty's output may split a UTF-8 character) and closes the socket when the
command ends. Attach works the same way without stdin: it streams the container's output from its start
and follows it until the container stops.

A token is good for one connection within its lifetime (``state/exec_sessions.py``): an unknown, expired or
already used one is refused at the handshake (HTTP 403); a wrong password closes the socket with 1008
(policy violation) before anything runs. Output is read by one thread per session (the engine's blocking
``read``) and handed to the event loop; stdin is written from a worker thread so that a command that does
not read its input never blocks the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..errors import ArmError
from ..runtime.engine import CommandNotRunnable

if TYPE_CHECKING:
    from ..state.backend import Backend
    from ..state.exec_sessions import Ticket

log = logging.getLogger("aci_widgets.emulator.api")
PASSWORD_SECONDS = 30.0  # how long the bridge waits for the password frame
ATTACH_POLL_SECONDS = 0.25


async def serve_socket(backend: Backend | None, scope: Scope, receive: Receive, send: Send) -> None:
    websocket = WebSocket(scope, receive, send)
    segments = [s for s in str(scope.get("path", "")).split("/") if s]
    ticket = None
    if backend is not None and len(segments) == 3 and segments[0] == "bridge" and segments[1] in ("exec", "attach"):
        ticket = backend.exec_sessions.take(segments[1], segments[2])
    if ticket is None or backend is None:
        await websocket.close(code=1008)  # before accept: the handshake is answered 403
        return
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive(), PASSWORD_SECONDS)
    except (asyncio.TimeoutError, WebSocketDisconnect):
        await _close(websocket, 1008, "no password")
        return
    if first.get("type") != "websocket.receive" or not ticket.password_matches(first.get("text") or ""):
        await _close(websocket, 1008, "authentication failed")
        return
    if ticket.kind == "attach":
        await _attach(websocket, backend, ticket)
    else:
        await _exec(websocket, backend, ticket)


async def _close(websocket: WebSocket, code: int, reason: str = "") -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason)


async def _refuse(websocket: WebSocket, error: ArmError) -> None:
    """The container stopped (or its group went) between the POST and the connection: say it, then close."""
    await websocket.send_bytes(f"{error.code}: {error.message}\r\n".encode())
    await _close(websocket, 1011, error.code)


async def _exec(websocket: WebSocket, backend: Backend, ticket: Ticket) -> None:
    try:
        session = await run_in_threadpool(backend.open_socket_exec, ticket)
    except ArmError as error:
        await _refuse(websocket, error)
        return
    except CommandNotRunnable as failure:
        await websocket.send_bytes(failure.message.encode() + b"\r\n")
        await _close(websocket, 1000)
        return
    except OSError as error:  # the container's process went away between the checks and the exec
        await websocket.send_bytes(f"exec failed: {error.strerror or error}\r\n".encode())
        await _close(websocket, 1011)
        return
    loop = asyncio.get_running_loop()
    output: asyncio.Queue[bytes | None] = asyncio.Queue()
    stop = threading.Event()

    def pump() -> None:  # the engine's blocking read, on its own thread
        try:
            while not stop.is_set():
                try:
                    chunk = session.read(0.5)
                except TimeoutError:
                    continue
                except OSError:
                    chunk = b""
                loop.call_soon_threadsafe(output.put_nowait, chunk or None)
                if not chunk:
                    return
        except RuntimeError:  # the loop closed under us (server shutdown)
            return

    reader = threading.Thread(target=pump, name="aci-emulator-exec", daemon=True)
    reader.start()

    async def forward_output() -> None:
        while True:
            chunk = await output.get()
            if chunk is None:
                return
            await websocket.send_bytes(chunk)

    async def forward_input() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None and message.get("text") is not None:
                data = message["text"].encode("utf-8")
            if data:
                await asyncio.to_thread(session.write, data)

    sender = asyncio.ensure_future(forward_output())
    receiver = asyncio.ensure_future(forward_input())
    try:
        done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if sender in done:
            await _close(websocket, 1000)  # the command ended: its output is all sent
    except Exception:  # a client that vanished mid-send
        log.debug("exec bridge ended abruptly", exc_info=True)
    finally:
        stop.set()
        for task in (sender, receiver):
            task.cancel()
        await run_in_threadpool(session.close)
        await _close(websocket, 1000)


async def _attach(websocket: WebSocket, backend: Backend, ticket: Ticket) -> None:
    """The container's output so far, then what it writes, until it stops or the client leaves."""
    try:
        await run_in_threadpool(backend.socket_output, ticket)
    except ArmError as error:
        await _refuse(websocket, error)
        return
    sent = ""

    async def client_left() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    watcher = asyncio.ensure_future(client_left())
    try:
        while not watcher.done():
            try:
                content, running = await run_in_threadpool(backend.socket_output, ticket)
            except ArmError:
                break  # the group was deleted meanwhile
            fresh = content.removeprefix(sent)
            if fresh:
                await websocket.send_bytes(fresh.replace("\n", "\r\n").encode("utf-8"))
                sent = content
            if not running:
                break
            await asyncio.wait({watcher}, timeout=ATTACH_POLL_SECONDS)
    except Exception:
        log.debug("attach bridge ended abruptly", exc_info=True)
    finally:
        watcher.cancel()
        await _close(websocket, 1000)
