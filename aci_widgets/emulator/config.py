"""Where the emulator keeps its state, and the settings made once on first use.

Everything lives under one folder (``ACI_EMULATOR_HOME``, default: the user's data dir). The folder is
0700 and every file in it 0600: it holds the client secret of the auth file and the token signing key.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PORT = 47211
HOME_ENV = "ACI_EMULATOR_HOME"
PORT_ENV = "ACI_EMULATOR_PORT"


def default_home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs  # imported here: the magics import this module and must stay cheap

    return Path(platformdirs.user_data_dir("aci-emulator", appauthor=False))


class UnsafePath(OSError):
    """A private file would be written through a symbolic link (someone may be waiting at the other end)."""


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, atomically and never through a symlink.

    The temporary file has a random name in the same folder and is created with ``O_EXCL | O_NOFOLLOW``,
    so a link planted at a predictable name (``auth.json.tmp`` in a shared folder) can neither receive the
    secret nor be followed; the rename then replaces ``path`` itself, never what a link at ``path`` names.
    """
    if path.is_symlink():
        raise UnsafePath(f"refusing to write {path}: it is a symbolic link (remove it, or choose another path)")
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    for _attempt in range(16):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, 0o600)
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - 16 collisions of 64 random bits
        raise UnsafePath(f"could not create a private temporary file next to {path}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class EmulatorHome:
    """The emulator's state folder and the named files in it (see docs/contracts.md)."""

    path: Path

    @classmethod
    def default(cls) -> EmulatorHome:
        return cls(default_home())

    # -- files ---------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def auth_file_path(self) -> Path:
        return self.path / "auth.json"

    @property
    def ca_path(self) -> Path:
        return self.path / "ca.pem"

    @property
    def ca_key_path(self) -> Path:
        return self.path / "ca-key.pem"

    @property
    def server_cert_path(self) -> Path:
        return self.path / "server.pem"

    @property
    def server_key_path(self) -> Path:
        return self.path / "server-key.pem"

    @property
    def state_path(self) -> Path:
        return self.path / "state.sqlite"

    @property
    def logs_dir(self) -> Path:
        return self.path / "logs"

    @property
    def images_path(self) -> Path:
        return self.path / "images.json"

    @property
    def pid_path(self) -> Path:
        return self.path / "emulator.pid"

    @property
    def server_log_path(self) -> Path:
        return self.path / "emulator.log"

    # -- set-up --------------------------------------------------------------------------------
    def ensure(self) -> EmulatorHome:
        """Create the folder (0700) and the logs folder if they do not exist yet."""
        self.path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        self.logs_dir.mkdir(exist_ok=True)
        os.chmod(self.logs_dir, 0o700)
        return self

    def config(self) -> dict[str, Any]:
        """The settings made on first use: identities, secrets and the default port."""
        self.ensure()
        if self.config_path.exists():
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        from .ports import choose_port

        config = {
            # The documented default when it is free; else a free one (another home's emulator may hold it).
            "port": choose_port(DEFAULT_PORT),
            "subscriptionId": str(uuid.uuid4()),
            "tenantId": str(uuid.uuid4()),
            "clientId": str(uuid.uuid4()),
            "clientSecret": secrets.token_urlsafe(32),
            "signingKey": secrets.token_hex(32),
            "controlKey": secrets.token_urlsafe(24),
        }
        write_private(self.config_path, json.dumps(config, indent=2))
        return config

    def port_pinned(self) -> bool:
        """True when the environment pins the port (``ACI_EMULATOR_PORT``): never re-chosen then."""
        return bool(os.environ.get(PORT_ENV))

    def port(self) -> int:
        env = os.environ.get(PORT_ENV)
        if env:
            return int(env)
        return int(self.config()["port"])

    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port()}"
