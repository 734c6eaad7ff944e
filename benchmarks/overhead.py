"""The suite's own overhead: a gradient through stiffbench's plugin path against the same diffrax call by hand.

Both are ``jax.jacrev`` of the states at the observation times with respect to log-parameters, compiled.
The plugin path is ``registry.integrators["diffrax-kvaerno5"].solve(...)`` (it builds the terms and the
step-size controller, maps diffrax's result to a ``Status`` and checks finiteness); by hand is
``diffrax.diffeqsolve`` with the plugin's solver and adjoint and the same controller, ``SaveAt``,
``max_steps`` and ``throw=False``. ``track_overhead_ratio`` makes the overhead a tracked number; the
target is at most 1.05.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

from . import _common as c

INTEGRATOR = "diffrax-kvaerno5"
PROBLEM = "linear"


def _by_hand(policy_name):
    """The compiled gradient of the hand-written diffrax call, checked against the plugin path's."""
    import diffrax

    from stiffbench import FixedStep

    cell = c.case(INTEGRATOR, PROBLEM, policy_name)  # the forward solve, compiled and its status checked
    integ, prob, policy, args, solve = cell["integrator"], cell["problem"], cell["policy"], cell["args"], cell["solve"]
    solver, adjoint = getattr(integ, "solver", None), getattr(integ, "adjoint", None)
    if solver is None or adjoint is None:
        raise NotImplementedError(f"{INTEGRATOR} no longer exposes the diffrax solver and adjoint it uses")
    ts = np.asarray(prob.ts, dtype=np.float64)
    if isinstance(policy, FixedStep):
        times = policy.times(prob.t0, ts)
        controller, max_steps = diffrax.StepTo(ts=jnp.asarray(times)), len(times)
    else:
        controller, max_steps = diffrax.PIDController(rtol=policy.rtol, atol=policy.atol), policy.max_steps
    term, y0, saveat = diffrax.ODETerm(prob.vector_field), jnp.asarray(prob.y0, dtype=jnp.float64), diffrax.SaveAt(
        ts=jnp.asarray(ts))

    def ys(log_theta):
        params = {k: jnp.exp(v) for k, v in log_theta.items()}
        return diffrax.diffeqsolve(term, solver, t0=float(prob.t0), t1=float(ts[-1]), dt0=None, y0=y0, args=params,
                                   saveat=saveat, stepsize_controller=controller, adjoint=adjoint,
                                   max_steps=max_steps, throw=False).ys

    plugin, _ = c.compile_timed(jax.jacrev(lambda log_theta: solve(log_theta).ys), args)
    by_hand, _ = c.compile_timed(jax.jacrev(ys), args)
    expected, got = jax.block_until_ready(plugin(args)), jax.block_until_ready(by_hand(args))
    for name in expected:
        if not np.allclose(np.asarray(got[name]), np.asarray(expected[name]), rtol=1e-12, atol=0):
            raise RuntimeError(f"the hand-written diffrax gradient differs from the plugin path's for {name!r}: "
                               "they no longer compute the same thing")
    return plugin, by_hand, args


def _call_time(fn, args) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(args))
    return time.perf_counter() - start


class Overhead:
    params = (list(c.POLICIES),)
    param_names = ("policy",)
    timeout = 300

    def setup(self, policy):
        c.enable_compilation_cache()
        self.plugin, self.by_hand, self.args = c.memo(("overhead", policy), lambda: _by_hand(policy))

    def time_gradient_plugin_path(self, policy):
        jax.block_until_ready(self.plugin(self.args))

    def time_gradient_by_hand(self, policy):
        jax.block_until_ready(self.by_hand(self.args))

    def track_overhead_ratio(self, policy):
        """Plugin path over by hand: the ratio of the 10th percentiles of single-call times, the two sampled
        alternately (200 calls each) in one process. Percentiles of single calls, not means of batches,
        because a call that the scheduler interrupts only lengthens the tail, which a shared machine has."""
        samples = {"plugin": [], "by_hand": []}
        pair = [("plugin", self.plugin), ("by_hand", self.by_hand)]
        for k in range(200):
            for label, fn in pair if k % 2 else pair[::-1]:  # alternate the order: neither gets a warmer start
                samples[label].append(_call_time(fn, self.args))
        return float(np.percentile(samples["plugin"], 10) / np.percentile(samples["by_hand"], 10))

    track_overhead_ratio.unit = "ratio"
