"""Newton's method for implicit stage equations, differentiable by the implicit function theorem.

The iteration is wrapped in ``jax.lax.custom_root``: gradients are one linear solve with the Jacobian at
the converged root, never a differentiation of the iterations. Newton always runs at least two
iterations: for a linear problem the first lands on the root up to a rounding error of about
``eps·cond``, and the second, a step of iterative refinement, restores full relative accuracy (this
is what makes a computed ``R(z)`` correct to ~1e-15 where it is ~1e-8, at ``|z| = 1e8``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def newton_solve(residual, guess, *, rtol: float, atol: float, max_iter: int):
    """The root of ``residual`` near ``guess`` (any array shape) and whether Newton converged.

    Converged means the last update was below ``atol + rtol·|root|`` in every component.
    """

    def newton(g, x):
        def body(state):
            x, k, _, _ = state
            dx = _linear_solve(jax.jacfwd(g)(x), g(x))
            x = x - dx
            small = jnp.max(jnp.abs(dx) / (atol + rtol * jnp.abs(x))) <= 1.0
            return x, k + 1, small & (k >= 1), jnp.all(jnp.isfinite(x))

        def keep_going(state):
            _, k, converged, finite = state
            return (~converged) & finite & (k < max_iter)

        x, _, converged, _ = jax.lax.while_loop(keep_going, body, (x, 0, False, True))
        # A float flag: custom_root's JVP rule mishandles boolean auxiliary outputs (jax 0.10.2).
        return x, converged.astype(x.dtype)

    def tangent_solve(g, rhs):
        return _linear_solve(jax.jacfwd(g)(rhs), rhs)

    root, converged = jax.lax.custom_root(residual, guess, newton, tangent_solve, has_aux=True)
    return root, converged > 0


def _linear_solve(jacobian, rhs):
    """Solve ``J x = rhs`` where ``rhs`` has any shape and ``J`` is its Jacobian (``rhs.shape * 2``)."""
    n = rhs.size
    return jnp.linalg.solve(jacobian.reshape(n, n), rhs.reshape(n)).reshape(rhs.shape)
