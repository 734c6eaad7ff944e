"""The differentiation method against the number of parameters: forward mode costs about one tangent per
parameter, reverse mode one backward pass whatever their number, plus what it keeps of the steps. Pollu (20
states, 25 rate constants), adaptive steps (rtol 1e-6, atol 1e-12), differentiating the first 1, 5 or all 25
rate constants (the others held at their values); time and XLA's memory analysis of the compiled gradient
(``stiffbench.measure.kernels.gradient`` with the method, as a work–precision cell compiles it).
"""

import jax.numpy as jnp

import stiffbench
from stiffbench import AdaptiveStep, Differentiation
from stiffbench.measure import kernels

from . import _common as c

PROBLEM = "pollu"
POLICY = AdaptiveStep(rtol=1e-6, atol=1e-12)


def _gradient(integrator: str, method: str, n_params: int) -> kernels.Program:
    problem = c.REGISTRY.problems[PROBLEM]
    names = list(problem.parameters)[:n_params]
    log_theta = jnp.log(jnp.asarray([problem.parameters[n] for n in names], dtype=jnp.float64))
    program = kernels.gradient(c.integrator(integrator), problem, POLICY, names,
                               method=Differentiation.parse(method))
    return c.memo(("differentiation", integrator, method, n_params),
                  lambda: kernels.compile_program(program, log_theta))


class ParameterCount:
    """Gradient time and memory, forward against reverse mode, as the number of parameters grows."""

    params = (["radau-iia-5", "diffrax-kvaerno5"], ["reverse", "forward"], [1, 5, 25])
    param_names = ("integrator", "method", "n_params")
    timeout = 600
    rounds = 1

    def setup(self, integrator, method, n_params):
        stiffbench.configure()
        self.gradient = _gradient(integrator, method, n_params)
        self.gradient()

    def time_gradient(self, integrator, method, n_params):
        self.gradient()

    def track_gradient_memory(self, integrator, method, n_params):
        return self.gradient.memory_bytes

    track_gradient_memory.unit = "bytes"
