"""Running cells: each is measured by its family, a failure becomes the cell's record (never an exception that
escapes the run), and progress is reported as events.

An **executor** decides where the cells run and hands back each record as it is finished, in any order; this
module holds the serial one (in this process, in plan order). The cells are independent, so another executor
(:mod:`.cluster`: Dask distributed) may run them anywhere as long as it returns the records :func:`measure_cell`
makes. :func:`run_cells` is the same for every executor: it skips the cells a run directory already holds, passes
each new record to ``done`` as soon as it exists, and reports progress with an estimate of the time left.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Protocol, final

import jax
import numpy as np

from ..contracts import Status
from ..records import CellKey, Placement, Record
from .axes import Cell


@final
@dataclasses.dataclass(frozen=True)
class CellEvent:
    """What the executor tells its progress callback: a cell starts, finishes, or was kept from an earlier run."""

    kind: str  # "start" | "done" | "kept"
    index: int
    """Cells finished or kept so far, this one included (for "start": the cells finished so far, plus one)."""
    total: int
    cell: Cell
    elapsed_s: float
    record: Record | None = None
    cell_s: float | None = None
    running: int = 0
    """Cells being measured at this moment (at most the executor's concurrency)."""
    remaining_s: float | None = None
    """Estimated time to finish the run, from the time taken so far and the families' cost estimates."""


class Executor(Protocol):
    """Where cells are measured. ``run`` yields ``(cell, record, seconds)`` for every cell as it finishes, in any
    order, calling ``started`` when a cell is handed to a worker; it never raises for a failed cell."""

    concurrency: int

    def run(self, cells: Sequence[Cell], started: Callable[[Cell], None]) -> Generator[tuple[Cell, Record, float]]:
        ...


def measure_cell(cell: Cell, placement: Placement | None = None) -> Record:
    """The record of one cell, measured here. An integrator that cannot follow the cell's setting
    (``NotImplementedError``) gives a *not applicable* record; any other exception a failed one with its reason.

    JAX's in-memory caches are cleared after each cell, so that every cell is traced from the same state: its
    compile time does not depend on which cells ran before it in this process, and a long sweep does not slow down
    as it goes (the default run serially: 527 s keeping them, 348 s clearing, measured on two cores before the
    exported-program cache; what cells share comes from that cache)."""
    # An explicit method at a stiff step overflows by design; the record says so in its status, so numpy's
    # overflow warnings would only repeat it on the terminal.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            record = cell.family.measure(cell)
        except NotImplementedError as exc:
            record = cell.family.failed(cell, Status.NOT_APPLICABLE, f"not applicable: {exc}")
        except Exception as exc:  # noqa: BLE001 -- a failed cell is recorded with its reason and the run goes on
            record = cell.family.failed(cell, Status.ERROR, f"{type(exc).__name__}: {exc}")
        finally:
            jax.clear_caches()
    return dataclasses.replace(record, placement=placement or Placement.here())  # type: ignore[type-var]


@final
class Serial:
    """One cell after another in this process, in plan order."""

    concurrency = 1

    def run(self, cells: Sequence[Cell], started: Callable[[Cell], None]) -> Generator[tuple[Cell, Record, float]]:
        placement = Placement.here()
        for cell in cells:
            started(cell)
            t = time.perf_counter()
            record = measure_cell(cell, placement)
            yield cell, record, time.perf_counter() - t


def run_cells(cells: Iterable[Cell], *, kept: Callable[[Cell], Record | None] = lambda cell: None,
              done: Callable[[Record], None] = lambda record: None,
              progress: Callable[[CellEvent], None] | None = None, executor: Executor | None = None) -> list[Record]:
    """Measure every cell that ``kept`` does not already hold with ``executor`` (default: :class:`Serial`), calling
    ``done`` with each new record as soon as it exists (a run directory writes it there); the records come back
    in the cells' order."""
    cells = list(cells)
    executor = executor or Serial()
    start = time.perf_counter()
    records: dict[CellKey, Record] = {}
    running: set[CellKey] = set()
    todo: list[Cell] = []
    clock = _Remaining()

    def event(kind: str, cell: Cell, record: Record | None = None, cell_s: float | None = None) -> None:
        if progress:
            elapsed = time.perf_counter() - start
            progress(CellEvent(kind, len(records) + (kind == "start"), len(cells), cell, elapsed, record, cell_s,
                               len(running), clock.remaining(elapsed)))

    for cell in cells:
        record = kept(cell)
        if record is None:
            todo.append(cell)
            continue
        records[cell.key] = record
        event("kept", cell, record)
    clock.plan(todo)
    start = time.perf_counter()

    def started(cell: Cell) -> None:
        running.add(cell.key)
        event("start", cell)

    with contextlib.closing(executor.run(todo, started)) as results:
        for cell, record, seconds in results:
            done(record)
            running.discard(cell.key)
            records[cell.key] = record
            clock.finished(cell)
            event("done", cell, record, seconds)
    return [records[cell.key] for cell in cells]


class _Remaining:
    """The time left, as the time so far scaled by the estimated cost of the cells left over that of those done
    (each family estimates its cells' cost: see :attr:`~.axes.Family.estimate`)."""

    def __init__(self) -> None:
        self.left = self.done = 0.0

    def plan(self, cells: Sequence[Cell]) -> None:
        self.left = sum(cell.family.estimate(cell) for cell in cells)

    def finished(self, cell: Cell) -> None:
        cost = cell.family.estimate(cell)
        self.left, self.done = max(self.left - cost, 0.0), self.done + cost

    def remaining(self, elapsed: float) -> float | None:
        return elapsed * self.left / self.done if self.done else None
