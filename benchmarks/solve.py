"""Forward solves and gradients per integrator × problem × step policy: time, peak memory, steps, fidelity."""

import jax
import numpy as np

from . import _common as c


class Solve:
    """Time of one compiled forward solve. Compiled and warmed up in ``setup``; the body calls and blocks."""

    params = (c.INTEGRATORS, c.PROBLEMS, list(c.POLICIES))
    param_names = ("integrator", "problem", "policy")
    timeout = 300  # a cold compile (an empty compilation cache) of some cells takes tens of seconds
    rounds = 1  # each round is another process, which re-traces: see _common.py

    def setup(self, integrator, problem, policy):
        c.enable_compilation_cache()
        cell = c.case(integrator, problem, policy)
        self.forward, self.args = cell["compiled"], cell["args"]

    def time_solve(self, integrator, problem, policy):
        jax.block_until_ready(self.forward(self.args))


class Gradient:
    """Time and peak memory of one compiled gradient ``∂ys/∂log θ`` (``jax.jacrev`` through ``solve``).

    ``peakmem_`` is asv's peak resident memory of the whole process: the interpreter, JAX, the plugins and
    the compile in ``setup`` (a few hundred MB) are included, so the gradient's own memory shows above
    that floor.
    """

    params = Solve.params
    param_names = Solve.param_names
    timeout = 300
    rounds = 1  # each round is another process, which re-traces: see _common.py

    def setup(self, integrator, problem, policy):
        c.enable_compilation_cache()
        cell = c.case(integrator, problem, policy, gradient=True)
        self.gradient, self.args = cell["compiled"], cell["args"]

    def time_gradient(self, integrator, problem, policy):
        jax.block_until_ready(self.gradient(self.args))

    def peakmem_gradient(self, integrator, problem, policy):
        jax.block_until_ready(self.gradient(self.args))


class Steps:
    """Accepted steps of an adaptive solve (``Solution.num_steps``): the cost its controller chose.
    (A fixed step's steps are set by the step grid, ``FixedStep.times``, the same for every integrator.)"""

    params = (c.INTEGRATORS, c.PROBLEMS, c.ADAPTIVE_POLICIES)
    param_names = ("integrator", "problem", "policy")
    timeout = 300

    def setup(self, integrator, problem, policy):
        c.enable_compilation_cache()
        self.solution = c.case(integrator, problem, policy)["solution"]

    def track_steps(self, integrator, problem, policy):
        return int(np.max(np.asarray(self.solution.num_steps)))

    track_steps.unit = "steps"


class GradientFidelity:
    """Relative error of the autodiff sensitivity ``∂y(t_k)/∂log θ`` against the problem's exact one.

    Norm-wise over all observation times and components, the worst parameter; on every problem with a
    closed-form sensitivity (``AbstractExactProblem``; ``linear`` among the built-ins).
    """

    params = (c.INTEGRATORS, c.EXACT_PROBLEMS, list(c.POLICIES))
    param_names = ("integrator", "problem", "policy")
    timeout = 300

    def setup(self, integrator, problem, policy):
        c.enable_compilation_cache()
        cell = c.case(integrator, problem, policy, gradient=True)
        prob = cell["problem"]
        params = {k: np.float64(v) for k, v in prob.parameters.items()}
        exact = prob.sensitivity(np.asarray(prob.ts, dtype=np.float64), params)
        self.error = max(c.relative_error(cell["sensitivity"][name], exact[name]) for name in exact)

    def track_gradient_rel_err(self, integrator, problem, policy):
        return self.error

    track_gradient_rel_err.unit = "relative error"
