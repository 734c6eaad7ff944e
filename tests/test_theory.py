"""Tests of stiffbench.theory against independent sources.

Every number is compared with something the module does not compute: the closed forms of theory.md §4
evaluated in mpmath, the tableau formula R = 1 + z bᵀ(I − zA)⁻¹𝟙 and its derivative solved in mpmath at
60 digits (enough to survive the cancellation at |z| = 1e8), finite differences in mpmath, and published
properties (Taylor polynomial of RK4, A-/L-stability of named methods, A(α) angles). Rosenbrock methods
are checked against their papers' and codes' own forms applied in mpmath, on y' = λy and on a nonlinear
system, and against the order conditions of Hairer & Wanner II, Table IV.7.1. Linear multistep methods
are in test_theory_multistep.py.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import mpmath as mp
import numpy as np
import pytest

from stiffbench.theory import (
    ButcherTableau,
    RationalFunction,
    RosenbrockMethod,
    StabilityFunction,
    stability_function,
)

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


# --- 7. A(α)-stability of rational R ------------------------------------------------------------------------

def four_stage_order_four(gamma) -> StabilityFunction:
    """R of any 4-stage order-4 Rosenbrock method with all γ_ii = γ: Q = (1 − γz)⁴ and P the degree-4 part
    of Q·e^z, the only P with R = e^z + O(z⁵). So R, and its A(α) angle, depend on γ alone."""
    gamma, Q = F(gamma), [F(1)]
    for _ in range(4):
        Q = [a - gamma * b for a, b in zip([*Q, 0], [0, *Q], strict=True)]
    P = [sum(Q[i] / math.factorial(n - i) for i in range(n + 1)) for n in range(5)]
    return stability_function(RationalFunction(P, Q))


# Hairer & Wanner II, Table IV.7.2 (also quoted in PETSc's TSROSW docs): γ, angle, |R(∞)|, as published.
ROS4_FAMILY = {"GRK4T": (0.231, 89.3, "0.454"), "VELDD4": (0.22570811482256823492, 89.5, "0.24")}


@pytest.mark.parametrize("name", sorted(ROS4_FAMILY))
def test_a_alpha_of_rational_R(name):
    gamma, published, r_inf = ROS4_FAMILY[name]
    sf = four_stage_order_four(gamma)
    half_unit = 0.5 * 10.0 ** -len(r_inf.split(".")[1])  # of the last published digit
    assert not sf.a_stable and abs(sf.R_inf) == pytest.approx(float(r_inf), abs=half_unit)
    assert sf.a_alpha_deg == pytest.approx(published, abs=0.06)  # published to 0.1°
    # Independent of the boundary locus: max |R| on rays just inside and just outside the angle.
    r = np.logspace(-3, 6, 40001)
    for sign in (1, -1):
        inside, outside = (np.abs(sf.R(-r * np.exp(1j * sign * math.radians(sf.a_alpha_deg + d)))).max()
                           for d in (-0.005, 0.005))
        assert inside <= 1 and outside > 1


def test_a_alpha_of_a_stable_and_explicit_R():
    # Shampine's γ = 1/2 member of the same family is A-stable with R(∞) = 1/3 (HW II, Table IV.7.2).
    shamp = four_stage_order_four(F(1, 2))
    assert shamp.a_stable and shamp.R_inf == pytest.approx(1 / 3, abs=1e-15) and shamp.a_alpha_deg == 90.0
    for name in CLOSED_FORMS:
        assert _sf(name).a_alpha_deg == 90.0
    for name in ("explicit_euler", "rk4"):
        assert _sf(name).a_alpha_deg == 0.0
    assert stability_function(RationalFunction([1, F(-7, 10)], [1, F(-3, 10)])).a_alpha_deg == 0.0  # θ = 0.3
    assert np.array_equal(_sf("rk4").spectral_radius([-1.0, -3.0]), np.abs(_sf("rk4").R([-1.0, -3.0])))


# --- 8. Rosenbrock methods ----------------------------------------------------------------------------------

G2 = 1 + 1 / math.sqrt(2.0)
G3P = (3 + S3) / 6

# Standard form of Hairer & Wanner II, §IV.7, eq. (7.4):
#   (I − hγ_ii J) k_i = h f(y0 + Σ_{j<i} α_ij k_j) + hJ Σ_{j<i} γ_ij k_j,   y1 = y0 + Σ b_i k_i.
# ROS2: Verwer, Spee, Blom & Hundsdorfer, SIAM J. Sci. Comput. 20 (1999), γ = 1 + 1/√2; the paper's
#   y1 = y0 + (3/2)τk1 + (1/2)τk2, (I − γτJ)k1 = f(y0), (I − γτJ)k2 = f(y0 + τk1) − 2k1, rewritten; b_embedded
#   is the first-order y0 + τk1.
# ROS3P: Lang & Verwer, BIT 41 (2001); γ = 1/2 + √3/6. Rewritten from the transformed form of the public codes
#   (ROS3P_TRANSFORMED below); the test checks the two are the same method.
ROS2 = RosenbrockMethod([[0, 0], [1, 0]], [[G2, 0], [-2 * G2, G2]], [F(1, 2), F(1, 2)], [1, 0])
ROS3P = RosenbrockMethod(
    [[0, 0, 0], [1, 0, 0], [1, 0, 0]],
    [[G3P, 0, 0], [-1, G3P, 0], [-G3P, -(0.5 + S3 / 3), G3P]],
    [F(2, 3), 0, F(1, 3)],
    [F(1, 3), F(1, 3), F(1, 3)],
)

# The transformed form of HW II §IV.7 that rodas.f, KPP and most codes use, with u_i = Σ_{j≤i} γ_ij k_j:
#   (1/(hγ) I − J) u_i = f(y0 + Σ_{j<i} a_ij u_j) + Σ_{j<i} (c_ij/h) u_j,   y1 = y0 + Σ m_i u_i,
# a = αΓ⁻¹, C = diag(1/γ) − Γ⁻¹, m = bΓ⁻¹. RODAS4 as printed in rodas.f / KPP's Rosenbrock (Hairer & Wanner),
# rows of the strictly lower triangles; ROS3P as in the public codes (KPP-style decimals).
RODAS4_TRANSFORMED = {
    "gamma": "0.25",
    "a": [[], ["1.544"], ["0.9466785280815826", "0.2557011698983284"],
          ["3.314825187068521", "2.896124015972201", "0.9986419139977817"],
          ["1.221224509226641", "6.019134481288629", "12.53708332932087", "-0.6878860361058950"],
          ["1.221224509226641", "6.019134481288629", "12.53708332932087", "-0.6878860361058950", "1"]],
    "c": [[], ["-5.6688"], ["-2.430093356833875", "-0.2063599157091915"],
          ["-0.1073529058151375", "-9.594562251023355", "-20.47028614809616"],
          ["7.496443313967647", "-10.24680431464352", "-33.99990352819905", "11.70890893206160"],
          ["8.083246795921522", "-7.981132988064893", "-31.52159432874371", "16.31930543123136",
           "-6.058818238834054"]],
    "m": ["1.221224509226641", "6.019134481288629", "12.53708332932087", "-0.6878860361058950", "1", "1"],
    "m_embedded": ["1.221224509226641", "6.019134481288629", "12.53708332932087", "-0.6878860361058950", "1", "0"],
}
# rodas.f's stage times α_i = Σ_j α_ij and γ_i = Σ_j γ_ij, published alongside (KPP ros_Alpha, ros_Gamma).
RODAS4_ALPHA_I = ["0", "0.386", "0.21", "0.63", "1", "1"]
RODAS4_GAMMA_I = ["0.25", "-0.1043", "0.1035", "-0.0362", "0", "0"]
ROS3P_TRANSFORMED = {
    "gamma": "0.7886751345948129",
    "a": [[], ["1.267949192431123"], ["1.267949192431123", "0"]],
    "c": [[], ["-1.607695154586736"], ["-3.464101615137755", "-1.732050807568877"]],
    "m": ["2", "0.5773502691896258", "0.4226497308103742"],
    "m_embedded": ["2.113248654051871", "1", "0.4226497308103742"],
}


def _lower(rows, s):
    return [[F(x) for x in row] + [F(0)] * (s - len(row)) for row in rows]


def from_transformed(t) -> RosenbrockMethod:
    """The standard form (7.4) of a method given in the transformed form, converted exactly in Fractions."""
    g, s = F(t["gamma"]), len(t["m"])
    a, c = _lower(t["a"], s), _lower(t["c"], s)
    g_inv = [[(1 / g if i == j else 0) - c[i][j] for j in range(s)] for i in range(s)]
    Gamma = [[F(0)] * s for _ in range(s)]  # Γ = (Γ⁻¹)⁻¹ by forward substitution
    for j in range(s):
        for i in range(j, s):
            Gamma[i][j] = (int(i == j) - sum(g_inv[i][k] * Gamma[k][j] for k in range(j, i))) / g_inv[i][i]
    alpha = [[sum(a[i][k] * Gamma[k][j] for k in range(s)) for j in range(s)] for i in range(s)]
    b, b_emb = ([sum(F(w[k]) * Gamma[k][j] for k in range(s)) for j in range(s)] for w in (t["m"], t["m_embedded"]))
    return RosenbrockMethod(alpha, Gamma, b, b_emb)


RODAS4 = from_transformed(RODAS4_TRANSFORMED)
ROSENBROCK = {"ros2": ROS2, "ros3p": ROS3P, "rodas4": RODAS4}


def transformed_R(t, z):
    """R(z) by applying the transformed form to y' = λy, h = 1, y0 = 1, in mpmath (stage by stage)."""
    g, s = _mpf(t["gamma"]), len(t["m"])
    a, c = _lower(t["a"], s), _lower(t["c"], s)
    u = []
    for i in range(s):
        au, cu = (mp.fsum(_mpf(x[i][j]) * u[j] for j in range(i)) for x in (a, c))
        u.append((z * (1 + au) + cu) / (1 / g - z))
    return 1 + mp.fsum(_mpf(m) * uj for m, uj in zip(t["m"], u, strict=True))


def ros2_paper_R(z):
    """R(z) of ROS2 in the paper's own form, with the same float γ, in mpmath (K = τk)."""
    g = _mpf(G2)
    K1 = z / (1 - g * z)
    K2 = (z * (1 + K1) - 2 * K1) / (1 - g * z)
    return 1 + mp.mpf(3) / 2 * K1 + K2 / 2


PAPER_R = {"ros2": ros2_paper_R, "ros3p": lambda z: transformed_R(ROS3P_TRANSFORMED, z),
           "rodas4": lambda z: transformed_R(RODAS4_TRANSFORMED, z)}


@pytest.mark.parametrize("name", sorted(ROSENBROCK))
def test_rosenbrock_stability_function_against_the_papers_form(name):
    sf = stability_function(ROSENBROCK[name])
    points = [*Z_CLOSED, *Z_GRID[::4]]
    R, dR = sf.R(np.array(points)), sf.dR(np.array(points))
    with mp.workdps(DPS):
        for zk, Rk, dRk in zip(points, R, dR, strict=True):
            zm = mp.mpc(complex(zk))
            h = abs(zm) * mp.mpf(10) ** -20
            assert rel_err(Rk, PAPER_R[name](zm)) <= TOL, zk
            assert rel_err(dRk, (PAPER_R[name](zm + h) - PAPER_R[name](zm - h)) / (2 * h)) <= TOL, zk


def test_rosenbrock_stability_claims():
    ros2, ros3p, rodas4 = (stability_function(ROSENBROCK[n]) for n in ("ros2", "ros3p", "rodas4"))
    # ROS2 with γ = 1 + 1/√2 is L-stable (Verwer et al.); RODAS4 is L-stable (HW II §VI.4).
    assert ros2.a_stable and ros2.l_stable and ros2.decay_exponent == -2
    assert rodas4.a_stable and rodas4.l_stable and abs(rodas4.R_inf) < 1e-14
    # ROS3P is A-stable with |R(∞)| ≈ 0.73 (Lang & Verwer); here exactly 1 − √3.
    assert ros3p.a_stable and not ros3p.l_stable and ros3p.R_inf == pytest.approx(1 - S3, abs=1e-15)
    assert all(stability_function(m).a_alpha_deg == 90.0 for m in ROSENBROCK.values())


def order_residuals(alpha, gamma, b, p) -> list:
    """Residuals of the order conditions up to order p (HW II, Table IV.7.1; equal diagonal γ), mpmath."""
    s = len(b)
    al = [[_mpf(x) for x in row] for row in alpha]
    be = [[al[i][j] + _mpf(gamma[i][j]) if j < i else 0 for j in range(s)] for i in range(s)]
    b, g = [_mpf(x) for x in b], _mpf(gamma[0][0])
    a = [mp.fsum(row) for row in al]
    bp = [mp.fsum(row) for row in be]  # β'_i = Σ_{j<i} β_ij
    S = mp.fsum
    conditions = [
        (1, S(b) - 1),
        (2, S(b[i] * bp[i] for i in range(s)) - (mp.mpf(1) / 2 - g)),
        (3, S(b[i] * a[i] ** 2 for i in range(s)) - mp.mpf(1) / 3),
        (3, S(b[i] * be[i][j] * bp[j] for i in range(s) for j in range(s)) - (mp.mpf(1) / 6 - g + g**2)),
        (4, S(b[i] * a[i] ** 3 for i in range(s)) - mp.mpf(1) / 4),
        (4, S(b[i] * a[i] * al[i][j] * bp[j] for i in range(s) for j in range(s)) - (mp.mpf(1) / 8 - g / 3)),
        (4, S(b[i] * be[i][j] * a[j] ** 2 for i in range(s) for j in range(s)) - (mp.mpf(1) / 12 - g / 3)),
        (4, S(b[i] * be[i][j] * be[j][k] * bp[k] for i in range(s) for j in range(s) for k in range(s))
         - (mp.mpf(1) / 24 - g / 2 + 3 * g**2 / 2 - g**3)),
    ]
    return [r for order, r in conditions if order <= p]


@pytest.mark.parametrize(("name", "order"), [("ros2", 2), ("ros3p", 3), ("rodas4", 4)])
def test_rosenbrock_order_conditions(name, order):
    m = ROSENBROCK[name]
    assert len(set(m.gamma_diag)) == 1
    with mp.workdps(DPS):
        assert max(abs(r) for r in order_residuals(m.alpha, m.gamma, m.b, order)) < 1e-14
        assert max(abs(r) for r in order_residuals(m.alpha, m.gamma, m.b_embedded, order - 1)) < 1e-14
        if order < 4:  # and not of the next order (the embedded solution would be useless)
            assert max(abs(r) for r in order_residuals(m.alpha, m.gamma, m.b, order + 1)) > 1e-3


def _hw_step(m: RosenbrockMethod, f, J, y, h):
    """One step of the standard form (7.4) in mpmath, stage by stage, for a system with Jacobian J."""
    s, n = m.stages, len(y)
    k = []
    for i in range(s):
        yi = y + sum((_mpf(m.alpha[i][j]) * k[j] for j in range(i)), mp.zeros(n, 1))
        gk = sum((_mpf(m.gamma[i][j]) * k[j] for j in range(i)), mp.zeros(n, 1))
        k.append(mp.lu_solve(mp.eye(n) - h * _mpf(m.gamma[i][i]) * J, h * f(yi) + h * (J * gk)))
    return y + sum((_mpf(m.b[i]) * k[i] for i in range(s)), mp.zeros(n, 1))


def _transformed_step(t, f, J, y, h):
    g, s, n = _mpf(t["gamma"]), len(t["m"]), len(y)
    a, c = _lower(t["a"], s), _lower(t["c"], s)
    u = []
    for i in range(s):
        yi = y + sum((_mpf(a[i][j]) * u[j] for j in range(i)), mp.zeros(n, 1))
        cu = sum((_mpf(c[i][j]) / h * u[j] for j in range(i)), mp.zeros(n, 1))
        u.append(mp.lu_solve(mp.eye(n) / (h * g) - J, f(yi) + cu))
    return y + sum((_mpf(t["m"][i]) * u[i] for i in range(s)), mp.zeros(n, 1))


def test_rosenbrock_standard_form_is_the_published_method_on_a_nonlinear_system():
    # Beyond y' = λy: one step on a nonlinear system gives the same y1 in both forms.
    def f(y):
        return mp.matrix([y[1], -mp.sin(y[0]) - y[0] * y[1] / 10])

    with mp.workdps(DPS):
        y, h = mp.matrix([1, mp.mpf(1) / 2]), mp.mpf(3) / 10
        J = mp.matrix([[0, 1], [-mp.cos(y[0]) - y[1] / 10, -y[0] / 10]])
        assert mp.norm(_hw_step(RODAS4, f, J, y, h) - _transformed_step(RODAS4_TRANSFORMED, f, J, y, h)) < 1e-45
        # ROS3P: float √3 expressions against the codes' 16-digit decimals.
        assert mp.norm(_hw_step(ROS3P, f, J, y, h) - _transformed_step(ROS3P_TRANSFORMED, f, J, y, h)) < 1e-14
        # ROS2 in the paper's own form, same float γ.
        W = mp.eye(2) - h * _mpf(G2) * J
        k1 = mp.lu_solve(W, f(y))
        k2 = mp.lu_solve(W, f(y + h * k1) - 2 * k1)
        assert mp.norm(_hw_step(ROS2, f, J, y, h) - (y + h * (3 * k1 + k2) / 2)) < 1e-45


def test_rodas4_published_stage_sums_and_stiff_accuracy():
    c = RODAS4.c
    gamma_i = [sum(row) for row in RODAS4.gamma]
    assert all(abs(c[i] - F(x)) < 1e-14 for i, x in enumerate(RODAS4_ALPHA_I))
    assert all(abs(gamma_i[i] - F(x)) < 1e-14 for i, x in enumerate(RODAS4_GAMMA_I))
    # Stiffly accurate: y1 is the last stage, b_i = α_si + γ_si; the embedded solution is the stage before.
    assert all(abs(RODAS4.b[j] - RODAS4.alpha[5][j] - RODAS4.gamma[5][j]) < 1e-14 for j in range(6))
    assert all(abs(RODAS4.b_embedded[j] - RODAS4.alpha[5][j]) < 1e-14 for j in range(6))


def test_rosenbrock_accessors():
    assert ROS3P.stages == 3 and ROS3P.c == (0, 1, 1) and ROS3P.gamma_diag == (F(G3P),) * 3
    assert all(isinstance(x, F) for row in ROS3P.alpha + ROS3P.gamma for x in row)
    alpha, gamma, b, b_emb = ROS3P.arrays()
    assert alpha.dtype == gamma.dtype == b.dtype == b_emb.dtype == np.float64 and gamma.shape == (3, 3)
    assert RosenbrockMethod([[0]], [[1]], [1]).arrays()[3] is None
    # On y' = λy a Rosenbrock method is the Runge–Kutta method with A = α + γ.
    B = [[a + g for a, g in zip(ra, rg, strict=True)] for ra, rg in zip(ROS2.alpha, ROS2.gamma, strict=True)]
    rk = stability_function(ButcherTableau(B, ROS2.b, [0, 0]))
    assert (rk.P, rk.Q) == (stability_function(ROS2).P, stability_function(ROS2).Q)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([], [], []), "at least one stage"),
        (([[0, 0]], [[1]], [1]), r"alpha must be 1×1"),
        (([[0]], [[1, 0], [0, 1]], [1]), r"gamma must be 1×1"),
        (([[0, 0], [1, 0]], [[1, 0], [0, 1]], [1]), "b has length 1 but alpha has 2 stages"),
        (([[0, 0], [1, 0]], [[1, 0], [0, 1]], [1, 0], [1]), "b_embedded has length 1"),
        (([[1]], [[1]], [1]), "alpha must be strictly lower triangular"),
        (([[0, 0], [1, 0]], [[1, 1], [0, 1]], [1, 0]), "gamma must be lower triangular"),
        (([[0, 0], [1, 0]], [[1, 0], [0, 0]], [1, 0]), "diagonal of gamma must be nonzero"),
        (([[0]], [[float("nan")]], [1]), "finite"),
    ],
)
def test_bad_rosenbrock(args, match):
    with pytest.raises(ValueError, match=match):
        RosenbrockMethod(*args)


def test_butcher_tableau_b_embedded():
    A, b, c = TABLEAUS["sdirk2"]
    t = ButcherTableau(A, b, c, b_embedded=["1/2", 0.5])
    assert t.b_embedded == (F(1, 2), F(1, 2)) and ButcherTableau(A, b, c).b_embedded is None
    # The stability function ignores the embedded weights.
    assert stability_function(t).P == _sf("sdirk2").P and stability_function(t).Q == _sf("sdirk2").Q
    with pytest.raises(ValueError, match="b_embedded has length 1 but A has 2 stages"):
        ButcherTableau(A, b, c, [1])
