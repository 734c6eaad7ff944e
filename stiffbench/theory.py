"""Exact stability functions of Runge–Kutta, Rosenbrock and linear multistep methods, accurate at any |z|.

A Butcher tableau (A, b, c) fixes the stability function R(z) = P(z)/Q(z) of its method on Dahlquist's
test equation y' = λy, z = hλ (theory.md §1); a Rosenbrock method has the R of the tableau A = α + γ.
A linear multistep method has no single R: MultistepStability gives its principal root ζ₁(z), with the
same interface (its own docstring says how it is tracked and kept accurate). For one-step methods this
module computes P and Q exactly in Fraction arithmetic (a tableau typed in floats is taken as the binary
rationals it stores), derives the numerator of R' exactly, decides A- and L-stability exactly up to a
stated 1e-12 slack, and evaluates R and R' in float64 to near machine precision in the *relative* sense
for every |z|, including |z| ~ 1e8 where R of an L-stable method is ~1e-8 and R' ~1e-16 (theory.md §5).

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

__all__ = [
    "ButcherTableau", "LinearMultistep", "MultistepStability", "RationalFunction", "RosenbrockMethod",
    "StabilityFunction", "stability_function",
]

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


def _matrix(m: object, where: str, name: str) -> tuple[tuple[Fraction, ...], ...]:
    if isinstance(m, str) or not isinstance(m, Iterable):
        raise TypeError(f"{where}: {name} must be a square array of numbers, got {m!r}")
    return tuple(_vector(row, where, f"each row of {name}") for row in m)



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


def _squarefree(p: Poly) -> list[tuple[Poly, int]]:
    """Yun's exact square-free decomposition: [(f, m)] with p = const·Π f^m, the f squarefree and coprime."""
    out: list[tuple[Poly, int]] = []
    a = _gcd(p, _deriv(p))
    b, c = _divmod(p, a)[0], _divmod(_deriv(p), a)[0]
    m = 1
    while len(b) > 1:
        d = _add(c, _mul(_deriv(b), (Fraction(-1),)))
        f = _gcd(b, d)
        if len(f) > 1:
            out.append((f, m))
        b, c, m = _divmod(b, f)[0], _divmod(d, f)[0], m + 1
    return out


def _roots(p: Sequence[Fraction]) -> np.ndarray:
    return np.roots([float(a) for a in reversed(p)]) if len(p) > 1 else np.empty(0, dtype=np.complex128)


def _horner_d(c: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(x) and p'(x) by Horner, c ascending."""
    p, d = np.full_like(x, c[-1]), np.zeros_like(x)
    for a in c[-2::-1]:
        d = d * x + p
        p = p * x + a
    return p, d


def _batched_roots(c: np.ndarray) -> np.ndarray:
    """All roots of each row of c (ascending coefficients, shape (N, n+1)) as eigenvalues of companion
    matrices, shape (N, n); a row whose leading coefficient vanishes has its lost root at inf."""
    n = c.shape[1] - 1
    if n == 0:
        return np.empty((len(c), 0), dtype=np.complex128)
    bad = ~np.isfinite(c).all(axis=1)
    c = np.where(bad[:, None], 1, c)
    lead = c[:, -1]
    dropped = lead == 0
    comp = np.zeros((len(c), n, n), dtype=np.complex128)
    comp[:, np.arange(1, n), np.arange(n - 1)] = 1
    comp[:, :, -1] = -c[:, :-1] / np.where(dropped, 1, lead)[:, None]
    roots = np.linalg.eigvals(comp)
    roots[bad] = np.nan
    if dropped.any():  # degree n − 1 there: redo those rows without the zero leading coefficient
        roots[dropped] = np.concatenate(
            [_batched_roots(c[dropped, :-1]), np.full((int(dropped.sum()), 1), np.inf)], axis=1)
    return roots


def _angle_to_negative_axis(z: np.ndarray) -> np.ndarray:
    """|arg(−z)| in radians; π (the largest) where z is not finite or so small that its angle is noise."""
    ok = np.isfinite(z) & (np.abs(z) > 1e-9)
    return np.where(ok, np.pi - np.abs(np.angle(np.where(ok, z, 1))), np.pi)


def _min_over_circle(f: typing.Callable[[np.ndarray], np.ndarray]) -> float:
    """min over θ ∈ [0, π] of a continuous f (vectorised): a 4096-point scan, then golden section on the
    best bracket, so the minimum is located to ~1e-13 in θ and its value to rounding."""
    grid = np.linspace(0.0, np.pi, 4097)
    values = f(grid)
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    g = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = (float(f(np.array([x]))[0]) for x in (x1, x2))
    for _ in range(60):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = float(f(np.array([x1]))[0])
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = float(f(np.array([x2]))[0])
    return min(float(values[i]), f1, f2)



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
        r1, dr1, s1 = sum(rho, Fraction(0)), _eval(_deriv(rho), Fraction(1)), sum(sigma, Fraction(0))
        size = sum((j + 1) * abs(a) for j, a in enumerate(rho)) + sum(abs(b) for b in sigma)
        if abs(r1) > _SLACK * size or abs(dr1 - s1) > _SLACK * size or s1 == 0:
            raise ValueError(f"{where}: consistency requires rho(1) = 0 and rho'(1) = sigma(1) ≠ 0, got "
                             f"rho(1) = {float(r1):g}, rho'(1) = {float(dr1):g}, sigma(1) = {float(s1):g}")
        object.__setattr__(self, "rho", rho)
        object.__setattr__(self, "sigma", sigma)

    @property
    def steps(self) -> int:
        return len(self.rho) - 1


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

    def spectral_radius(self, z: npt.ArrayLike) -> np.ndarray:
        """|R(z)|, float64, same shape as z: MultistepStability.spectral_radius for a one-step method."""
        return np.abs(self.R(z))

    @functools.cached_property
    def a_alpha_deg(self) -> float:
        """Largest α ∈ [0°, 90°] with |R(z)| ≤ 1 on the sector |arg(−z)| ≤ α (A(α)-stability).

        90 when A-stable; 0 when R is unbounded (explicit methods) or |R(−1)| ≥ 1. Otherwise |R| − 1 changes
        sign only across the locus |R(z)| = 1, the roots of P − e^{iθ}Q (common factors of P and Q
        cancelled first), so the sector, grown from the stable negative real axis, stays stable until it
        meets the locus: α = min over the locus of |arg(−z)|, θ ∈ [0, π] sufficing as P and Q are real.
        """
        if self.a_stable:
            return 90.0
        g = _gcd(self.P, self.Q)
        P, Q = _divmod(self.P, g)[0], _divmod(self.Q, g)[0]
        if len(P) > len(Q) or not abs(complex(self.R(-1.0))) < 1:
            return 0.0
        p, q = (np.array([float(a) for a in x] + [0.0] * (len(Q) - len(x))) for x in (P, Q))

        def angle(theta: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                roots = _batched_roots(p - np.exp(1j * theta)[:, None] * q)
            return _angle_to_negative_axis(roots).min(axis=1, initial=np.pi)

        return min(90.0, math.degrees(_min_over_circle(angle)))


_NUDGE = 1e-9  # radians the tracking ray is turned clockwise; see MultistepStability
_STEP = 1 / 3  # tracking step as a fraction of the distance to the nearest singular point
_MAX_STEPS = 20_000


def _pow(p: Poly, n: int) -> Poly:
    return functools.reduce(_mul, [p] * n, (Fraction(1),))


@typing.final
@dataclasses.dataclass(frozen=True)
class MultistepStability:
    """The principal root ζ₁(z) of ρ(ζ) − zσ(ζ) = 0 as R(z), with StabilityFunction's interface.

    Definition: ζ₁ is the root equal to 1 at z = 0, continued analytically along the segment from 0 to z
    (theory.md §1). Where that segment runs into a branch point (two roots colliding: BDF2 at z = −1/2,
    after which the whole negative real axis carries a conjugate pair of equal modulus) the continuation is
    taken on the ray turned clockwise by an infinitesimal angle (δ below; a ray less than δ counterclockwise
    of such a ray counts as on it), on the negative real axis the limit from Im z > 0. So R(conj z) =
    conj R(z) except on such rays.

    Tracking: the singular points of the roots are found once, the branch points ρ(ζc)/σ(ζc) at the roots
    ζc of ρ'σ − ρσ' (where ρ − zσ has a double root) and the pole α_k/β_k (where a root passes through ∞).
    All z are tracked together from |w| = r0 ≪ 1 (start 1 + w) along w = t·z·e^(−iδ), δ = 1e-9, each step
    a third of the distance to 0 or to the nearest singular point. The roots are analytic within that
    distance, so an Euler predictor (ζ' from dR's formula) lands well inside Newton's basin for the same
    branch (near a branch point, off by ~5% of the root spacing) and one Newton step corrects it: no root
    switching. That is ~8 steps per decade of |z| away from singular points and ~log(1/δ) more past one.
    A last step moves onto z.

    Accuracy: ζ₁ is finished by Newton on F(ζ) = ρ(ζ) − zσ(ζ) at z itself. A simple root of F is
    well-conditioned relative to its own size even at |z| = 1e8, where BDF-k's roots are ~|z|^(−1/k): the
    terms of F and ζF'(ζ) are all O(1) there, so rounding moves ζ₁ by a few eps relative (eigenvalues of
    the expanded companion matrix, by contrast, are only accurate relative to its norm). R' = σ(ζ)/(ρ'(ζ) −
    zσ'(ζ)) takes the equal value ρ(ζ)/z in place of σ(ζ) where that is less sensitive to rounding (near a
    nonzero root of σ, σ(ζ) cancels). tests/test_theory_multistep.py checks R and R' against 50-digit
    mpmath roots to 1e-12 relative for |z| up to 1e8.
    """

    rho: tuple[Fraction, ...]
    sigma: tuple[Fraction, ...]

    def __post_init__(self) -> None:
        method = LinearMultistep(self.rho, self.sigma)  # validation and conversion
        object.__setattr__(self, "rho", method.rho)
        object.__setattr__(self, "sigma", method.sigma)

    @functools.cached_property
    def _setup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Float coefficients of ρ and σ, the singular points of the roots, and where tracking starts."""
        a, b = np.array(self.rho, dtype=np.float64), np.array(self.sigma, dtype=np.float64)
        critical = _roots(_add(_mul(_deriv(self.rho), self.sigma),
                               _mul(_mul(self.rho, _deriv(self.sigma)), (Fraction(-1),))))
        with np.errstate(all="ignore"):
            singular = np.append(_horner(a, critical.astype(np.complex128)) / _horner(b, critical),
                                 a[-1] / b[-1] if b[-1] else np.inf)
        singular = singular[np.isfinite(singular)].astype(np.complex128)
        nonzero = np.abs(singular[singular != 0])
        return a, b, singular, 1e-3 * min(1.0, nonzero.min(initial=1.0))

    def _newton(self, zeta: np.ndarray, w: np.ndarray, steps: int) -> np.ndarray:
        a, b, *_ = self._setup
        for _ in range(steps):
            (r, dr), (s, ds) = _horner_d(a, zeta), _horner_d(b, zeta)
            zeta = zeta - (r - w * s) / (dr - w * ds)
        return zeta

    def _slope(self, zeta: np.ndarray, w: np.ndarray) -> np.ndarray:
        a, b, *_ = self._setup
        (_, dr), (s, ds) = _horner_d(a, zeta), _horner_d(b, zeta)
        return s / (dr - w * ds)

    def _principal_root(self, z: np.ndarray) -> np.ndarray:
        """ζ₁ at each entry of the 1-d complex array z (see the class docstring)."""
        *_, singular, r0 = self._setup
        r = np.abs(z)
        end = z * np.exp(-1j * _NUDGE)
        far = np.isfinite(z) & (r > r0)
        w = np.where(far, end * (r0 / np.where(far, r, 1.0)), end)
        zeta = self._newton(1 + w, w, 4)  # ζ₁ = 1 + w + O(w²), far from the other roots at |w| ≤ r0
        todo = np.flatnonzero(far)
        for _ in range(_MAX_STEPS):
            if not todo.size:
                break
            wt, et = w[todo], end[todo]
            d = np.abs(wt)
            if singular.size:
                d = np.minimum(d, np.abs(wt[:, None] - singular).min(axis=1))
            last = np.abs(et - wt) <= _STEP * d
            wn = np.where(last, et, wt + _STEP * d * (et / np.abs(et)))
            zt = zeta[todo]
            zeta[todo], w[todo] = self._newton(zt + self._slope(zt, wt) * (wn - wt), wn, 1), wn
            todo = todo[~last]
        zeta[todo] = np.nan  # only if the path ran into a singular point
        return self._newton(zeta + self._slope(zeta, w) * (z - w), z, 3)

    def R(self, z: npt.ArrayLike) -> np.ndarray:
        """ζ₁(z), complex128, same shape as z."""
        z = np.asarray(z, dtype=np.complex128)
        with np.errstate(all="ignore"):
            return self._principal_root(z.ravel()).reshape(z.shape)

    def dR(self, z: npt.ArrayLike) -> np.ndarray:
        """ζ₁'(z) = σ(ζ)/(ρ'(ζ) − zσ'(ζ)) at ζ = ζ₁(z), with σ(ζ) or the equal ρ(ζ)/z, whichever rounds less."""
        z = np.asarray(z, dtype=np.complex128)
        a, b, *_ = self._setup
        zeta = self.R(z)
        with np.errstate(all="ignore"):
            (r, dr), (s, ds), x = _horner_d(a, zeta), _horner_d(b, zeta), np.abs(zeta)
            # Relative error bound of each numerator: its Horner rounding plus its response to ζ's own error.
            err_s = (_horner(np.abs(b), x) + x * np.abs(ds)) / np.abs(s)
            err_r = (_horner(np.abs(a), x) + x * np.abs(dr)) / np.abs(r)
            return np.where(err_r < err_s, r / z, s) / (dr - z * ds)

    def spectral_radius(self, z: npt.ArrayLike) -> np.ndarray:
        """max |ζ| over all k roots of ρ(ζ) − zσ(ζ), float64, same shape as z (inf where a root is at ∞)."""
        z = np.asarray(z, dtype=np.complex128)
        a, b, *_ = self._setup
        w = z.reshape(-1, 1)
        with np.errstate(all="ignore"):
            roots = _batched_roots(a - w * b)
            # Companion eigenvalues are accurate only relative to the matrix norm; Newton steps, kept where
            # they reduce the residual (a double root resists them), make small roots accurate too.
            for _ in range(2):
                (r, dr), (s, ds) = _horner_d(a, roots), _horner_d(b, roots)
                new = roots - (r - w * s) / (dr - w * ds)
                better = np.abs(_horner(a, new) - w * _horner(b, new)) < np.abs(r - w * s)
                roots = np.where(better, new, roots)
            return np.abs(roots).max(axis=1, initial=0.0).reshape(z.shape)

    @functools.cached_property
    def _limit(self) -> tuple[complex, float]:
        k, sigma = len(self.rho) - 1, _trim(self.sigma)
        near, far = self.R(np.array([-1e14, -1e16]))
        candidates = [(complex(x), m) for f, m in _squarefree(sigma) for x in _roots(f)]
        # ζ₁ → ∞ grows like |z|^(1/d), d ≤ k; a finite limit is approached or held: the ratio tells which.
        if not candidates or (len(sigma) - 1 < k and abs(far) > abs(near) * 100 ** (1 / (2 * k))):
            return complex(math.inf, 0.0), 1 / (k - (len(sigma) - 1)) - 1
        limit, m = min(candidates, key=lambda c: abs(c[0] - far))
        common = _squarefree(_gcd(self.rho, sigma))
        r = next((n for f, n in common for x in _roots(f) if abs(x - limit) <= 1e-8 * (1 + abs(limit))), 0)
        return limit, -1 - 1 / (m - r)

    @property
    def R_inf(self) -> complex:
        """lim ζ₁(z) as z → −∞: a root of σ (0 for BDF), or complex(inf, 0) if ζ₁ is unbounded.

        Which root of σ is decided numerically, as the one nearest ζ₁(−1e16) (a root at ∞ when |ζ₁| still
        grows between −1e14 and −1e16); the value is then that root, exact 0 for a factor ζ^m of σ.
        """
        return self._limit[0]

    @property
    def decay_exponent(self) -> float:
        """p in |ζ₁'(z)| ~ C|z|^p as z → −∞, from the Newton polygon of ρ − zσ at z = ∞ (BDF-k: −1 − 1/k).

        With w = 1/z and ξ = ζ − ζ∞, ζ∞ = R_inf, the equation is σ(ζ∞ + ξ) − wρ(ζ∞ + ξ) = 0. Its lowest
        monomials are ξ^m (m = multiplicity of ζ∞ in σ) and wξ^r (r = multiplicity in ρ, 0 unless ρ and σ
        share the root; the r branches with ξ ≡ 0 are not ζ₁). The polygon's edge between them gives the
        Puiseux branches ξ ~ c·w^(1/(m−r)), c ≠ 0, so ζ₁' = −w² dξ/dw ~ |z|^(−1−1/(m−r)). When ζ₁ → ∞ (σ of
        degree k − d < k), ζ = 1/η with η^d ~ α_k/(β_(k−d) z) gives ζ ~ z^(1/d) and p = 1/d − 1. Only the
        choice of ζ∞ is numerical (see R_inf); m, r and d are exact.
        """
        return self._limit[1]

    @functools.cached_property
    def a_stable(self) -> bool:
        """All roots in |ζ| ≤ 1 whenever Re z ≤ 0 (Dahlquist: order ≤ 2; BDF1 and BDF2 are, BDF3–6 not).

        Every root ζ with |ζ| > 1 has z = ρ(ζ)/σ(ζ), so the method is A-stable iff Re ρ/σ > 0 outside the
        unit disc. Given β_k ≠ 0 and σ's roots in |ζ| ≤ 1 + 1e-9 (else a root tends to ∞ or outside the
        disc as z → ∞ in the left half-plane), Re ρ/σ is harmonic there including ∞, so by the minimum
        principle it suffices that E(θ) = Re ρ(e^{iθ})·conj σ(e^{iθ}) ≥ 0. E is a cosine polynomial, i.e. a
        polynomial in x = cos θ (Chebyshev), decided exactly on x ∈ [−1, 1] after x = (1 − w)/(1 + w), with
        the 1e-12 relative slack used throughout.
        """
        k, rho, sigma = len(self.rho) - 1, self.rho, self.sigma
        if sigma[-1] == 0 or np.abs(_roots(sigma)).max(initial=0.0) > 1 + 1e-9:
            return False
        e = [Fraction(0)] * (k + 1)
        for i, a in enumerate(rho):
            for j, b in enumerate(sigma):
                e[abs(i - j)] += a * b
        cheb: list[Poly] = [(Fraction(1),), (Fraction(0), Fraction(1))]
        while len(cheb) <= k:
            cheb.append(_add(_mul((Fraction(0), Fraction(2)), cheb[-1]), _mul(cheb[-2], (Fraction(-1),))))
        E: Poly = (Fraction(0),)
        for n, c in enumerate(e):
            E = _add(E, _mul(cheb[n], (c,)))
        minus, plus = (Fraction(1), Fraction(-1)), (Fraction(1), Fraction(1))
        g = _mul(_pow(plus, k), (_SLACK * sum(abs(a) for a in rho) * sum(abs(b) for b in sigma),))
        for i, c in enumerate(E):
            g = _add(g, _mul(_mul(_pow(minus, i), _pow(plus, k - i)), (c,)))
        return _nonnegative_on_half_line(g)

    @property
    def l_stable(self) -> bool:
        """A-stable and all roots → 0 as |z| → ∞, i.e. σ(ζ) = β_k ζ^k (BDF1, BDF2)."""
        return self.a_stable and not any(self.sigma[:-1])

    @functools.cached_property
    def a_alpha_deg(self) -> float:
        """Largest α ∈ [0°, 90°] with all roots in |ζ| ≤ 1 on the sector |arg(−z)| ≤ α (A(α)-stability).

        90 when A-stable. Otherwise the number of roots outside the unit disc changes only across the
        boundary locus z(θ) = ρ(e^{iθ})/σ(e^{iθ}), so the sector, grown from the negative real axis, stays
        stable until it meets the locus: α = min over θ of |arg(−z(θ))| (θ ∈ [0, π] suffices, ρ and σ being
        real; θ = 0 gives z = 0 and is skipped), provided the axis is stable, checked at z = −1; else 0
        (explicit methods, whose bounded stability region the locus closes across the negative axis).
        """
        if self.a_stable:
            return 90.0
        if not self.spectral_radius(-1.0) < 1:
            return 0.0
        a, b, *_ = self._setup

        def angle(theta: np.ndarray) -> np.ndarray:
            x = np.exp(1j * theta)
            with np.errstate(all="ignore"):
                return _angle_to_negative_axis(_horner(a, x) / _horner(b, x))

        return min(90.0, math.degrees(_min_over_circle(angle)))


@functools.cache  # theory data is immutable and hashable; the exact determinants cost milliseconds
def stability_function(
    theory: ButcherTableau | RosenbrockMethod | RationalFunction | LinearMultistep,
) -> StabilityFunction | MultistepStability:
    """The stability function of a tableau or Rosenbrock method (P, Q from exact determinants), of an
    explicit P/Q, or the principal-root function of a linear multistep method; all share one interface."""
    if isinstance(theory, RationalFunction):
        return StabilityFunction(theory.numerator, theory.denominator)
    if isinstance(theory, LinearMultistep):
        return MultistepStability(theory.rho, theory.sigma)
    if isinstance(theory, ButcherTableau):
        A = theory.A
    elif isinstance(theory, RosenbrockMethod):
        A = tuple(tuple(map(sum, zip(ra, rg, strict=True))) for ra, rg in zip(theory.alpha, theory.gamma, strict=True))
    else:
        raise TypeError("expected ButcherTableau, RosenbrockMethod, RationalFunction or LinearMultistep, "
                        f"got {type(theory).__name__}")
    b, s = theory.b, theory.stages
    # Both determinants have degree ≤ s: evaluate exactly at z = 0..s and interpolate exactly.
    nodes = list(range(s + 1))
    Q = [_det([[int(i == j) - z * A[i][j] for j in range(s)] for i in range(s)]) for z in nodes]
    P = [_det([[int(i == j) - z * (A[i][j] - b[j]) for j in range(s)] for i in range(s)]) for z in nodes]
    return StabilityFunction(_interpolate(nodes, P), _interpolate(nodes, Q))
