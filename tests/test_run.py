"""The main job: sweep configuration, cells and resume, report from records, compare.

Kept fast: two native integrators, the ``linear`` problem, a few points. The run directory is made once per
module (``made_run``) and copied by the tests that change it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

import stiffbench
from stiffbench import _run
from stiffbench._run import ConfigError, make_plan, parse_config
from stiffbench.cli import main

CONFIG = """
integrators = ["backward-euler", "trapezoid"]
problems = ["linear"]

[stability]
points = 8
angles = []

[gradients]
steps = [10]

[gradients.stiffness]
linear = [1.0, 1000.0]
"""


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
    stability_record, measure_gradients = _run.stability_record, _run.measure_gradients

    def stability(integrators, *args, **kwargs):
        calls.append(("stability", *(i.name for i in integrators)))
        return stability_record(integrators, *args, **kwargs)

    def gradients(integrator, problem, *args, **kwargs):
        calls.append(("gradients", problem.name, integrator.name))
        return measure_gradients(integrator, problem, *args, **kwargs)

    monkeypatch.setattr(_run, "stability_record", stability)
    monkeypatch.setattr(_run, "measure_gradients", gradients)
    return calls


@pytest.fixture
def no_measuring(monkeypatch):
    """Every measurement entry point raises: what still works reads records only."""
    def refuse(*args, **kwargs):
        raise AssertionError("a report or a comparison must not measure")

    for module, name in [(_run, "stability_record"), (_run, "measure_gradients"), (_run, "measure_cell"),
                         (stiffbench._stability, "measure_stability"), (stiffbench._stability, "computed_stability"),
                         (stiffbench._gradients, "measure_gradients"), (stiffbench.cli, "load_registry")]:
        monkeypatch.setattr(module, name, refuse)


# -- configuration ----------------------------------------------------------------------------------------


def test_config_parses_and_round_trips():
    config = parse_config(CONFIG)
    assert config.integrators == ("backward-euler", "trapezoid") and config.problems == ("linear",)
    assert (config.stability.points, config.stability.angles, config.stability.z_max) == (8, (), 1e8)
    assert config.gradients.steps == (10,) and config.gradients.stiffness == {"linear": (1.0, 1000.0)}
    assert parse_config(_run.config_to_toml(config)) == config
    assert parse_config("") == _run.DEFAULT
    for quick_or_default in (_run.QUICK, _run.DEFAULT):
        assert parse_config(_run.config_to_toml(quick_or_default)) == quick_or_default


@pytest.mark.parametrize("text, message", [
    ("integrator = ['trapezoid']", "unknown key 'integrator' (did you mean 'integrators'?); valid keys at the top "
                                   "level: integrators, problems, stability, gradients"),
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
    ("[stability]\nz_max = true", "stability.z_max must be a finite number, got bool True"),
    ("[stability]\nangles = [120.0]", "[stability]: angle arg(-z) must be in [0, 90]"),
    ("integrators = 'trapezoid'", 'integrators must be "all" or a list of names'),
    ("[gradients]\nsteps = [0]", "gradients.steps must be a list of integers of at least 1"),
    ("[gradients]\nrtol = [-1e-6]", "gradients.rtol must be a list of positive finite numbers"),
    ("[gradients]\nstiffness = [1.0]", "gradients.stiffness must be a table of problem = [values]"),
    ("stability = 3", "stability must be a table ([stability])"),
    ("integrators = [", "is not valid TOML"),
])
def test_wrong_types_are_refused(text, message):
    with pytest.raises(ConfigError, match=None) as error:
        parse_config(text)
    assert message in str(error.value)


def test_the_plan_checks_names_and_values_against_the_registry(registry):
    with pytest.raises(stiffbench.UnknownNameError, match="did you mean 'trapezoid'"):
        make_plan(parse_config("integrators = ['trapezoidal']"), registry)
    with pytest.raises(ValueError, match="outside"):
        make_plan(parse_config("problems = ['linear']\n[gradients.stiffness]\nlinear = [-1.0]"), registry)
    with pytest.raises(ConfigError, match="no step policy"):
        make_plan(parse_config("problems = ['linear']\n[gradients]\nsteps = []"), registry)
    plan = make_plan(parse_config("integrators = ['trapezoid']\nproblems = []"), registry)
    assert not plan.gradient_cells and len(plan.stability_cells) == 1


def test_quick_is_small_and_survives_a_disabled_plugin(registry):
    plan = make_plan(_run.quick_config(registry), registry)
    assert len(plan.integrators) == 7 and [p.name for p in plan.problems] == ["linear"]
    assert plan.config.gradients.stiffness["linear"] == (1.0, 100.0, 1000.0, 1e4, 1e6)
    assert {i.family for i in plan.integrators} >= {"Runge–Kutta", "Rosenbrock", "multistep", "explicit"}
    without_diffrax = stiffbench.load_registry(blocked=["diffrax"])
    assert [i.name for i in make_plan(_run.quick_config(without_diffrax), without_diffrax).integrators] == [
        "backward-euler", "trapezoid", "radau-iia-5", "bdf-2", "ros2"]
    with pytest.raises(stiffbench.UnknownNameError):  # a name the user typed is never dropped silently
        make_plan(dataclasses.replace(_run.quick_config(registry), integrators=("radau-iia-55",)), registry)


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
    assert code == 0 and "1 stability cells and 1 gradient cells" in err
    assert parse_config(out).gradients.stiffness == {"linear": (1.0, 1e6)}  # both ends of the scan


# -- the run directory ----------------------------------------------------------------------------------


def test_run_writes_cells_combined_records_config_report_and_figures(made_run):
    names = {p.relative_to(made_run).as_posix() for p in made_run.rglob("*") if p.is_file()}
    assert names == {
        "config.toml", "environment.json", "catalog.json", "stability.json", "gradients.json", "report.md",
        "cells/stability/backward-euler.json", "cells/stability/trapezoid.json",
        "cells/gradients/linear/backward-euler/fixed-h0.1.json", "cells/gradients/linear/trapezoid/fixed-h0.1.json",
        "figures/stability.png", "figures/gradients-linear.png", "figures/cost.png",
    }
    stability = json.loads((made_run / "stability.json").read_text())
    assert stability["schema"] == "stiffbench.stability/1"
    assert [r["integrator"] for r in stability["results"]] == ["backward-euler", "trapezoid"]
    assert len(stability["results"][0]["points"]) == 8
    gradients = json.loads((made_run / "gradients.json").read_text())
    assert gradients["schema"] == "stiffbench.gradients/1"
    assert [(c["integrator"], c["stiffness"], c["status"]) for c in gradients["results"]] == [
        ("backward-euler", 1.0, "ok"), ("backward-euler", 1000.0, "ok"),
        ("trapezoid", 1.0, "ok"), ("trapezoid", 1000.0, "ok")]
    # the effective configuration reproduces the plan exactly
    config = _run.read_config(made_run / "config.toml")
    assert config == dataclasses.replace(parse_config(CONFIG), problems=("linear",))
    assert json.loads((made_run / "environment.json").read_text()) == stability["environment"]
    catalog = json.loads((made_run / "catalog.json").read_text())
    assert [r["family"] for r in catalog["integrators"]] == ["Runge–Kutta", "Runge–Kutta"]
    report = (made_run / "report.md").read_text()
    assert "## Catalog and stability agreement" in report and "`trapezoid`" in report
    assert (made_run / "figures" / "stability.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_measures_only_the_missing_cell(capsys, copy_run, measurements):
    directory = copy_run()
    (directory / "cells/gradients/linear/trapezoid/fixed-h0.1.json").unlink()
    (directory / "gradients.json").unlink()
    code, out, err = run(capsys, "run", "--resume", directory)
    assert code == 0, err
    assert measurements == [("gradients", "linear", "trapezoid")]
    assert err.count("kept from the earlier run") == 3 and "1 cells measured (3 kept" in out
    assert len(json.loads((directory / "gradients.json").read_text())["results"]) == 4


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


def test_a_failing_cell_is_recorded_and_the_run_goes_on(capsys, tmp_path, monkeypatch):
    measure_gradients = _run.measure_gradients

    def flaky(integrator, problem, *args):
        if integrator.name == "trapezoid":
            raise RuntimeError("reference solver exploded")
        return measure_gradients(integrator, problem, *args)

    monkeypatch.setattr(_run, "measure_gradients", flaky)
    (tmp_path / "sweep.toml").write_text(CONFIG)
    code, _, err = run(capsys, "run", "--config", tmp_path / "sweep.toml", "--out", tmp_path / "out")
    assert code == 0
    cells = json.loads((tmp_path / "out" / "gradients.json").read_text())["results"]
    assert {(c["integrator"], c["status"]) for c in cells} == {
        ("backward-euler", "ok"), ("trapezoid", "failed: RuntimeError: reference solver exploded")}
    assert "0/2 ok; failed: RuntimeError: reference solver exploded" in err
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Failures" in report and "reference solver exploded" in report


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
    (directory / "cells/stability/trapezoid.json").unlink()
    (directory / "stability.json").unlink()
    code, _, err = run(capsys, "report", directory)
    assert code == 0 and "incomplete run" in err
    assert "**This run is incomplete**" in (directory / "report.md").read_text()


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
        record["results"][1]["status"] = "failed: RuntimeError: boom"

    _edit(directory / "cells/stability/trapezoid.json", worse)
    _edit(directory / "cells/gradients/linear/backward-euler/fixed-h0.1.json", failed)
    code, out, _ = run(capsys, "compare", made_run, directory)
    assert code == 1
    lines = out.splitlines()
    assert any("stability trapezoid" in line and "max rel err R'" in line and "regressed" in line for line in lines)
    assert any("backward-euler / fixed-h0.1 / rate=1000" in line and "ok -> failed" in line for line in lines)
    assert "2 regressed" in out
    code, out, _ = run(capsys, "compare", directory, made_run)  # the other way round it is an improvement
    assert code == 0 and "0 regressed" in out and "improved" in out


def test_compare_refuses_different_schemas_and_disjoint_cells(capsys, made_run, copy_run, tmp_path, no_measuring):
    other = copy_run("schema")
    for path in (other / "cells" / "stability").glob("*.json"):
        _edit(path, lambda record: record.update(schema="stiffbench.stability/2"))
    code, _, err = run(capsys, "compare", made_run, other)
    assert code == 2 and "schema 'stiffbench.stability/1'" in err and "'stiffbench.stability/2'" in err

    disjoint = copy_run("disjoint")
    for path in (disjoint / "cells").rglob("*.json"):
        _edit(path, lambda record: [r.update(integrator="radau-iia-5") for r in record["results"]])
    code, _, err = run(capsys, "compare", made_run, disjoint)
    assert code == 2 and "no cell in common" in err

    code, _, err = run(capsys, "compare", made_run, tmp_path / "nowhere")
    assert code == 2 and "does not exist" in err
