"""How numbers and outcomes are printed, in terminal tables and in the Markdown report alike: one place decides
how a number, a complex number, ``∞``, a missing value and a failure look.

Terminal tables are :mod:`rich` tables (:func:`print_table`); the report's are Markdown (:func:`markdown_table`).
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Sequence
from typing import IO, Any

from ..contracts import AdaptiveStep, FixedStep, Status, StepPolicy

MISSING = "-"
INFINITY = "∞"
FAILED = "failed"
NOT_APPLICABLE = "n/a"


def number(x: float | int | None, digits: int = 3) -> str:
    """``1.23e-08``, ``-2``, ``∞``; ``-`` for a missing value."""
    if x is None:
        return MISSING
    if isinstance(x, float) and math.isinf(x):
        return INFINITY if x > 0 else f"-{INFINITY}"
    if isinstance(x, float) and math.isnan(x):
        return MISSING
    return f"{x:.{digits}g}"


def count(n: int | None) -> str:
    """``5512``: a count in full (steps, evaluations), where :func:`number` would round it to ``5.51e+03``."""
    return MISSING if n is None else str(n)


def milliseconds(seconds: float | None) -> str:
    return MISSING if seconds is None else number(1e3 * seconds)


def complex_number(x: complex | None, *, unbounded: bool = False) -> str:
    """``-1``, ``0.5+0.2j``; ``∞`` where ``unbounded`` says a missing value means an unbounded one."""
    if x is None:
        return INFINITY if unbounded else MISSING
    return number(x.real) if x.imag == 0 else f"{number(x.real)}{x.imag:+.3g}j"


def yes_no(x: bool | None) -> str:
    return MISSING if x is None else ("yes" if x else "no")


def a_stability(a_stable: bool | None, a_alpha_deg: float | None) -> str:
    """``yes``, ``no``, or the A(α) angle of a method stable only in a sector."""
    if a_stable is None or a_stable:
        return yes_no(a_stable)
    return f"A({a_alpha_deg:.2f}°)" if a_alpha_deg else "no"


def outcome(status: Status, message: str, width: int | None = None) -> str:
    """``ok``, or the message of a failure (shortened to ``width`` characters)."""
    text = "ok" if status == Status.OK else message
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def brief_outcome(status: Status) -> str:
    """A table cell's word for a result that has no value: ``failed``, or ``n/a`` where the combination does not
    apply (the full reason belongs in a list of failures: :func:`outcome`)."""
    return NOT_APPLICABLE if status == Status.NOT_APPLICABLE else FAILED


def step_policy(policy: StepPolicy) -> str:
    """``fixed step h = 0.01``, ``adaptive steps, rtol = 1e-06, atol = 1e-12``: a policy for a reader (its
    ``label`` is for file names and keys)."""
    if isinstance(policy, FixedStep):
        return f"fixed step h = {number(policy.h)}"
    if isinstance(policy, AdaptiveStep):
        return f"adaptive steps, rtol = {number(policy.rtol)}, atol = {number(policy.atol)}"
    return policy.label


def fraction(done: int, total: int) -> str:
    return f"{done}/{total}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table; a ``|`` inside a cell is escaped (GitHub splits cells on it even in code spans)."""
    def cell(x: Any) -> str:
        return str(x).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None,
                file: IO[str] | None = None) -> None:
    """A terminal table (rich): columns separated by spaces, a rule under the header, nothing wrapped or cut.

    Not wrapping matters when the output goes to a file or a pipe, where there is no terminal width to honour.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    file = file or sys.stdout
    table = Table(*header, box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False,
                  show_edge=False, header_style="bold")
    for row in rows:
        table.add_row(*(str(c) for c in row))
    if file.isatty():
        for column in table.columns:
            column.overflow = "fold"
        Console(file=file, highlight=False).print(table)
        return
    buffer = io.StringIO()
    Console(file=buffer, width=100_000, highlight=False, color_system=None).print(table)
    file.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")
