"""JSON read back into dataclasses with every field's type checked: the dataclass is the schema.

`load(cls, data)` builds `cls` from a parsed JSON object, checking each field against its
annotation (int, float, str, bool, None, Any, X | None, list[X], dict[str, X], and nested
dataclasses); keys the dataclass does not know are ignored, so a newer writer's additions read
fine, and fields with defaults may be missing, so an older writer's files read too. A mismatch
raises TypeMismatch naming the field's path and what was found, in one line.

`parse_json` refuses NaN and Infinity (Python writes them, JSON has no such numbers), and
`json_ready` turns non-finite floats into None before writing: a figure that could not be
measured is null, never NaN.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
#: How much of a bad value a message quotes.
SHOWN_CHARS = 40


class TypeMismatch(ValueError):
    """A field whose value is not of its declared type; str() is one line."""


def parse_json(text: str) -> Any:
    """json.loads that refuses NaN, Infinity and -Infinity (ValueError)."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not a JSON number")

    return json.loads(text, parse_constant=refuse)


def json_ready(value: Any) -> Any:
    """value with every non-finite float replaced by None (dicts, lists and tuples walked)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


#: The scalar types a field may have, each with its test (bool is not an int here).
_SCALARS: dict[Any, Callable[[Any], bool]] = {
    bool: lambda v: isinstance(v, bool),
    str: lambda v: isinstance(v, str),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    type(None): lambda v: v is None,
}
_NAMES = {int: "a whole number", float: "a number", str: "text", bool: "true or false",
          type(None): "null", list: "a list", dict: "an object"}  # fmt: skip
_NOT_THAT = object()  # _container's "the value is not of this shape"


def _is_union(kind: Any) -> bool:
    return typing.get_origin(kind) in (typing.Union, types.UnionType)


def _name(kind: Any) -> str:
    if _is_union(kind):
        return " or ".join(_name(k) for k in typing.get_args(kind))
    if dataclasses.is_dataclass(kind):
        return "an object"
    return _NAMES.get(typing.get_origin(kind) or kind, str(kind))


def _container(kind: Any, value: Any, path: str) -> Any:
    """A list, dict or dataclass field's value, checked item by item, or _NOT_THAT."""
    origin = typing.get_origin(kind)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(kind)
        return [_check(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict and isinstance(value, dict):
        _key, item = typing.get_args(kind)
        return {str(k): _check(item, v, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(kind) and isinstance(kind, type) and isinstance(value, dict):
        return _build(kind, value, path)
    return _NOT_THAT


def _check(kind: Any, value: Any, path: str) -> Any:
    """value converted to `kind` (int -> float, objects -> dataclasses), or TypeMismatch."""
    if kind is Any:
        return value
    if kind in _SCALARS:
        if _SCALARS[kind](value):
            return float(value) if kind is float else value
    elif _is_union(kind):
        for option in typing.get_args(kind):
            try:
                return _check(option, value, path)
            except TypeMismatch:
                continue
    else:
        converted = _container(kind, value, path)
        if converted is not _NOT_THAT:
            return converted
    raise TypeMismatch(f"{path}: {_shown(value)} is not {_name(kind)}")


def _build(cls: type[T], data: dict[str, Any], path: str) -> T:
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        where = f"{path}.{field.name}" if path else field.name
        if field.name not in data:
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise TypeMismatch(f"{where} is missing")
            continue
        fields[field.name] = _check(hints[field.name], data[field.name], where)
    return cls(**fields)


def load(cls: type[T], data: Any, path: str = "") -> T:
    """`cls` built from parsed JSON `data`, every field's type checked (see the docstring)."""
    if not isinstance(data, dict):
        raise TypeMismatch(f"{path or 'the file'}: {_shown(data)} is not an object")
    return _build(cls, data, path)
