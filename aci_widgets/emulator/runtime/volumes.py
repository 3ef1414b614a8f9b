"""A group's volumes as host folders, for both engines to mount at each container's ``mountPath``.

* ``emptyDir``: ``<home>/volumes/<group uid>/<volume>``, shared by the group's containers, removed with the group.
* ``secret``: the same place, one file per key holding the base64-decoded value (mode 0444), mounted read-only.
* ``gitRepo``: ``git clone <repository>`` there (into ``directory``, or the repository's own name; ``.`` is the
  volume itself), then ``git checkout <revision>`` when one is given.
* ``azureFile``: ``<home>/azure-files/<storageAccountName>/<shareName>``, kept after the group (a notebook reads
  a task's output files there); ``readOnly`` on the volume makes every mount of it read-only.

A mount's own ``readOnly`` is honoured too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .engine import Mount

SAFE_PART = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."


class VolumeError(RuntimeError):
    """A volume could not be prepared (a gitRepo that does not clone); the message says why."""


def azure_files_dir(home_path: Path) -> Path:
    return home_path / "azure-files"


def azure_file_share(home_path: Path, account: str, share: str) -> Path:
    """Where the emulator keeps an Azure file share's files: ``<home>/azure-files/<account>/<share>``."""
    return azure_files_dir(home_path) / _safe(account) / _safe(share)


def group_volumes_dir(home_path: Path, group_uid: str) -> Path:
    return home_path / "volumes" / group_uid


def _safe(part: str) -> str:
    cleaned = "".join(c if c in SAFE_PART else "_" for c in str(part)).strip(".")
    return cleaned or "_"


def _mkdir(path: Path, mode: int = 0o755) -> None:
    """The folder with ``mode``; folders made on the way are the owner's only (the home stays private)."""
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    path.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, mode)


def prepare(home_path: Path, group_uid: str, volumes: list[dict[str, Any]],
            warnings: list[str] | None = None) -> dict[str, tuple[Path, bool]]:
    """Create each volume's folder (once per group); ``{volume name: (host folder, read-only)}``.

    A gitRepo that does not clone (offline, a bad URL) is an empty folder, its reason added to ``warnings``.
    """
    prepared: dict[str, tuple[Path, bool]] = {}
    base = group_volumes_dir(home_path, group_uid)
    for volume in volumes:
        name = volume["name"]
        if volume.get("azureFile") is not None:
            spec = volume["azureFile"]
            folder = azure_file_share(home_path, spec.get("storageAccountName", "account"),
                                      spec.get("shareName", "share"))
            _mkdir(folder, 0o777)  # a container's non-root user may write its output files there
            prepared[name] = (folder, bool(spec.get("readOnly")))
            continue
        folder = base / _safe(name)
        if volume.get("secret") is not None:
            _write_secret(folder, volume["secret"])
            prepared[name] = (folder, True)
        elif volume.get("gitRepo") is not None:
            if not folder.exists():
                try:
                    _clone(folder, volume["gitRepo"])
                except VolumeError as failure:
                    _mkdir(folder, 0o777)
                    if warnings is not None:
                        warnings.append(f"gitRepo volume '{name}': {failure}")
            prepared[name] = (folder, False)
        else:  # emptyDir (and a volume of no known kind)
            _mkdir(folder, 0o777)
            prepared[name] = (folder, False)
    return prepared


def mounts_for(container_spec: dict[str, Any], prepared: dict[str, tuple[Path, bool]]) -> list[Mount]:
    mounts = []
    for mount in container_spec["properties"].get("volumeMounts") or []:
        found = prepared.get(mount["name"])
        if found is not None:
            folder, read_only = found
            mounts.append(Mount(folder, mount["mountPath"], read_only or bool(mount.get("readOnly"))))
    return mounts


def remove_group(home_path: Path, group_uid: str) -> None:
    shutil.rmtree(group_volumes_dir(home_path, group_uid), ignore_errors=True)


def _write_secret(folder: Path, files: dict[str, Any]) -> None:
    _mkdir(folder)
    for key, value in files.items():
        try:
            data = base64.b64decode(str(value or ""), validate=False)
        except (binascii.Error, ValueError):
            data = str(value).encode()
        path = folder / _safe(key)
        with contextlib.suppress(OSError):
            os.chmod(path, 0o644)
        path.write_bytes(data)
        os.chmod(path, 0o444)
    os.chmod(folder, 0o555)


def _clone(folder: Path, spec: dict[str, Any]) -> None:
    repository = str(spec.get("repository") or "")
    directory = str(spec.get("directory") or "")
    if directory.startswith("..") or "/.." in directory:
        raise VolumeError(f"the gitRepo directory '{directory}' may not contain '..'")
    if directory in ("", None):
        directory = repository.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repo"
    _mkdir(folder.parent)
    staging = folder.with_name(folder.name + ".cloning")
    shutil.rmtree(staging, ignore_errors=True)
    _mkdir(staging, 0o777)
    target = staging if directory == "." else staging / directory
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        subprocess.run(["git", "clone", "--quiet", "--", repository, str(target)], check=True, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        if spec.get("revision"):
            subprocess.run(["git", "-C", str(target), "checkout", "--quiet", str(spec["revision"])], check=True,
                           env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        detail = getattr(error, "stderr", b"") or b""
        raise VolumeError(f"git clone of '{repository}' failed: "
                          f"{detail.decode(errors='replace').strip() or error}") from error
    staging.rename(folder)
