"""The report's PNG figures, drawn from the typed records alone with matplotlib (imported when drawing).

- ``stability.png``: ``|R'(z)|`` against ``|z|`` on the negative real axis, log-log; theory as lines, one step of
  each implementation as markers; a panel per family of integrators;
- ``gradients-<problem>.png``: ``|S|`` and ``|S|/|S_ref|`` against the stiffness value, with a top axis of the
  ``|hλ|`` met; a row per group of cells (every coordinate but the integrator), fast parameter and panel;
- ``cost.png``: compile and run times per integrator; ``scaling-<problem>.png``: cost against the system's size;
- ``precision-gradient-<ladder>.png`` and ``precision-forward-<ladder>.png``: work–precision diagrams, the gradient
  error against the gradient time and the state error against the forward time, log-log, a panel per problem and
  a line per integrator / differentiation method through its ok rungs.

Every integrator keeps its colour and marker in the stability, gradient and cost figures (:class:`Style`); the
work–precision diagrams mix families in one panel, so there an integrator has a colour of its own and a method a
line style and marker. Each function returns the path it wrote, or None when the run has nothing to draw.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..contracts import Status
from ..records import GradientResult, PrecisionResult, write_text
from ..sweep import RunRecords
from .format import step_policy
from .markdown import by_other_axes, integrator_costs, integrator_properties
from .precision import FLOOR_FACTOR, ladders, precision_label, precision_records
from .scaling import scaling_figures
from .training import training_figures

MARKERS = "osD^vP*Xh<>p"
FAMILY_ORDER = ("Runge–Kutta", "Rosenbrock", "multistep", "explicit")
MAX_GRADIENT_ROWS = 16
"""Rows of panels in one gradient figure, beyond which it stops being readable (and takes long to lay out)."""
LINE_STYLES = ("-", "--", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))
"""A differentiation method's line in a work–precision diagram (dotted is the reference floor's)."""
PRECISION_QUANTITIES = {
    "gradient": ("error_gradient", "gradient_s", "gradient error (worst parameter, relative to the reference)",
                 "gradient time (ms, compiled run)", "gradient error against gradient time"),
    "forward": ("error_ys", "forward_s", "state error (relative to the reference)",
                "forward solve time (ms, compiled run)", "forward error against forward time"),
}
"""Quantity -> (error field, time field, y label, x label, title) of a rung."""


def draw_figures(run: RunRecords, folder: Path) -> list[Path]:
    """Every figure of the run into ``folder``; returns the paths written."""
    style = Style(run)
    made = [stability_figure(run, style, folder / "stability.png")]
    for problem in dict.fromkeys(c.problem for c in run.gradients):
        made.append(gradient_figure(run, style, problem, folder / f"gradients-{problem}.png"))
    made.append(cost_figure(run, folder / "cost.png"))
    cells = precision_records(run)
    for ladder in ladders(cells):
        for quantity in PRECISION_QUANTITIES:
            made.append(precision_figure(cells, ladder, quantity, folder / f"precision-{quantity}-{ladder}.png"))
    made += training_figures(run, folder)
    made += scaling_figures(run, folder)
    return [path for path in made if path is not None]


class Style:
    """Panels of integrators (by family; a family of more than ``MAX_PANEL`` split by plugin) and one colour and
    marker per integrator, distinct within its panel and the same in every figure."""

    MAX_PANEL = 10

    def __init__(self, run: RunRecords) -> None:
        import matplotlib.pyplot as plt

        names = [r.integrator for r in run.stability] + [c.integrator for c in run.gradients]
        families: dict[str, list[str]] = {}
        for name in sorted(dict.fromkeys(names)):
            properties = integrator_properties(run, name)
            families.setdefault(properties.family if properties else "other", []).append(name)
        self.panels: list[tuple[str, list[str]]] = []
        for family in sorted(families, key=_family_order):
            members = families[family]
            if len(members) <= self.MAX_PANEL:
                self.panels.append((family, members))
                continue
            plugins: dict[str, list[str]] = {}
            for name in members:
                properties = integrator_properties(run, name)
                plugins.setdefault(properties.plugin if properties else "?", []).append(name)
            self.panels += [(f"{family} ({plugin})", group)  # the largest first
                            for plugin, group in sorted(plugins.items(), key=lambda item: -len(item[1]))]
        colors = plt.get_cmap("tab10").colors  # type: ignore[attr-defined]
        self.color: dict[str, Any] = {}
        self.marker: dict[str, str] = {}
        self.panel: dict[str, str] = {}
        for title, members in self.panels:
            for k, name in enumerate(members):
                self.color[name], self.marker[name] = colors[k % len(colors)], MARKERS[k % len(MARKERS)]
                self.panel[name] = title


def _family_order(family: str) -> tuple[int, str]:
    return (FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER), family)


def stability_figure(run: RunRecords, style: Style, path: Path) -> Path | None:
    """``|R'(z)|`` against ``|z|`` on the negative real axis: theory as lines, measurements as markers."""
    import matplotlib.pyplot as plt

    results = {r.integrator: r for r in run.stability if r.points is not None}
    panels = [(title, [results[n] for n in members if n in results]) for title, members in style.panels]
    panels = [(title, members) for title, members in panels if members]
    if not panels:
        return None
    ncols = 2 if len(panels) > 1 else 1
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(8.2 * ncols, 5.4 * nrows), squeeze=False, layout="constrained")
    for ax, (title, members) in zip(axes.flat, panels, strict=False):
        lo, hi = math.inf, 0.0
        for k, r in enumerate(members):
            points = r.points
            assert points is not None
            real = [i for i, z in enumerate(points.z) if z.imag == 0 and z.real < 0]
            x = np.array([-points.z[i].real for i in real])
            lo, hi = min(lo, x.min()), max(hi, x.max())
            theory = np.array([_abs(points.dR_theory[i]) if points.dR_theory else math.nan for i in real])
            computed = np.array([_abs(points.dR_computed[i]) if points.status[i] == Status.OK else math.nan
                                 for i in real])
            color, marker = style.color[r.integrator], style.marker[r.integrator]
            if np.isfinite(theory).any():
                ax.loglog(x, _positive(theory), "-", color=color, lw=1.4, alpha=0.85)
            step = max(1, len(x) // 20)  # ~20 markers a curve, staggered so that coinciding curves stay visible
            sel = slice(k % step, None, step)
            failed = r.summary.n_failed if r.summary else 0
            label = r.integrator + (f" ({failed} failed)" if failed else "")
            ax.loglog(x[sel], _positive(computed[sel]), marker, ls="none", color=color, ms=5, mfc="none", mew=1.2)
            ax.plot([], [], "-" + marker, color=color, ms=5, mfc="none", mew=1.2, label=label)  # legend: both
        xs = np.logspace(np.log10(lo), np.log10(hi), 50)
        ax.loglog(xs, 1 / xs, "--", color="0.35", lw=1.2, label="C/|z|, C = 1 (bound for A-stable R)")
        ax.set_title(f"{title}: lines theory, markers measured", fontsize=11)
        ax.set_xlabel("|z|  (z = hλ on the negative real axis, dimensionless)")
        multistep = all(style.panel.get(r.integrator, "").startswith("multistep") for r in members)
        ax.set_ylabel("|ζ₁′(z)|  (principal root)" if multistep else "|R′(z)|")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, ncol=2 if len(members) > 6 else 1, loc="best", framealpha=0.85)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Derivative of the stability function: theory vs one step of each implementation", fontsize=13)
    save(fig, path)
    return path


def gradient_figure(run: RunRecords, style: Style, problem: str, path: Path) -> Path | None:
    """``|S|`` and ``|S|/|S_ref|`` of each fast parameter of ``problem`` against the stiffness value: a row per
    group of cells, fast parameter and panel of integrators; magnitude left, ratio to the reference right."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullLocator

    groups = {group: cells for group, cells in by_other_axes(run.gradients, "integrator").items()
              if dict(group).get("problem") == problem}
    rows = []
    for group, cells in groups.items():
        # What tells this group from the others of the problem: its other coordinates (today the policy).
        where = ", ".join(label for axis, label in group if axis != "problem") if len(groups) > 1 else ""
        fast_parameters = next((c.fast_parameters for c in cells if c.fast_parameters), ())
        # The stiffness met, for the top axis: a median over every integrator of the group, so that a panel whose
        # integrators failed at the stiff end still shows it.
        met: dict[float, list[float]] = {}
        for c in cells:
            for row in c.rows:
                if row.ok and row.z_met is not None:
                    met.setdefault(row.stiffness, []).append(row.z_met)
        z_met = {v: float(np.median(z)) for v, z in met.items()}
        for name in fast_parameters:
            # The reference does not depend on the integrator: any successful row at a value gives it.
            reference = {row.stiffness: _nan(row.fidelity[name].norm_reference) for c in cells for row in c.rows
                         if row.ok and row.fidelity and name in row.fidelity}
            for title, members in style.panels:
                mine = [c for c in cells if c.integrator in members]
                if mine:
                    parts = [title, where, f"∂/∂log {name}" if len(fast_parameters) > 1 else ""]
                    rows.append((", ".join(p for p in parts if p), mine, name, reference, z_met))
    rows = rows[:MAX_GRADIENT_ROWS]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 2, figsize=(15, 0.6 + 4.0 * len(rows)), squeeze=False, sharex=True,
                             sharey="col", layout="constrained")
    xs = sorted({v for _, cells, _, _, _ in rows for c in cells for v in c.inputs.stiffness})
    policies = list(dict.fromkeys(c.inputs.policy for cells in groups.values() for c in cells))
    for (title, cells, fast, reference, z_met), (ax_norm, ax_ratio) in zip(rows, axes, strict=True):
        knob = cells[0].inputs.stiffness_parameter
        for cell in cells:
            ok = sorted((row for row in cell.rows if row.ok), key=lambda row: row.stiffness)
            fidelity = [(row.fidelity or {}).get(fast) for row in ok]
            kw = {"color": style.color[cell.integrator], "marker": style.marker[cell.integrator], "ms": 6,
                  "mfc": "none", "mew": 1.3, "lw": 1.2}
            failed = _failed(cell)
            label = cell.integrator + (" (not applicable)" if cell.status == Status.NOT_APPLICABLE
                                       else f" ({failed} failed)" if failed else "")
            x = np.array([row.stiffness for row in ok])
            ax_norm.plot(x, _positive(np.array([_nan(f.norm if f else None) for f in fidelity])), label=label, **kw)
            ax_ratio.plot(x, _positive(np.array([_nan(f.ratio if f else None) for f in fidelity])), **kw)
        xr = np.array(sorted(reference))
        ax_norm.plot(xr, _positive(np.array([reference[v] for v in xr])), "k--", marker="o", ms=3.5, lw=2.2,
                     label="reference", zorder=5)
        ax_ratio.axhline(1.0, color="0.4", ls=":", lw=2, zorder=0)
        ax_norm.plot([], [], ":", color="0.4", lw=2, label="ratio 1 (faithful gradient)")
        if any(_failed(c) for c in cells):
            ax_norm.plot([], [], " ", label="(failed: no marker; see report.md)")
        zero = [v for v in xr if reference[v] == 0]
        if zero:
            ax_ratio.text(0.98, 0.97, f"reference exactly 0 (underflow)\nat {knob} = "
                          f"{', '.join(f'{v:g}' for v in zero)}: no ratio", transform=ax_ratio.transAxes,
                          fontsize=8, color="0.3", ha="right", va="top")
        for ax in (ax_norm, ax_ratio):
            ax.set_xscale("log")
            ax.set_yscale("log")
            # Magnitudes span a hundred decades: a few major ticks, no minor ones (they cost seconds to lay out).
            ax.yaxis.set_major_locator(LogLocator(numticks=8))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.set_xlim(*_padded(np.array(xs)))
            ax.set_xlabel(f"stiffness parameter {knob} (problem units)")
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.grid(True, which="major", alpha=0.3)
            _z_axis(ax, z_met)
        ax_norm.set_ylabel(f"|∂y/∂log {fast}|  (norm over t_k)")
        ax_ratio.set_ylabel("|S| / |S_ref|  (dimensionless)")
        ax_norm.set_title(f"{title}: gradient magnitude", fontsize=11)
        ax_ratio.set_title(f"{title}: gradient / reference", fontsize=11)
        ax_ratio.legend(*ax_norm.get_legend_handles_labels(), fontsize=8, loc="center left",
                        bbox_to_anchor=(1.01, 0.5), framealpha=0.85)
    fig.suptitle(f"Gradients through each integrator on `{problem}`"
                 + (f", {step_policy(policies[0])}" if len(policies) == 1 else ""), fontsize=13)
    save(fig, path)
    return path


def _failed(cell: GradientResult) -> int:
    """Stiffness values of the cell without a result: its failed rows, or all of them if the cell failed (none
    counted for a cell that does not apply: nothing failed)."""
    if cell.status == Status.NOT_APPLICABLE:
        return 0
    return len(cell.inputs.stiffness) if cell.status != Status.OK else sum(not row.ok for row in cell.rows)


def cost_figure(run: RunRecords, path: Path) -> Path | None:
    """Compile and run times per integrator, as horizontal bars."""
    import matplotlib.pyplot as plt

    cost = integrator_costs(run)
    if not cost:
        return None
    names = list(cost)[::-1]  # the first integrator at the top
    y = np.arange(len(names))
    fig, (ax_c, ax_r) = plt.subplots(1, 2, figsize=(14, 2.0 + 0.34 * len(names)), sharey=True, layout="constrained")
    series_c = [("stability sweep", "stability_compile_s", "tab:blue"),
                ("gradients (all cells)", "gradient_compile_s", "tab:orange")]
    series_r = [("stability sweep (whole grid)", "stability_run_s", "tab:blue"),
                ("forward solve (per cell)", "forward_s", "tab:green"),
                ("gradient (per cell)", "gradient_s", "tab:orange")]
    for ax, series, scale in ((ax_c, series_c, 1.0), (ax_r, series_r, 1e3)):
        height = 0.8 / len(series)
        for k, (label, field, color) in enumerate(series):  # the first series on top within each group
            values = np.array([_nan(getattr(cost[n], field)) * scale for n in names])
            ax.barh(y + ((len(series) - 1) / 2 - k) * height, np.nan_to_num(values), height, label=label,
                    color=color)
        ax.grid(True, axis="x", which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(series), frameon=False)
    ax_c.set_yticks(y, names)
    ax_c.set_ylim(-0.6, len(names) - 0.4)
    ax_c.set_xlabel("compile time (s, including tracing)")
    ax_r.set_xlabel("run time (ms, log scale)")
    ax_r.set_xscale("log")
    fig.suptitle("Cost per integrator: compilation (left) and compiled run time (right)", fontsize=12)
    save(fig, path)
    return path


ERROR_CEILING = 1e3
"""Errors above this are drawn at it, with an upward triangle: the gradient is wrong, the value says no more."""


def precision_figure(cells: tuple[PrecisionResult, ...], ladder: str, quantity: str, path: Path) -> Path | None:
    """A work–precision diagram of the cells of ``ladder``: error against time, log-log, a panel per problem, a
    line per integrator / method through its ok rungs (loosest first); in the gradient diagram a dotted line at
    ``FLOOR_FACTOR`` × each reference error estimate. None when no rung of the ladder has both values."""
    import matplotlib.pyplot as plt

    error_field, time_field, y_label, x_label, title = PRECISION_QUANTITIES[quantity]
    mine = [c for c in cells if c.ladder == ladder and c.status == Status.OK]

    def points(cell: PrecisionResult) -> tuple[np.ndarray, np.ndarray]:
        pairs = [(getattr(r, time_field), getattr(r, error_field)) for r in cell.rungs if r.ok]
        pairs = [(t, e) for t, e in pairs if t is not None and e is not None and t > 0 and e > 0]
        return np.array([1e3 * t for t, _ in pairs]), np.array([e for _, e in pairs])

    drawn = [c for c in mine if len(points(c)[0])]
    if not drawn:
        return None
    problems = list(dict.fromkeys(c.problem for c in mine))
    integrators = sorted({c.integrator for c in mine})
    methods = list(dict.fromkeys(c.differentiation for c in mine))
    colors = plt.get_cmap("tab10" if len(integrators) <= 10 else "tab20").colors  # type: ignore[attr-defined]
    color = {name: colors[k % len(colors)] for k, name in enumerate(integrators)}
    ncols = 2 if len(problems) > 1 else 1
    nrows = math.ceil(len(problems) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(9.5 * ncols if ncols > 1 else 11.5, 5.4 * nrows), squeeze=False,
                             layout="constrained")
    for ax, problem in zip(axes.flat, problems, strict=False):
        ax.set_xscale("log")
        ax.set_yscale("log")
        if not any(c.problem == problem for c in drawn):
            ax.text(0.5, 0.5, "no ok rung", transform=ax.transAxes, ha="center", va="center", color="0.4")
        for cell in (c for c in drawn if c.problem == problem):
            x, y = points(cell)
            k = methods.index(cell.differentiation)
            failed = sum(not r.ok for r in cell.rungs)
            over = y > ERROR_CEILING  # 1e300 would wreck the log axis; such a gradient is wrong, not imprecise
            notes = [f"{failed} failed"] * bool(failed) + [f"{over.sum()} above {ERROR_CEILING:g}"] * bool(over.any())
            ax.loglog(x, np.minimum(y, ERROR_CEILING), color=color[cell.integrator],
                      ls=LINE_STYLES[k % len(LINE_STYLES)], marker=MARKERS[k % len(MARKERS)], ms=5, mfc="none",
                      mew=1.2, lw=1.3, label=precision_label(cell) + (f" ({', '.join(notes)})" if notes else ""))
            if over.any():
                ax.plot(x[over], np.full(over.sum(), ERROR_CEILING), ls="none", marker="^", ms=8,
                        color=color[cell.integrator])
        if quantity == "gradient":
            floors = dict.fromkeys(FLOOR_FACTOR * c.reference_error for c in mine
                                   if c.problem == problem and c.reference_error)
            for k, floor in enumerate(floors):
                ax.axhline(floor, color="0.3", ls=":", lw=1.8, zorder=0,
                           label=(f"reference floor ({FLOOR_FACTOR:g} × the reference error estimate)" if k == 0
                                  else None))
        ax.set_title(problem, fontsize=11)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.grid(True, which="major", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), framealpha=0.85)
    for ax in axes.flat[len(problems):]:
        ax.set_visible(False)
    rungs = "relative tolerances" if ladder == "rtol" else "fixed step counts" if ladder == "steps" else ladder
    fig.suptitle(f"Work–precision over {rungs}: {title}", fontsize=12)
    save(fig, path)
    return path


def save(fig: Any, path: Path) -> None:
    """The PNG written atomically, like the records: a reader never sees half a figure."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_text(path, buffer.getvalue())


def _padded(x: np.ndarray) -> tuple[float, float]:
    """Log-axis limits a little beyond the data, so end markers are not cut."""
    lo, hi = float(np.min(x)), float(np.max(x))
    pad = 10 ** (0.05 * max(np.log10(hi / lo), 1.0))
    return lo / pad, hi * pad


def _z_axis(ax: Any, z_met: dict[float, float]) -> None:
    """A top axis of the stiffness met, ``|hλ_max|``, where it grows with the stiffness parameter."""
    from matplotlib.ticker import LogLocator, NullLocator

    x = np.array(sorted(z_met))
    z = np.array([z_met[v] for v in x])
    if len(x) < 2 or not np.all(np.diff(z) > 0) or np.any(z <= 0):
        return
    lx, lz = np.log(x), np.log(z)
    top = ax.secondary_xaxis("top", functions=(lambda v: _log_interp(v, lx, lz), lambda v: _log_interp(v, lz, lx)))
    top.xaxis.set_major_locator(LogLocator(numticks=8))
    top.xaxis.set_minor_locator(NullLocator())
    top.set_xlabel("|hλ| met (step × largest |eigenvalue| of ∂f/∂y on the path)", fontsize=9)


def _log_interp(v: Any, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """Piecewise-linear in log–log, extended beyond the ends with the end slopes (a monotone map)."""
    t = np.log(np.maximum(np.asarray(v, dtype=float), 1e-300))
    out = np.interp(t, lx, ly)
    lo, hi = (ly[1] - ly[0]) / (lx[1] - lx[0]), (ly[-1] - ly[-2]) / (lx[-1] - lx[-2])
    out = np.where(t < lx[0], ly[0] + lo * (t - lx[0]), out)
    out = np.where(t > lx[-1], ly[-1] + hi * (t - lx[-1]), out)
    return np.exp(out)


def _abs(z: complex | None) -> float:
    return math.nan if z is None else abs(z)


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _positive(a: np.ndarray) -> np.ndarray:
    """Log axes cannot show zero: exact zeros (an underflowed reference) are left out, not drawn at -inf."""
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, a, np.nan)

