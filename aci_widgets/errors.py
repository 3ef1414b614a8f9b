"""The library's exceptions: each has a one-line ``str`` fit to show a notebook user.

    AciError                   base; ``str(e)`` is one line, never a secret
    ├── InvalidInput           bad input found before any request (``problems``: field -> message)
    ├── ConfigurationError     missing/bad auth file, key, backend choice
    ├── NotFound               a group, container or resource group that does not exist
    ├── AuthenticationFailed   the backend refused our credentials
    ├── OperationFailed        ACI answered with an error or an operation ended Failed (``code``)
    └── BackendUnavailable     the endpoint could not be reached
"""

from __future__ import annotations

from collections.abc import Mapping


class AciError(Exception):
    """Base class. ``str(e)`` is a single line naming what is wrong."""

    def __str__(self) -> str:  # always one line
        return " ".join(str(self.args[0] if self.args else self.__class__.__name__).split())


class InvalidInput(AciError, ValueError):
    """Input failed validation; nothing was sent. ``problems`` maps a field path to its message."""

    def __init__(self, problems: Mapping[str, str] | str):
        if isinstance(problems, str):
            problems = {"input": problems}
        self.problems: dict[str, str] = dict(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems.items()))


class ConfigurationError(AciError):
    pass


class NotFound(AciError, LookupError):
    """A group, container or resource group that does not exist. ``code`` is ACI's (``ResourceNotFound``,
    ``ResourceGroupNotFound``, ``ContainerNotFound``, ``ContainerLogNotAvailable``) when the service said it."""

    def __init__(self, message: str, code: str | None = None):
        self.code = code
        super().__init__(message)


class AuthenticationFailed(AciError):
    pass


class OperationFailed(AciError):
    """ACI refused a request or an operation ended in Failed. ``code`` is ACI's error code."""

    def __init__(self, message: str, code: str | None = None, status_code: int | None = None):
        self.code = code
        self.status_code = status_code
        super().__init__(f"{code}: {message}" if code else message)


class BackendUnavailable(AciError):
    pass
