"""Tests of stiffbench.theory's linear multistep stability against independent sources.

The principal root is compared with roots of ρ − zσ computed in mpmath at 50 digits (Newton from the float
answer, which is checked to be well separated from the other roots), with a root continuation done
independently (numpy eigenvalues on a dense path, nearest-neighbour matching), with closed forms (BDF1,
BDF2, the trapezoidal rule) and with published properties (Dahlquist's barrier, Hairer & Wanner's A(α)
angles for BDF3–6).
"""

from __future__ import annotations

import math
import time
from fractions import Fraction as F

import mpmath as mp
import numpy as np
import pytest

from stiffbench.theory import LinearMultistep, MultistepStability, stability_function

DPS = 50
TOL = 1e-12

# BDF-k, Hairer & Wanner I, §III.1, eq. (1.22'): Σ_{j=1..k} (1/j) ∇ʲ y_{n+1} = h f_{n+1}; ρ ascending, σ = ζᵏ.
BDF_RHO = {
    1: (-1, 1),
    2: (F(1, 2), -2, F(3, 2)),
    3: (F(-1, 3), F(3, 2), -3, F(11, 6)),
    4: (F(1, 4), F(-4, 3), 3, -4, F(25, 12)),
    5: (F(-1, 5), F(5, 4), F(-10, 3), 5, -5, F(137, 60)),
    6: (F(1, 6), F(-6, 5), F(15, 4), F(-20, 3), F(15, 2), -6, F(49, 20)),
}
BDF = {k: LinearMultistep(rho, (0,) * k + (1,)) for k, rho in BDF_RHO.items()}
# Hairer & Wanner II, Table V.2.3 (angles α of A(α)-stability, degrees).
BDF_ALPHA = {3: 86.03, 4: 73.35, 5: 51.84, 6: 17.84}

TRAPEZOID = LinearMultistep((-1, 1), (F(1, 2), F(1, 2)))
EXPLICIT_EULER = LinearMultistep((-1, 1), (1, 0))
AB2 = LinearMultistep((0, -1, 1), (F(-1, 2), F(3, 2), 0))  # Adams–Bashforth, k = 2
AM2 = LinearMultistep((0, -1, 1), (F(-1, 12), F(8, 12), F(5, 12)))  # Adams–Moulton, k = 2, order 3

RAYS_DEG = (0, 30, -30, 60, -60, 85, -85)  # arg(−z)
MODULI = np.logspace(-2, 8, 15)


def _mpf(x) -> mp.mpf:
    x = F(x)
    return mp.mpf(x.numerator) / x.denominator


def _mp_poly(p, x):
    """Value and derivative of p (ascending coefficients) at x, by Horner in mpmath."""
    v, d = mp.mpf(0), mp.mpf(0)
    for a in reversed(p):
        d = d * x + v
        v = v * x + a
    return v, d


def mp_root(method: LinearMultistep, z, guess) -> tuple[mp.mpc, mp.mpc]:
    """The root of ρ − zσ that Newton reaches from guess at DPS digits, and ζ'(z) = σ/(ρ' − zσ') there."""
    a, b = [_mpf(x) for x in method.rho], [_mpf(x) for x in method.sigma]
    zm = z if isinstance(z, mp.mpc) else mp.mpc(complex(z))
    x = guess if isinstance(guess, mp.mpc) else mp.mpc(complex(guess))
    for _ in range(12):
        (r, dr), (s, ds) = _mp_poly(a, x), _mp_poly(b, x)
        dx = (r - zm * s) / (dr - zm * ds)
        x -= dx
        if abs(dx) <= mp.mpf(10) ** (5 - DPS) * abs(x):
            break
    else:
        raise AssertionError(f"mpmath Newton did not converge at z = {z}")
    (r, dr), (s, ds) = _mp_poly(a, x), _mp_poly(b, x)
    return x, s / (dr - zm * ds)


def relative_separation(method: LinearMultistep, z, root) -> float:
    """Distance from root to the nearest other root of ρ − zσ (numpy), relative to |root|."""
    c = np.array(method.rho, dtype=float) - z * np.array(method.sigma, dtype=float)
    others = np.sort(np.abs(np.roots(c[::-1]) - complex(root)))
    return float(others[1] / abs(complex(root))) if len(others) > 1 else math.inf


def rel_err(got, ref) -> float:
    """Relative error; absolute where the reference is exactly zero (explicit Euler at z = −1)."""
    return float(abs(mp.mpc(complex(got)) - ref) / (abs(ref) or 1))


def ray(angle_deg: float, moduli=MODULI) -> np.ndarray:
    return -moduli * np.exp(1j * math.radians(angle_deg))


def _sf(method) -> MultistepStability:
    sf = stability_function(method)
    assert isinstance(sf, MultistepStability)
    return sf


# --- 1. coefficients ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", sorted(BDF))
def test_bdf_coefficients_are_backward_differences(k):
    # ρ(ζ) = Σ_j (1/j) ζ^(k−j) (ζ − 1)^j, expanded here independently of the table above.
    rho = [F(0)] * (k + 1)
    for j in range(1, k + 1):
        for i in range(j + 1):
            rho[k - j + i] += F(math.comb(j, i) * (-1) ** (j - i), j)
    assert BDF[k].rho == tuple(rho) and BDF[k].sigma == (0,) * k + (1,) and BDF[k].steps == k


# --- 2. principal root and its derivative against 50-digit mpmath -----------------------------------------

@pytest.mark.parametrize("k", sorted(BDF))
def test_bdf_principal_root_against_mpmath(k):
    method, sf = BDF[k], _sf(BDF[k])
    z = np.concatenate([ray(a) for a in RAYS_DEG])
    R, dR = sf.R(z), sf.dR(z)
    worst_R = worst_dR = 0.0
    with mp.workdps(DPS):
        for zk, Rk, dRk in zip(z, R, dR, strict=True):
            root, droot = mp_root(method, zk, Rk)
            assert relative_separation(method, zk, root) > 1e-3, zk  # the nearest root is unambiguous
            worst_R, worst_dR = max(worst_R, rel_err(Rk, root)), max(worst_dR, rel_err(dRk, droot))
    assert worst_R <= TOL and worst_dR <= TOL, (worst_R, worst_dR)


def test_newton_reference_agrees_with_polyroots():
    # The reference above is Newton from the float answer; confirm it against mpmath's own root finder.
    method, sf = BDF[6], _sf(BDF[6])
    with mp.workdps(DPS):
        for zk in (ray(60, np.array([1e8]))[0], -0.3):
            zm = mp.mpc(complex(zk))
            coeffs = [_mpf(a) - zm * _mpf(b) for a, b in zip(method.rho, method.sigma, strict=True)]
            roots = mp.polyroots(coeffs, maxsteps=100, extraprec=100, asc=True)
            root = min(roots, key=lambda r: abs(r - mp.mpc(complex(sf.R(zk)))))
            assert rel_err(sf.R(zk), root) <= TOL
            assert abs(mp_root(method, zk, sf.R(zk))[0] - root) <= mp.mpf(10) ** (10 - DPS) * abs(root)


@pytest.mark.parametrize("k", [2, 4, 6])
def test_dR_against_mpmath_finite_differences(k):
    method, sf = BDF[k], _sf(BDF[k])
    with mp.workdps(DPS):
        for zk in (-0.1, -3.0 + 2.0j, ray(30, np.array([1e5]))[0], -1e8):
            root = mp_root(method, zk, sf.R(zk))[0]
            zm, h = mp.mpc(complex(zk)), abs(complex(zk)) * mp.mpf(10) ** -20
            # Roots at z ± h, each by Newton from the root at z; ζ'' h² / ζ' ~ 1e-40 relative.
            plus, minus = (mp_root(method, zm + s * h, root)[0] for s in (1, -1))
            assert rel_err(sf.dR(zk), (plus - minus) / (2 * h)) <= TOL


@pytest.mark.parametrize("method", [TRAPEZOID, AB2, AM2, EXPLICIT_EULER], ids=["trap", "ab2", "am2", "ee"])
def test_other_methods_against_mpmath(method):
    sf = _sf(method)
    z = np.concatenate([ray(a, np.logspace(-2, 8, 11)) for a in (0, 45, -80)])
    with mp.workdps(DPS):
        for zk, Rk, dRk in zip(z, sf.R(z), sf.dR(z), strict=True):
            root, droot = mp_root(method, zk, Rk)
            assert relative_separation(method, zk, root) > 1e-3
            assert rel_err(Rk, root) <= TOL and rel_err(dRk, droot) <= TOL, zk


# --- 3. which root: an independent continuation ------------------------------------------------------------

def all_roots(method: LinearMultistep, z: np.ndarray) -> np.ndarray:
    """All roots of ρ − zσ for each z (shape (..., k)), as companion-matrix eigenvalues in numpy."""
    c = np.array(method.rho, dtype=float) - z[..., None] * np.array(method.sigma, dtype=float)
    k = c.shape[-1] - 1
    comp = np.zeros((*z.shape, k, k), dtype=complex)
    comp[..., np.arange(1, k), np.arange(k - 1)] = 1
    comp[..., :, -1] = -c[..., :-1] / c[..., -1:]
    return np.linalg.eigvals(comp)


def continued_root(method: LinearMultistep, angles_deg, moduli: np.ndarray) -> np.ndarray:
    """ζ₁ on the rays arg(−z) = angle, continued on a dense path by nearest-neighbour matching of all roots."""
    path = np.concatenate([np.logspace(-3, math.log10(0.05), 40), np.logspace(math.log10(0.05), 1, 1000),
                           np.logspace(1, 8.5, 400)])
    path = np.unique(np.concatenate([path, moduli]))
    roots = all_roots(method, np.stack([ray(a, path) for a in angles_deg], axis=1))  # (path, ray, k)
    current, out = np.ones(len(angles_deg), dtype=complex), np.empty(roots.shape[:2], dtype=complex)
    rows = np.arange(len(angles_deg))
    for i, r in enumerate(roots):
        current = out[i] = r[rows, np.argmin(np.abs(r - current[:, None]), axis=1)]
    return out[np.searchsorted(path, moduli)]


@pytest.mark.parametrize("k", sorted(BDF))
def test_bdf_branch_against_independent_continuation(k):
    # ±1° stand in for the two sides of the negative real axis, where BDF2, 4, 6 have branch points.
    sf, moduli, angles = _sf(BDF[k]), np.logspace(-2, 8, 11), (-1, 1, 30, -30, 60, 85)
    ref = continued_root(BDF[k], angles, moduli)
    R = sf.R(np.stack([ray(a, moduli) for a in angles], axis=1))
    assert np.allclose(R, ref, rtol=1e-8, atol=0)


@pytest.mark.parametrize("k", sorted(BDF))
def test_negative_axis_is_the_limit_from_above(k):
    # Documented convention: on the negative real axis, the limit from Im z > 0, i.e. arg(−z) → 0⁻.
    # 1e-6° is 1.7e-8 rad, past the 1e-9 rad by which the module turns its tracking ray.
    sf, x = _sf(BDF[k]), np.logspace(-2, 8, 11)
    assert np.allclose(sf.R(-x), sf.R(ray(-1e-6, x)), rtol=1e-7, atol=0)
    if k in (2, 4, 6):  # a branch point on the axis: the other side gives the conjugate beyond it
        above, below = sf.R(-x[2:]), sf.R(ray(1e-6, x[2:]))
        assert np.allclose(above, np.conj(below), rtol=1e-7, atol=0)
        assert np.all(np.abs(above.imag) > 1e-3 * np.abs(above))


# --- 4. closed forms --------------------------------------------------------------------------------------

def test_bdf1_is_backward_euler():
    sf = _sf(BDF[1])
    z = np.array([-0.3, -2.5 + 1j, -40 + 300j, -1e4, -1e6 + 1e5j, -1e8, 0.01j, 7 - 2j, 0.0])
    with mp.workdps(DPS):
        for zk, Rk, dRk in zip(z, sf.R(z), sf.dR(z), strict=True):
            zm = mp.mpc(complex(zk))
            assert rel_err(Rk, 1 / (1 - zm)) <= TOL and rel_err(dRk, 1 / (1 - zm) ** 2) <= TOL


def test_bdf2_closed_form():
    # (3/2 − z)ζ² − 2ζ + 1/2 = 0: ζ₁ = (2 + √(1 + 2z))/(3 − 2z), the square root continued from z = 0. For
    # real z < −1/2 the limit from Im z > 0 takes √(1 + 2z) = i√(−1 − 2z), and |ζ| = (3 − 2z)^(−1/2)
    # (theory.md §3).
    sf = _sf(BDF[2])
    x = -np.concatenate([np.logspace(-2, math.log10(0.45), 7), np.logspace(math.log10(0.55), 8, 30)])
    R = sf.R(x)
    with mp.workdps(DPS):
        for xk, Rk in zip(x, R, strict=True):
            z = _mpf(xk)
            root = mp.sqrt(1 + 2 * z) if z > -0.5 else 1j * mp.sqrt(-1 - 2 * z)
            assert rel_err(Rk, (2 + root) / (3 - 2 * z)) <= TOL
            if z < -0.5:
                assert abs(abs(complex(Rk)) - float((3 - 2 * z) ** -0.5)) <= TOL * abs(complex(Rk))
    # Both roots have that modulus there, so the spectral radius equals |R|.
    far = x[x < -0.55]
    assert np.allclose(sf.spectral_radius(far), np.abs(R[x < -0.55]), rtol=1e-13, atol=0)


def test_trapezoidal_rule_matches_its_one_step_form():
    # As a multistep method (ρ = ζ − 1, σ = (ζ + 1)/2) the trapezoidal rule has ζ₁ = (1 + z/2)/(1 − z/2):
    # ζ₁ → −1, a nonzero root of σ, so R' there needs ρ(ζ)/z in place of the cancelling σ(ζ).
    sf = _sf(TRAPEZOID)
    z = np.array([-0.3, -2.5 + 1j, -40 + 300j, -1e4, -1e6 + 1e5j, -1e8, 0.01j, 7 - 2j])
    with mp.workdps(DPS):
        for zk, Rk, dRk in zip(z, sf.R(z), sf.dR(z), strict=True):
            zm = mp.mpc(complex(zk))
            assert rel_err(Rk, (1 + zm / 2) / (1 - zm / 2)) <= TOL
            assert rel_err(dRk, 1 / (1 - zm / 2) ** 2) <= TOL
    assert sf.R_inf == -1 and sf.decay_exponent == -2 and sf.a_stable and not sf.l_stable
    assert sf.a_alpha_deg == 90.0


# --- 5. asymptotics and stability flags -----------------------------------------------------------------------

@pytest.mark.parametrize("k", sorted(BDF))
def test_bdf_asymptotics(k):
    sf = _sf(BDF[k])
    assert sf.R_inf == 0 and sf.decay_exponent == pytest.approx(-1 - 1 / k, abs=1e-15)
    # Independent of the Newton polygon: the slope of log|ζ₁'| far out, from 50-digit roots.
    with mp.workdps(DPS):
        d20, d21 = (abs(mp_root(BDF[k], -(10.0**e), sf.R(-(10.0**e)))[1]) for e in (20, 21))
        assert float(mp.log10(d21 / d20)) == pytest.approx(-1 - 1 / k, abs=2e-3)


@pytest.mark.parametrize("k", sorted(BDF))
def test_bdf_stability_flags(k):
    sf = _sf(BDF[k])
    # Dahlquist's second barrier: an A-stable multistep method has order ≤ 2; BDF1 and BDF2 are A-stable.
    assert sf.a_stable == (k <= 2) and sf.l_stable == (k <= 2)
    if k <= 2:
        assert sf.a_alpha_deg == 90.0
    else:
        assert sf.a_alpha_deg == pytest.approx(BDF_ALPHA[k], abs=0.01)


@pytest.mark.parametrize("k", sorted(BDF_ALPHA))
def test_bdf_a_alpha_by_brute_force(k):
    # Independent of the boundary locus: all roots (numpy) on rays just inside and just outside the angle.
    method, alpha = BDF[k], _sf(BDF[k]).a_alpha_deg
    moduli = np.logspace(-2, 2, 1500)  # the locus meets the sector at |z| ≈ 1–2.5

    def worst(angle):
        return np.abs(all_roots(method, ray(angle, moduli))).max()

    assert worst(alpha - 0.005) <= 1 + 1e-12 and worst(-(alpha - 0.005)) <= 1 + 1e-12
    assert worst(alpha + 0.005) > 1 and worst(-(alpha + 0.005)) > 1


def test_explicit_and_non_a_stable_methods():
    ee, ab2, am2 = _sf(EXPLICIT_EULER), _sf(AB2), _sf(AM2)
    # Explicit Euler as a multistep method: ζ₁ = 1 + z, unbounded, R' = 1.
    assert np.allclose(ee.R([-3.0, 2 + 1j, -1e8]), [-2.0, 3 + 1j, 1 - 1e8], rtol=1e-15, atol=0)
    assert ee.R_inf == complex(math.inf, 0) and ee.decay_exponent == 0
    for sf in (ee, ab2, am2):
        assert not sf.a_stable and not sf.l_stable and sf.a_alpha_deg == 0.0
    # AM2's σ has a root at (−4 − √21)/5 ≈ −1.72, outside the unit disc: for large |z| in any direction
    # a root sits near it.
    assert am2.spectral_radius(-1e6) == pytest.approx((4 + math.sqrt(21)) / 5, rel=1e-5)


def test_spectral_radius_against_mpmath():
    with mp.workdps(DPS):
        for k in (3, 6):
            method, sf = BDF[k], _sf(BDF[k])
            for zk in (-1e8, 0.5j, -0.2 + 0.9j, ray(85, np.array([1e3]))[0]):
                zm = mp.mpc(complex(zk))
                coeffs = [_mpf(a) - zm * _mpf(b) for a, b in zip(method.rho, method.sigma, strict=True)]
                ref = max(abs(r) for r in mp.polyroots(coeffs, maxsteps=100, extraprec=100, asc=True))
                assert rel_err(sf.spectral_radius(zk), ref) <= 1e-12


# --- 6. vectorisation and speed ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_vectorisation(shape):
    sf = _sf(BDF[4])
    z = (-np.logspace(-2, 8, max(math.prod(shape), 1)) * np.exp(0.3j)).reshape(shape)
    for f in (sf.R, sf.dR, sf.spectral_radius):
        out = f(z)
        assert out.shape == shape
        assert np.allclose(out.ravel(), np.array([f(zk) for zk in z.ravel()]).ravel(), rtol=1e-14, atol=0)
    assert sf.R(z).dtype == sf.dR(z).dtype == np.complex128 and sf.spectral_radius(z).dtype == np.float64
    assert sf.R(np.arange(3.0)).dtype == np.complex128  # real input


def test_speed():
    sf = MultistepStability(BDF[6].rho, BDF[6].sigma)  # fresh: no cached setup
    z = np.concatenate([ray(a, np.logspace(-2, 8, 100)) for a in (0, 30, 60, 85)])
    start = time.perf_counter()
    sf.R(z), sf.dR(z)
    assert time.perf_counter() - start < 0.5


def test_nonfinite_input_does_not_hang():
    sf = _sf(BDF[3])
    out = sf.R(np.array([np.nan, np.inf, -1.0]))
    assert np.isnan(out[0]) and not np.isfinite(out[1]) and np.isfinite(out[2])


# --- 7. bad input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "match"),
    [
        (((-1, 1), (0, 0, 1)), "same length"),
        (((1,), (1,)), "same length"),
        (((-1, 0), (0, 1)), "leading coefficient of rho"),
        (((-1, 2), (0, 1)), "consistency"),  # ρ(1) ≠ 0
        (((-1, 1), (0, 2)), "consistency"),  # ρ'(1) ≠ σ(1)
        (((0, -1, 1), (1, -1, 0)), "consistency"),  # σ(1) = 0
        (((-1, float("nan")), (0, 1)), "finite"),
    ],
)
def test_bad_multistep(args, match):
    with pytest.raises(ValueError, match=match):
        LinearMultistep(*args)
    with pytest.raises(ValueError, match=match):
        MultistepStability(*args)


def test_normalisation_and_float_coefficients():
    m = LinearMultistep(["1/2", -2.0, 1.5], [0, 0, 1])
    assert m.rho == (F(1, 2), -2, F(3, 2)) and all(isinstance(x, F) for x in m.rho + m.sigma)
    assert stability_function(m) is stability_function(BDF[2])  # equal methods share the cached result
    # BDF3 typed in floats is consistent only up to rounding: accepted with the 1e-12 slack.
    floats = LinearMultistep([float(x) for x in BDF[3].rho], BDF[3].sigma)
    assert np.allclose(stability_function(floats).R(-1e8), _sf(BDF[3]).R(-1e8), rtol=1e-14, atol=0)
