"""The local emulator from Python, for notebooks and scripts that must not depend on PATH.

``!aci-emulator auth-file`` needs the environment's ``bin`` on PATH, which a venv used without activating
it, VS Code and nbclient kernels often lack; these calls need only the interpreter that runs them.
"""

from __future__ import annotations

from pathlib import Path


def local_auth_file() -> str:
    """Start the emulator of the default home if needed, and return the path of its sdk-auth file
    (what ``aci-emulator auth-file`` prints): its endpoints point at the running server."""
    from .auth import ensure_auth_file
    from .config import EmulatorHome
    from .launcher import ensure_running

    home = EmulatorHome.default()
    base_url, _pid = ensure_running(home)
    return str(ensure_auth_file(home, base_url))


def local_ca_file() -> str:
    """The path of the emulator's CA certificate (what ``aci-emulator ca`` prints), made if missing."""
    from .auth import ensure_certificates
    from .config import EmulatorHome

    home = EmulatorHome.default().ensure()
    ensure_certificates(home)
    return str(Path(home.ca_path))
