"""Newton's method for implicit stage equations, differentiable by the implicit function theorem.

The iteration is wrapped in ``jax.lax.custom_root``: gradients are one linear solve with the Jacobian at
the converged root, never a differentiation of the iterations. Newton always runs at least two
iterations: for a linear problem the first lands on the root up to a rounding error of about
``eps·cond``, and the second, a step of iterative refinement, restores full relative accuracy (this
is what makes a computed ``R(z)`` correct to ~1e-15 where it is ~1e-8, at ``|z| = 1e8``).

Two ways of iterating: full Newton (the exact Jacobian of the residual at every iterate, factored densely), or
*simplified* Newton (:class:`Simplified`): the caller factors an approximation of that Jacobian once (the engines
freeze ``∂f/∂y`` at the start of the step) and every iteration reuses the factors: more iterations, each a few
matrix–vector products instead of a factorization. The refresh rule: when the iteration stops contracting (an
update larger than ``CONTRACTION`` times the one before, or a non-finite one, which is not taken) or has not
converged in ``max_iter`` iterations, the factors are rebuilt at the current iterate, at most ``max_refresh`` times
per solve (a stiff transient inside a long fixed step is where the start-of-step Jacobian fails). The root, and so
the gradient, is the same either way: the derivative always solves with the exact Jacobian at the root
(``tangent_solve``; dense by default, or by the problem's structure, :func:`stiffbench.engines.linalg.operator_solver`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

CONTRACTION = 0.9
MAX_REFRESH = 6


@dataclasses.dataclass(frozen=True)
class Simplified:
    """Simplified Newton: ``factors`` of an approximate Jacobian, ``apply(factors, r) -> M⁻¹ r``, and
    ``prepare(x) -> factors`` at an iterate, for a refresh."""

    factors: Any
    apply: Callable[[Any, jax.Array], jax.Array]
    prepare: Callable[[jax.Array], Any]


def newton_solve(residual, guess, *, rtol: float, atol: float, max_iter: int, simplified: Simplified | None = None,
                 max_refresh: int = 0,
                 tangent_solve: Callable[[Callable[[jax.Array], jax.Array], jax.Array], jax.Array] | None = None):
    """The root of ``residual`` near ``guess`` (any array shape) and whether Newton converged.

    Converged means the last update was below ``atol + rtol·|root|`` in every component.

    :param simplified: the factors to iterate with and how to rebuild them; ``None``: the exact Jacobian at every
        iterate (``max_iter`` iterations at most).
    :param max_refresh: simplified Newton: how many times the factors may be rebuilt at the current iterate, each
        time for ``max_iter`` more iterations.
    :param tangent_solve: ``(g, r) -> g⁻¹ r`` for the linear ``g`` the derivative needs; ``None``: dense.
    """

    def iterations(g, x, k, solve):
        """Newton updates ``x -= solve(x, g(x))`` until converged, ``max_iter`` more, or (simplified) no contraction."""
        def body(state):
            x, k, j, _, _, previous = state
            dx = solve(x, g(x))
            size = jnp.max(jnp.abs(dx) / (atol + rtol * jnp.abs(x)))
            stalled = (j >= 1) & ~(size <= CONTRACTION * previous) if simplified is not None else jnp.bool_(False)
            stalled = stalled | ~jnp.all(jnp.isfinite(dx))
            x = jnp.where(stalled, x, x - dx)
            return x, k + 1, j + 1, (size <= 1.0) & (k >= 1) & ~stalled, stalled, size

        def keep_going(state):
            _, _, j, converged, stalled, _ = state
            return ~converged & ~stalled & (j < max_iter)

        x, k, _, converged, stalled, _ = jax.lax.while_loop(
            keep_going, body, (x, k, 0, jnp.bool_(False), jnp.bool_(False), jnp.float64(jnp.inf)))
        return x, k, converged, stalled

    def newton(g, x):
        if simplified is None:
            x, _, converged, _ = iterations(g, x, 0, lambda x, r: _dense_solve(jax.jacfwd(g)(x), r))
        else:
            first = iterations(g, x, 0, lambda x, r: simplified.apply(simplified.factors, r))

            def refresh(state):
                x, k, _, _, refreshes = state
                factors = simplified.prepare(x)
                return *iterations(g, x, k, lambda x, r: simplified.apply(factors, r)), refreshes + 1

            def keep_refreshing(state):
                x, _, converged, _, refreshes = state
                return ~converged & (refreshes < max_refresh) & jnp.all(jnp.isfinite(x))

            x, _, converged, _, _ = jax.lax.while_loop(keep_refreshing, refresh, (*first, 0))
        # A float flag: custom_root's JVP rule mishandles boolean auxiliary outputs (jax 0.10.2).
        return x, converged.astype(x.dtype)

    def dense_tangent(g, rhs):
        return _dense_solve(jax.jacfwd(g)(rhs), rhs)

    root, converged = jax.lax.custom_root(residual, guess, newton, tangent_solve or dense_tangent, has_aux=True)
    return root, converged > 0


def _dense_solve(jacobian, rhs):
    """Solve ``J x = rhs`` where ``rhs`` has any shape and ``J`` is its Jacobian (``rhs.shape * 2``)."""
    n = rhs.size
    return jnp.linalg.solve(jacobian.reshape(n, n), rhs.reshape(n)).reshape(rhs.shape)
