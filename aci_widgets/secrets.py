"""Secret values that do not leak by accident.

``Secret`` holds a secure environment value or a registry password. Every way Python turns an object
into text (``str``, ``repr``, ``format``, f-strings, ``%s``) shows ``********``; only ``.reveal()``
gives the value back, so a leak needs an explicit call that a reviewer can see. It is deliberately
*not* a ``str`` subclass: ``json.dumps`` and the C string machinery would read a subclass's raw
characters and print the value.

``redact(text, secrets)`` scrubs known values out of text that came from elsewhere (error messages
from the service, logs, tracebacks).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any, NoReturn

MASK = "********"


class Secret:
    """A string that masks itself when printed; ``reveal()`` returns the value.

    >>> password = Secret("hunter2")
    >>> f"{password}", str(password), repr(password)
    ('********', '********', '********')
    >>> password.reveal()
    'hunter2'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret needs a str, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The real value. Call it only where the value must leave the process (a request body)."""
        return self._value

    # -- every text conversion masks ---------------------------------------------------------------
    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return format(MASK, format_spec)

    # -- value semantics: equal by value, hashable, immutable --------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        # constant-time, so comparing secrets cannot be used as a timing oracle
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Secret is immutable")

    # Copies are fine (the value stays in this process) and needed: dataclasses.replace/deepcopy.
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    # Pickling would write the value to disk or a socket without anyone asking for it.
    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; pickle secret.reveal() explicitly if you must")


def reveal(value: str | Secret) -> str:
    """The plain value of ``value``, whether it is a ``Secret`` or already a ``str``."""
    return value.reveal() if isinstance(value, Secret) else value


def redact(text: str, secrets: Iterable[str | Secret | None]) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``********``.

    Longer secrets are replaced first so that a secret containing another is masked whole.
    """
    values = {reveal(secret) for secret in secrets if secret is not None}
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text
