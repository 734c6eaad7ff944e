"""The problem contract: an initial-value problem with named parameters and its ground truth."""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, final

from jax import Array

Weights = tuple[Any, ...]
"""An array as a problem declares it: a tuple of floats, or of such tuples (``tuple(array.tolist())``)."""


@final
@dataclasses.dataclass(frozen=True)
class StiffnessKnob:
    """Which parameter sets the stiffness, the default values scanned, and the valid range."""

    parameter: str
    values: tuple[float, ...]
    valid: tuple[float, float] = (-math.inf, math.inf)

    def check(self, value: float) -> None:
        lo, hi = self.valid
        if not (lo <= value <= hi):
            raise ValueError(f"stiffness value {value:g} for {self.parameter!r} is outside [{lo:g}, {hi:g}]")


@final
@dataclasses.dataclass(frozen=True)
class Banded:
    """``∂f/∂y`` is zero outside ``lower`` diagonals below and ``upper`` diagonals above the main one (a
    method-of-lines stencil: a 1-D three-point stencil is ``Banded(1, 1)``; a 2-D grid numbered row by row, with
    ``c`` components per point and ``n`` points per row, ``Banded(c·n, c·n)``)."""

    lower: int
    upper: int

    def __post_init__(self) -> None:
        if min(self.lower, self.upper) < 0:
            raise ValueError(f"bandwidths must not be negative, got lower={self.lower}, upper={self.upper}")


@final
@dataclasses.dataclass(frozen=True)
class ReferenceSolution:
    """Trusted values of ``y`` at given times for the default parameters, and where they come from."""

    ts: tuple[float, ...]
    ys: tuple[tuple[float, ...], ...]
    source: str
    """The publication (with table or page), or the method and tolerances that computed the values."""


class AbstractProblem(abc.ABC):
    """A problem plugin: ``y' = f(t, y, params)`` with everything needed to measure gradients.

    Concrete problems are final frozen dataclasses. The annotated attributes are the contract, checked when
    the problem is registered (types, and: parameters positive, the fast parameters and the stiffness
    parameter among them, observation times non-decreasing from ``t0``).
    """

    name: str
    citation: str
    parameters: Mapping[str, float]
    """Named default parameters, all positive: gradients are taken with respect to their logarithms."""
    fast_parameters: tuple[str, ...]
    """The parameters that set fast rates (the ones whose gradients vanish with stiffness)."""
    t0: float
    y0: tuple[float, ...]
    ts: tuple[float, ...]
    """Observation times."""
    stiffness: StiffnessKnob
    reference: ReferenceSolution | None = None
    """Published or tightly computed values to check solvers against (``None`` for exact problems)."""
    reference_atol: float = 1e-16
    """Absolute-tolerance floor of the tight reference solve: below the smallest component worth observing."""
    weights: Mapping[str, Weights] = MappingProxyType({})
    """Array-valued parameters at their true values (a neural vector field's layers), as nested tuples of floats.
    ``vector_field`` finds them in ``params`` beside the rates, as arrays. Unlike the rates they are not positive
    and not log-transformed: a fit trains them as they are; every other measurement holds them at these values."""

    jacobian_structure: Banded | None = None
    """Where ``∂f/∂y`` can be nonzero, for integrators that build and factor it by its structure (``None``: dense).
    Declaring it is a promise: an entry outside the band is silently treated as zero."""
    sizes: tuple[int, ...] = ()
    """A problem with a size knob (a discretised PDE): the numbers of grid points a scan over the system's size
    visits by default, each made by :meth:`resized`. Empty: the problem has one size."""

    @abc.abstractmethod
    def vector_field(self, t: Array, y: Array, params: Mapping[str, Array]) -> Array:
        """``dy/dt``, traceable and differentiable by JAX."""

    def resized(self, size: int) -> AbstractProblem:
        """The same problem on ``size`` grid points (a problem with :attr:`sizes`), named after it."""
        raise NotImplementedError(f"{self.name} has one size")


class AbstractExactProblem(AbstractProblem):
    """A problem with a closed-form solution and closed-form sensitivities."""

    @abc.abstractmethod
    def solution(self, ts: Array, params: Mapping[str, Array]) -> Array:
        """``y(t_k)``, shape ``(len(ts), len(y0))``."""

    @abc.abstractmethod
    def sensitivity(self, ts: Array, params: Mapping[str, Array]) -> Mapping[str, Array]:
        """``∂y(t_k)/∂ log θ_j`` per parameter name, each of shape ``(len(ts), len(y0))``."""


class AbstractLinearProblem(AbstractExactProblem):
    """``y' = A(θ) y`` with a constant matrix: fixed-step one-step methods give exactly ``y_n = R(hA)^n y0``."""

    @abc.abstractmethod
    def matrix(self, params: Mapping[str, Array]) -> Array:
        """``A(θ)``, shape ``(d, d)``, traceable by JAX."""
