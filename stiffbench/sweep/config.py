"""The sweep configuration: which integrators and problems, the stability grid, the gradient step policies and
stiffness values, the cost comparison, the work–precision ladders and the training fits. Read from TOML
(``stiffbench run --config``), written back by :func:`config_to_toml` so that a run's ``config.toml`` repeats it."""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, final

import tomli_w

from ..contracts import Differentiation
from ..errors import ConfigError, UsageError
from ..records import LADDERS, OPTIMIZERS, StabilityGrid
from .toml_values import ALL, Reader, describe


@final
@dataclasses.dataclass(frozen=True)
class StepPolicies:
    """One problem's step policies, replacing those of its section (``[gradients.policies.NAME]``,
    ``[training.policies.NAME]``)."""

    steps: tuple[int, ...] = ()
    dt: tuple[float, ...] = ()
    rtol: tuple[float, ...] = ()
    atol: float | None = None


@final
@dataclasses.dataclass(frozen=True)
class GradientSweep:
    """Which stiffness values and step policies the gradient cells take, for every problem."""

    steps: tuple[int, ...] = (100,)
    """Fixed steps ``h = (t_end − t0) / n``, one policy per ``n``: the same resolution for every problem."""
    dt: tuple[float, ...] = ()
    """Fixed steps of absolute size ``h``."""
    rtol: tuple[float, ...] = ()
    """Adaptive steps, one policy per relative tolerance."""
    atol: float | None = None
    """Absolute tolerance of the adaptive policies (``None``: 1e-6 times ``rtol``)."""
    stiffness_levels: int | None = None
    """Thin each problem's own stiffness scan to this many values, log-evenly, both ends kept (``None``: all)."""
    stiffness: Mapping[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)
    """Explicit stiffness values per problem name; they override the problem's scan and ``stiffness_levels``."""
    policies: Mapping[str, StepPolicies] = dataclasses.field(default_factory=dict)
    """Per problem, step policies that replace ``steps``, ``dt``, ``rtol`` and ``atol`` for it."""

    def policies_of(self, problem: str) -> StepPolicies | GradientSweep:
        return self.policies.get(problem, self)


@final
@dataclasses.dataclass(frozen=True)
class CostSweep:
    """Adaptive solves side by side with SciPy (``stiffbench cost``): one cell per problem × solver."""

    problems: tuple[str, ...] = ()
    """Problems to solve (empty: no cost cells); the solvers are the sweep's integrators and ``scipy``."""
    rtol: float = 1e-8
    atol: float = 1e-10
    scipy: tuple[str, ...] = ("radau", "bdf")
    """SciPy ``solve_ivp`` methods to compare with (``radau``, ``bdf``)."""
    repeats: int = 3
    sizes: tuple[int, ...] = ()
    """A scan over the system's size: each problem with a size knob is solved at each of these sizes (grid points),
    ``reaction-diffusion-1d`` as ``reaction-diffusion-1d-n256`` and so on. Empty: every problem at its own size."""


@final
@dataclasses.dataclass(frozen=True)
class PrecisionSweep:
    """Work–precision ladders: one cell per problem × integrator × differentiation method × ladder."""

    problems: tuple[str, ...] = ()
    """Problems (empty: no work–precision cells), at their default parameters; the integrators are the sweep's."""
    differentiation: tuple[str, ...] = ("reverse", "forward")
    """Methods by label (``reverse``, ``reverse-cN``, ``direct``, ``backsolve``, ``forward``); a method an
    integrator does not support is a not-applicable cell."""
    ladders: tuple[str, ...] = ("rtol",)
    """``rtol`` (adaptive steps at each tolerance) and/or ``steps`` (fixed steps, a count per rung)."""
    rtol: tuple[float, ...] = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
    steps: tuple[int, ...] = (10, 30, 100, 300, 1000)
    """Numbers of fixed steps over each problem's time span."""
    atol_ratio: float | None = None
    """``atol = atol_ratio · rtol`` (``None``: 1e-3 times the smallest peak ``|y_i|`` of each problem)."""
    max_steps: int | None = None
    """Of the adaptive rungs (``None``: 100000); bounds the time a diverging backsolve adjoint can take."""
    repeats: int = 3


@final
@dataclasses.dataclass(frozen=True)
class TrainingSweep:
    """Fits to the reference solution: one cell per problem × integrator × step policy × differentiation ×
    optimizer (docs/theory.md §8)."""

    problems: tuple[str, ...] = ()
    """Problems to fit (empty: no training cells); the integrators are the sweep's."""
    steps: tuple[int, ...] = (10, 100, 1000)
    """Fixed steps ``h = (t_end − t0) / n``, one policy per ``n``."""
    dt: tuple[float, ...] = ()
    """Fixed steps of absolute size ``h``."""
    rtol: tuple[float, ...] = (1e-6,)
    """Adaptive steps, one policy per relative tolerance."""
    atol: float | None = None
    """Absolute tolerance of the adaptive policies (``None``: 1e-6 times ``rtol``)."""
    differentiation: tuple[str, ...] = ("reverse",)
    optimizers: tuple[str, ...] = ("adam",)
    """``adam`` (learning rate decaying exponentially to a tenth over the iterations) and/or ``lbfgs``."""
    iterations: int = 200
    learning_rate: float = 0.1
    """Adam's initial learning rate (in log θ for rates)."""
    perturbation: float = 0.5
    """The start: ``log θ* + σ ε`` for rates, ``W* + σ rms(W*) ε`` for weights, ``ε`` standard normal."""
    noise: float = 0.0
    """Relative noise on the observations, ``d = y*(1 + noise ε)``."""
    seed: int = 0
    fit: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Per problem, the parameters fitted (default: every rate and weight array); the others stay true."""
    policies: Mapping[str, StepPolicies] = dataclasses.field(default_factory=dict)
    """Per problem, step policies that replace ``steps``, ``dt``, ``rtol`` and ``atol`` for it (Robertson's fixed
    steps defeat every Newton iteration at useful sizes; fit it with adaptive steps only)."""

    def policies_of(self, problem: str) -> StepPolicies | TrainingSweep:
        return self.policies.get(problem, self)


@final
@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """What ``stiffbench run`` measures: a TOML file (``--config``), or the defaults, or ``--quick``."""

    integrators: tuple[str, ...] | None = None
    """Integrator names (``None``, written ``"all"``: every registered integrator)."""
    problems: tuple[str, ...] | None = ("linear-2mode", "robertson-40")
    """Problems of the gradient cells (``None``: every registered problem; empty: no gradient cells)."""
    stability: StabilityGrid = dataclasses.field(default_factory=lambda: StabilityGrid(angles=(45.0,)))
    """The default grid plus the ray ``arg(−z) = 45°`` into the left half-plane."""
    gradients: GradientSweep = dataclasses.field(default_factory=lambda: GradientSweep(
        policies={"robertson-40": StepPolicies(rtol=(1e-6,))}))
    """Fixed steps of 1/100 of the time span; Robertson with adaptive steps at rtol 1e-6 (docs/theory.md §6: at
    fixed steps its early transient defeats the Newton and chord iterations of almost every integrator)."""
    cost: CostSweep = dataclasses.field(default_factory=CostSweep)
    precision: PrecisionSweep = dataclasses.field(default_factory=PrecisionSweep)
    training: TrainingSweep = dataclasses.field(default_factory=TrainingSweep)


DEFAULT = SweepConfig()
_SECTIONS: dict[str, type] = {"stability": StabilityGrid, "gradients": GradientSweep, "cost": CostSweep,
                              "precision": PrecisionSweep, "training": TrainingSweep}
_KEYS = {"": ("integrators", "problems", *_SECTIONS)} | {
    name: tuple(f.name for f in dataclasses.fields(cls)) for name, cls in _SECTIONS.items()}


def parse_config(text: str, source: str = "configuration") -> SweepConfig:
    """A :class:`SweepConfig` from TOML text; unknown keys and wrong types are :class:`ConfigError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    return config_from_dict(data, source)


def read_config(path: str | Path) -> SweepConfig:
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"configuration file {str(path)!r} is a directory; name a TOML file (a run's config.toml "
                         "repeats that run)")
    if not path.is_file():
        raise UsageError(f"configuration file {str(path)!r} does not exist")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read configuration file {str(path)!r}: {exc}") from None
    return parse_config(text, str(path))


def config_from_dict(data: Mapping[str, Any], source: str = "configuration") -> SweepConfig:
    _check_keys(data, "", source)
    tables = {name: _table(data, name, source) for name in _SECTIONS}
    for name, table in tables.items():
        _check_keys(table, name, source)
    read = Reader(source)

    s, grid = tables["stability"], DEFAULT.stability
    try:
        stability = StabilityGrid(
            points=read.integer(s, "stability.points", grid.points, minimum=2),
            z_min=read.number(s, "stability.z_min", grid.z_min, positive=True),
            z_max=read.number(s, "stability.z_max", grid.z_max, positive=True),
            angles=read.numbers(s, "stability.angles", grid.angles),
            tail=read.number(s, "stability.tail", grid.tail, positive=True),
        )
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"{source}: [stability]: {exc}") from None

    g, d = tables["gradients"], GradientSweep()
    stiffness = g.get("stiffness", {})
    if not isinstance(stiffness, Mapping):
        raise ConfigError(f"{source}: gradients.stiffness must be a table of problem = [values], "
                          f"got {describe(stiffness)}")
    levels = g.get("stiffness_levels")
    gradients = GradientSweep(
        steps=read.integers(g, "gradients.steps", d.steps, minimum=1),
        dt=read.numbers(g, "gradients.dt", d.dt, positive=True),
        rtol=read.numbers(g, "gradients.rtol", d.rtol, positive=True),
        atol=read.number(g, "gradients.atol", None, positive=True),
        stiffness_levels=None if levels is None else read.integer(g, "gradients.stiffness_levels", None, minimum=1),
        stiffness={str(name): read.numbers(stiffness, f"gradients.stiffness.{name}", (), positive=True)
                   for name in stiffness},
        policies=_step_policies(g, "gradients", read, source, DEFAULT.gradients.policies),
    )
    if gradients.atol is not None and not gradients.rtol:
        raise ConfigError(f"{source}: gradients.atol applies to adaptive policies only: set gradients.rtol too")

    c, e = tables["cost"], CostSweep()
    scipy = read.names(c, "cost.scipy", e.scipy)
    unknown = [m for m in scipy if m not in ("radau", "bdf")]
    if unknown:
        raise ConfigError(f"{source}: cost.scipy: unknown SciPy method(s) {unknown}; valid: radau, bdf")
    cost = CostSweep(problems=read.names(c, "cost.problems", e.problems),
                     rtol=read.number(c, "cost.rtol", e.rtol, positive=True),
                     atol=read.number(c, "cost.atol", e.atol, positive=True), scipy=scipy,
                     repeats=read.integer(c, "cost.repeats", e.repeats, minimum=1),
                     sizes=read.integers(c, "cost.sizes", e.sizes, minimum=1))

    w, f = tables["precision"], PrecisionSweep()
    precision = PrecisionSweep(
        problems=read.names(w, "precision.problems", f.problems),
        differentiation=read.names(w, "precision.differentiation", f.differentiation),
        ladders=read.names(w, "precision.ladders", f.ladders),
        rtol=read.numbers(w, "precision.rtol", f.rtol, positive=True),
        steps=read.integers(w, "precision.steps", f.steps, minimum=1),
        atol_ratio=read.number(w, "precision.atol_ratio", None, positive=True),
        max_steps=None if w.get("max_steps") is None else read.integer(w, "precision.max_steps", None, minimum=1),
        repeats=read.integer(w, "precision.repeats", f.repeats, minimum=1))
    _check_methods(precision.differentiation, "precision.differentiation", source)
    unknown = [ladder for ladder in precision.ladders if ladder not in LADDERS]
    if unknown:
        raise ConfigError(f"{source}: precision.ladders: unknown ladder(s) {unknown}; valid: {', '.join(LADDERS)}")
    return SweepConfig(integrators=read.selection(data, "integrators", DEFAULT.integrators),
                       problems=read.selection(data, "problems", DEFAULT.problems),
                       stability=stability, gradients=gradients, cost=cost, precision=precision,
                       training=_training(tables["training"], read, source))


def _training(t: Mapping[str, Any], read: Reader, source: str) -> TrainingSweep:
    d = TrainingSweep()
    fit = t.get("fit", {})
    if not isinstance(fit, Mapping):
        raise ConfigError(f"{source}: training.fit must be a table of problem = [parameter names], "
                          f"got {describe(fit)}")
    training = TrainingSweep(
        problems=read.names(t, "training.problems", d.problems),
        steps=read.integers(t, "training.steps", d.steps, minimum=1),
        dt=read.numbers(t, "training.dt", d.dt, positive=True),
        rtol=read.numbers(t, "training.rtol", d.rtol, positive=True),
        atol=read.number(t, "training.atol", None, positive=True),
        differentiation=read.names(t, "training.differentiation", d.differentiation),
        optimizers=read.names(t, "training.optimizers", d.optimizers),
        iterations=read.integer(t, "training.iterations", d.iterations, minimum=1),
        learning_rate=read.number(t, "training.learning_rate", d.learning_rate, positive=True),
        perturbation=read.number(t, "training.perturbation", d.perturbation, positive=True),
        noise=read.number(t, "training.noise", d.noise),
        seed=read.integer(t, "training.seed", d.seed, minimum=0),
        fit={str(name): read.names(fit, f"training.fit.{name}", ()) for name in fit},
        policies=_step_policies(t, "training", read, source, d.policies),
    )
    if training.noise < 0:
        raise ConfigError(f"{source}: training.noise must be a finite number of at least 0, got {training.noise}")
    _check_methods(training.differentiation, "training.differentiation", source)
    unknown = [o for o in training.optimizers if o not in OPTIMIZERS]
    if unknown:
        raise ConfigError(f"{source}: training.optimizers: unknown optimizer(s) {unknown}; valid: "
                          f"{', '.join(OPTIMIZERS)}")
    for name in training.problems:
        chosen = training.policies_of(name)
        if not (chosen.steps or chosen.dt or chosen.rtol):
            raise ConfigError(f"{source}: no step policy for the training cells of {name}: set training.steps, "
                              "training.dt or training.rtol (or those of [training.policies." + name + "])")
    return training


def _step_policies(table: Mapping[str, Any], section: str, read: Reader, source: str,
                   default: Mapping[str, StepPolicies]) -> Mapping[str, StepPolicies]:
    """``[SECTION.policies.NAME]`` tables: per problem, the step policies that replace the section's."""
    if "policies" not in table:
        return default
    policies = table["policies"]
    if not (isinstance(policies, Mapping) and all(isinstance(v, Mapping) for v in policies.values())):
        raise ConfigError(f"{source}: {section}.policies must hold a table per problem ([{section}.policies.NAME] "
                          f"with steps, dt, rtol, atol), got {describe(policies)}")
    valid = tuple(f.name for f in dataclasses.fields(StepPolicies))
    for name, entry in policies.items():
        for key in entry:
            if key not in valid:
                raise ConfigError(f"{source}: unknown key '{section}.policies.{name}.{key}'; valid keys: "
                                  f"{', '.join(valid)}")
    out = {str(name): StepPolicies(
        steps=read.integers(entry, f"{section}.policies.{name}.steps", (), minimum=1),
        dt=read.numbers(entry, f"{section}.policies.{name}.dt", (), positive=True),
        rtol=read.numbers(entry, f"{section}.policies.{name}.rtol", (), positive=True),
        atol=read.number(entry, f"{section}.policies.{name}.atol", None, positive=True))
        for name, entry in policies.items()}
    for name, chosen in out.items():
        if not (chosen.steps or chosen.dt or chosen.rtol):
            raise ConfigError(f"{source}: {section}.policies.{name} sets no step policy: give steps, dt or rtol")
    return out


def _check_methods(labels: tuple[str, ...], key: str, source: str) -> None:
    for label in labels:
        try:
            Differentiation.parse(label)
        except ValueError as exc:
            raise ConfigError(f"{source}: {key}: {exc}") from None


def config_to_toml(config: SweepConfig) -> str:
    """The configuration as TOML that :func:`parse_config` reads back to an equal :class:`SweepConfig`."""
    def section(value: Any) -> dict[str, Any]:  # "policies = {}" kept: it differs from the default's
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None and (getattr(value, f.name) != {} or f.name == "policies")}

    document: dict[str, Any] = {
        "integrators": ALL if config.integrators is None else list(config.integrators),
        "problems": ALL if config.problems is None else list(config.problems),
        "stability": section(config.stability),
        "gradients": section(config.gradients),
        "cost": section(config.cost),
        "precision": section(config.precision),
        "training": section(config.training),
    }
    header = ("# stiffbench sweep configuration: `stiffbench run --config FILE` runs it again.\n"
              "# [stability]: z = -r e^(i angle), r log-spaced in [z_min, z_max]; decay fitted over |z| >= tail.\n"
              "# [gradients]: fixed steps h = time span / n for n in steps, fixed h in dt, adaptive per rtol.\n"
              "# [cost]: adaptive solves of cost.problems by every integrator and by SciPy, side by side (at each of\n"
              "#   cost.sizes, for a problem with a size knob).\n"
              "# [precision]: work-precision ladders (rtol, fixed steps) of precision.problems per differentiation.\n"
              "# [training]: fits of training.problems from a perturbed start, per policy, method and optimizer.\n")
    return header + tomli_w.dumps(document, multiline_strings=False)


def config_differences(a: SweepConfig, b: SweepConfig) -> list[str]:
    """The keys whose values differ, as ``key: a -> b``."""
    flat_a, flat_b = _flatten(a), _flatten(b)
    return [f"{key}: {flat_a.get(key)!r} -> {flat_b.get(key)!r}"
            for key in sorted(flat_a.keys() | flat_b.keys()) if flat_a.get(key) != flat_b.get(key)]


def _flatten(config: SweepConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"integrators": config.integrators, "problems": config.problems}
    for name in _SECTIONS:
        for key, value in dataclasses.asdict(getattr(config, name)).items():
            if isinstance(value, Mapping):  # gradients.stiffness, training.fit, training.policies: per problem
                out |= {f"{name}.{key}.{problem}": v if isinstance(v, Mapping) else tuple(v)
                        for problem, v in value.items()}
            else:
                out[f"{name}.{key}"] = value
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return list(value) if isinstance(value, tuple) else value


def _check_keys(table: Mapping[str, Any], section: str, source: str) -> None:
    valid = _KEYS[section]
    for key in table:
        if key not in valid:
            where = f"in [{section}]" if section else "at the top level"
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{source}: unknown key {(section + '.' if section else '') + key!r}{hint}; "
                              f"valid keys {where}: {', '.join(valid)}")


def _table(data: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: {key} must be a table ([{key}]), got {describe(value)}")
    return value
