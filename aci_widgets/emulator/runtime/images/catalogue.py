"""The emulator's image catalogue: which local command line stands in for a container image.

There is no Docker engine, so an image is only a name that maps to an argv run on this machine:

* built-in equivalents of the sample images (``aci-helloworld``, ``aci-tutorial-sidecar``,
  ``aci-wordcount``, also under their old Docker Hub names ``microsoft/aci-*`` that the seed sample uses):
  each has its working directory files (``workdir_files``: its program, and the text ``aci-wordcount``
  counts) copied into the container's working directory, and a default command that runs from there
  (``python wordcount.py``), so that a command written for the real image (``python wordcount.py URL``) works;
* well-known OS and interpreter images (``alpine``, ``ubuntu``, ``python:3.11``...) run the group's
  command on this machine, with a shim folder first on PATH so that ``python``/``python3`` are this
  interpreter; without a command they run the image's default (a shell with no stdin: exits 0 at once);
* images the user registered in ``images.json`` (``{"name": {"argv": [...], "env": {...}}}``).

Anything else raises :class:`ImageNotFound`; the backend turns that into ACI's ``InaccessibleImage``.
Names compare case-insensitively, without ``docker.io/library/`` and without a ``:latest`` tag.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ...config import EmulatorHome, write_private

BUILTIN_PACKAGE = "aci_widgets.emulator.runtime.images"
PACKAGE_ROOT = Path(__file__).resolve().parents[4]  # the folder that holds ``aci_widgets``

# Repository (no tag) -> module under BUILTIN_PACKAGE. Any tag of these repositories resolves.
BUILTIN_IMAGES: dict[str, str] = {
    "mcr.microsoft.com/azuredocs/aci-helloworld": "helloworld",
    "mcr.microsoft.com/azuredocs/aci-tutorial-sidecar": "sidecar",
    "mcr.microsoft.com/azuredocs/aci-wordcount": "wordcount",
    # The same images under the Docker Hub names of 2017-2019 (the seed sample's ``microsoft/aci-*``).
    "microsoft/aci-helloworld": "helloworld",
    "microsoft/aci-tutorial-sidecar": "sidecar",
    "microsoft/aci-wordcount": "wordcount",
}
IMAGES_DIR = Path(__file__).resolve().parent
OFFLINE_ENV = "ACI_EMULATOR_OFFLINE"  # "1": aci-wordcount never fetches its URL (the tests set it)
# Module -> the files of the image's working directory (in IMAGES_DIR) and its default command, run there.
WORKDIR_FILES: dict[str, tuple[str, ...]] = {
    "helloworld": ("helloworld.py",),
    "sidecar": ("sidecar.py",),
    "wordcount": ("wordcount.py", "hamlet.txt"),
}
DEFAULT_COMMANDS: dict[str, list[str]] = {
    "helloworld": ["python", "helloworld.py"],
    "sidecar": ["python", "sidecar.py"],
    "wordcount": ["python", "wordcount.py"],
}

# Repository (no tag, registry prefixes removed) -> the default command of the image when the group gives
# none. "/bin/sh" with stdin at EOF exits 0 at once, exactly what `alpine` does on ACI.
SHELL_IMAGES: dict[str, list[str]] = {
    "alpine": ["/bin/sh"],
    "busybox": ["/bin/sh"],
    "ubuntu": ["/bin/bash"],
    "debian": ["/bin/bash"],
    "bash": ["bash"],
    "centos": ["/bin/bash"],
    "fedora": ["/bin/bash"],
    "python": ["python3"],
    "mcr.microsoft.com/cbl-mariner/base/core": ["/bin/bash"],
    "mcr.microsoft.com/azurelinux/base/core": ["/bin/bash"],
    "mcr.microsoft.com/mirror/docker/library/alpine": ["/bin/sh"],
    "mcr.microsoft.com/mirror/docker/library/busybox": ["/bin/sh"],
    "mcr.microsoft.com/mirror/docker/library/ubuntu": ["/bin/bash"],
    "mcr.microsoft.com/mirror/docker/library/debian": ["/bin/bash"],
    "mcr.microsoft.com/mirror/docker/library/python": ["python3"],
    "mcr.microsoft.com/devcontainers/python": ["python3"],
    "mcr.microsoft.com/devcontainers/base": ["/bin/bash"],
}

_DOCKER_HUB_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/",
                        "library/")


class ImageNotFound(LookupError):
    """The catalogue has no local equivalent of this image (ACI: ``InaccessibleImage``)."""

    def __init__(self, image: str):
        super().__init__(f"image '{image}' is not in the local image catalogue")
        self.image = image


@dataclass(frozen=True)
class ResolvedImage:
    """What to run for an image: the argv, and environment variables the image itself defines."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    workdir_files: tuple[Path, ...] = ()  # copied into the container's working directory before it starts


def populate_workdir(resolved: ResolvedImage, workdir: Path) -> None:
    """Put the image's files into ``workdir`` (created 0700 if missing), as the image's layers would hold them."""
    if not resolved.workdir_files:
        return
    missing = [folder for folder in (workdir, *workdir.parents) if not folder.exists()]
    for folder in reversed(missing):  # each folder it creates 0700, as the rest of the home
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
    for source in resolved.workdir_files:
        shutil.copyfile(source, workdir / source.name)


# -- names -----------------------------------------------------------------------------------------
def normalize_image_name(image: str) -> str:
    """The comparable form of an image reference: lowercase, no Docker Hub prefix, no ``:latest``/digest."""
    name = image.strip().lower()
    name = name.split("@", 1)[0]  # a digest pins a version; locally every version is the same
    for prefix in _DOCKER_HUB_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    name = name.removesuffix(":latest")
    return name


def repository_of(image: str) -> str:
    """The normalized name without its tag (``python:3.11-slim`` -> ``python``; registry ports are kept)."""
    name = normalize_image_name(image)
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name = name[:colon]
    return name


# -- user-registered images ------------------------------------------------------------------------
def _read_registry(home: EmulatorHome) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(home.images_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def register_image(home: EmulatorHome, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
    """Register (or replace) a user image: ``name`` runs ``argv`` with ``env`` added to the container's."""
    if not name.strip():
        raise ValueError("an image name is required")
    if not argv or not all(isinstance(part, str) for part in argv):
        raise ValueError("argv must be a non-empty list of strings")
    home.ensure()
    registry = _read_registry(home)
    registry = {key: value for key, value in registry.items()
                if normalize_image_name(key) != normalize_image_name(name)}
    registry[name.strip()] = {"argv": list(argv), "env": dict(env or {})}
    write_private(home.images_path, json.dumps(registry, indent=2, sort_keys=True))


def unregister_image(home: EmulatorHome, name: str) -> bool:
    """Remove a user image; True if it was registered."""
    registry = _read_registry(home)
    kept = {key: value for key, value in registry.items()
            if normalize_image_name(key) != normalize_image_name(name)}
    if len(kept) == len(registry):
        return False
    write_private(home.images_path, json.dumps(kept, indent=2, sort_keys=True))
    return True


def list_images(home: EmulatorHome | None = None) -> list[dict[str, object]]:
    """Every image the catalogue can run: ``[{"name", "kind": "builtin"|"shell"|"user", "argv"?, "env"?}]``."""
    images: list[dict[str, object]] = [{"name": name, "kind": "builtin"} for name in BUILTIN_IMAGES]
    images += [{"name": name, "kind": "shell", "argv": argv} for name, argv in SHELL_IMAGES.items()]
    if home is not None:
        for name, entry in sorted(_read_registry(home).items()):
            if isinstance(entry, dict):
                images.append({"name": name, "kind": "user", "argv": entry.get("argv", []),
                               "env": entry.get("env", {})})
    return images


def _user_image(home: EmulatorHome, image: str) -> ResolvedImage | None:
    wanted = normalize_image_name(image)
    for name, entry in _read_registry(home).items():
        if normalize_image_name(name) != wanted or not isinstance(entry, dict):
            continue
        argv = entry.get("argv")
        env = entry.get("env") or {}
        if not isinstance(argv, list) or not argv or not isinstance(env, dict):
            return None  # a broken entry is as good as no entry
        return ResolvedImage([str(part) for part in argv], {str(k): str(v) for k, v in env.items()})
    return None


# -- shims -----------------------------------------------------------------------------------------
def shim_dir(home: EmulatorHome | None = None) -> Path:
    """A folder holding ``python``/``python3`` that run this interpreter; put first on containers' PATH.

    Containers of ``python:*`` images, and commands like ``['python', '-c', ...]`` in any image, then use
    the interpreter the emulator runs on (real ``python`` may be missing or another version here).
    """
    if home is not None:
        folder = home.path / "shims"
    else:
        folder = Path(tempfile.gettempdir()) / f"aci-emulator-shims-{os.getuid()}"
    script = f'#!/bin/sh\nexec "{sys.executable}" "$@"\n'
    for name in ("python", "python3"):
        path = folder / name
        try:
            if path.read_text(encoding="utf-8") == script:
                continue
        except OSError:
            pass
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_text(script, encoding="utf-8")
        os.chmod(tmp, 0o700)
        os.replace(tmp, path)
    return folder


# -- resolution ------------------------------------------------------------------------------------
def resolve(image: str, command: list[str] | None, home: EmulatorHome | None = None) -> ResolvedImage:
    """The argv and image environment for ``image`` run with ``command`` (the group's override, if any).

    A command overrides the image's own entrypoint, as on ACI. Raises :class:`ImageNotFound`.
    """
    if not isinstance(image, str) or not image.strip():
        raise ImageNotFound(str(image))
    override = [str(part) for part in command] if command else None
    user = _user_image(home, image) if home is not None else None
    if user is not None:
        return ResolvedImage(override or user.argv, user.env)
    repository = repository_of(image)
    module = BUILTIN_IMAGES.get(repository)
    if module is not None:
        # Built-ins are standalone Python programs run from their working directory, unbuffered so that
        # their log lines show up while they run (``python`` is this interpreter: the shim folder).
        files = tuple(IMAGES_DIR / name for name in WORKDIR_FILES[module])
        env = {"PYTHONUNBUFFERED": "1"}
        if os.environ.get(OFFLINE_ENV) == "1":  # the emulator's knob: built-ins make no outbound request
            env[OFFLINE_ENV] = "1"
        return ResolvedImage(override or list(DEFAULT_COMMANDS[module]), env, files)
    default = SHELL_IMAGES.get(repository)
    if default is not None:
        return ResolvedImage(override or list(default), {})
    raise ImageNotFound(image)


def is_resolvable(image: str, home: EmulatorHome | None = None) -> bool:
    try:
        resolve(image, None, home)
    except ImageNotFound:
        return False
    return True
