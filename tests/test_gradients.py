"""Gradient measurements: autodiff sensitivities through integrators against exact and reference values."""

from __future__ import annotations

import json

import numpy as np
import pytest

import stiffbench
from stiffbench import AdaptiveStep, FixedStep
from stiffbench._gradients import SCHEMA, gradient_record, measure_gradients
from stiffbench._records import dumps
from stiffbench._reference import _forward_sensitivity
from stiffbench.cli import main

FAST = ["backward-euler", "radau-iia-5", "sdirk-4", "rodas4", "diffrax-kvaerno5"]
STIFFNESS = [1.0, 30.0, 1e3, 1e5]


def _implicit_one_step(registry):
    return sorted(name for name, i in registry.integrators.items.items()
                  if i.theory is not None and i.family != "explicit"
                  and not isinstance(i, stiffbench.AbstractMultistepIntegrator))


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n in FAST else pytest.mark.slow)
                                  for n in _implicit_one_step(stiffbench.load_registry())])
def test_linear_fixed_step_gradient_equals_theory_prediction(registry, name):
    """n h R(z)^(n−1) R'(z) y0 (theory.md §2), at z = −0.01 … −1000: ≤ 1e-10 relative."""
    cells = measure_gradients(registry.integrators[name], registry.problems["linear"], STIFFNESS, FixedStep(0.01))
    for cell in cells:
        assert cell["status"] == "ok"
        assert cell["summary"]["max_rel_err_theory"] <= 1e-10, (cell["stiffness"], cell["summary"])
        assert cell["summary"]["z_met"] == pytest.approx(cell["stiffness"] * 0.01)


def test_theory_prediction_is_the_closed_form(registry):
    """The matrix-power prediction for backward Euler equals z·n·R^(n−1)·R' with R = 1/(1−z), by hand."""
    (cell,) = measure_gradients(registry.integrators["backward-euler"], registry.problems["linear"], [50.0],
                                FixedStep(0.01))
    z = -0.5
    n = np.array([25, 50, 100])
    expected = z * n * (1 / (1 - z)) ** (n - 1) / (1 - z) ** 2
    np.testing.assert_allclose(np.asarray(cell["theory"]["rate"])[:, 0], expected, rtol=1e-13)


def test_vanishing_gradient_is_visible_for_l_stable_not_for_trapezoid(registry):
    """At |hλ| = 100 the L-stable method's gradient collapses; the trapezoid's (R(∞) = −1) does not."""
    be, tr = (measure_gradients(registry.integrators[n], registry.problems["linear"], [1e4], FixedStep(0.01))[0]
              for n in ("backward-euler", "trapezoid"))
    assert be["summary"]["parameters"]["rate"]["norm"] < 1e-40
    assert tr["summary"]["parameters"]["rate"]["norm"] > 0.1


def test_forward_sensitivity_reference_matches_the_exact_one(registry):
    problem = registry.problems["linear"]
    names = list(problem.parameters)
    for rate in (1.0, 20.0):
        ys, S = _forward_sensitivity(problem, {"rate": rate}, names)
        ts = np.asarray(problem.ts)
        np.testing.assert_allclose(ys[:, 0], np.exp(-rate * ts), rtol=1e-9)
        np.testing.assert_allclose(S["rate"][:, 0], -rate * ts * np.exp(-rate * ts), rtol=1e-8)


def test_adaptive_gradient_meets_the_exact_sensitivity(registry):
    (cell,) = measure_gradients(registry.integrators["radau-iia-5"], registry.problems["linear"], [3.0],
                                AdaptiveStep(rtol=1e-10, atol=1e-14))
    assert cell["status"] == "ok" and cell["summary"]["max_rel_err"] <= 1e-8
    assert cell["summary"]["z_met_is_estimate"] and cell["cost"]["steps"] > 1


def test_a_failing_cell_is_recorded_and_json_stays_strict(registry):
    cells = measure_gradients(registry.integrators["bdf-2"], registry.problems["linear"], [1.0, 10.0],
                              AdaptiveStep(rtol=1e-6, atol=1e-9))
    assert [c["status"] for c in cells] == [
        "failed: NotImplementedError: bdf-2: fixed steps only (a variable-step BDF is not implemented)"] * 2
    record = json.loads(dumps(gradient_record(cells, {}, {})))
    assert record["schema"] == SCHEMA and record["results"][0]["summary"] is None


def test_stiffness_outside_the_valid_range_is_refused_before_compiling(registry):
    with pytest.raises(ValueError, match="outside"):
        measure_gradients(registry.integrators["backward-euler"], registry.problems["linear"], [-1.0],
                          FixedStep(0.1))


@pytest.mark.parametrize("argv, message", [
    (["gradients", "--dt", "0"], "positive finite number"),
    (["gradients", "--rtol", "0"], "positive finite number"),
    (["gradients", "--problem", "linear", "--stiffness", "-5"], "outside"),
    (["gradients", "--problem", "lineer"], "did you mean 'linear'"),
    (["gradients", "--dt", "0.1", "--rtol", "1e-6"], "not allowed with"),
])
def test_gradients_cli_refuses_bad_input(capsys, argv, message):
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    assert code == 2 and message in capsys.readouterr().err


def test_gradients_cli_json(capsys, tmp_path):
    out = tmp_path / "g.json"
    code = main(["gradients", "--problem", "linear", "--integrator", "backward-euler", "--stiffness", "1", "1e3",
                 "--dt", "0.1", "--json", "--out", str(out)])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record == json.loads(out.read_text())
    assert record["schema"] == "stiffbench.gradients/1" and len(record["results"]) == 2
    cell = record["results"][0]
    assert set(cell) >= {"problem", "integrator", "policy", "stiffness", "parameters", "status", "sensitivity",
                         "reference", "reference_source", "theory", "summary", "cost"}
    assert cell["policy"] == {"kind": "fixed", "h": 0.1} and cell["reference_source"].startswith("exact")


def test_forward_sensitivity_reference_reproduces_robertson_at_40(registry):
    """The host's tight reference against the problem's recorded y(40) (Radau at rtol 3e-14, cross-checked)."""
    problem = registry.problems["robertson-40"]
    ys, _ = _forward_sensitivity(problem, dict(problem.parameters), list(problem.parameters))
    np.testing.assert_allclose(ys[-1], problem.reference.ys[-1], rtol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["radau-iia-5", "rodas4", "diffrax-kvaerno5"])
def test_robertson_tight_adaptive_gradient_meets_the_reference(registry, name):
    """Measured 2.3e-10 (radau-iia-5), 1.8e-12 (rodas4), 8.7e-10 (diffrax-kvaerno5); compiling the adaptive
    gradient takes 25–40 s on two cores, hence slow."""
    (cell,) = measure_gradients(registry.integrators[name], registry.problems["robertson-40"], [3e7],
                                AdaptiveStep(rtol=1e-10, atol=1e-14))
    assert cell["status"] == "ok" and cell["summary"]["max_rel_err"] <= 1e-6


def test_cost_command_times_scipy_and_an_integrator(capsys):
    code = main(["cost", "--problem", "linear", "--integrator", "backward-euler", "--rtol", "1e-4", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["schema"] == "stiffbench.cost/1"
    rows = {row["solver"]: row for row in record["results"][0]["rows"]}
    assert set(rows) == {"scipy-radau", "scipy-bdf", "backward-euler"}
    assert rows["scipy-radau"]["run_ratio_to_scipy_radau"] == 1.0
    assert rows["backward-euler"]["status"] == "ok" and rows["backward-euler"]["max_rel_err"] < 1e-2
