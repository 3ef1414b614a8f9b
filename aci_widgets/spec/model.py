"""The declarative machinery behind the typed parts of a group beyond containers and ports.

Each part (a volume, a probe, the identity, the diagnostics...) is a dataclass whose ``FIELDS`` name the
attribute, its ACI JSON key and its kind. ``read_part`` builds one from ARM JSON or a YAML mapping (keys
without regard to case, as ACI reads them) and ``write_part`` gives the JSON back, so that every part reads
and writes the same way and ARM -> spec -> ARM is lossless by construction:

- a key of a field: read into its typed attribute (values of the wrong type are kept as given, so that the
  checks can name them instead of the reader guessing);
- a read-only key (``principalId``, ``instanceView``...): skipped, as ARM skips it on a PUT;
- a key of another api-version (``OUTSIDE``): carried in ``extra`` unchanged and named by exports;
- any other key: a problem in strict mode (user input: a typo must not be dropped), carried in lenient mode
  (a live group's JSON from a newer service).

Secrets (``kind="secret"`` and the secret maps) are ``Secret`` objects; ``write_part`` reveals them because
its result is the request body. Exports call ``without_secrets`` on the spec first.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ..secrets import Secret, reveal

_JSON_MARK = "\x00json:"  # a protectedSettings value that is not text: held as JSON inside its Secret


class Reader(Protocol):
    strict: bool

    def problem(self, path: str, message: str) -> None: ...

    def text(self, value: Any, path: str) -> str: ...


@dataclass(frozen=True)
class F:
    """One field: attribute name, JSON key, kind (``str int float bool strs map any secret secret_map
    secret_json_map obj list``), the part class for ``obj``/``list``, and whether it sits under ``properties``."""

    attr: str
    key: str
    kind: str = "str"
    part: Any = None
    nested: bool = False


class Part:
    """Base of the declarative parts: ``FIELDS``, ``OUTSIDE`` (carried), ``READ_ONLY`` (skipped), ``extra``."""

    FIELDS: ClassVar[tuple[F, ...]] = ()
    OUTSIDE: ClassVar[tuple[str, ...]] = ()
    READ_ONLY: ClassVar[tuple[str, ...]] = ()
    NEST: ClassVar[str] = "properties"
    extra: dict[str, Any]


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def kind_of(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def unknown_key(key: str, known: list[str]) -> str:
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f"; did you mean '{by_lower[close[0]]}'?" if close else f"; expected one of {', '.join(known)}"
    return f"unknown key '{key}'{hint}"


def read_part(cls: type, obj: Any, reader: Reader, path: str) -> Any:
    """An instance of ``cls`` from ``obj`` (see the module docstring); problems go to ``reader``."""
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if not isinstance(obj, Mapping):
        if obj is not None:
            reader.problem(path, f"must be a mapping of keys, not {kind_of(obj)}")
        return cls(**values)
    top = [f for f in cls.FIELDS if not f.nested]
    nested = [f for f in cls.FIELDS if f.nested]
    _read_level(cls, obj, top, reader, path, values, extra, "", nest=cls.NEST if nested else None)
    if nested:
        inner = next((value for key, value in obj.items() if str(key).lower() == cls.NEST.lower()), None)
        if inner is not None and not isinstance(inner, Mapping):
            reader.problem(join(path, cls.NEST), f"must be a mapping of keys, not {kind_of(inner)}")
        elif inner is not None:
            _read_level(cls, inner, nested, reader, join(path, cls.NEST), values, extra, cls.NEST + ".")
    instance = cls(**values)
    instance.extra = extra
    return instance


def _read_level(cls: type, obj: Mapping[str, Any], fields: list[F], reader: Reader, path: str,
                values: dict[str, Any], extra: dict[str, Any], prefix: str, nest: str | None = None) -> None:
    by_key = {f.key.lower(): f for f in fields}
    outside = {key.lower(): key for key in cls.OUTSIDE}
    read_only = {key.lower() for key in cls.READ_ONLY}
    for raw_key, value in obj.items():
        key = str(raw_key)
        lower = key.lower()
        if nest is not None and lower == nest.lower():
            continue
        field = by_key.get(lower)
        if field is not None:
            values[field.attr] = read_value(field, value, reader, join(path, field.key))
        elif lower in read_only:
            continue
        elif lower in outside:
            extra[prefix + outside[lower]] = copy.deepcopy(value)
        elif reader.strict:
            known = [f.key for f in fields] + ([nest] if nest else [])
            reader.problem(join(path, key), unknown_key(key, known))
        else:
            extra[prefix + key] = copy.deepcopy(value)


def read_value(field: F, value: Any, reader: Reader, path: str) -> Any:
    kind = field.kind
    if value is None:
        return None
    if kind == "str":
        return reader.text(value, path)
    if kind == "secret":
        return Secret(reader.text(value, path))
    if kind == "int":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if kind == "float":
        if isinstance(value, bool):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value
    if kind == "strs":
        if not isinstance(value, list):
            reader.problem(path, f"must be a list, not {kind_of(value)}")
            return []
        return [reader.text(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if kind in ("map", "secret_map", "secret_json_map"):
        if not isinstance(value, Mapping):
            reader.problem(path, f"must be a mapping of names to values, not {kind_of(value)}")
            return {}
        if kind == "map":
            return {str(k): reader.text(v, f"{path}.{k}") for k, v in value.items()}
        if kind == "secret_map":
            return {str(k): Secret(reader.text(v, f"{path}.{k}")) if v is not None else None
                    for k, v in value.items()}
        return {str(k): _json_secret(v) for k, v in value.items()}
    if kind == "any":
        return copy.deepcopy(value)
    if kind == "obj":
        return read_part(field.part, value, reader, path)
    if kind == "list":
        if not isinstance(value, list):
            reader.problem(path, f"must be a list, not {kind_of(value)}")
            return []
        return [read_part(field.part, item, reader, f"{path}[{index}]") for index, item in enumerate(value)]
    raise ValueError(f"unknown field kind {kind!r}")  # a programming error in FIELDS


def _json_secret(value: Any) -> Secret | None:
    if value is None:
        return None
    return Secret(value) if isinstance(value, str) else Secret(_JSON_MARK + json.dumps(value))


def write_part(part: Any) -> dict[str, Any]:
    """The JSON of a part, real secrets included; fields that are ``None`` are left out, extras put back."""
    body: dict[str, Any] = {}
    inner: dict[str, Any] = {}
    for field in type(part).FIELDS:
        value = getattr(part, field.attr)
        if value is None:
            continue
        (inner if field.nested else body)[field.key] = write_value(field, value)
    nest = type(part).NEST
    for key, value in (getattr(part, "extra", None) or {}).items():
        if key.startswith(nest + "."):
            inner[key[len(nest) + 1:]] = copy.deepcopy(value)
        else:
            body[key] = copy.deepcopy(value)
    if inner or any(f.nested for f in type(part).FIELDS if getattr(part, f.attr) is not None):
        body[nest] = inner
    return body


def write_value(field: F, value: Any) -> Any:
    kind = field.kind
    if kind == "secret":
        return reveal(value)
    if kind in ("secret_map", "secret_json_map"):
        return {k: _unjson(reveal(v)) if v is not None else None for k, v in value.items()}
    if kind in ("strs", "map", "any"):
        return copy.deepcopy(value)
    if kind == "obj":
        return write_part(value)
    if kind == "list":
        return [write_part(item) for item in value]
    return value


def _unjson(text: str) -> Any:
    return json.loads(text[len(_JSON_MARK):]) if text.startswith(_JSON_MARK) else text


def carried_paths(part: Any, path: str) -> list[str]:
    """Every key carried through unchanged in ``part`` and the parts below it, as field paths."""
    found = [join(path, key) for key in (getattr(part, "extra", None) or {})]
    for field in type(part).FIELDS:
        value = getattr(part, field.attr)
        if field.kind == "obj" and value is not None:
            found += carried_paths(value, join(path, field.key))
        elif field.kind == "list" and value:
            base = join(path, field.key)
            found += [p for index, item in enumerate(value) for p in carried_paths(item, f"{base}[{index}]")]
    return found
