"""Training through an integrator: linear-2mode's two rates fitted by Adam (50 iterations, the training cell's
defaults otherwise) at fixed steps h = 1/100 and 1/1000 (|h k_fast| ≈ 10 and 1). The time of the whole compiled
training loop (``measure.training.training_program``, as a training cell compiles it), and where the fit ends: the
final relative error of each rate, so that a commit that changes the gradient the optimizer sees moves a track.
"""

import stiffbench
from stiffbench import FixedStep, ReverseMode
from stiffbench.measure import training
from stiffbench.records import TrainingInputs

from . import _common as c

PROBLEM = "linear-2mode"
ITERATIONS = 50


def _inputs(steps: int) -> TrainingInputs:
    problem = c.REGISTRY.problems[PROBLEM]
    return TrainingInputs(FixedStep(1.0 / steps), ITERATIONS, 0.1, 0.5, 0.0, 0, dict(problem.parameters),
                          tuple(problem.parameters))


class LinearTwoMode:
    """One fit per integrator and step: its run time and its final errors."""

    params = (["backward-euler", "trapezoid", "radau-iia-5"], [100, 1000])
    param_names = ("integrator", "steps")
    timeout = 300
    rounds = 1

    def setup(self, integrator, steps):
        stiffbench.configure()
        problem, inputs = c.REGISTRY.problems[PROBLEM], _inputs(steps)
        # ``training.setup`` by its module: a module-level ``setup`` is an asv hook, called before every benchmark.
        self.program = c.memo(("training", integrator, steps), lambda: training.training_program(
            c.integrator(integrator), problem, ReverseMode(), "adam", inputs, training.setup(problem, inputs)))
        self.result = c.memo(("training-record", integrator, steps), lambda: training.measure_training(
            c.integrator(integrator), problem, ReverseMode(), "adam", inputs))
        self.program()

    def time_fit(self, integrator, steps):
        self.program()

    def track_final_error_k_fast(self, integrator, steps):
        return self.result.final_rel_error["k_fast"]

    def track_final_error_k_slow(self, integrator, steps):
        return self.result.final_rel_error["k_slow"]

    track_final_error_k_fast.unit = "relative error"
    track_final_error_k_slow.unit = "relative error"
