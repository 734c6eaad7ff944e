"""The size axis: native integrators on ``reaction-diffusion-1d`` (a banded Jacobian) at 64, 256 and 1024 grid
points, adaptive steps at rtol 1e-6: forward solve and gradient (one reverse pass of ``½Σy²``) time, and steps.
How the time grows with the size is what the native engine's structured linear algebra is for; a regression in it
shows here first (``stiffbench cost --sizes`` measures the same against SciPy and diffrax)."""

import jax
import numpy as np

import stiffbench
from stiffbench import AdaptiveStep
from stiffbench.measure import kernels

from . import _common as c

SIZES = [64, 256, 1024]
INTEGRATORS = ["radau-iia-5", "rodas4", "backward-euler"]
POLICY = AdaptiveStep(rtol=1e-6, atol=1e-9)


def _programs(size: int, name: str):
    def build():
        problem = c.problem("reaction-diffusion-1d").resized(size)
        integrator, log_theta = c.integrator(name), kernels.log_parameters(problem)
        forward = kernels.compile_program(jax.vmap(kernels.forward(integrator, problem, POLICY)), log_theta,
                                          cache=("forward", integrator, problem, POLICY))
        gradient = kernels.compile_program(jax.vmap(kernels.loss_gradient(integrator, problem, POLICY)), log_theta,
                                           cache=("loss gradient", integrator, problem, POLICY))
        solution = forward()
        if int(np.asarray(solution.status)[0]) != 0:
            raise RuntimeError(f"{name} on {problem.name}: status {int(np.asarray(solution.status)[0])}")
        gradient()
        return forward, gradient, int(np.asarray(solution.num_steps)[0])

    return c.memo(("scaling", size, name), build)


class Size:
    """Compiled run time of the forward solve and of the gradient against the number of states."""

    params = (SIZES, INTEGRATORS)
    param_names = ("states", "integrator")
    timeout = 600
    rounds = 1

    def setup(self, size, name):
        stiffbench.configure()
        self.forward, self.gradient, self.steps = _programs(size, name)

    def time_forward(self, size, name):
        self.forward()

    def time_gradient(self, size, name):
        self.gradient()

    def track_steps(self, size, name):
        return self.steps

    track_steps.unit = "steps"
