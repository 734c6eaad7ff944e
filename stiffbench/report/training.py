"""Training in the report: a table per problem of where each fit ended, the figures of loss and parameter error
against iteration, and the fast parameter's gradient at the start against the stiffness met (docs/theory.md §8)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..contracts import Status
from ..records import TrainingResult
from ..sweep import RunRecords
from .format import MISSING, markdown_table, milliseconds, number, outcome, step_policy

WEIGHTS = "weights"
"""The column of a problem's weight arrays: the worst array's relative error."""


def training_records(run: RunRecords) -> tuple[TrainingResult, ...]:
    return tuple(r for r in run.records.get("training", ()) if isinstance(r, TrainingResult))


def fit_label(cell: TrainingResult, cells: Sequence[TrainingResult]) -> str:
    """The integrator, with the method and optimizer where the cells use more than one."""
    parts = [cell.integrator]
    for axis in ("differentiation", "optimizer"):
        if len({c.key[axis] for c in cells}) > 1:
            parts.append(cell.key[axis])
    return " · ".join(parts)


def start_label(cell: TrainingResult, cells: Sequence[TrainingResult]) -> str:
    """The integrator, with the method where the cells use more than one: the start does not depend on the
    optimizer."""
    methods = {c.key["differentiation"] for c in cells}
    return cell.integrator + (f" · {cell.key['differentiation']}" if len(methods) > 1 else "")


def fast_parameter(cell: TrainingResult) -> str | None:
    """The first of the problem's fast parameters that the fit trains."""
    fitted = cell.inputs.fitted
    return next((name for name in cell.fast_parameters if name in fitted), None)


def columns(cells: Sequence[TrainingResult]) -> list[str]:
    """The parameter columns of a problem's table: its fitted rates, then one for all its weight arrays."""
    names = list(dict.fromkeys(n for c in cells for n in c.inputs.fitted if n in c.inputs.parameters))
    return names + [WEIGHTS] * any(n not in c.inputs.parameters for c in cells for n in c.inputs.fitted)


def final_error(cell: TrainingResult, column: str) -> float | None:
    errors = cell.final_rel_error or {}
    if column != WEIGHTS:
        return errors.get(column)
    values = [e for n, e in errors.items() if n not in cell.inputs.parameters]
    return None if any(e is None for e in values) or not values else max(v for v in values if v is not None)


def reached(cell: TrainingResult, threshold: str) -> str:
    """The iteration from which every fitted rate was within ``1%`` or ``0.1%`` (the worst rate's first), or
    ``never``."""
    first = cell.iterations_to_1pct if threshold == "1%" else cell.iterations_to_01pct
    rates = [v for n, v in (first or {}).items() if n in cell.inputs.parameters]
    if not rates:
        return MISSING
    return "never" if any(v is None for v in rates) else str(max(v for v in rates if v is not None))


def rows(cells: Sequence[TrainingResult], names: Sequence[str]) -> list[list[str]]:
    out = []
    for c in cells:
        h, fast = c.history, fast_parameter(c)
        if h is None:
            out.append([fit_label(c, cells), step_policy(c.policy), *[MISSING] * (len(names) + 7),
                        outcome(c.status, c.message, 60)])
            continue
        ratio = c.gradient_ratio(fast) if fast else None
        out.append([fit_label(c, cells), step_policy(c.policy), number(h.z_met[0]),
                    number(ratio),
                    *[number(final_error(c, n)) for n in names], number(c.final_field_error), reached(c, "1%"),
                    reached(c, "0.1%"),
                    number(c.final_loss), milliseconds(c.run_s), outcome(c.status, c.message, 60)])
    return out


def header(names: Sequence[str]) -> list[str]:
    return ["fit", "steps", "|hλ| at start", "∂L/∂log θ_fast ÷ reference at start",
            *[f"final error {n}" for n in names], "final error f", "all rates within 1 % from", "within 0.1 % from",
            "final loss", "run ms", "outcome"]


def training_section(run: RunRecords) -> list[str]:
    cells = training_records(run)
    if not cells:
        return []
    first = cells[0].inputs
    lines = ["## Training", "",
             "Each cell fits a problem's parameters (rates in log θ, weight arrays as they are) to observations of "
             "its reference solution at the true parameters, starting from a seeded perturbation of them "
             f"(σ = {first.perturbation:g}; seed {first.seed}; noise {first.noise:g}), through one integrator and "
             f"step policy, for {first.iterations} iterations of one compiled training loop. The loss is the mean "
             "squared relative misfit (each observation scaled by the larger of its size and 10⁻³ of its "
             "component's peak). The errors are relative to the true values (`|θ − θ*|/θ*`; for the weights the "
             "worst array's `‖W − W*‖/‖W*‖`) of the last parameters that solved; `error f` compares the fitted "
             "vector field with the true one at the reference states (RMS of the difference over each component's "
             "largest value): the dynamics can be identified where the parameters are not. `|hλ|` is the stiffness "
             "met at the start (adaptive steps: the mean step); the gradient ratio divides the integrator's "
             "`∂L/∂log θ` of the fast parameter at the start by the reference's at the same parameters (the closed "
             "form, or the forward sensitivity equations solved by SciPy; not when weights are fitted): 1 is a "
             "faithful gradient, a small ratio a vanishing one, a negative one points the wrong way. Figures: "
             "`training-<problem>.png` (loss, parameter and vector-field errors against iteration, a row per step "
             "policy) and "
             "`training-gradient-<problem>.png` (the fast parameter's gradient at the start against `|hλ|`)."]
    for problem in dict.fromkeys(c.problem for c in cells):
        mine = [c for c in cells if c.problem == problem]
        names = columns(mine)
        lines += ["", f"### {problem}", "", *markdown_table(header(names), rows(mine, names))]
    return lines


def training_figures(run: RunRecords, folder: Path) -> list[Path]:
    cells = training_records(run)
    made = []
    for problem in dict.fromkeys(c.problem for c in cells):
        mine = [c for c in cells if c.problem == problem and c.history is not None]
        if mine:
            made += [history_figure(mine, folder / f"training-{problem}.png"),
                     start_gradient_figure(mine, folder / f"training-gradient-{problem}.png")]
    return [path for path in made if path is not None]


def history_figure(cells: Sequence[TrainingResult], path: Path) -> Path:
    """Loss, each parameter column's relative error and the vector-field error against iteration, and for problems
    with a closed form the fast parameter's ``|∂L/∂log θ|`` over the exact one along the fit: a row of panels per
    step policy, a line per integrator (and method, optimizer)."""
    import matplotlib.pyplot as plt

    from .figures import save

    policies = list(dict.fromkeys(c.policy.label for c in cells))
    names = columns(cells)
    fast = fast_parameter(cells[0])
    ratio = fast is not None and all(c.history is not None and c.history.gradient_exact for c in cells)
    titles = ["loss", *[f"rel. error {n}" for n in names], "vector-field error"] + [
        f"|∂L/∂log {fast}| ÷ exact"] * ratio
    labels = list(dict.fromkeys(fit_label(c, cells) for c in cells))
    colors = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20").colors  # type: ignore[attr-defined]
    fig, axes = plt.subplots(len(policies), len(titles), figsize=(4.2 * len(titles) + 2.5, 2.9 * len(policies)),
                             squeeze=False, layout="constrained")
    for row, policy in enumerate(policies):
        for c in (c for c in cells if c.policy.label == policy):
            assert c.history is not None
            color = colors[labels.index(fit_label(c, cells)) % len(colors)]
            series = [c.history.loss, *[_error_series(c, n) for n in names], c.history.field_error]
            if ratio:
                series.append(_ratio_series(c, fast))
            for ax, values in zip(axes[row], series, strict=True):
                y = np.array([np.nan if v is None else v for v in values], dtype=float)
                ax.semilogy(np.arange(len(y)), np.where(y > 0, y, np.nan), color=color, lw=1.2,
                            label=fit_label(c, cells) + (f" (failed at {c.failed_at})" if c.failed_at is not None
                                                         else ""))
                if c.failed_at is not None:
                    ax.axvline(c.failed_at, color=color, ls=":", lw=1)
        for ax, title in zip(axes[row], titles, strict=True):
            ax.set_title(f"{title} — {policy}", fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
        axes[row][0].set_ylabel("value")
        axes[row][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    for ax in axes[-1]:
        ax.set_xlabel("iteration")
    fig.suptitle(f"Training on {cells[0].problem}: loss, parameter and vector-field errors against iteration"
                 + (", and the fast gradient's ratio to the exact one" if ratio else ""), fontsize=11)
    save(fig, path)
    return path


def _ratio_series(cell: TrainingResult, name: str | None) -> list[float | None]:
    """``|∂L/∂log θ|`` through the integrator over the exact one, per iteration."""
    assert cell.history is not None and cell.history.gradient_exact is not None and name is not None
    return [abs(g / e) if g is not None and e else None
            for g, e in zip(cell.history.gradient[name], cell.history.gradient_exact[name], strict=True)]


def _error_series(cell: TrainingResult, column: str) -> Sequence[float | None]:
    assert cell.history is not None
    errors = cell.history.rel_error
    if column != WEIGHTS:
        return errors.get(column, ())
    arrays = [v for n, v in errors.items() if n not in cell.inputs.parameters]
    return [None if any(a[k] is None for a in arrays) else max(a[k] for a in arrays)  # type: ignore[type-var]
            for k in range(len(arrays[0]))] if arrays else ()


def start_gradient(cell: TrainingResult) -> tuple[str, float] | None:
    """What the start-gradient figure plots for a fit: ``∂L/∂log θ`` of its fast rate, or, where no fast rate is
    fitted, the norm of the gradient over all its weight arrays (a network's)."""
    h = cell.history
    if h is None:
        return None
    fast = fast_parameter(cell)
    if fast is not None:
        g = h.gradient[fast][0]
        return (f"|∂L/∂log {fast}|", abs(g)) if g is not None else None
    norms = [h.gradient[n][0] for n in cell.inputs.fitted if n not in cell.inputs.parameters]
    if not norms or any(g is None for g in norms):
        return None
    return "‖∂L/∂W‖ over the weight arrays", math.sqrt(sum(g * g for g in norms if g is not None))


def start_gradient_figure(cells: Sequence[TrainingResult], path: Path) -> Path | None:
    """The gradient at the start (:func:`start_gradient`) against ``|hλ|`` at the start: markers per integrator,
    the reference gradient as a line where there is one, and the guides ``C/|z|`` and ``C/|z|²`` through the
    gradients at the smallest ``|hλ|``."""
    import matplotlib.pyplot as plt

    from .figures import MARKERS, save

    measured = [(c, abs(c.history.z_met[0] or math.nan), value[1])
                for c in cells if c.history is not None and (value := start_gradient(c))]
    points = [(c, z, g) for c, z, g in measured if z > 0 and g > 0 and math.isfinite(z * g)]
    if not points:
        return None
    quantity = (start_gradient(points[0][0]) or ("", 0.0))[0]
    fast = fast_parameter(points[0][0]) or ""
    labels = list(dict.fromkeys(start_label(c, cells) for c, _, _ in points))
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    for k, label in enumerate(labels):
        mine = sorted({(z, g) for c, z, g in points if start_label(c, cells) == label})
        ax.loglog(*zip(*mine, strict=True), marker=MARKERS[k % len(MARKERS)], ls="-", lw=0.8, ms=6, mfc="none",
                  label=label)
    references = [abs(g) for c in cells if c.start_gradient_reference and (g := c.start_gradient_reference.get(fast))]
    if references:
        ax.axhline(float(np.median(references)), color="k", lw=1.5,
                   label="reference gradient at the start")
    zs = np.array([z for _, z, _ in points])
    grid = np.logspace(math.log10(zs.min()), math.log10(zs.max()), 50)
    anchor = float(np.median([g for _, z, g in points if z == zs.min()]))
    ax.loglog(grid, anchor * zs.min() / grid, color="0.5", ls="--", lw=1, label="C/|z|")
    ax.loglog(grid, anchor * (zs.min() / grid) ** 2, color="0.5", ls=":", lw=1.2, label="C/|z|²")
    ax.set_xlabel("|hλ_max| at the start")
    ax.set_ylabel(f"{quantity} at the start")
    ax.set_title(f"{cells[0].problem}: the gradient at the start against the stiffness met", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    save(fig, path)
    return path


def failure_rows(cells: Iterable[TrainingResult], name: Any) -> list[list[str]]:
    """The failure list's rows: where each failed fit stopped and why."""
    return [[name(c.key), "all iterations" if c.failed_at is None else f"iteration {c.failed_at}",
             outcome(c.status, c.message)] for c in cells if c.status != Status.OK]
