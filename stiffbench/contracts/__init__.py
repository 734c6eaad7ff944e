"""The contracts between the host and its plugins: integrators, problems, step policies and solve status."""

from .checks import NAME_PATTERN, integrator_problems, problem_problems
from .differentiation import (
    BacksolveAdjoint,
    Differentiation,
    DirectAdjoint,
    ForwardMode,
    ReverseMode,
)
from .integrator import AbstractIntegrator, AbstractMultistepIntegrator, VectorField
from .policy import AdaptiveStep, FixedStep, StepPolicy
from .problem import (
    AbstractExactProblem,
    AbstractLinearProblem,
    AbstractProblem,
    ReferenceSolution,
    StiffnessKnob,
)
from .solution import Solution, Status

__all__ = [
    "NAME_PATTERN",
    "AbstractExactProblem",
    "AbstractIntegrator",
    "AbstractLinearProblem",
    "AbstractMultistepIntegrator",
    "AbstractProblem",
    "AdaptiveStep",
    "BacksolveAdjoint",
    "Differentiation",
    "DirectAdjoint",
    "FixedStep",
    "ForwardMode",
    "ReferenceSolution",
    "ReverseMode",
    "Solution",
    "Status",
    "StepPolicy",
    "StiffnessKnob",
    "VectorField",
    "integrator_problems",
    "problem_problems",
]
