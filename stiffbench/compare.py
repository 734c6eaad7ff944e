"""Two run directories compared: which metrics of numerical quality and cost moved beyond a tolerance.

Cells are matched by their key's label (``stability trapezoid``, ``gradients linear / trapezoid / fixed-h0.1``),
and a gradient cell's rows by the label and the stiffness value: an axis added to a family makes its cells
distinct here without a change to this module. Each metric has a direction, so a change is a regression, an
improvement, or, where no direction applies, a change:

- relative errors (``R``, ``R'``, per ``|z|`` decade; sensitivities and states against the reference and the
  theory; an adaptive solve's error): lower is better, compared by factor, ignoring values both below
  ``error_floor`` (roundoff moves with the machine);
- decay exponents: the distance of the computed exponent from the theory's, by absolute difference;
- gradient ratios ``‖S‖/‖S_ref‖``: by factor, better when closer to 1;
- failed points, and statuses (ok → anything else is a regression, one failure for another a change);
- run times of the stability sweep, the forward solve, the gradient and an adaptive solve: lower is better, by
  factor, when they also moved by more than ``time_floor_s``: the forward and gradient times are single runs
  of a few milliseconds, which a busy machine stretches several-fold (asv is the instrument for fine timing).
  Compile times are listed but never count as regressions: with JAX's persistent compilation cache they
  measure the state of the cache as much as the code;
- accepted steps: listed as changed, with no direction.

A work–precision cell is a unit (its status, its compile times where one program served every rung) and each of
its rungs another, matched by the rung's setting (``rtol=1e-06``, ``steps=1000``): the gradient and state errors
against the reference as errors, the forward and gradient times as run times, the rung's status and steps.

A training cell: its status, the final relative error of each fitted parameter, of the vector field and the final
loss as errors (a fit that lands further from the truth regressed), the iteration that failed, the run time of the
whole fit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any, final

from .contracts import Status
from .errors import UsageError
from .records import (
    CostResult,
    GradientResult,
    PrecisionResult,
    Record,
    StabilityGrid,
    StabilityResult,
    TrainingResult,
)
from .report.format import number
from .sweep import RunRecords


@final
@dataclasses.dataclass(frozen=True)
class Tolerances:
    error_factor: float = 2.0
    """A relative error must move by more than this factor (either way) to count."""
    error_floor: float = 1e-12
    """Errors both at or below this are roundoff: never a change."""
    exponent: float = 0.05
    """Decay exponents (and their distance from the theory) must move by more than this."""
    time_factor: float = 3.0
    time_floor_s: float = 0.01
    """Times must also move by more than this many seconds."""


@final
@dataclasses.dataclass(frozen=True)
class Change:
    cell: str
    """The key's label, with ``/ <stiffness parameter>=<value>`` for a row of a gradient cell."""
    metric: str
    a: Any
    b: Any
    change: str
    verdict: str  # "regressed" | "improved" | "changed"


@final
@dataclasses.dataclass(frozen=True)
class Comparison:
    changes: list[Change]
    """Regressions first, then improvements, then changes; by cell and metric within each."""
    n_metrics: int
    n_cells: int
    notes: list[str]
    """What was not compared or not comparable: cells only in one run, different inputs of the same cell."""


@final
@dataclasses.dataclass(frozen=True)
class _Metric:
    kind: str  # "error" | "deviation" | "exponent" | "ratio" | "count" | "status" | "time" | "compile" | "steps"
    value: Any


Metrics = dict[str, _Metric]
UNDIRECTED = ("exponent", "compile", "steps")
"""Kinds of metric that change but never regress or improve."""


def compare(a: RunRecords, b: RunRecords, tolerances: Tolerances = Tolerances()) -> Comparison:
    """The metrics that changed from ``a`` (the baseline) to ``b``.

    Raises :class:`~stiffbench.errors.UsageError` when the runs share no cell: there is nothing to compare, which
    is almost certainly the wrong pair of directories.
    """
    cells_a, cells_b = _cells(a), _cells(b)
    common = [key for key in cells_a if key in cells_b]
    if not common:
        raise UsageError(f"cannot compare: {a.directory} and {b.directory} have no cell in common "
                         f"({_summary(cells_a)} vs {_summary(cells_b)})")
    notes = []
    for run, mine, theirs in ((a, cells_a, cells_b), (b, cells_b, cells_a)):
        only = [key for key in mine if key not in theirs]
        if only:
            notes.append(f"{len(only)} cells only in {run.directory}, not compared: "
                         f"{', '.join(only[:5])}{', ...' if len(only) > 5 else ''}")
    notes += _input_notes(a, b)
    changes, n_metrics = [], 0
    for key in common:
        metrics_a, metrics_b = cells_a[key], cells_b[key]
        for name in metrics_a.keys() & metrics_b.keys():
            n_metrics += 1
            change = _judge(metrics_a[name], metrics_b[name], tolerances)
            if change is not None:
                changes.append(Change(key, name, metrics_a[name].value, metrics_b[name].value, *change))
    order = {"regressed": 0, "improved": 1, "changed": 2}
    changes.sort(key=lambda c: (order[c.verdict], c.cell, c.metric))
    return Comparison(changes, n_metrics, len(common), notes)


def _summary(cells: Mapping[str, Metrics]) -> str:
    if not cells:
        return "no measured cell"
    return f"{len(cells)} cells: {', '.join(list(cells)[:3])}{', ...' if len(cells) > 3 else ''}"


def _input_notes(a: RunRecords, b: RunRecords) -> list[str]:
    """The cells of both runs measured with different inputs: their metrics are compared, but cover different
    ground (another grid, another tolerance, other stiffness values)."""
    theirs: dict[str, Record] = {r.key.label: r for records in b.records.values() for r in records}
    grids: dict[tuple[StabilityGrid, StabilityGrid], None] = {}
    others: dict[str, list[str]] = {}
    for records in a.records.values():
        for record in records:
            other = theirs.get(record.key.label)
            if other is None or other.inputs == record.inputs:
                continue
            if isinstance(record, StabilityResult):
                grids[(record.inputs, other.inputs)] = None
            else:
                others.setdefault(record.key.kind, []).append(record.key.label)
    notes = [f"the stability grids differ ({_grid(ga)} vs {_grid(gb)}): worst errors and fitted exponents cover "
             "different points" for ga, gb in grids]
    notes += [f"{len(labels)} {kind} cells were measured with different inputs in the two runs: "
              f"{', '.join(labels[:5])}{', ...' if len(labels) > 5 else ''}" for kind, labels in others.items()]
    return notes


def _grid(grid: StabilityGrid) -> str:
    return (f"{grid.points} points per ray, |z| in [{number(grid.z_min)}, {number(grid.z_max)}], rays "
            f"{', '.join(f'{angle:g}°' for angle in grid.rays)}, tail {number(grid.tail)}")


def _cells(run: RunRecords) -> dict[str, Metrics]:
    """Every compared unit of the run (a cell, or a row of a gradient cell) by name, with its metrics."""
    precision = tuple(r for r in run.records.get("precision", ()) if isinstance(r, PrecisionResult))
    training = tuple(r for r in run.records.get("training", ()) if isinstance(r, TrainingResult))
    return (dict(_stability_cells(run.stability)) | dict(_gradient_cells(run.gradients))
            | dict(_cost_cells(run.cost)) | dict(_precision_cells(precision)) | dict(_training_cells(training)))


def _stability_cells(records: tuple[StabilityResult, ...]) -> Iterator[tuple[str, Metrics]]:
    for r in records:
        metrics = {"status": _Metric("status", r.status.label)}
        s = r.summary
        if s is not None:
            metrics |= {
                "failed points": _Metric("count", s.n_failed),
                "max rel err R": _Metric("error", s.max_rel_err_R),
                "max rel err R'": _Metric("error", s.max_rel_err_dR),
            }
            for level in s.agreement:
                metrics[f"max rel err R' |z|<={level.abs_z_max:g}"] = _Metric("error", level.max_rel_err_dR)
            for ray in s.rays:
                where = "" if ray.angle_deg == 0 else f" at {ray.angle_deg:g}°"
                theory, computed = ray.decay_exponent_theory, ray.decay_exponent_computed
                if theory is not None:
                    deviation = None if computed is None else abs(computed - theory)
                    metrics[f"decay exponent |computed - theory|{where}"] = _Metric("deviation", deviation)
                else:
                    metrics[f"decay exponent{where}"] = _Metric("exponent", computed)
        if r.cost is not None:
            metrics |= {"compile s": _Metric("compile", r.cost.compile_s), "run s": _Metric("time", r.cost.run_s)}
        yield r.key.label, metrics


def _gradient_cells(records: tuple[GradientResult, ...]) -> Iterator[tuple[str, Metrics]]:
    """A unit per cell (its status and its cost, measured once for all stiffness values) and one per row."""
    for c in records:
        cell = c.key.label
        metrics = {"status": _Metric("status", c.status.label)}
        if c.cost is not None:
            metrics |= {
                "compile forward s": _Metric("compile", c.cost.compile_forward_s),
                "compile gradient s": _Metric("compile", c.cost.compile_gradient_s),
                "forward s": _Metric("time", c.cost.forward_s),
                "gradient s": _Metric("time", c.cost.gradient_s),
            }
        yield cell, metrics
        for row in c.rows:
            metrics = {"status": _Metric("status", row.status.label)}
            if row.ok:
                metrics |= {"max rel err": _Metric("error", row.max_rel_err),
                            "max rel err ys": _Metric("error", row.max_rel_err_ys),
                            "max rel err vs theory": _Metric("error", row.max_rel_err_theory),
                            "steps": _Metric("steps", row.steps)}
                for name in c.fast_parameters:
                    fidelity = (row.fidelity or {}).get(name)
                    metrics[f"ratio |S|/|S_ref| {name}"] = _Metric("ratio", fidelity.ratio if fidelity else None)
            yield f"{cell} / {c.inputs.stiffness_parameter}={_value(row.stiffness)}", metrics


def _value(x: float) -> str:
    """``1000``, ``3e+07`` as the report's columns say it; in full where that would round (rows must not merge)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(x)


def _cost_cells(records: tuple[CostResult, ...]) -> Iterator[tuple[str, Metrics]]:
    for c in records:
        metrics = {"status": _Metric("status", c.status.label)}
        if c.status == Status.OK:
            metrics |= {"max rel err": _Metric("error", c.max_rel_err), "run s": _Metric("time", c.run_s),
                        "compile s": _Metric("compile", c.compile_s), "steps": _Metric("steps", c.steps)}
        yield c.key.label, metrics


def _precision_cells(records: tuple[PrecisionResult, ...]) -> Iterator[tuple[str, Metrics]]:
    """A unit per cell (its status; compile times where one program served the whole ladder) and one per rung."""
    for c in records:
        cell = c.key.label
        yield cell, {"status": _Metric("status", c.status.label),
                     "compile forward s": _Metric("compile", c.compile_forward_s),
                     "compile gradient s": _Metric("compile", c.compile_gradient_s)}
        for rung in c.rungs:
            metrics = {"status": _Metric("status", rung.status.label)}
            if rung.ok:
                metrics |= {"max rel err": _Metric("error", rung.error_gradient),
                            "max rel err ys": _Metric("error", rung.error_ys),
                            "forward s": _Metric("time", rung.forward_s),
                            "gradient s": _Metric("time", rung.gradient_s),
                            "compile s": _Metric("compile", rung.compile_s),
                            "steps": _Metric("steps", rung.steps)}
            yield f"{cell} / {c.ladder}={_value(rung.setting)}", metrics


def _training_cells(records: tuple[TrainingResult, ...]) -> Iterator[tuple[str, Metrics]]:
    for c in records:
        metrics = {"status": _Metric("status", c.status.label), "failed at iteration": _Metric("steps", c.failed_at),
                   "final loss": _Metric("error", c.final_loss),
                   "final field error": _Metric("error", c.final_field_error),
                   "run s": _Metric("time", c.run_s), "compile s": _Metric("compile", c.compile_s)}
        for name, error in (c.final_rel_error or {}).items():
            metrics[f"final rel err {name}"] = _Metric("error", error)
        yield c.key.label, metrics


def _judge(ma: _Metric, mb: _Metric, tol: Tolerances) -> tuple[str, str] | None:
    """``(change, verdict)`` when the metric moved beyond tolerance, else None."""
    a, b, kind = ma.value, mb.value, ma.kind
    if a == b:
        return None
    if kind == "status":
        ok = Status.OK.label
        return f"{a} -> {b}", "regressed" if a == ok else "improved" if b == ok else "changed"
    if a is None or b is None:  # a value lost (no ok point left, a non-finite result) or gained
        change = "lost" if b is None else "gained"
        if kind in UNDIRECTED:
            return change, "changed"
        return change, "regressed" if b is None else "improved"
    if kind in ("count", "steps"):
        verdict = "changed" if kind == "steps" else ("regressed" if b > a else "improved")
        return f"{b - a:+d}", verdict
    if kind in ("deviation", "exponent"):
        if abs(b - a) <= tol.exponent:
            return None
        return f"{b - a:+.3g}", "changed" if kind == "exponent" else ("regressed" if b > a else "improved")
    if kind == "ratio":
        if a <= 0 or b <= 0 or max(a / b, b / a) <= tol.error_factor:
            return None
        return f"x{b / a:.3g}", "regressed" if abs(math.log(b)) > abs(math.log(a)) else "improved"
    floor, factor = {"error": (tol.error_floor, tol.error_factor), "time": (tol.time_floor_s, tol.time_factor),
                     "compile": (tol.time_floor_s, tol.time_factor)}[kind]
    if max(a, b) <= floor or (min(a, b) > 0 and max(a / b, b / a) <= factor):
        return None
    if kind != "error" and abs(b - a) <= floor:
        return None
    change = f"x{b / a:.3g}" if a > 0 else f"{a:.3g} -> {b:.3g}"
    if kind == "compile":
        return change, "changed"
    return change, "regressed" if b > a else "improved"
