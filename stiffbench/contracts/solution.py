"""What a solve returns (:class:`Solution`) and how it ended (:class:`Status`, a code with a message that says
what to try)."""

from __future__ import annotations

import dataclasses
import enum
from typing import final

import jax
from jax import Array


class Status(enum.IntEnum):
    """Outcome of a solve, or of a measurement. ``Solution.status`` holds the code; :attr:`message` says what
    to do. The last three never come from a solve: a measurement that raised, a combination that does not
    apply (an integrator that cannot follow a step policy), and a measurement left out to bound a run's time (the
    tighter rungs of a ladder whose last rung was already too slow)."""

    OK = 0
    NONLINEAR_SOLVE_FAILED = 1
    MAX_STEPS_REACHED = 2
    NONFINITE = 3
    LINEAR_SOLVE_FAILED = 4
    STEP_SIZE_TOO_SMALL = 5
    SOLVER_FAILED = 6
    ERROR = 7
    NOT_APPLICABLE = 8
    SKIPPED = 9

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def label(self) -> str:
        """The code as records store it: ``ok``, ``nonlinear-solve-failed``, ..."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_label(cls, label: str) -> Status:
        try:
            return cls[label.upper().replace("-", "_")]
        except KeyError:
            valid = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown status {label!r}; valid: {valid}") from None


_MESSAGES = {
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
    Status.ERROR: "the measurement raised an exception",
    Status.NOT_APPLICABLE: "not applicable: the integrator does not support this combination",
    Status.SKIPPED: "not measured: a looser rung of the ladder already took longer than the time budget",
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


jax.export.register_pytree_node_serialization(  # so that exported programs returning a Solution can be stored
    Solution, serialized_name="stiffbench.Solution", serialize_auxdata=lambda _: b"", deserialize_auxdata=lambda _: ())
