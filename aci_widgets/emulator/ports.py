"""Which port a home's emulator listens on: stable per home, chosen free on first use, re-chosen when taken.

- First use: the documented default (47211) when it is free, else a free port the OS gives; kept in the
  home's ``config.json`` as ``"port"``, so the auth file and bookmarks stay valid across restarts.
- At start, when that port is taken by another process (another user's or another home's emulator), a free
  one is chosen, saved, the auth file rewritten, and one line says so (``rechoose_if_taken``).
- Pinned: ``ACI_EMULATOR_PORT`` or ``--port`` always win and are never re-chosen (a taken pinned port is an
  error that says so), and ``"port"`` edited in ``config.json`` is kept as long as it is free.

Stdlib only: the launcher and the magics import this.
"""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import EmulatorHome

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


def save_port(home: EmulatorHome, port: int) -> None:
    """Keep ``port`` as the home's port in ``config.json`` (everything else in it unchanged)."""
    from .config import write_private

    config = home.config()
    config["port"] = int(port)
    write_private(home.config_path, json.dumps(config, indent=2))


def rechoose_if_taken(home: EmulatorHome, say: Callable[[str], None] | None = print) -> int:
    """The home's configured port if free; else a new free one, saved, with the auth file rewritten.

    Call only when no server of this home runs (its own server holds the port otherwise).
    """
    old = int(home.config()["port"])
    if port_is_free(old):
        return old
    new = free_port()
    save_port(home, new)
    rewritten = ""
    if home.auth_file_path.exists():
        from .auth import write_auth_file

        write_auth_file(home, f"https://{HOST}:{new}")
        rewritten = ", auth file rewritten"
    if say is not None:
        say(f"aci-emulator: port {old} is taken by another process; {home.path} now uses port {new} "
            f"(saved in config.json{rewritten}; pin one with ACI_EMULATOR_PORT)")
    return new
