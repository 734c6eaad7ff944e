"""Progress of a sweep on stderr: a rich progress bar on a terminal, one plain line per finished cell otherwise
(a log file or CI reads those)."""

from __future__ import annotations

import sys
from typing import Any

from ..contracts import Status
from ..records import CostResult, GradientResult, PrecisionResult, Record, StabilityResult
from ..report.format import fraction, milliseconds, number, outcome
from ..sweep import CellEvent


class Progress:
    """Call with each :class:`~stiffbench.sweep.CellEvent`; use as a context manager around the sweep."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.failed = 0
        self.not_applicable = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, event: CellEvent) -> None:
        label = event.cell.key.label
        if self._bar is not None and self._task is None:
            self._task = self._bar.add_task("", total=event.total)
        left = f", ~{_duration(event.remaining_s)} left" if event.remaining_s is not None else ""
        if self._bar is not None and (event.kind == "start" or event.running > 1):
            doing = (f"{label}: {event.cell.family.doing(event.cell)}" if event.running <= 1
                     else f"{event.running} cells running")
            self._bar.update(self._task, description=doing + left)
        if event.kind == "start":
            return
        if event.kind == "kept":
            line = "kept from the earlier run"
        else:
            assert event.record is not None
            self.not_applicable += event.record.status == Status.NOT_APPLICABLE
            self.failed += event.record.status not in (Status.OK, Status.NOT_APPLICABLE)
            line = f"{summary(event.record)} ({event.cell_s:.1f} s)"
        counts = (f", {event.running} running" if event.running else "") + (f", {self.failed} failed" if self.failed
                                                                            else "")
        line = (f"[{event.index:>{len(str(event.total))}}/{event.total} {event.elapsed_s:6.1f} s{counts}{left}] "
                f"{label}: {line}")
        if self._bar is not None:
            self._bar.console.print(line, highlight=False, markup=False)
            self._bar.advance(self._task)
        else:
            print(line, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def summary(record: Record) -> str:
    """One line on how a cell went."""
    if record.status != Status.OK:
        return outcome(record.status, record.message)
    if isinstance(record, StabilityResult) and record.summary and record.cost:
        s = record.summary
        return (f"compile {record.cost.compile_s:.2f} s, run {milliseconds(record.cost.run_s)} ms, "
                f"{fraction(s.n_failed, s.n_points)} points failed")
    if isinstance(record, GradientResult):
        ok = sum(row.ok for row in record.rows)
        text = f"{fraction(ok, len(record.rows))} ok"
        if record.cost:
            text += (f", compile {record.cost.compile_forward_s + record.cost.compile_gradient_s:.2f} s, "
                     f"gradient {milliseconds(record.cost.gradient_s)} ms")
        bad = next((row for row in record.rows if not row.ok), None)
        return text + (f"; {outcome(bad.status, bad.message)}" if bad else "")
    if isinstance(record, CostResult):
        return f"run {number(record.run_s)} s, max rel err {number(record.max_rel_err)}"
    if isinstance(record, PrecisionResult):
        good = [rung for rung in record.rungs if rung.ok]
        text = f"{fraction(len(good), len(record.rungs))} rungs ok"
        if good:
            text += (f", tightest ok rung: gradient error {number(good[-1].error_gradient)} in "
                     f"{milliseconds(good[-1].gradient_s)} ms")
        failed = next((rung for rung in record.rungs if not rung.ok), None)
        return text + (f"; {outcome(failed.status, failed.message)}" if failed else "")
    return "ok"
