"""The problem axis: every registered problem with the reference integrators (radau-iia-5, rodas4), adaptive
steps (rtol 1e-6, atol 1e-12): solve and gradient time, the gradient's memory, accepted steps, and the
gradient fidelity against exact or reference sensitivities.

Compiled and warmed up in ``setup`` (once per process, :func:`_common.case`: the vmapped programs of a gradient
cell, ``stiffbench.measure.kernels.gradient_programs``, on one row of default parameters); timed bodies call and
block.
"""

import numpy as np

import stiffbench

from . import _common as c

POLICY = c.ADAPTIVE


class Solve:
    """Time of one compiled forward solve."""

    params = (c.PROBLEMS, c.REFERENCE_INTEGRATORS)
    param_names = ("problem", "integrator")
    timeout = 300
    rounds = 1  # each round is another process, which traces again: see _common.py

    def setup(self, problem, integrator):
        stiffbench.configure()
        self.forward = c.case(integrator, problem, POLICY).forward

    def time_solve(self, problem, integrator):
        self.forward()


class Gradient:
    """Time of one compiled gradient ``∂ys/∂log θ`` (``jax.jacrev`` through ``solve``:
    ``stiffbench.measure.kernels.gradient``), and the memory XLA
    assigns to it: arguments, outputs and temporaries of the compiled gradient (``memory_analysis()``), a
    deterministic number that grows with the dimension and with what reverse mode keeps of the steps."""

    params = Solve.params
    param_names = Solve.param_names
    timeout = 300
    rounds = 1

    def setup(self, problem, integrator):
        stiffbench.configure()
        self.gradient = c.case(integrator, problem, POLICY).gradient

    def time_gradient(self, problem, integrator):
        self.gradient()

    def track_gradient_memory(self, problem, integrator):
        m = self.gradient.compiled.memory_analysis()
        return m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes

    track_gradient_memory.unit = "bytes"


class GradientPeakMemory:
    """Peak resident memory of the process that compiles and computes one gradient (asv's ``peakmem_``: the
    whole process; it compiles the cell's forward solve too, as ``kernels.gradient_programs`` compiles both).
    The interpreter, JAX, the plugins and XLA's compile (a few hundred MB) dominate it; the
    gradient's own memory is ``Gradient.track_gradient_memory``. The caches of compiled programs are off
    here, so that every run traces and compiles and the number does not depend on the state of the cache (a cache
    load takes about 100 MB less than a compile)."""

    params = Solve.params
    param_names = Solve.param_names
    timeout = 300
    rounds = 1  # a deterministic number: one process is enough

    def setup(self, problem, integrator):
        stiffbench.configure(caches=False)
        self.gradient = c.case(integrator, problem, POLICY).gradient

    def peakmem_gradient(self, problem, integrator):
        self.gradient()


class Steps:
    """Accepted steps of the adaptive solve (``Solution.num_steps``)."""

    params = Solve.params
    param_names = Solve.param_names
    timeout = 300
    rounds = 1  # a deterministic number: one process is enough

    def setup(self, problem, integrator):
        stiffbench.configure()
        self.solution = c.case(integrator, problem, POLICY).solution

    def track_steps(self, problem, integrator):
        return int(np.max(np.asarray(self.solution.num_steps)))

    track_steps.unit = "steps"


class GradientFidelity:
    """Relative error of the autodiff sensitivity against the exact one (``AbstractExactProblem``) or the
    reference one (``stiffbench.measure.reference_sensitivity``); skipped where that reference is too costly
    (``UNREFERENCED``)."""

    params = Solve.params
    param_names = Solve.param_names
    timeout = 300
    rounds = 1  # a deterministic number: one process is enough

    def setup(self, problem, integrator):
        stiffbench.configure()
        self.error = c.gradient_error(c.case(integrator, problem, POLICY))

    def track_gradient_rel_err(self, problem, integrator):
        return self.error

    track_gradient_rel_err.unit = "relative error"
