"""A generic implicit Runge–Kutta engine in JAX: a Butcher tableau and a name make an integrator.

Every step solves the stacked stage system ``Y_i = y + h Σ_j a_ij f(t + c_j h, Y_j)`` for all stages
at once by Newton's method with an exact Jacobian (``jax.jacfwd``). The stage solve is wrapped in
``jax.lax.custom_root``, so gradients are taken by the implicit function theorem on the *converged*
stages — one linear solve per step in the backward pass, never by differentiating Newton's iterations.

Newton always runs at least two iterations: for a linear problem the first lands on the solution up to
a rounding error of about ``eps·|z|·|y|``, and the second (a step of iterative refinement) restores
full relative accuracy of the stages, which is what makes ``R(z)`` correct to ~1e-15 relative even
where it is ~1e-8 (``|z| = 1e8``). For stiffly accurate tableaus ``y1`` is the last stage, avoiding the
cancellation in ``y + h Σ b_i f(Y_i)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, final

import jax
import jax.numpy as jnp
import numpy as np

from stiffbench import AbstractIntegrator, ButcherTableau, FixedStep, Solution, Status, StepPolicy


@final
@dataclasses.dataclass(frozen=True)
class ImplicitRungeKutta(AbstractIntegrator):
    """An implicit Runge–Kutta method given by its tableau, solved by Newton on all stages at once."""

    name: str
    tableau: ButcherTableau
    order: int
    citation: str
    family: str = "Runge–Kutta"
    newton_rtol: float = 1e-10
    newton_atol: float = 1e-12
    newton_max_iter: int = 10
    implementation: str = "stiffbench native JAX: Newton on the stacked stages, implicit-function gradients"

    def __post_init__(self) -> None:
        if self.tableau.is_explicit:
            raise ValueError(
                f"{self.name}: the tableau is explicit (A strictly lower triangular), "
                "but ImplicitRungeKutta is for implicit methods"
            )

    @property
    def stages(self) -> int:
        return self.tableau.stages

    @property
    def theory(self) -> ButcherTableau:
        return self.tableau

    def solve(self, vector_field, t0, y0, ts, params, policy: StepPolicy) -> Solution:
        if not isinstance(policy, FixedStep):
            raise NotImplementedError(f"{self.name}: the native engine takes FixedStep only so far")
        times = policy.times(t0, ts)
        save = np.searchsorted(times, np.asarray(ts, dtype=np.float64))
        A, b, c = (jnp.asarray(x) for x in self.tableau.arrays())
        stiffly_accurate = self.tableau.is_stiffly_accurate
        y0 = jnp.asarray(y0, dtype=jnp.float64)

        def step(carry, t_h):
            y, failures = carry
            t, h = t_h
            Y, converged = self._stages(vector_field, params, A, c, t, h, y)
            if stiffly_accurate:
                y1 = Y[-1]
            else:
                F = jax.vmap(lambda ci, Yi: vector_field(t + ci * h, Yi, params))(c, Y)
                y1 = y + h * (b @ F)
            return (y1, failures + jnp.where(converged > 0, 0, 1)), y1

        steps = (jnp.asarray(times[:-1]), jnp.asarray(np.diff(times)))
        (_, failures), ys = jax.lax.scan(step, (y0, jnp.int32(0)), steps)
        ys = jnp.concatenate([y0[None], ys])[save]
        status = jnp.where(
            failures > 0,
            Status.NONLINEAR_SOLVE_FAILED,
            jnp.where(jnp.all(jnp.isfinite(ys)), Status.OK, Status.NONFINITE),
        )
        return Solution(ys, jnp.int32(len(times) - 1), jnp.int32(0), status.astype(jnp.int32))

    def _stages(self, vector_field, params: Mapping[str, Any], A, c, t, h, y):
        """Solve for the stage values; differentiable by the implicit function theorem."""

        def residual(Y):
            F = jax.vmap(lambda ci, Yi: vector_field(t + ci * h, Yi, params))(c, Y)
            return Y - y - h * (A @ F)

        def newton(g, Y):
            def body(state):
                Y, k, _, _ = state
                dY = _linear_solve(jax.jacfwd(g)(Y), g(Y))
                Y = Y - dY
                scale = self.newton_atol + self.newton_rtol * jnp.abs(Y)
                small = jnp.max(jnp.abs(dY) / scale) <= 1.0
                return Y, k + 1, small & (k >= 1), jnp.all(jnp.isfinite(Y))

            def keep_going(state):
                _, k, converged, finite = state
                return (~converged) & finite & (k < self.newton_max_iter)

            Y, _, converged, _ = jax.lax.while_loop(keep_going, body, (Y, 0, False, True))
            # A float flag: custom_root's JVP rule mishandles boolean auxiliary outputs (jax 0.10.2).
            return Y, converged.astype(Y.dtype)

        def tangent_solve(g, rhs):
            return _linear_solve(jax.jacfwd(g)(rhs), rhs)

        Y0 = jnp.broadcast_to(y, (A.shape[0], *y.shape))
        return jax.lax.custom_root(residual, Y0, newton, tangent_solve, has_aux=True)


def _linear_solve(jacobian, rhs):
    """Solve ``J x = rhs`` where both are shaped like the stacked stages ``(s, d)``."""
    n = rhs.size
    return jnp.linalg.solve(jacobian.reshape(n, n), rhs.reshape(n)).reshape(rhs.shape)
