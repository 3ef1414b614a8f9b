"""Volumes and volume mounts of a container group (``properties.volumes``, ``...volumeMounts``).

A volume has exactly one kind: ``azure_file`` (an Azure Files share; its ``storage_account_key`` is a
``Secret``), ``empty_dir`` (a mapping, normally ``{}``), ``secret`` (file name -> base64 content, each a
``Secret``) or ``git_repo`` (a repository cloned at start; a token in its URL is treated as a secret).
The az flags' volume names (``azurefile``, ``secrets``, ``gitrepo``) are az's constants.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..secrets import Secret
from .model import F, Part

AZURE_FILE_VOLUME_NAME = "azurefile"  # az custom.py
SECRETS_VOLUME_NAME = "secrets"
GITREPO_VOLUME_NAME = "gitrepo"
VOLUME_KINDS = ("azureFile", "emptyDir", "secret", "gitRepo")


@dataclass
class AzureFileVolume(Part):
    share_name: str | None = None
    storage_account_name: str | None = None
    storage_account_key: Secret | None = None
    read_only: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("share_name", "shareName"), F("read_only", "readOnly", "bool"),
              F("storage_account_name", "storageAccountName"), F("storage_account_key", "storageAccountKey", "secret"))


@dataclass
class GitRepoVolume(Part):
    repository: str | None = None
    directory: str | None = None
    revision: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("directory", "directory"), F("repository", "repository"), F("revision", "revision"))


@dataclass
class VolumeSpec(Part):
    name: str = ""
    azure_file: AzureFileVolume | None = None
    empty_dir: Any = None
    secret: dict[str, Secret | None] | None = None
    git_repo: GitRepoVolume | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("name", "name"), F("azure_file", "azureFile", "obj", AzureFileVolume),
              F("empty_dir", "emptyDir", "any"),
              F("secret", "secret", "secret_map"), F("git_repo", "gitRepo", "obj", GitRepoVolume))

    @property
    def kinds(self) -> list[str]:
        """The JSON names of the kinds set (ACI wants exactly one)."""
        values = (self.azure_file, self.empty_dir, self.secret, self.git_repo)
        return [kind for kind, value in zip(VOLUME_KINDS, values) if value is not None]

    @property
    def kind(self) -> str:
        kinds = self.kinds
        return kinds[0] if len(kinds) == 1 else ("none" if not kinds else "+".join(kinds))

    def __post_init__(self) -> None:
        if self.secret is not None:
            self.secret = {str(k): v if isinstance(v, Secret) or v is None else Secret(str(v))
                           for k, v in dict(self.secret).items()}
        if isinstance(self.azure_file, dict):
            self.azure_file = AzureFileVolume(**self.azure_file)
        if isinstance(self.git_repo, dict):
            self.git_repo = GitRepoVolume(**self.git_repo)
        if self.azure_file is not None and self.azure_file.storage_account_key is not None and \
                not isinstance(self.azure_file.storage_account_key, Secret):
            self.azure_file.storage_account_key = Secret(str(self.azure_file.storage_account_key))


@dataclass
class VolumeMount(Part):
    name: str = ""
    mount_path: str = ""
    read_only: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = (F("name", "name"), F("mount_path", "mountPath"), F("read_only", "readOnly", "bool"))


# -- builders for the az flags ---------------------------------------------------------------------------


def azure_file_volume(share: str, account: str, key: str | Secret, *, name: str = AZURE_FILE_VOLUME_NAME,
                      read_only: bool | None = None) -> VolumeSpec:
    return VolumeSpec(name, azure_file=AzureFileVolume(share, account, Secret(key), read_only))


def secrets_volume(pairs: list[tuple[str, str]], *, name: str = SECRETS_VOLUME_NAME) -> VolumeSpec:
    """az's ``--secrets k=v``: az base64-encodes each value itself (we encode UTF-8; az needs ASCII)."""
    values: dict[str, Secret | None] = {}
    for key, value in pairs:  # later duplicates win, like az's dict.update
        values[key] = Secret(base64.b64encode(value.encode("utf-8")).decode("ascii"))
    return VolumeSpec(name, secret=values)


def git_repo_volume(url: str, directory: str | None = ".", revision: str | None = None, *,
                    name: str = GITREPO_VOLUME_NAME) -> VolumeSpec:
    return VolumeSpec(name, git_repo=GitRepoVolume(url, directory, revision))


# -- a token in a git URL ----------------------------------------------------------------------------------


def url_userinfo(url: str) -> str | None:
    """The ``user:token`` part of ``https://user:token@host/path``, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.netloc.rpartition("@")[0] or None if "@" in parts.netloc else None


def url_with_userinfo(url: str, userinfo: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))
