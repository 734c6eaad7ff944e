"""Float64 evaluation of what :mod:`stiffbench.theory.algebra` derives exactly: Horner sums, ratios kept
accurate at large ``|z|``, batched polynomial roots, and a minimum over the unit circle."""

from __future__ import annotations

import math
import typing
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt


def horner(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    acc = np.full_like(x, c[-1])
    for a in c[-2::-1]:
        acc = acc * x + a
    return acc


def ratio(num: np.ndarray, den: np.ndarray, z: npt.ArrayLike, power: int = 1) -> np.ndarray:
    """num(z)/den(z)**power, by Horner in z for |z| ≤ 1 and in w = 1/z (reversed coefficients) beyond."""
    z = np.asarray(z, dtype=np.complex128)
    out = np.empty(z.shape, dtype=np.complex128)
    small = np.abs(z) <= 1.0
    out[small] = horner(num, z[small]) / horner(den, z[small]) ** power
    big, k = ~small, (len(num) - 1) - power * (len(den) - 1)
    w = 1.0 / z[big]
    scale = z[big] ** k if k >= 0 else w ** (-k)
    out[big] = scale * (horner(num[::-1], w) / horner(den[::-1], w) ** power)
    return out


def roots(p: Sequence[Fraction]) -> np.ndarray:
    return np.roots([float(a) for a in reversed(p)]) if len(p) > 1 else np.empty(0, dtype=np.complex128)


def horner_d(c: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(x) and p'(x) by Horner, c ascending."""
    p, d = np.full_like(x, c[-1]), np.zeros_like(x)
    for a in c[-2::-1]:
        d = d * x + p
        p = p * x + a
    return p, d


def batched_roots(c: np.ndarray) -> np.ndarray:
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
            [batched_roots(c[dropped, :-1]), np.full((int(dropped.sum()), 1), np.inf)], axis=1)
    return roots


def angle_to_negative_axis(z: np.ndarray) -> np.ndarray:
    """|arg(−z)| in radians; π (the largest) where z is not finite or so small that its angle is noise."""
    ok = np.isfinite(z) & (np.abs(z) > 1e-9)
    return np.where(ok, np.pi - np.abs(np.angle(np.where(ok, z, 1))), np.pi)


def min_over_circle(f: typing.Callable[[np.ndarray], np.ndarray]) -> float:
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
