"""The contracts between the host and its plugins: integrators, problems, step policies and solve status."""

from .checks import NAME_PATTERN, integrator_problems, problem_problems
from .differentiation import (
    BacksolveAdjoint,
    Differentiation,
    DirectAdjoint,
    ForwardMode,
    ReverseMode,
)
from .integrator import (
    AbstractIntegrator,
    AbstractMultistepIntegrator,
    StructuredVectorField,
    VectorField,
    jacobian_structure,
)
from .policy import AdaptiveStep, FixedStep, StepPolicy
from .problem import (
    AbstractExactProblem,
    AbstractLinearProblem,
    AbstractProblem,
    Banded,
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
    "Banded",
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
    "StructuredVectorField",
    "VectorField",
    "integrator_problems",
    "jacobian_structure",
    "problem_problems",
]
