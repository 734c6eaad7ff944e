"""The BDF engine: fixed-step backward differentiation formulas of any order k in JAX.

BDF-k: ``Σ_{j=1..k} (1/j) ∇^j y_{n+k} = h f(t_{n+k}, y_{n+k})`` (Hairer & Wanner II, V.1), whose ``ρ``
and ``σ`` are expanded exactly here from that definition rather than typed in. Each step solves
``α_k y − h f(t, y) = −Σ_{j<k} α_j y_{n+j}`` by simplified Newton with implicit-function gradients. The first
``k − 1`` steps are taken by a one-step starter of order ≥ k on the same step (Radau IIA of order 5 in the
catalog): a start of order ≥ k keeps the global
order k (a BDF-1 … BDF-(k−1) start would cap it at 2). Only a fixed step that lands on every observation
time is supported: the coefficients assume it.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from math import comb
from typing import final

import jax
import jax.numpy as jnp
import numpy as np

from stiffbench import (
    AbstractMultistepIntegrator,
    Differentiation,
    FixedStep,
    ForwardMode,
    ReverseMode,
    Solution,
    Status,
)
from stiffbench.contracts import jacobian_structure
from stiffbench.contracts.differentiation import REVERSE
from stiffbench.engines import linalg
from stiffbench.engines.newton import Simplified, newton_solve
from stiffbench.engines.runge_kutta import ImplicitRungeKutta
from stiffbench.theory import LinearMultistep

HW = "Hairer & Wanner, Solving Ordinary Differential Equations II, 2nd ed., Springer 1996, V.1"
# A(α) angles of BDF3–5 from HW Table V.2.3, for the citation; the theory engine computes its own.
CLAIMS = {2: "A-stable, L-stable", 3: "A(86.03°)-stable", 4: "A(73.35°)-stable", 5: "A(51.84°)-stable"}


def bdf_coefficients(k: int) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...]]:
    """``(ρ, σ)`` of BDF-k in ascending powers of ζ, normalised to ``σ(ζ) = ζ^k``."""
    rho = [Fraction(0)] * (k + 1)
    for j in range(1, k + 1):  # ∇^j y_{n+k} = Σ_m C(j, m) (−1)^m y_{n+k−m}
        for m in range(j + 1):
            rho[k - m] += Fraction((-1) ** m * comb(j, m), j)
    return tuple(rho), (Fraction(0),) * k + (Fraction(1),)


@final
@dataclasses.dataclass(frozen=True)
class BDF(AbstractMultistepIntegrator):
    """Backward differentiation formula of order ``k`` with a fixed step."""

    k: int
    starter: ImplicitRungeKutta
    """The one-step method of order ≥ k that takes the first k − 1 steps (the catalog uses Radau IIA of order 5)."""
    newton_rtol: float = 1e-10
    newton_atol: float = 1e-12
    newton_max_iter: int = 10
    newton_refreshes: int = 6
    """Simplified Newton: how often the factors may be rebuilt inside one solve (``newton.py``'s refresh rule)."""
    family: str = "multistep"
    stages: int = 1
    implementation: str = ("stiffbench native JAX: simplified Newton per step (Jacobian and factors once per step, "
                           "by the problem's structure), implicit-function gradients, BDF start-up")
    differentiation: Differentiation = REVERSE
    """Reverse or forward mode: a ``lax.scan`` over the steps takes either as it is."""
    differentiation_methods = (ReverseMode, ForwardMode)

    @property
    def name(self) -> str:
        return f"bdf-{self.k}"

    @property
    def order(self) -> int:
        return self.k

    @property
    def citation(self) -> str:
        return f"BDF{self.k}, {CLAIMS.get(self.k, '')}; Curtiss & Hirschfelder (1952). {HW}"

    @property
    def theory(self) -> LinearMultistep:
        rho, sigma = bdf_coefficients(self.k)
        return LinearMultistep(rho=rho, sigma=sigma)

    def step(self, vector_field, t, h, history, params):
        rho = np.asarray(bdf_coefficients(self.k)[0], dtype=np.float64)
        known = -jnp.tensordot(jnp.asarray(rho[:-1]), history[-self.k:], axes=1)
        f = vector_field
        structure = linalg.Structure.of(history.shape[-1], jacobian_structure(f))
        # Simplified Newton: ρ_k − h J with J frozen at the last state, factored once per step.
        def prepare(y):
            J = jax.lax.stop_gradient(linalg.jacobian(lambda u: f(t + h, u, params), y, structure))
            return linalg.factor(J.shifted(rho[-1], scale=h), structure)

        factors = prepare(history[-1])

        def residual(y):
            return rho[-1] * y - h * f(t + h, y, params) - known

        return newton_solve(residual, history[-1], rtol=self.newton_rtol, atol=self.newton_atol,
                            max_iter=self.newton_max_iter, max_refresh=self.newton_refreshes,
                            simplified=Simplified(factors, linalg.solve, prepare),
                            tangent_solve=linalg.operator_solver(1, structure))

    def solve(self, vector_field, t0, y0, ts, params, policy) -> Solution:
        if not isinstance(policy, FixedStep):
            raise NotImplementedError(f"{self.name}: fixed steps only (a variable-step BDF is not implemented)")
        times = policy.times(t0, ts)
        if not np.allclose(np.diff(times), policy.h, rtol=1e-9, atol=0):
            raise NotImplementedError(
                f"{self.name}: every observation time must lie on the step grid t0 + n·h (h = {policy.h})"
            )
        y0 = jnp.asarray(y0, dtype=jnp.float64)
        n = len(times) - 1
        history, ok = y0[None], jnp.bool_(True)
        for m in range(1, min(self.k, n + 1)):  # start-up by a one-step method of order 5
            y, _, converged = self.starter.step(vector_field, params, times[m - 1], policy.h, history[-1])
            history, ok = jnp.concatenate([history, y[None]]), ok & converged
        start = history.shape[0] - 1

        def scan_step(carry, t):
            window, ok = carry
            y, converged = self.step(vector_field, t, policy.h, window, params)
            return (jnp.concatenate([window[1:], y[None]]), ok & converged), y

        (_, ok), rest = jax.lax.scan(scan_step, (history, ok), jnp.asarray(times[start:-1]))
        ys = jnp.concatenate([history, rest])[np.searchsorted(times, np.asarray(ts, dtype=np.float64))]
        status = jnp.where(ok, jnp.where(jnp.all(jnp.isfinite(ys)), Status.OK, Status.NONFINITE),
                           Status.NONLINEAR_SOLVE_FAILED)
        return Solution(ys, jnp.int32(n), jnp.int32(0), status.astype(jnp.int32))
