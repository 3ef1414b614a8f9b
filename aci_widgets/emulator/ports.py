"""Which port a home's emulator listens on: stable per home, chosen free on first use, re-chosen when taken.

- First use: the documented default (47211) when it is free, else a free port the OS gives; kept in the
  home's ``config.json`` as ``"port"``, so the auth file and bookmarks stay valid across restarts.
- At start, when that port is taken by another process (another user's or another home's emulator), a free
  one is chosen, saved, the auth file rewritten, and one line says so (``rechoose_if_taken``).
- Pinned: ``ACI_EMULATOR_PORT`` or ``--port`` always win and are never re-chosen (a taken pinned port is an
  error that says so), and ``"port"`` edited in ``config.json`` is kept as long as it is free.

Stdlib only and imports nothing of ours (``config`` uses it); re-choosing lives in ``home_port.py``.
"""

from __future__ import annotations

import errno
import socket

HOST = "127.0.0.1"


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on ``host:port`` (a bind without SO_REUSEADDR races nobody but us)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers of our own are fine
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        raise
    finally:
        sock.close()
    return True


def free_port(host: str = HOST) -> int:
    """A port the OS says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def choose_port(preferred: int) -> int:
    """``preferred`` when it is free, else a free port."""
    return preferred if port_is_free(preferred) else free_port()
