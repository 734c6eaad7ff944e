"""The report and the comparison of run directories, on the typed records.

Kept fast: one tiny run (two native integrators, the ``linear`` problem, two stiffness values, a few stability
points, one adaptive cost solve each with SciPy's Radau beside them), measured once per module; the tests that
need a changed run edit a copy of its directory or replace records in memory.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

import stiffbench
from stiffbench.compare import Tolerances, compare
from stiffbench.contracts import Status
from stiffbench.errors import UsageError
from stiffbench.records import CellKey, Environment, GradientResult, StabilityGrid
from stiffbench.report import render_markdown, write_report
from stiffbench.sweep import finish_run, load_run, make_plan, parse_config, read_cell, run_cells, start_run, write_cell

CONFIG = Path(__file__).with_name("tiny_sweep.toml").read_text() + """
[cost]
problems = ["linear"]
scipy = ["radau"]
repeats = 1
"""
INTEGRATORS = ("backward-euler", "trapezoid")
TRAPEZOID = "gradients linear / trapezoid / fixed-h0.1"


@pytest.fixture(scope="module")
def made_run(tmp_path_factory):
    """A complete run directory of the tiny configuration (2 stability, 2 gradient, 3 cost cells)."""
    stiffbench.configure()
    registry = stiffbench.load_registry()
    plan = make_plan(parse_config(CONFIG), registry)
    environment = Environment.current()
    directory = tmp_path_factory.mktemp("run") / "out"
    start_run(plan, directory, registry, environment, resume=False)
    run_cells(plan.cells, kept=lambda cell: read_cell(directory, cell),
              done=lambda record: write_cell(directory, record, environment))
    finish_run(load_run(directory))
    return directory


@pytest.fixture
def copy_run(made_run, tmp_path):
    def copy(name="copy"):
        return shutil.copytree(made_run, tmp_path / name)

    return copy


@pytest.fixture(scope="module")
def run(made_run):
    return load_run(made_run)


def replaced(run, kind, change):
    """The run with each record of ``kind`` passed through ``change`` (which may return several, or none)."""
    records = []
    for record in run.records[kind]:
        out = change(record)
        records += out if isinstance(out, list) else [out]
    return dataclasses.replace(run, records={**run.records, kind: tuple(records)})


def gradient(run, label):
    return next(c for c in run.gradients if c.key.label == label)


# -- report ------------------------------------------------------------------------------------------------


def test_report_writes_markdown_and_figures_and_drops_stale_figures(copy_run):
    directory = copy_run()
    (directory / "figures").mkdir()
    (directory / "figures" / "gradients-gone.png").write_bytes(b"stale")
    paths = write_report(load_run(directory))
    assert [p.relative_to(directory).as_posix() for p in paths] == [
        "report.md", "figures/stability.png", "figures/gradients-linear.png", "figures/cost.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths[1:])
    assert not (directory / "figures" / "gradients-gone.png").exists()
    report = (directory / "report.md").read_text()
    for name in INTEGRATORS:
        assert f"| `{name}` | Runge–Kutta |" in report  # the catalog row
    assert "### `linear` / `fixed-h0.1`: sensitivity to `rate`" in report
    assert "Fixed step h = 0.1." in report
    assert "incomplete" not in report and "None: every point and every cell succeeded." in report
    assert "![gradients-linear](figures/gradients-linear.png)" in report


def test_cost_section_gives_run_times_as_ratios_to_scipy_radau(run):
    report = render_markdown(run)
    section = report.split("## Adaptive solves against SciPy")[1]
    rows = {line.split(" | ")[0].strip("| `"): line.split(" | ") for line in section.splitlines()
            if line.startswith("| `")}
    assert set(rows) == {*INTEGRATORS, "scipy-radau"}
    assert rows["scipy-radau"][3] == "1"
    trapezoid = next(c for c in run.cost if c.solver == "trapezoid")
    radau = next(c for c in run.cost if c.solver == "scipy-radau")
    assert rows["trapezoid"][3] == f"{trapezoid.run_s / radau.run_s:.3g}"
    assert rows["trapezoid"][4] == str(trapezoid.steps)  # a count in full, not rounded


def test_a_failed_cell_and_a_failed_row_appear_among_the_failures(run):
    def fail(cell):
        if cell.key.label == TRAPEZOID:
            return GradientResult.failed(cell.key, cell.inputs, Status.ERROR, "RuntimeError: reference exploded")
        rows = tuple(dataclasses.replace(row, status=Status.NONFINITE, message=Status.NONFINITE.message)
                     if row.stiffness == 1000 else row for row in cell.rows)
        return dataclasses.replace(cell, rows=rows)

    report = render_markdown(replaced(run, "gradients", fail))
    failures = report.split("## Failures")[1]
    assert ("| gradients `linear` / `trapezoid` / `fixed-h0.1` | all stiffness values | "
            "RuntimeError: reference exploded |") in failures
    assert "| gradients `linear` / `backward-euler` / `fixed-h0.1` | rate = 1000 | non-finite values" in failures
    # the gradient tables say "failed" where there is no value, the rest stands
    assert "| `trapezoid` | failed | failed |" in report


def test_a_missing_cell_makes_the_report_say_incomplete_and_name_it(copy_run):
    directory = copy_run()
    (directory / "cells/stability/trapezoid.json").unlink()
    run = load_run(directory)
    assert not run.complete
    report = render_markdown(run)
    assert "**This run is incomplete**: 1 of its 7 planned cells" in report
    assert "`stability trapezoid`" in report
    assert "| `backward-euler` | Runge–Kutta |" in report  # what is there is still reported


def test_an_invalid_cell_file_is_named_rather_than_crashing(copy_run):
    directory = copy_run()
    (directory / "cells/gradients/linear/trapezoid/fixed-h0.1.json").write_text("{not json")
    run = load_run(directory)
    assert list(run.invalid) == ["cells/gradients/linear/trapezoid/fixed-h0.1.json"]
    write_report(run)
    report = (directory / "report.md").read_text()
    assert "| `cells/gradients/linear/trapezoid/fixed-h0.1.json` | " in report and "not valid JSON" in report
    assert "**This run is incomplete**" in report and f"`{TRAPEZOID}`" in report


def test_a_new_axis_gives_sections_of_its_own_without_a_change_to_the_report(run):
    """A differentiation-method axis after the policy: each method is a section of its own, titled by its label."""
    def methods(cell):
        return [dataclasses.replace(cell, key=CellKey(cell.key.kind, (*cell.key.coords, ("method", m))))
                for m in ("adjoint", "forward-mode")]

    report = render_markdown(replaced(run, "gradients", methods))
    for method in ("adjoint", "forward-mode"):
        assert f"### `linear` / `fixed-h0.1` / `{method}`: sensitivity to `rate`" in report
    assert report.count("| `trapezoid` | ") >= 2 * 4  # |S|, fidelity and errors per section, plus the catalog


# -- compare -----------------------------------------------------------------------------------------------


def test_a_run_compared_with_itself_has_no_change(run):
    result = compare(run, run)
    assert result.changes == [] and result.notes == []
    assert result.n_cells == 2 + 2 * 3 + 3  # stability; gradient cells and their rows; cost
    assert result.n_metrics > 50


def test_a_doubled_error_is_a_regression_beyond_a_tighter_tolerance(run):
    def double(cell):
        rows = tuple(dataclasses.replace(row, max_rel_err=2 * row.max_rel_err) if row.stiffness == 1 else row
                     for row in cell.rows)
        return dataclasses.replace(cell, rows=rows) if cell.key.label == TRAPEZOID else cell

    worse = replaced(run, "gradients", double)
    [change] = compare(run, worse, Tolerances(error_factor=1.5)).changes
    assert (change.cell, change.metric, change.change, change.verdict) == (
        f"{TRAPEZOID} / rate=1", "max rel err", "x2", "regressed")
    assert change.b == 2 * change.a
    assert compare(run, worse).changes == []  # the default tolerance is a factor of 2, exclusive
    [back] = compare(worse, run, Tolerances(error_factor=1.5)).changes
    assert back.verdict == "improved"


def test_a_failed_status_and_a_slower_solve_are_regressions(run):
    def fail(cell):
        rows = tuple(dataclasses.replace(row, status=Status.NONFINITE, message="nan") if row.stiffness == 1000
                     else row for row in cell.rows)
        return dataclasses.replace(cell, rows=rows) if cell.key.label == TRAPEZOID else cell

    def slow(cell):
        return dataclasses.replace(cell, run_s=cell.run_s + 1.0) if cell.solver == "trapezoid" else cell

    worse = replaced(replaced(run, "gradients", fail), "cost", slow)
    changes = {(c.cell, c.metric): c for c in compare(run, worse).changes}
    status = changes[(f"{TRAPEZOID} / rate=1000", "status")]
    assert (status.change, status.verdict) == ("ok -> nonfinite", "regressed")
    assert changes[("cost linear / trapezoid", "run s")].verdict == "regressed"
    assert all(c.verdict == "regressed" for c in changes.values())


def test_compile_times_are_listed_but_never_regress(run):
    def slow(cell):
        return dataclasses.replace(cell, compile_s=cell.compile_s * 10 + 1) if cell.solver == "trapezoid" else cell

    [change] = compare(run, replaced(run, "cost", slow)).changes
    assert (change.cell, change.metric, change.verdict) == ("cost linear / trapezoid", "compile s", "changed")


def test_runs_without_a_common_cell_are_refused(run):
    def rename(record):
        coords = tuple((axis, "radau-iia-5" if axis in ("integrator", "solver") else label)
                       for axis, label in record.key.coords)
        return dataclasses.replace(record, key=CellKey(record.key.kind, coords))

    other = run
    for kind in run.records:
        other = replaced(other, kind, rename)
    with pytest.raises(UsageError, match="no cell in common"):
        compare(run, other)


def test_cells_in_one_run_only_and_different_grids_are_noted(run):
    grid = StabilityGrid(points=9, angles=(), tail=1e3)
    other = replaced(run, "stability", lambda r: dataclasses.replace(r, inputs=grid))
    other = replaced(other, "cost", lambda c: [] if c.solver == "scipy-radau" else c)
    result = compare(run, other)
    assert len(result.notes) == 2
    only, grids = result.notes
    assert only.startswith("1 cells only in") and "cost linear / scipy-radau" in only
    assert "the stability grids differ (8 points per ray" in grids and "9 points per ray" in grids
    assert result.changes == []
