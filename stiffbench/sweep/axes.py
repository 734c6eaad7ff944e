"""The vocabulary of a sweep: a cell is a point in named axes, measured by the family it belongs to.

A **family** (stability, gradients, cost; later work–precision, training) declares its axes in order, how the
values of each follow from the configuration (an axis may depend on the ones before it: a fixed step of 1/100 of
the time span depends on the problem), what inputs a cell carries beyond its coordinates, the record type it
produces and the function that measures a cell. Everything downstream — the cell's file in a run directory
(``cells/<kind>/<label>/.../<label>.json``), resume, completeness, ``report`` and ``compare`` — works from the
:class:`~stiffbench.records.CellKey` and the record alone, so adding an axis to a family changes that family only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

from ..records import CellKey, Record

if TYPE_CHECKING:
    from .plan import PlanContext


@final
@dataclasses.dataclass(frozen=True)
class AxisValue:
    """One value of an axis: the object a measurement uses, and its stable label (which keys the cell)."""

    label: str
    value: Any


Coords = Mapping[str, AxisValue]


@final
@dataclasses.dataclass(frozen=True)
class Axis:
    name: str
    values: Callable[[PlanContext, Coords], Sequence[AxisValue]]
    """The values of this axis given the configuration and the values of the axes before it."""


@final
@dataclasses.dataclass(frozen=True)
class Family:
    """A kind of cell: its axes, its inputs, its record type and its measurement."""

    kind: str
    axes: tuple[Axis, ...]
    record: type[Record]
    inputs: Callable[[PlanContext, Coords], Any]
    """What determines the result beyond the coordinates (the grid, the stiffness values): kept with the record,
    so that resume can tell a kept cell of another configuration from this one."""
    measure: Callable[[Cell], Record]
    doing: Callable[[Cell], str]
    """What the measurement compiles and runs, in words, for progress."""
    estimate: Callable[[Cell], float] = lambda cell: 1.0
    """A rough cost of the cell in seconds of one core, tracing and compiling included: a parallel executor
    starts the longest cells first, and progress scales the time so far by it to estimate the time left."""

    def failed(self, cell: Cell, status: Any, message: str) -> Record:
        return self.record.failed(cell.key, cell.inputs, status, message)


@final
@dataclasses.dataclass(frozen=True)
class Cell:
    family: Family
    coords: tuple[tuple[str, AxisValue], ...]
    inputs: Any

    @property
    def key(self) -> CellKey:
        return CellKey(self.family.kind, tuple((name, v.label) for name, v in self.coords))

    def __getitem__(self, axis: str) -> Any:
        """The object at the cell's coordinate on ``axis`` (an integrator, a problem, a policy)."""
        for name, value in self.coords:
            if name == axis:
                return value.value
        raise KeyError(f"{self.key.label}: no axis {axis!r}")


def expand(family: Family, context: PlanContext) -> list[Cell]:
    """Every cell of ``family``: the product of its axes, in axis order, each axis given the ones before."""
    points: list[dict[str, AxisValue]] = [{}]
    for axis in family.axes:
        points = [point | {axis.name: value} for point in points for value in axis.values(context, point)]
    return [Cell(family, tuple(point.items()), family.inputs(context, point)) for point in points]
