"""stiffbench: how implicit ODE integrators shape the gradients that flow through them.

The host: plugin contract and manager, registry, stability theory, measurements, records, sweeps, reports and
the CLI. It holds no solver and no problem; those arrive as plugins (the built-ins included).
"""

from . import runtime

# Every use of the library needs float64 (R(z) ~ 1e-8, R'(z) ~ 1e-16 at |z| = 1e8) and equinox's error mode set
# before equinox is first imported; runtime.configure() adds the caches. See stiffbench/runtime.py.
runtime.enable_float64()
runtime.set_error_mode()

from ._host import PluginManager, make_plugin_manager  # noqa: E402
from ._registry import Catalog, Registry, build_registry, load_registry  # noqa: E402
from .contracts import (  # noqa: E402
    AbstractExactProblem,
    AbstractIntegrator,
    AbstractLinearProblem,
    AbstractMultistepIntegrator,
    AbstractProblem,
    AdaptiveStep,
    BacksolveAdjoint,
    Banded,
    Differentiation,
    DirectAdjoint,
    FixedStep,
    ForwardMode,
    ReferenceSolution,
    ReverseMode,
    Solution,
    Status,
    StepPolicy,
    StiffnessKnob,
)
from .errors import ConfigError, RegistrationError, UnknownNameError, UsageError  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402
from .runtime import configure  # noqa: E402
from .theory import ButcherTableau, RationalFunction, StabilityFunction, stability_function  # noqa: E402

__version__ = "0.2.0"

__all__ = [
    "AbstractExactProblem",
    "AbstractIntegrator",
    "AbstractLinearProblem",
    "AbstractMultistepIntegrator",
    "AbstractProblem",
    "AdaptiveStep",
    "BacksolveAdjoint",
    "Banded",
    "ButcherTableau",
    "Catalog",
    "ConfigError",
    "Differentiation",
    "DirectAdjoint",
    "FixedStep",
    "ForwardMode",
    "PluginManager",
    "RationalFunction",
    "ReferenceSolution",
    "RegistrationError",
    "Registry",
    "ReverseMode",
    "Solution",
    "StabilityFunction",
    "Status",
    "StepPolicy",
    "StiffnessKnob",
    "UnknownNameError",
    "UsageError",
    "build_registry",
    "configure",
    "hookimpl",
    "load_registry",
    "make_plugin_manager",
    "stability_function",
]
