"""The defining data of a method, from which its stability function follows: a Butcher tableau, Rosenbrock
coefficients, the ``ρ/σ`` polynomials of a linear multistep method, or an explicit rational ``R = P/Q``.

Entries may be ints, floats, Fractions or strings like ``"1/3"``; all are stored as exact Fractions (a float
keeps the binary value it stores), so the theory is derived from exactly the numbers an implementation uses.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from . import algebra


def _fraction(x: object, where: str) -> Fraction:
    """Convert one entry exactly: a float keeps its binary value, a string like '1/3' is parsed."""
    if isinstance(x, numbers.Integral):
        return Fraction(int(x))
    if isinstance(x, Fraction):
        return x
    if isinstance(x, numbers.Real):
        if not math.isfinite(float(x)):
            raise ValueError(f"{where}: entries must be finite, got {x!r}")
        return Fraction(float(x))
    if isinstance(x, str):
        try:
            return Fraction(x.strip())
        except ValueError:
            raise ValueError(f"{where}: entries must be finite numbers, got {x!r}") from None
    raise TypeError(f"{where}: entries must be real numbers or strings like '1/3', got {type(x).__name__}")


def _vector(v: object, where: str, name: str) -> tuple[Fraction, ...]:
    if isinstance(v, str) or not isinstance(v, Iterable):
        raise TypeError(f"{where}: {name} must be a sequence of numbers, got {v!r}")
    return tuple(_fraction(x, where) for x in v)


def _matrix(m: object, where: str, name: str) -> tuple[tuple[Fraction, ...], ...]:
    if isinstance(m, str) or not isinstance(m, Iterable):
        raise TypeError(f"{where}: {name} must be a square array of numbers, got {m!r}")
    return tuple(_vector(row, where, f"each row of {name}") for row in m)


@typing.final
@dataclasses.dataclass(frozen=True)
class ButcherTableau:
    """A Runge–Kutta method's defining data: y1 = y0 + h Σ b_i f(Y_i), Y_i = y0 + h Σ_j a_ij f(Y_j).

    Entries may be ints, floats, Fractions or strings like "1/3"; all are stored as exact Fractions.
    ``b_embedded`` (optional) are the weights of an embedded method for error estimates; the stability
    function ignores them.
    """

    A: tuple[tuple[Fraction, ...], ...]
    b: tuple[Fraction, ...]
    c: tuple[Fraction, ...]
    b_embedded: tuple[Fraction, ...] | None = None

    def __post_init__(self) -> None:
        where = "Butcher tableau"
        A = _matrix(self.A, where, "A")
        if not A:
            raise ValueError(f"{where}: at least one stage is required, got an empty A")
        if any(len(row) != len(A) for row in A):
            raise ValueError(f"{where}: A must be square, got rows of lengths {[len(row) for row in A]}")
        b, c = _vector(self.b, where, "b"), _vector(self.c, where, "c")
        b_emb = None if self.b_embedded is None else _vector(self.b_embedded, where, "b_embedded")
        for name, v in (("b", b), ("c", c), ("b_embedded", b_emb)):
            if v is not None and len(v) != len(A):
                raise ValueError(f"{where}: {name} has length {len(v)} but A has {len(A)} stages")
        for name, value in (("A", A), ("b", b), ("c", c), ("b_embedded", b_emb)):
            object.__setattr__(self, name, value)

    @property
    def stages(self) -> int:
        return len(self.b)

    @property
    def is_explicit(self) -> bool:
        """A is strictly lower triangular."""
        return all(a == 0 for i, row in enumerate(self.A) for a in row[i:])

    @property
    def is_diagonally_implicit(self) -> bool:
        """A is lower triangular (explicit methods included)."""
        return all(a == 0 for i, row in enumerate(self.A) for a in row[i + 1:])

    @property
    def is_stiffly_accurate(self) -> bool:
        """b equals the last row of A, so y1 is the last stage."""
        return self.b == self.A[-1]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A, b, c) as float64 arrays."""
        f64 = np.float64
        return np.array(self.A, dtype=f64), np.array(self.b, dtype=f64), np.array(self.c, dtype=f64)


@typing.final
@dataclasses.dataclass(frozen=True)
class RosenbrockMethod:
    """A Rosenbrock method in the standard form of Hairer & Wanner II, §IV.7, eq. (7.4).

    (I − hγ_ii J) k_i = h f(y0 + Σ_{j<i} α_ij k_j) + hJ Σ_{j<i} γ_ij k_j,   y1 = y0 + Σ b_i k_i,
    with J = f'(y0); ``b_embedded`` (optional) gives an embedded solution for error estimates. Entries are
    normalised to exact Fractions like ButcherTableau's. On y' = λy the stages are those of the Runge–Kutta
    method with A = α + γ, hence its stability function (theory.md §1).
    """

    alpha: tuple[tuple[Fraction, ...], ...]
    gamma: tuple[tuple[Fraction, ...], ...]
    b: tuple[Fraction, ...]
    b_embedded: tuple[Fraction, ...] | None = None

    def __post_init__(self) -> None:
        where = "Rosenbrock method"
        alpha, gamma = (_matrix(getattr(self, name), where, name) for name in ("alpha", "gamma"))
        s = len(alpha)
        if not s:
            raise ValueError(f"{where}: at least one stage is required, got an empty alpha")
        for name, m in (("alpha", alpha), ("gamma", gamma)):
            if len(m) != s or any(len(row) != s for row in m):
                raise ValueError(f"{where}: {name} must be {s}×{s}, got rows of lengths {[len(r) for r in m]}")
        b = _vector(self.b, where, "b")
        b_emb = None if self.b_embedded is None else _vector(self.b_embedded, where, "b_embedded")
        for name, v in (("b", b), ("b_embedded", b_emb)):
            if v is not None and len(v) != s:
                raise ValueError(f"{where}: {name} has length {len(v)} but alpha has {s} stages")
        if any(a != 0 for i, row in enumerate(alpha) for a in row[i:]):
            raise ValueError(f"{where}: alpha must be strictly lower triangular")
        if any(g != 0 for i, row in enumerate(gamma) for g in row[i + 1:]):
            raise ValueError(f"{where}: gamma must be lower triangular")
        if any(gamma[i][i] == 0 for i in range(s)):
            diagonal = [float(gamma[i][i]) for i in range(s)]
            raise ValueError(f"{where}: the diagonal of gamma must be nonzero, got {diagonal}")
        for name, value in (("alpha", alpha), ("gamma", gamma), ("b", b), ("b_embedded", b_emb)):
            object.__setattr__(self, name, value)

    @property
    def stages(self) -> int:
        return len(self.b)

    @property
    def c(self) -> tuple[Fraction, ...]:
        """Stage times α_i = Σ_j α_ij."""
        return tuple(sum(row, Fraction(0)) for row in self.alpha)

    @property
    def gamma_diag(self) -> tuple[Fraction, ...]:
        return tuple(self.gamma[i][i] for i in range(self.stages))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(alpha, gamma, b, b_embedded or None) as float64 arrays."""
        f64 = np.float64
        emb = None if self.b_embedded is None else np.array(self.b_embedded, dtype=f64)
        return np.array(self.alpha, dtype=f64), np.array(self.gamma, dtype=f64), np.array(self.b, dtype=f64), emb


@typing.final
@dataclasses.dataclass(frozen=True)
class RationalFunction:
    """An explicit stability function R = P/Q, coefficients in ascending powers of z."""

    numerator: tuple[Fraction, ...]
    denominator: tuple[Fraction, ...]

    def __post_init__(self) -> None:
        where = "rational function"
        for name in ("numerator", "denominator"):
            value = _vector(getattr(self, name), where, name)
            if not value:
                raise ValueError(f"{where}: {name} must have at least one coefficient")
            object.__setattr__(self, name, value)
        if not any(self.denominator):
            raise ValueError(f"{where}: denominator must not be identically zero")


@typing.final
@dataclasses.dataclass(frozen=True)
class LinearMultistep:
    """A linear k-step method Σ_j α_j y_{n+j} = h Σ_j β_j f_{n+j}, j = 0..k.

    ``rho`` = (α_0, …, α_k) and ``sigma`` = (β_0, …, β_k) are the coefficients of ρ(ζ) and σ(ζ) in ascending
    powers of ζ, normalised to exact Fractions like ButcherTableau's; any common scaling is allowed.
    Checked: equal lengths k + 1 ≥ 2, α_k ≠ 0, and consistency ρ(1) = 0, ρ'(1) = σ(1) ≠ 0 (to 1e-12
    relative, for float-typed coefficients); σ(1) ≠ 0 makes ζ = 1 a simple root of ρ, so that the
    principal root is defined.
    """

    rho: tuple[Fraction, ...]
    sigma: tuple[Fraction, ...]

    def __post_init__(self) -> None:
        where = "linear multistep method"
        rho, sigma = _vector(self.rho, where, "rho"), _vector(self.sigma, where, "sigma")
        if len(rho) != len(sigma) or len(rho) < 2:
            raise ValueError(f"{where}: rho and sigma must have the same length k + 1 ≥ 2, "
                             f"got lengths {len(rho)} and {len(sigma)}")
        if rho[-1] == 0:
            raise ValueError(f"{where}: alpha_k, the leading coefficient of rho, must be nonzero")
        r1, dr1, s1 = sum(rho, Fraction(0)), algebra.evaluate(algebra.deriv(rho), Fraction(1)), sum(sigma, Fraction(0))
        size = sum((j + 1) * abs(a) for j, a in enumerate(rho)) + sum(abs(b) for b in sigma)
        if abs(r1) > algebra.SLACK * size or abs(dr1 - s1) > algebra.SLACK * size or s1 == 0:
            raise ValueError(f"{where}: consistency requires rho(1) = 0 and rho'(1) = sigma(1) ≠ 0, got "
                             f"rho(1) = {float(r1):g}, rho'(1) = {float(dr1):g}, sigma(1) = {float(s1):g}")
        object.__setattr__(self, "rho", rho)
        object.__setattr__(self, "sigma", sigma)

    @property
    def steps(self) -> int:
        return len(self.rho) - 1
