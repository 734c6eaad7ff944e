"""Step loops shared by the native one-step integrators: a fixed step grid, or error-controlled steps.

A one-step method plugs in as ``step(t, h, y, with_error) -> (y1, error estimate or None, ok)``.

:func:`solve_adaptive` controls the local error with the method's embedded estimate where it has one,
and otherwise by step doubling (one step of ``h`` against two of ``h/2``, Richardson's estimate; three
times the work, but it needs nothing from the method; the ``h/2`` pair is what is accepted). The loop
is equinox's checkpointed while loop (as in diffrax), so reverse-mode gradients go through it, with as many
checkpoints as :class:`~stiffbench.ReverseMode` asks for; for :class:`~stiffbench.ForwardMode` it is a plain
``lax.while_loop``, which JAX differentiates forwards. Step sizes are chosen by the forward pass and are constants
for the gradient.
"""

from __future__ import annotations

import equinox.internal as eqxi
import jax
import jax.numpy as jnp
import numpy as np

from stiffbench import AdaptiveStep, Differentiation, FixedStep, ForwardMode, ReverseMode, Solution, Status
from stiffbench.contracts.differentiation import REVERSE

# Step-size controller constants (Hairer & Wanner II, IV.8): safety factor and limits on the change.
SAFETY, FAC_MIN, FAC_MAX, FAC_STEP_FAILED = 0.9, 0.2, 5.0, 0.25


def solve_one_step_method(integrator, vector_field, t0, y0, ts, params, policy, *, embedded: bool,
                          differentiation: Differentiation = REVERSE, error_order: int | None = None) -> Solution:
    """``solve`` for a one-step method with ``integrator.step(f, params, t, h, y, with_error)``; an embedded
    estimate is of a local error ``O(h^error_order)`` (default: the method's order)."""
    y0 = jnp.asarray(y0, dtype=jnp.float64)

    def step(t, h, y, with_error):
        return integrator.step(vector_field, params, t, h, y, with_error)

    if isinstance(policy, FixedStep):
        if isinstance(differentiation, ReverseMode) and differentiation.checkpoints is not None:
            raise NotImplementedError(f"{integrator.name}: fixed steps are a scan that keeps every step; "
                                      "checkpoints apply to adaptive steps")
        return solve_fixed(step, t0, y0, ts, policy)
    if isinstance(policy, AdaptiveStep):
        return solve_adaptive(step, error_order or integrator.order, embedded, t0, y0, ts, policy, differentiation)
    raise NotImplementedError(f"{integrator.name}: unsupported step policy {policy!r}")


def solve_fixed(step, t0, y0, ts, policy: FixedStep) -> Solution:
    """Scan ``step`` over the shared fixed-step grid and return the states at ``ts``."""
    times = policy.times(t0, ts)
    save = np.searchsorted(times, np.asarray(ts, dtype=np.float64))

    def scan_step(carry, t_h):
        y, failures = carry
        y1, _, ok = step(*t_h, y, False)
        return (y1, failures + jnp.where(ok, 0, 1)), y1

    steps = (jnp.asarray(times[:-1]), jnp.asarray(np.diff(times)))
    (_, failures), ys = jax.lax.scan(scan_step, (y0, jnp.int32(0)), steps)
    ys = jnp.concatenate([y0[None], ys])[save]
    status = jnp.where(failures > 0, Status.NONLINEAR_SOLVE_FAILED, finite_status(ys))
    return Solution(ys, jnp.int32(len(times) - 1), jnp.int32(0), status.astype(jnp.int32))


def solve_adaptive(step, order: int, embedded: bool, t0, y0, ts, policy: AdaptiveStep,
                   differentiation: Differentiation = REVERSE) -> Solution:
    """Error-controlled steps landing exactly on every observation time. ``policy.rtol`` and ``policy.atol`` may
    be traced (:meth:`stiffbench.AdaptiveStep.traced`): one compiled program serves a ladder of tolerances."""
    ts_np = np.asarray(ts, dtype=np.float64)
    if ts_np.ndim != 1 or np.any(np.diff(np.concatenate([[t0], ts_np])) < 0):
        raise ValueError(f"observation times must be a non-decreasing 1-d sequence from t0={t0}")
    ts_arr = jnp.asarray(ts_np)
    first = int(np.sum(ts_np == t0))  # observations at t0 need no step
    ys = jnp.zeros((len(ts_np), y0.size)).at[:first].set(y0)
    # The estimate is of a method of order p - 1 (embedded) or of the local error itself (doubling).
    exponent = 1.0 / (order if embedded else order + 1)
    h0 = 1e-6 * max(float(ts_np[-1] - t0), 1e-300)

    def attempt(t, y, h):
        if embedded:
            return step(t, h, y, True)
        y_full, _, ok_full = step(t, h, y, False)
        y_half, _, ok_a = step(t, h / 2, y, False)
        y_two, _, ok_b = step(t + h / 2, h / 2, y_half, False)
        return y_two, (y_two - y_full) / (2.0**order - 1), ok_full & ok_a & ok_b

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
        factor = jnp.where(good, jnp.clip(SAFETY * norm ** (-exponent), FAC_MIN, FAC_MAX), FAC_STEP_FAILED)
        record = accept & lands
        return (
            jnp.where(record, target, jnp.where(accept, t + h, t)),
            jnp.where(accept, y1, y),
            jax.lax.stop_gradient(h * factor),
            k + jnp.where(record, 1, 0),
            jnp.where(record, ys.at[k].set(y1), ys),
            accepted + jnp.where(accept, 1, 0),
            rejected + jnp.where(accept, 0, 1),
        )

    def keep_going(state):
        t, _, h, k, _, accepted, rejected = state
        return (k < len(ts_np)) & (accepted + rejected < policy.max_steps) & (h > 1e-14 * jnp.abs(t))

    init = (jnp.float64(t0), y0, jnp.float64(h0), jnp.int32(first), ys, jnp.int32(0), jnp.int32(0))
    if isinstance(differentiation, ForwardMode):
        loop = {"kind": "lax"}
    else:
        checkpoints = differentiation.checkpoints if isinstance(differentiation, ReverseMode) else None
        loop = {"kind": "checkpointed", "max_steps": policy.max_steps, "checkpoints": checkpoints}
    _, _, _, k, ys, accepted, rejected = eqxi.while_loop(keep_going, body, init, **loop)
    status = jnp.where(
        k < len(ts_np),
        jnp.where(accepted + rejected >= policy.max_steps, Status.MAX_STEPS_REACHED, Status.STEP_SIZE_TOO_SMALL),
        finite_status(ys),
    )
    return Solution(ys, accepted, rejected, status.astype(jnp.int32))


def finite_status(ys):
    return jnp.where(jnp.all(jnp.isfinite(ys)), Status.OK, Status.NONFINITE)
