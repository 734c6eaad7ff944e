"""Training cells against independent numbers: linear-2mode's closed form (a fit with exact gradients recovers
the rates; the exact loss gradient), the gradient cell's sensitivities (the first iteration's gradient is the chain
rule applied to them), central finite differences (the neural problem's weights), and a problem that breaks
mid-fit (the record keeps what the fit had)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stiffbench import AbstractExactProblem, AdaptiveStep, FixedStep, ReverseMode, Status
from stiffbench.cli import main
from stiffbench.measure import measure_gradients, measure_training
from stiffbench.measure.training import LOG, loss_function, setup
from stiffbench.records import TrainingInputs, TrainingResult, from_json, to_json
from stiffbench.report.training import history_figure, start_gradient_figure, training_records
from stiffbench.sweep import load_run


def inputs(problem, policy, iterations=20, fitted=None, **kwargs):
    return TrainingInputs(policy, iterations, kwargs.pop("learning_rate", 0.1), kwargs.pop("perturbation", 0.5),
                          kwargs.pop("noise", 0.0), kwargs.pop("seed", 0), dict(problem.parameters),
                          tuple(fitted or (*problem.parameters, *problem.weights)))


def fit(registry, integrator, problem, policy, optimizer="adam", **kwargs) -> TrainingResult:
    problem = registry.problems[problem] if isinstance(problem, str) else problem
    return measure_training(registry.integrators[integrator], problem, ReverseMode(), optimizer,
                            inputs(problem, policy, **kwargs))


def test_a_fit_with_exact_gradients_recovers_both_rates(registry):
    """radau-iia-5 at h = 1e-3 (|h k_fast| = 1 at the truth) is exact to rounding on linear-2mode: its gradient is
    the closed form's, and L-BFGS recovers k_fast and k_slow from a start 6 % and 6 % off to 1e-6."""
    r = fit(registry, "radau-iia-5", "linear-2mode", FixedStep(1e-3), "lbfgs", iterations=40)
    assert r.status == Status.OK and r.failed_at is None
    assert r.history is not None and r.final_rel_error is not None
    assert max(r.history.rel_error["k_fast"][0], r.history.rel_error["k_slow"][0]) > 0.05  # type: ignore[type-var]
    assert max(r.final_rel_error.values()) < 1e-6  # type: ignore[type-var]
    # The vector field at the reference states: y1' = −k_fast y1 and y2' = k_fast y1 − k_slow y2 carry both 6 % errors.
    assert r.history.field_error[0] > 0.01 and r.final_field_error is not None and r.final_field_error < 1e-6
    assert r.iterations_to_01pct is not None and all(v is not None for v in r.iterations_to_01pct.values())
    ratio = r.gradient_ratio("k_fast")
    assert ratio is not None and abs(ratio - 1) < 1e-6
    assert r.history.z_met[0] == pytest.approx(1e-3 * r.start["k_fast"], rel=1e-12)  # type: ignore[index]


@pytest.mark.parametrize("integrator", ["backward-euler", "trapezoid"])
def test_the_first_iteration_gradient_is_the_gradient_cells_sensitivity_through_the_loss(registry, integrator):
    """∂L/∂log θ_j = mean(2 (y − d)/s² · S_j), S from the gradient cell at the fit's starting parameters: the same
    number by two programs, at |h k_fast| ≈ 10 where trapezoid's gradient has the wrong sign."""
    problem = registry.problems["linear-2mode"]
    policy = FixedStep(0.01)
    r = fit(registry, integrator, problem, policy, iterations=1)
    start = setup(problem, inputs(problem, policy, iterations=1))
    params = {n: float(np.exp(start.start[LOG][j])) for j, n in enumerate(start.rates)}
    cell = measure_gradients(registry.integrators[integrator], dataclasses.replace(problem, parameters=params),
                             policy, [params["k_fast"]])
    row = cell.rows[0]
    assert row.ok and row.sensitivity is not None and r.history is not None
    residual = (np.asarray(row.ys) - start.data) / start.scale**2
    for name in ("k_fast", "k_slow"):
        expected = np.mean(2 * residual * np.asarray(row.sensitivity[name]))
        assert r.history.gradient[name][0] == pytest.approx(expected, rel=1e-10, abs=1e-300)
    assert r.history.loss[0] == pytest.approx(np.mean(((np.asarray(row.ys) - start.data) / start.scale) ** 2),
                                              rel=1e-12)
    ratio = r.gradient_ratio("k_fast")
    assert ratio is not None and (ratio < 0) == (integrator == "trapezoid")


def test_the_neural_problems_gradient_matches_central_differences(registry):
    """Every weight array and rate of robertson-neural: the reverse-mode gradient of the loss through
    backward-euler at fixed steps (a smooth discrete map, up to the Newton tolerance) along random directions,
    against central differences of the same loss."""
    problem = registry.problems["robertson-neural"]
    policy = FixedStep(0.01)
    spec = inputs(problem, policy)
    start = setup(problem, spec)
    loss = loss_function(registry.integrators["backward-euler"], problem, policy, start)
    value = jax.jit(lambda theta: loss(theta)[0])
    grad = jax.jit(jax.grad(lambda theta: loss(theta)[0]))
    g = grad(start.start)
    assert set(g) == {LOG, "W1", "b1", "W2"}
    rng, eps = np.random.default_rng(1), 1e-5
    for name in g:
        v = {k: jnp.zeros_like(x) for k, x in start.start.items()} | {
            name: jnp.asarray(rng.standard_normal(np.shape(start.start[name])))}
        plus = value(jax.tree.map(lambda x, d: x + eps * d, start.start, v))
        minus = value(jax.tree.map(lambda x, d: x - eps * d, start.start, v))
        directional = float(sum(jnp.vdot(g[k], v[k]) for k in g))
        assert directional == pytest.approx(float(plus - minus) / (2 * eps), rel=1e-6), name
    r = measure_training(registry.integrators["backward-euler"], problem, ReverseMode(), "adam", dataclasses.replace(
        spec, iterations=2))
    assert r.status == Status.OK and r.history is not None
    for name in ("W1", "b1", "W2"):  # the record's per-layer norm is the norm of that gradient
        assert r.history.gradient[name][0] == pytest.approx(float(jnp.linalg.norm(g[name])), rel=1e-10)
    assert r.history.gradient["k3"][0] == pytest.approx(float(g[LOG][2]), rel=1e-10)


def test_robertsons_start_gradient_agrees_with_the_forward_sensitivity_reference(registry):
    """robertson-40 at rtol 1e-8: the first iteration's ∂L/∂log θ through radau-iia-5 against the same loss
    gradient from SciPy's forward sensitivity equations at the start's rates."""
    r = fit(registry, "radau-iia-5", "robertson-40", AdaptiveStep(rtol=1e-8, atol=1e-14), iterations=1)
    assert r.status == Status.OK and r.start_gradient_reference is not None
    for name in ("k1", "k2", "k3"):
        ratio = r.gradient_ratio(name)
        assert ratio is not None and abs(ratio - 1) < 1e-4, (name, ratio)


@dataclasses.dataclass(frozen=True)
class Brittle(AbstractExactProblem):
    """linear-2mode whose vector field is NaN once k_slow exceeds ``limit``; its closed form is unaffected."""

    limit: float = 1.0
    name: str = "brittle"
    citation: str = "a test"
    parameters: dict = dataclasses.field(default_factory=lambda: {"k_fast": 1e3, "k_slow": 1.0})
    fast_parameters: tuple = ("k_fast",)
    t0: float = 0.0
    y0: tuple = (1.0, 0.0)
    ts: tuple = (0.25, 0.5, 1.0)
    stiffness: object = None
    exact: object = None

    def vector_field(self, t, y, params):
        broken = jnp.where(params["k_slow"] > self.limit, jnp.nan, 0.0)
        return self.exact.vector_field(t, y, params) + broken  # type: ignore[attr-defined]

    def solution(self, ts, params):
        return self.exact.solution(ts, params)  # type: ignore[attr-defined]

    def sensitivity(self, ts, params):
        return self.exact.sensitivity(ts, params)  # type: ignore[attr-defined]


def test_a_fit_whose_solve_fails_midway_records_the_iteration_and_keeps_what_it_had(registry):
    """The start has k_slow below the truth; the solve breaks just above the start, so the first update that moves
    k_slow towards the truth breaks it: iteration 1 fails, and the fit keeps the start's parameters."""
    two_mode = registry.problems["linear-2mode"]
    policy = FixedStep(0.01)
    start = setup(two_mode, inputs(two_mode, policy))
    k_slow = float(np.exp(start.start[LOG][1]))
    assert k_slow < 1.0
    problem = Brittle(limit=k_slow * 1.001, exact=two_mode, stiffness=two_mode.stiffness)
    r = fit(registry, "backward-euler", problem, policy, iterations=10)
    assert r.failed_at == 1 and r.status != Status.OK and r.message.startswith("iteration 1: ")
    assert r.history is not None and len(r.history.loss) == 2
    assert r.history.status[0] == Status.OK and r.history.status[1] == r.status
    assert r.final_loss == r.history.loss[0]
    assert r.final_rel_error == {n: r.history.rel_error[n][0] for n in ("k_fast", "k_slow")}


def test_a_rerun_gives_the_same_numbers_and_the_record_round_trips(registry):
    a = fit(registry, "backward-euler", "linear-2mode", FixedStep(0.25), iterations=5, noise=0.01, seed=3)
    b = fit(registry, "backward-euler", "linear-2mode", FixedStep(0.25), iterations=5, noise=0.01, seed=3)
    assert a.history == b.history and a.final_rel_error == b.final_rel_error and a.start == b.start
    c = fit(registry, "backward-euler", "linear-2mode", FixedStep(0.25), iterations=5, noise=0.01, seed=4)
    assert c.start != a.start
    document = json.loads(json.dumps(to_json(a)))
    assert from_json(TrainingResult, document) == a


def test_lbfgs_with_forward_mode_is_not_applicable(registry):
    problem = registry.problems["linear-2mode"]
    from stiffbench import ForwardMode

    with pytest.raises(NotImplementedError, match="L-BFGS"):
        measure_training(registry.integrators["backward-euler"], problem, ForwardMode(), "lbfgs",
                         inputs(problem, FixedStep(0.1)))
    r = measure_training(registry.integrators["backward-euler"], problem, ForwardMode(), "adam",
                         inputs(problem, FixedStep(0.1), iterations=2))
    reverse = fit(registry, "backward-euler", problem, FixedStep(0.1), iterations=2)
    assert r.history is not None and reverse.history is not None
    np.testing.assert_allclose(r.history.gradient["k_fast"], reverse.history.gradient["k_fast"], rtol=1e-10)


def test_fit_command_prints_records_and_a_table(capsys):
    code = main(["fit", "--integrator", "backward-euler", "--steps", "10", "--iterations", "3", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    document = json.loads(out)
    assert document["schema"] == "stiffbench.training/1" and len(document["results"]) == 1
    result = document["results"][0]
    assert result["key"]["coords"] == {"problem": "linear-2mode", "integrator": "backward-euler",
                                       "policy": "fixed-h0.1", "differentiation": "reverse", "optimizer": "adam"}
    assert len(result["history"]["loss"]) == 4
    assert main(["fit", "--integrator", "backward-euler", "--steps", "10", "--iterations", "3"]) == 0
    assert "training on linear-2mode" in capsys.readouterr().out


TRAINING_SWEEP = """
integrators = ["backward-euler"]
problems = []
[stability]
points = 8
angles = []
[training]
problems = ["linear-2mode"]
steps = [4, 100]
rtol = []
iterations = 3
"""


def test_a_run_with_training_cells_reports_them_and_compare_sees_a_worse_fit(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(TRAINING_SWEEP)
    run = tmp_path / "run"
    assert main(["run", "--config", str(config), "--out", str(run)]) == 0
    assert "training on linear-2mode" in capsys.readouterr().out
    report = (run / "report.md").read_text()
    assert "## Training" in report and "### linear-2mode" in report
    assert (run / "figures" / "training-linear-2mode.png").stat().st_size > 10_000
    assert (run / "figures" / "training-gradient-linear-2mode.png").stat().st_size > 10_000
    cell = run / "cells/training/linear-2mode/backward-euler/fixed-h0.01/reverse/adam.json"
    document = json.loads(cell.read_text())
    assert document["results"][0]["start_gradient_reference"]["k_fast"] == pytest.approx(
        document["results"][0]["history"]["gradient_exact"]["k_fast"][0], rel=1e-12)
    # Without a closed form (no exact gradient, no reference at the start) the figures still draw.
    records = [dataclasses.replace(r, start_gradient_reference=None, history=dataclasses.replace(
        r.history, gradient_exact=None)) for r in training_records(load_run(run))]
    assert history_figure(records, tmp_path / "history.png").stat().st_size > 10_000
    assert start_gradient_figure(records, tmp_path / "start.png") is not None
    worse = tmp_path / "worse"
    shutil.copytree(run, worse)
    result = json.loads((worse / cell.relative_to(run)).read_text())
    result["results"][0]["final_rel_error"]["k_slow"] *= 10
    (worse / cell.relative_to(run)).write_text(json.dumps(result))
    assert main(["compare", str(run), str(worse)]) == 1
    out = capsys.readouterr().out
    assert "final rel err k_slow" in out and "regressed" in out
