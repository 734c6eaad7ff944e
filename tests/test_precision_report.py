"""The work–precision report and comparison, on records made by hand (no solve, no JAX compilation).

The synthetic run: on ``linear`` (exact reference) a converging ``rtol`` ladder, a stalling one, one with a
non-finite and a failed rung, a growing ``steps`` ladder and a cell that does not apply; on ``robertson`` (a
reference with an error estimate) a ladder that ends at the reference floor and a cell that failed as a whole.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from stiffbench.compare import Tolerances, compare
from stiffbench.contracts import AdaptiveStep, FixedStep, Status
from stiffbench.records import CellKey, Environment, PrecisionInputs, PrecisionResult, PrecisionRung
from stiffbench.records.common import Machine
from stiffbench.report import render_markdown, write_report
from stiffbench.report.precision import (
    CONVERGENCE_RULE,
    cheapest_to_reach,
    convergence,
    convergence_slope,
    convergence_verdict,
    failures_by_method,
)
from stiffbench.sweep import load_run, write_cell

MS = 1e-3
CONVERGING = "precision linear / radau-iia-5 / reverse / rtol"
STALLING = "precision linear / trapezoid / direct / rtol"
FAILED_RUNGS = "precision linear / trapezoid / reverse / rtol"
GROWING = "precision linear / backward-euler / direct / steps"
NOT_APPLICABLE = "precision linear / explicit-euler / reverse / rtol"
AT_FLOOR = "precision robertson / radau-iia-5 / reverse / rtol"
FAILED_CELL = "precision robertson / trapezoid / direct / rtol"


def key(problem, integrator, method, ladder):
    return CellKey("precision", (("problem", problem), ("integrator", integrator), ("differentiation", method),
                                 ("ladder", ladder)))


def rung(setting, ladder, error, ms, status=Status.OK):
    """A rung with gradient error ``error`` (the state error a tenth of it) and gradient time ``ms``."""
    policy = AdaptiveStep(rtol=setting, atol=1e-3 * setting) if ladder == "rtol" else FixedStep(1.0 / setting)
    if status != Status.OK:
        return PrecisionRung(setting, policy, status, status.message, forward_s=ms * MS, gradient_s=ms * MS)
    return PrecisionRung(setting, policy, Status.OK, "ok", error_ys=error / 10, error_gradient=error,
                         error_gradient_fast=error, gradient_finite=True, forward_s=ms * MS / 2,
                         gradient_s=ms * MS, steps=round(10 / setting) if ladder == "rtol" else int(setting),
                         rejected=0)


def cell(problem, integrator, method, ladder, rungs, status=Status.OK, message="ok", reference_error=None):
    inputs = PrecisionInputs(ladder, tuple(r[0] for r in rungs), 1e-3, {}, 1)
    return PrecisionResult(key(problem, integrator, method, ladder), inputs, status, message,
                           reference_error=reference_error,
                           rungs=tuple(rung(setting, ladder, *rest) for setting, *rest in rungs))


def records():
    rtols = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
    return [
        # error 0.5·rtol: slope 1, converges; the only cell to reach 1e-6 on linear
        cell("linear", "radau-iia-5", "reverse", "rtol", [(t, 0.5 * t, ms) for t, ms in zip(rtols, (1, 2, 4, 8, 16),
                                                                                           strict=True)]),
        # flat after the first rung: slope ~0.12, the last three within a factor 3
        cell("linear", "trapezoid", "direct", "rtol",
             [(1e-2, 1e-3, 0.5), (1e-3, 5e-4, 0.6), (1e-4, 4e-4, 0.8), (1e-5, 3.5e-4, 1.0), (1e-6, 3e-4, 1.5)]),
        # a non-finite and an errored rung among three ok ones of slope 1
        cell("linear", "trapezoid", "reverse", "rtol",
             [(1e-2, 2e-2, 0.3), (1e-3, 2e-3, 0.7), (1e-4, None, 1.0, Status.NONFINITE), (1e-5, 2e-5, 3.0),
              (1e-6, None, 5.0, Status.ERROR)]),
        # the finest rung 50× the smallest: grows
        cell("linear", "backward-euler", "direct", "steps",
             [(10, 1e-1, 0.1), (100, 1e-2, 0.2), (1000, 1e-3, 1.5), (10000, 5e-2, 10.0)]),
        cell("linear", "explicit-euler", "reverse", "rtol", [], Status.NOT_APPLICABLE,
             "explicit-euler cannot be differentiated by reverse"),
        # finest 2.5e-6 <= 3e-6: at the reference floor (it would converge without the estimate)
        cell("robertson", "radau-iia-5", "reverse", "rtol",
             [(1e-3, 1e-3, 2.0), (1e-4, 1e-5, 4.0), (1e-5, 2e-6, 8.0), (1e-6, 2.5e-6, 16.0)], reference_error=3e-6),
        cell("robertson", "trapezoid", "direct", "rtol", [], Status.ERROR, "RuntimeError: reference exploded"),
    ]


ENVIRONMENT = Environment(created="2025-01-01T00:00:00+00:00", python="3.11", packages={"stiffbench": "0"},
                          git_commit=None, machine=Machine(host="test", platform="test", processor="x86_64", cpus=1,
                                                           cpu_affinity=None, jax_backend="cpu", jax_devices=()),
                          runtime={})


def write_run(directory: Path, cells) -> Path:
    for record in cells:
        write_cell(directory, record, ENVIRONMENT)
    return directory


@pytest.fixture
def run(tmp_path):
    return load_run(write_run(tmp_path / "run", records()))


def by_label(run):
    return {c.key.label: c for c in run.records["precision"]}


def replaced_rungs(run, label, change):
    """The run with the rungs of the cell ``label`` passed through ``change``."""
    cells = tuple(dataclasses.replace(c, rungs=tuple(change(r) for r in c.rungs)) if c.key.label == label else c
                  for c in run.records["precision"])
    return dataclasses.replace(run, records={**run.records, "precision": cells})


def table(report: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table under ``heading``."""
    section = report.split(heading, 1)[1]
    rows, started = [], False
    for line in section.splitlines():
        if line.startswith("|"):
            started = True
            if not line.startswith("|---"):
                rows.append([c.strip() for c in line.strip("|").split(" | ")])
        elif started:
            break
    return rows[1:]


# -- the rules, pure -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("errors", "slope", "reference_error", "verdict"), [
    ([], None, None, "no ok rung"),
    ([1e-2, 1e-3, 1e-4], 1.0, None, "converges"),
    ([1e-2, 1e-3, 1e-4, 1.9e-4], 0.8, None, "converges"),  # the finest within 2× of the smallest
    ([1e-2, 1e-3, 2e-4, 1e-4, 3e-4], 0.8, None, "stalls"),  # 3× the smallest: not converging, not growing
    ([1e-3, 9e-4, 8e-4, 7e-4], 0.1, None, "stalls"),
    ([1e-3, 1e-4, 1e-5, 2e-4], 0.6, None, "grows"),  # 20× the smallest
    ([1e-3, 1e-4, 1e-5, 2e-4], 0.6, 3e-4, "at reference floor"),  # 2e-4 <= 3e-4
    ([1e-3, 1e-4, 1e-5, 2e-4], 0.6, 1e-4, "grows"),  # 2e-4 > 1e-4
    ([1e-2, 1e-3], None, None, "too few rungs"),
    ([1e-2, 1e-3, 1e-6, 1e-3], 2.0, None, "grows"),  # growth is checked before the slope
    ([1e-2, 1e-4, 1e-3, 1e-5, 9e-5], 0.9, None, "irregular"),  # 9× the smallest, the last three 100× apart
    ([1e-2, 1e-4, 1e-3, 1e-5, 2e-5], 0.3, None, "irregular"),
])
def test_convergence_verdict_rules(errors, slope, reference_error, verdict):
    assert convergence_verdict(errors, slope, reference_error) == verdict


def test_convergence_slope_is_the_least_squares_slope_in_log_log():
    assert convergence_slope([(1e-2, 5e-3), (1e-3, 5e-4), (1e-4, 5e-5)]) == pytest.approx(1.0)
    assert convergence_slope([(1e-1, 1e-2), (1e-2, 1e-4), (1e-3, 1e-6), (1e-4, 1e-8)]) == pytest.approx(2.0)
    assert convergence_slope([(1e-2, 5e-3), (1e-3, 5e-4)]) is None  # fewer than 3 rungs


def test_convergence_of_the_synthetic_cells(run):
    cells = by_label(run)
    got = {label: convergence(c) for label, c in cells.items() if c.status == Status.OK}
    assert {label: c.verdict for label, c in got.items()} == {
        CONVERGING: "converges", STALLING: "stalls", FAILED_RUNGS: "converges", GROWING: "grows",
        AT_FLOOR: "at reference floor"}
    assert got[CONVERGING].slope == pytest.approx(1.0)
    assert got[GROWING].slope is not None and got[GROWING].slope < 0.5  # the fit is in log(1/steps)
    assert got[STALLING].slope == pytest.approx(0.1201, abs=1e-3)
    assert (got[FAILED_RUNGS].ok, got[FAILED_RUNGS].total, got[FAILED_RUNGS].finest) == (3, 5, 2e-5)
    no_floor = dataclasses.replace(cells[AT_FLOOR], reference_error=None)
    assert convergence(no_floor).verdict == "converges"


def test_cheapest_to_reach_picks_the_fastest_cell_at_each_target(run):
    linear = [c for c in run.records["precision"] if c.problem == "linear"]

    def picks(target):
        return [(c.key.label, r.setting, r.gradient_s) for c, r in cheapest_to_reach(linear, target)]

    assert picks(1e-2) == [(GROWING, 100, 0.2 * MS), (STALLING, 1e-2, 0.5 * MS), (FAILED_RUNGS, 1e-3, 0.7 * MS),
                           (CONVERGING, 1e-2, 1 * MS)]
    assert picks(1e-4)[:2] == [(FAILED_RUNGS, 1e-5, 3 * MS), (CONVERGING, 1e-4, 4 * MS)]
    assert picks(1e-6) == [(CONVERGING, 1e-6, 16 * MS)]
    assert picks(1e-9) == []


def test_failures_by_method(run):
    failures = failures_by_method(run.records["precision"])
    assert list(failures) == ["direct", "reverse"]  # record order: by label where there is no plan
    reverse, direct = failures["reverse"], failures["direct"]
    assert (reverse.cells, reverse.not_applicable, reverse.failed_cells, reverse.rungs, reverse.ok) == (4, 1, 0, 14, 12)
    assert reverse.by_status == {"nonfinite": 1, "error": 1}
    assert (direct.cells, direct.not_applicable, direct.failed_cells, direct.rungs, direct.ok) == (3, 0, 1, 9, 9)
    assert direct.by_status == {}


# -- the report ------------------------------------------------------------------------------------------------


def test_report_has_the_work_precision_section_and_figures(run):
    paths = write_report(run)
    names = [p.relative_to(run.directory).as_posix() for p in paths]
    assert names == ["report.md", "figures/precision-gradient-rtol.png", "figures/precision-forward-rtol.png",
                     "figures/precision-gradient-steps.png", "figures/precision-forward-steps.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths[1:])
    report = paths[0].read_text()
    assert "## Work–precision" in report
    assert "![precision-gradient-rtol](figures/precision-gradient-rtol.png)" in report
    assert CONVERGENCE_RULE in report


def test_report_tables(run):
    report = render_markdown(run)
    convergence_rows = {(r[0], r[1], r[2], r[3]): r[4:] for r in table(report, "### Convergence")}
    assert convergence_rows == {
        ("`linear`", "`radau-iia-5`", "`reverse`", "rtol"): ["5/5", "1", "5e-07", "converges"],
        ("`linear`", "`trapezoid`", "`direct`", "rtol"): ["5/5", "0.12", "0.0003", "stalls"],
        ("`linear`", "`trapezoid`", "`reverse`", "rtol"): ["3/5", "1", "2e-05", "converges"],
        ("`linear`", "`backward-euler`", "`direct`", "steps"): ["4/4", "0.19", "0.05", "grows"],
        ("`robertson`", "`radau-iia-5`", "`reverse`", "rtol"): ["4/4", "0.851", "2.5e-06", "at reference floor"],
    }
    cheapest = {(r[0], r[1]): r[2:] for r in table(report, "### Cheapest to reach")}
    assert cheapest[("`linear`", "0.01")] == ["`backward-euler` / `direct` / 100 steps", "0.2",
                                              "`trapezoid` / `direct` / rtol = 0.01", "0.5"]
    assert cheapest[("`linear`", "0.0001")] == ["`trapezoid` / `reverse` / rtol = 1e-05", "3",
                                                "`radau-iia-5` / `reverse` / rtol = 0.0001", "4"]
    assert cheapest[("`linear`", "1e-06")] == ["`radau-iia-5` / `reverse` / rtol = 1e-06", "16", "none", "-"]
    assert cheapest[("`robertson`", "1e-06")] == ["none", "-", "none", "-"]
    assert cheapest[("`robertson`", "0.0001")] == ["`radau-iia-5` / `reverse` / rtol = 0.0001", "4", "none", "-"]
    failures = table(report, "### Failure rates by method")
    assert report.split("### Failure rates by method")[1].count("| nonfinite | error |") == 1  # Status order
    assert failures == [["`direct`", "3", "0", "1", "9", "9", "0", "0"],
                        ["`reverse`", "4", "1", "0", "14", "12", "1", "1"]]
    listed = report.split("## Failures")[1]
    assert "| precision `linear` / `trapezoid` / `reverse` / `rtol` | rtol = 0.0001 | non-finite values" in listed
    assert "| precision `robertson` / `trapezoid` / `direct` / `rtol` | all rungs | RuntimeError: reference " in listed


def test_no_precision_records_no_section(run):
    report = render_markdown(dataclasses.replace(run, records={}))
    assert "Work–precision" not in report and "precision" not in report


# -- compare ---------------------------------------------------------------------------------------------------


def test_a_run_compared_with_itself_has_no_change(run):
    result = compare(run, run)
    assert result.changes == []
    assert result.n_cells == 7 + 5 + 5 + 5 + 4 + 4  # the cells, and the rungs of the measured ones


def test_a_doubled_gradient_error_regresses_and_a_halved_one_improves(run):
    def scale(factor):
        def change(r):
            if r.setting != 1e-4 or not r.ok:
                return r
            return dataclasses.replace(r, error_gradient=factor * r.error_gradient)
        return change

    tolerances = Tolerances(error_factor=1.5)
    [worse] = compare(run, replaced_rungs(run, CONVERGING, scale(2.0)), tolerances).changes
    assert (worse.cell, worse.metric, worse.change, worse.verdict) == (
        f"{CONVERGING} / rtol=0.0001", "max rel err", "x2", "regressed")
    [better] = compare(run, replaced_rungs(run, CONVERGING, scale(0.5)), tolerances).changes
    assert (better.cell, better.metric, better.change, better.verdict) == (
        f"{CONVERGING} / rtol=0.0001", "max rel err", "x0.5", "improved")
    assert compare(run, replaced_rungs(run, CONVERGING, scale(2.0))).changes == []  # default: a factor 2, exclusive


def test_rung_status_state_error_and_slower_gradient_regress(run):
    def worse(r):
        if r.setting == 100:
            return dataclasses.replace(r, status=Status.NONFINITE, message="nan")
        if r.setting == 1000:
            return dataclasses.replace(r, error_ys=10 * r.error_ys, gradient_s=r.gradient_s + 1.0)
        return r

    changes = {(c.cell, c.metric): c for c in compare(run, replaced_rungs(run, GROWING, worse)).changes}
    assert set(changes) == {(f"{GROWING} / steps=100", "status"), (f"{GROWING} / steps=1000", "max rel err ys"),
                            (f"{GROWING} / steps=1000", "gradient s")}
    assert changes[(f"{GROWING} / steps=100", "status")].change == "ok -> nonfinite"
    assert all(c.verdict == "regressed" for c in changes.values())


def test_a_tiny_error_that_doubles_is_roundoff(run):
    def tiny(r):
        return dataclasses.replace(r, error_gradient=1e-13) if r.ok and r.setting == 1e-4 else r

    def tinier(r):
        return dataclasses.replace(r, error_gradient=2e-13) if r.ok and r.setting == 1e-4 else r

    a = replaced_rungs(run, CONVERGING, tiny)
    assert compare(a, replaced_rungs(run, CONVERGING, tinier), Tolerances(error_factor=1.5)).changes == []
