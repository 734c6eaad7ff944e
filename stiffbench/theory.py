"""Exact stability functions of Runge–Kutta methods, evaluated accurately at any |z|.

A Butcher tableau (A, b, c) fixes the stability function R(z) = P(z)/Q(z) of its method on Dahlquist's
test equation y' = λy, z = hλ (theory.md §1). This module computes P and Q exactly in Fraction
arithmetic (a tableau typed in floats is taken as the binary rationals it stores), derives the numerator
of R' exactly, decides A- and L-stability exactly up to a stated 1e-12 slack, and evaluates R and R' in
float64 to near machine precision in the *relative* sense for every |z|, including |z| ~ 1e8 where R of
an L-stable method is ~1e-8 and R' ~1e-16 (theory.md §5).

How accuracy at large |z| is ensured: the float formula 1 + z bᵀ(I − zA)⁻¹𝟙 subtracts two numbers of
size 1 to get R ~ 1/|z|, and R' = bᵀu + z bᵀMAu cancels even more (rel. error ~5e-2 at |z| = 1e8 for
some methods). Here every cancellation that grows with |z| is done exactly: P, Q and N = P'Q − PQ' are
exact, so the leading terms of P'Q and PQ', which cancel identically, are gone before rounding. A ratio
is then evaluated by Horner in z for |z| ≤ 1 and, for |z| > 1, as z^(deg num − deg den) · num_rev(w) /
den_rev(w) in w = 1/z with the coefficient lists reversed. There the leading coefficients dominate, each
Horner sum is well conditioned away from the zeros and poles of R, and |z|^deg is never formed, so
nothing overflows or underflows early. What remains is the conditioning of R itself near its zeros.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import numbers
import typing
from collections.abc import Iterable, Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt

__all__ = ["ButcherTableau", "RationalFunction", "StabilityFunction", "stability_function"]

Poly = tuple[Fraction, ...]  # ascending powers; the zero polynomial is (0,), never ()

# A design that is exactly A- or L-stable but typed in floats (Gauss with √3/6, an ESDIRK whose R(∞) = 0 is
# an order condition) misses |R(iy)| ≤ 1 or R(∞) = 0 by ~1e-16; real failures miss by far more. So
# |R(iy)| ≤ 1 is tested as |Q(iy)|² − |P(iy)|² ≥ −slack·|Q(iy)|², and R(∞) = 0 as |R(∞)| ≤ slack.
_SLACK = Fraction(1, 10**12)


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



def _trim(p: Sequence[Fraction]) -> Poly:
    p = list(p)
    while len(p) > 1 and p[-1] == 0:
        p.pop()
    return tuple(p) if p else (Fraction(0),)


def _add(p: Sequence[Fraction], q: Sequence[Fraction]) -> Poly:
    n = max(len(p), len(q))
    zero = Fraction(0)
    return _trim([(p[k] if k < len(p) else zero) + (q[k] if k < len(q) else zero) for k in range(n)])


def _mul(p: Sequence[Fraction], q: Sequence[Fraction]) -> Poly:
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return _trim(out)


def _deriv(p: Sequence[Fraction]) -> Poly:
    return _trim([k * a for k, a in enumerate(p)][1:])


def _eval(p: Sequence[Fraction], x: Fraction) -> Fraction:
    acc = Fraction(0)
    for a in reversed(p):
        acc = acc * x + a
    return acc


def _divmod(a: Poly, b: Poly) -> tuple[Poly, Poly]:
    """Exact polynomial long division, b ≠ 0 and trimmed."""
    r, q = list(a), [Fraction(0)] * max(len(a) - len(b) + 1, 1)
    while len(r) >= len(b) and any(r):
        f, shift = r[-1] / b[-1], len(r) - len(b)
        q[shift] = f
        for k, c in enumerate(b):
            r[shift + k] -= f * c
        r.pop()  # its leading entry is now exactly zero
    return _trim(q), _trim(r)


def _gcd(a: Poly, b: Poly) -> Poly:
    while any(b):
        a, b = b, _divmod(a, b)[1]
    return a


def _det(m: list[list[Fraction]]) -> Fraction:
    """Exact determinant by Gaussian elimination."""
    m, det = [row[:] for row in m], Fraction(1)
    for k in range(len(m)):
        pivot = next((i for i in range(k, len(m)) if m[i][k] != 0), None)
        if pivot is None:
            return Fraction(0)
        if pivot != k:
            m[k], m[pivot], det = m[pivot], m[k], -det
        det *= m[k][k]
        for i in range(k + 1, len(m)):
            f = m[i][k] / m[k][k]
            for j in range(k + 1, len(m)):
                m[i][j] -= f * m[k][j]
    return det


def _interpolate(xs: Sequence[int], ys: Sequence[Fraction]) -> Poly:
    """Coefficients of the polynomial of degree < len(xs) through (xs, ys), by exact divided differences."""
    d = list(ys)
    for k in range(1, len(xs)):
        for i in range(len(xs) - 1, k - 1, -1):
            d[i] = (d[i] - d[i - 1]) / (xs[i] - xs[i - k])
    p: Poly = (d[-1],)
    for k in range(len(xs) - 2, -1, -1):
        p = _add(_mul(p, (Fraction(-xs[k]), Fraction(1))), (d[k],))
    return p


def _abs2_on_imaginary_axis(p: Poly) -> Poly:
    """Coefficients, in w = y², of |p(iy)|² for real p: p(x)p(−x) is even in x, and x² = −w there."""
    even = _mul(p, [a if k % 2 == 0 else -a for k, a in enumerate(p)])[0::2]
    return _trim([a if m % 2 == 0 else -a for m, a in enumerate(even)])


def _roots_in_open_right_half_plane(q: Poly) -> bool:
    """Exact Routh–Hurwitz test that every root of q lies in Re z > 0."""
    if len(q) == 1:
        return True
    # Roots of q in Re z > 0 ⇔ q(−z) is Hurwitz ⇔ its Routh array's first column is nonzero, one sign.
    desc = [a if k % 2 == 0 else -a for k, a in enumerate(q)][::-1]
    rows = [desc[0::2], desc[1::2]]
    while len(rows) < len(desc):
        prev, cur = rows[-2], rows[-1]
        if cur[0] == 0:
            return False
        cur = cur + [Fraction(0)] * (len(prev) - len(cur))
        rows.append([prev[j + 1] - prev[0] * cur[j + 1] / cur[0] for j in range(len(prev) - 1)])
    first = [row[0] for row in rows]
    return all(x > 0 for x in first) or all(x < 0 for x in first)


def _nonnegative_on_half_line(g: Poly) -> bool:
    """Whether g(w) ≥ 0 for all w ≥ 0.

    Roots of g and g' are located in floats only to choose where to look; the sign is decided exactly at
    w = 0, at infinity, at every (approximate) critical point and between and beyond the real roots. A
    'False' is thus certified by an exact witness; a 'True' can only err if the minimum lies within a
    root-finding error of zero, which the slack added by the caller rules out.
    """
    if g[0] < 0 or g[-1] < 0:
        return False
    points: set[float] = set()
    for poly in (g, _deriv(g)):
        if len(poly) > 1:
            points.update(float(r.real) for r in np.roots([float(a) for a in reversed(poly)]) if r.real > 0)
    pts = sorted(points)
    pts += [(x + y) / 2 for x, y in itertools.pairwise(pts)] + [2 * x for x in pts[-1:]]
    return all(_eval(g, Fraction(x)) >= 0 for x in pts)



def _horner(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    acc = np.full_like(x, c[-1])
    for a in c[-2::-1]:
        acc = acc * x + a
    return acc


def _ratio(num: np.ndarray, den: np.ndarray, z: npt.ArrayLike, power: int = 1) -> np.ndarray:
    """num(z)/den(z)**power, by Horner in z for |z| ≤ 1 and in w = 1/z (reversed coefficients) beyond."""
    z = np.asarray(z, dtype=np.complex128)
    out = np.empty(z.shape, dtype=np.complex128)
    small = np.abs(z) <= 1.0
    out[small] = _horner(num, z[small]) / _horner(den, z[small]) ** power
    big, k = ~small, (len(num) - 1) - power * (len(den) - 1)
    w = 1.0 / z[big]
    scale = z[big] ** k if k >= 0 else w ** (-k)
    out[big] = scale * (_horner(num[::-1], w) / _horner(den[::-1], w) ** power)
    return out



@typing.final
@dataclasses.dataclass(frozen=True)
class ButcherTableau:
    """A Runge–Kutta method's defining data: y1 = y0 + h Σ b_i f(Y_i), Y_i = y0 + h Σ_j a_ij f(Y_j).

    Entries may be ints, floats, Fractions or strings like "1/3"; all are stored as exact Fractions.
    """

    A: tuple[tuple[Fraction, ...], ...]
    b: tuple[Fraction, ...]
    c: tuple[Fraction, ...]

    def __post_init__(self) -> None:
        where = "Butcher tableau"
        if isinstance(self.A, str) or not isinstance(self.A, Iterable):
            raise TypeError(f"{where}: A must be a square array of numbers, got {self.A!r}")
        A = tuple(_vector(row, where, "each row of A") for row in self.A)
        if not A:
            raise ValueError(f"{where}: at least one stage is required, got an empty A")
        if any(len(row) != len(A) for row in A):
            raise ValueError(f"{where}: A must be square, got rows of lengths {[len(row) for row in A]}")
        b, c = _vector(self.b, where, "b"), _vector(self.c, where, "c")
        for name, v in (("b", b), ("c", c)):
            if len(v) != len(A):
                raise ValueError(f"{where}: {name} has length {len(v)} but A has {len(A)} stages")
        for name, value in (("A", A), ("b", b), ("c", c)):
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
class StabilityFunction:
    """R(z) = P(z)/Q(z) with exact coefficients, and what follows from it.

    P and Q are ascending, trailing zeros trimmed, scaled so that Q's lowest nonzero coefficient is 1
    (Q(0) = 1 for every genuine method). They are kept as given, common factors included, so a tableau's
    P and Q are exactly det(I − zA + z𝟙bᵀ) and det(I − zA).
    """

    P: tuple[Fraction, ...]
    Q: tuple[Fraction, ...]

    def __post_init__(self) -> None:
        rf = RationalFunction(self.P, self.Q)  # validation and conversion
        lowest = next(a for a in rf.denominator if a != 0)
        object.__setattr__(self, "P", _mul(rf.numerator, (1 / lowest,)))
        object.__setattr__(self, "Q", _mul(rf.denominator, (1 / lowest,)))

    @functools.cached_property
    def _N(self) -> Poly:
        """Numerator of R' = N/Q², exact, so the cancelling leading terms of P'Q and PQ' vanish."""
        return _add(_mul(_deriv(self.P), self.Q), _mul(_mul(self.P, _deriv(self.Q)), (Fraction(-1),)))

    @functools.cached_property
    def _float64(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f64 = np.float64
        return np.array(self.P, dtype=f64), np.array(self.Q, dtype=f64), np.array(self._N, dtype=f64)

    def R(self, z: npt.ArrayLike) -> np.ndarray:
        """R(z), complex128, same shape as z; relative accuracy near machine precision away from zeros."""
        P, Q, _ = self._float64
        return _ratio(P, Q, z)

    def dR(self, z: npt.ArrayLike) -> np.ndarray:
        """R'(z) = N(z)/Q(z)², evaluated like R; Q is squared after evaluation, not expanded, because an
        expanded Q² is evaluated less accurately near a multiple pole (an SDIRK's (1 − γz)^s)."""
        _, Q, N = self._float64
        return _ratio(N, Q, z, power=2)

    @property
    def R_inf(self) -> complex:
        """lim R(z) as |z| → ∞: 0, the ratio of leading coefficients, or complex(inf, 0) if R is unbounded."""
        if len(self.P) < len(self.Q):
            return 0j
        if len(self.P) > len(self.Q):
            return complex(math.inf, 0.0)
        return complex(float(self.P[-1] / self.Q[-1]))

    @functools.cached_property
    def a_stable(self) -> bool:
        """|R(z)| ≤ 1 on Re z ≤ 0: deg P ≤ deg Q, all poles in Re z > 0, |R(iy)| ≤ 1 up to 1e-12 relative."""
        if len(self.P) > len(self.Q):
            return False
        # Poles are roots of Q after cancelling common factors with P; the test on them is exact.
        if not _roots_in_open_right_half_plane(_divmod(self.Q, _gcd(self.P, self.Q))[0]):
            return False
        q2 = _abs2_on_imaginary_axis(self.Q)
        e = _add(q2, _mul(_abs2_on_imaginary_axis(self.P), (Fraction(-1),)))
        return _nonnegative_on_half_line(_add(e, _mul(q2, (_SLACK,))))

    @property
    def l_stable(self) -> bool:
        """A-stable and R(∞) = 0, up to |R(∞)| ≤ 1e-12 (float-typed tableaus; R_inf keeps the exact value)."""
        return self.a_stable and abs(self.R_inf) <= _SLACK

    @property
    def decay_exponent(self) -> float:
        """p in |R'(z)| ~ C|z|^p as |z| → ∞: deg(P'Q − PQ') − 2 deg Q, or −inf if R' ≡ 0."""
        if not any(self._N):
            return -math.inf
        return float((len(self._N) - 1) - 2 * (len(self.Q) - 1))


@functools.cache  # theory data is immutable and hashable; the exact determinants cost milliseconds
def stability_function(theory: ButcherTableau | RationalFunction) -> StabilityFunction:
    """The stability function of a tableau (P, Q from exact determinants) or of an explicit P/Q."""
    if isinstance(theory, RationalFunction):
        return StabilityFunction(theory.numerator, theory.denominator)
    if not isinstance(theory, ButcherTableau):
        raise TypeError(f"expected ButcherTableau or RationalFunction, got {type(theory).__name__}")
    A, b, s = theory.A, theory.b, theory.stages
    # Both determinants have degree ≤ s: evaluate exactly at z = 0..s and interpolate exactly.
    nodes = list(range(s + 1))
    Q = [_det([[int(i == j) - z * A[i][j] for j in range(s)] for i in range(s)]) for z in nodes]
    P = [_det([[int(i == j) - z * (A[i][j] - b[j]) for j in range(s)] for i in range(s)]) for z in nodes]
    return StabilityFunction(_interpolate(nodes, P), _interpolate(nodes, Q))
