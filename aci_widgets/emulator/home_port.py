"""Re-choosing a home's port when another process holds it (see ``ports.py`` for the rules)."""

from __future__ import annotations

import json
from collections.abc import Callable

from .config import EmulatorHome, write_private
from .ports import HOST, free_port, port_is_free


def save_port(home: EmulatorHome, port: int) -> None:
    """Keep ``port`` as the home's port in ``config.json`` (everything else in it unchanged)."""
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
        from .auth import write_auth_file  # cryptography: only when it is needed

        write_auth_file(home, f"https://{HOST}:{new}")
        rewritten = ", auth file rewritten"
    from .azcli import config_dir, write_cli_config

    if (config_dir(home) / "clouds.config").exists():  # `aci-emulator az-env` made one: it names the port too
        write_cli_config(home, f"https://{HOST}:{new}")
        rewritten += ", az configuration rewritten"
    if say is not None:
        say(f"aci-emulator: port {old} is taken by another process; {home.path} now uses port {new} "
            f"(saved in config.json{rewritten}; pin one with ACI_EMULATOR_PORT)")
    return new
