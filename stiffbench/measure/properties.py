"""What the catalog says of each registered integrator and problem: metadata, and what its theory implies."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .._registry import Registry
from ..records import Catalog, IntegratorProperties, ProblemProperties
from ..theory import stability_function


def integrator_properties(registry: Registry, names: Iterable[str] | None = None) -> tuple[IntegratorProperties, ...]:
    rows = []
    for name in names if names is not None else registry.integrators:
        integrator = registry.integrators[name]
        theory: dict[str, Any] = dict.fromkeys(("a_stable", "l_stable", "a_alpha_deg", "R_inf", "decay_exponent"))
        if integrator.theory is not None:
            sf = stability_function(integrator.theory)
            theory = {"a_stable": bool(sf.a_stable), "l_stable": bool(sf.l_stable),
                      "a_alpha_deg": float(sf.a_alpha_deg),
                      "R_inf": complex(sf.R_inf) if math.isfinite(abs(sf.R_inf)) else None,
                      "decay_exponent": float(sf.decay_exponent) if math.isfinite(sf.decay_exponent) else None}
        rows.append(IntegratorProperties(
            name=name, plugin=registry.integrators.plugins[name], family=integrator.family,
            stages=integrator.stages, order=integrator.order, implementation=integrator.implementation,
            citation=integrator.citation, **theory))
    return tuple(rows)


def problem_properties(registry: Registry, names: Iterable[str] | None = None) -> tuple[ProblemProperties, ...]:
    rows = []
    for name in names if names is not None else registry.problems:
        p = registry.problems[name]
        rows.append(ProblemProperties(
            name=name, plugin=registry.problems.plugins[name], parameters=dict(p.parameters),
            fast_parameters=tuple(p.fast_parameters), stiffness_parameter=p.stiffness.parameter,
            stiffness_values=tuple(float(v) for v in p.stiffness.values), dimension=len(p.y0), t0=float(p.t0),
            ts=tuple(float(t) for t in p.ts), citation=p.citation))
    return tuple(rows)


def catalog(registry: Registry, integrators: Iterable[str] | None = None,
            problems: Iterable[str] | None = None) -> Catalog:
    return Catalog(integrator_properties(registry, integrators), problem_properties(registry, problems))
