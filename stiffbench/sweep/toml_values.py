"""Typed values out of a parsed TOML table, each error naming the file and the dotted key: what
:mod:`.config` reads a sweep configuration with."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

ALL = "all"
"""The value of a selection that takes every registered name."""


def describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r:.60}"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class Reader:
    """Typed values out of a TOML table, each error naming ``source`` and the dotted key."""

    source: str

    def _fail(self, key: str, expected: str, value: Any) -> ConfigError:
        return ConfigError(f"{self.source}: {key} must be {expected}, got {describe(value)}")

    def number(self, table: Mapping[str, Any], key: str, default: Any, *, positive: bool = False) -> Any:
        name = key.rpartition(".")[2]
        if name not in table:
            return default
        value = table[name]
        if not (is_number(value) and math.isfinite(value)) or (positive and value <= 0):
            raise self._fail(key, "a positive finite number" if positive else "a finite number", value)
        return float(value)

    def numbers(self, table: Mapping[str, Any], key: str, default: tuple[float, ...], *,
                positive: bool = False) -> tuple[float, ...]:
        name = key.rpartition(".")[2]
        if name not in table:
            return tuple(default)
        value = table[name]
        kind = "a list of positive finite numbers" if positive else "a list of finite numbers"
        if not isinstance(value, list) or not all(
                is_number(v) and math.isfinite(v) and (v > 0 or not positive) for v in value):
            raise self._fail(key, kind, value)
        return tuple(float(v) for v in value)

    def integer(self, table: Mapping[str, Any], key: str, default: Any, *, minimum: int) -> Any:
        name = key.rpartition(".")[2]
        if name not in table:
            return default
        value = table[name]
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
            raise self._fail(key, f"an integer of at least {minimum}", value)
        return value

    def integers(self, table: Mapping[str, Any], key: str, default: tuple[int, ...], *,
                 minimum: int) -> tuple[int, ...]:
        name = key.rpartition(".")[2]
        if name not in table:
            return tuple(default)
        value = table[name]
        if not (isinstance(value, list)
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value)):
            raise self._fail(key, f"a list of integers of at least {minimum}", value)
        return tuple(value)

    def names(self, table: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        name = key.rpartition(".")[2]
        if name not in table:
            return tuple(default)
        value = table[name]
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise self._fail(key, "a list of names", value)
        return tuple(dict.fromkeys(value))

    def selection(self, table: Mapping[str, Any], key: str, default: tuple[str, ...] | None
                  ) -> tuple[str, ...] | None:
        if key not in table:
            return default
        value = table[key]
        if value == ALL:
            return None
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise self._fail(key, '"all" or a list of names', value)
        return tuple(dict.fromkeys(value))
