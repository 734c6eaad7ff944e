"""The built-in problems: their contract, the exact problem's closed forms, and every reference against a solve.

Independent sources: the closed forms against autodiff and finite differences (float64 and 40-digit mpmath
on the textbook formula); every reference against SciPy's Radau (not one of the integrators under test)
with the exact Jacobian of the problem's own vector field, and the problem definitions against published
values where a publication exists. The default run uses moderate tolerances with correspondingly loose
checks; the tight solves (seconds to a minute each) are marked slow.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import stiffbench
from stiffbench.contracts import NAME_PATTERN
from stiffbench.measure import kernels
from stiffbench.problems import e5, hires, linear_2mode, orego, pollu, robertson, robertson_neural, van_der_pol

# Registered directly rather than through the `registry` fixture, so that these tests do not depend on the
# entry points in pyproject.toml (the fixture loads exactly those).
MODULES = (linear_2mode, robertson, robertson_neural, van_der_pol, hires, orego, pollu, e5)
PROBLEMS = stiffbench.build_registry(stiffbench.make_plugin_manager(entry_points=False, plugins=MODULES)).problems
NAMES = ["e5", "hires", "linear-2mode", "orego", "pollu", "robertson-1e5", "robertson-40", "robertson-neural",
         "van-der-pol"]


def _radau(problem, ts, *, rtol, atol, params=None, fun=None, y0=None):
    """``y(ts)`` by SciPy's Radau with the exact Jacobian (jax.jacfwd of ``fun``, the vector field by default)."""
    p = kernels.parameters(problem) | {k: jnp.float64(v) for k, v in (params or {}).items()}
    fun = fun or problem.vector_field
    f = jax.jit(lambda t, y: fun(t, y, p))
    jac = jax.jit(jax.jacfwd(lambda t, y: fun(t, y, p), argnums=1))
    y0 = np.asarray(problem.y0 if y0 is None else y0, dtype=np.float64)
    ts = np.asarray(ts, dtype=np.float64)
    sol = solve_ivp(lambda t, y: np.asarray(f(t, y)), (problem.t0, ts[-1]), y0, method="Radau", t_eval=ts,
                    rtol=rtol, atol=atol, jac=lambda t, y: np.asarray(jac(t, y)))
    assert sol.success, sol.message
    return sol.y.T


def _reference(problem):
    return np.asarray(problem.reference.ts), np.asarray(problem.reference.ys)


# --- the contract -----------------------------------------------------------------------------------------


def test_all_problems_register():
    assert list(PROBLEMS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_problem_contract(name):
    problem = PROBLEMS[name]
    assert NAME_PATTERN.match(problem.name)
    assert problem.citation and problem.__doc__.strip().splitlines()[0]
    assert all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in problem.parameters.values())
    assert set(problem.fast_parameters) <= set(problem.parameters) and problem.fast_parameters
    knob = problem.stiffness
    assert knob.parameter in problem.parameters
    assert knob.values == tuple(sorted(knob.values)) and len(knob.values) >= 3
    for value in (*knob.values, problem.parameters[knob.parameter]):
        knob.check(value)
        assert value > 0  # sensitivities are taken with respect to log θ
    ts = np.asarray(problem.ts)
    assert ts.ndim == 1 and ts[0] > problem.t0 and np.all(np.diff(ts) > 0)
    if isinstance(problem, stiffbench.AbstractExactProblem):
        assert problem.reference is None
    else:
        ref_ts, ref_ys = _reference(problem)
        assert set(ref_ts) <= set(problem.ts)  # references sit at observation times
        assert ref_ys.shape == (len(ref_ts), len(problem.y0)) and np.all(np.isfinite(ref_ys))
        assert problem.reference.source.startswith(("published", "computed"))


@pytest.mark.parametrize("name", NAMES)
def test_vector_field_jits_and_differentiates_in_log_parameters(name):
    """f is traceable, has the state's shape, and its derivatives in log θ (forward and reverse) agree with
    central differences, at the default parameters and at both ends of the stiffness scan."""
    problem = PROBLEMS[name]
    names = list(problem.parameters)
    d = len(problem.y0)
    # A state with every component in play: y0 plus a positive perturbation of the scale of y0.
    y = jnp.asarray(problem.y0) + 0.1 * (1 + np.arange(d)) / d * max(np.abs(problem.y0))

    def f(log_theta):
        return problem.vector_field(jnp.float64(problem.t0), y, kernels.parameters(problem, log_theta))

    f_jit, forward_jit, reverse_jit = jax.jit(f), jax.jit(jax.jacfwd(f)), jax.jit(jax.jacrev(f))
    knob = problem.stiffness
    for value in (knob.values[0], problem.parameters[knob.parameter], knob.values[-1]):
        log_theta = jnp.log(jnp.asarray([value if n == knob.parameter else problem.parameters[n] for n in names]))
        out = f_jit(log_theta)
        assert out.shape == (d,) and out.dtype == jnp.float64 and np.all(np.isfinite(out))
        forward, reverse = np.asarray(forward_jit(log_theta)), np.asarray(reverse_jit(log_theta))
        assert forward.shape == (d, len(names))
        np.testing.assert_allclose(reverse, forward, rtol=1e-12, atol=1e-300)
        h = 1e-6
        steps = h * np.eye(len(names))
        central = np.stack([(f_jit(log_theta + e) - f_jit(log_theta - e)) / (2 * h) for e in steps], axis=1)
        # Each ∂f_i/∂log θ_j is a term of f_i: the differences round off relative to their sum.
        terms = np.abs(forward).sum(axis=1, keepdims=True)
        assert np.all(np.abs(forward - central) <= 1e-7 * terms), (value, forward, central)


# --- linear-2mode: the closed forms -----------------------------------------------------------------------

TWO_MODE = PROBLEMS["linear-2mode"]
# (k_fast, k_slow): the scan, the tie k_fast = k_slow (φ-functions at 0), near-ties, k_fast < k_slow on
# both sides of the switch between the two forms of _transfer, and extremes.
RATE_PAIRS = [(k, 1.0) for k in TWO_MODE.stiffness.values] + [
    (1.0 + 1e-9, 1.0), (0.3, 1.0), (1.0, 1.5), (1.0, 100.0), (2.0, 5.0), (1e-12, 1.0), (1e12, 1.0),
]


def _two_mode(ts, k_fast, k_slow):
    p = {"k_fast": jnp.float64(k_fast), "k_slow": jnp.float64(k_slow)}
    S = TWO_MODE.sensitivity(jnp.asarray(ts), p)
    return np.asarray(TWO_MODE.solution(jnp.asarray(ts), p)), {k: np.asarray(v) for k, v in S.items()}


@pytest.mark.parametrize(("k_fast", "k_slow"), RATE_PAIRS)
def test_two_mode_sensitivity_matches_40_digit_finite_differences_of_bateman(k_fast, k_slow):
    """The textbook Bateman formula in 40-digit arithmetic, differentiated by mpmath's finite differences:
    independent of the φ-function forms the problem evaluates."""
    ys, S = _two_mode(TWO_MODE.ts, k_fast, k_slow)

    def bateman(t, log_kf, log_ks):
        kf, ks = mpmath.exp(log_kf), mpmath.exp(log_ks)
        y1 = mpmath.exp(-kf * t)
        y2 = kf * t * mpmath.exp(-kf * t) if kf == ks else kf * (mpmath.exp(-ks * t) - y1) / (kf - ks)
        return y1, y2

    for k, t in enumerate(TWO_MODE.ts):
        with mpmath.workdps(40):
            t, lf, ls, h = mpmath.mpf(t), mpmath.log(k_fast), mpmath.log(k_slow), mpmath.mpf(10) ** -12
            exact = [float(v) for v in bateman(t, lf, ls)]
            # central differences: O(h²) = 1e-24 truncation, 1e-40/h = 1e-28 rounding
            d_fast = [float(mpmath.diff(lambda x, i=i, t=t, ls=ls: bateman(t, x, ls)[i], lf, h=h)) for i in range(2)]
            d_slow = [float(mpmath.diff(lambda x, i=i, t=t, lf=lf: bateman(t, lf, x)[i], ls, h=h)) for i in range(2)]
        np.testing.assert_allclose(ys[k], exact, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(S["k_fast"][k], d_fast, rtol=1e-12, atol=1e-15 * max(map(abs, d_fast)))
        np.testing.assert_allclose(S["k_slow"][k], d_slow, rtol=1e-12, atol=1e-15 * max(map(abs, d_slow)))


@pytest.mark.parametrize(("k_fast", "k_slow"), [p for p in RATE_PAIRS if p[0] <= 1e6])
def test_two_mode_sensitivity_is_jacfwd_of_the_solution(k_fast, k_slow):
    """Beyond k_fast/k_slow ~ 1e6 autodiff of the closed form loses digits to cancellation (of order
    k_slow/k_fast, which the hand-derived sensitivity avoids), hence the range and the tolerance."""
    ts = jnp.asarray(TWO_MODE.ts)
    _, S = _two_mode(ts, k_fast, k_slow)
    jac = jax.jacfwd(lambda lt: TWO_MODE.solution(ts, {"k_fast": jnp.exp(lt[0]), "k_slow": jnp.exp(lt[1])}))(
        jnp.log(jnp.asarray([k_fast, k_slow])))
    for j, name in enumerate(("k_fast", "k_slow")):
        np.testing.assert_allclose(S[name], jac[..., j], rtol=1e-9, atol=1e-15 * np.abs(S[name]).max())


@pytest.mark.parametrize("k_fast", [1.0, 30.0, 1e3])
def test_two_mode_sensitivity_matches_float64_finite_differences(k_fast):
    ts, h, names = jnp.asarray(TWO_MODE.ts), 1e-5, ("k_fast", "k_slow")
    _, S = _two_mode(ts, k_fast, 1.0)
    log_theta = np.log([k_fast, 1.0])

    def y(lt):
        return np.asarray(TWO_MODE.solution(ts, dict(zip(names, np.exp(lt), strict=True))))

    for j, name in enumerate(names):
        e = h * np.eye(2)[j]
        central = (y(log_theta + e) - y(log_theta - e)) / (2 * h)
        np.testing.assert_allclose(S[name], central, rtol=1e-6, atol=1e-9 * np.abs(S[name]).max())


@pytest.mark.parametrize(("k_fast", "k_slow"), [(1.0, 1.0), (1e3, 1.0), (1e6, 1.0), (1.0, 100.0)])
def test_two_mode_solution_matches_radau(k_fast, k_slow):
    params = {"k_fast": k_fast, "k_slow": k_slow}
    ys = _radau(TWO_MODE, TWO_MODE.ts, rtol=1e-12, atol=1e-15, params=params)
    exact, _ = _two_mode(TWO_MODE.ts, k_fast, k_slow)
    np.testing.assert_allclose(exact, ys, rtol=1e-9, atol=1e-13)


def test_two_mode_fast_mode_is_dahlquist_and_its_gradient_vanishes():
    """y1 is y' = −k_fast y (what tests/test_integrators.py relies on); ∂y2/∂log k_fast ≈ −(k_slow/k_fast) y2."""
    ys, _ = _two_mode(TWO_MODE.ts, 7.0, 1.0)
    np.testing.assert_allclose(ys[:, 0], np.exp(-7.0 * np.asarray(TWO_MODE.ts)), rtol=1e-15)
    ys, S = _two_mode(TWO_MODE.ts, 1e6, 1.0)
    np.testing.assert_allclose(S["k_fast"][:, 1], -1e-6 * ys[:, 1], rtol=1e-5)
    p = {"k_fast": jnp.float64(7.0), "k_slow": jnp.float64(2.0)}
    y = jnp.asarray([0.3, 0.8])
    np.testing.assert_allclose(TWO_MODE.vector_field(0.0, y, p), [-2.1, 2.1 - 1.6], rtol=1e-15)
    np.testing.assert_array_equal(TWO_MODE.matrix(p) @ y, TWO_MODE.vector_field(0.0, y, p))


# --- references against solves ---------------------------------------------------------------------------

# name -> (rtol, atol, check) for the default run and for the slow tight run. Radau's global error is a
# few times rtol on these spans; the checks leave a factor of ~10-100 on what was measured.
TOLERANCES = {
    "robertson-40": ((1e-10, 1e-20, 1e-8), (1e-13, 1e-24, 1e-11)),
    "robertson-1e5": ((1e-10, 1e-22, 1e-8), (1e-13, 1e-24, 1e-11)),
    "robertson-neural": ((1e-10, 1e-20, 1e-8), (1e-13, 1e-24, 1e-11)),
    "van-der-pol": ((1e-7, 1e-14, 1e-7), (1e-12, 1e-16, 1e-11)),
    "hires": ((1e-8, 1e-18, 1e-7), (1e-12, 1e-22, 1e-11)),
    "orego": ((1e-7, 1e-18, 1e-6), (1e-12, 1e-22, 1e-11)),
    "pollu": ((1e-8, 1e-24, 1e-7), (1e-12, 1e-26, 1e-11)),
}


def _check_reference(name, rtol, atol, check):
    problem = PROBLEMS[name]
    ts, ref = _reference(problem)
    ys = _radau(problem, ts, rtol=rtol, atol=atol)
    np.testing.assert_allclose(ys, ref, rtol=check, atol=0)


@pytest.mark.parametrize("name", sorted(TOLERANCES))
def test_reference_agrees_with_radau(name):
    _check_reference(name, *TOLERANCES[name][0])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TOLERANCES))
def test_reference_agrees_with_tight_radau(name):
    _check_reference(name, *TOLERANCES[name][1])


ROBER_1E11 = (0.2083340149701255e-7, 0.8333360770334713e-13, 0.9999999791665050)
"""Test Set ROBER at t = 1e11 (rober.f solut; Mazzia & Magherini, release 2.4)."""


@pytest.mark.parametrize(("rtol", "check"), [(1e-8, 1e-7), pytest.param(1e-10, 1e-9, marks=pytest.mark.slow)])
def test_robertson_reproduces_the_published_rober_value(rtol, check):
    """The Robertson vector field is the published one: its t = 1e11 value (only that time is published)."""
    ys = _radau(PROBLEMS["robertson-40"], [1e11], rtol=rtol, atol=rtol * 1e-14)
    np.testing.assert_allclose(ys[-1], ROBER_1E11, rtol=check)


def test_robertson_conserves_mass_for_all_parameters():
    problem = PROBLEMS["robertson-40"]
    names = list(problem.parameters)
    y = jnp.asarray(problem.reference.ys[-1])

    def total(log_theta):
        return problem.vector_field(0.0, y, dict(zip(names, jnp.exp(log_theta), strict=True))).sum()

    log_theta = jnp.log(jnp.asarray(list(problem.parameters.values())))
    assert abs(total(log_theta)) < 1e-15
    np.testing.assert_allclose(jax.grad(total)(log_theta), 0.0, atol=1e-12)


# --- van der Pol against the scaled form of the Test Set and of Hairer --------------------------------------

VDPOL = {1.0: (-0.1863646254808130e1, 0.7535430865435460), 2.0: (0.1706167732170456e1, -0.8928097010248257)}
"""Hairer's VDPOL (ε = 1e-6, y(0) = (2, 0)) at τ = 1, 2 (unige.ch/~hairer/testset, res_exact_pic)."""
VDPOL_TESTSET = (0.1706167732170483e1, -0.8928097010247975)
"""Test Set VDPOL at τ = 2 (vdpol.f solut; Mazzia & Magherini, release 2.4)."""


def _scaled_vdpol(eps, taus, rtol):
    """The Test Set's VDPOL ``y1' = y2``, ``y2' = ((1 − y1²) y2 − y1)/ε``, written out independently."""

    def f(t, u):
        return [u[1], ((1 - u[0] ** 2) * u[1] - u[0]) / eps]

    def jac(t, u):
        return [[0.0, 1.0], [(-2 * u[0] * u[1] - 1) / eps, (1 - u[0] ** 2) / eps]]

    sol = solve_ivp(f, (0.0, taus[-1]), [2.0, 0.0], method="Radau", t_eval=taus, rtol=rtol, atol=rtol * 1e-4,
                    jac=jac)
    assert sol.success, sol.message
    return sol.y.T


@pytest.mark.parametrize("mu", [10.0, 1e3])
def test_van_der_pol_is_the_scaled_vdpol_in_unscaled_variables(mu):
    """τ = t/μ, u = y1, u' = μ y2 maps the problem exactly onto VDPOL with ε = 1/μ², for every μ."""
    problem = PROBLEMS["van-der-pol"]
    taus = np.array([0.5, 1.0, 1.5, 2.0])
    unscaled = _radau(problem, mu * taus, rtol=1e-8, atol=1e-12, params={"mu": mu})
    scaled = _scaled_vdpol(1 / mu**2, taus, rtol=1e-8)
    np.testing.assert_allclose(unscaled * [1.0, mu], scaled, rtol=1e-6)


def test_van_der_pol_reference_is_the_published_scaled_values_mapped():
    """The recorded reference (VDPOLM at t = 2000, Hairer's VDPOL at τ = 1) agrees with the other two
    publications of the same solution through the exact map y = (u, u'/1000)."""
    problem = PROBLEMS["van-der-pol"]
    ts, ref = _reference(problem)
    mapped = {tau: (u, du / problem.parameters["mu"]) for tau, (u, du) in VDPOL.items()}
    np.testing.assert_allclose(ref[list(ts).index(1000.0)], mapped[1.0], rtol=1e-15)
    np.testing.assert_allclose(ref[list(ts).index(2000.0)], mapped[2.0], rtol=5e-14)
    np.testing.assert_allclose(ref[list(ts).index(2000.0)], (VDPOL_TESTSET[0], VDPOL_TESTSET[1] / 1e3), rtol=5e-14)


# --- E5: the reference is computed (y2 − y3 − y4 is invariant) -------------------------------------------

E5_TESTSET = (0.1152903278711829e-290, 0.8867655517642120e-22, 0.8854814626268838e-22, 0.0)
"""Test Set E5 at t = 1e13 (e5.f solut; Mazzia & Magherini, release 2.4): not recorded, see the module."""


def _e5_reduced(problem, rtol):
    """E5 with y3 = y2 − y4 substituted into the problem's own vector field: the invariant held exactly."""

    def fun(t, u, params):
        f = problem.vector_field(t, jnp.stack([u[0], u[1], u[1] - u[2], u[2]]), params)
        return jnp.stack([f[0], f[1], f[3]])

    y0 = (problem.y0[0], problem.y0[1], problem.y0[3])
    return _radau(problem, [1e13], rtol=rtol, atol=1e-40, fun=fun, y0=y0)[-1]


@pytest.mark.parametrize(("rtol", "check"), [(1e-8, 1e-9), pytest.param(1e-13, 1e-11, marks=pytest.mark.slow)])
def test_e5_reference_agrees_with_radau_on_the_invariant_form(rtol, check):
    problem = PROBLEMS["e5"]
    (ref,) = _reference(problem)[1]
    y1, y2, y4 = _e5_reduced(problem, rtol)
    np.testing.assert_allclose(y2, ref[1], rtol=check)
    assert abs(y1) < 1e-40 and abs(y4) < 1e-40  # both are below 1e-3000: whatever remains is rounding
    assert ref[1] == ref[2] and ref[0] == ref[3] == 0.0


def test_e5_full_system_drifts_off_the_invariant_but_keeps_the_mean():
    """Through the 4-equation form y2 and y3 split by rounding drift (~1e-25 absolute), their mean does not."""
    problem = PROBLEMS["e5"]
    (ref,) = _reference(problem)[1]
    (y,) = _radau(problem, [1e13], rtol=1e-7, atol=1e-40)
    np.testing.assert_allclose((y[1] + y[2]) / 2, ref[1], rtol=1e-6)
    np.testing.assert_allclose(y[1:3], ref[1:3], rtol=1e-2)
    assert abs(y[0]) < 1e-40 and abs(y[3]) < 1e-40


def test_e5_published_values_are_consistent_only_in_their_mean():
    """Why the Test Set's E5 values are not recorded: they break the invariant y2 − y3 − y4 = 0 by 1.4e-3
    relative, and their y1 exceeds the bound y1(0) e^{−A t} by thousands of orders of magnitude."""
    problem = PROBLEMS["e5"]
    (ref,) = _reference(problem)[1]
    y1, y2, y3, y4 = E5_TESTSET
    assert abs(y2 - y3 - y4) / y2 > 1e-3
    assert math.log(y1) > math.log(problem.y0[0]) - problem.parameters["A"] * 1e13 + 1000
    np.testing.assert_allclose((y2 + y3) / 2, ref[1], rtol=3e-7)
