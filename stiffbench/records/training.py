"""The training record, ``stiffbench.training/1``: parameters fitted to observations of the reference solution
through one integrator, step policy, differentiation method and optimizer, starting from perturbed values; what the
optimizer saw at every iteration and where it ended (docs/theory.md §8)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar, final

from ..contracts import Status, StepPolicy
from .common import CellKey, Placement, Record

OPTIMIZERS = ("adam", "lbfgs")
"""``adam``: optax's Adam, the learning rate decaying exponentially to a tenth of its start over the iterations;
``lbfgs``: optax's L-BFGS with its zoom line search (each iteration may solve several times)."""

Column = tuple[float | None, ...]
"""One value per iteration, index 0 the start; None where not finite."""


@final
@dataclasses.dataclass(frozen=True)
class TrainingInputs:
    """What determines a training cell beyond its key."""

    policy: StepPolicy
    iterations: int
    learning_rate: float
    """Adam's initial rate (unused by L-BFGS, whose line search sets its steps)."""
    perturbation: float
    """The start: ``log θ0 = log θ* + σ ε`` for a rate, ``W0 = W* + σ rms(W*) ε`` for a weight array, ``ε`` standard
    normal from ``seed``."""
    noise: float
    """Observations ``d = y*(1 + noise ε)``, ``ε`` standard normal from ``seed`` (0: exact observations)."""
    seed: int
    parameters: Mapping[str, float]
    """The true rates (the problem's defaults); the true weights are the problem's."""
    fitted: tuple[str, ...]
    """Rates and weight arrays fitted; the others are held at their true values."""


@final
@dataclasses.dataclass(frozen=True)
class TrainingHistory:
    """Every iteration of a fit, as columns (index ``k``: the parameters before the ``k``-th update)."""

    loss: Column
    """``mean ((y_h − d)/s)²`` over observation times and components, ``s = max(|d|, 10⁻³ · peak |d_i|)``."""
    status: tuple[Status, ...]
    """Of the iteration's solve (or ``nonfinite`` for a finite solve with a non-finite loss or gradient)."""
    gradient: Mapping[str, Column]
    """``∂L/∂log θ`` for a rate (signed); ``‖∂L/∂W‖`` for a weight array (per layer)."""
    gradient_exact: Mapping[str, Column] | None
    """The same through the problem's exact solution at the same parameters (problems with a closed form)."""
    value: Mapping[str, Column]
    """The fitted rates ``θ``."""
    rel_error: Mapping[str, Column]
    """``|θ − θ*|/θ*`` per rate, ``‖W − W*‖/‖W*‖`` per weight array."""
    z_met: Column
    """``|h λ_max|``: the largest ``|eigenvalue|`` of ``∂f/∂y`` over the initial and observed states, times the
    fixed step (adaptive: the mean step)."""
    steps: tuple[int, ...]
    field_error: Column = ()
    """RMS over the reference states of ``(f(y*; θ) − f(y*; θ*)) / max_k |f_i(y*_k; θ*)|``: how far the fitted
    vector field is from the true one where the data are (0 for a network whose output is right, whatever its
    weights)."""


@final
@dataclasses.dataclass(frozen=True)
class TrainingResult(Record):
    """A training cell: problem × integrator × policy × differentiation × optimizer."""

    SCHEMA: ClassVar[str] = "stiffbench.training/1"

    key: CellKey
    inputs: TrainingInputs
    status: Status
    """``ok`` for a fit that ran every iteration; a failure status with the iteration that failed otherwise."""
    message: str
    implementation: str | None = None
    fast_parameters: tuple[str, ...] = ()
    reference_source: str | None = None
    start: Mapping[str, float] | None = None
    """The perturbed starting rates."""
    start_gradient_reference: Mapping[str, float] | None = None
    """``∂L/∂log θ`` of each fitted rate at the start through the reference solution and its sensitivities there
    (closed form, or the forward sensitivity equations): what an exact solver's gradient would be. None when weight
    arrays are fitted too."""
    failed_at: int | None = None
    """The iteration whose solve failed; the fit keeps the parameters it had before it."""
    final_loss: float | None = None
    final_rel_error: Mapping[str, float | None] | None = None
    """Of the last parameters that solved (per rate, per weight array)."""
    final_field_error: float | None = None
    """``TrainingHistory.field_error`` of the last parameters that solved."""
    iterations_to_1pct: Mapping[str, int | None] | None = None
    """Per fitted parameter, the first iteration whose relative error is at most 1 % (None: never)."""
    iterations_to_01pct: Mapping[str, int | None] | None = None
    compile_s: float | None = None
    """Tracing and compiling the whole training loop (every iteration is one compiled program's step)."""
    run_s: float | None = None
    history: TrainingHistory | None = None
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

    def gradient_ratio(self, name: str) -> float | None:
        """The integrator's ``∂L/∂log θ`` of a rate at the start over the reference's (None without one)."""
        if self.history is None or not self.start_gradient_reference or name not in self.start_gradient_reference:
            return None
        g, reference = self.history.gradient[name][0], self.start_gradient_reference[name]
        return g / reference if g is not None and reference else None
