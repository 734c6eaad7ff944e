"""The stability record, ``stiffbench.stability/2``: theoretical against computed ``R(z)``, ``R'(z)`` of one
integrator on a grid of ``z`` (docs/theory.md §5)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import ClassVar, final

import numpy as np

from ..contracts import Status
from .common import CellKey, Placement, Record

AGREEMENT_LEVELS = (1e0, 1e2, 1e4, 1e6, 1e8)
"""``|z|`` bounds of the cumulative agreement profile: where agreement degrades, not only the worst case."""


@final
@dataclasses.dataclass(frozen=True)
class StabilityGrid:
    """Points ``z = −r·e^{iα}``, ``r`` log-spaced in ``[z_min, z_max]``, on the negative real axis (``α = 0``) and
    on each extra ray ``arg(−z) = α`` (degrees); decay exponents are fitted over ``|z| ≥ tail``."""

    points: int = 200
    z_min: float = 1e-2
    z_max: float = 1e8
    angles: tuple[float, ...] = ()
    tail: float = 1e3

    def __post_init__(self) -> None:
        if not (isinstance(self.points, int) and not isinstance(self.points, bool) and self.points >= 2):
            raise ValueError(f"points must be an integer of at least 2, got {self.points!r}")
        if not (math.isfinite(self.z_min) and self.z_min > 0):
            raise ValueError(f"z_min (smallest |z|) must be positive and finite, got {self.z_min!r}")
        if not (math.isfinite(self.z_max) and self.z_max > self.z_min):
            raise ValueError(f"z_max (largest |z|) must be finite and above z_min={self.z_min:g}, got {self.z_max!r}")
        for angle in self.angles:
            if not (math.isfinite(angle) and 0 <= angle <= 90):
                raise ValueError(f"angle arg(-z) must be in [0, 90] degrees (left half-plane), got {angle!r}")
        if not (math.isfinite(self.tail) and self.tail > 0):
            raise ValueError(f"tail must be positive and finite, got {self.tail!r}")
        if int(np.sum(self.radii() >= self.tail)) < 2:
            raise ValueError(f"tail = {self.tail:g} leaves fewer than two of the {self.points} grid points in "
                             f"[tail, z_max = {self.z_max:g}] to fit a decay exponent on: lower it or add points")
        object.__setattr__(self, "angles", tuple(float(a) for a in self.angles))

    @property
    def rays(self) -> tuple[float, ...]:
        return tuple(dict.fromkeys((0.0, *self.angles)))

    def radii(self) -> np.ndarray:
        return np.logspace(np.log10(self.z_min), np.log10(self.z_max), self.points)

    def z(self) -> np.ndarray:
        r = self.radii()
        return np.concatenate([-r * np.exp(1j * np.deg2rad(angle)) for angle in self.rays])


@final
@dataclasses.dataclass(frozen=True)
class StabilityPoints:
    """Every point of the grid, column by column; ``None`` where a value is not finite (or there is no theory)."""

    z: tuple[complex, ...]
    R_theory: tuple[complex | None, ...] | None
    R_computed: tuple[complex | None, ...]
    dR_theory: tuple[complex | None, ...] | None
    dR_computed: tuple[complex | None, ...]
    status: tuple[Status, ...]


@final
@dataclasses.dataclass(frozen=True)
class Agreement:
    """Worst relative errors over the points with ``|z| ≤ abs_z_max`` whose solve succeeded."""

    abs_z_max: float
    max_rel_err_R: float | None
    max_rel_err_dR: float | None


@final
@dataclasses.dataclass(frozen=True)
class RayDecay:
    """Least-squares slope of ``log|R'|`` against ``log|z|`` over ``|z| ≥ tail`` on the ray ``arg(−z) = angle_deg``."""

    angle_deg: float
    decay_exponent_theory: float | None
    decay_exponent_computed: float | None


@final
@dataclasses.dataclass(frozen=True)
class StabilitySummary:
    max_rel_err_R: float | None
    max_rel_err_dR: float | None
    agreement: tuple[Agreement, ...]
    rays: tuple[RayDecay, ...]
    """The negative real axis first."""
    decay_exponent_asymptotic: float | None
    """Exact ``p`` of ``|R'(z)| ~ C|z|^p`` from the theory (``deg(P'Q − PQ') − 2 deg Q``); None without one."""
    R_inf: complex | None
    a_stable: bool | None
    l_stable: bool | None
    n_points: int
    n_failed: int
    failures: Mapping[str, int]
    """Failed points by status label."""

    @property
    def decay_exponent_theory(self) -> float | None:
        return self.rays[0].decay_exponent_theory

    @property
    def decay_exponent_computed(self) -> float | None:
        return self.rays[0].decay_exponent_computed

    def level(self, abs_z_max: float) -> Agreement | None:
        return next((a for a in self.agreement if a.abs_z_max == abs_z_max), None)


@final
@dataclasses.dataclass(frozen=True)
class StabilityCost:
    compile_s: float
    """Tracing, lowering and compiling the vmapped one-step program."""
    run_s: float
    """Best of three runs over the whole grid."""


@final
@dataclasses.dataclass(frozen=True)
class StabilityResult(Record):
    """One integrator's stability agreement. A failed cell has a status other than ``ok`` and no points."""

    SCHEMA: ClassVar[str] = "stiffbench.stability/2"

    key: CellKey
    inputs: StabilityGrid
    status: Status
    message: str
    points: StabilityPoints | None = None
    summary: StabilitySummary | None = None
    cost: StabilityCost | None = None
    placement: Placement | None = None

    @property
    def integrator(self) -> str:
        return self.key["integrator"]
