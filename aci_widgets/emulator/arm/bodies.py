"""Reading request bodies safely: as a stream with a limit, and JSON checked before any handler sees it.

ARM refuses bodies over 4 MB; the token endpoint takes a few form fields. Reading a body whole before looking
at its size let one anonymous 200 MB POST grow the server by ~860 MB, so the limit is applied while reading:
a declared ``Content-Length`` over it is refused before a byte is read, and a chunked body is cut off the
moment it passes it. The JSON check walks the parsed value iteratively (no recursion to blow) and refuses
what no ARM body holds and what our store cannot keep: too deep nesting, NUL characters and lone UTF-16
surrogates, each named by its JSON path.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ..errors import ArmError

ARM_BODY_LIMIT = 4 * 1024 * 1024  # ARM's own request size limit
TOKEN_BODY_LIMIT = 16 * 1024  # a client-credentials form is a few hundred bytes
CONTROL_BODY_LIMIT = 64 * 1024
MAX_JSON_DEPTH = 64  # ACI's deepest documented property is about 8 levels down


def too_large(limit: int) -> ArmError:
    # invented code for the size ARM refuses; see COVERAGE.md
    return ArmError(413, "RequestEntityTooLarge", f"The request content size exceeds the maximum of {limit} bytes.")


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or ``413`` as soon as it is known to be over ``limit`` (never read past ``limit`` + a chunk)."""
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def problem_in_json(value: Any) -> tuple[str, str] | None:
    """``(json path, what is wrong)`` for the first string or key no ARM body may hold, or None.

    Iterative on purpose: a body nested 1,000 deep must not reach Python's recursion limit.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return path or "(root)", f"is nested more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(item, str):
            wrong = _bad_text(item)
            if wrong:
                return path or "(root)", wrong
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                wrong = _bad_text(str(key))
                if wrong:
                    return (path or "(root)"), f"has a property name that {wrong.removeprefix('is ')}"
                stack.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append((child, f"{path}[{index}]", depth + 1))
    return None


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate (not valid Unicode text)"
    return None
