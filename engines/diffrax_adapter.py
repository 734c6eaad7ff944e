"""The diffrax adapter: a diffrax Runge–Kutta solver as a stiffbench integrator, the root finder an explicit,
recorded choice.

The implicit ones (ESDIRKs, the implicit halves of the KenCarp IMEX pairs, backward Euler) come with
explicit controls (Tsit5, Dopri5, Heun) so that "not A-stable" shows in the same table. Every theory is
the solver class's own tableau, so the measurement compares diffrax's code with diffrax's coefficients.

Fixed steps follow the same step grid as every other integrator (:meth:`stiffbench.FixedStep.times`),
so one step is exactly one step (``diffrax.StepTo``). Solves run with ``throw=False``: a failed solve
becomes a status, never an exception. (JAX's persistent compilation cache stores a diffrax solve only
without host callbacks: ``throw=False`` and ``EQX_ON_ERROR=nan``, which importing stiffbench sets.)
"""

from __future__ import annotations

import dataclasses
from typing import final

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from stiffbench import (
    AbstractIntegrator,
    AdaptiveStep,
    BacksolveAdjoint,
    ButcherTableau,
    Differentiation,
    DirectAdjoint,
    FixedStep,
    ForwardMode,
    ReverseMode,
    Solution,
    Status,
)
from stiffbench.contracts.differentiation import REVERSE

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


def _implicit_index(solver: diffrax.AbstractSolver | type[diffrax.AbstractSolver]) -> int | None:
    """Position of the implicit tableau of an IMEX solver (a ``MultiButcherTableau``), else None.

    diffrax pairs tableaus with the terms of a ``MultiTerm`` in order and solves implicitly for the
    first implicit one (KenCarp: ``(explicit, implicit)``, index 1); this applies the same rule.
    """
    tableau = getattr(solver, "tableau", None)
    if not isinstance(tableau, diffrax.MultiButcherTableau):
        return None
    return next(i for i, t in enumerate(tableau.tableaus) if t.implicit)


def _term_roles(solver: diffrax.AbstractSolver) -> tuple[bool, ...] | None:
    """For an IMEX solver, which terms of its ``MultiTerm`` carry the vector field (only the implicit one)."""
    k = _implicit_index(solver)
    return None if k is None else tuple(i == k for i in range(len(solver.tableau.tableaus)))


def _zero(t, y, args):
    return jnp.zeros_like(y)


@final
@dataclasses.dataclass(frozen=True)
class DiffraxIntegrator(AbstractIntegrator):
    """A diffrax solver, its theory from its own tableau, solved through ``diffrax.diffeqsolve``.

    An IMEX solver gets the whole vector field as its implicit term and zero as the others, which makes
    it its implicit method; its theory is then the implicit tableau.
    """

    name: str
    solver: diffrax.AbstractSolver
    order: int
    citation: str
    theory: ButcherTableau | None
    family: str = "Runge–Kutta"
    differentiation: Differentiation = REVERSE
    differentiation_methods = (ReverseMode, DirectAdjoint, BacksolveAdjoint, ForwardMode)

    @property
    def adjoint(self) -> diffrax.AbstractAdjoint:
        """diffrax's adjoint for :attr:`differentiation`."""
        method = self.differentiation
        if isinstance(method, ReverseMode):
            return diffrax.RecursiveCheckpointAdjoint(checkpoints=method.checkpoints)
        if isinstance(method, DirectAdjoint):
            return diffrax.DirectAdjoint()
        if isinstance(method, BacksolveAdjoint):
            return diffrax.BacksolveAdjoint()
        if isinstance(method, ForwardMode):
            return diffrax.ForwardMode()
        raise NotImplementedError(f"{self.name}: no diffrax adjoint for {method.label}")

    @property
    def stages(self) -> int:
        return self.theory.stages if self.theory is not None else 0

    @property
    def implementation(self) -> str:
        roles = _term_roles(self.solver)
        terms = "" if roles is None else f" on MultiTerm({', '.join('f' if r else '0' for r in roles)})"
        # An explicit solver's repr has no root finder; say so rather than leave it to be inferred.
        root = "" if hasattr(self.solver, "root_finder") else ", no root finder"
        return f"diffrax {diffrax.__version__}: {self.solver!r}{terms}{root}, adjoint {type(self.adjoint).__name__}"

    def _terms(self, vector_field) -> diffrax.AbstractTerm:
        term, roles = diffrax.ODETerm(vector_field), _term_roles(self.solver)
        if roles is None:
            return term
        return diffrax.MultiTerm(*(term if r else diffrax.ODETerm(_zero) for r in roles))

    def solve(self, vector_field, t0, y0, ts, params, policy) -> Solution:
        ts = np.asarray(ts, dtype=np.float64)
        if isinstance(policy, FixedStep):
            if isinstance(self.differentiation, BacksolveAdjoint):
                raise NotImplementedError(f"{self.name}: backsolve solves the adjoint backwards under the step "
                                          "controller, and StepTo's grid runs forwards only: adaptive steps only")
            controller, dt0 = diffrax.StepTo(ts=jnp.asarray(policy.times(t0, ts))), None
            max_steps = len(policy.times(t0, ts))
        elif isinstance(policy, AdaptiveStep):
            controller, dt0 = diffrax.PIDController(rtol=policy.rtol, atol=policy.atol), None
            max_steps = policy.max_steps
        else:
            raise NotImplementedError(f"{self.name}: unsupported step policy {policy!r}")
        sol = diffrax.diffeqsolve(
            self._terms(vector_field),
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
    """The Butcher tableau that a diffrax Runge–Kutta class carries (``tableau``), as stiffbench theory.

    For an IMEX class (a ``MultiButcherTableau``) it is the implicit tableau, the one that acts on the
    vector field in :class:`DiffraxIntegrator`.
    """
    t = solver_class.tableau
    k = _implicit_index(solver_class)
    if k is not None:
        t = t.tableaus[k]
    s = len(t.b_sol)
    A = np.zeros((s, s))
    for i, row in enumerate(t.a_lower, start=1):
        A[i, : len(row)] = row
    if t.a_diagonal is not None:
        A[np.diag_indices(s)] = t.a_diagonal
    return ButcherTableau(A=A, b=t.b_sol, c=np.concatenate([[t.c1], t.c]))


class StallTolerantVeryChord(diffrax.VeryChord):
    """``diffrax.VeryChord`` that takes a correction too small to change ``y`` as converged, not diverged.

    diffrax's KenCarp solvers are not FSAL, so they pass their explicit first stage through the root finder
    too, from a predictor that is already right to within an ulp. The correction then leaves ``y`` as it
    was, the next one is identical, and VeryChord reads the rate 1 as divergence: with diffrax 0.7.2 and
    tolerances from 1e-6 to 1e-10, a fixed-step solve fails from its second step on, and an adaptive one
    rejects step after step until max_steps. Nothing else changes: a stalled iteration only repeats ``y``.
    """

    def terminate(self, fn, y, args, options, state, tags):
        terminate, result = super().terminate(fn, y, args, options, state, tags)
        unchanged = jax.tree.leaves(jax.tree.map(lambda a, d: jnp.all(a - d == a), y, state.diff))
        stalled = (state.step >= 2) & (state.result == optx.RESULTS.successful) & jnp.all(jnp.stack(unchanged))
        return terminate | stalled, optx.RESULTS.where(stalled, optx.RESULTS.successful, result)


def root_finder(solver_class: type[diffrax.AbstractSolver] | None = None) -> diffrax.VeryChord:
    """diffrax's default root finder at ROOT_RTOL/ROOT_ATOL; stall-tolerant for the IMEX (KenCarp) solvers."""
    kind = diffrax.VeryChord if _implicit_index(solver_class) is None else StallTolerantVeryChord
    return kind(rtol=ROOT_RTOL, atol=ROOT_ATOL)
