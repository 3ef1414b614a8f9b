"""The process engine's sandbox: bubblewrap (``bwrap``) where it works, else a plain process in its folder.

With bwrap a container sees the host read-only (each top-level folder bound read-only onto a root of its
own, so that mount paths like ``/aci/logs`` can be created), a private ``/tmp`` (tmpfs), its working folder
read-write, its volumes at their mount paths, and its own PID namespace (``--unshare-pid``: when it ends,
everything it forked ends; ``--die-with-parent``: when the emulator dies, so does it).

A mount path under an existing host folder (``/etc/creds``) is made by rebuilding the folders on its way as
the sandbox's own folders holding read-only binds of their host entries, so nothing of the host is hidden; a
path through a host symlink (``/bin/x`` where ``/bin -> usr/bin``) is not mounted and listed in ``skipped``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .engine import Mount

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


def bwrap_argv(argv: list[str], *, work_dir: Path, read_only: list[Path], mounts: list[Mount],
               hidden: Sequence[Path] = ()) -> tuple[list[str], list[str]]:
    """``(bwrap ... -- argv, mount paths that could not be mounted)``. ``hidden``: host folders the container
    must not see (the emulator's home: its keys, secrets and every other group's files), each covered by an empty
    tmpfs before the container's own folder, volumes and the ``read_only`` folders are bound in again."""
    bwrap = bwrap_path()
    assert bwrap is not None
    targets = [os.path.normpath("/" + mount.target.lstrip("/")) for mount in mounts]
    # Host folders on the way to a mount point that does not exist yet are rebuilt, one level at a time, as
    # folders of the sandbox's own root holding read-only binds of their entries: the mount point can then
    # be made there, and nothing of the host is hidden.
    expand: set[str] = set()
    skipped: list[str] = []
    for target in targets:
        anchor = _deepest_existing(target)
        if anchor == target or anchor == "/" or anchor == "/tmp" or anchor.startswith("/tmp/"):
            continue
        if _through_symlink(anchor):
            skipped.append(target)
            continue
        path = anchor
        while path != "/":
            expand.add(path)
            path = os.path.dirname(path)
    args = [bwrap]
    _bind_tree(args, "/", expand)
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for folder in hidden:
        if folder.is_dir() and str(folder) != "/":
            args += ["--tmpfs", str(folder)]
    for folder in read_only:  # things under /tmp the container still needs (the emulator's home, shims...)
        if folder.exists():
            args += ["--ro-bind", str(folder), str(folder)]
    args += ["--bind", str(work_dir), str(work_dir)]
    for mount, target in zip(mounts, targets):
        if target in skipped:
            continue
        args += ["--ro-bind" if mount.read_only else "--bind", str(mount.source), target]
    args += ["--chdir", str(work_dir), "--unshare-pid", "--die-with-parent", "--"]
    return args + list(argv), skipped


def _bind_tree(args: list[str], folder: str, expand: set[str]) -> None:
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return
    for entry in entries:
        path = os.path.join(folder, entry)
        if folder == "/" and entry in SKIP_TOP:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif path in expand:
            args += ["--dir", path]
            _bind_tree(args, path, expand)
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]


def _through_symlink(path: str) -> bool:
    while path != "/":
        if os.path.islink(path):
            return True
        path = os.path.dirname(path)
    return False


def _deepest_existing(target: str) -> str:
    path = target
    while path != "/" and not os.path.lexists(path):
        path = os.path.dirname(path)
    return path
