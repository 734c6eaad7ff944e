"""The integrator contract: what every integrator plugin provides, and what its ``solve`` returns."""

from __future__ import annotations

import abc
import dataclasses
import enum
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, final

import jax
import numpy as np
from jax import Array

from .theory import ButcherTableau, LinearMultistep, RationalFunction, RosenbrockMethod

VectorField = Callable[[Array, Array, Mapping[str, Array]], Array]
"""``f(t, y, params) -> dy/dt``, traceable by JAX."""

NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class StepPolicy:
    """How an integrator chooses its steps: :class:`FixedStep` or :class:`AdaptiveStep`."""


@final
@dataclasses.dataclass(frozen=True)
class FixedStep(StepPolicy):
    """Constant step ``h`` (the paper's setting: ``z = hλ`` is controlled).

    Each interval between observation times is covered by steps of exactly ``h`` except the last,
    which is shortened to land on the observation time.
    """

    h: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.h) and self.h > 0):
            raise ValueError(f"FixedStep: the step h must be positive and finite, got {self.h!r}")

    def times(self, t0: float, ts: Any) -> np.ndarray:
        """Every step boundary from ``t0`` through the observation times, as a float64 array.

        Integrators with a fixed step step exactly between consecutive entries, so that all of them,
        native or wrapped, take the same steps.
        """
        ts = np.asarray(ts, dtype=np.float64)
        if ts.ndim != 1 or np.any(np.diff(np.concatenate([[t0], ts])) < 0):
            raise ValueError(f"observation times must be a non-decreasing 1-d sequence from t0={t0}")
        times, start = [float(t0)], float(t0)
        for t in ts:
            # The 1e-12 slack stops an interval of 10h computed as 10.000000001h from taking 11 steps.
            n = int(np.ceil((t - start) / self.h * (1 - 1e-12)))
            times.extend(start + self.h * np.arange(1, n))
            if t > start:
                times.append(float(t))
            start = float(t)
        return np.asarray(times)


@final
@dataclasses.dataclass(frozen=True)
class AdaptiveStep(StepPolicy):
    """Error-controlled steps with mixed tolerance ``atol + rtol·|y|``."""

    rtol: float
    atol: float
    max_steps: int = 100_000

    def __post_init__(self) -> None:
        for field in ("rtol", "atol"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"AdaptiveStep: {field} must be positive and finite, got {value!r}")
        if self.max_steps < 1:
            raise ValueError(f"AdaptiveStep: max_steps must be at least 1, got {self.max_steps!r}")


class Status(enum.IntEnum):
    """Outcome of a solve. ``Solution.status`` holds the code; :attr:`message` says what to do."""

    OK = 0
    NONLINEAR_SOLVE_FAILED = 1
    MAX_STEPS_REACHED = 2
    NONFINITE = 3
    LINEAR_SOLVE_FAILED = 4
    STEP_SIZE_TOO_SMALL = 5
    SOLVER_FAILED = 6

    @property
    def message(self) -> str:
        return _STATUS_MESSAGES[self]


_STATUS_MESSAGES = {
    Status.OK: "ok",
    Status.NONLINEAR_SOLVE_FAILED: (
        "nonlinear solve did not converge; try a smaller step, a looser root-finder tolerance "
        "or more Newton iterations"
    ),
    Status.MAX_STEPS_REACHED: "max steps reached; try a larger max_steps, a looser rtol or a stiff integrator",
    Status.NONFINITE: "non-finite values (overflow or NaN); the method is unstable at this step size",
    Status.LINEAR_SOLVE_FAILED: "linear solve in the Newton iteration failed (singular iteration matrix)",
    Status.STEP_SIZE_TOO_SMALL: (
        "step size fell below 1e-14·|t|; the solution may blow up there, or the tolerances are too tight"
    ),
    Status.SOLVER_FAILED: "the solver reported a failure; see the integrator's documentation",
}


@final
@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Solution:
    """What ``solve`` returns: a pytree of arrays, so it passes through ``jit``, ``vmap`` and ``grad``."""

    ys: Array
    """States at the observation times, shape ``(len(ts), len(y0))``."""
    num_steps: Array
    """Accepted steps."""
    num_rejected: Array
    """Rejected steps (0 for a fixed step)."""
    status: Array
    """A :class:`Status` code (int32)."""


class AbstractIntegrator(abc.ABC):
    """An integrator plugin: an immutable object with descriptive metadata, theory and ``solve``.

    Concrete integrators are final frozen dataclasses providing these attributes:
    """

    name: str
    """Short, stable, lowercase, hyphenated (``backward-euler``): results and asv parameters are keyed by it."""
    family: str
    """``"Runge–Kutta"``, ``"Rosenbrock"``, ``"multistep"``, ``"explicit"``, ..."""
    order: int
    stages: int
    implementation: str
    """What actually computes the steps, e.g. ``"stiffbench native JAX"`` or ``"diffrax.Kvaerno5"``."""
    citation: str
    theory: ButcherTableau | RosenbrockMethod | LinearMultistep | RationalFunction | None
    """The method's defining data; the host derives ``R``, ``R'``, stability and decay from it."""

    REQUIRED: ClassVar[tuple[str, ...]] = (
        "name", "family", "order", "stages", "implementation", "citation", "theory",
    )

    @abc.abstractmethod
    def solve(
        self,
        vector_field: VectorField,
        t0: float,
        y0: Array,
        ts: Any,
        params: Mapping[str, Array],
        policy: StepPolicy,
    ) -> Solution:
        """Integrate from ``(t0, y0)`` and return the states at the observation times ``ts``.

        ``t0``, ``ts`` and ``policy`` are static (concrete Python/numpy values); ``y0`` and ``params``
        may be traced. The result must be differentiable with respect to ``y0`` and ``params`` by JAX
        reverse-mode autodiff and must not raise on a failed solve: report it in ``status``.
        An integrator that cannot follow ``policy`` raises ``NotImplementedError`` with a reason.
        """


class AbstractMultistepIntegrator(AbstractIntegrator):
    """A linear multistep integrator: besides ``solve``, one step from a given history.

    The stability measurement needs it: a multistep method has no single ``R``, its per-step
    amplification is the principal root ``ζ₁(z)``, measured by one step from the exact history
    ``y_j = ζ₁(z)^j`` (theory.md §5). ``theory`` is a :class:`~stiffbench.theory.LinearMultistep`.
    """

    @abc.abstractmethod
    def step(self, vector_field: VectorField, t: Array, h: Array, history: Array, params: Mapping[str, Array]):
        """``(y_next, converged)``: the state at ``t + h`` from ``history`` (shape ``(k, d)``), the states
        at ``t − (k−1)h, …, t`` oldest first. Differentiable like ``solve``."""
