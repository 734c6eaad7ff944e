"""The Rosenbrock engine: linearly implicit methods in JAX: one linear solve per stage, no Newton iteration.

Stages in the standard form of Hairer & Wanner II, IV.7, eq. (7.4'), for ``y' = f(t, y)``:
``(I − h γ_ii J) k_i = h f(t + α_i h, y + Σ_{j<i} α_ij k_j) + h J Σ_{j<i} γ_ij k_j + γ_i h² ∂f/∂t``,
``y1 = y + Σ b_i k_i``, with the exact Jacobian ``J = ∂f/∂y`` at ``(t, y)``, built by the problem's structure
(:mod:`stiffbench.engines.linalg`), ``α_i = Σ_j α_ij`` and ``γ_i = Σ_j γ_ij``. ``I − h γ_ii J`` is factored once per
distinct ``γ_ii`` (once per step for the catalog's methods), and ``J`` enters the right-hand sides only through
Jacobian–vector products. The stability function is the Runge–Kutta one with ``A = α + γ`` (docs/theory.md §1).
Gradients are plain autodiff through the factorization and the solves (exact for the discrete scheme: ``J`` is
exact, so nothing is approximated that the derivative would have to know about).
"""

from __future__ import annotations

import dataclasses
from typing import final

import jax
import jax.numpy as jnp
import numpy as np

from stiffbench import AbstractIntegrator, Differentiation, ForwardMode, ReverseMode, Solution, StepPolicy
from stiffbench.contracts import jacobian_structure
from stiffbench.contracts.differentiation import REVERSE
from stiffbench.engines import linalg
from stiffbench.engines.stepping import solve_one_step_method
from stiffbench.theory import RosenbrockMethod


@final
@dataclasses.dataclass(frozen=True)
class Rosenbrock(AbstractIntegrator):
    """A Rosenbrock method given by its coefficients ``(α, γ, b[, b_embedded])``."""

    name: str
    method: RosenbrockMethod
    order: int
    citation: str
    family: str = "Rosenbrock"
    differentiation: Differentiation = REVERSE
    differentiation_methods = (ReverseMode, ForwardMode)

    @property
    def stages(self) -> int:
        return self.method.stages

    @property
    def theory(self) -> RosenbrockMethod:
        return self.method

    @property
    def implementation(self) -> str:
        error = "embedded" if self.method.b_embedded is not None else "step doubling"
        return (f"stiffbench native JAX: exact Jacobian by the problem's structure, factored once per step, one solve "
                f"per stage; adaptive error by {error}")

    def solve(self, vector_field, t0, y0, ts, params, policy: StepPolicy) -> Solution:
        return solve_one_step_method(self, vector_field, t0, y0, ts, params, policy,
                                     embedded=self.method.b_embedded is not None, differentiation=self.differentiation)

    def step(self, f, params, t, h, y, with_error: bool = False):
        """One step: ``(y1, error estimate or None, True)`` (nothing to converge)."""
        alpha, gamma, b, b_embedded = self.method.arrays()
        structure = linalg.Structure.of(y.size, jacobian_structure(f))
        J = linalg.jacobian(lambda u: f(t, u, params), y, structure)
        f_t = jax.jvp(lambda t: f(t, y, params), (t,), (jnp.ones_like(t),))[1]
        factors = {g: linalg.factor(J.shifted(1.0, scale=h * g), structure) for g in {float(g) for g in np.diag(gamma)}}
        k = []
        for i in range(len(b)):
            shifted = y + sum((alpha[i, j] * k[j] for j in range(i)), jnp.zeros_like(y))
            coupling = sum((gamma[i, j] * k[j] for j in range(i)), jnp.zeros_like(y))
            J_coupling = jax.jvp(lambda u: f(t, u, params), (y,), (coupling,))[1]
            rhs = h * f(t + alpha[i].sum() * h, shifted, params) + h * J_coupling + gamma[i].sum() * h**2 * f_t
            k.append(linalg.solve(factors[float(gamma[i, i])], rhs))  # (I − h γ_ii J) k_i = rhs
        K = jnp.stack(k)
        y1 = y + jnp.asarray(b) @ K
        error = jnp.asarray(b - b_embedded) @ K if with_error else None
        return y1, error, jnp.bool_(True)
