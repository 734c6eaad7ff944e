"""Exact polynomial algebra over the rationals: what decides stability without rounding.

Polynomials are tuples of :class:`~fractions.Fraction` in ascending powers; the zero polynomial is ``(0,)``,
never ``()``. Everything here is exact; the float evaluation of the results lives in
:mod:`stiffbench.theory.numeric`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

Poly = tuple[Fraction, ...]  # ascending powers; the zero polynomial is (0,), never ()

# A design that is exactly A- or L-stable but typed in floats (Gauss with √3/6, an ESDIRK whose R(∞) = 0 is
# an order condition) misses |R(iy)| ≤ 1 or R(∞) = 0 by ~1e-16; real failures miss by far more. So
# |R(iy)| ≤ 1 is tested as |Q(iy)|² − |P(iy)|² ≥ −slack·|Q(iy)|², and R(∞) = 0 as |R(∞)| ≤ slack.
SLACK = Fraction(1, 10**12)

def trim(p: Sequence[Fraction]) -> Poly:
    p = list(p)
    while len(p) > 1 and p[-1] == 0:
        p.pop()
    return tuple(p) if p else (Fraction(0),)


def add(p: Sequence[Fraction], q: Sequence[Fraction]) -> Poly:
    n = max(len(p), len(q))
    zero = Fraction(0)
    return trim([(p[k] if k < len(p) else zero) + (q[k] if k < len(q) else zero) for k in range(n)])


def mul(p: Sequence[Fraction], q: Sequence[Fraction]) -> Poly:
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return trim(out)


def sub(p: Sequence[Fraction], q: Sequence[Fraction]) -> Poly:
    return add(p, mul(q, (Fraction(-1),)))


def deriv(p: Sequence[Fraction]) -> Poly:
    return trim([k * a for k, a in enumerate(p)][1:])


def evaluate(p: Sequence[Fraction], x: Fraction) -> Fraction:
    acc = Fraction(0)
    for a in reversed(p):
        acc = acc * x + a
    return acc


def quotient_remainder(a: Poly, b: Poly) -> tuple[Poly, Poly]:
    """Exact polynomial long division, b ≠ 0 and trimmed."""
    r, q = list(a), [Fraction(0)] * max(len(a) - len(b) + 1, 1)
    while len(r) >= len(b) and any(r):
        f, shift = r[-1] / b[-1], len(r) - len(b)
        q[shift] = f
        for k, c in enumerate(b):
            r[shift + k] -= f * c
        r.pop()  # its leading entry is now exactly zero
    return trim(q), trim(r)


def gcd(a: Poly, b: Poly) -> Poly:
    while any(b):
        a, b = b, quotient_remainder(a, b)[1]
    return a


def det(m: list[list[Fraction]]) -> Fraction:
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


def interpolate(xs: Sequence[int], ys: Sequence[Fraction]) -> Poly:
    """Coefficients of the polynomial of degree < len(xs) through (xs, ys), by exact divided differences."""
    d = list(ys)
    for k in range(1, len(xs)):
        for i in range(len(xs) - 1, k - 1, -1):
            d[i] = (d[i] - d[i - 1]) / (xs[i] - xs[i - k])
    p: Poly = (d[-1],)
    for k in range(len(xs) - 2, -1, -1):
        p = add(mul(p, (Fraction(-xs[k]), Fraction(1))), (d[k],))
    return p


def abs2_on_imaginary_axis(p: Poly) -> Poly:
    """Coefficients, in w = y², of |p(iy)|² for real p: p(x)p(−x) is even in x, and x² = −w there."""
    even = mul(p, [a if k % 2 == 0 else -a for k, a in enumerate(p)])[0::2]
    return trim([a if m % 2 == 0 else -a for m, a in enumerate(even)])


def roots_in_open_right_half_plane(q: Poly) -> bool:
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


def nonnegative_on_half_line(g: Poly) -> bool:
    """Whether g(w) ≥ 0 for all w ≥ 0.

    Roots of g and g' are located in floats only to choose where to look; the sign is decided exactly at
    w = 0, at infinity, at every (approximate) critical point and between and beyond the real roots. A
    'False' is thus certified by an exact witness; a 'True' can only err if the minimum lies within a
    root-finding error of zero, which the slack added by the caller rules out.
    """
    if g[0] < 0 or g[-1] < 0:
        return False
    points: set[float] = set()
    for poly in (g, deriv(g)):
        if len(poly) > 1:
            points.update(float(r.real) for r in np.roots([float(a) for a in reversed(poly)]) if r.real > 0)
    pts = sorted(points)
    pts += [(x + y) / 2 for x, y in itertools.pairwise(pts)] + [2 * x for x in pts[-1:]]
    return all(evaluate(g, Fraction(x)) >= 0 for x in pts)


def squarefree(p: Poly) -> list[tuple[Poly, int]]:
    """Yun's exact square-free decomposition: [(f, m)] with p = const·Π f^m, the f squarefree and coprime."""
    out: list[tuple[Poly, int]] = []
    a = gcd(p, deriv(p))
    b, c = quotient_remainder(p, a)[0], quotient_remainder(deriv(p), a)[0]
    m = 1
    while len(b) > 1:
        d = sub(c, deriv(b))
        f = gcd(b, d)
        if len(f) > 1:
            out.append((f, m))
        b, c, m = quotient_remainder(b, f)[0], quotient_remainder(d, f)[0], m + 1
    return out


def power(p: Poly, n: int) -> Poly:
    return functools.reduce(mul, [p] * n, (Fraction(1),))
