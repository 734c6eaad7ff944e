"""Typed records to and from strict JSON, driven by their dataclass fields and type hints.

A record is a frozen dataclass; each field is declared once, with its type, and read as an attribute. This module
turns one into JSON (complex numbers as ``[re, im]``, a :class:`~stiffbench.Status` as its label, a step policy
with its ``kind``) and checks a JSON document against the declared types on the way back, so that a file which is
valid JSON but not a valid record is refused with the field that is wrong, never half-read.

Non-finite numbers are not JSON: a field that may hold one is declared ``float | None`` and holds ``None``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from ..contracts import AdaptiveStep, FixedStep, StepPolicy


class RecordError(ValueError):
    """A JSON document that does not hold a valid record; the message names the field and what was wrong."""


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def to_json(value: Any) -> Any:
    """A record (or any value of a record field) as JSON-ready Python objects."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return value.label if hasattr(value, "label") else value.name
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a record holds the non-finite number {value!r}; declare the field `float | None`")
        return value
    if isinstance(value, complex):
        return [to_json(value.real), to_json(value.imag)]
    if isinstance(value, FixedStep | AdaptiveStep):
        kind = "fixed" if isinstance(value, FixedStep) else "adaptive"
        return {"kind": kind} | {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_to_json"):
        return value._to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    raise TypeError(f"cannot write {type(value).__name__} {value!r:.60} into a record")


def from_json(hint: Any, data: Any, where: str = "record") -> Any:
    """``data`` (parsed JSON) as a value of type ``hint``, checked all the way down; :class:`RecordError` if not."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:
            return from_json(others[0], data, where)
        errors = []
        for arg in others:
            try:
                return from_json(arg, data, where)
            except RecordError as exc:
                errors.append(str(exc))
        raise RecordError(f"{where}: matches none of {', '.join(map(_name, others))} ({'; '.join(errors)})")
    if hint is Any:
        return data
    if hint is float:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
        raise _wrong(where, "a number", data)
    if hint is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        raise _wrong(where, "an integer", data)
    if hint is complex:
        if isinstance(data, list) and len(data) == 2 and all(
                isinstance(x, int | float) and not isinstance(x, bool) for x in data):
            return complex(*data)
        raise _wrong(where, "a complex number [re, im]", data)
    if hint in (str, bool):
        if isinstance(data, hint):
            return data
        raise _wrong(where, f"a {hint.__name__}", data)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if not isinstance(data, str):
            raise _wrong(where, f"a {hint.__name__} label", data)
        try:
            return hint.from_label(data) if hasattr(hint, "from_label") else hint[data]
        except (KeyError, ValueError) as exc:
            raise RecordError(f"{where}: {exc}") from None
    if origin is tuple:
        if not isinstance(data, list):
            raise _wrong(where, "a list", data)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v, f"{where}[{k}]") for k, v in enumerate(data))
        if len(data) != len(args):
            raise _wrong(where, f"a list of {len(args)}", data)
        return tuple(from_json(a, v, f"{where}[{k}]") for k, (a, v) in enumerate(zip(args, data, strict=True)))
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(data, dict):
            raise _wrong(where, "an object", data)
        return {from_json(args[0], k, where): from_json(args[1], v, f"{where}.{k}") for k, v in data.items()}
    if hint is StepPolicy or hint in (FixedStep, AdaptiveStep):
        return _policy(data, where)
    if isinstance(hint, type) and hasattr(hint, "_from_json"):
        return hint._from_json(data, where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint, data, where)
    raise TypeError(f"{where}: the record type {hint!r} has no JSON form")


def _dataclass(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise _wrong(where, f"an object ({cls.__name__})", data)
    hints, fields = _hints(cls), {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RecordError(f"{where}: unknown field(s) {', '.join(unknown)} for {cls.__name__}")
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = from_json(hints[name], data[name], f"{where}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise RecordError(f"{where}: missing field {name!r} of {cls.__name__}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"{where}: {exc}") from None


def _policy(data: Any, where: str) -> StepPolicy:
    if not isinstance(data, dict) or data.get("kind") not in ("fixed", "adaptive"):
        raise _wrong(where, 'a step policy {"kind": "fixed" | "adaptive", ...}', data)
    rest = {k: v for k, v in data.items() if k != "kind"}
    return _dataclass(FixedStep if data["kind"] == "fixed" else AdaptiveStep, rest, where)


def _wrong(where: str, expected: str, data: Any) -> RecordError:
    return RecordError(f"{where}: expected {expected}, got {type(data).__name__} {data!r:.60}")


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))
