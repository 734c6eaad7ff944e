"""The gradient record, ``stiffbench.gradients/2``: sensitivities ``∂y(t_k)/∂log θ_j`` through one integrator on
one problem with one step policy, at each stiffness value, against the reference (docs/theory.md §6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar, final

from ..contracts import Status, StepPolicy
from .common import CellKey, Placement, Record

Matrix = tuple[tuple[float, ...], ...]
"""Rows over observation times, columns over state components."""


@final
@dataclasses.dataclass(frozen=True)
class GradientInputs:
    """What determines a gradient cell beyond its key: the step policy and the stiffness values it scans."""

    policy: StepPolicy
    stiffness_parameter: str
    stiffness: tuple[float, ...]


@final
@dataclasses.dataclass(frozen=True)
class Fidelity:
    """One parameter's sensitivity against the reference: Frobenius norms over times and components."""

    norm: float | None
    norm_reference: float | None
    ratio: float | None
    """``‖S‖/‖S_ref‖``: 1 for a faithful gradient, below 1 where the integrator damps it; None if ``S_ref = 0``."""
    rel_err: float | None
    """``‖S − S_ref‖/‖S_ref‖``; None if the reference is exactly zero (an underflowed ``e^(−λT)``)."""


@final
@dataclasses.dataclass(frozen=True)
class GradientRow:
    """One stiffness value of a gradient cell."""

    stiffness: float
    parameters: Mapping[str, float]
    status: Status
    message: str
    ys: Matrix | None = None
    sensitivity: Mapping[str, Matrix] | None = None
    """``∂y(t_k)/∂log θ_j`` by reverse-mode autodiff through the integrator."""
    reference: Mapping[str, Matrix] | None = None
    theory: Mapping[str, Matrix] | None = None
    """Linear problems, fixed steps, one-step methods: ``R(hA)^n y0`` differentiated (docs/theory.md §2)."""
    fidelity: Mapping[str, Fidelity] | None = None
    max_rel_err: float | None = None
    """Worst parameter's ``rel_err``."""
    max_rel_err_ys: float | None = None
    """``‖y − y_ref‖/‖y_ref‖`` of the states."""
    max_rel_err_theory: float | None = None
    """Worst parameter's ``‖S − S_theory‖/‖S_theory‖``."""
    lambda_max: float | None = None
    """Largest ``|λ|`` of ``∂f/∂y`` at the initial and the observed states."""
    z_met: float | None = None
    """``h·lambda_max``: the stiffness met (with the mean step if adaptive, see ``z_met_is_estimate``)."""
    steps: int | None = None
    rejected: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == Status.OK


@final
@dataclasses.dataclass(frozen=True)
class GradientCost:
    """Stored once per cell: every stiffness value is one ``vmap``-ed, compiled program."""

    compile_forward_s: float
    compile_gradient_s: float
    forward_s: float
    """One run of the compiled forward solve over all stiffness values."""
    gradient_s: float
    """One run of the compiled gradient, which traces the solve once (its primal gives the states)."""


@final
@dataclasses.dataclass(frozen=True)
class GradientResult(Record):
    """A gradient cell: problem × integrator × step policy, with a row per stiffness value."""

    SCHEMA: ClassVar[str] = "stiffbench.gradients/2"

    key: CellKey
    inputs: GradientInputs
    status: Status
    """``ok`` when the cell was measured (its rows say how each value went); otherwise why it could not be."""
    message: str
    implementation: str | None = None
    ts: tuple[float, ...] = ()
    fast_parameters: tuple[str, ...] = ()
    reference_source: str | None = None
    z_met_is_estimate: bool = False
    cost: GradientCost | None = None
    rows: tuple[GradientRow, ...] = ()
    placement: Placement | None = None

    @property
    def problem(self) -> str:
        return self.key["problem"]

    @property
    def integrator(self) -> str:
        return self.key["integrator"]

    @property
    def policy(self) -> StepPolicy:
        return self.inputs.policy
