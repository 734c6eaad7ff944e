"""The contract test: every registered integrator on every exact problem, against theory (theory.md §2)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stiffbench
from stiffbench import FixedStep, Status, stability_function

H = 0.05
RATES = np.array([1.0, 1e2, 1e4])  # z = -rate·h = -0.05, -5, -500
INTEGRATORS = sorted(stiffbench.load_registry().integrators)
# The n-step theory below is scalar; linear systems are checked against R(hA)^n in test_gradients.py.
PROBLEMS = sorted(name for name, p in stiffbench.load_registry().problems.items.items()
                  if isinstance(p, stiffbench.AbstractExactProblem) and len(p.y0) == 1)


def _solve_log(integrator, problem, policy):
    """ys and ∂ys/∂log θ for a batch of fast rates, through the integrator."""

    def ys(log_rate):
        params = dict(problem.parameters) | {problem.stiffness.parameter: jnp.exp(log_rate)}
        sol = integrator.solve(problem.vector_field, problem.t0, jnp.asarray(problem.y0), problem.ts, params,
                               policy)
        return sol.ys, sol.status

    def with_sensitivity(log_rate):  # reverse mode, as training does (diffrax's adjoints have no jvp)
        dy, (y, status) = jax.jacrev(lambda lr: (ys(lr)[0], ys(lr)), has_aux=True)(log_rate)
        return y, dy, status

    return jax.jit(jax.vmap(with_sensitivity))(jnp.log(jnp.asarray(RATES)))


# BDF-k, ρ in ascending powers with σ = ζ^k (Hairer & Wanner II, V.1, in this normalisation).
BDF_RHO = {
    2: (1 / 2, -2, 3 / 2),
    3: (-1 / 3, 3 / 2, -3, 11 / 6),
    4: (1 / 4, -4 / 3, 3, -4, 25 / 12),
    5: (-1 / 5, 5 / 4, -10 / 3, 5, -5, 137 / 60),
}


def _linear_theory(integrator, z, n_max):
    """``y_n`` and ``dy_n/dz`` for ``y' = λy``, ``z = hλ``, ``y0 = 1``, n = 0..n_max (theory.md §2).

    One-step methods: ``R(z)^n`` from the tableau. BDF-k: its recurrence, started by k − 1 steps of
    Radau IIA of order 5 (closed form of theory.md §4).
    """
    if isinstance(integrator, stiffbench.AbstractMultistepIntegrator):
        rho = BDF_RHO[len(integrator.theory.rho) - 1]
        k = len(rho) - 1
        radau = (1 + 2 * z / 5 + z**2 / 20) / (1 - 3 * z / 5 + 3 * z**2 / 20 - z**3 / 60)
        d_radau = 3 * (z**4 + 16 * z**3 - 48 * z**2 - 240 * z + 1200) / (z**3 - 9 * z**2 + 36 * z - 60) ** 2
        ys = [radau**m for m in range(min(k, n_max + 1))]
        ds = [m * radau ** max(m - 1, 0) * d_radau for m in range(min(k, n_max + 1))]
        for m in range(k, n_max + 1):
            rhs = -sum(rho[j] * ys[m - k + j] for j in range(k))
            drhs = -sum(rho[j] * ds[m - k + j] for j in range(k))
            ys.append(rhs / (rho[-1] - z))
            ds.append((drhs + ys[-1]) / (rho[-1] - z))  # differentiate (ρ_k − z) y_m = rhs in z
        return np.array(ys).T, np.array(ds).T
    sf = stability_function(integrator.theory)
    n = np.arange(n_max + 1)
    R, dR = sf.R(z)[:, None], sf.dR(z)[:, None]
    return R**n, n * R ** np.maximum(n - 1, 0) * dR


# Every diffrax solve compiles for 5–15 s on two cores: by default one implicit and one explicit, all with -m slow.
DEFAULT_DIFFRAX = {"diffrax-kvaerno5", "diffrax-tsit5"}


@pytest.mark.parametrize("problem_name", PROBLEMS)
@pytest.mark.parametrize("integrator_name", [
    n if not n.startswith("diffrax-") or n in DEFAULT_DIFFRAX else pytest.param(n, marks=pytest.mark.slow)
    for n in INTEGRATORS])
def test_fixed_step_matches_n_step_theory(registry, integrator_name, problem_name):
    """y_n and λ ∂y_n/∂λ = z dy_n/dz through the integrator equal the theory, at three stiffness levels."""
    integrator, problem = registry.integrators[integrator_name], registry.problems[problem_name]
    y, dy, status = _solve_log(integrator, problem, FixedStep(H))
    assert (np.asarray(status) == Status.OK).all()
    z = -RATES * H
    n = np.rint((np.asarray(problem.ts) - problem.t0) / H).astype(int)
    y_theory, dy_theory = _linear_theory(integrator, z, n.max())
    y_theory, dy_theory = y_theory[:, n] * problem.y0[0], z[:, None] * dy_theory[:, n] * problem.y0[0]
    tol = 1e-10 if integrator.implementation.startswith("stiffbench") else 1e-8
    np.testing.assert_allclose(np.asarray(y)[..., 0], y_theory.real, rtol=tol, atol=1e-300)
    np.testing.assert_allclose(np.asarray(dy)[..., 0], dy_theory.real, rtol=tol, atol=1e-300)


def test_linear_problem_sensitivity_is_the_derivative_of_its_solution(registry):
    problem = registry.problems["linear"]
    ts = jnp.asarray(problem.ts)
    for rate in RATES:
        exact = problem.sensitivity(ts, {"rate": rate})["rate"]
        autodiff = jax.jacfwd(lambda lr: problem.solution(ts, {"rate": jnp.exp(lr)}))(jnp.log(rate))
        # exp(log(rate)) carries a rounding error that exp(-rate·t) amplifies by rate·t
        np.testing.assert_allclose(exact, autodiff, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(problem.solution(ts, {"rate": rate})[:, 0], np.exp(-rate * np.asarray(ts)))


def test_fixed_step_grid_lands_on_observation_times():
    times = FixedStep(0.3).times(0.0, (0.25, 1.0, 1.0))
    np.testing.assert_allclose(times, [0.0, 0.25, 0.55, 0.85, 1.0])
    assert len(FixedStep(0.05).times(0.0, (1.0,))) == 21  # 1.0/0.05 rounds to 20.000000000000004


def test_native_engine_refuses_explicit_tableau():
    from stiffbench.engines.runge_kutta import ImplicitRungeKutta

    with pytest.raises(ValueError, match="explicit"):
        ImplicitRungeKutta(name="euler", tableau=stiffbench.ButcherTableau([[0]], [1], [0]), order=1, citation="")


ADAPTIVE = ["trapezoid", "radau-iia-5", "sdirk-2", "diffrax-kvaerno5"]


@pytest.mark.parametrize("integrator_name", ADAPTIVE)
def test_adaptive_steps_meet_the_tolerance_and_give_the_exact_gradient(registry, integrator_name):
    """On y' = -rate·y the solution and its gradient converge to the exact ones.

    Error-per-step control bounds the local error by rtol, not the global one: sdirk-2 at rtol 1e-7 ends
    ~1e-4 off (backward Euler would need thousands of steps), hence the loose tolerance below.
    """
    integrator, problem = registry.integrators[integrator_name], registry.problems["linear"]
    policy = stiffbench.AdaptiveStep(rtol=1e-7, atol=1e-12)
    rates = np.array([1.0, 30.0])

    def ys(log_rate):
        sol = integrator.solve(problem.vector_field, 0.0, jnp.ones(1), problem.ts, {"rate": jnp.exp(log_rate)}, policy)
        return sol.ys[:, 0], sol

    dy, sol = jax.jit(jax.vmap(jax.jacrev(ys, has_aux=True)))(jnp.log(rates))
    assert (np.asarray(sol.status) == Status.OK).all()
    assert (np.asarray(sol.num_steps) > 1).all()
    ts = jnp.asarray(problem.ts)
    for k, rate in enumerate(rates):
        exact = problem.solution(ts, {"rate": rate})[:, 0]
        sensitivity = problem.sensitivity(ts, {"rate": rate})["rate"][:, 0]
        np.testing.assert_allclose(sol.ys[k, :, 0], exact, rtol=1e-3, atol=1e-10)
        np.testing.assert_allclose(dy[k], sensitivity, rtol=1e-3, atol=1e-10)


def test_step_budget_exhaustion_is_a_status(registry):
    integrator = registry.integrators["radau-iia-5"]
    sol = integrator.solve(lambda t, y, p: -y, 0.0, jnp.ones(1), (1000.0,), {},
                           stiffbench.AdaptiveStep(rtol=1e-10, atol=1e-12, max_steps=5))
    assert int(sol.status) == Status.MAX_STEPS_REACHED
    assert Status(int(sol.status)).message.startswith("max steps reached")


def test_newton_failure_is_a_status_not_an_exception(registry):
    """y' = -y³ with a huge step: Newton from y0 cannot converge in 3 iterations; values are still returned."""
    import dataclasses

    integrator = dataclasses.replace(registry.integrators["backward-euler"], newton_max_iter=3)
    sol = jax.jit(lambda y0: integrator.solve(lambda t, y, p: -(y**3), 0.0, y0, (1e6,), {}, FixedStep(1e6)))(
        jnp.ones(1))
    assert int(sol.status) == Status.NONLINEAR_SOLVE_FAILED
    assert Status(int(sol.status)).message.startswith("nonlinear solve did not converge")


@pytest.mark.parametrize("kwargs", [{"h": 0.0}, {"h": -1.0}, {"h": float("nan")}])
def test_step_policies_refuse_bad_values(kwargs):
    with pytest.raises(ValueError, match="positive"):
        FixedStep(**kwargs)
    with pytest.raises(ValueError, match="rtol must be positive"):
        stiffbench.AdaptiveStep(rtol=0.0, atol=1e-8)


NATIVE = sorted(name for name, i in stiffbench.load_registry().integrators.items.items()
                if i.implementation.startswith("stiffbench native"))


@pytest.mark.parametrize("integrator_name", NATIVE)
def test_native_methods_converge_at_their_order(registry, integrator_name):
    """y' = −2t y², y(0) = 1, exact y = 1/(1 + t²): nonlinear and non-autonomous, so the stage times c and
    every tableau entry matter, not only the stability function."""
    integrator = registry.integrators[integrator_name]
    errors = []
    for h in (0.125, 0.0625):
        sol = integrator.solve(lambda t, y, p: -2 * t * y**2, 0.0, jnp.ones(1), (2.0,), {}, FixedStep(h))
        errors.append(abs(float(sol.ys[-1, 0]) - 1 / 5))
    # ROS2 approaches its order 2 from below (1.6 here, 1.9 at h/8): a wrong coefficient costs a whole order.
    assert np.log2(errors[0] / errors[1]) >= integrator.order - 0.5
