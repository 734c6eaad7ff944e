"""The integrator axis: every registered integrator on the reference problem (``linear``), with a fixed step
and an adaptive tolerance: solve and gradient time, accepted steps, gradient fidelity.

Compiled and warmed up in ``setup`` (once per process, :func:`_common.case`: the vmapped programs of a gradient
cell, ``stiffbench.measure.kernels.gradient_programs``, on one row of default parameters); timed bodies call and
block.
"""

import numpy as np

import stiffbench

from . import _common as c

PROBLEM = c.REFERENCE_PROBLEM


class Solve:
    """Time of one compiled forward solve ``integrator.solve(...)``."""

    params = (c.INTEGRATORS, list(c.POLICIES))
    param_names = ("integrator", "policy")
    timeout = 300  # a cold compile (an empty compilation cache) of some cells takes tens of seconds
    rounds = 1  # each round is another process, which traces again: see _common.py

    def setup(self, integrator, policy):
        stiffbench.configure()
        self.forward = c.case(integrator, PROBLEM, policy).forward

    def time_solve(self, integrator, policy):
        self.forward()


class Gradient:
    """Time of one compiled gradient ``∂ys/∂log θ`` (``jax.jacrev`` through ``solve``:
    ``stiffbench.measure.kernels.gradient``)."""

    params = Solve.params
    param_names = Solve.param_names
    timeout = 300
    rounds = 1

    def setup(self, integrator, policy):
        stiffbench.configure()
        self.gradient = c.case(integrator, PROBLEM, policy).gradient

    def time_gradient(self, integrator, policy):
        self.gradient()


class Steps:
    """Accepted steps of the adaptive solve (``Solution.num_steps``): the cost its controller chose. (A fixed
    step's steps are set by the step grid, ``FixedStep.times``, the same for every integrator.)"""

    params = (c.INTEGRATORS, [c.ADAPTIVE])
    param_names = Solve.param_names
    timeout = 300
    rounds = 1  # a deterministic number: one process is enough

    def setup(self, integrator, policy):
        stiffbench.configure()
        self.solution = c.case(integrator, PROBLEM, policy).solution

    def track_steps(self, integrator, policy):
        return int(np.max(np.asarray(self.solution.num_steps)))

    track_steps.unit = "steps"


class GradientFidelity:
    """Relative error of the autodiff sensitivity ``∂y(t_k)/∂log θ`` against the reference one
    (:func:`_common.gradient_error`; exact on ``linear``): norm-wise over times and components, worst parameter."""

    params = Solve.params
    param_names = Solve.param_names
    timeout = 300
    rounds = 1  # a deterministic number: one process is enough

    def setup(self, integrator, policy):
        stiffbench.configure()
        self.error = c.gradient_error(c.case(integrator, PROBLEM, policy))

    def track_gradient_rel_err(self, integrator, policy):
        return self.error

    track_gradient_rel_err.unit = "relative error"
