"""The work–precision section of ``report.md``: convergence of each ladder (a slope and a verdict), the cheapest
integrator × method to reach a gradient error, failure rates by differentiation method. Pure functions of the
precision records; :mod:`.markdown` places the section, :mod:`.figures` and :mod:`.terminal` reuse the verdicts."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Sequence

from ..contracts import Status
from ..records import LADDERS, PrecisionResult, PrecisionRung
from ..sweep import RunRecords
from .format import MISSING, count, fraction, markdown_table, milliseconds, number

PRECISION_TARGETS = (1e-2, 1e-4, 1e-6)
"""Gradient errors of the "cheapest to reach" table."""
FLOOR_FACTOR = 1.0
"""Errors at or below this multiple of the reference's error estimate are at the reference's floor. The estimate is
the distance to a reference computed at a 100× looser tolerance; if the reference's error shrinks with its
tolerance, its own error is about 1/100 of that, so an error below the estimate is within 100× of the reference's."""
MIN_FIT_RUNGS = 3
"""Fewest ok rungs a convergence slope is fitted over."""
CONVERGES_SLOPE = 0.5
"""Slope of log error against log rtol (or log 1/steps) from which a ladder converges ..."""
NEAR_SMALLEST = 2.0
"""... if its finest error is also within this factor of its smallest."""
GROWS_FACTOR = 10.0
"""A finest error more than this factor above the smallest: the error grows as the ladder tightens."""
STALL_SPREAD = 3.0
"""The last three errors within this factor of each other: the error stalls."""


def precision_records(run: RunRecords) -> tuple[PrecisionResult, ...]:
    """The run's work–precision cells, in plan order."""
    return tuple(r for r in run.records.get("precision", ()) if isinstance(r, PrecisionResult))


def precision_label(cell: PrecisionResult) -> str:
    """``radau-iia-5 / reverse``: a line of a work–precision diagram."""
    return f"{cell.integrator} / {cell.differentiation}"


def ladders(cells: Iterable[PrecisionResult]) -> list[str]:
    """The ladders the cells use: ``rtol`` before ``steps``."""
    found = list(dict.fromkeys(c.ladder for c in cells))
    return sorted(found, key=lambda ladder: LADDERS.index(ladder) if ladder in LADDERS else len(LADDERS))


def ladder_x(ladder: str, setting: float) -> float:
    """The abscissa of the convergence fit: the rung's ``rtol``, or ``1/steps`` (the step as a fraction of the
    time span) — loose rungs to the right either way, so that a converging ladder has a positive slope."""
    return 1.0 / setting if ladder == "steps" else setting


def convergence_points(cell: PrecisionResult) -> list[tuple[float, float]]:
    """``(ladder_x, error_gradient)`` of the ok rungs with a positive gradient error, loosest first."""
    points = [(ladder_x(cell.ladder, r.setting), r.error_gradient) for r in cell.rungs
              if r.ok and r.error_gradient is not None and r.error_gradient > 0 and r.setting > 0]
    return sorted(points, key=lambda point: -point[0])


def convergence_slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``log10(error)`` against ``log10(x)``; None below ``MIN_FIT_RUNGS`` points (or
    where every ``x`` is the same)."""
    if len(points) < MIN_FIT_RUNGS:
        return None
    try:
        return statistics.linear_regression([math.log10(x) for x, _ in points],
                                            [math.log10(e) for _, e in points]).slope
    except statistics.StatisticsError:
        return None


CONVERGENCE_RULE = (
    f"Slope: least-squares slope of log10(gradient error) against log10(rtol) (`rtol` ladders) or log10(1/steps) "
    f"(`steps` ladders) over the ok rungs, from {MIN_FIT_RUNGS} of them; finest: the error of the finest ok rung; "
    f"the verdict is the first of these that holds: *at reference floor* if the finest error is at most "
    f"{FLOOR_FACTOR:g} × the reference's error estimate (its distance to a reference 100× looser: an error below "
    f"it is within about 100× of the reference's own), *grows* if it is more than {GROWS_FACTOR:g} × the "
    f"smallest error of the ladder, *too few rungs* below {MIN_FIT_RUNGS} ok rungs, *converges* if the slope is at "
    f"least {CONVERGES_SLOPE:g} and the finest error within {NEAR_SMALLEST:g} × the smallest, *stalls* if the last "
    f"three errors are within a factor {STALL_SPREAD:g} of each other, *irregular* otherwise.")


def convergence_verdict(errors: Sequence[float], slope: float | None, reference_error: float | None) -> str:
    """The verdict on a ladder from its ok rungs' gradient errors (positive, loosest first), their fitted slope
    and the reference's own error estimate: the first rule of :data:`CONVERGENCE_RULE` that holds."""
    if not errors:
        return "no ok rung"
    finest, smallest = errors[-1], min(errors)
    if reference_error is not None and finest <= FLOOR_FACTOR * reference_error:
        return "at reference floor"
    if finest > GROWS_FACTOR * smallest:
        return "grows"
    if slope is None or len(errors) < MIN_FIT_RUNGS:
        return "too few rungs"
    if slope >= CONVERGES_SLOPE and finest <= NEAR_SMALLEST * smallest:
        return "converges"
    last = errors[-3:]
    if max(last) <= STALL_SPREAD * min(last):
        return "stalls"
    return "irregular"


@dataclasses.dataclass(frozen=True)
class Convergence:
    """A work–precision cell's gradient error as its ladder tightens."""

    ok: int
    total: int
    slope: float | None
    finest: float | None
    """The gradient error of the finest ok rung."""
    verdict: str


def convergence(cell: PrecisionResult) -> Convergence:
    points = convergence_points(cell)
    errors = [e for _, e in points]
    slope = convergence_slope(points)
    return Convergence(ok=sum(r.ok for r in cell.rungs), total=len(cell.rungs), slope=slope,
                       finest=errors[-1] if errors else None,
                       verdict=convergence_verdict(errors, slope, cell.reference_error))


def cheapest_to_reach(cells: Iterable[PrecisionResult],
                      target: float) -> list[tuple[PrecisionResult, PrecisionRung]]:
    """Each cell's cheapest ok rung (smallest ``gradient_s``) with ``error_gradient <= target``, the cells ordered
    by that time, cheapest first (ties in record order); cells with no such rung are left out."""
    reached = []
    for cell in cells:
        rungs = [r for r in cell.rungs if r.ok and r.gradient_s is not None and r.error_gradient is not None
                 and r.error_gradient <= target]
        if rungs:
            reached.append((cell, min(rungs, key=lambda r: r.gradient_s or 0.0)))
    return sorted(reached, key=lambda found: found[1].gradient_s or 0.0)


@dataclasses.dataclass(frozen=True)
class MethodFailures:
    """How the rungs and cells of one differentiation method went."""

    cells: int = 0
    not_applicable: int = 0
    failed_cells: int = 0
    """Cells that failed as a whole (no rung measured), not counting those that do not apply."""
    rungs: int = 0
    ok: int = 0
    by_status: dict[str, int] = dataclasses.field(default_factory=dict)
    """Rungs per non-ok status label."""


def failures_by_method(cells: Iterable[PrecisionResult]) -> dict[str, MethodFailures]:
    """Rungs measured, ok and failed per status, and cells not applicable or failed, per differentiation method
    (methods in record order)."""
    out: dict[str, MethodFailures] = {}
    for cell in cells:
        f = out.get(cell.differentiation, MethodFailures())
        by_status = dict(f.by_status)
        for rung in cell.rungs:
            if not rung.ok:
                by_status[rung.status.label] = by_status.get(rung.status.label, 0) + 1
        out[cell.differentiation] = MethodFailures(
            cells=f.cells + 1, not_applicable=f.not_applicable + (cell.status == Status.NOT_APPLICABLE),
            failed_cells=f.failed_cells + (cell.status not in (Status.OK, Status.NOT_APPLICABLE)),
            rungs=f.rungs + len(cell.rungs), ok=f.ok + sum(r.ok for r in cell.rungs), by_status=by_status)
    return out


def rung_name(ladder: str, setting: float) -> str:
    """``rtol = 1e-06``, ``1000 steps``."""
    return f"{count(round(setting))} steps" if ladder == "steps" else f"{ladder} = {number(setting)}"


def precision_section(run: RunRecords) -> list[str]:
    cells = precision_records(run)
    if not cells:
        return []
    lines = ["## Work–precision", "",
             "Each cell differentiates one integrator one way (the method) on one problem across a ladder of "
             "relative tolerances (`rtol`, with `atol` tied to it) or of fixed step counts (`steps`). Every rung is "
             "measured against the problem's reference: the gradient error is the worst parameter's relative error "
             "of `∂y/∂log θ`, the forward error that of the states; times are compiled runs (the best of a few), "
             "compilation excluded. The diagrams are under Figures: `precision-gradient-<ladder>.png` (gradient "
             "error against gradient time) and `precision-forward-<ladder>.png` (state error against forward time), "
             f"a panel per problem, markers at the ok rungs; the dotted line of the gradient diagrams is "
             f"{FLOOR_FACTOR:g} × the reference's error estimate (its distance to a reference computed 100× more "
             "loosely; the reference floor), below which an error measures the reference as much as the "
             "integrator."]
    lines += ["", *_convergence_table(cells), "", *_cheapest_table(cells), "", *_precision_failure_table(cells)]
    return lines


def _convergence_table(cells: Sequence[PrecisionResult]) -> list[str]:
    problems = list(dict.fromkeys(c.problem for c in cells))
    measured = sorted((c for c in cells if c.status == Status.OK), key=lambda c: problems.index(c.problem))
    rows = []
    for c in measured:
        conv = convergence(c)
        rows.append([f"`{c.problem}`", f"`{c.integrator}`", f"`{c.differentiation}`", c.ladder,
                     fraction(conv.ok, conv.total), number(conv.slope), number(conv.finest), conv.verdict])
    if not rows:
        return ["### Convergence", "", "No cell was measured (see the failure rates below)."]
    return ["### Convergence", "",
            *markdown_table(["problem", "integrator", "method", "ladder", "ok rungs", "slope", "finest error",
                             "verdict"], rows),
            "", CONVERGENCE_RULE + " Cells that were not measured are left out (see the failure rates below)."]


def _cheapest_table(cells: Sequence[PrecisionResult]) -> list[str]:
    def name(found: tuple[PrecisionResult, PrecisionRung] | None) -> tuple[str, str]:
        if found is None:
            return "none", MISSING
        cell, rung = found
        return (f"`{cell.integrator}` / `{cell.differentiation}` / {rung_name(cell.ladder, rung.setting)}",
                milliseconds(rung.gradient_s))

    rows = []
    for problem in dict.fromkeys(c.problem for c in cells):
        for target in PRECISION_TARGETS:
            reached = cheapest_to_reach((c for c in cells if c.problem == problem), target)
            best = name(reached[0] if reached else None)
            runner_up = name(reached[1] if len(reached) > 1 else None)
            rows.append([f"`{problem}`", number(target), *best, *runner_up])
    return ["### Cheapest to reach a gradient error", "",
            "Per problem and target, the integrator, method and ladder whose cheapest ok rung with a gradient "
            "error at or below the target has the shortest gradient time, that rung and time, and the runner-up "
            "(the next cell by the same measure); *none* where no rung reaches the target.", "",
            *markdown_table(["problem", "target", "cheapest", "gradient ms", "runner-up", "gradient ms"], rows)]


def _precision_failure_table(cells: Sequence[PrecisionResult]) -> list[str]:
    failures = failures_by_method(cells)
    statuses = [s.label for s in Status if any(s.label in f.by_status for f in failures.values())]
    rows = [[f"`{method}`", f.cells, f.not_applicable, f.failed_cells, f.rungs, f.ok,
             *(f.by_status.get(label, 0) for label in statuses)] for method, f in failures.items()]
    return ["### Failure rates by method", "",
            "Cells per differentiation method, those that do not apply and those that failed as a whole; rungs "
            "measured, ok, and failed by status (the reasons are under Failures).", "",
            *markdown_table(["method", "cells", "not applicable", "failed cells", "rungs", "ok", *statuses], rows)]
