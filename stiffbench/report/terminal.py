"""Records as terminal tables (rich), for the commands that print them. Formatting of every value is
:mod:`.format`'s; nothing here measures or computes beyond picking what to show."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..contracts import Status
from ..records import (
    CostResult,
    GradientResult,
    IntegratorProperties,
    PrecisionResult,
    ProblemProperties,
    StabilityResult,
    TrainingResult,
)
from .format import (
    MISSING,
    a_stability,
    complex_number,
    fraction,
    milliseconds,
    number,
    outcome,
    print_table,
    yes_no,
)
from .precision import convergence
from .training import columns, header, rows


def plugins_table(sources: Mapping[str, str], failures: Mapping[str, str]) -> None:
    print_table(["plugin", "source"], [[name, source] for name, source in sources.items()])
    if failures:
        print(f"\nfailed ({len(failures)}):")
        print_table(["plugin", "reason"], [[name, reason] for name, reason in failures.items()])


def integrators_table(rows: Sequence[IntegratorProperties]) -> None:
    print_table(["name", "family", "stages", "order", "A-stable", "L-stable", "R(∞)", "decay", "plugin"], [
        [r.name, r.family, r.stages, r.order, a_stability(r.a_stable, r.a_alpha_deg), yes_no(r.l_stable),
         complex_number(r.R_inf, unbounded=r.a_stable is not None), number(r.decay_exponent), r.plugin]
        for r in rows])


def problems_table(rows: Sequence[ProblemProperties]) -> None:
    print_table(["name", "dim", "stiffness knob", "fast parameters", "plugin"], [
        [r.name, r.dimension, f"{r.stiffness_parameter} in {number(min(r.stiffness_values))}.."
         f"{number(max(r.stiffness_values))}", ", ".join(r.fast_parameters), r.plugin] for r in rows])


def stability_table(results: Iterable[StabilityResult]) -> None:
    rows = []
    for r in results:
        s = r.summary
        small = s.level(1e6) if s else None
        rows.append([r.integrator, number(s and s.max_rel_err_R), number(s and s.max_rel_err_dR),
                     number(small and small.max_rel_err_dR), number(s and s.decay_exponent_theory),
                     number(s and s.decay_exponent_computed),
                     complex_number(s.R_inf, unbounded=s.a_stable is not None) if s else MISSING,
                     fraction(s.n_failed, s.n_points) if s else outcome(r.status, r.message, 60),
                     number(r.cost and r.cost.compile_s), milliseconds(r.cost and r.cost.run_s)])
    print_table(["integrator", "max err R", "max err R'", "err R' |z|<=1e6", "decay theory", "decay computed",
                 "R(∞)", "failed", "compile s", "run ms"], rows)


def gradients_table(results: Iterable[GradientResult]) -> None:
    rows = []
    for c in results:
        fast = c.fast_parameters[0] if c.fast_parameters else None
        if not c.rows:
            rows.append([c.problem, c.integrator, c.key["policy"], *[MISSING] * 9, outcome(c.status, c.message, 60)])
        for r in c.rows:
            per = (r.fidelity or {}).get(fast) if fast else None
            rows.append([c.problem, c.integrator, c.key["policy"], number(r.stiffness), number(r.z_met),
                         fast or MISSING,
                         number(per and per.norm), number(per and per.norm_reference), number(per and per.ratio),
                         number(r.max_rel_err), number(r.max_rel_err_theory),
                         MISSING if r.steps is None else str(r.steps), outcome(r.status, r.message, 60)])
    print_table(["problem", "integrator", "policy", "stiffness", "|h lam|", "fast", "|S|", "|S ref|", "ratio",
                 "rel err", "err vs theory", "steps", "status"], rows)


def cost_table(results: Sequence[CostResult]) -> None:
    radau = {r.problem: r.run_s for r in results if r.solver == "scipy-radau" and r.status == Status.OK}
    rows = []
    for r in results:
        base = radau.get(r.problem)
        ratio = r.run_s / base if r.run_s is not None and base else None
        rows.append([r.problem, r.solver, MISSING if r.states is None else r.states, number(r.compile_s),
                     number(r.run_s), number(ratio), number(r.gradient_s), MISSING if r.steps is None else r.steps,
                     number(r.max_rel_err), outcome(r.status, r.message, 50)])
    print_table(["problem", "solver", "states", "compile s", "run s", "run / scipy-radau", "gradient s", "steps",
                 "max rel err", "status"], rows)


def run_summary_table(stability: Sequence[StabilityResult], gradients: Sequence[GradientResult]) -> None:
    """One row per integrator: stability agreement, gradient rows ok, worst error against theory, compile time."""
    by_integrator: dict[str, list[GradientResult]] = {}
    for cell in gradients:
        by_integrator.setdefault(cell.integrator, []).append(cell)
    rows = []
    for r in stability:
        s = r.summary
        small = s.level(1e6) if s else None
        cells = by_integrator.get(r.integrator, [])
        all_rows = [row for c in cells for row in c.rows]
        theory = [row.max_rel_err_theory for row in all_rows if row.ok and row.max_rel_err_theory is not None]
        compile_s = (r.cost.compile_s if r.cost else 0.0) + sum(
            c.cost.compile_forward_s + c.cost.compile_gradient_s for c in cells if c.cost)
        rows.append([r.integrator, number(s and s.decay_exponent_theory), number(s and s.decay_exponent_computed),
                     number(small and small.max_rel_err_dR),
                     fraction(s.n_failed, s.n_points) if s else outcome(r.status, r.message, 40),
                     fraction(sum(row.ok for row in all_rows), len(all_rows)) if all_rows else MISSING,
                     number(max(theory) if theory else None), f"{compile_s:.1f}"])
    print_table(["integrator", "decay theory", "decay measured", "err R' |z|<=1e6", "failed points", "gradients ok",
                 "grad err vs theory", "compile s"], rows)


def precision_table(results: Iterable[PrecisionResult]) -> None:
    """One row per work–precision cell: ok rungs, the finest ok rung's gradient error, the convergence slope and
    verdict (the report's rules: :func:`~stiffbench.report.precision.convergence_verdict`)."""
    rows = []
    for c in results:
        if c.status != Status.OK:
            rows.append([c.problem, c.integrator, c.differentiation, c.ladder, MISSING, MISSING, MISSING,
                         outcome(c.status, c.message, 60)])
            continue
        conv = convergence(c)
        rows.append([c.problem, c.integrator, c.differentiation, c.ladder, fraction(conv.ok, conv.total),
                     number(conv.finest), number(conv.slope), conv.verdict])
    print_table(["problem", "integrator", "method", "ladder", "ok rungs", "finest grad err", "slope", "verdict"],
                rows)


def training_table(results: Sequence[TrainingResult]) -> None:
    """A table per problem: where each fit ended (the report's columns, :mod:`.training`)."""
    for problem in dict.fromkeys(c.problem for c in results):
        mine = [c for c in results if c.problem == problem]
        names = columns(mine)
        print_table(header(names), rows(mine, names), title=f"training on {problem}")
