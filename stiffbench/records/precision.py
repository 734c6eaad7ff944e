"""The work–precision record, ``stiffbench.precision/1``: one integrator, differentiated one way, on one problem,
across a ladder of tolerances or of fixed step counts. Per rung: the forward and the gradient error against the
reference, the run times of the forward solve and of the gradient, steps, rejections, the gradient program's memory
(docs/theory.md §7)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar, final

from ..contracts import Status, StepPolicy
from .common import CellKey, Placement, Record

LADDERS = ("rtol", "steps")
"""``rtol``: adaptive steps at each relative tolerance (``atol`` tied to it); ``steps``: that many fixed steps
over the problem's time span."""


@final
@dataclasses.dataclass(frozen=True)
class PrecisionInputs:
    """What determines a work–precision cell beyond its key."""

    ladder: str
    rungs: tuple[float, ...]
    """Relative tolerances (``rtol`` ladder) or numbers of fixed steps (``steps`` ladder), loosest first."""
    atol_ratio: float | None
    """``atol = atol_ratio · rtol``; None: the problem's own scale (``PrecisionResult.atol_ratio`` says which)."""
    parameters: Mapping[str, float]
    repeats: int
    """Each run time is the best of this many runs."""
    max_steps: int | None = None
    """Of the adaptive rungs (None: ``AdaptiveStep``'s default); a backsolve adjoint's backward solve has the same."""

    def __post_init__(self) -> None:
        if self.ladder not in LADDERS:
            raise ValueError(f"ladder must be one of {', '.join(LADDERS)}, got {self.ladder!r}")


@final
@dataclasses.dataclass(frozen=True)
class PrecisionRung:
    """One rung of the ladder."""

    setting: float
    """The rung's ``rtol``, or its number of fixed steps."""
    policy: StepPolicy
    status: Status
    message: str
    error_ys: float | None = None
    """``‖y − y_ref‖/‖y_ref‖`` over the observation times."""
    error_gradient: float | None = None
    """The worst parameter's ``‖S_j − S_ref,j‖/‖S_ref,j‖``."""
    error_gradient_fast: float | None = None
    """The same over the problem's fast parameters only."""
    error_by_parameter: Mapping[str, float | None] | None = None
    gradient_finite: bool | None = None
    """False where the forward solve succeeded but the gradient is not finite (then ``status`` is nonfinite)."""
    forward_s: float | None = None
    gradient_s: float | None = None
    steps: int | None = None
    rejected: int | None = None
    compile_s: float | None = None
    """Compiling this rung's forward and gradient programs; None where one program serves the whole ladder."""
    memory_bytes: int | None = None
    """The gradient program's memory by XLA's compiled memory analysis (arguments, outputs, temporaries)."""

    @property
    def ok(self) -> bool:
        return self.status == Status.OK


@final
@dataclasses.dataclass(frozen=True)
class PrecisionResult(Record):
    """A work–precision cell: problem × integrator × differentiation method × ladder, a row per rung."""

    SCHEMA: ClassVar[str] = "stiffbench.precision/1"

    key: CellKey
    inputs: PrecisionInputs
    status: Status
    message: str
    implementation: str | None = None
    fast_parameters: tuple[str, ...] = ()
    atol_ratio: float | None = None
    """The ratio used (the configured one, or the problem's scale)."""
    reference_source: str | None = None
    reference_error: float | None = None
    """An upper estimate of the reference's own relative error: its difference from a reference computed at a
    100× looser tolerance; None for an exact reference. If the reference's error shrinks with its tolerance, its
    own error is about 1/100 of this, so a rung's error below it is at the reference's floor."""
    traced_once: bool = False
    """One compiled forward and one gradient program served every rung (tolerances as traced arguments)."""
    compile_forward_s: float | None = None
    compile_gradient_s: float | None = None
    rungs: tuple[PrecisionRung, ...] = ()
    placement: Placement | None = None

    @property
    def problem(self) -> str:
        return self.key["problem"]

    @property
    def integrator(self) -> str:
        return self.key["integrator"]

    @property
    def differentiation(self) -> str:
        return self.key["differentiation"]

    @property
    def ladder(self) -> str:
        return self.key["ladder"]
