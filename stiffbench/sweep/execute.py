"""Running cells: each is measured by its family, a failure becomes the cell's record (never an exception that
escapes the run), and progress is reported as events. This is the serial executor; the cells are independent,
so another executor may run them anywhere as long as it returns the same records."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import final

import numpy as np

from ..contracts import Status
from ..records import Record
from .axes import Cell


@final
@dataclasses.dataclass(frozen=True)
class CellEvent:
    """What the executor tells its progress callback: a cell starts, finishes, or was kept from an earlier run."""

    kind: str  # "start" | "done" | "kept"
    index: int
    total: int
    cell: Cell
    elapsed_s: float
    record: Record | None = None
    cell_s: float | None = None


def measure_cell(cell: Cell) -> Record:
    """The record of one cell. An integrator that cannot follow the cell's setting (``NotImplementedError``)
    gives a *not applicable* record; any other exception a failed one with its reason."""
    # An explicit method at a stiff step overflows by design; the record says so in its status, so numpy's
    # overflow warnings would only repeat it on the terminal.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            return cell.family.measure(cell)
        except NotImplementedError as exc:
            return cell.family.failed(cell, Status.NOT_APPLICABLE, f"not applicable: {exc}")
        except Exception as exc:  # noqa: BLE001 -- a failed cell is recorded with its reason and the run goes on
            return cell.family.failed(cell, Status.ERROR, f"{type(exc).__name__}: {exc}")


def run_cells(cells: Iterable[Cell], *, kept: Callable[[Cell], Record | None] = lambda cell: None,
              done: Callable[[Record], None] = lambda record: None,
              progress: Callable[[CellEvent], None] | None = None) -> list[Record]:
    """Measure every cell that ``kept`` does not already hold, one after another, calling ``done`` with each new
    record as soon as it exists (a run directory writes it there); the records come back in the cells' order."""
    cells = list(cells)
    start, records = time.perf_counter(), []
    for index, cell in enumerate(cells, 1):
        record = kept(cell)
        if record is not None:
            if progress:
                progress(CellEvent("kept", index, len(cells), cell, time.perf_counter() - start, record))
            records.append(record)
            continue
        if progress:
            progress(CellEvent("start", index, len(cells), cell, time.perf_counter() - start))
        t = time.perf_counter()
        record = measure_cell(cell)
        done(record)
        records.append(record)
        if progress:
            progress(CellEvent("done", index, len(cells), cell, time.perf_counter() - start, record,
                               time.perf_counter() - t))
    return records
