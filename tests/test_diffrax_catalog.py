"""diffrax's solvers as integrators: what is registered, its theory against the papers, its code against theory."""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction

import diffrax
import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from stiffbench import ButcherTableau, FixedStep, Status, stability_function
from stiffbench.engines.diffrax_adapter import ROOT_ATOL, ROOT_RTOL
from stiffbench.measure import measure_stability
from stiffbench.records import StabilityGrid, dumps, to_json

EXPECTED = {  # name: family, stages, order, as the papers name the methods (e.g. ARK4(3)6L: order 4, 6 stages)
    "diffrax-implicit-euler": ("Runge–Kutta", 1, 1),
    "diffrax-kvaerno3": ("Runge–Kutta", 4, 3),
    "diffrax-kvaerno4": ("Runge–Kutta", 5, 4),
    "diffrax-kvaerno5": ("Runge–Kutta", 7, 5),
    "diffrax-kvaerno5-newton": ("Runge–Kutta", 7, 5),
    "diffrax-kencarp3": ("Runge–Kutta", 4, 3),
    "diffrax-kencarp4": ("Runge–Kutta", 6, 4),
    "diffrax-kencarp5": ("Runge–Kutta", 8, 5),
    "diffrax-tsit5": ("explicit", 7, 5),
    "diffrax-dopri5": ("explicit", 7, 5),
    "diffrax-heun": ("explicit", 2, 2),
}
GAMMA = {  # the ESDIRKs' diagonal as printed in Kværnø (2004) and Kennedy & Carpenter (2003)
    "diffrax-kvaerno3": 0.4358665215,
    "diffrax-kvaerno4": 0.5728160625,
    "diffrax-kvaerno5": 0.26,
    "diffrax-kencarp3": 1767732205903 / 4055673282236,
    "diffrax-kencarp4": 1 / 4,
    "diffrax-kencarp5": 41 / 200,
}
# All six are L-stable designs; three of diffrax's float tableaus miss R(∞) = 0 by more than stiffbench's
# 1e-12 slack, for the reasons pinned down by the two tests after test_implicit_properties.
L_STABLE = {"diffrax-implicit-euler": True, "diffrax-kvaerno3": False, "diffrax-kvaerno4": False,
            "diffrax-kvaerno5": True, "diffrax-kencarp3": True, "diffrax-kencarp4": True, "diffrax-kencarp5": False}
DEGREE = {"diffrax-dopri5": 6, "diffrax-heun": 2, "diffrax-tsit5": 6}  # of R; FSAL: the 7th stage has b7 = 0
EXPLICIT = sorted(DEGREE)
# One grid for every measurement below: JAX compiles each (integrator, grid size) once per measurement,
# seconds apiece, so agreement (|z| ≤ 1e2) and decay (|z| ≥ 1e3) come from the same record.
GRID = StabilityGrid(points=25, z_max=1e8, angles=(45.0,))
# Each costs 3–9 s of compile time on 2 cores: by default one IMEX and one explicit solver (test_stability
# measures the ESDIRK path with Kvaerno5); the rest with -m slow.
MEASURED = [
    "diffrax-kencarp3", "diffrax-heun",
    *(pytest.param(name, marks=pytest.mark.slow)
      for name in ("diffrax-implicit-euler", "diffrax-kvaerno3", "diffrax-kvaerno4", "diffrax-kvaerno5",
                   "diffrax-kencarp4", "diffrax-kencarp5", "diffrax-tsit5", "diffrax-dopri5")),
]


@pytest.fixture(scope="module")
def measured(registry):
    """``measured(name)``: the stability record of one integrator on GRID, measured once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = measure_stability(registry.integrators[name], GRID)
        return cache[name]

    return get


def _taylor(P, Q, n):
    """First n + 1 Taylor coefficients of P/Q at 0, exact."""
    r = []
    for k in range(n + 1):
        p = P[k] if k < len(P) else 0
        r.append((p - sum(Q[j] * r[k - j] for j in range(1, min(k, len(Q) - 1) + 1))) / Q[0])
    return r


def test_every_diffrax_solver_is_registered(registry):
    assert {name for name in registry.integrators if name.startswith("diffrax-")} == set(EXPECTED)
    for name, (family, stages, order) in EXPECTED.items():
        integrator = registry.integrators[name]
        assert (integrator.family, integrator.stages, integrator.order) == (family, stages, order), name
        assert integrator.order == integrator.solver.order(None), name  # diffrax's own claim
        if family == "explicit":
            assert integrator.implementation.endswith("no root finder, adjoint RecursiveCheckpointAdjoint"), name
        else:  # KenCarp's stall-tolerant VeryChord: see the last test; the Newton variant of Kvaerno5
            kind = "StallTolerantVeryChord" if "kencarp" in name else "Newton" if "newton" in name else "VeryChord"
            assert f"(root_finder={kind}(rtol=1e-10, atol=1e-10))" in integrator.implementation, name
    assert "KenCarp3(root_finder=StallTolerantVeryChord(rtol=1e-10, atol=1e-10)) on MultiTerm(0, f)" in (
        registry.integrators["diffrax-kencarp3"].implementation)


@pytest.mark.parametrize("name", sorted(GAMMA))
def test_theory_is_a_stiffly_accurate_esdirk_with_the_papers_gamma(registry, name):
    """For a KenCarp solver that is the implicit tableau; the explicit one has a zero diagonal."""
    tableau = registry.integrators[name].theory
    assert tableau.is_diagonally_implicit and tableau.is_stiffly_accurate
    diagonal = [float(tableau.A[i][i]) for i in range(tableau.stages)]
    assert diagonal[0] == 0
    np.testing.assert_allclose(diagonal[1:], GAMMA[name], rtol=1e-15)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stability_function_matches_exp_to_the_order(registry, name):
    """R(z) = e^z + O(z^(p+1)) for a method of order p: Taylor coefficients 1/k! for k ≤ p."""
    integrator = registry.integrators[name]
    sf = stability_function(integrator.theory)
    coefficients = _taylor(sf.P, sf.Q, integrator.order)
    # Float tableaus satisfy the order conditions to roundoff, KenCarp5's typo (below) to ~1e-12.
    np.testing.assert_allclose([float(c) for c in coefficients],
                               [1 / math.factorial(k) for k in range(integrator.order + 1)], rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", EXPLICIT)
def test_explicit_controls_have_polynomial_r_and_are_not_a_stable(registry, name):
    sf = stability_function(registry.integrators[name].theory)
    assert sf.Q == (1,) and len(sf.P) - 1 == DEGREE[name]
    n = min(6, len(sf.P))
    np.testing.assert_allclose([float(p) for p in sf.P[:n]], [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120][:n], rtol=1e-13)
    if name == "diffrax-heun":
        assert sf.P == (1, 1, Fraction(1, 2))  # exactly: diffrax's Heun tableau is binary-exact
    if name == "diffrax-dopri5":  # Hairer, Nørsett & Wanner I, II.5: R = Σ_{k≤5} z^k/k! + z^6/600
        assert float(sf.P[6]) == pytest.approx(1 / 600, rel=1e-13)
    assert (sf.a_stable, sf.l_stable, sf.R_inf) == (False, False, complex(math.inf, 0))
    assert sf.decay_exponent == DEGREE[name] - 1  # R' is a polynomial of degree deg P − 1


@pytest.mark.parametrize("name", sorted(L_STABLE))
def test_implicit_properties(registry, name):
    sf = stability_function(registry.integrators[name].theory)
    assert sf.a_stable
    assert sf.l_stable is L_STABLE[name]
    assert abs(sf.R_inf) <= (1e-15 if L_STABLE[name] else 1e-10)
    assert sf.decay_exponent == -2


@pytest.mark.parametrize("name", ["diffrax-kvaerno3", "diffrax-kvaerno4"])
def test_kvaerno3_4_miss_l_stability_by_the_ten_printed_digits_of_gamma(registry, name):
    """With Q = (1 − γz)^q and order p = q, P is the Taylor truncation of e^z Q, so R(∞) = L(γ)/(−γ)^q with
    L(γ) = Σ_k C(q, k)(−γ)^k/(q − k)!: Kværnø's γ is a root of L, printed (and typed in diffrax) to 10 digits."""
    tableau = registry.integrators[name].theory
    q, gamma = tableau.stages - 1, tableau.A[1][1]

    def L(g):
        return sum(math.comb(q, k) * (-g) ** k / math.factorial(q - k) for k in range(q + 1))

    with mpmath.workdps(30):
        root = mpmath.findroot(L, mpmath.mpf(GAMMA[name]))
    assert abs(float(gamma) - float(root)) <= 1e-10
    predicted = L(gamma) / (-gamma) ** q
    assert 1e-12 < abs(predicted) < 1e-10
    assert stability_function(tableau).R_inf.real == pytest.approx(float(predicted), rel=1e-3)


def test_kencarp5_misses_l_stability_by_a_typo_in_diffrax(registry):
    """diffrax 0.7.2 has a76 = −4269925059573/7827059040719; Kennedy & Carpenter (2003), also SUNDIALS'
    ARK548L2SA and PETSc's ARKIMEX5, have the denominator 7827059040749. With diffrax's value the row sum
    misses c7 = 3/5 and R(∞) = 3.7e-11; with the paper's it is 0 to roundoff."""
    tableau = registry.integrators["diffrax-kencarp5"].theory
    assert tableau.A[6][5] == Fraction(-4269925059573 / 7827059040719)
    assert abs(float(sum(tableau.A[6]) - Fraction(3, 5))) > 1e-12
    A = [list(row) for row in tableau.A]
    A[6][5] = Fraction(-4269925059573, 7827059040749)
    assert abs(float(sum(A[6]) - Fraction(3, 5))) < 1e-15
    paper = stability_function(ButcherTableau(A=A, b=tableau.b, c=tableau.c))
    assert paper.l_stable and abs(paper.R_inf) < 1e-14
    assert stability_function(tableau).R_inf.real == pytest.approx(3.67e-11, rel=1e-2)


@pytest.mark.parametrize("name", MEASURED)
def test_implementation_agrees_with_tableau_theory(measured, name):
    """One step of diffrax's code against R, R' derived from its tableau: independent computations."""
    record = measured(name)
    assert all(s == Status.OK for s in record.points.status)
    up_to_1e2 = record.summary.level(1e2)
    assert up_to_1e2.abs_z_max == 1e2
    assert up_to_1e2.max_rel_err_R <= 1e-10
    assert up_to_1e2.max_rel_err_dR <= 1e-10


@pytest.mark.parametrize("name", ["diffrax-kencarp3", *(pytest.param(n, marks=pytest.mark.slow)
                                                        for n in ("diffrax-kencarp4", "diffrax-kencarp5"))])
def test_kencarp_gradient_decays_like_z_to_the_minus_two(measured, name):
    """Computed −1.98 (KenCarp3), −2.00, −2.02 (KenCarp5): their R' carries an absolute error of ~eps, which
    is 60% of |R'| ~ 3e-16 at |z| = 1e8 and tilts the fit; theory is −2.00 for all three."""
    summary = measured(name).summary
    assert summary.decay_exponent_theory == pytest.approx(-2, abs=0.05)
    assert summary.decay_exponent_computed == pytest.approx(-2, abs=0.05)


@pytest.mark.parametrize("name", [n if n == "diffrax-heun" else pytest.param(n, marks=pytest.mark.slow)
                                  for n in EXPLICIT])
def test_explicit_gradient_grows_like_the_polynomial(measured, name):
    """Not A-stable, seen in the measurement: |R'| grows like |z|^(deg P − 1) on the tail, R(∞) = ∞."""
    summary = measured(name).summary
    assert summary.decay_exponent_theory == pytest.approx(DEGREE[name] - 1, abs=0.05)
    assert summary.decay_exponent_computed == pytest.approx(DEGREE[name] - 1, abs=0.05)
    assert (summary.a_stable, summary.l_stable, summary.R_inf) == (False, False, None)


def test_explicit_method_at_large_z_is_reported_honestly(registry):
    """Heun on the default grid up to |z| = 1e8: no exception, non-finite values never pass as ok, strict JSON."""
    record = measure_stability(registry.integrators["diffrax-heun"], StabilityGrid())
    points = record.points
    for R, dR, status in zip(points.R_computed, points.dR_computed, points.status, strict=True):
        if R is None or dR is None:
            assert status != Status.OK
    json.dumps(to_json(record.summary), allow_nan=False)
    assert json.loads(dumps(record.to_json()))["key"]["coords"]["integrator"] == "diffrax-heun" == record.integrator
    # R = 1 + z + z²/2 is 5e15 at z = −1e8, still finite: one step overflows nothing, and agrees.
    assert record.summary.n_failed == 0
    assert record.summary.max_rel_err_R <= 1e-12


def test_kencarp_takes_many_fixed_steps_where_plain_verychord_calls_roundoff_divergence(registry):
    """y' = −y, 8 steps of 0.05: the root finder's stall check is what lets KenCarp go past step 1."""
    kencarp = registry.integrators["diffrax-kencarp3"]
    plain = dataclasses.replace(kencarp, solver=diffrax.KenCarp3(root_finder=diffrax.VeryChord(ROOT_RTOL, ROOT_ATOL)))
    ts = (0.1, 0.4)

    def run(integrator):
        return jax.jit(lambda y0: integrator.solve(lambda t, y, p: -y, 0.0, y0, ts, {}, FixedStep(0.05)))(jnp.ones(1))

    assert int(run(plain).status) == Status.NONLINEAR_SOLVE_FAILED
    sol = run(kencarp)
    assert int(sol.status) == Status.OK and int(sol.num_steps) == 8
    R = stability_function(kencarp.theory).R(-0.05).real
    np.testing.assert_allclose(np.asarray(sol.ys)[:, 0], [R**2, R**8], rtol=1e-13)
