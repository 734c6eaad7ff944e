"""The suite's own overhead: a gradient through stiffbench's plugin path against the same diffrax call by hand.

Both are ``jax.jacrev`` of the states at the observation times with respect to log-parameters (the primal
solution as auxiliary output), vmapped over a batch of one row (the problem's defaults) and compiled. The
plugin path is the gradient program of a ``stiffbench run`` gradient cell
(``stiffbench.measure.kernels.gradient_programs``), through
``registry.integrators["diffrax-kvaerno5"].solve(...)`` (it builds the terms and the step-size controller, maps
diffrax's result to a ``Status`` and checks finiteness); by hand is ``diffrax.diffeqsolve`` with the plugin's
solver and adjoint and the same controller, ``SaveAt``, ``max_steps`` and ``throw=False``.
``track_overhead_ratio`` makes the overhead a tracked number; the target is at most 1.05.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

import stiffbench
from stiffbench.measure import kernels

from . import _common as c

INTEGRATOR = "diffrax-kvaerno5"
PROBLEM = "linear"


def _by_hand(policy_name):
    """The compiled gradient programs of the plugin path and of the hand-written diffrax call, checked to agree."""
    import diffrax

    from stiffbench import FixedStep

    cell = c.case(INTEGRATOR, PROBLEM, policy_name)  # the plugin path, compiled and its status checked
    integ, prob, policy, names = cell.integrator, cell.problem, cell.policy, cell.names
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
        params = dict(zip(names, jnp.exp(log_theta), strict=True))
        sol = diffrax.diffeqsolve(term, solver, t0=float(prob.t0), t1=float(ts[-1]), dt0=None, y0=y0, args=params,
                                  saveat=saveat, stepsize_controller=controller, adjoint=adjoint,
                                  max_steps=max_steps, throw=False)
        return sol.ys, (sol.ys, sol.stats["num_accepted_steps"], sol.stats["num_rejected_steps"], sol.result._value)

    plugin = cell.gradient
    by_hand = kernels.compile_program(jax.vmap(jax.jacrev(ys, has_aux=True)), cell.log_theta)
    (expected, solution), (got, (got_ys, *_)) = plugin(), by_hand()
    expected, got = np.asarray(expected), np.asarray(got)  # shape (1, times, components, parameters)
    for j, name in enumerate(names):
        if not np.allclose(got[..., j], expected[..., j], rtol=1e-12, atol=0):
            raise RuntimeError(f"the hand-written diffrax gradient differs from the plugin path's for {name!r}: "
                               "they no longer compute the same thing")
    if not np.allclose(np.asarray(got_ys), np.asarray(solution.ys), rtol=1e-12, atol=0):
        raise RuntimeError("the hand-written diffrax solve's states differ from the plugin path's")
    return plugin, by_hand


def _call_time(program) -> float:
    start = time.perf_counter()
    program()
    return time.perf_counter() - start


class Overhead:
    params = (list(c.POLICIES),)
    param_names = ("policy",)
    timeout = 300

    def setup(self, policy):
        stiffbench.configure()
        self.plugin, self.by_hand = c.memo(("overhead", policy), lambda: _by_hand(policy))

    def time_gradient_plugin_path(self, policy):
        self.plugin()

    def time_gradient_by_hand(self, policy):
        self.by_hand()

    def track_overhead_ratio(self, policy):
        """Plugin path over by hand: the ratio of the 10th percentiles of single-call times, the two sampled
        alternately (200 calls each) in one process. Percentiles of single calls, not means of batches,
        because a call that the scheduler interrupts only lengthens the tail, which a shared machine has."""
        samples = {"plugin": [], "by_hand": []}
        pair = [("plugin", self.plugin), ("by_hand", self.by_hand)]
        for k in range(200):
            for label, fn in pair if k % 2 else pair[::-1]:  # alternate the order: neither gets a warmer start
                samples[label].append(_call_time(fn))
        return float(np.percentile(samples["plugin"], 10) / np.percentile(samples["by_hand"], 10))

    track_overhead_ratio.unit = "ratio"
