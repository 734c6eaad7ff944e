"""A generic implicit Runge–Kutta engine in JAX: a Butcher tableau and a name make an integrator.

Stages: a fully implicit tableau is solved as one stacked system ``Y_i = y + h Σ_j a_ij f(t + c_j h, Y_j)``
by Newton's method with an exact Jacobian (``jax.jacfwd``); a diagonally implicit one stage by stage
(explicit stages, ``a_ii = 0``, are evaluated directly). Each solve is wrapped in ``jax.lax.custom_root``,
so gradients are taken by the implicit function theorem on the *converged* stages — one linear solve per
stage solve in the backward pass, never by differentiating Newton's iterations.

Newton always runs at least two iterations: for a linear problem the first lands on the solution up to
a rounding error of about ``eps·|z|·|y|``, and the second (a step of iterative refinement) restores full
relative accuracy of the stages, which is what makes ``R(z)`` correct to ~1e-15 relative even where it is
~1e-8 (``|z| = 1e8``). For stiffly accurate tableaus ``y1`` is the last stage, avoiding the cancellation
in ``y + h Σ b_i f(Y_i)``.

Steps: :class:`~stiffbench.FixedStep` scans over the shared step grid. :class:`~stiffbench.AdaptiveStep`
controls the local error with the tableau's embedded weights where it has them (``b_embedded``), and
otherwise by step doubling (one step of ``h`` against two of ``h/2``, Richardson's estimate; three
times the work, but it needs nothing from the method). Accepted steps are the ``h/2`` pair then. The
loop is equinox's checkpointed while loop (as in diffrax), so reverse-mode gradients go through it;
step sizes are chosen by the forward pass and are constants for the gradient.
"""

from __future__ import annotations

import dataclasses
from typing import final

import equinox.internal as eqxi
import jax
import jax.numpy as jnp
import numpy as np

from stiffbench import AbstractIntegrator, AdaptiveStep, ButcherTableau, FixedStep, Solution, Status, StepPolicy

# Step-size controller constants (Hairer & Wanner II, IV.8): safety factor and limits on the change.
SAFETY, FAC_MIN, FAC_MAX, FAC_NEWTON_FAILED = 0.9, 0.2, 5.0, 0.25


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
        error = "embedded" if self._b_embedded is not None else "step doubling"
        return f"stiffbench native JAX: Newton {how}, implicit-function gradients; adaptive error by {error}"

    @property
    def _b_embedded(self):
        return getattr(self.tableau, "b_embedded", None)

    def solve(self, vector_field, t0, y0, ts, params, policy: StepPolicy) -> Solution:
        y0 = jnp.asarray(y0, dtype=jnp.float64)
        if isinstance(policy, FixedStep):
            return self._solve_fixed(vector_field, t0, y0, ts, params, policy)
        if isinstance(policy, AdaptiveStep):
            return self._solve_adaptive(vector_field, t0, y0, ts, params, policy)
        raise NotImplementedError(f"{self.name}: unsupported step policy {policy!r}")

    def _solve_fixed(self, f, t0, y0, ts, params, policy: FixedStep) -> Solution:
        times = policy.times(t0, ts)
        save = np.searchsorted(times, np.asarray(ts, dtype=np.float64))

        def scan_step(carry, t_h):
            y, failures = carry
            y1, _, converged = self.step(f, params, *t_h, y)
            return (y1, failures + jnp.where(converged, 0, 1)), y1

        steps = (jnp.asarray(times[:-1]), jnp.asarray(np.diff(times)))
        (_, failures), ys = jax.lax.scan(scan_step, (y0, jnp.int32(0)), steps)
        ys = jnp.concatenate([y0[None], ys])[save]
        status = jnp.where(failures > 0, Status.NONLINEAR_SOLVE_FAILED, _finite_status(ys))
        return Solution(ys, jnp.int32(len(times) - 1), jnp.int32(0), status.astype(jnp.int32))

    def _solve_adaptive(self, f, t0, y0, ts, params, policy: AdaptiveStep) -> Solution:
        ts_np = np.asarray(ts, dtype=np.float64)
        if ts_np.ndim != 1 or np.any(np.diff(np.concatenate([[t0], ts_np])) < 0):
            raise ValueError(f"observation times must be a non-decreasing 1-d sequence from t0={t0}")
        ts_arr = jnp.asarray(ts_np)
        first = int(np.sum(ts_np == t0))  # observations at t0 need no step
        ys = jnp.zeros((len(ts_np), y0.size)).at[:first].set(y0)
        embedded = self._b_embedded is not None
        # The error estimate is of order p (embedded, order p - 1 method) or p + 1 (step doubling).
        exponent = 1.0 / (self.order if embedded else self.order + 1)
        h0 = 1e-6 * max(float(ts_np[-1] - t0), 1e-300)

        def attempt(t, y, h):
            if embedded:
                return self.step(f, params, t, h, y, with_error=True)
            y_full, _, ok_full = self.step(f, params, t, h, y)
            y_half, _, ok_a = self.step(f, params, t, h / 2, y)
            y_two, _, ok_b = self.step(f, params, t + h / 2, h / 2, y_half)
            return y_two, (y_two - y_full) / (2.0**self.order - 1), ok_full & ok_a & ok_b

        def body(state):
            t, y, h, k, ys, accepted, rejected = state
            target = ts_arr[jnp.minimum(k, len(ts_np) - 1)]
            lands = h >= target - t
            h = jnp.where(lands, target - t, h)
            y1, err, ok = attempt(t, y, h)
            scale = policy.atol + policy.rtol * jnp.maximum(jnp.abs(y), jnp.abs(y1))
            norm = jnp.sqrt(jnp.mean((err / scale) ** 2))
            good = ok & jnp.isfinite(norm) & jnp.all(jnp.isfinite(y1))
            accept = good & (norm <= 1.0)
            factor = jnp.where(good, jnp.clip(SAFETY * norm ** (-exponent), FAC_MIN, FAC_MAX), FAC_NEWTON_FAILED)
            record = accept & lands
            ys = jnp.where(record, ys.at[k].set(y1), ys)
            return (
                jnp.where(record, target, jnp.where(accept, t + h, t)),
                jnp.where(accept, y1, y),
                jax.lax.stop_gradient(h * factor),
                k + jnp.where(record, 1, 0),
                ys,
                accepted + jnp.where(accept, 1, 0),
                rejected + jnp.where(accept, 0, 1),
            )

        def keep_going(state):
            t, _, h, k, _, accepted, rejected = state
            return (k < len(ts_np)) & (accepted + rejected < policy.max_steps) & (h > 1e-14 * jnp.abs(t))

        init = (jnp.float64(t0), y0, jnp.float64(h0), jnp.int32(first), ys, jnp.int32(0), jnp.int32(0))
        t, _, h, k, ys, accepted, rejected = eqxi.while_loop(
            keep_going, body, init, max_steps=policy.max_steps, kind="checkpointed"
        )
        status = jnp.where(
            k < len(ts_np),
            jnp.where(accepted + rejected >= policy.max_steps, Status.MAX_STEPS_REACHED, Status.STEP_SIZE_TOO_SMALL),
            _finite_status(ys),
        )
        return Solution(ys, accepted, rejected, status.astype(jnp.int32))

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
        error = h * ((b - jnp.asarray(np.asarray(self._b_embedded, dtype=np.float64))) @ F) if with_error else None
        return y1, error, converged

    def _stages_stacked(self, f, params, A, c, t, h, y):
        def residual(Y):
            F = jax.vmap(lambda ci, Yi: f(t + ci * h, Yi, params))(c, Y)
            return Y - y - h * (A @ F)

        return self._newton(residual, jnp.broadcast_to(y, (A.shape[0], *y.shape)))

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

                Yi, ok = self._newton(residual, Y[-1] if Y else y)
                converged = converged & ok
            Y.append(Yi)
            F.append(f(t + c[i] * h, Yi, params))
        return jnp.stack(Y), converged

    def _newton(self, residual, guess):
        """Root of ``residual`` near ``guess`` and whether Newton converged; differentiable by the IFT."""

        def newton(g, Y):
            def body(state):
                Y, k, _, _ = state
                dY = _linear_solve(jax.jacfwd(g)(Y), g(Y))
                Y = Y - dY
                small = jnp.max(jnp.abs(dY) / (self.newton_atol + self.newton_rtol * jnp.abs(Y))) <= 1.0
                return Y, k + 1, small & (k >= 1), jnp.all(jnp.isfinite(Y))

            def keep_going(state):
                _, k, converged, finite = state
                return (~converged) & finite & (k < self.newton_max_iter)

            Y, _, converged, _ = jax.lax.while_loop(keep_going, body, (Y, 0, False, True))
            # A float flag: custom_root's JVP rule mishandles boolean auxiliary outputs (jax 0.10.2).
            return Y, converged.astype(Y.dtype)

        def tangent_solve(g, rhs):
            return _linear_solve(jax.jacfwd(g)(rhs), rhs)

        Y, converged = jax.lax.custom_root(residual, guess, newton, tangent_solve, has_aux=True)
        return Y, converged > 0


def _linear_solve(jacobian, rhs):
    """Solve ``J x = rhs`` where ``rhs`` has any shape and ``J`` is its Jacobian (``rhs.shape * 2``)."""
    n = rhs.size
    return jnp.linalg.solve(jacobian.reshape(n, n), rhs.reshape(n)).reshape(rhs.shape)


def _finite_status(ys):
    return jnp.where(jnp.all(jnp.isfinite(ys)), Status.OK, Status.NONFINITE)
