"""Gradient measurements: autodiff sensitivities through integrators against exact and reference values."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import stiffbench
from stiffbench import AdaptiveStep, FixedStep, Status
from stiffbench.cli import main
from stiffbench.measure import measure_gradients
from stiffbench.measure.gradients import gradient_inputs
from stiffbench.measure.references import forward_sensitivity
from stiffbench.records import Environment, GradientResult, RecordSet, dumps
from stiffbench.sweep import AxisValue, Cell, measure_cell
from stiffbench.sweep.plan import GRADIENTS

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
    result = measure_gradients(registry.integrators[name], registry.problems["linear"], FixedStep(0.01), STIFFNESS)
    assert result.status == Status.OK and [row.stiffness for row in result.rows] == STIFFNESS
    for row in result.rows:
        assert row.status == Status.OK
        assert row.max_rel_err_theory <= 1e-10, (row.stiffness, row.max_rel_err_theory)
        assert row.z_met == pytest.approx(row.stiffness * 0.01)


def test_theory_prediction_is_the_closed_form(registry):
    """The matrix-power prediction for backward Euler equals z·n·R^(n−1)·R' with R = 1/(1−z), by hand."""
    (row,) = measure_gradients(registry.integrators["backward-euler"], registry.problems["linear"], FixedStep(0.01),
                               [50.0]).rows
    z = -0.5
    n = np.array([25, 50, 100])
    expected = z * n * (1 / (1 - z)) ** (n - 1) / (1 - z) ** 2
    np.testing.assert_allclose(np.asarray(row.theory["rate"])[:, 0], expected, rtol=1e-13)


def test_vanishing_gradient_is_visible_for_l_stable_not_for_trapezoid(registry):
    """At |hλ| = 100 the L-stable method's gradient collapses; the trapezoid's (R(∞) = −1) does not."""
    be, tr = (measure_gradients(registry.integrators[n], registry.problems["linear"], FixedStep(0.01), [1e4]).rows[0]
              for n in ("backward-euler", "trapezoid"))
    assert be.fidelity["rate"].norm < 1e-40
    assert tr.fidelity["rate"].norm > 0.1


def test_forward_sensitivity_reference_matches_the_exact_one(registry):
    problem = registry.problems["linear"]
    names = list(problem.parameters)
    for rate in (1.0, 20.0):
        ys, S = forward_sensitivity(problem, {"rate": rate}, names)
        ts = np.asarray(problem.ts)
        np.testing.assert_allclose(ys[:, 0], np.exp(-rate * ts), rtol=1e-9)
        np.testing.assert_allclose(S["rate"][:, 0], -rate * ts * np.exp(-rate * ts), rtol=1e-8)


def test_adaptive_gradient_meets_the_exact_sensitivity(registry):
    result = measure_gradients(registry.integrators["radau-iia-5"], registry.problems["linear"],
                               AdaptiveStep(rtol=1e-10, atol=1e-14), [3.0])
    (row,) = result.rows
    assert row.status == Status.OK and row.max_rel_err <= 1e-8
    assert result.z_met_is_estimate and row.steps > 1


def test_a_failing_cell_is_recorded_and_json_stays_strict(registry):
    integrator, problem = registry.integrators["bdf-2"], registry.problems["linear"]
    policy = AdaptiveStep(rtol=1e-6, atol=1e-9)
    reason = "bdf-2: fixed steps only (a variable-step BDF is not implemented)"
    with pytest.raises(NotImplementedError, match=re.escape(reason)):  # the measurement raises ...
        measure_gradients(integrator, problem, policy, [1.0, 10.0])
    cell = Cell(GRADIENTS, (("problem", AxisValue(problem.name, problem)),
                            ("integrator", AxisValue(integrator.name, integrator)),
                            ("policy", AxisValue(policy.label, policy))),
                gradient_inputs(problem, policy, [1.0, 10.0]))
    result = measure_cell(cell)  # ... and the executor records the cell as not applicable, with the reason
    assert (result.status, result.message, result.rows) == (Status.NOT_APPLICABLE, f"not applicable: {reason}", ())
    record = json.loads(dumps(RecordSet(GradientResult, Environment.current(), (result,)).to_json()))
    assert record["schema"] == "stiffbench.gradients/2" == GradientResult.SCHEMA
    assert record["results"][0]["status"] == "not-applicable" and record["results"][0]["rows"] == []
    assert record["results"][0]["cost"] is None
    assert record["results"][0]["inputs"]["stiffness"] == [1.0, 10.0]
    assert RecordSet.from_json(GradientResult, record).results == (result,)


def test_stiffness_outside_the_valid_range_is_refused_before_compiling(registry):
    with pytest.raises(ValueError, match="outside"):
        measure_gradients(registry.integrators["backward-euler"], registry.problems["linear"], FixedStep(0.1),
                          [-1.0])


def test_gradients_cli_json(capsys, tmp_path):
    out = tmp_path / "g.json"
    code = main(["gradients", "--problem", "linear", "--integrator", "backward-euler", "--stiffness", "1", "1e3",
                 "--dt", "0.1", "--json", "--out", str(out)])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record == json.loads(out.read_text())
    assert record["schema"] == "stiffbench.gradients/2" and set(record) == {"schema", "environment", "results"}
    (cell,) = record["results"]  # one cell: problem x integrator x policy, a row per stiffness value
    assert set(cell) >= {"key", "inputs", "status", "message", "implementation", "ts", "fast_parameters",
                         "reference_source", "z_met_is_estimate", "cost", "rows"}
    assert cell["key"] == {"kind": "gradients",
                           "coords": {"problem": "linear", "integrator": "backward-euler", "policy": "fixed-h0.1"}}
    assert cell["inputs"] == {"policy": {"kind": "fixed", "h": 0.1}, "stiffness_parameter": "rate",
                              "stiffness": [1.0, 1e3]}
    assert cell["status"] == "ok" and cell["reference_source"].startswith("exact")
    assert [row["stiffness"] for row in cell["rows"]] == [1.0, 1e3]
    for row in cell["rows"]:
        assert set(row) >= {"stiffness", "parameters", "status", "ys", "sensitivity", "reference", "theory",
                            "fidelity", "max_rel_err", "max_rel_err_theory", "z_met", "steps"}
        assert row["status"] == "ok"
    assert set(cell["cost"]) == {"compile_forward_s", "compile_gradient_s", "forward_s", "gradient_s"}
    assert GradientResult.from_json(cell).rows[0].ok


def test_forward_sensitivity_reference_reproduces_robertson_at_40(registry):
    """The host's tight reference against the problem's recorded y(40) (Radau at rtol 3e-14, cross-checked)."""
    problem = registry.problems["robertson-40"]
    ys, _ = forward_sensitivity(problem, dict(problem.parameters), list(problem.parameters))
    np.testing.assert_allclose(ys[-1], problem.reference.ys[-1], rtol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["radau-iia-5", "rodas4", "diffrax-kvaerno5"])
def test_robertson_tight_adaptive_gradient_meets_the_reference(registry, name):
    """Measured 2.3e-10 (radau-iia-5), 1.8e-12 (rodas4), 8.7e-10 (diffrax-kvaerno5); compiling the adaptive
    gradient takes 25–40 s on two cores, hence slow."""
    (row,) = measure_gradients(registry.integrators[name], registry.problems["robertson-40"],
                               AdaptiveStep(rtol=1e-10, atol=1e-14), [3e7]).rows
    assert row.status == Status.OK and row.max_rel_err <= 1e-6


def test_cost_command_times_scipy_and_an_integrator(capsys):
    code = main(["cost", "--problem", "linear", "--integrator", "backward-euler", "--rtol", "1e-4", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["schema"] == "stiffbench.cost/2"
    rows = {row["key"]["coords"]["solver"]: row for row in record["results"]}  # one cell per solver
    assert set(rows) == {"scipy-radau", "scipy-bdf", "backward-euler"}
    assert {row["key"]["coords"]["problem"] for row in rows.values()} == {"linear"}
    # Ratios to SciPy's Radau are formed where the records are presented; the records hold the times.
    assert all(row["status"] == "ok" and row["run_s"] > 0 for row in rows.values())
    assert rows["backward-euler"]["max_rel_err"] < 1e-2
    assert rows["backward-euler"]["reference_source"].startswith("exact")
