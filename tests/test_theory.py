"""Tests of stiffbench.theory against independent sources.

Every number is compared with something the module does not compute: the closed forms of theory.md §4
evaluated in mpmath, the tableau formula R = 1 + z bᵀ(I − zA)⁻¹𝟙 and its derivative solved in mpmath at
60 digits (enough to survive the cancellation at |z| = 1e8), finite differences in mpmath, and published
properties (Taylor polynomial of RK4, A-/L-stability of named methods).
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import mpmath as mp
import numpy as np
import pytest

from stiffbench.theory import ButcherTableau, RationalFunction, StabilityFunction, stability_function

DPS = 60
TOL = 1e-12
S3, S6 = math.sqrt(3.0), math.sqrt(6.0)
GAMMA = 1 - 1 / math.sqrt(2.0)  # SDIRK2 parameter, as a float

# (A, b, c); irrational entries are floats, as a user would type them.
TABLEAUS = {
    "backward_euler": ([[1]], [1], [1]),
    "trapezoid": ([[0, 0], [F(1, 2), F(1, 2)]], [F(1, 2), F(1, 2)], [0, 1]),
    "implicit_midpoint": ([[F(1, 2)]], [1], [F(1, 2)]),
    "radau_iia_2": ([[F(5, 12), F(-1, 12)], [F(3, 4), F(1, 4)]], [F(3, 4), F(1, 4)], [F(1, 3), 1]),
    # Hairer & Wanner II, Table IV.5.6.
    "radau_iia_3": (
        [[(88 - 7 * S6) / 360, (296 - 169 * S6) / 1800, (-2 + 3 * S6) / 225],
         [(296 + 169 * S6) / 1800, (88 + 7 * S6) / 360, (-2 - 3 * S6) / 225],
         [(16 - S6) / 36, (16 + S6) / 36, 1 / 9]],
        [(16 - S6) / 36, (16 + S6) / 36, 1 / 9],
        [(4 - S6) / 10, (4 + S6) / 10, 1],
    ),
    "gauss_2": ([[0.25, 0.25 - S3 / 6], [0.25 + S3 / 6, 0.25]], [0.5, 0.5], [0.5 - S3 / 6, 0.5 + S3 / 6]),
    "lobatto_iiic_2": ([[F(1, 2), F(-1, 2)], [F(1, 2), F(1, 2)]], [F(1, 2), F(1, 2)], [0, 1]),
    "sdirk2": ([[GAMMA, 0], [1 - GAMMA, GAMMA]], [1 - GAMMA, GAMMA], [GAMMA, 1]),
    "explicit_euler": ([[0]], [1], [0]),
    "rk4": ([[0, 0, 0, 0], [F(1, 2), 0, 0, 0], [0, F(1, 2), 0, 0], [0, 0, 1, 0]],
            [F(1, 6), F(1, 3), F(1, 3), F(1, 6)], [0, F(1, 2), F(1, 2), 1]),
}


def _g():
    return 1 - 1 / mp.sqrt(2)


# theory.md §4: name -> (R, R', R_inf, A-stable, L-stable, decay exponent, lim z² R').
CLOSED_FORMS = {
    "backward_euler": (lambda z: 1 / (1 - z), lambda z: 1 / (1 - z) ** 2, 0, True, True, -2, 1),
    "trapezoid": (lambda z: (1 + z / 2) / (1 - z / 2), lambda z: 1 / (1 - z / 2) ** 2,
                  -1, True, False, -2, 4),
    "implicit_midpoint": (lambda z: (1 + z / 2) / (1 - z / 2), lambda z: 1 / (1 - z / 2) ** 2,
                          -1, True, False, -2, 4),
    "radau_iia_2": (lambda z: (1 + z / 3) / (1 - 2 * z / 3 + z**2 / 6),
                    lambda z: -2 * (z**2 + 6 * z - 18) / (z**2 - 4 * z + 6) ** 2, 0, True, True, -2, -2),
    "radau_iia_3": (lambda z: (1 + 2 * z / 5 + z**2 / 20) / (1 - 3 * z / 5 + 3 * z**2 / 20 - z**3 / 60),
                    lambda z: (3 * (z**4 + 16 * z**3 - 48 * z**2 - 240 * z + 1200)
                               / (z**3 - 9 * z**2 + 36 * z - 60) ** 2),
                    0, True, True, -2, 3),
    "gauss_2": (lambda z: (1 + z / 2 + z**2 / 12) / (1 - z / 2 + z**2 / 12),
                lambda z: -12 * (z**2 - 12) / (z**2 - 6 * z + 12) ** 2, 1, True, False, -2, -12),
    "lobatto_iiic_2": (lambda z: 1 / (1 - z + z**2 / 2), lambda z: -4 * (z - 1) / (z**2 - 2 * z + 2) ** 2,
                       0, True, True, -3, 0),
    "sdirk2": (lambda z: (1 + (1 - 2 * _g()) * z) / (1 - _g() * z) ** 2,
               lambda z: (1 + _g() * (1 - 2 * _g()) * z) / (1 - _g() * z) ** 3,
               0, True, True, -2, -(1 - 2 * (1 - 1 / math.sqrt(2))) / (1 - 1 / math.sqrt(2)) ** 2),
}

Z_CLOSED = [-0.3, -2.5 + 1j, -40 + 300j, -1e4, -1e6 + 1e5j, -1e8, 0.01j, 7 - 2j]
_R = np.logspace(-2, 8, 41)
Z_GRID = [*(-_R), *(-_R * np.exp(1j * 0.4)), *(-_R * np.exp(-1.2j)), *(_R * 1j)]


def _mpf(x) -> mp.mpf:
    x = F(x)  # exact, floats included
    return mp.mpf(x.numerator) / x.denominator


def tableau_reference(A, b, z) -> tuple[mp.mpc, mp.mpc]:
    """R and R' from the tableau formula of theory.md §1, solved in mpmath (call inside workdps)."""
    s = len(b)
    Am = mp.matrix([[_mpf(x) for x in row] for row in A])
    bm = [_mpf(x) for x in b]
    M = mp.eye(s) - z * Am
    u = mp.lu_solve(M, mp.ones(s, 1))
    v = mp.lu_solve(M, Am * u)
    bu = mp.fsum(bm[i] * u[i] for i in range(s))
    bv = mp.fsum(bm[i] * v[i] for i in range(s))
    return 1 + z * bu, bu + z * bv


def rel_err(got, ref) -> float:
    """Relative error; absolute where the reference is exactly zero (explicit Euler at z = −1)."""
    return float(abs(mp.mpc(complex(got)) - ref) / (abs(ref) or 1))


def _sf(name: str) -> StabilityFunction:
    return stability_function(ButcherTableau(*TABLEAUS[name]))


def kvaerno5():
    diffrax = pytest.importorskip("diffrax")
    t = diffrax.Kvaerno5.tableau
    s = len(t.b_sol)
    A = [[0.0] * s for _ in range(s)]
    for i, row in enumerate(t.a_lower, start=1):
        A[i][:i] = [float(x) for x in row]
        A[i][i] = float(t.a_diagonal[i])
    return A, [float(x) for x in t.b_sol], [float(t.c1), *map(float, t.c)]


# --- 1. closed forms ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_closed_forms(name):
    R, dR, R_inf, a_stable, l_stable, decay, z2dR = CLOSED_FORMS[name]
    sf = _sf(name)
    with mp.workdps(DPS):
        for z in Z_CLOSED:
            zm = mp.mpc(complex(z))
            assert rel_err(sf.R(z), R(zm)) <= TOL, z
            assert rel_err(sf.dR(z), dR(zm)) <= TOL, z
    assert sf.R_inf == pytest.approx(R_inf, abs=1e-15)
    assert (sf.a_stable, sf.l_stable, sf.decay_exponent) == (a_stable, l_stable, decay)
    if z2dR:
        assert complex(1e16 * sf.dR(-1e8)) == pytest.approx(z2dR, rel=1e-6)


def test_exact_coefficients_of_rational_tableaus():
    # Closed forms of theory.md §4, in the normalisation Q(0) = 1.
    assert _sf("backward_euler").P == (1,) and _sf("backward_euler").Q == (1, -1)
    assert _sf("trapezoid").P == (1, F(1, 2)) and _sf("trapezoid").Q == (1, F(-1, 2))
    assert _sf("radau_iia_2").P == (1, F(1, 3)) and _sf("radau_iia_2").Q == (1, F(-2, 3), F(1, 6))
    assert _sf("lobatto_iiic_2").P == (1,) and _sf("lobatto_iiic_2").Q == (1, -1, F(1, 2))
    assert all(isinstance(x, F) for x in _sf("radau_iia_3").P + _sf("radau_iia_3").Q)


@pytest.mark.parametrize("theta", [F(1, 2), F(7, 10), 0.7, 1, F(3, 10), 0])
def test_theta_method(theta):
    sf = stability_function(RationalFunction([1, 1 - theta], [1, -theta]))
    with mp.workdps(DPS):
        th = _mpf(theta)
        for z in Z_CLOSED:
            zm = mp.mpc(complex(z))
            assert rel_err(sf.R(z), (1 + (1 - th) * zm) / (1 - th * zm)) <= TOL
            assert rel_err(sf.dR(z), 1 / (1 - th * zm) ** 2) <= TOL
    if theta == 0:
        assert sf.R_inf == complex(math.inf, 0) and sf.decay_exponent == 0
    else:
        assert sf.R_inf == pytest.approx(-(1 - float(theta)) / float(theta), abs=1e-15)
        assert sf.decay_exponent == -2
    assert sf.a_stable == (theta >= 0.5)
    assert sf.l_stable == (theta == 1)


# --- 2. tableau formula in extended precision -----------------------------------------------------------

def max_tableau_errors(A, b, c, points=Z_GRID + Z_CLOSED) -> tuple[float, float]:
    sf = stability_function(ButcherTableau(A, b, c))
    z = np.array(points)
    R, dR = sf.R(z), sf.dR(z)
    eR = edR = 0.0
    with mp.workdps(DPS):
        for k, zk in enumerate(points):
            ref_R, ref_dR = tableau_reference(A, b, mp.mpc(complex(zk)))
            eR, edR = max(eR, rel_err(R[k], ref_R)), max(edR, rel_err(dR[k], ref_dR))
    return eR, edR


@pytest.mark.parametrize("name", sorted(TABLEAUS))
def test_tableau_formula(name):
    eR, edR = max_tableau_errors(*TABLEAUS[name])
    assert eR <= TOL and edR <= TOL


def test_tableau_formula_kvaerno5():
    A, b, c = kvaerno5()
    eR, edR = max_tableau_errors(A, b, c)
    assert eR <= TOL and edR <= TOL
    sf = stability_function(ButcherTableau(A, b, c))
    # diffrax documents Kvaerno5 as "A-L stable stiffly accurate 5th order ESDIRK". Its float entries give
    # R(∞) ≈ −2e-16 rather than 0, which l_stable's documented 1e-12 slack absorbs.
    tab = ButcherTableau(A, b, c)
    assert tab.stages == 7 and tab.is_stiffly_accurate and tab.is_diagonally_implicit and not tab.is_explicit
    assert sf.a_stable and sf.l_stable and abs(sf.R_inf) < 1e-14


@pytest.mark.parametrize("name", sorted(TABLEAUS))
def test_decay_exponent_and_R_inf_from_extended_precision(name):
    A, b, _ = TABLEAUS[name]
    sf = _sf(name)
    with mp.workdps(DPS):
        d7, d8 = (abs(tableau_reference(A, b, mp.mpf(-10) ** k)[1]) for k in (7, 8))
        R_far = tableau_reference(A, b, mp.mpf(-10) ** 25)[0]
        if sf.decay_exponent == -math.inf:
            assert d8 == 0
        else:
            assert float(mp.log10(d8 / d7)) == pytest.approx(sf.decay_exponent, abs=1e-3)
        if math.isinf(sf.R_inf.real):
            assert abs(R_far) > 1e20
        else:
            assert abs(complex(R_far) - sf.R_inf) < 1e-20


# --- 3. finite differences --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TABLEAUS))
def test_dR_against_finite_differences(name):
    A, b, _ = TABLEAUS[name]
    sf = _sf(name)
    for z in [*Z_CLOSED, -1e-2, -3e5 - 4e5j]:
        with mp.workdps(DPS):
            # Central difference of the mpmath tableau R: truncation and rounding both ~1e-40 relative.
            zm, h = mp.mpc(complex(z)), abs(complex(z)) * mp.mpf(10) ** -20
            fd = (tableau_reference(A, b, zm + h)[0] - tableau_reference(A, b, zm - h)[0]) / (2 * h)
            assert rel_err(sf.dR(z), fd) <= TOL
        # Fourth-order central difference of the module's own float R, in the imaginary direction
        # (R is holomorphic): checks that R and dR agree; the tolerance is the stencil's rounding error.
        h = 1e-3 * abs(z) * 1j
        fd = (8 * (sf.R(z + h) - sf.R(z - h)) - (sf.R(z + 2 * h) - sf.R(z - 2 * h))) / (12 * h)
        tol = 1e-9 + 10 * np.finfo(float).eps * abs(sf.R(z)) / abs(h * sf.dR(z))
        assert abs(fd - sf.dR(z)) <= tol * abs(sf.dR(z))


# --- 4. controls that are not A-stable --------------------------------------------------------------------

def test_explicit_controls():
    ee, rk4 = _sf("explicit_euler"), _sf("rk4")
    assert ee.P == (1, 1) and ee.Q == (1,)
    assert rk4.P == (1, 1, F(1, 2), F(1, 6), F(1, 24)) and rk4.Q == (1,)
    for sf, p in ((ee, 0), (rk4, 3)):
        assert not sf.a_stable and not sf.l_stable
        assert sf.R_inf == complex(math.inf, 0)
        assert sf.decay_exponent == p
    with mp.workdps(DPS):
        for z in Z_CLOSED:
            zm = mp.mpc(complex(z))
            assert rel_err(rk4.R(z), 1 + zm + zm**2 / 2 + zm**3 / 6 + zm**4 / 24) <= TOL
            assert rel_err(rk4.dR(z), 1 + zm + zm**2 / 2 + zm**3 / 6) <= TOL
    t = ButcherTableau(*TABLEAUS["rk4"])
    assert t.is_explicit and t.is_diagonally_implicit and not t.is_stiffly_accurate


def test_a_stability_decided_by_poles_and_by_the_imaginary_axis():
    # 1/(1+z): |R(iy)| ≤ 1 everywhere, but a pole at z = −1.
    assert not stability_function(RationalFunction([1], [1, 1])).a_stable
    # (1+2z)/(1−z): pole at +1, but |R(iy)| → 2.
    assert not stability_function(RationalFunction([1, 2], [1, -1])).a_stable
    # Poles at 1 and −1/3: not A-stable; poles at 1 and 5: A-stable; poles at ±i, on the axis: not.
    assert not stability_function(RationalFunction([1], [1, 2, -3])).a_stable
    assert stability_function(RationalFunction([1], [1, F(-6, 5), F(1, 5)])).a_stable
    assert not stability_function(RationalFunction([1], [1, 0, 1])).a_stable
    # A cancelled left-half-plane factor is no pole: (1+z)/((1+z)(1−z)) = 1/(1−z).
    assert stability_function(RationalFunction([1, 1], [1, 0, -1])).a_stable
    # Poles 1 ± i, R(∞) = 0, but |Q(iy)|² − |P(iy)|² = y⁴/4 − y²/10⁴ dips below 0 for 0 < y < 0.02:
    # only the interior search on the imaginary axis can see it.
    assert not stability_function(RationalFunction([1, F(1, 100)], [1, -1, F(1, 2)])).a_stable
    assert stability_function(RationalFunction([1], [1, -1, F(1, 2)])).a_stable


@pytest.mark.parametrize(("gamma", "expected"), [(0.29, False), (0.3, True), (1.7, True), (1.8, False)])
def test_sdirk2_family_a_stability(gamma, expected):
    # For R = (1 + (1−2γ)z)/(1 − γz)², |Q(iy)|² − |P(iy)|² = (2γ² − (1−2γ)²)y² + γ⁴y⁴, which is ≥ 0 iff
    # 1 − 1/√2 ≤ γ ≤ 1 + 1/√2 (worked by hand); the float SDIRK2 above sits exactly on the lower end.
    sf = stability_function(ButcherTableau([[gamma, 0], [1 - gamma, gamma]], [1 - gamma, gamma], [gamma, 1]))
    assert sf.a_stable == expected and sf.l_stable == expected


# --- 5. bad input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([[1, 2]], [1], [0]), r"A must be square, got rows of lengths \[2\]"),
        (([[1, 0], [1]], [1, 1], [0, 1]), r"A must be square, got rows of lengths \[2, 1\]"),
        (([[1]], [1, 2], [1]), "b has length 2 but A has 1 stages"),
        (([[1]], [1], [1, 0]), "c has length 2 but A has 1 stages"),
        (([], [], []), "at least one stage"),
        (([[float("nan")]], [1], [1]), "finite"),
        (([[1]], [np.inf], [1]), "finite"),
        (([[1]], [1], ["inf"]), "finite"),
    ],
)
def test_bad_tableau(args, match):
    with pytest.raises(ValueError, match=match):
        ButcherTableau(*args)


def test_bad_rational_function():
    with pytest.raises(ValueError, match="denominator must not be identically zero"):
        RationalFunction([1], [0, 0])
    with pytest.raises(ValueError, match="at least one coefficient"):
        RationalFunction([], [1])
    with pytest.raises(ValueError, match="finite"):
        RationalFunction([1, float("inf")], [1])


def test_normalisation_is_exact():
    t = ButcherTableau(np.array([[0.1]]), ["0.25"], ["1/3"])
    assert t.A == ((F(0.1),),) and F(0.1) != F(1, 10)
    assert t.b == (F(1, 4),) and t.c == (F(1, 3),)
    A, b, c = t.arrays()
    assert A.dtype == b.dtype == c.dtype == np.float64 and A.shape == (1, 1)
    # Q is scaled to Q(0) = 1.
    sf = stability_function(RationalFunction([2, 2], [2, -1]))
    assert sf.P == (1, 1) and sf.Q == (1, F(-1, 2))


# --- 6. vectorisation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (2, 3)])
def test_vectorisation(shape):
    sf = _sf("radau_iia_3")
    z = -np.logspace(-2, 8, math.prod(shape)).reshape(shape) + 1j
    for f in (sf.R, sf.dR):
        out = f(z)
        assert out.shape == shape and out.dtype == np.complex128
        assert np.array_equal(out.ravel(), np.array([f(zk) for zk in z.ravel()]).ravel())
    assert sf.R(np.arange(4.0)).dtype == np.complex128  # real input
