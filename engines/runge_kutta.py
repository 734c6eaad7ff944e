"""A generic implicit Runge–Kutta engine in JAX: a Butcher tableau and a name make an integrator.

Stages: a fully implicit tableau is solved as one stacked system ``Y_i = y + h Σ_j a_ij f(t + c_j h, Y_j)``
by Newton's method with an exact Jacobian (``jax.jacfwd``); a diagonally implicit one stage by stage
(explicit stages, ``a_ii = 0``, are evaluated directly). Gradients go through the converged stages by
the implicit function theorem (:mod:`stiffbench.engines.newton`). For stiffly accurate tableaus ``y1``
is the last stage, avoiding the cancellation in ``y + h Σ b_i f(Y_i)``, which is what keeps ``R(z)``
at machine precision relative to its size up to ``|z| = 1e8``.

Steps: the loops of :mod:`stiffbench.engines.stepping`; adaptive steps use the tableau's embedded
weights (``b_embedded``) where it has them, step doubling otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import final

import jax
import jax.numpy as jnp
import numpy as np

from stiffbench import (
    AbstractIntegrator,
    ButcherTableau,
    Differentiation,
    ForwardMode,
    ReverseMode,
    Solution,
    StepPolicy,
)
from stiffbench.contracts.differentiation import REVERSE
from stiffbench.engines.newton import newton_solve
from stiffbench.engines.stepping import solve_one_step_method


@final
@dataclasses.dataclass(frozen=True)
class ImplicitRungeKutta(AbstractIntegrator):
    """An implicit Runge–Kutta method given by its tableau: Newton on the stages, implicit-function gradients."""

    name: str
    tableau: ButcherTableau
    order: int
    citation: str
    family: str = "Runge–Kutta"
    newton_rtol: float = 1e-10
    newton_atol: float = 1e-12
    newton_max_iter: int = 10
    differentiation: Differentiation = REVERSE
    differentiation_methods = (ReverseMode, ForwardMode)

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

    @property
    def implementation(self) -> str:
        how = "stage by stage" if self.tableau.is_diagonally_implicit else "on the stacked stages"
        error = "embedded" if self.tableau.b_embedded is not None else "step doubling"
        return f"stiffbench native JAX: Newton {how}, implicit-function gradients; adaptive error by {error}"

    def solve(self, vector_field, t0, y0, ts, params, policy: StepPolicy) -> Solution:
        return solve_one_step_method(self, vector_field, t0, y0, ts, params, policy,
                                     embedded=self.tableau.b_embedded is not None, differentiation=self.differentiation)

    def step(self, f, params, t, h, y, with_error: bool = False):
        """One step from ``(t, y)``: ``(y1, error estimate or None, converged)``."""
        A, b, c = (jnp.asarray(x) for x in self.tableau.arrays())
        if self.tableau.is_diagonally_implicit:
            Y, converged = self._stages_one_by_one(f, params, A, c, t, h, y)
        else:
            Y, converged = self._stages_stacked(f, params, A, c, t, h, y)
        needs_F = with_error or not self.tableau.is_stiffly_accurate
        F = jax.vmap(lambda ci, Yi: f(t + ci * h, Yi, params))(c, Y) if needs_F else None
        y1 = Y[-1] if self.tableau.is_stiffly_accurate else y + h * (b @ F)
        error = None
        if with_error:
            error = h * ((b - jnp.asarray(np.asarray(self.tableau.b_embedded, dtype=np.float64))) @ F)
        return y1, error, converged

    def _stages_stacked(self, f, params, A, c, t, h, y):
        def residual(Y):
            F = jax.vmap(lambda ci, Yi: f(t + ci * h, Yi, params))(c, Y)
            return Y - y - h * (A @ F)

        return self._newton_solve(residual, jnp.broadcast_to(y, (A.shape[0], *y.shape)))

    def _stages_one_by_one(self, f, params, A, c, t, h, y):
        A_np = np.asarray(self.tableau.arrays()[0])
        Y, F, converged = [], [], jnp.bool_(True)
        for i in range(A_np.shape[0]):
            known = y + h * sum((A[i, j] * F[j] for j in range(i)), jnp.zeros_like(y))
            if A_np[i, i] == 0:
                Yi = known
            else:
                def residual(Yi, i=i, known=known):
                    return Yi - known - h * A[i, i] * f(t + c[i] * h, Yi, params)

                Yi, ok = self._newton_solve(residual, Y[-1] if Y else y)
                converged = converged & ok
            Y.append(Yi)
            F.append(f(t + c[i] * h, Yi, params))
        return jnp.stack(Y), converged

    def _newton_solve(self, residual, guess):
        return newton_solve(
            residual, guess, rtol=self.newton_rtol, atol=self.newton_atol, max_iter=self.newton_max_iter
        )
