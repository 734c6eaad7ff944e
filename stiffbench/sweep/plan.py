"""The plan of a sweep: the configuration resolved against the registry (every name and stiffness value explicit,
every value checked before anything compiles) and the cells of each family it makes.

The families of this version:

- ``stability``: axis ``integrator``; inputs the stability grid;
- ``gradients``: axes ``problem``, ``integrator``, ``policy``; inputs the policy and the stiffness values;
- ``cost``: axes ``problem``, ``solver`` (the integrators, then SciPy's methods); inputs the tolerance;
- ``precision``: axes ``problem``, ``integrator``, ``differentiation``, ``ladder``; inputs the rungs, the
  ``atol`` ratio, the problem's parameters and the repeats;
- ``training``: axes ``problem``, ``integrator``, ``policy``, ``differentiation``, ``optimizer``; inputs the
  policy, the iterations, the optimizer's settings, the start's perturbation, the noise, the seed and what is fitted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import final

import numpy as np

from .._registry import Registry
from ..contracts import AbstractIntegrator, AbstractProblem, AdaptiveStep, Differentiation, FixedStep, StepPolicy
from ..errors import ConfigError
from ..measure import (
    SCIPY_SOLVERS,
    measure_cost,
    measure_gradients,
    measure_precision,
    measure_stability,
    measure_training,
)
from ..measure.gradients import gradient_inputs
from ..records import (
    CostInputs,
    CostResult,
    GradientResult,
    PrecisionInputs,
    PrecisionResult,
    StabilityResult,
    TrainingInputs,
    TrainingResult,
)
from .axes import Axis, AxisValue, Cell, Coords, Family, expand
from .config import DEFAULT, GradientSweep, StepPolicies, SweepConfig, TrainingSweep

QUICK_INTEGRATORS = ("backward-euler", "trapezoid", "radau-iia-5", "bdf-2", "ros2", "diffrax-kvaerno5",
                     "diffrax-tsit5")
"""``--quick``: one integrator per engine and family (native tableau engine, multistep, Rosenbrock, diffrax's
implicit and explicit solvers), plus trapezoid, the A-stable method that is not L-stable."""
QUICK = dataclasses.replace(
    DEFAULT, integrators=QUICK_INTEGRATORS, problems=("linear-2mode",),
    stability=dataclasses.replace(DEFAULT.stability, points=50),
    gradients=GradientSweep(steps=(100,), stiffness_levels=5))


@final
@dataclasses.dataclass(frozen=True)
class PlanContext:
    """The configuration resolved against the registry; what the axes of every family draw on."""

    config: SweepConfig
    integrators: tuple[AbstractIntegrator, ...]
    problems: tuple[AbstractProblem, ...]
    stiffness: Mapping[str, tuple[float, ...]]
    cost_problems: tuple[AbstractProblem, ...]
    precision_problems: tuple[AbstractProblem, ...] = ()
    training_problems: tuple[AbstractProblem, ...] = ()


@final
@dataclasses.dataclass(frozen=True)
class Plan:
    """The effective configuration (every name and stiffness value explicit) and its cells, family by family."""

    config: SweepConfig
    cells: tuple[Cell, ...]
    kinds: tuple[str, ...]
    """The families planned: :func:`make_plan` with this configuration and these families makes these cells again
    (a Dask worker does, to find the cell it is sent)."""

    def of(self, kind: str) -> tuple[Cell, ...]:
        return tuple(cell for cell in self.cells if cell.family.kind == kind)


def policies(problem: AbstractProblem, sweep: GradientSweep | TrainingSweep | StepPolicies) -> list[StepPolicy]:
    span = problem.ts[-1] - problem.t0
    return ([FixedStep(span / n) for n in sweep.steps] + [FixedStep(h) for h in sweep.dt]
            + [AdaptiveStep(rtol=r, atol=sweep.atol or float(f"{1e-6 * r:.12g}")) for r in sweep.rtol])


def _integrators(context: PlanContext, coords: Coords) -> list[AxisValue]:
    return [AxisValue(i.name, i) for i in context.integrators]


def _problems(context: PlanContext, coords: Coords) -> list[AxisValue]:
    return [AxisValue(p.name, p) for p in context.problems]


def _policies(context: PlanContext, coords: Coords) -> list[AxisValue]:
    problem = coords["problem"].value
    return [AxisValue(p.label, p) for p in policies(problem, context.config.gradients.policies_of(problem.name))]


def _cost_problems(context: PlanContext, coords: Coords) -> list[AxisValue]:
    sizes = context.config.cost.sizes
    values = []
    for p in context.cost_problems:
        resized = [p.resized(n) for n in sizes] if sizes and p.sizes else [p]
        values += [AxisValue(q.name, Scanned(q, p.name if q is not p else None)) for q in resized]
    return values


@final
@dataclasses.dataclass(frozen=True)
class Scanned:
    """A cost problem, and the problem a size scan made it from (``None``: not resized)."""

    problem: AbstractProblem
    scan: str | None

    @property
    def name(self) -> str:
        """The registered problem's name (the catalog describes it, not each size)."""
        return self.scan or self.problem.name


def _solvers(context: PlanContext, coords: Coords) -> list[AxisValue]:
    scipy = [f"scipy-{m}" for m in context.config.cost.scipy]
    return _integrators(context, coords) + [AxisValue(name, name) for name in SCIPY_SOLVERS if name in scipy]


def _cost_inputs(context: PlanContext, coords: Coords) -> CostInputs:
    cost = context.config.cost
    return CostInputs(AdaptiveStep(rtol=cost.rtol, atol=cost.atol), cost.repeats)


def _precision_problems(context: PlanContext, coords: Coords) -> list[AxisValue]:
    return [AxisValue(p.name, p) for p in context.precision_problems]


def _methods(labels: Sequence[str]) -> list[AxisValue]:
    return [AxisValue(label, Differentiation.parse(label)) for label in labels]


def _ladders(context: PlanContext, coords: Coords) -> list[AxisValue]:
    return [AxisValue(ladder, ladder) for ladder in context.config.precision.ladders]


def _precision_inputs(context: PlanContext, coords: Coords) -> PrecisionInputs:
    sweep, ladder = context.config.precision, coords["ladder"].value
    rungs = (tuple(sorted(sweep.rtol, reverse=True)) if ladder == "rtol"
             else tuple(float(n) for n in sorted(sweep.steps)))
    return PrecisionInputs(ladder, rungs, sweep.atol_ratio, dict(coords["problem"].value.parameters), sweep.repeats,
                           sweep.max_steps)


def _training_problems(context: PlanContext, coords: Coords) -> list[AxisValue]:
    return [AxisValue(p.name, p) for p in context.training_problems]


def _training_policies(context: PlanContext, coords: Coords) -> list[AxisValue]:
    problem = coords["problem"].value
    return [AxisValue(p.label, p) for p in policies(problem, context.config.training.policies_of(problem.name))]


def _optimizers(context: PlanContext, coords: Coords) -> list[AxisValue]:
    return [AxisValue(name, name) for name in context.config.training.optimizers]


def _training_inputs(context: PlanContext, coords: Coords) -> TrainingInputs:
    sweep, problem = context.config.training, coords["problem"].value
    fitted = sweep.fit.get(problem.name) or (*problem.parameters, *problem.weights)
    return TrainingInputs(coords["policy"].value, sweep.iterations, sweep.learning_rate, sweep.perturbation,
                          sweep.noise, sweep.seed, dict(problem.parameters), tuple(fitted))


def _traced(integrator: AbstractIntegrator) -> float:
    """How much longer an integrator takes to trace and compile than a native one (diffrax's: several times)."""
    return 4.0 if "diffrax" in integrator.implementation else 1.0


def _steps(problem: AbstractProblem, policy: StepPolicy) -> float:
    return (problem.ts[-1] - problem.t0) / policy.h if isinstance(policy, FixedStep) else 1000.0


STABILITY = Family(
    kind="stability",
    axes=(Axis("integrator", _integrators),),
    record=StabilityResult,
    inputs=lambda context, coords: context.config.stability,
    measure=lambda cell: measure_stability(cell["integrator"], cell.inputs, cell.key),
    doing=lambda cell: "R(z), R'(z) through one step (vmap over the z grid)",
    estimate=lambda cell: 1.5 * _traced(cell["integrator"]),
)
GRADIENTS = Family(
    kind="gradients",
    axes=(Axis("problem", _problems), Axis("integrator", _integrators), Axis("policy", _policies)),
    record=GradientResult,
    inputs=lambda context, coords: gradient_inputs(coords["problem"].value, coords["policy"].value,
                                                   context.stiffness[coords["problem"].label]),
    measure=lambda cell: measure_gradients(cell["integrator"], cell["problem"], cell.inputs.policy,
                                           cell.inputs.stiffness, cell.key),
    doing=lambda cell: (f"forward solve and gradient dy/dlog(theta) (vmap over {len(cell.inputs.stiffness)} "
                        "stiffness values)"),
    estimate=lambda cell: 2.5 * _traced(cell["integrator"]) * (1 + isinstance(cell.inputs.policy, AdaptiveStep)),
)
COST = Family(
    kind="cost",
    axes=(Axis("problem", _cost_problems), Axis("solver", _solvers)),
    record=CostResult,
    inputs=_cost_inputs,
    measure=lambda cell: measure_cost(cell["problem"].problem, cell["solver"], cell.inputs, cell.key,
                                      scan=cell["problem"].scan),
    doing=lambda cell: f"an adaptive solve, best of {cell.inputs.repeats}",
    estimate=lambda cell: 3.0 * _traced(cell["solver"]) if isinstance(cell["solver"], AbstractIntegrator) else 1.0,
)
PRECISION = Family(
    kind="precision",
    axes=(Axis("problem", _precision_problems), Axis("integrator", _integrators),
          Axis("differentiation", lambda context, coords: _methods(context.config.precision.differentiation)),
          Axis("ladder", _ladders)),
    record=PrecisionResult,
    inputs=_precision_inputs,
    measure=lambda cell: measure_precision(cell["integrator"], cell["problem"], cell["differentiation"],
                                           cell.inputs, cell.key),
    doing=lambda cell: (f"{len(cell.inputs.rungs)} rungs of the {cell.inputs.ladder} ladder, forward and gradient "
                        f"({cell['differentiation'].label})"
                        + (", compiled once" if cell.inputs.ladder == "rtol" else ", compiled per rung")),
    estimate=lambda cell: _traced(cell["integrator"]) * (4 + len(cell.inputs.rungs) * (cell.inputs.ladder != "rtol")),
)
TRAINING = Family(
    kind="training",
    axes=(Axis("problem", _training_problems), Axis("integrator", _integrators), Axis("policy", _training_policies),
          Axis("differentiation", lambda context, coords: _methods(context.config.training.differentiation)),
          Axis("optimizer", _optimizers)),
    record=TrainingResult,
    inputs=_training_inputs,
    measure=lambda cell: measure_training(cell["integrator"], cell["problem"], cell["differentiation"],
                                          cell["optimizer"], cell.inputs, cell.key),
    doing=lambda cell: (f"{cell.inputs.iterations} iterations of {cell['optimizer']}, each a solve and its gradient "
                        "(one compiled lax.scan)"),
    estimate=lambda cell: _traced(cell["integrator"]) * (3 + 2e-5 * cell.inputs.iterations * _steps(
        cell["problem"], cell.inputs.policy)),
)
FAMILIES: tuple[Family, ...] = (STABILITY, GRADIENTS, COST, PRECISION, TRAINING)


def quick_config(registry: Registry) -> SweepConfig:
    """:data:`QUICK` with the integrators and problems it names that are registered (a user may have disabled
    a plugin with ``--disable``)."""
    return dataclasses.replace(
        QUICK, integrators=tuple(n for n in QUICK_INTEGRATORS if n in registry.integrators),
        problems=tuple(n for n in QUICK.problems or () if n in registry.problems))


def make_plan(config: SweepConfig, registry: Registry, kinds: Iterable[str] | None = None) -> Plan:
    """Resolve names and stiffness values and check every value, before anything compiles; ``kinds`` limits the
    families planned (``stiffbench stability`` plans only ``stability`` cells)."""
    kinds = set(kinds) if kinds is not None else {f.kind for f in FAMILIES}
    integrators = tuple(registry.integrators.select(config.integrators))
    if not integrators:
        raise ConfigError("the configuration selects no integrator; name at least one in `integrators`")
    problems = tuple(registry.problems.select(config.problems)) if "gradients" in kinds else ()
    sweep = config.gradients
    unknown = [name for name in (*sweep.stiffness, *sweep.policies) if name not in registry.problems]
    if unknown:
        registry.problems.select(unknown)  # raises, suggesting the closest names
    if any(not (s.steps or s.dt or s.rtol) for s in (sweep.policies_of(p.name) for p in problems)):
        raise ConfigError("no step policy for the gradient cells: set gradients.steps, gradients.dt or "
                          "gradients.rtol (or problems = [] to measure stability only)")
    stiffness: dict[str, tuple[float, ...]] = {}
    for problem in problems:
        values = sweep.stiffness.get(problem.name) or _thin(problem.stiffness.values, sweep.stiffness_levels)
        for value in values:
            try:
                problem.stiffness.check(value)
            except ValueError as exc:
                raise ConfigError(f"{problem.name}: {exc}") from None
        stiffness[problem.name] = tuple(float(v) for v in values)
    cost_problems = tuple(registry.problems.select(config.cost.problems)) if "cost" in kinds else ()
    precision_problems = (tuple(registry.problems.select(config.precision.problems)) if "precision" in kinds
                          else ())
    training_problems = tuple(registry.problems.select(config.training.problems)) if "training" in kinds else ()
    for problem in training_problems:
        known = (*problem.parameters, *problem.weights)
        unknown = [n for n in config.training.fit.get(problem.name, ()) if n not in known]
        if unknown:
            raise ConfigError(f"training.fit.{problem.name}: {problem.name} has no parameter "
                              f"{', '.join(map(repr, unknown))}; it has {', '.join(known)}")
    for table in ("fit", "policies"):
        strays = [n for n in getattr(config.training, table) if n not in {p.name for p in training_problems}]
        if strays and "training" in kinds:
            raise ConfigError(f"training.{table} names {', '.join(map(repr, strays))}, not among training.problems")
    effective = dataclasses.replace(
        config, integrators=tuple(i.name for i in integrators),
        problems=tuple(p.name for p in problems) if "gradients" in kinds else config.problems,
        gradients=dataclasses.replace(sweep, stiffness_levels=None, stiffness=stiffness, policies={
            name: chosen for name, chosen in sweep.policies.items() if name in stiffness}) if "gradients" in kinds
        else sweep)
    context = PlanContext(effective, integrators, problems, stiffness, cost_problems, precision_problems,
                          training_problems)
    cells = [cell for family in FAMILIES if family.kind in kinds for cell in expand(family, context)]
    return Plan(effective, tuple(cells), tuple(f.kind for f in FAMILIES if f.kind in kinds))


def _thin(values: Sequence[float], levels: int | None) -> tuple[float, ...]:
    """``levels`` of ``values`` spread evenly over the scan (the first and the last kept)."""
    if levels is None or levels >= len(values):
        return tuple(values)
    if levels == 1:
        return (values[-1],)
    picks = np.round(np.linspace(0, len(values) - 1, levels)).astype(int)
    return tuple(values[k] for k in dict.fromkeys(picks))


def describe(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for cell in plan.cells:
        counts[cell.family.kind] = counts.get(cell.family.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items()) + " cells" if counts else "no cells"


