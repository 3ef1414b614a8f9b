"""``ExecSession`` for the Docker engine: ``exec_create`` + ``exec_start(socket=True)`` on the raw socket.

Without a TTY Docker multiplexes stdout and stderr on the socket (8-byte frame headers: stream, 0, 0, 0,
big-endian length); both streams are handed out as one, as a terminal would show them.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
from typing import Any


class DockerExecSession:
    def __init__(self, api: Any, container_id: str, argv: list[str], *, tty: bool, cols: int, rows: int):
        self._api = api
        self._tty = tty
        self._exec_id = api.exec_create(container_id, argv, stdin=True, stdout=True, stderr=True, tty=tty)["Id"]
        raw = api.exec_start(self._exec_id, socket=True, tty=tty)
        self._sock: socket.socket = getattr(raw, "_sock", raw)
        self._buffer = b""
        self._eof = False
        self._exit_code: int | None = None
        if tty:
            with contextlib.suppress(Exception):
                self.resize(cols, rows)

    @property
    def exit_code(self) -> int | None:
        if self._exit_code is None:
            with contextlib.suppress(Exception):
                info = self._api.exec_inspect(self._exec_id)
                if not info.get("Running"):
                    self._exit_code = info.get("ExitCode")
        return self._exit_code

    @exit_code.setter
    def exit_code(self, value: int | None) -> None:
        self._exit_code = value

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def _recv(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout))
        if not ready:
            return None
        chunk = self._sock.recv(65536)
        if not chunk:
            self._eof = True
        return chunk

    def read(self, timeout: float) -> bytes:
        if self._eof and not self._buffer:
            return b""
        chunk = self._recv(timeout)
        if chunk:
            self._buffer += chunk
        if self._tty:
            data, self._buffer = self._buffer, b""
            return data
        out = b""
        while len(self._buffer) >= 8:
            length = struct.unpack(">I", self._buffer[4:8])[0]
            if len(self._buffer) < 8 + length:
                break
            out += self._buffer[8:8 + length]
            self._buffer = self._buffer[8 + length:]
        if self._eof and self._buffer and len(self._buffer) < 8:
            self._buffer = b""
        return out

    def resize(self, cols: int, rows: int) -> None:
        if self._tty:
            self._api.exec_resize(self._exec_id, height=rows, width=cols)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
        _ = self.exit_code
