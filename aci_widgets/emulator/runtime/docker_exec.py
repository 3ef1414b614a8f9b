"""``ExecSession`` for the Docker engine: ``exec_create`` + ``exec_start(socket=True)`` on the raw socket.

Without a TTY Docker multiplexes stdout and stderr on the socket (8-byte frame headers: stream, 0, 0, 0,
big-endian length); both streams are handed out as one, as a terminal would show them.

The terminal size: Docker's API before 1.42 (Debian's docker.io 20.10 speaks 1.41) cannot create an exec with a
console size, and a resize can only follow the start, so a command's first ``stty size`` or ``tput cols`` could
see 0x0. Where the container has ``/bin/sh``, the command is started through it after an ``stty`` of the
requested size (``exec`` keeps the command's pid and exit code); the resize after the start stays for images
without a shell.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from typing import Any

# $1 rows, $2 cols, then the command. stty's failure (no stty in the image) must not stop the command.
SIZED_START = 'stty rows "$1" cols "$2" 2>/dev/null; shift 2; exec "$@"'


def sized_argv(argv: list[str], cols: int, rows: int) -> list[str]:
    """``argv`` started by ``/bin/sh`` in a terminal of ``cols`` x ``rows``."""
    return ["/bin/sh", "-c", SIZED_START, "sh", str(max(1, rows)), str(max(1, cols)), *argv]


class DockerExecSession:
    def __init__(self, api: Any, container_id: str, argv: list[str], *, tty: bool, cols: int, rows: int,
                 shell: bool = False):
        """``shell``: the container has ``/bin/sh`` (then a tty's size is set before the command starts)."""
        self._api = api
        self._tty = tty
        if tty and shell:
            argv = sized_argv(argv, cols, rows)
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
        """Output that is there within ``timeout`` seconds; ``b""`` only at the end of the output; a timeout
        without output raises ``TimeoutError`` (the engine interface's contract)."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self._eof:
                data = self._buffer if self._tty else self._frames()
                self._buffer = b""
                return data
            chunk = self._recv(deadline - time.monotonic())
            if chunk is None:
                raise TimeoutError
            self._buffer += chunk
            data = self._buffer if self._tty else self._frames()
            if self._tty:
                self._buffer = b""
            if data:
                return data

    def _frames(self) -> bytes:
        """The payload of the complete multiplexed frames in the buffer (a partial one stays for later)."""
        out = b""
        while len(self._buffer) >= 8:
            length = struct.unpack(">I", self._buffer[4:8])[0]
            if len(self._buffer) < 8 + length:
                break
            out += self._buffer[8:8 + length]
            self._buffer = self._buffer[8 + length:]
        return out

    def resize(self, cols: int, rows: int) -> None:
        if self._tty:
            self._api.exec_resize(self._exec_id, height=rows, width=cols)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
        _ = self.exit_code
