"""``report.md``: a run's records presented as Markdown, section by section.

Nothing here measures: it reads a :class:`~stiffbench.sweep.RunRecords` (typed records, the catalog, the
environment) and presents them; every number, ``∞``, missing value and failure is formatted by :mod:`.format`.
Cells are grouped by their :class:`~stiffbench.records.CellKey` coordinates, never by a fixed list of axes: a
gradient section is one value of every axis but ``integrator``, so that an axis added to a family (a
differentiation method, say) gives sections of its own without a change here.
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from ..contracts import Status
from ..records import (
    CellKey,
    GradientResult,
    GradientRow,
    IntegratorProperties,
    Placement,
    Record,
    StabilityResult,
)
from ..sweep import RunRecords
from .format import (
    MISSING,
    a_stability,
    brief_outcome,
    complex_number,
    count,
    fraction,
    markdown_table,
    milliseconds,
    number,
    outcome,
    step_policy,
    yes_no,
)
from .precision import precision_records, precision_section
from .scaling import scaling_section
from .training import failure_rows, training_records, training_section

FIGURES = "figures"
"""The figures' folder in the run directory."""
SMALL_Z = 1e6
"""The ``|z|`` bound of the catalog's "agreement before roundoff" column (one of the agreement levels)."""
BASELINE_SOLVER = "scipy-radau"
"""Run times of adaptive solves are also given as ratios to this solver's on the same problem."""
WIDTH = 80
"""Longest failure message in a table cell, outside the list of failures (which gives them in full)."""

R = TypeVar("R", bound=Record)
Group = tuple[tuple[str, str], ...]


def render_markdown(run: RunRecords, figures: Sequence[Path] = ()) -> str:
    """The text of ``report.md``: provenance, completeness, then a section per kind of result, then ``figures``
    (paths of PNG files in the run's ``figures/`` folder)."""
    lines = ["# stiffbench report", "", _provenance(run), "",
             "Made from the records in this directory alone (`stiffbench report DIR` writes it again)"
             + ("; the configuration that produced them is `config.toml` (`stiffbench run --config config.toml` "
                "repeats it)." if run.config is not None else ".")]
    lines += _completeness(run)
    for section in (_catalog_section, _agreement_section, _gradient_section, precision_section, training_section,
                    _integrator_cost_section, _solver_section, scaling_section, _failure_section):
        text = section(run)
        if text:
            lines += ["", *text]
    if figures:
        lines += ["", "## Figures", ""]
        for path in figures:
            lines += [f"![{path.stem}]({FIGURES}/{path.name})", ""]
    return "\n".join(lines).rstrip() + "\n"


# -- groups and aggregates shared with the figures ------------------------------------------------------


def by_other_axes(records: Iterable[R], axis: str) -> dict[Group, list[R]]:
    """Records grouped by every coordinate of their key except ``axis``, in first-seen order: the rows of a
    group differ in ``axis`` only (the integrator of a gradient section, the solver of a cost table)."""
    groups: dict[Group, list[R]] = {}
    for record in records:
        groups.setdefault(tuple((name, label) for name, label in record.key.coords if name != axis), []).append(record)
    return groups


def group_title(group: Group) -> str:
    """```linear` / `fixed-h0.1```: the labels of a group's coordinates."""
    return " / ".join(f"`{label}`" for _, label in group)


def cell_name(key: CellKey) -> str:
    """``gradients `linear` / `trapezoid` / `fixed-h0.1```: a cell in a table."""
    return f"{key.kind} " + " / ".join(f"`{label}`" for _, label in key.coords)


@dataclasses.dataclass(frozen=True)
class IntegratorCost:
    """What measuring one integrator cost, over its stability cell and all its gradient cells."""

    stability_compile_s: float | None = None
    stability_run_s: float | None = None
    gradient_compile_s: float | None = None
    """Forward and gradient compilation, summed over the gradient cells."""
    forward_s: float | None = None
    """Mean over the gradient cells of one compiled forward solve over all stiffness values."""
    gradient_s: float | None = None
    steps: float | None = None
    """Mean accepted steps per solve, over the successful rows of the gradient cells."""


def integrator_costs(run: RunRecords) -> dict[str, IntegratorCost]:
    """Cost per integrator, stability cell first, gradient cells aggregated; integrators in record order."""
    names = list(dict.fromkeys([r.integrator for r in run.stability] + [c.integrator for c in run.gradients]))
    out = {}
    for name in names:
        stability = next((r.cost for r in run.stability if r.integrator == name and r.cost), None)
        costs = [c.cost for c in run.gradients if c.integrator == name and c.cost]
        steps = [row.steps for c in run.gradients if c.integrator == name for row in c.rows
                 if row.ok and row.steps is not None]
        out[name] = IntegratorCost(
            stability_compile_s=stability.compile_s if stability else None,
            stability_run_s=stability.run_s if stability else None,
            gradient_compile_s=sum(c.compile_forward_s + c.compile_gradient_s for c in costs) if costs else None,
            forward_s=statistics.fmean(c.forward_s for c in costs) if costs else None,
            gradient_s=statistics.fmean(c.gradient_s for c in costs) if costs else None,
            steps=statistics.fmean(steps) if steps else None)
    return out


def integrator_properties(run: RunRecords, name: str) -> IntegratorProperties | None:
    return run.catalog.integrator(name) if run.catalog is not None else None


# -- work–precision: aggregates shared with the figures and the terminal ------------------------------------


# -- sections --------------------------------------------------------------------------------------------


def _provenance(run: RunRecords) -> str:
    env = run.environment
    if env is None:
        return (f"Run directory `{run.directory.name}`; its `environment.json` is missing or unreadable, so the "
                "versions and the machine it ran on are unknown.")
    packages, machine = env.packages, env.machine
    return (f"Run directory `{run.directory.name}`, created {env.created}; stiffbench "
            f"{packages.get('stiffbench') or '?'}, jax {packages.get('jax') or '?'}, diffrax "
            f"{packages.get('diffrax') or '?'}, Python {env.python}; git commit `{env.git_commit or 'unknown'}`; "
            f"{machine.cpus or '?'} CPUs, {machine.platform}, JAX backend {machine.jax_backend}.{_placement(run)}")


def _placement(run: RunRecords) -> str:
    """Where the cells ran and how many at once (a resumed run may have run its cells in several ways)."""
    groups: dict[int, list[Placement]] = {}
    for records in run.records.values():
        for p in (r.placement for r in records if r.placement is not None):
            groups.setdefault(0 if p.worker == "in-process" else p.concurrency, []).append(p)
    parts = []
    for concurrency, placed in sorted(groups.items()):
        if not concurrency:
            parts.append(f"{len(placed)} cells one at a time in the stiffbench process")
        else:
            hosts = ", ".join(sorted({p.host for p in placed}))
            parts.append(f"{len(placed)} cells on Dask workers, {concurrency} cells at a time "
                         f"({len({p.worker for p in placed})} worker processes on {hosts})")
    return (" Measured: " + "; ".join(parts) + " (cells measured at once shared the machine: compare their timings "
            "with those of runs measured alike).") if parts else ""


def _completeness(run: RunRecords) -> list[str]:
    lines = []
    if not run.complete:
        missing = run.missing
        lines += ["", f"**This run is incomplete**: {len(missing)} of its {len(run.planned)} planned cells have no "
                      f"valid record (`stiffbench run --resume {run.directory}` measures them): "
                      + _some(f"`{key.label}`" for key in missing) + "."]
    elif not run.planned:
        lines += ["", "The plan (`plan.json`) is missing or unreadable: whether cells are missing cannot be told."]
    if run.invalid:
        lines += ["", "Cell files that hold no valid record, left out of this report (`--resume` measures their "
                      "cells again):", "",
                  *markdown_table(["file", "why"], [[f"`{path}`", " ".join(reason.split())]
                                                    for path, reason in run.invalid.items()])]
    return lines


def _catalog_section(run: RunRecords) -> list[str]:
    if not run.stability:
        return []
    rows = []
    for r in run.stability:
        c, s = integrator_properties(run, r.integrator), r.summary
        theory = s.decay_exponent_theory if s else None
        computed = s.decay_exponent_computed if s else None
        small = s.level(SMALL_Z) if s else None
        rows.append([
            f"`{r.integrator}`", c.family if c else "?", c.order if c else "?", c.stages if c else "?",
            a_stability(c.a_stable, c.a_alpha_deg) if c else MISSING, yes_no(c.l_stable) if c else MISSING,
            # No R(∞) where a theory exists means an unbounded R (explicit methods); without a theory, unknown.
            complex_number(c.R_inf, unbounded=c.a_stable is not None) if c else MISSING,
            number(s.decay_exponent_asymptotic if s else c.decay_exponent if c else None), number(theory),
            number(computed), number(None if theory is None or computed is None else computed - theory),
            number(small.max_rel_err_dR if small else None), number(s.max_rel_err_dR if s else None),
            fraction(s.n_failed, s.n_points) if s else outcome(r.status, r.message, WIDTH)])
    grid = run.stability[0].inputs
    grids = {r.inputs for r in run.stability}
    return [
        "## Catalog and stability agreement", "",
        f"`R(z)` and `R'(z)` through one step of each implementation against the theory from the method's "
        f"data, at {grid.points} points per ray with `|z|` from {number(grid.z_min)} to {number(grid.z_max)} "
        f"(rays `arg(−z)` = {', '.join(f'{a:g}°' for a in grid.rays)})"
        + (f"; {len(grids)} different grids among the cells, this is the first cell's" if len(grids) > 1 else "")
        + f". Decay exponents `p` of `|R'(z)| ~ C|z|^p`: *asymptotic* is exact, *theory* and *measured* are "
        f"least-squares slopes over `|z| ≥ {number(grid.tail)}` on the negative real axis. Errors are relative to "
        "the theory. A-stable methods must show `p ≤ −1` (theory.md §3).", "",
        *markdown_table(["integrator", "family", "order", "stages", "A-stable", "L-stable", "R(∞)", "p asymptotic",
                         "p theory", "p measured", "measured − theory", f"err R' (|z|≤{SMALL_Z:g})",
                         "err R' (all)", "failed"], rows),
    ]


def _agreement_section(run: RunRecords) -> list[str]:
    results = [r for r in run.stability if r.summary]
    if not results:
        return []
    first = results[0].summary
    assert first is not None
    levels = [a.abs_z_max for a in first.agreement]

    def at(r: StabilityResult, level: float, field: str) -> str:
        agreement = r.summary.level(level) if r.summary else None
        return number(getattr(agreement, field) if agreement else None)

    rows = [[f"`{r.integrator}`", *(at(r, level, "max_rel_err_dR") for level in levels),
             number(r.summary.max_rel_err_R if r.summary else None)] for r in results]
    lines = ["### Where agreement degrades", "",
             "Worst relative error of the computed `R'` over the points with `|z|` up to each bound, "
             "and of `R` over the whole grid. Large errors at the top of the range are roundoff of the "
             "implementation (see the README), not failed solves.", "",
             *markdown_table(["integrator", *(f"R' ≤{level:g}" for level in levels), "R (all)"], rows)]
    angles = [ray.angle_deg for ray in first.rays[1:]]  # the real axis is the catalog's
    if angles:
        def ray(r: StabilityResult, angle: float) -> tuple[str, str]:
            decay = next((d for d in r.summary.rays if d.angle_deg == angle), None) if r.summary else None
            return (number(decay.decay_exponent_theory if decay else None),
                    number(decay.decay_exponent_computed if decay else None))

        rows = [[f"`{r.integrator}`", *itertools.chain.from_iterable(ray(r, a) for a in angles)] for r in results]
        header = ["integrator", *itertools.chain.from_iterable((f"p theory {a:g}°", f"p measured {a:g}°")
                                                               for a in angles)]
        lines += ["", "Decay exponents on the rays into the left half-plane:", "", *markdown_table(header, rows)]
    return lines


def _gradient_section(run: RunRecords) -> list[str]:
    if not run.gradients:
        return ["## Gradients", "", "No gradient cells in this run."]
    lines = ["## Gradients across stiffness", "",
             "Sensitivities `S = ∂y(t_k)/∂log θ` by reverse-mode autodiff through each integrator, against "
             "the reference (exact, or the forward sensitivity equations solved tightly by an independent "
             "solver). `|S|` is the Frobenius norm over observation times and components of a fast "
             "parameter's sensitivity; the ratio `|S|/|S_ref|` is 1 for a faithful gradient, below 1 where "
             "the integrator damps it (the vanishing gradient), `-` where the reference is exactly zero; `failed` "
             "where the solve failed (the reasons are under Failures), `n/a` where the integrator does not apply. "
             "`|hλ|` is the stiffness met: the step times the largest `|λ|` of the Jacobian along the path."]
    for group, cells in by_other_axes(run.gradients, "integrator").items():
        lines += ["", *_gradient_group(group, cells)]
    return lines


def _gradient_group(group: Group, cells: list[GradientResult]) -> list[str]:
    knob = cells[0].inputs.stiffness_parameter
    values = sorted({v for c in cells for v in c.inputs.stiffness} | {row.stiffness for c in cells for row in c.rows})
    rows = {(c.integrator, row.stiffness): row for c in cells for row in c.rows}
    failed = {c.integrator: c.status for c in cells if c.status != Status.OK}
    integrators = list(dict.fromkeys(c.integrator for c in cells))
    fast = next((c.fast_parameters for c in cells if c.fast_parameters), ())
    source = next((c.reference_source for c in cells if c.reference_source), "?")
    header = ["integrator", *(f"{knob}={v:g}" for v in values)]

    def row(name: str, show: Callable[[GradientRow], str]) -> list[str]:
        def one(v: float) -> str:
            r = rows.get((name, v))
            if r is None:
                return brief_outcome(failed[name]) if name in failed else MISSING
            return show(r) if r.ok else brief_outcome(r.status)
        return [f"`{name}`", *(one(v) for v in values)]

    def first_ok(v: float, show: Callable[[GradientRow], str | None]) -> str:
        """The first integrator's value that exists: the same for every integrator (reference, fixed-step |hλ|)."""
        found = (show(rows[(n, v)]) for n in integrators if (n, v) in rows and rows[(n, v)].ok)
        return next((text for text in found if text is not None), MISSING)

    def fidelity(parameter: str, field: str) -> Callable[[GradientRow], str | None]:
        def show(r: GradientRow) -> str | None:
            f = (r.fidelity or {}).get(parameter)
            return None if f is None else number(getattr(f, field))
        return show

    def or_missing(show: Callable[[GradientRow], str | None]) -> Callable[[GradientRow], str]:
        return lambda r: show(r) or MISSING

    def z_met(r: GradientRow) -> str | None:
        return None if r.z_met is None else number(r.z_met)

    estimate = any(c.z_met_is_estimate for c in cells)
    lines = [f"### {group_title(group)}: sensitivity to {', '.join(f'`{p}`' for p in fast) or '?'}", "",
             f"{_sentence(step_policy(cells[0].inputs.policy))}. Reference: {source}."]
    if estimate:
        lines += ["", "`|hλ|` met, with each integrator's mean step (adaptive steps: an estimate):", "",
                  *markdown_table(header, [row(n, or_missing(z_met)) for n in integrators])]
    for parameter in fast:
        top = [["reference", *(first_ok(v, fidelity(parameter, "norm_reference")) for v in values)]]
        if not estimate:
            top.append(["|hλ| met", *(first_ok(v, z_met) for v in values)])
        lines += ["", f"`|S|` of `∂y/∂log {parameter}` (the rows above the integrators are the same for all):", "",
                  *markdown_table(header, [*top, *(row(n, or_missing(fidelity(parameter, "norm")))
                                                   for n in integrators)]),
                  "", f"Fidelity `|S|/|S_ref|` of `∂y/∂log {parameter}`:", "",
                  *markdown_table(header, [row(n, or_missing(fidelity(parameter, "ratio"))) for n in integrators])]
    lines += ["", "Worst relative error of `S` over all parameters against the reference (and, in brackets, "
                  "against the exact prediction `R(hA)^n y0` of the theory where it applies):", "",
              *markdown_table(header, [row(n, _errors) for n in integrators])]
    return lines


def _errors(row: GradientRow) -> str:
    theory = row.max_rel_err_theory
    return number(row.max_rel_err) + ("" if theory is None else f" ({number(theory)})")



def _integrator_cost_section(run: RunRecords) -> list[str]:
    costs = integrator_costs(run)
    if not costs:
        return []
    rows = [[f"`{name}`", number(c.stability_compile_s), milliseconds(c.stability_run_s),
             number(c.gradient_compile_s), milliseconds(c.forward_s), milliseconds(c.gradient_s), number(c.steps)]
            for name, c in costs.items()]
    return ["## Cost", "",
            "Compile times include tracing (with JAX's persistent compilation cache warm, they are mostly "
            "cache loads); run times exclude compilation: the stability sweep is the best of three runs over "
            "the whole grid, forward and gradient times are one run over all stiffness values of a cell, "
            "averaged over the cells. Gradient compile time is the sum over the cells of forward and gradient "
            "compilation. Steps: mean accepted steps per solve.", "",
            *markdown_table(["integrator", "stability compile s", "stability run ms", "gradient compile s",
                             "forward ms", "gradient ms", "steps"], rows)]


def _solver_section(run: RunRecords) -> list[str]:
    if not run.cost:
        return []
    lines = ["## Adaptive solves against SciPy", "",
             "One adaptive solve of each problem by each solver at the same tolerances: compile time apart from "
             "run time (the best of a few runs after a warm-up), and the run time as a ratio to "
             f"`{BASELINE_SOLVER}` on the same problem. Error: worst componentwise relative error at the "
             "observation times against the reference. stiffbench's integrators count accepted and rejected "
             "steps; SciPy counts right-hand-side evaluations (nfev), Jacobians (njev) and LU decompositions (nlu)."]
    for group, cells in by_other_axes(run.cost, "solver").items():
        base = next((c.run_s for c in cells if c.solver == BASELINE_SOLVER and c.status == Status.OK), None)
        rows = [[f"`{c.solver}`", number(c.compile_s), milliseconds(c.run_s),
                 number(c.run_s / base) if base and c.run_s is not None and c.status == Status.OK else MISSING,
                 count(c.steps), count(c.rejected), count(c.nfev), count(c.njev), count(c.nlu),
                 number(c.max_rel_err), outcome(c.status, c.message, WIDTH)] for c in cells]
        source = next((c.reference_source for c in cells if c.reference_source), "?")
        policies = list(dict.fromkeys(step_policy(c.inputs.policy) for c in cells))
        lines += ["", f"### {group_title(group)}", "",
                  f"{_sentence('; '.join(policies))}. Reference: {source}."
                  + ("" if base else f" No successful `{BASELINE_SOLVER}` solve here: no ratios."), "",
                  *markdown_table(["solver", "compile s", "run ms", f"run / {BASELINE_SOLVER}", "steps", "rejected",
                                   "nfev", "njev", "nlu", "max rel err", "status"], rows)]
    return lines


def _failure_section(run: RunRecords) -> list[str]:
    rows: list[list[str]] = []
    for r in run.stability:
        if r.summary is None:
            rows.append([cell_name(r.key), "all points", outcome(r.status, r.message)])
        else:
            rows += [[cell_name(r.key), f"{n} points", _point_outcome(label)]
                     for label, n in r.summary.failures.items()]
    for c in run.gradients:
        if c.status != Status.OK:
            rows.append([cell_name(c.key), "all stiffness values", outcome(c.status, c.message)])
            continue
        grouped: dict[tuple[Status, str], list[float]] = {}
        for row in c.rows:
            if not row.ok:
                grouped.setdefault((row.status, row.message), []).append(row.stiffness)
        rows += [[cell_name(c.key), f"{c.inputs.stiffness_parameter} = {', '.join(f'{v:g}' for v in values)}",
                  outcome(status, message)] for (status, message), values in grouped.items()]
    rows += [[cell_name(c.key), "the solve", outcome(c.status, c.message)]
             for c in run.cost if c.status != Status.OK]
    for p in precision_records(run):
        if p.status != Status.OK:
            rows.append([cell_name(p.key), "all rungs", outcome(p.status, p.message)])
            continue
        rungs: dict[tuple[Status, str], list[float]] = {}
        for rung in p.rungs:
            if not rung.ok:
                rungs.setdefault((rung.status, rung.message), []).append(rung.setting)
        rows += [[cell_name(p.key), f"{p.ladder} = {', '.join(f'{v:g}' for v in settings)}", outcome(status, message)]
                 for (status, message), settings in rungs.items()]
    rows += failure_rows(training_records(run), cell_name)
    if not rows:
        return ["## Failures", "", "None: every point and every cell succeeded." if run.complete else
                "None among the records present (cells are missing: see above)."]
    return ["## Failures", "", "Each with its reason; a failed cell is a record, the rest of the run went on.", "",
            *markdown_table(["cell", "where", "status"], rows)]


def _point_outcome(label: str) -> str:
    """The message of a status that a stability summary counts points by (its label)."""
    try:
        status = Status.from_label(label)
    except ValueError:
        return label
    return outcome(status, status.message)


def _some(items: Iterable[str], limit: int = 12) -> str:
    items = list(items)
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more} more" if more > 0 else "")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
