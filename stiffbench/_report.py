"""The report of a run directory: ``report.md`` and PNG figures, made from the records alone.

Nothing here measures: it reads what :mod:`stiffbench._run` wrote (``catalog.json``, the stability and
gradient records, ``environment.json``, ``config.toml``) and presents it. ``stiffbench report DIR`` calls
:func:`write_report` on an existing directory; ``stiffbench run`` calls it at the end.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._records import write_text
from ._run import RunRecords, check_schemas, policy_slug

FIGURES = "figures"
MARKERS = "osD^vP*Xh<>p"
FAMILY_ORDER = ("Runge–Kutta", "Rosenbrock", "multistep", "explicit")


def write_report(run: RunRecords) -> list[Path]:
    """Write ``report.md`` and ``figures/*.png`` into the run directory; returns their paths."""
    check_schemas(run)
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    figures = run.directory / FIGURES
    figures.mkdir(exist_ok=True)
    for old in figures.glob("*.png"):  # figures of cells that no longer exist must not linger
        old.unlink()
    style = _Style(run)
    made = [stability_figure(run, style, figures / "stability.png")]
    for problem in _problems(run):
        made.append(gradient_figure(run, style, problem, figures / f"gradients-{problem}.png"))
    made.append(cost_figure(run, figures / "cost.png"))
    made = [path for path in made if path is not None]
    report = run.directory / "report.md"
    write_text(report, render_markdown(run, made))
    return [report, *made]



def render_markdown(run: RunRecords, figures: Sequence[Path] = ()) -> str:
    env, lines = run.environment, []
    packages = env.get("packages", {})
    machine = env.get("machine", {})
    lines += [
        "# stiffbench report", "",
        f"Run directory `{run.directory.name}`, created {env.get('created', '?')}; stiffbench "
        f"{packages.get('stiffbench', '?')}, jax {packages.get('jax', '?')}, diffrax {packages.get('diffrax', '?')}, "
        f"Python {env.get('python', '?')}; git commit `{env.get('git_commit') or 'unknown'}`; "
        f"{machine.get('cpus', '?')} CPUs, {machine.get('platform', '?')}, "
        f"JAX backend {machine.get('jax_backend', '?')}.",
        "",
        "Made from the records in this directory alone (`stiffbench report DIR` writes it again); the "
        "configuration that produced them is `config.toml` (`stiffbench run --config config.toml` repeats it).",
    ]
    if not run.complete:
        lines += ["", f"**This run is incomplete**: cells of its configuration are missing. "
                      f"`stiffbench run --resume {run.directory}` measures them."]
    lines += ["", *_catalog_section(run), "", *_agreement_section(run), "", *_gradient_section(run), "",
              *_cost_section(run), "", *_failure_section(run)]
    if figures:
        lines += ["", "## Figures", ""]
        for path in figures:
            lines += [f"![{path.stem}]({FIGURES}/{path.name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def _catalog_section(run: RunRecords) -> list[str]:
    catalog = {row["name"]: row for row in run.catalog.get("integrators", [])}
    rows = []
    for r in run.stability["results"]:
        c, s = catalog.get(r["integrator"], {}), r["summary"] or {}
        theory, computed = s.get("decay_exponent_theory"), s.get("decay_exponent_computed")
        small = _level(s, 1e6)
        rows.append([f"`{r['integrator']}`", c.get("family", "?"), c.get("order", "?"), c.get("stages", "?"),
                     _a_stability(c), _yes(c.get("l_stable")), _complex(c.get("R_inf"), c),
                     _g(s.get("decay_exponent_asymptotic", c.get("decay_exponent"))), _g(theory), _g(computed),
                     _g(None if theory is None or computed is None else computed - theory),
                     _g(small.get("max_rel_err_dR")), _g(s.get("max_rel_err_dR")),
                     f"{s['n_failed']}/{s['n_points']}" if s else r["status"]])
    inputs = run.stability.get("inputs", {})
    return [
        "## Catalog and stability agreement", "",
        f"`R(z)` and `R'(z)` through one step of each implementation against the theory from the method's "
        f"data, at {inputs.get('points', '?')} points per ray with `|z|` from {_g(inputs.get('z_min'))} to "
        f"{_g(inputs.get('z_max'))} (rays `arg(−z)` = {', '.join(f'{a:g}°' for a in inputs.get('rays', [0]))}). "
        f"Decay exponents `p` of `|R'(z)| ~ C|z|^p`: *asymptotic* is exact, *theory* and *measured* are "
        f"least-squares slopes over `|z| ≥ {_g(inputs.get('tail'))}` on the negative real axis. Errors are "
        "relative to the theory. A-stable methods must show `p ≤ −1` (theory.md §3).", "",
        *_table(["integrator", "family", "order", "stages", "A-stable", "L-stable", "R(∞)", "p asymptotic",
                 "p theory", "p measured", "measured − theory", "err R' (|z|≤1e6)", "err R' (all)", "failed"],
                rows),
    ]


def _agreement_section(run: RunRecords) -> list[str]:
    results = [r for r in run.stability["results"] if r["summary"]]
    if not results:
        return []
    levels = [a["abs_z_max"] for a in results[0]["summary"]["agreement"]]
    rows = [[f"`{r['integrator']}`", *(_g(_level(r["summary"], lv).get("max_rel_err_dR")) for lv in levels),
             *(_g(_level(r["summary"], lv).get("max_rel_err_R")) for lv in levels[-1:])] for r in results]
    lines = ["### Where agreement degrades", "",
             "Worst relative error of the computed `R'` over the points with `|z|` up to each bound, "
             "and of `R` over the whole grid. Large errors at the top of the range are roundoff of the "
             "implementation (see the README), not failed solves.", "",
             *_table(["integrator", *(f"R' ≤{lv:g}" for lv in levels), "R (all)"], rows)]
    rays = [a for a in results[0]["summary"]["rays"] if a["angle_deg"] != 0]
    if rays:
        rows = [[f"`{r['integrator']}`", *itertools.chain.from_iterable(
            (_g(ray["decay_exponent_theory"]), _g(ray["decay_exponent_computed"]))
            for ray in r["summary"]["rays"] if ray["angle_deg"] != 0)] for r in results]
        header = ["integrator", *itertools.chain.from_iterable(
            (f"p theory {ray['angle_deg']:g}°", f"p measured {ray['angle_deg']:g}°") for ray in rays)]
        lines += ["", "Decay exponents on the rays into the left half-plane:", "", *_table(header, rows)]
    return lines


def _gradient_section(run: RunRecords) -> list[str]:
    cells = run.gradients["results"]
    if not cells:
        return ["## Gradients", "", "No gradient cells in this run."]
    lines = ["## Gradients across stiffness", "",
             "Sensitivities `S = ∂y(t_k)/∂log θ` by reverse-mode autodiff through each integrator, against "
             "the reference (exact, or the forward sensitivity equations solved tightly by an independent "
             "solver). `|S|` is the Frobenius norm over observation times and components of the fast "
             "parameter's sensitivity; the ratio `|S|/|S_ref|` is 1 for a faithful gradient, below 1 where "
             "the integrator damps it (the vanishing gradient), `-` where the reference is exactly zero or "
             "the solve failed. `|hλ|` is the stiffness met: the step times the largest `|λ|` of the Jacobian "
             "along the path."]
    for (problem, _), group in _groups(cells).items():
        c0 = group[0]
        fast = (next((c["summary"]["fast_parameters"] for c in group if c["summary"]), None) or [None])[0]
        knob = c0["stiffness_parameter"]
        values = sorted({c["stiffness"] for c in group})
        by = {(c["integrator"], c["stiffness"]): c for c in group}
        integrators = list(dict.fromkeys(c["integrator"] for c in group))
        header = ["integrator", *(f"{knob}={v:g}" for v in values)]

        def row(name, fn, by=by, values=values):
            return [f"`{name}`", *(fn(by.get((name, v))) for v in values)]

        def per(cell, key, fast=fast):
            if cell is None or cell["summary"] is None:
                return "-" if cell is None else "failed"
            return _g(cell["summary"]["parameters"].get(fast, {}).get(key))

        reference = [next((per(c, "norm_reference") for c in group if c["stiffness"] == v and c["summary"]), "-")
                     for v in values]
        z_met = [next((_g(c["summary"]["z_met"]) for c in group if c["stiffness"] == v and c["summary"]), "-")
                 for v in values]
        source = next((c["reference_source"] for c in group if c["reference_source"]), "?")
        lines += ["", f"### `{problem}`, {_policy_text(c0['policy'])}: sensitivity to `{fast}`", "",
                  f"Reference: {source}.",
                  "", "`|S|` (the rows `reference` and `|hλ|` are the same for every integrator):", "",
                  *_table(header, [["reference", *reference], ["|hλ| met", *z_met],
                                   *(row(n, lambda c: per(c, "norm")) for n in integrators)]),
                  "", "Fidelity `|S|/|S_ref|`:", "",
                  *_table(header, [row(n, lambda c: per(c, "ratio")) for n in integrators]),
                  "", "Worst relative error of `S` over all parameters against the reference "
                  "(and, in brackets, against the exact prediction `R(hA)^n y0` of the theory where it applies):", "",
                  *_table(header, [row(n, _errors) for n in integrators])]
    return lines


def _errors(cell) -> str:
    if cell is None:
        return "-"
    if cell["summary"] is None or cell["status"] != "ok":
        return "failed"
    s = cell["summary"]
    theory = s["max_rel_err_theory"]
    return _g(s["max_rel_err"]) + ("" if theory is None else f" ({_g(theory)})")


def _cost_section(run: RunRecords) -> list[str]:
    cost = _costs(run)
    rows = [[f"`{name}`", _g(c["stability_compile_s"]), _ms(c["stability_run_s"]), _g(c["gradient_compile_s"]),
             _ms(c["forward_s"]), _ms(c["gradient_s"]), _g(c["steps"])] for name, c in cost.items()]
    return ["## Cost", "",
            "Compile times include tracing (with JAX's persistent compilation cache warm, they are mostly "
            "cache loads); run times exclude compilation: the stability sweep is the best of three runs over "
            "the whole grid, forward and gradient times are one run over all stiffness values of a cell, "
            "averaged over the cells. Gradient compile time is the sum over the cells of forward and gradient "
            "compilation. Steps: mean accepted steps per solve.", "",
            *_table(["integrator", "stability compile s", "stability run ms", "gradient compile s",
                     "forward ms", "gradient ms", "steps"], rows)]


def _failure_section(run: RunRecords) -> list[str]:
    rows = []
    for r in run.stability["results"]:
        if r["summary"] is None:
            rows.append([f"stability `{r['integrator']}`", "all", r["status"]])
        else:
            rows += [[f"stability `{r['integrator']}`", f"{n} points", status]
                     for status, n in r["summary"]["failures"].items()]
    grouped: dict[tuple[str, str, str], list[float]] = {}
    for c in run.gradients["results"]:
        if c["status"] != "ok":
            cell = f"gradients `{c['problem']}` / `{c['integrator']}` / {policy_slug(c['policy'])}"
            grouped.setdefault((cell, c["stiffness_parameter"], c["status"]), []).append(c["stiffness"])
    rows += [[cell, f"{knob} = {', '.join(f'{v:g}' for v in values)}", status]
             for (cell, knob, status), values in grouped.items()]
    if not rows:
        return ["## Failures", "", "None: every point and every cell succeeded."]
    return ["## Failures", "", "Each with its reason; a failed cell is a record, the rest of the run went on.", "",
            *_table(["cell", "where", "status"], rows)]



class _Style:
    """Panels of integrators (by family; a family of more than ``MAX_PANEL`` split by plugin) and one
    colour and marker per integrator, distinct within its panel and the same in every figure."""

    MAX_PANEL = 10

    def __init__(self, run: RunRecords) -> None:
        import matplotlib.pyplot as plt

        catalog = {row["name"]: row for row in run.catalog.get("integrators", [])}
        names = [r["integrator"] for r in run.stability["results"]]
        names += [c["integrator"] for c in run.gradients["results"]]
        families: dict[str, list[str]] = {}
        for name in sorted(dict.fromkeys(names)):
            families.setdefault(catalog.get(name, {}).get("family") or "other", []).append(name)
        self.panels: list[tuple[str, list[str]]] = []
        for family in sorted(families, key=_family_order):
            members = families[family]
            if len(members) <= self.MAX_PANEL:
                self.panels.append((family, members))
                continue
            plugins: dict[str, list[str]] = {}
            for name in members:
                plugins.setdefault(catalog[name].get("plugin", "?"), []).append(name)
            self.panels += [(f"{family} ({plugin})", group)  # the largest first
                            for plugin, group in sorted(plugins.items(), key=lambda item: -len(item[1]))]
        colors = plt.get_cmap("tab10").colors
        self.color, self.marker, self.panel = {}, {}, {}
        for title, members in self.panels:
            for k, name in enumerate(members):
                self.color[name], self.marker[name] = colors[k % len(colors)], MARKERS[k % len(MARKERS)]
                self.panel[name] = title


def _family_order(family: str) -> tuple[int, str]:
    return (FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER), family)


def stability_figure(run: RunRecords, style: _Style, path: Path) -> Path | None:
    """``|R'(z)|`` against ``|z|`` on the negative real axis: theory as lines, measurements as markers."""
    import matplotlib.pyplot as plt

    results = {r["integrator"]: r for r in run.stability["results"] if r["points"]}
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
            name = r["integrator"]
            real = [p for p in r["points"] if p["z"] is not None and p["z"][1] == 0 and p["z"][0] < 0]
            x = np.array([-p["z"][0] for p in real])
            lo, hi = min(lo, x.min()), max(hi, x.max())
            theory = np.array([_abs(p["dR_theory"]) for p in real], dtype=float)
            computed = np.array([_abs(p["dR_computed"]) if p["status"] == "ok" else np.nan for p in real], dtype=float)
            color, marker = style.color[name], style.marker[name]
            if np.isfinite(theory).any():
                ax.loglog(x, _positive(theory), "-", color=color, lw=1.4, alpha=0.85)
            step = max(1, len(x) // 20)  # ~20 markers a curve, staggered so that coinciding curves stay visible
            sel = slice(k % step, None, step)
            failed = r["summary"]["n_failed"] if r["summary"] else 0
            label = name + (f" ({failed} failed)" if failed else "")
            ax.loglog(x[sel], _positive(computed[sel]), marker, ls="none", color=color, ms=5, mfc="none", mew=1.2)
            ax.plot([], [], "-" + marker, color=color, ms=5, mfc="none", mew=1.2, label=label)  # legend: both
        xs = np.logspace(np.log10(lo), np.log10(hi), 50)
        ax.loglog(xs, 1 / xs, "--", color="0.35", lw=1.2, label="C/|z|, C = 1 (bound for A-stable R)")
        ax.set_title(f"{title}: lines theory, markers measured", fontsize=11)
        ax.set_xlabel("|z|  (z = hλ on the negative real axis, dimensionless)")
        multistep = all(style.panel.get(r["integrator"], "").startswith("multistep") for r in members)
        ax.set_ylabel("|ζ₁′(z)|  (principal root)" if multistep else "|R′(z)|")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, ncol=2 if len(members) > 6 else 1, loc="best", framealpha=0.85)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Derivative of the stability function: theory vs one step of each implementation", fontsize=13)
    _save(fig, path)
    return path


def gradient_figure(run: RunRecords, style: _Style, problem: str, path: Path) -> Path | None:
    """``|S|`` and ``|S|/|S_ref|`` of each fast parameter against the stiffness value: a row per panel of
    integrators (and per step policy and fast parameter), magnitude left, ratio to the reference right."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullLocator

    rows = []
    for cells in (cells for key, cells in _groups(run.gradients["results"]).items() if key[0] == problem):
        fast = next((c["summary"]["fast_parameters"] for c in cells if c["summary"]), [])
        for name in fast:
            # The reference does not depend on the integrator: any cell of the policy that has one gives it.
            reference = {c["stiffness"]: _nan(c["summary"]["parameters"].get(name, {}).get("norm_reference"))
                         for c in cells if c["summary"]}
            for title, members in style.panels:
                mine = [c for c in cells if c["integrator"] in members]
                if mine:
                    rows.append((title + (f", ∂/∂log {name}" if len(fast) > 1 else ""), mine, name, reference))
    rows = rows[:16]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 2, figsize=(15, 0.6 + 4.0 * len(rows)), squeeze=False, sharex=True,
                             sharey="col", layout="constrained")
    xs = sorted({c["stiffness"] for _, cells, _, _ in rows for c in cells})
    policies = list(dict.fromkeys(_policy_text(c["policy"]) for _, cells, _, _ in rows for c in cells))
    for (title, cells, fast, reference), (ax_norm, ax_ratio) in zip(rows, axes, strict=True):
        knob = cells[0]["stiffness_parameter"]
        z_met: dict[float, list[float]] = {}
        for name in dict.fromkeys(c["integrator"] for c in cells):
            mine = sorted((c for c in cells if c["integrator"] == name and c["status"] == "ok" and c["summary"]),
                          key=lambda c: c["stiffness"])
            x = np.array([c["stiffness"] for c in mine])
            per = [c["summary"]["parameters"].get(fast, {}) for c in mine]
            for c in mine:
                if c["summary"]["z_met"] is not None:
                    z_met.setdefault(c["stiffness"], []).append(c["summary"]["z_met"])
            kw = {"color": style.color[name], "marker": style.marker[name], "ms": 6, "mfc": "none", "mew": 1.3,
                  "lw": 1.2}
            failed = sum(c["integrator"] == name and c["status"] != "ok" for c in cells)
            label = name + (f" ({failed} failed)" if failed else "")
            ax_norm.plot(x, _positive(np.array([_nan(p.get("norm")) for p in per])), label=label, **kw)
            ax_ratio.plot(x, _positive(np.array([_nan(p.get("ratio")) for p in per])), **kw)
        xr = np.array(sorted(reference))
        ax_norm.plot(xr, _positive(np.array([reference[v] for v in xr])), "k--", marker="o", ms=3.5, lw=2.2,
                     label="reference", zorder=5)
        ax_ratio.axhline(1.0, color="0.4", ls=":", lw=2, zorder=0)
        ax_norm.plot([], [], ":", color="0.4", lw=2, label="ratio 1 (faithful gradient)")
        if any(c["status"] != "ok" for c in cells):
            ax_norm.plot([], [], " ", label="(failed: no marker; see report.md)")
        zero = [v for v in xr if reference[v] == 0]
        if zero:
            ax_ratio.text(0.98, 0.97, f"reference exactly 0 (underflow)\nat {knob} = "
                          f"{', '.join(f'{v:g}' for v in zero)}: no ratio", transform=ax_ratio.transAxes,
                          fontsize=8, color="0.3", ha="right", va="top")
        if len(policies) > 1:
            title = f"{title}, {_policy_text(cells[0]['policy'])}"
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
            _z_axis(ax, {v: float(np.median(z)) for v, z in z_met.items()})
        ax_norm.set_ylabel(f"|∂y/∂log {fast}|  (norm over t_k)")
        ax_ratio.set_ylabel("|S| / |S_ref|  (dimensionless)")
        ax_norm.set_title(f"{title}: gradient magnitude", fontsize=11)
        ax_ratio.set_title(f"{title}: gradient / reference", fontsize=11)
        ax_ratio.legend(*ax_norm.get_legend_handles_labels(), fontsize=8, loc="center left",
                        bbox_to_anchor=(1.01, 0.5), framealpha=0.85)
    fig.suptitle(f"Gradients through each integrator on `{problem}`"
                 + (f", {policies[0]}" if len(policies) == 1 else ""), fontsize=13)
    _save(fig, path)
    return path


def _save(fig, path: Path) -> None:
    """The PNG written atomically, like the records: a reader never sees half a figure."""
    import io

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


def _z_axis(ax, z_met: dict[float, float]) -> None:
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


def _log_interp(v, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """Piecewise-linear in log–log, extended beyond the ends with the end slopes (a monotone map)."""
    t = np.log(np.maximum(np.asarray(v, dtype=float), 1e-300))
    out = np.interp(t, lx, ly)
    lo, hi = (ly[1] - ly[0]) / (lx[1] - lx[0]), (ly[-1] - ly[-2]) / (lx[-1] - lx[-2])
    out = np.where(t < lx[0], ly[0] + lo * (t - lx[0]), out)
    out = np.where(t > lx[-1], ly[-1] + hi * (t - lx[-1]), out)
    return np.exp(out)


def cost_figure(run: RunRecords, path: Path) -> Path | None:
    """Compile and run times per integrator, as horizontal bars."""
    import matplotlib.pyplot as plt

    cost = _costs(run)
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
        for k, (label, key, color) in enumerate(series):  # the first series on top within each group
            values = np.array([_nan(cost[n][key]) * scale for n in names])
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
    _save(fig, path)
    return path



def _problems(run: RunRecords) -> list[str]:
    return list(dict.fromkeys(c["problem"] for c in run.gradients["results"]))


def _groups(cells: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for c in cells:
        groups.setdefault((c["problem"], policy_slug(c["policy"])), []).append(c)
    return groups


def _costs(run: RunRecords) -> dict[str, dict[str, Any]]:
    cost: dict[str, dict[str, Any]] = {}
    for r in run.stability["results"]:
        s = r["summary"] or {}
        cost[r["integrator"]] = _blank() | {"stability_compile_s": s.get("compile_s"),
                                            "stability_run_s": s.get("run_s")}
    per_cell: dict[tuple, dict] = {}
    steps: dict[str, list[int]] = {}
    for c in run.gradients["results"]:
        if c["cost"]:
            per_cell.setdefault((c["integrator"], c["problem"], policy_slug(c["policy"])), c["cost"])
            steps.setdefault(c["integrator"], []).append(c["cost"]["steps"])
    for (name, *_), c in per_cell.items():
        entry = cost.setdefault(name, _blank())
        compile_s = c["compile_forward_s"] + c["compile_gradient_s"]
        entry["gradient_compile_s"] = (entry["gradient_compile_s"] or 0) + compile_s
        entry.setdefault("_forward", []).append(c["forward_s"])
        entry.setdefault("_gradient", []).append(c["gradient_s"])
    for name, entry in cost.items():
        entry["forward_s"] = float(np.mean(entry.pop("_forward"))) if "_forward" in entry else None
        entry["gradient_s"] = float(np.mean(entry.pop("_gradient"))) if "_gradient" in entry else None
        entry["steps"] = float(np.mean(steps[name])) if name in steps else None
    return cost


def _blank() -> dict[str, Any]:
    return dict.fromkeys(["stability_compile_s", "stability_run_s", "gradient_compile_s", "forward_s",
                          "gradient_s", "steps"])


def _policy_text(policy: dict) -> str:
    if policy["kind"] == "fixed":
        return f"fixed step h = {policy['h']:g}"
    return f"adaptive steps, rtol = {policy['rtol']:g}, atol = {policy['atol']:g}"


def _level(summary: dict, level: float) -> dict:
    return next((a for a in summary.get("agreement", []) if a["abs_z_max"] == level), {})


def _abs(pair) -> float:
    return math.nan if pair is None else math.hypot(*pair)


def _nan(x) -> float:
    return math.nan if x is None else float(x)


def _positive(a: np.ndarray) -> np.ndarray:
    """Log axes cannot show zero: exact zeros (an underflowed reference) are left out, not drawn at -inf."""
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, a, np.nan)


def _table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table; a ``|`` inside a cell is escaped (GitHub splits cells on it even in code spans)."""
    lines = ["| " + " | ".join(h.replace("|", "\\|") for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]


def _g(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def _ms(seconds) -> str:
    return "-" if seconds is None else f"{1e3 * seconds:.3g}"


def _yes(x) -> str:
    return "-" if x is None else ("yes" if x else "no")


def _a_stability(row: dict) -> str:
    if row.get("a_stable") is None or row["a_stable"]:
        return _yes(row.get("a_stable"))
    angle = row.get("a_alpha_deg")
    return f"A({angle:.2f}°)" if angle else "no"


def _complex(pair, row: dict) -> str:
    if pair is None:
        return "∞" if row.get("a_stable") is not None else "-"
    re, im = pair
    return _g(re) if im == 0 else f"{_g(re)}{im:+.3g}j"
