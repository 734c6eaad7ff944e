"""The main job: sweep configuration, plan, cells and resume, report from records, compare.

Kept fast: two native integrators, the ``linear`` problem, a few points. The run directory is made once per
module (``made_run``) and copied by the tests that change it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

import stiffbench
import stiffbench.cli
from stiffbench import sweep
from stiffbench.cli import main
from stiffbench.sweep import ConfigError, make_plan, parse_config
from stiffbench.sweep import plan as plan_module

CONFIG = Path(__file__).with_name("tiny_sweep.toml").read_text()
CELLS = ["cells/stability/backward-euler.json", "cells/stability/trapezoid.json",
         "cells/gradients/linear/backward-euler/fixed-h0.1.json", "cells/gradients/linear/trapezoid/fixed-h0.1.json"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def made_run(tmp_path_factory):
    """A complete run directory of the tiny configuration (2 stability cells, 2 gradient cells)."""
    base = tmp_path_factory.mktemp("run")
    (base / "sweep.toml").write_text(CONFIG)
    assert main(["run", "--config", str(base / "sweep.toml"), "--out", str(base / "out")]) == 0
    return base / "out"


@pytest.fixture
def copy_run(made_run, tmp_path):
    def copy(name="copy"):
        return shutil.copytree(made_run, tmp_path / name)

    return copy


@pytest.fixture
def measurements(monkeypatch):
    """Records which cells get measured, measuring them for real."""
    calls = []
    measure_stability, measure_gradients = plan_module.measure_stability, plan_module.measure_gradients

    def stability(integrator, *args, **kwargs):
        calls.append(("stability", integrator.name))
        return measure_stability(integrator, *args, **kwargs)

    def gradients(integrator, problem, *args, **kwargs):
        calls.append(("gradients", problem.name, integrator.name))
        return measure_gradients(integrator, problem, *args, **kwargs)

    monkeypatch.setattr(plan_module, "measure_stability", stability)
    monkeypatch.setattr(plan_module, "measure_gradients", gradients)
    return calls


@pytest.fixture
def no_measuring(monkeypatch):
    """Every measurement entry point raises: what still works reads records only."""
    def refuse(*args, **kwargs):
        raise AssertionError("a report or a comparison must not measure")

    for name in ("measure_stability", "measure_gradients", "measure_cost"):
        monkeypatch.setattr(plan_module, name, refuse)
    monkeypatch.setattr(stiffbench.sweep.execute, "measure_cell", refuse)
    monkeypatch.setattr(stiffbench.cli, "load_registry", refuse)


# -- configuration ----------------------------------------------------------------------------------------


def test_config_parses_and_round_trips():
    config = parse_config(CONFIG)
    assert config.integrators == ("backward-euler", "trapezoid") and config.problems == ("linear",)
    assert (config.stability.points, config.stability.angles, config.stability.z_max) == (8, (), 1e8)
    assert config.gradients.steps == (10,) and config.gradients.stiffness == {"linear": (1.0, 1000.0)}
    assert parse_config(sweep.config_to_toml(config)) == config
    assert parse_config("") == sweep.DEFAULT
    for quick_or_default in (sweep.QUICK, sweep.DEFAULT):
        assert parse_config(sweep.config_to_toml(quick_or_default)) == quick_or_default
    shipped = sweep.read_config(Path(__file__).parents[1] / "configs" / "work-precision.toml")
    assert shipped.precision.ladders == ("rtol", "steps") and "backsolve" in shipped.precision.differentiation
    assert parse_config(sweep.config_to_toml(shipped)) == shipped
    training = sweep.read_config(Path(__file__).parents[1] / "configs" / "training.toml")
    assert training.training.optimizers == ("adam", "lbfgs") and training.training.fit["robertson-neural"]
    assert training.training.policies_of("robertson-40").rtol == (1e-4, 1e-6) and not training.training.policies_of(
        "robertson-40").steps
    assert parse_config(sweep.config_to_toml(training)) == training
    plan = make_plan(training, stiffbench.load_registry())
    assert len(plan.of("training")) == 120 and len(plan.of("stability")) == 6
    capped = parse_config("[precision]\nproblems = ['linear']\nmax_steps = 500\n")
    assert capped.precision.max_steps == 500 and parse_config(sweep.config_to_toml(capped)) == capped


@pytest.mark.parametrize("text, message", [
    ("integrator = ['trapezoid']", "unknown key 'integrator' (did you mean 'integrators'?); valid keys at the top "
                                   "level: integrators, problems, stability, gradients, cost, precision"),
    ("[gradients]\nstifness_levels = 3", "unknown key 'gradients.stifness_levels' (did you mean 'stiffness_levels'?)"
                                         "; valid keys in [gradients]: steps, dt, rtol, atol, stiffness_levels, "
                                         "stiffness"),
    ("[stability]\nrays = [45]", "valid keys in [stability]: points, z_min, z_max, angles, tail"),
])
def test_unknown_key_names_the_key_and_the_valid_ones(text, message):
    with pytest.raises(ConfigError) as error:
        parse_config(text, "sweep.toml")
    assert message in str(error.value) and str(error.value).startswith("sweep.toml: ")


@pytest.mark.parametrize("text, message", [
    ("[stability]\npoints = 'many'", "stability.points must be an integer of at least 2, got str 'many'"),
    ("[stability]\nz_max = true", "stability.z_max must be a positive finite number, got bool True"),
    ("[stability]\nangles = [120.0]", "[stability]: angle arg(-z) must be in [0, 90]"),
    ("[stability]\ntail = 1e9", "leaves fewer than two of the 200 grid points"),
    ("integrators = 'trapezoid'", 'integrators must be "all" or a list of names'),
    ("[gradients]\nsteps = [0]", "gradients.steps must be a list of integers of at least 1"),
    ("[gradients]\nrtol = [-1e-6]", "gradients.rtol must be a list of positive finite numbers"),
    ("[gradients]\natol = 1e-9", "gradients.atol applies to adaptive policies only"),
    ("[gradients]\nstiffness = [1.0]", "gradients.stiffness must be a table of problem = [values]"),
    ("[cost]\nscipy = ['lsoda']", "unknown SciPy method(s) ['lsoda']"),
    ("stability = 3", "stability must be a table ([stability])"),
    ("integrators = [", "is not valid TOML"),
])
def test_wrong_types_are_refused(text, message):
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    assert message in str(error.value)


def test_the_plan_checks_names_and_values_against_the_registry(registry):
    with pytest.raises(stiffbench.UnknownNameError, match="did you mean 'trapezoid'"):
        make_plan(parse_config("integrators = ['trapezoidal']"), registry)
    with pytest.raises(ConfigError, match="outside"):
        make_plan(parse_config("problems = ['linear']\n[gradients.stiffness]\nlinear = [1e20]"), registry)
    with pytest.raises(ConfigError, match="no step policy"):
        make_plan(parse_config("problems = ['linear']\n[gradients]\nsteps = []"), registry)
    plan = make_plan(parse_config("integrators = ['trapezoid']\nproblems = []"), registry)
    assert not plan.of("gradients") and [c.key.label for c in plan.cells] == ["stability trapezoid"]


def test_cells_are_points_in_named_axes(registry):
    plan = make_plan(parse_config(CONFIG), registry)
    keys = [cell.key for cell in plan.of("gradients")]
    assert [k.coords for k in keys] == [
        (("problem", "linear"), ("integrator", i), ("policy", "fixed-h0.1")) for i in ("backward-euler", "trapezoid")]
    assert [k.path.as_posix() for k in keys] == CELLS[2:]
    two_policies = make_plan(parse_config(CONFIG.replace("steps = [10]", "steps = [10]\nrtol = [1e-6]")), registry)
    assert [c.key["policy"] for c in two_policies.of("gradients")] == [
        "fixed-h0.1", "adaptive-rtol1e-06-atol1e-12"] * 2


def test_the_default_sweep_takes_robertson_with_adaptive_steps_and_a_problem_may_have_policies_of_its_own(registry):
    plan = make_plan(sweep.DEFAULT, registry)
    policies = {(c["problem"].name, c.key["policy"]) for c in plan.of("gradients")}
    assert policies == {("linear-2mode", "fixed-h0.01"), ("robertson-40", "adaptive-rtol1e-06-atol1e-12")}
    assert len(plan.of("gradients")) == 2 * len(registry.integrators)
    # a problem the run does not measure keeps no policy in the effective configuration (its config.toml)
    only_linear = make_plan(dataclasses.replace(sweep.DEFAULT, problems=("linear",)), registry)
    assert only_linear.config.gradients.policies == {}
    assert parse_config(sweep.config_to_toml(only_linear.config)) == only_linear.config
    text = "problems = ['linear', 'robertson-40']\n[gradients]\nsteps = []\n[gradients.policies.robertson-40]\n"
    with pytest.raises(ConfigError, match="no step policy for the gradient cells"):
        make_plan(parse_config(text + "rtol = [1e-6]"), registry)  # linear has none
    mixed = make_plan(parse_config(text.replace("steps = []", "steps = [10]") + "steps = [1000]\nrtol = [1e-5]"),
                      registry)
    assert {c.key["policy"] for c in mixed.of("gradients") if c["problem"].name == "robertson-40"} == {
        "fixed-h0.04", "adaptive-rtol1e-05-atol1e-11"}
    with pytest.raises(stiffbench.UnknownNameError, match="did you mean 'robertson-40'"):
        make_plan(parse_config("[gradients.policies.robertson-4]\nrtol = [1e-6]"), registry)
    with pytest.raises(ConfigError, match=r"gradients\.policies\.linear sets no step policy"):
        parse_config("[gradients.policies.linear]\nrtol = []")
    with pytest.raises(ConfigError, match=r"unknown key .gradients\.policies\.linear\.rtoll."):
        parse_config("[gradients.policies.linear]\nrtoll = [1e-6]")


def test_quick_is_small_and_survives_a_disabled_plugin(registry):
    plan = make_plan(sweep.quick_config(registry), registry)
    stability = [cell["integrator"] for cell in plan.of("stability")]
    assert len(stability) == 7 and {c["problem"].name for c in plan.of("gradients")} == {"linear-2mode"}
    assert plan.config.gradients.stiffness["linear-2mode"] == (1.0, 100.0, 1000.0, 1e4, 1e6)
    assert {i.family for i in stability} >= {"Runge–Kutta", "Rosenbrock", "multistep", "explicit"}
    without_diffrax = stiffbench.load_registry(blocked=["diffrax"])
    assert [c.key["integrator"] for c in make_plan(sweep.quick_config(without_diffrax), without_diffrax)
            .of("stability")] == ["backward-euler", "trapezoid", "radau-iia-5", "bdf-2", "ros2"]
    with pytest.raises(stiffbench.UnknownNameError):  # a name the user typed is never dropped silently
        make_plan(dataclasses.replace(sweep.quick_config(registry), integrators=("radau-iia-55",)), registry)


def test_bad_config_file_exits_2_naming_the_key(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[gradients]\nstiffnes = {}\n")
    code, _, err = run(capsys, "run", "--config", path, "--out", tmp_path / "out")
    assert code == 2 and "unknown key 'gradients.stiffnes'" in err and not (tmp_path / "out").exists()
    code, _, err = run(capsys, "run", "--config", tmp_path / "missing.toml")
    assert code == 2 and "does not exist" in err


def test_dry_run_prints_the_effective_configuration(capsys, tmp_path):
    (tmp_path / "sweep.toml").write_text("integrators = ['trapezoid']\nproblems = ['linear']\n"
                                         "[gradients]\nstiffness_levels = 2\n")
    code, out, err = run(capsys, "run", "--config", tmp_path / "sweep.toml", "--dry-run")
    assert code == 0 and "1 stability, 1 gradients cells" in err
    assert parse_config(out).gradients.stiffness == {"linear": (1.0, 1e6)}  # both ends of the scan


# -- the run directory ----------------------------------------------------------------------------------


def test_run_writes_cells_combined_records_config_report_and_figures(made_run):
    names = {p.relative_to(made_run).as_posix() for p in made_run.rglob("*") if p.is_file()}
    assert names == {
        "config.toml", "environment.json", "catalog.json", "plan.json", "stability.json", "gradients.json",
        "report.md", *CELLS, "figures/stability.png", "figures/gradients-linear.png", "figures/cost.png",
    }
    stability = json.loads((made_run / "stability.json").read_text())
    assert stability["schema"] == "stiffbench.stability/2"
    assert [r["key"]["coords"]["integrator"] for r in stability["results"]] == ["backward-euler", "trapezoid"]
    assert len(stability["results"][0]["points"]["z"]) == 8
    gradients = json.loads((made_run / "gradients.json").read_text())
    assert gradients["schema"] == "stiffbench.gradients/2"
    assert [(c["key"]["coords"]["integrator"], [(r["stiffness"], r["status"]) for r in c["rows"]])
            for c in gradients["results"]] == [("backward-euler", [(1.0, "ok"), (1000.0, "ok")]),
                                               ("trapezoid", [(1.0, "ok"), (1000.0, "ok")])]
    assert all(set(c["cost"]) == {"compile_forward_s", "compile_gradient_s", "forward_s", "gradient_s"}
               for c in gradients["results"])  # stored once per cell, not per stiffness value
    # the effective configuration reproduces the plan exactly
    config, parsed = sweep.read_config(made_run / "config.toml"), parse_config(CONFIG)
    # the default's policy for robertson-40, a problem this run does not measure, is left out
    assert config == dataclasses.replace(parsed, problems=("linear",),
                                         gradients=dataclasses.replace(parsed.gradients, policies={}))
    assert json.loads((made_run / "environment.json").read_text()) == stability["environment"]
    catalog = json.loads((made_run / "catalog.json").read_text())
    assert catalog["schema"] == "stiffbench.catalog/2"
    assert [r["family"] for r in catalog["integrators"]] == ["Runge–Kutta", "Runge–Kutta"]
    report = (made_run / "report.md").read_text()
    assert "`trapezoid`" in report and "`backward-euler`" in report
    assert (made_run / "figures" / "stability.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_measures_only_the_missing_cell(capsys, copy_run, measurements):
    directory = copy_run()
    (directory / CELLS[3]).unlink()
    (directory / "gradients.json").unlink()
    code, _, err = run(capsys, "run", "--resume", directory)
    assert code == 0, err
    assert measurements == [("gradients", "linear", "trapezoid")]
    assert err.count("kept from the earlier run") == 3
    assert len(json.loads((directory / "gradients.json").read_text())["results"]) == 2


def test_resume_measures_again_a_cell_that_is_not_a_valid_record(capsys, copy_run, measurements):
    directory = copy_run()
    kept = json.loads((directory / CELLS[0]).read_text())
    (directory / CELLS[0]).write_text('{"schema": "stiffbench.stability/2", "results": [{"key": 3}]}')
    wrong_inputs = json.loads((directory / CELLS[2]).read_text())
    wrong_inputs["results"][0]["inputs"]["stiffness"] = [1.0]  # a cell of another configuration
    (directory / CELLS[2]).write_text(json.dumps(wrong_inputs))
    (directory / CELLS[3]).write_text("{ not json")
    code, _, err = run(capsys, "run", "--resume", directory)
    assert code == 0, err
    assert sorted(measurements) == [("gradients", "linear", "backward-euler"), ("gradients", "linear", "trapezoid"),
                                    ("stability", "backward-euler")]
    assert json.loads((directory / CELLS[0]).read_text())["results"][0]["key"] == kept["results"][0]["key"]


def test_a_run_missing_a_cell_on_any_axis_is_incomplete(capsys, tmp_path, registry):
    """Two step policies: losing the cell of one policy makes the run incomplete (it used to count as complete
    because the check looked at problem and integrator only)."""
    (tmp_path / "sweep.toml").write_text(CONFIG.replace('["backward-euler", "trapezoid"]', '["backward-euler"]')
                                         .replace("steps = [10]", "steps = [10, 20]"))
    assert main(["run", "--config", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "out")]) == 0
    assert sweep.load_run(tmp_path / "out").complete
    (tmp_path / "out" / "cells/gradients/linear/backward-euler/fixed-h0.05.json").unlink()
    (tmp_path / "out" / "gradients.json").unlink()
    run_records = sweep.load_run(tmp_path / "out")
    assert not run_records.complete
    assert [k.label for k in run_records.missing] == ["gradients linear / backward-euler / fixed-h0.05"]


def test_resume_with_a_different_configuration_is_refused(capsys, copy_run, tmp_path, measurements):
    directory = copy_run()
    (tmp_path / "other.toml").write_text(CONFIG.replace("points = 8", "points = 9"))
    code, _, err = run(capsys, "run", "--resume", directory, "--config", tmp_path / "other.toml")
    assert code == 2 and "refusing to resume" in err and "stability.points: 8 -> 9" in err
    code, _, err = run(capsys, "run", "--resume", directory, "--integrator", "trapezoid")
    assert code == 2 and "refusing to resume" in err and "integrators" in err
    code, _, err = run(capsys, "run", "--resume", tmp_path)  # not a run directory
    assert code == 2 and "holds no config.toml" in err
    assert measurements == []


def test_a_new_run_into_an_existing_run_directory_is_refused(capsys, copy_run, measurements):
    directory = copy_run()
    code, _, err = run(capsys, "run", "--config", directory / "config.toml", "--out", directory)
    assert code == 2 and "already holds a run; resume it with --resume" in err and measurements == []


def test_a_run_never_writes_into_a_directory_that_is_not_its_own(capsys, tmp_path, measurements):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my notes")
    (mine / "stability.json").write_text("{}")
    (tmp_path / "sweep.toml").write_text(CONFIG)
    code, _, err = run(capsys, "run", "--config", tmp_path / "sweep.toml", "--out", mine)
    assert code == 2 and "not an empty directory or a stiffbench run" in err
    assert (mine / "report.md").read_text() == "my notes" and sorted(p.name for p in mine.iterdir()) == [
        "report.md", "stability.json"]
    assert measurements == []


def test_a_failing_cell_is_recorded_and_the_run_goes_on(capsys, tmp_path, monkeypatch):
    measure_gradients = plan_module.measure_gradients

    def flaky(integrator, problem, *args):
        if integrator.name == "trapezoid":
            raise RuntimeError("reference solver exploded")
        return measure_gradients(integrator, problem, *args)

    monkeypatch.setattr(plan_module, "measure_gradients", flaky)
    (tmp_path / "sweep.toml").write_text(CONFIG)
    code, _, err = run(capsys, "run", "--config", tmp_path / "sweep.toml", "--out", tmp_path / "out")
    assert code == 0
    cells = json.loads((tmp_path / "out" / "gradients.json").read_text())["results"]
    assert [(c["key"]["coords"]["integrator"], c["status"], c["message"]) for c in cells] == [
        ("backward-euler", "ok", "ok"), ("trapezoid", "error", "RuntimeError: reference solver exploded")]
    assert "gradients linear / trapezoid / fixed-h0.1: RuntimeError: reference solver exploded" in err
    assert "reference solver exploded" in (tmp_path / "out" / "report.md").read_text()


# -- report and compare read records only -----------------------------------------------------------


def test_report_is_made_from_the_records_alone(capsys, copy_run, no_measuring):
    directory = copy_run()
    (directory / "report.md").unlink()
    shutil.rmtree(directory / "figures")
    (directory / "stability.json").unlink()  # cells suffice
    code, out, err = run(capsys, "report", directory)
    assert code == 0, err
    assert out.split() == [str(directory / "report.md"), *(str(directory / "figures" / f) for f in
                                                            ("stability.png", "gradients-linear.png", "cost.png"))]
    assert "`backward-euler`" in (directory / "report.md").read_text()


def test_report_of_an_interrupted_run_says_so(capsys, copy_run, no_measuring):
    directory = copy_run()
    (directory / CELLS[1]).unlink()
    (directory / "stability.json").unlink()
    code, _, err = run(capsys, "report", directory)
    assert code == 0 and "incomplete run (1 cells missing)" in err
    assert "incomplete" in (directory / "report.md").read_text()


def test_report_names_a_corrupt_cell_instead_of_crashing(capsys, copy_run, no_measuring):
    directory = copy_run()
    (directory / CELLS[2]).write_text('{"schema": "stiffbench.gradients/2", "environment": {}, "results": [1]}')
    (directory / "gradients.json").unlink()
    code, _, err = run(capsys, "report", directory)
    assert code == 0 and f"{CELLS[2]} is not a valid record" in err


def test_compare_identical_runs_says_so_in_one_line(capsys, made_run, no_measuring):
    code, out, _ = run(capsys, "compare", made_run, made_run)
    assert code == 0 and len(out.splitlines()) == 1 and out.startswith("no change beyond tolerance")


def _edit(path, change):
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_compare_a_regressed_metric_exits_nonzero(capsys, made_run, copy_run, no_measuring):
    directory = copy_run()

    def worse(record):
        record["results"][0]["summary"]["max_rel_err_dR"] = 1e-3

    def failed(record):
        record["results"][0]["rows"][1].update(status="nonlinear-solve-failed", message="did not converge")

    _edit(directory / CELLS[1], worse)
    _edit(directory / CELLS[2], failed)
    (directory / "stability.json").unlink()
    (directory / "gradients.json").unlink()
    code, out, _ = run(capsys, "compare", made_run, directory)
    assert code == 1
    lines = out.splitlines()
    assert any("stability trapezoid" in line and "max rel err R'" in line and "regressed" in line for line in lines)
    assert any("backward-euler / fixed-h0.1" in line and "1000" in line and "ok -> nonlinear-solve-failed" in line
               for line in lines)
    assert "2 regressed" in out
    code, out, _ = run(capsys, "compare", directory, made_run)  # the other way round it is an improvement
    assert code == 0 and "0 regressed" in out and "improved" in out


def test_compare_refuses_old_schemas_and_disjoint_cells(capsys, made_run, copy_run, tmp_path, no_measuring):
    old = copy_run("schema")
    for path in (old / "cells" / "stability").glob("*.json"):
        _edit(path, lambda record: record.update(schema="stiffbench.stability/1"))
    code, _, err = run(capsys, "compare", made_run, old)
    assert code == 2 and "'stiffbench.stability/1'" in err and "stiffbench run --config" in err

    disjoint = copy_run("disjoint")
    for path in (disjoint / "cells").rglob("*.json"):
        _edit(path, lambda record: record["results"][0]["key"]["coords"].update(integrator="radau-iia-5"))
    for path in disjoint.glob("*.json"):
        if path.name in ("stability.json", "gradients.json"):
            path.unlink()
    code, _, err = run(capsys, "compare", made_run, disjoint)
    assert code == 2 and "no cell in common" in err

    code, _, err = run(capsys, "compare", made_run, tmp_path / "nowhere")
    assert code == 2 and "does not exist" in err
