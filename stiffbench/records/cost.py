"""The cost record, ``stiffbench.cost/2``: one adaptive solve of a problem through one solver (a stiffbench
integrator or SciPy's ``solve_ivp``), compile time apart from run time, error against the problem's reference."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, final

from ..contracts import AdaptiveStep, Status
from .common import CellKey, Placement, Record


@final
@dataclasses.dataclass(frozen=True)
class CostInputs:
    policy: AdaptiveStep
    repeats: int
    """Run time is the best of this many runs, after one warm-up."""


@final
@dataclasses.dataclass(frozen=True)
class CostResult(Record):
    SCHEMA: ClassVar[str] = "stiffbench.cost/2"

    key: CellKey
    inputs: CostInputs
    status: Status
    message: str
    implementation: str | None = None
    compile_s: float | None = None
    run_s: float | None = None
    steps: int | None = None
    rejected: int | None = None
    nfev: int | None = None
    """SciPy only: right-hand-side evaluations, Jacobian evaluations and LU decompositions."""
    njev: int | None = None
    nlu: int | None = None
    max_rel_err: float | None = None
    """Worst componentwise relative error at the observation times against the reference states."""
    reference_source: str | None = None
    placement: Placement | None = None

    @property
    def problem(self) -> str:
        return self.key["problem"]

    @property
    def solver(self) -> str:
        return self.key["solver"]
