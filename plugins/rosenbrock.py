"""Rosenbrock (linearly implicit) methods in JAX: one linear solve per stage, no Newton iteration.

Stages in the standard form of Hairer & Wanner II, IV.7, eq. (7.4'), for ``y' = f(t, y)``:
``(I − h γ_ii J) k_i = h f(t + α_i h, y + Σ_{j<i} α_ij k_j) + h J Σ_{j<i} γ_ij k_j + γ_i h² ∂f/∂t``,
``y1 = y + Σ b_i k_i``, with the exact Jacobian ``J = ∂f/∂y`` at ``(t, y)`` by ``jax.jacfwd``,
``α_i = Σ_j α_ij`` and ``γ_i = Σ_j γ_ij``. The stability function is the Runge–Kutta one with
``A = α + γ`` (theory.md §1). Gradients are plain autodiff through the linear solves.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction as F
from typing import final

import jax
import jax.numpy as jnp

from stiffbench import AbstractIntegrator, Solution, StepPolicy, hookimpl
from stiffbench.plugins.stepping import solve_one_step_method
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

    @property
    def stages(self) -> int:
        return self.method.stages

    @property
    def theory(self) -> RosenbrockMethod:
        return self.method

    @property
    def implementation(self) -> str:
        error = "embedded" if self.method.b_embedded is not None else "step doubling"
        return f"stiffbench native JAX: exact Jacobian, one linear solve per stage; adaptive error by {error}"

    def solve(self, vector_field, t0, y0, ts, params, policy: StepPolicy) -> Solution:
        return solve_one_step_method(self, vector_field, t0, y0, ts, params, policy,
                                     embedded=self.method.b_embedded is not None)

    def step(self, f, params, t, h, y, with_error: bool = False):
        """One step: ``(y1, error estimate or None, True)`` (nothing to converge)."""
        alpha, gamma, b, b_embedded = self.method.arrays()
        J = jax.jacfwd(lambda y: f(t, y, params))(y)
        f_t = jax.jacfwd(lambda t: f(t, y, params))(t)
        eye = jnp.eye(y.size)
        k = []
        for i in range(len(b)):
            shifted = y + sum((alpha[i, j] * k[j] for j in range(i)), jnp.zeros_like(y))
            coupling = sum((gamma[i, j] * k[j] for j in range(i)), jnp.zeros_like(y))
            rhs = h * f(t + alpha[i].sum() * h, shifted, params) + h * (J @ coupling) + gamma[i].sum() * h**2 * f_t
            k.append(jnp.linalg.solve(eye - h * gamma[i, i] * J, rhs))
        K = jnp.stack(k)
        y1 = y + jnp.asarray(b) @ K
        error = jnp.asarray(b - b_embedded) @ K if with_error else None
        return y1, error, jnp.bool_(True)


GAMMA_ROS2 = 1 + 1 / math.sqrt(2)
GAMMA_ROS3P = (3 + math.sqrt(3)) / 6

INTEGRATORS = (
    Rosenbrock(
        name="ros2",
        method=RosenbrockMethod(
            alpha=[[0, 0], [1, 0]],
            gamma=[[GAMMA_ROS2, 0], [-2 * GAMMA_ROS2, GAMMA_ROS2]],
            b=[F(1, 2), F(1, 2)],
            b_embedded=[1, 0],
        ),
        order=2,
        citation="ROS2, gamma = 1 + 1/sqrt(2); L-stable. Verwer, Spee, Blom & Hundsdorfer, "
        "SIAM J. Sci. Comput. 20 (1999)",
    ),
    Rosenbrock(
        name="ros3p",
        method=RosenbrockMethod(
            alpha=[[0, 0, 0], [1, 0, 0], [1, 0, 0]],
            gamma=[[GAMMA_ROS3P, 0, 0], [-1, GAMMA_ROS3P, 0],
                   [-GAMMA_ROS3P, -(0.5 + math.sqrt(3) / 3), GAMMA_ROS3P]],
            b=[F(2, 3), 0, F(1, 3)],
            b_embedded=[F(1, 3), F(1, 3), F(1, 3)],
        ),
        order=3,
        citation="ROS3P; A-stable, R(inf) = 1 - sqrt(3), no order reduction for parabolic PDEs. "
        "Lang & Verwer, BIT 41 (2001)",
    ),
    Rosenbrock(
        name="rodas4",
        # Converted exactly to the standard form from the transformed coefficients of rodas.f.
        method=RosenbrockMethod(
            alpha=[
                [0, 0, 0, 0, 0, 0],
                [0.386, 0, 0, 0, 0, 0],
                [0.1460747075254179, 0.0639252924745821, 0, 0, 0, 0],
                [-0.3308115036677301, 0.7111510251682848, 0.24966047849944542, 0, 0, 0],
                [-4.552557186318031, 1.7101813632413319, 4.014347332103172, -0.17197150902647376, 0, 0],
                [2.4286337654669876, -0.38274873376478463, -1.8557203309295804, 0.5598352992273763, 0.25, 0],
            ],
            gamma=[
                [0.25, 0, 0, 0, 0, 0],
                [-0.3543, 0.25, 0, 0, 0, 0],
                [-0.13360250526817555, -0.012897494731824468, 0.25, 0, 0, 0],
                [1.526849173006467, -0.5336562887504572, -1.27939288425601, 0.25, 0, 0],
                [6.981190951785019, -2.0929300970061164, -5.870067663032753, 0.73180680825385, 0.25, 0],
                [-2.0801894941809365, 0.5957623556766833, 1.701617798267262, -0.08851451983588043,
                 -0.3786761399271284, 0.25],
            ],
            b=[0.34844427128605154, 0.2130136219118987, -0.15410253266231846, 0.4713207793914958,
               -0.12867613992712837, 0.25],
            b_embedded=[2.4286337654669876, -0.38274873376478463, -1.8557203309295804, 0.5598352992273763,
                        0.25, 0.0],
        ),
        order=4,
        citation="RODAS4, 6 stages, order 4, embedded order 3; L-stable, stiffly accurate. "
        "Hairer & Wanner II, VI.4 (code rodas.f)",
    ),
)


@hookimpl
def register_integrators(register):
    for integrator in INTEGRATORS:
        register(integrator)
