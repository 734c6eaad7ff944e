"""The report of a run directory: ``report.md`` and PNG figures, made from its records alone.

Nothing here measures: it reads a :class:`~stiffbench.sweep.RunRecords` (``load_run``) and presents it, the
text in :mod:`.markdown`, the figures in :mod:`.figures`, every number formatted by :mod:`.format`. ``stiffbench
report DIR`` writes the report of an existing directory again; ``stiffbench run`` writes it at the end.
"""

from __future__ import annotations

from pathlib import Path

from ..records import write_text
from ..sweep import RunRecords
from .markdown import FIGURES, render_markdown

REPORT = "report.md"


def write_report(run: RunRecords) -> list[Path]:
    """Write ``report.md`` and ``figures/*.png`` into the run directory, each file atomically; returns their paths
    (the report first). Figures of an earlier report are deleted first: a figure of a cell that is gone, or of a
    problem no longer in the run, must not linger."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display

    from .figures import draw_figures

    folder = run.directory / FIGURES
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    figures = draw_figures(run, folder)
    report = run.directory / REPORT
    write_text(report, render_markdown(run, figures))
    return [report, *figures]


__all__ = ["FIGURES", "REPORT", "render_markdown", "write_report"]
