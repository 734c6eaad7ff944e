"""The principal root ``ζ₁(z)`` of a linear multistep method, with the interface of a stability function."""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from . import algebra, numeric
from .methods import LinearMultistep

_NUDGE = 1e-9  # radians the tracking ray is turned clockwise; see MultistepStability
_STEP = 1 / 3  # tracking step as a fraction of the distance to the nearest singular point
_MAX_STEPS = 20_000


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
        critical = numeric.roots(algebra.sub(algebra.mul(algebra.deriv(self.rho), self.sigma),
                                             algebra.mul(self.rho, algebra.deriv(self.sigma))))
        with np.errstate(all="ignore"):
            singular = np.append(numeric.horner(a, critical.astype(np.complex128)) / numeric.horner(b, critical),
                                 a[-1] / b[-1] if b[-1] else np.inf)
        singular = singular[np.isfinite(singular)].astype(np.complex128)
        nonzero = np.abs(singular[singular != 0])
        return a, b, singular, 1e-3 * min(1.0, nonzero.min(initial=1.0))

    def _newton(self, zeta: np.ndarray, w: np.ndarray, steps: int) -> np.ndarray:
        a, b, *_ = self._setup
        for _ in range(steps):
            (r, dr), (s, ds) = numeric.horner_d(a, zeta), numeric.horner_d(b, zeta)
            zeta = zeta - (r - w * s) / (dr - w * ds)
        return zeta

    def _slope(self, zeta: np.ndarray, w: np.ndarray) -> np.ndarray:
        a, b, *_ = self._setup
        (_, dr), (s, ds) = numeric.horner_d(a, zeta), numeric.horner_d(b, zeta)
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
            (r, dr), (s, ds), x = numeric.horner_d(a, zeta), numeric.horner_d(b, zeta), np.abs(zeta)
            # Relative error bound of each numerator: its Horner rounding plus its response to ζ's own error.
            err_s = (numeric.horner(np.abs(b), x) + x * np.abs(ds)) / np.abs(s)
            err_r = (numeric.horner(np.abs(a), x) + x * np.abs(dr)) / np.abs(r)
            return np.where(err_r < err_s, r / z, s) / (dr - z * ds)

    def spectral_radius(self, z: npt.ArrayLike) -> np.ndarray:
        """max |ζ| over all k roots of ρ(ζ) − zσ(ζ), float64, same shape as z (inf where a root is at ∞)."""
        z = np.asarray(z, dtype=np.complex128)
        a, b, *_ = self._setup
        w = z.reshape(-1, 1)
        with np.errstate(all="ignore"):
            roots = numeric.batched_roots(a - w * b)
            # Companion eigenvalues are accurate only relative to the matrix norm; Newton steps, kept where
            # they reduce the residual (a double root resists them), make small roots accurate too.
            for _ in range(2):
                (r, dr), (s, ds) = numeric.horner_d(a, roots), numeric.horner_d(b, roots)
                new = roots - (r - w * s) / (dr - w * ds)
                better = np.abs(numeric.horner(a, new) - w * numeric.horner(b, new)) < np.abs(r - w * s)
                roots = np.where(better, new, roots)
            return np.abs(roots).max(axis=1, initial=0.0).reshape(z.shape)

    @functools.cached_property
    def _limit(self) -> tuple[complex, float]:
        k, sigma = len(self.rho) - 1, algebra.trim(self.sigma)
        near, far = self.R(np.array([-1e14, -1e16]))
        candidates = [(complex(x), m) for f, m in algebra.squarefree(sigma) for x in numeric.roots(f)]
        # ζ₁ → ∞ grows like |z|^(1/d), d ≤ k; a finite limit is approached or held: the ratio tells which.
        if not candidates or (len(sigma) - 1 < k and abs(far) > abs(near) * 100 ** (1 / (2 * k))):
            return complex(math.inf, 0.0), 1 / (k - (len(sigma) - 1)) - 1
        limit, m = min(candidates, key=lambda c: abs(c[0] - far))
        common = algebra.squarefree(algebra.gcd(self.rho, sigma))
        r = next((n for f, n in common for x in numeric.roots(f) if abs(x - limit) <= 1e-8 * (1 + abs(limit))), 0)
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
        if sigma[-1] == 0 or np.abs(numeric.roots(sigma)).max(initial=0.0) > 1 + 1e-9:
            return False
        e = [Fraction(0)] * (k + 1)
        for i, a in enumerate(rho):
            for j, b in enumerate(sigma):
                e[abs(i - j)] += a * b
        cheb: list[algebra.Poly] = [(Fraction(1),), (Fraction(0), Fraction(1))]
        while len(cheb) <= k:
            two_x_t = algebra.mul((Fraction(0), Fraction(2)), cheb[-1])  # T_{n+1} = 2x T_n − T_{n−1}
            cheb.append(algebra.sub(two_x_t, cheb[-2]))
        E: algebra.Poly = (Fraction(0),)
        for n, c in enumerate(e):
            E = algebra.add(E, algebra.mul(cheb[n], (c,)))
        minus, plus = (Fraction(1), Fraction(-1)), (Fraction(1), Fraction(1))
        slack = algebra.SLACK * sum(abs(a) for a in rho) * sum(abs(b) for b in sigma)
        g = algebra.mul(algebra.power(plus, k), (slack,))
        for i, c in enumerate(E):
            g = algebra.add(g, algebra.mul(algebra.mul(algebra.power(minus, i), algebra.power(plus, k - i)), (c,)))
        return algebra.nonnegative_on_half_line(g)

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
                return numeric.angle_to_negative_axis(numeric.horner(a, x) / numeric.horner(b, x))

        return min(90.0, math.degrees(numeric.min_over_circle(angle)))
