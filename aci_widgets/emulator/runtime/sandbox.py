"""The process engine's sandbox: bubblewrap (``bwrap``) where it works, else a plain process in its folder.

With bwrap a container sees the host read-only (each top-level folder bound read-only onto a root of its
own, so that mount paths like ``/aci/logs`` can be created), a private ``/tmp`` (tmpfs), its working folder
read-write, its volumes at their mount paths, and its own PID namespace (``--unshare-pid``: when it ends,
everything it forked ends; ``--die-with-parent``: when the emulator dies, so does it).

A mount path under an existing host folder (``/mnt/data``) gets a tmpfs over that folder first (its host
content is hidden), except under the folders a program needs (``/usr``, ``/etc``...): such a mount is
skipped and listed in ``skipped`` (COVERAGE.md).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from .engine import Mount

# Host folders never hidden by a tmpfs for a mount path below them.
KEEP_VISIBLE = {"/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/dev",
                "/sys", "/run", "/var", "/home", "/root", "/boot"}
SKIP_TOP = {"proc", "dev", "tmp"}


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """``bwrap`` if it is installed and can make a sandbox here (user namespaces allowed), else None."""
    if os.environ.get("ACI_EMULATOR_NO_BWRAP") in ("1", "true", "yes"):
        return None
    path = shutil.which("bwrap")
    if path is None:
        return None
    try:
        done = subprocess.run([path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
                               "--die-with-parent", "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if done.returncode == 0 else None


def sandbox_kind() -> str:
    return "bwrap" if bwrap_path() else "none"


def bwrap_argv(argv: list[str], *, work_dir: Path, read_only: list[Path], mounts: list[Mount]) -> tuple[
        list[str], list[str]]:
    """``(bwrap ... -- argv, mount paths that could not be mounted)``."""
    bwrap = bwrap_path()
    assert bwrap is not None
    args = [bwrap]
    for entry in sorted(os.listdir("/")):
        path = "/" + entry
        if entry in SKIP_TOP:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path) or os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for folder in read_only:  # things under /tmp the container still needs (the emulator's home, shims...)
        if folder.exists():
            args += ["--ro-bind", str(folder), str(folder)]
    args += ["--bind", str(work_dir), str(work_dir)]
    skipped: list[str] = []
    hidden: set[str] = set()
    for mount in mounts:
        target = os.path.normpath("/" + mount.target.lstrip("/"))
        anchor = _deepest_existing(target)
        if anchor not in ("/", "/tmp") and not anchor.startswith("/tmp/") and anchor != target:
            if anchor in KEEP_VISIBLE or any(anchor.startswith(k + "/") for k in KEEP_VISIBLE):
                skipped.append(target)
                continue
            if anchor not in hidden:
                args += ["--tmpfs", anchor]
                hidden.add(anchor)
        args += ["--ro-bind" if mount.read_only else "--bind", str(mount.source), target]
    args += ["--chdir", str(work_dir), "--unshare-pid", "--die-with-parent", "--"]
    return args + list(argv), skipped


def _deepest_existing(target: str) -> str:
    path = target
    while path != "/" and not os.path.lexists(path):
        path = os.path.dirname(path)
    return path
