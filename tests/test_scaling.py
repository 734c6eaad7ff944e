"""Scaling with the size of the system: structured linear algebra against dense numpy, the size-knob problems
against their stencils and declared bands, exact discrete gradients on them against finite differences, and the
size scan from configuration to report.

Independent sources: numpy's dense solve, the Jacobian by ``jax.jacfwd`` of the whole vector field, central
differences of the forward solve, SciPy's RADAU5 error constants, and a closed-form power law for the fit."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stiffbench
from stiffbench import AdaptiveStep, Banded, FixedStep
from stiffbench.engines import linalg
from stiffbench.engines.runge_kutta import _radau_estimate
from stiffbench.measure import kernels
from stiffbench.measure.references import reference_states, scipy_solver
from stiffbench.problems import reaction_diffusion
from stiffbench.report.scaling import growth

PROBLEMS = stiffbench.build_registry(stiffbench.make_plugin_manager(entry_points=False,
                                                                     plugins=(reaction_diffusion,))).problems


def _banded(n, lower, upper, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    i, j = np.indices((n, n))
    return np.where((j - i <= upper) & (i - j <= lower), M, 0.0)


@pytest.mark.parametrize(("n", "band"), [(1, None), (7, None), (40, Banded(1, 1)), (37, Banded(3, 2)),
                                         (50, Banded(0, 4))])
def test_block_factorization_solves_like_a_dense_solve(n, band):
    """Jacobian by compressed JVPs, block cyclic reduction, a complex shift in real form and three stacked stages,
    against numpy on the dense matrices (n not a multiple of the block: padding)."""
    J = _banded(n, band.lower, band.upper) if band else np.random.default_rng(1).standard_normal((n, n))
    structure = linalg.Structure.of(n, band)
    rhs = np.random.default_rng(2).standard_normal(n)
    for re, im, h in ((2.0, None, 0.3), (3.0, 1.5, 0.7)):
        @jax.jit
        def shifted_solve(b, re=re, im=im, h=h):
            blocks = linalg.jacobian(lambda y: jnp.asarray(J) @ y, jnp.zeros(n), structure)
            factors = linalg.factor(blocks.shifted(re, im, scale=h), structure, complex_pair=im is not None)
            return linalg.solve(factors, b)

        b = rhs * (1 + 0.5j) if im is not None else rhs
        np.testing.assert_allclose(shifted_solve(jnp.asarray(b)), np.linalg.solve((re + 1j * (im or 0.0)) * np.eye(n)
                                                                                  - h * J, b), rtol=1e-10, atol=1e-10)
    # the stacked stages: x ↦ x − (A ⊗ J) x, rows of x the stages
    A = np.array([[0.4, -0.1, 0.05], [0.3, 0.5, -0.2], [0.1, 0.6, 0.3]])
    big = np.eye(3 * n) - np.kron(A, J)
    solve = jax.jit(lambda r: linalg.operator_solver(3, structure)(lambda x: x - jnp.asarray(A) @ x @ jnp.asarray(J).T,
                                                                    r))
    X = solve(jnp.asarray(rhs[None] * np.arange(1, 4)[:, None]))
    np.testing.assert_allclose(np.asarray(X).reshape(-1), np.linalg.solve(big, (rhs[None] * np.arange(1, 4)[:, None])
                                                                          .reshape(-1)), rtol=1e-9, atol=1e-10)


def test_radau5_error_estimate_has_scipys_constants(registry):
    E, real = _radau_estimate(registry.integrators["radau-iia-5"].tableau)
    s6 = math.sqrt(6)
    np.testing.assert_allclose(E, np.array([-13 - 7 * s6, -13 + 7 * s6, -1]) / 3, rtol=1e-13)
    assert real == 2  # λ ≈ 3.6378, the real eigenvalue of A⁻¹ (RADAU5's 1/γ)
    assert _radau_estimate(registry.integrators["radau-iia-3"].tableau) is None  # no real eigenvalue of A⁻¹


@pytest.mark.parametrize(("name", "sizes"), [("reaction-diffusion-1d", (5, 64)), ("brusselator-2d", (3, 8))])
def test_size_knob_problems_declare_their_band_and_follow_their_stencil(name, sizes):
    for size in sizes:
        problem = PROBLEMS[name].resized(size)
        assert problem.name == f"{name}-n{size}" and problem.size == size
        assert not stiffbench.contracts.problem_problems(problem)
        y = jnp.asarray(problem.y0) * (1 + 0.1 * np.sin(np.arange(len(problem.y0))))
        params = kernels.parameters(problem)
        J = np.asarray(jax.jacfwd(lambda u, p=problem, q=params: p.vector_field(0.0, u, q))(y))
        band = problem.jacobian_structure
        i, j = np.indices(J.shape)
        assert np.all(J[(j - i > band.upper) | (i - j > band.lower)] == 0)
        assert np.any(J[i - j == band.lower] != 0)  # the band is not wider than it needs
        if name == "reaction-diffusion-1d":
            u, dx = np.asarray(y), 1 / (size + 1)
            padded = np.concatenate([[1.0], u, [1.0]])
            expected = 0.1 * (padded[:-2] - 2 * u + padded[2:]) / dx**2 - 10.0 * u**2
            np.testing.assert_allclose(problem.vector_field(0.0, y, params), expected, rtol=1e-12)
        # SciPy's sparse Jacobian from JAX is the dense one
        solve, how = scipy_solver(problem, "Radau", 1e-4, 1e-7)
        sol = solve()
        assert sol.success and how.startswith("sparse Jacobian")


@pytest.mark.parametrize("name", ["radau-iia-5", "rodas4", "sdirk-2", "bdf-2"])
def test_structured_engines_give_the_exact_gradient_of_their_discrete_scheme(registry, name):
    """On the banded problem with fixed steps, ∂(½Σy²)/∂log θ through the structured engine equals central
    differences of the same discrete forward solve."""
    problem = PROBLEMS["reaction-diffusion-1d"].resized(20)
    integrator, policy = registry.integrators[name], FixedStep(0.05)
    log_theta = kernels.log_parameters(problem)[0]
    solve = jax.jit(kernels.forward(integrator, problem, policy))

    def loss(lt):
        return 0.5 * jnp.sum(solve(lt).ys ** 2)

    gradient = np.asarray(jax.jit(kernels.loss_gradient(integrator, problem, policy))(log_theta))
    assert int(solve(log_theta).status) == 0
    eps = 1e-5
    central = [(loss(log_theta + eps * e) - loss(log_theta - eps * e)) / (2 * eps) for e in np.eye(len(log_theta))]
    np.testing.assert_allclose(gradient, np.asarray(central), rtol=1e-6)


def test_native_radau_meets_the_tolerance_on_the_banded_problem(registry):
    problem = PROBLEMS["reaction-diffusion-1d"].resized(48)
    sol = jax.jit(kernels.forward(registry.integrators["radau-iia-5"], problem, AdaptiveStep(rtol=1e-6, atol=1e-9)))(
        kernels.log_parameters(problem)[0])
    ys, source = reference_states(problem)
    assert int(sol.status) == 0 and "sparse Jacobian" in source
    np.testing.assert_allclose(sol.ys, ys, rtol=1e-5)


def test_growth_exponent_is_the_slope_of_a_power_law():
    assert growth([(n, 3e-4 * n**1.25) for n in (64, 256, 1024)]) == pytest.approx(1.25, rel=1e-12)
    assert growth([(64, 1.0)]) is None


def test_a_size_scan_runs_from_the_command_line_to_the_report(tmp_path):
    from stiffbench.cli import main

    out = tmp_path / "run"
    config = tmp_path / "scan.toml"
    config.write_text('integrators = ["backward-euler"]\nproblems = []\n[stability]\npoints = 4\nangles = []\n'
                      '[cost]\nproblems = ["reaction-diffusion-1d"]\nsizes = [8, 16]\n'
                      'scipy = ["radau"]\nrtol = 1e-4\natol = 1e-7\nrepeats = 1\n')
    assert main(["run", "--config", str(config), "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "## Cost against size" in report and "`reaction-diffusion-1d`: forward solve" in report
    assert (out / "figures" / "scaling-reaction-diffusion-1d.png").stat().st_size > 1000
