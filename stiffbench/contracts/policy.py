"""Step policies: how an integrator chooses its steps, a fixed step ``h`` or error control by ``rtol``/``atol``."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, final

import numpy as np


class StepPolicy:
    """How an integrator chooses its steps: :class:`FixedStep` or :class:`AdaptiveStep`."""

    @property
    def label(self) -> str:
        """A stable, file-name-safe name: ``fixed-h0.01``, ``adaptive-rtol1e-06-atol1e-12``; keys records."""
        raise NotImplementedError


@final
@dataclasses.dataclass(frozen=True)
class FixedStep(StepPolicy):
    """Constant step ``h`` (the paper's setting: ``z = hλ`` is controlled).

    Each interval between observation times is covered by steps of exactly ``h`` except the last,
    which is shortened to land on the observation time.
    """

    h: float

    def __post_init__(self) -> None:
        if not (isinstance(self.h, int | float) and math.isfinite(self.h) and self.h > 0):
            raise ValueError(f"FixedStep: the step h must be positive and finite, got {self.h!r}")
        object.__setattr__(self, "h", float(self.h))

    @property
    def label(self) -> str:
        return f"fixed-h{self.h!r}"

    def times(self, t0: float, ts: Sequence[float] | np.ndarray) -> np.ndarray:
        """Every step boundary from ``t0`` through the observation times, as a float64 array.

        Integrators with a fixed step step exactly between consecutive entries, so that all of them,
        native or wrapped, take the same steps.
        """
        ts = np.asarray(ts, dtype=np.float64)
        if ts.ndim != 1 or np.any(np.diff(np.concatenate([[t0], ts])) < 0):
            raise ValueError(f"observation times must be a non-decreasing 1-d sequence from t0={t0}")
        times, start = [float(t0)], float(t0)
        for t in ts:
            # The 1e-12 slack stops an interval of 10h computed as 10.000000001h from taking 11 steps.
            n = int(np.ceil((t - start) / self.h * (1 - 1e-12)))
            times.extend(start + self.h * np.arange(1, n))
            if t > start:
                times.append(float(t))
            start = float(t)
        return np.asarray(times)


@final
@dataclasses.dataclass(frozen=True)
class AdaptiveStep(StepPolicy):
    """Error-controlled steps with mixed tolerance ``atol + rtol·|y|``."""

    rtol: float
    atol: float
    max_steps: int = 100_000

    def __post_init__(self) -> None:
        for field in ("rtol", "atol"):
            value = getattr(self, field)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"AdaptiveStep: {field} must be positive and finite, got {value!r}")
            object.__setattr__(self, field, float(value))
        if not (isinstance(self.max_steps, int) and self.max_steps >= 1):
            raise ValueError(f"AdaptiveStep: max_steps must be an integer of at least 1, got {self.max_steps!r}")

    @property
    def label(self) -> str:
        return f"adaptive-rtol{self.rtol!r}-atol{self.atol!r}"

    @classmethod
    def traced(cls, rtol: Any, atol: Any, max_steps: int = 100_000) -> AdaptiveStep:
        """A policy whose tolerances are JAX values traced inside a compiled program (unchecked, unlabelled), so
        that one program serves a whole ladder of tolerances. An integrator that needs them as Python floats
        fails at trace time, and the measurement compiles once per rung instead."""
        policy = object.__new__(cls)
        for name, value in (("rtol", rtol), ("atol", atol), ("max_steps", max_steps)):
            object.__setattr__(policy, name, value)
        return policy
