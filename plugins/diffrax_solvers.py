"""diffrax's stiff solvers as stiffbench integrators, with the root finder an explicit, recorded choice.

Fixed steps follow the same step grid as every other integrator (:meth:`stiffbench.FixedStep.times`),
so one step is exactly one step (``diffrax.StepTo``). Solves run with ``throw=False``: a failed solve
becomes a status, never an exception. (JAX's persistent compilation cache stores a diffrax solve only
without host callbacks: ``throw=False`` and ``EQX_ON_ERROR=nan``, which the CLI sets.)
"""

from __future__ import annotations

import dataclasses
from typing import final

import diffrax
import jax.numpy as jnp
import numpy as np

from stiffbench import AbstractIntegrator, AdaptiveStep, ButcherTableau, FixedStep, Solution, Status, hookimpl

KVAERNO = "Kværnø, Singly diagonally implicit Runge–Kutta methods with an explicit first stage, BIT 44 (2004)"
KIDGER = "Kidger, On Neural Differential Equations, PhD thesis, Oxford 2021 (diffrax)"

# Root-finder tolerances with a fixed step: diffrax cannot inherit them from a step-size controller
# there, and refuses to run without. 1e-10 is tight enough for R(z) to roundoff on the linear test
# equation; a chord iteration is exact for linear problems.
ROOT_RTOL = ROOT_ATOL = 1e-10

_RESULT_STATUS = (  # diffrax's results are not hashable, hence pairs
    (diffrax.RESULTS.successful, Status.OK),
    (diffrax.RESULTS.max_steps_reached, Status.MAX_STEPS_REACHED),
    (diffrax.RESULTS.nonlinear_divergence, Status.NONLINEAR_SOLVE_FAILED),
    (diffrax.RESULTS.nonlinear_max_steps_reached, Status.NONLINEAR_SOLVE_FAILED),
    (diffrax.RESULTS.singular, Status.LINEAR_SOLVE_FAILED),
    (diffrax.RESULTS.breakdown, Status.LINEAR_SOLVE_FAILED),
)


def _status_table() -> np.ndarray:
    """diffrax result index -> stiffbench Status code, for every index diffrax can return."""
    table = np.full(len(diffrax.RESULTS._index_to_message), Status.SOLVER_FAILED, dtype=np.int32)
    for result, status in _RESULT_STATUS:
        table[result._value] = status
    return table


@final
@dataclasses.dataclass(frozen=True)
class DiffraxIntegrator(AbstractIntegrator):
    """A diffrax solver, its theory from its own tableau, solved through ``diffrax.diffeqsolve``."""

    name: str
    solver: diffrax.AbstractSolver
    order: int
    citation: str
    theory: ButcherTableau | None
    family: str = "Runge–Kutta"
    adjoint: diffrax.AbstractAdjoint = dataclasses.field(default_factory=diffrax.RecursiveCheckpointAdjoint)

    @property
    def stages(self) -> int:
        return self.theory.stages if self.theory is not None else 0

    @property
    def implementation(self) -> str:
        return f"diffrax {diffrax.__version__}: {self.solver!r}, adjoint {type(self.adjoint).__name__}"

    def solve(self, vector_field, t0, y0, ts, params, policy) -> Solution:
        ts = np.asarray(ts, dtype=np.float64)
        if isinstance(policy, FixedStep):
            controller, dt0 = diffrax.StepTo(ts=jnp.asarray(policy.times(t0, ts))), None
            max_steps = len(policy.times(t0, ts))
        elif isinstance(policy, AdaptiveStep):
            controller, dt0 = diffrax.PIDController(rtol=policy.rtol, atol=policy.atol), None
            max_steps = policy.max_steps
        else:
            raise NotImplementedError(f"{self.name}: unsupported step policy {policy!r}")
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field),
            self.solver,
            t0=float(t0),
            t1=float(ts[-1]),
            dt0=dt0,
            y0=jnp.asarray(y0, dtype=jnp.float64),
            args=params,
            saveat=diffrax.SaveAt(ts=jnp.asarray(ts)),
            stepsize_controller=controller,
            adjoint=self.adjoint,
            max_steps=max_steps,
            throw=False,
        )
        status = jnp.asarray(_status_table())[sol.result._value]
        status = jnp.where((status == Status.OK) & ~jnp.all(jnp.isfinite(sol.ys)), Status.NONFINITE, status)
        return Solution(sol.ys, sol.stats["num_accepted_steps"], sol.stats["num_rejected_steps"], status)


def tableau_of(solver_class: type[diffrax.AbstractSolver]) -> ButcherTableau:
    """The Butcher tableau that a diffrax Runge–Kutta class carries (``tableau``), as stiffbench theory."""
    t = solver_class.tableau
    s = len(t.b_sol)
    A = np.zeros((s, s))
    for i, row in enumerate(t.a_lower, start=1):
        A[i, : len(row)] = row
    if t.a_diagonal is not None:
        A[np.diag_indices(s)] = t.a_diagonal
    return ButcherTableau(A=A, b=t.b_sol, c=np.concatenate([[t.c1], t.c]))


def _root_finder() -> diffrax.VeryChord:
    return diffrax.VeryChord(rtol=ROOT_RTOL, atol=ROOT_ATOL)


@hookimpl
def register_integrators(register):
    register(
        DiffraxIntegrator(
            name="diffrax-implicit-euler",
            solver=diffrax.ImplicitEuler(root_finder=_root_finder()),
            order=1,
            # diffrax.ImplicitEuler carries no tableau object; backward Euler's is its definition.
            theory=ButcherTableau(A=[[1]], b=[1], c=[1]),
            citation=f"Backward Euler, as diffrax.ImplicitEuler. {KIDGER}",
        )
    )
    register(
        DiffraxIntegrator(
            name="diffrax-kvaerno5",
            solver=diffrax.Kvaerno5(root_finder=_root_finder()),
            order=5,
            theory=tableau_of(diffrax.Kvaerno5),
            citation=f"Kvaerno5: ESDIRK, 7 stages, order 5, L-stable, stiffly accurate. {KVAERNO}",
        )
    )
