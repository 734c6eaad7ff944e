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
    states: int | None = None
    """The dimension of the system solved."""
    scan: str | None = None
    """For a problem resized by a size scan (``[cost] sizes``): the problem it was made from."""
    linear_algebra: str | None = None
    """How the solver's linear systems were built and solved (dense LU, block-tridiagonal, SciPy's sparse LU)."""
    memory_bytes: int | None = None
    """stiffbench integrators: XLA's compiled memory of the forward solve (arguments, outputs, temporaries)."""
    compile_gradient_s: float | None = None
    gradient_s: float | None = None
    """stiffbench integrators: the gradient of the scalar ``½Σ y(t_k)²`` with respect to every ``log θ``, by the
    integrator's own differentiation (one reverse pass: what a training step through the solve costs)."""
    gradient_memory_bytes: int | None = None

    @property
    def problem(self) -> str:
        return self.key["problem"]

    @property
    def solver(self) -> str:
        return self.key["solver"]
