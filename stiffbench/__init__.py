"""stiffbench: how implicit ODE integrators shape the gradients that flow through them.

The host: plugin contract and manager, registry, stability theory, measurements, records and the CLI.
It holds no solver and no problem; those arrive as plugins (the built-ins included).
"""

import jax

# float64 is the numerical substrate of every measurement: R(z) ~ 1e-8 and R'(z) ~ 1e-16 at |z| = 1e8.
jax.config.update("jax_enable_x64", True)

from ._host import PluginManager, make_plugin_manager  # noqa: E402
from ._integrator import (  # noqa: E402
    AbstractIntegrator,
    AbstractMultistepIntegrator,
    AdaptiveStep,
    FixedStep,
    Solution,
    Status,
    StepPolicy,
)
from ._problem import (  # noqa: E402
    AbstractExactProblem,
    AbstractLinearProblem,
    AbstractProblem,
    ReferenceSolution,
    StiffnessKnob,
)
from ._records import enable_compilation_cache  # noqa: E402
from ._registry import (  # noqa: E402
    Catalog,
    RegistrationError,
    Registry,
    UnknownNameError,
    build_registry,
    load_registry,
)
from .hookspecs import hookimpl  # noqa: E402
from .theory import ButcherTableau, RationalFunction, StabilityFunction, stability_function  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AbstractExactProblem",
    "AbstractIntegrator",
    "AbstractLinearProblem",
    "AbstractMultistepIntegrator",
    "AbstractProblem",
    "AdaptiveStep",
    "ButcherTableau",
    "Catalog",
    "FixedStep",
    "PluginManager",
    "RationalFunction",
    "ReferenceSolution",
    "RegistrationError",
    "Registry",
    "Solution",
    "StabilityFunction",
    "Status",
    "StepPolicy",
    "StiffnessKnob",
    "UnknownNameError",
    "build_registry",
    "enable_compilation_cache",
    "hookimpl",
    "load_registry",
    "make_plugin_manager",
    "stability_function",
]
