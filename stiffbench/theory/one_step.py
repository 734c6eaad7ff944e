"""The stability function ``R = P/Q`` of a one-step method, exact, and evaluated accurately at any ``|z|``.

For a Runge–Kutta or Rosenbrock method ``P`` and ``Q`` come from exact determinants
(:func:`stiffbench.theory.stability_function`); the numerator of ``R'`` is formed exactly, so the leading
terms of ``P'Q`` and ``PQ'``, which cancel identically, are gone before rounding (docs/theory.md §5).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from . import algebra, numeric
from .methods import RationalFunction


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
        object.__setattr__(self, "P", algebra.mul(rf.numerator, (1 / lowest,)))
        object.__setattr__(self, "Q", algebra.mul(rf.denominator, (1 / lowest,)))

    @functools.cached_property
    def _N(self) -> algebra.Poly:
        """Numerator of R' = N/Q², exact, so the cancelling leading terms of P'Q and PQ' vanish."""
        return algebra.sub(algebra.mul(algebra.deriv(self.P), self.Q), algebra.mul(self.P, algebra.deriv(self.Q)))

    @functools.cached_property
    def _float64(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f64 = np.float64
        return np.array(self.P, dtype=f64), np.array(self.Q, dtype=f64), np.array(self._N, dtype=f64)

    def R(self, z: npt.ArrayLike) -> np.ndarray:
        """R(z), complex128, same shape as z; relative accuracy near machine precision away from zeros."""
        P, Q, _ = self._float64
        return numeric.ratio(P, Q, z)

    def dR(self, z: npt.ArrayLike) -> np.ndarray:
        """R'(z) = N(z)/Q(z)², evaluated like R; Q is squared after evaluation, not expanded, because an
        expanded Q² is evaluated less accurately near a multiple pole (an SDIRK's (1 − γz)^s)."""
        _, Q, N = self._float64
        return numeric.ratio(N, Q, z, power=2)

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
        poles = algebra.quotient_remainder(self.Q, algebra.gcd(self.P, self.Q))[0]
        if not algebra.roots_in_open_right_half_plane(poles):
            return False
        q2 = algebra.abs2_on_imaginary_axis(self.Q)
        e = algebra.sub(q2, algebra.abs2_on_imaginary_axis(self.P))
        return algebra.nonnegative_on_half_line(algebra.add(e, algebra.mul(q2, (algebra.SLACK,))))

    @property
    def l_stable(self) -> bool:
        """A-stable and R(∞) = 0, up to |R(∞)| ≤ 1e-12 (float-typed tableaus; R_inf keeps the exact value)."""
        return self.a_stable and abs(self.R_inf) <= algebra.SLACK

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
        g = algebra.gcd(self.P, self.Q)
        P, Q = algebra.quotient_remainder(self.P, g)[0], algebra.quotient_remainder(self.Q, g)[0]
        if len(P) > len(Q) or not abs(complex(self.R(-1.0))) < 1:
            return 0.0
        p, q = (np.array([float(a) for a in x] + [0.0] * (len(Q) - len(x))) for x in (P, Q))

        def angle(theta: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                roots = numeric.batched_roots(p - np.exp(1j * theta)[:, None] * q)
            return numeric.angle_to_negative_axis(roots).min(axis=1, initial=np.pi)

        return min(90.0, math.degrees(numeric.min_over_circle(angle)))
