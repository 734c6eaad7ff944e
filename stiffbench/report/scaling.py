"""Cost against the size of the system: the cost records of a size scan (``[cost] sizes``), per solver, with the
growth exponent fitted to them, as a section of the report and a figure per scanned problem."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..contracts import Status
from ..records import CostResult
from ..sweep import RunRecords
from .format import MISSING, markdown_table, milliseconds, number

QUANTITIES = (("run_s", "forward solve"), ("gradient_s", "gradient of ½Σy²"))


def scans(run: RunRecords) -> dict[str, list[CostResult]]:
    """The cost records of each size scan with at least two sizes, by the problem scanned."""
    out: dict[str, list[CostResult]] = {}
    for c in run.cost:
        if c.scan is not None and c.states is not None:
            out.setdefault(c.scan, []).append(c)
    return {scan: cells for scan, cells in out.items() if len({c.states for c in cells}) >= 2}


def growth(points: Sequence[tuple[int, float]]) -> float | None:
    """The exponent ``a`` of ``time ∝ states^a``: least squares on the logarithms (``None`` below two sizes)."""
    pts = [(n, t) for n, t in points if t is not None and t > 0]
    if len({n for n, _ in pts}) < 2:
        return None
    x, y = np.log([n for n, _ in pts]), np.log([t for _, t in pts])
    return float(np.polyfit(x, y, 1)[0])


def series(cells: Sequence[CostResult], solver: str, field: str) -> list[tuple[int, float]]:
    return sorted((c.states, getattr(c, field)) for c in cells  # type: ignore[misc]
                  if c.solver == solver and c.status == Status.OK and getattr(c, field) is not None)


def scaling_section(run: RunRecords) -> list[str]:
    found = scans(run)
    if not found:
        return []
    lines = ["## Cost against size", "",
             "Each problem with a size knob solved at several sizes by each solver at the same tolerances: compiled "
             "run time (best of a few runs) of the forward solve and of the gradient of ½Σ y(t_k)² with respect to "
             "every log θ (one reverse pass; stiffbench integrators only), and the exponent `a` of a least-squares "
             "fit of time ∝ states^a. Memory: XLA's compiled memory of the gradient program at the largest size."]
    for scan, cells in found.items():
        sizes = sorted({c.states for c in cells if c.states is not None})
        solvers = list(dict.fromkeys(c.solver for c in cells))
        for field, title in QUANTITIES:
            rows = []
            for solver in solvers:
                points = dict(series(cells, solver, field))
                if not points:
                    continue
                row = [f"`{solver}`", *(milliseconds(points.get(n)) for n in sizes), number(growth(list(
                    points.items())))]
                if field == "gradient_s":
                    memory = [(c.states or 0, c.gradient_memory_bytes) for c in cells
                              if c.solver == solver and c.gradient_memory_bytes]
                    row.append(f"{max(memory)[1] / 2**20:.1f} MiB" if memory else MISSING)
                rows.append(row)
            if rows:
                header = ["solver", *(f"{n} states, ms" for n in sizes), "growth a"]
                lines += ["", f"### `{scan}`: {title}", "",
                          *markdown_table(header + (["memory"] if field == "gradient_s" else []), rows)]
        algebra = {c.solver: c.linear_algebra for c in cells if c.linear_algebra and c.states == sizes[-1]}
        if algebra:
            lines += ["", "Linear algebra at the largest size: "
                      + "; ".join(f"`{s}`: {how}" for s, how in algebra.items()) + "."]
    return lines


def scaling_figures(run: RunRecords, folder: Path) -> list[Path]:
    """Per scanned problem, time against states on log–log axes: forward solve and gradient side by side."""
    import matplotlib.pyplot as plt

    from .figures import save

    made = []
    for scan, cells in scans(run).items():
        solvers = list(dict.fromkeys(c.solver for c in cells))
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
        for ax, (field, title) in zip(axes, QUANTITIES, strict=True):
            for solver in solvers:
                points = series(cells, solver, field)
                if points:
                    a = growth(points)
                    label = solver + ("" if a is None or not math.isfinite(a) else f" (a = {a:.2f})")
                    ax.loglog([n for n, _ in points], [t * 1e3 for _, t in points], marker="o", label=label)
            ax.set(xlabel="states", ylabel="ms (compiled run)", title=title)
            ax.grid(True, which="major", alpha=0.3)
            if ax.has_data():
                ax.legend(fontsize=8)
        fig.suptitle(f"{scan}: cost against the size of the system", fontsize=12)
        path = folder / f"scaling-{scan}.png"
        save(fig, path)
        made.append(path)
    return made
