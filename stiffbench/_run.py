"""The main job as a sweep: its configuration, its cells, and the directory of records it writes.

A sweep is a set of independent cells (design.md, "Scale"): one **stability cell** per integrator and
one **gradient cell** per problem × integrator × step policy (the stiffness values of a gradient cell are
one ``vmap``-ed compiled gradient, as in :func:`~stiffbench._gradients.measure_gradients`). Each cell is
measured by the existing measurement functions and written atomically to its own file, so an interrupted
run keeps every finished cell and ``--resume`` computes only the missing ones.

The run directory::

    config.toml          the effective configuration (explicit names and stiffness values): rerun with --config
    environment.json     versions, git commit, machine
    catalog.json         the integrators' and problems' properties (family, order, A-/L-stability, ...)
    cells/stability/<integrator>.json                    a stiffbench.stability/1 record of one integrator
    cells/gradients/<problem>/<integrator>/<policy>.json a stiffbench.gradients/1 record of one cell
    stability.json, gradients.json                       all cells combined, written at the end
    report.md, figures/*.png                             written from the records alone (stiffbench report)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, final

import numpy as np

from . import _gradients, _records, _stability
from ._gradients import gradient_record, measure_gradients, policy_record
from ._integrator import AbstractIntegrator, AdaptiveStep, FixedStep, StepPolicy
from ._problem import AbstractProblem
from ._registry import Registry
from ._stability import StabilityGrid, stability_record
from .theory import stability_function

CATALOG_SCHEMA = "stiffbench.catalog/1"
CONFIG_FILE, ENVIRONMENT_FILE, CATALOG_FILE = "config.toml", "environment.json", "catalog.json"
STABILITY_FILE, GRADIENTS_FILE = "stability.json", "gradients.json"

ALL = "all"
QUICK_INTEGRATORS = ("backward-euler", "trapezoid", "radau-iia-5", "bdf-2", "ros2", "diffrax-kvaerno5",
                     "diffrax-tsit5")
"""``--quick``: one integrator per engine and family (native tableau engine, multistep, Rosenbrock, diffrax's
implicit and explicit solvers), plus trapezoid, the A-stable method that is not L-stable. Two diffrax
solvers only: tracing and compiling one for both measurements takes 9–28 s on two cores, more than the
five native ones together (about 15 s cold, 7 s with the compilation cache warm)."""


class ConfigError(ValueError):
    """A sweep configuration that cannot be run: the message names the key and the valid ones."""



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


@final
@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """What ``stiffbench run`` measures: a TOML file (``--config``), or the defaults, or ``--quick``."""

    integrators: tuple[str, ...] | None = None
    """Integrator names (``None``: every registered integrator)."""
    problems: tuple[str, ...] | None = ("linear", "robertson-40")
    """Problem names (``None``, written ``"all"``: every registered problem; empty: no gradient cells). The
    default sweep stays within minutes on two cores: compiling a diffrax gradient takes 5–20 s a cell."""
    stability: StabilityGrid = dataclasses.field(default_factory=lambda: StabilityGrid(angles=(45.0,)))
    """The default grid plus the ray ``arg(−z) = 45°`` into the left half-plane."""
    gradients: GradientSweep = dataclasses.field(default_factory=GradientSweep)


DEFAULT = SweepConfig()
QUICK = SweepConfig(
    integrators=QUICK_INTEGRATORS,
    problems=("linear",),
    stability=StabilityGrid(points=50, angles=(45.0,)),
    gradients=GradientSweep(steps=(100,), stiffness_levels=5),
)

_KEYS = {
    "": ("integrators", "problems", "stability", "gradients"),
    "stability": tuple(f.name for f in dataclasses.fields(StabilityGrid)),
    "gradients": tuple(f.name for f in dataclasses.fields(GradientSweep)),
}


def parse_config(text: str, source: str = "configuration") -> SweepConfig:
    """A :class:`SweepConfig` from TOML text; unknown keys and wrong types are :class:`ConfigError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    return config_from_dict(data, source)


def read_config(path: str | Path) -> SweepConfig:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"configuration file {str(path)!r} does not exist")
    return parse_config(path.read_text(), str(path))


def config_from_dict(data: Mapping[str, Any], source: str = "configuration") -> SweepConfig:
    _check_keys(data, "", source)
    stability = _table(data, "stability", source)
    gradients = _table(data, "gradients", source)
    _check_keys(stability, "stability", source)
    _check_keys(gradients, "gradients", source)

    grid_defaults = DEFAULT.stability
    try:
        grid = StabilityGrid(
            points=_integer(stability, "points", grid_defaults.points, source, "stability.", minimum=2),
            z_min=_number(stability, "z_min", grid_defaults.z_min, source, "stability."),
            z_max=_number(stability, "z_max", grid_defaults.z_max, source, "stability."),
            angles=_numbers(stability, "angles", grid_defaults.angles, source, "stability."),
            tail=_number(stability, "tail", grid_defaults.tail, source, "stability."),
        )
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"{source}: [stability]: {exc}") from None

    stiffness = gradients.get("stiffness", {})
    if not isinstance(stiffness, Mapping):
        raise ConfigError(f"{source}: gradients.stiffness must be a table of problem = [values], "
                          f"got {_describe(stiffness)}")
    levels = gradients.get("stiffness_levels")
    if levels is not None:
        levels = _integer(gradients, "stiffness_levels", None, source, "gradients.", minimum=1)
    sweep = GradientSweep(
        steps=tuple(_integers(gradients, "steps", GradientSweep.steps, source, "gradients.", minimum=1)),
        dt=_numbers(gradients, "dt", (), source, "gradients.", positive=True),
        rtol=_numbers(gradients, "rtol", (), source, "gradients.", positive=True),
        atol=_number(gradients, "atol", None, source, "gradients.", positive=True),
        stiffness_levels=levels,
        stiffness={str(name): _numbers(stiffness, name, (), source, "gradients.stiffness.")
                   for name in stiffness},
    )
    return SweepConfig(
        integrators=_names(data, "integrators", source),
        problems=_names(data, "problems", source),
        stability=grid,
        gradients=sweep,
    )


def _check_keys(table: Mapping[str, Any], section: str, source: str) -> None:
    valid = _KEYS[section]
    for key in table:
        if key not in valid:
            where = f"in [{section}]" if section else "at the top level"
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{source}: unknown key {(section + '.' if section else '') + key!r}{hint}; "
                              f"valid keys {where}: {', '.join(valid)}")


def _table(data, key, source) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: {key} must be a table ([{key}]), got {_describe(value)}")
    return value


def _describe(value) -> str:
    return f"{type(value).__name__} {value!r:.60}"


def _names(data, key, source) -> tuple[str, ...] | None:
    if key not in data:
        return getattr(DEFAULT, key)
    value = data[key]
    if value == ALL:
        return None
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ConfigError(f"{source}: {key} must be \"all\" or a list of names, got {_describe(value)}")
    return tuple(dict.fromkeys(value))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(table, key, default, source, prefix, *, positive=False):
    if key not in table:
        return default
    value = table[key]
    if not (_is_number(value) and math.isfinite(value)) or (positive and value <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise ConfigError(f"{source}: {prefix}{key} must be {kind}, got {_describe(value)}")
    return float(value)


def _numbers(table, key, default, source, prefix, *, positive=False) -> tuple[float, ...]:
    if key not in table:
        return tuple(default)
    value = table[key]
    kind = "positive finite numbers" if positive else "finite numbers"
    if not isinstance(value, list):
        raise ConfigError(f"{source}: {prefix}{key} must be a list of {kind}, got {_describe(value)}")
    for v in value:
        if not (_is_number(v) and math.isfinite(v)) or (positive and v <= 0):
            raise ConfigError(f"{source}: {prefix}{key} must be a list of {kind}, got {_describe(v)} in it")
    return tuple(float(v) for v in value)


def _integer(table, key, default, source, prefix, *, minimum) -> int:
    if key not in table:
        return default
    value = table[key]
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
        raise ConfigError(f"{source}: {prefix}{key} must be an integer of at least {minimum}, got {_describe(value)}")
    return value


def _integers(table, key, default, source, prefix, *, minimum) -> tuple[int, ...]:
    if key not in table:
        return tuple(default)
    value = table[key]
    if not (isinstance(value, list)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value)):
        raise ConfigError(f"{source}: {prefix}{key} must be a list of integers of at least {minimum}, "
                          f"got {_describe(value)}")
    return tuple(value)


def config_to_toml(config: SweepConfig) -> str:
    """The configuration as TOML that :func:`parse_config` reads back to an equal :class:`SweepConfig`."""
    g, s = config.gradients, config.stability
    lines = ["# stiffbench sweep configuration: `stiffbench run --config FILE` runs it again.",
             f"integrators = {_toml_names(config.integrators)}",
             f"problems = {_toml_names(config.problems)}",
             "",
             "[stability]  # z = -r e^(i angle), r log-spaced in [z_min, z_max]; decay fitted over |z| >= tail",
             f"points = {s.points}", f"z_min = {_toml(s.z_min)}", f"z_max = {_toml(s.z_max)}",
             f"angles = {_toml(list(s.angles))}", f"tail = {_toml(s.tail)}",
             "",
             "[gradients]  # step policies: h = time span / n for n in steps; fixed h in dt; adaptive per rtol",
             f"steps = {_toml(list(g.steps))}", f"dt = {_toml(list(g.dt))}", f"rtol = {_toml(list(g.rtol))}"]
    if g.atol is not None:
        lines.append(f"atol = {_toml(g.atol)}")
    if g.stiffness_levels is not None:
        lines.append(f"stiffness_levels = {g.stiffness_levels}")
    if g.stiffness:
        lines += ["", "[gradients.stiffness]  # values of each problem's stiffness parameter"]
        lines += [f"{name} = {_toml(list(values))}" for name, values in g.stiffness.items()]
    return "\n".join(lines) + "\n"


def _toml_names(names: tuple[str, ...] | None) -> str:
    """``"all"``, or a list of names, one per line when it is long."""
    if names is None:
        return _toml(ALL)
    if len(_toml(list(names))) <= 100:
        return _toml(list(names))
    return "[\n" + "".join(f"    {_toml(name)},\n" for name in names) + "]"


def _toml(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string without control characters is a TOML basic string
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest round-trip repr: 0.01, 100000000.0, 1e-05 are all TOML floats
    if isinstance(value, int):
        return str(value)
    return "[" + ", ".join(_toml(v) for v in value) + "]"


def config_differences(a: SweepConfig, b: SweepConfig) -> list[str]:
    """The keys whose values differ, as ``key: a -> b``."""
    flat_a, flat_b = _flatten(a), _flatten(b)
    return [f"{key}: {flat_a.get(key)!r} -> {flat_b.get(key)!r}"
            for key in sorted(flat_a.keys() | flat_b.keys()) if flat_a.get(key) != flat_b.get(key)]


def _flatten(config: SweepConfig) -> dict[str, Any]:
    out = {"integrators": config.integrators, "problems": config.problems}
    out |= {f"stability.{k}": v for k, v in dataclasses.asdict(config.stability).items()}
    for key, value in dataclasses.asdict(config.gradients).items():
        if key == "stiffness":
            out |= {f"gradients.stiffness.{name}": tuple(v) for name, v in value.items()}
        else:
            out[f"gradients.{key}"] = value
    return out



@final
@dataclasses.dataclass(frozen=True)
class StabilityCell:
    integrator: AbstractIntegrator

    @property
    def path(self) -> Path:
        return Path("cells", "stability", f"{self.integrator.name}.json")

    @property
    def label(self) -> str:
        return f"stability {self.integrator.name}"


@final
@dataclasses.dataclass(frozen=True)
class GradientCell:
    problem: AbstractProblem
    integrator: AbstractIntegrator
    policy: StepPolicy
    stiffness: tuple[float, ...]

    @property
    def path(self) -> Path:
        return Path("cells", "gradients", self.problem.name, self.integrator.name, f"{policy_slug(self.policy)}.json")

    @property
    def label(self) -> str:
        return f"gradients {self.problem.name} / {self.integrator.name} / {policy_slug(self.policy)}"


def policy_slug(policy: StepPolicy | Mapping[str, Any]) -> str:
    """A file-name-safe, stable name of a step policy: ``fixed-h0.01``, ``adaptive-rtol1e-06-atol1e-12``."""
    record = policy if isinstance(policy, Mapping) else policy_record(policy)
    if record["kind"] == "fixed":
        return f"fixed-h{record['h']!r}"
    return f"adaptive-rtol{record['rtol']!r}-atol{record['atol']!r}"


@final
@dataclasses.dataclass(frozen=True)
class Plan:
    """The effective configuration (every name and stiffness value explicit) and the cells it makes."""

    config: SweepConfig
    integrators: tuple[AbstractIntegrator, ...]
    problems: tuple[AbstractProblem, ...]
    stability_cells: tuple[StabilityCell, ...]
    gradient_cells: tuple[GradientCell, ...]

    @property
    def cells(self) -> tuple[StabilityCell | GradientCell, ...]:
        return (*self.stability_cells, *self.gradient_cells)


def quick_config(registry: Registry) -> SweepConfig:
    """:data:`QUICK` with the integrators and problems it names that are registered (a user may have
    disabled a plugin with ``--disable``)."""
    return dataclasses.replace(QUICK, integrators=tuple(n for n in QUICK.integrators if n in registry.integrators),
                               problems=tuple(n for n in QUICK.problems if n in registry.problems))


def make_plan(config: SweepConfig, registry: Registry) -> Plan:
    """Resolve names and stiffness values and check every value, before anything compiles."""
    def select(catalog, names):
        if names is None:
            return catalog.select(None)
        return catalog.select(names) if names else []

    integrators = tuple(select(registry.integrators, config.integrators))
    if not integrators:
        raise ConfigError("the configuration selects no integrator; name at least one in `integrators`")
    problems = tuple(select(registry.problems, config.problems))
    sweep = config.gradients
    unknown = [name for name in sweep.stiffness if name not in registry.problems]
    if unknown:
        registry.problems.select(unknown)  # raises, suggesting the closest names
    if problems and not (sweep.steps or sweep.dt or sweep.rtol):
        raise ConfigError("no step policy for the gradient cells: set gradients.steps, gradients.dt or "
                          "gradients.rtol (or problems = [] to measure stability only)")

    stiffness: dict[str, tuple[float, ...]] = {}
    cells = []
    for problem in problems:
        values = sweep.stiffness.get(problem.name) or _thin(problem.stiffness.values, sweep.stiffness_levels)
        for value in values:
            problem.stiffness.check(value)
        stiffness[problem.name] = tuple(float(v) for v in values)
        cells += [GradientCell(problem, integrator, policy, stiffness[problem.name])
                  for integrator in integrators for policy in policies(problem, sweep)]
    effective = dataclasses.replace(
        config, integrators=tuple(i.name for i in integrators), problems=tuple(p.name for p in problems),
        gradients=dataclasses.replace(sweep, stiffness_levels=None, stiffness=stiffness))
    return Plan(effective, integrators, problems, tuple(StabilityCell(i) for i in integrators), tuple(cells))


def policies(problem: AbstractProblem, sweep: GradientSweep) -> list[StepPolicy]:
    span = problem.ts[-1] - problem.t0
    return ([FixedStep(span / n) for n in sweep.steps] + [FixedStep(h) for h in sweep.dt]
            + [AdaptiveStep(rtol=r, atol=sweep.atol or 1e-6 * r) for r in sweep.rtol])


def _thin(values: Sequence[float], levels: int | None) -> tuple[float, ...]:
    """``levels`` of ``values`` spread evenly over the scan (the first and the last kept)."""
    if levels is None or levels >= len(values):
        return tuple(values)
    if levels == 1:
        return (values[-1],)
    return tuple(values[k] for k in dict.fromkeys(np.round(np.linspace(0, len(values) - 1, levels)).astype(int)))



def integrator_properties(registry: Registry, names: Iterable[str] | None = None) -> list[dict]:
    """Family, order, stages, implementation, citation and the theory's stability properties."""
    rows = []
    for name in names if names is not None else registry.integrators:
        integrator = registry.integrators[name]
        row = {"name": name, "plugin": registry.integrators.plugins[name], "family": integrator.family,
               "stages": integrator.stages, "order": integrator.order,
               "implementation": integrator.implementation, "citation": integrator.citation,
               "a_stable": None, "l_stable": None, "a_alpha_deg": None, "R_inf": None, "decay_exponent": None}
        if integrator.theory is not None:
            sf = stability_function(integrator.theory)
            row |= {"a_stable": sf.a_stable, "l_stable": sf.l_stable, "a_alpha_deg": sf.a_alpha_deg,
                    "R_inf": [sf.R_inf.real, sf.R_inf.imag] if math.isfinite(abs(sf.R_inf)) else None,
                    "decay_exponent": sf.decay_exponent if math.isfinite(sf.decay_exponent) else None}
        rows.append(row)
    return rows


def problem_properties(registry: Registry, names: Iterable[str] | None = None) -> list[dict]:
    rows = []
    for name in names if names is not None else registry.problems:
        p = registry.problems[name]
        rows.append({"name": name, "plugin": registry.problems.plugins[name], "parameters": dict(p.parameters),
                     "fast_parameters": list(p.fast_parameters), "stiffness_parameter": p.stiffness.parameter,
                     "stiffness_values": list(p.stiffness.values), "dimension": len(p.y0),
                     "t0": p.t0, "ts": list(p.ts), "citation": p.citation})
    return rows



@final
@dataclasses.dataclass(frozen=True)
class CellEvent:
    """What :func:`run_plan` tells its progress callback: a cell starts, finishes, or was already there."""

    kind: str  # "start" | "done" | "kept"
    index: int
    total: int
    cell: StabilityCell | GradientCell
    elapsed_s: float
    record: dict | None = None
    cell_s: float | None = None


def start_run(plan: Plan, directory: Path, registry: Registry, *, resume: bool) -> None:
    """Create the run directory (or check it for ``--resume``) and write config, environment and catalog."""
    config_path = directory / CONFIG_FILE
    if resume:
        if not config_path.is_file():
            raise FileNotFoundError(f"{str(directory)!r} holds no {CONFIG_FILE}: it is not a stiffbench run "
                                    "directory (or the run never started); start a new run with --out")
        stored = read_config(config_path)
        differences = config_differences(stored, plan.config)
        if differences:
            raise ConfigError(f"refusing to resume {str(directory)!r}: it was run with a different configuration "
                              f"({'; '.join(differences)}); resume without --config/--quick/--integrator/"
                              "--problem to use its own, or start a new run with --out")
        return
    if config_path.exists():
        raise ConfigError(f"{str(directory)!r} already holds a run; resume it with --resume {directory} "
                          "or choose another --out")
    _records.write_text(config_path, config_to_toml(plan.config))
    _records.write_json(directory / ENVIRONMENT_FILE, _records.environment())
    _records.write_json(directory / CATALOG_FILE, {
        "schema": CATALOG_SCHEMA,
        "integrators": integrator_properties(registry, plan.config.integrators),
        "problems": problem_properties(registry, plan.config.problems),
    })


def run_plan(plan: Plan, directory: Path, progress: Callable[[CellEvent], None] | None = None) -> dict[str, int]:
    """Measure every cell whose file is missing, writing each one atomically as it finishes.

    One failing cell never stops the run: it is a record with a status and the reason. Returns the
    number of cells measured and kept.
    """
    environment = json.loads((directory / ENVIRONMENT_FILE).read_text())
    start = time.perf_counter()
    counts = {"measured": 0, "kept": 0}
    cells = plan.cells
    for index, cell in enumerate(cells, 1):
        path = directory / cell.path
        existing = _read_cell(path, cell)
        if existing is not None:
            counts["kept"] += 1
            if progress:
                progress(CellEvent("kept", index, len(cells), cell, time.perf_counter() - start, existing))
            continue
        if progress:
            progress(CellEvent("start", index, len(cells), cell, time.perf_counter() - start))
        t = time.perf_counter()
        record = measure_cell(cell, plan.config, environment)
        _records.write_json(path, record)
        counts["measured"] += 1
        if progress:
            progress(CellEvent("done", index, len(cells), cell, time.perf_counter() - start, record,
                               time.perf_counter() - t))
    return counts


def measure_cell(cell: StabilityCell | GradientCell, config: SweepConfig, environment: dict) -> dict:
    """The record of one cell, through the existing measurements; a failure is a record, not an exception."""
    # An explicit method at a stiff step overflows by design; the record says so in its status, so
    # numpy's overflow warnings would only repeat it on the terminal.
    with np.errstate(over="ignore", invalid="ignore"):
        if isinstance(cell, StabilityCell):
            return stability_record([cell.integrator], config.stability, environment)
        inputs = gradient_inputs(config, [cell.problem.name], [cell.integrator.name])
        try:
            results = measure_gradients(cell.integrator, cell.problem, cell.stiffness, cell.policy)
        except Exception as exc:  # noqa: BLE001 -- e.g. the reference solve failed; the run goes on
            results = [_failed_gradient(cell, v, f"failed: {type(exc).__name__}: {exc}") for v in cell.stiffness]
    return gradient_record(results, inputs, environment)


def _failed_gradient(cell: GradientCell, value: float, status: str) -> dict:
    problem = cell.problem
    return {"problem": problem.name, "integrator": cell.integrator.name,
            "implementation": cell.integrator.implementation, "policy": policy_record(cell.policy),
            "stiffness_parameter": problem.stiffness.parameter, "stiffness": float(value),
            "parameters": dict(problem.parameters) | {problem.stiffness.parameter: float(value)},
            "ts": list(problem.ts), "status": status, "ys": None, "sensitivity": None, "reference": None,
            "reference_source": None, "theory": None, "summary": None, "cost": None}


def gradient_inputs(config: SweepConfig, problems: Sequence[str], integrators: Sequence[str]) -> dict[str, Any]:
    g = config.gradients
    return {"problems": list(problems), "integrators": list(integrators),
            "stiffness": {p: list(g.stiffness.get(p, ())) for p in problems},
            "steps": list(g.steps) or None, "dt": list(g.dt) or None, "rtol": list(g.rtol) or None,
            "atol": g.atol}


def _read_cell(path: Path, cell: StabilityCell | GradientCell) -> dict | None:
    """The cell's record if its file exists and holds this very cell, else None (to be measured)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    results = record.get("results") if isinstance(record, dict) else None
    if not isinstance(results, list) or not results:
        return None
    if isinstance(cell, StabilityCell):
        ok = record.get("schema") == _stability.SCHEMA and results[0].get("integrator") == cell.integrator.name
    else:
        ok = (record.get("schema") == _gradients.SCHEMA
              and [r.get("stiffness") for r in results] == list(cell.stiffness)
              and all(r.get("policy") == policy_record(cell.policy) for r in results))
    return record if ok else None


def finish_run(directory: Path) -> None:
    """Combine the cell files into ``stability.json`` and ``gradients.json``."""
    run = load_run(directory)
    _records.write_json(directory / STABILITY_FILE, run.stability)
    _records.write_json(directory / GRADIENTS_FILE, run.gradients)



@final
@dataclasses.dataclass(frozen=True)
class RunRecords:
    """Everything a report or a comparison reads from a run directory; nothing is measured again."""

    directory: Path
    config: SweepConfig | None
    environment: dict
    catalog: dict
    stability: dict
    """A ``stiffbench.stability/1`` record of every stability cell."""
    gradients: dict
    """A ``stiffbench.gradients/1`` record of every gradient cell."""
    complete: bool
    """False when cells of the configuration are missing (an interrupted run)."""


def load_run(directory: str | Path) -> RunRecords:
    """The records of a run directory, from its cell files (or its combined files where cells are gone)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"run directory {str(directory)!r} does not exist")
    config = read_config(directory / CONFIG_FILE) if (directory / CONFIG_FILE).is_file() else None
    environment = _read_json(directory / ENVIRONMENT_FILE) or {}
    catalog = _read_json(directory / CATALOG_FILE) or {"schema": CATALOG_SCHEMA, "integrators": [], "problems": []}
    stability = _combine(directory, "stability", _stability.SCHEMA, environment,
                         config.stability.inputs() if config else None)
    gradients = _combine(directory, "gradients", _gradients.SCHEMA, environment,
                         gradient_inputs(config, config.problems or (), config.integrators or ()) if config else None)
    if not (stability["results"] or gradients["results"]) and config is None:
        raise FileNotFoundError(f"{str(directory)!r} holds no stiffbench records ({CONFIG_FILE}, {STABILITY_FILE}, "
                                f"{GRADIENTS_FILE} or cells/); is it a run directory?")
    complete = True
    if config is not None and stability["schema"] == _stability.SCHEMA and gradients["schema"] == _gradients.SCHEMA:
        done_stability = {r["integrator"] for r in stability["results"]}
        done_gradients = {(r["problem"], r["integrator"]) for r in gradients["results"]}
        complete = (set(config.integrators or ()) <= done_stability
                    and all((p, i) in done_gradients for p in config.problems or () for i in config.integrators or ()))
    return RunRecords(directory, config, environment, catalog, stability, gradients, complete)


def _combine(directory: Path, kind: str, schema: str, environment: dict, inputs: dict | None) -> dict:
    """One record of every cell file of ``kind``, in file-name order; the combined file if there are no cells."""
    files = sorted((directory / "cells" / kind).rglob("*.json"))
    if not files:
        combined = _read_json(directory / f"{kind}.json")
        if combined is not None:
            return combined
        return {"schema": schema, "environment": environment, "inputs": inputs or {}, "results": []}
    results, schemas = [], {}
    for path in files:
        record = _read_json(path)
        if record is None:
            continue
        schemas.setdefault(record.get("schema"), path)
        results += record.get("results", [])
    if len(schemas) > 1:
        raise ValueError(f"the {kind} cells of {directory} mix schemas: "
                         + ", ".join(f"{name!r} ({path})" for name, path in schemas.items()))
    schema = next(iter(schemas), schema)
    if kind == "gradients" and schema == _gradients.SCHEMA:  # by problem, integrator, policy, stiffness
        results.sort(key=lambda r: (r["problem"], r["integrator"], policy_slug(r["policy"]), r["stiffness"]))
    return {"schema": schema, "environment": environment, "inputs": inputs or {}, "results": results}


def check_schemas(run: RunRecords) -> None:
    """Refuse records of a schema this version does not read (written by another version of stiffbench)."""
    for kind, expected in (("stability", _stability.SCHEMA), ("gradients", _gradients.SCHEMA)):
        found = getattr(run, kind)["schema"]
        if found != expected:
            raise ValueError(f"{run.directory}: the {kind} records have schema {found!r}; this version of "
                             f"stiffbench reads {expected!r}. Use the stiffbench that wrote them, or rerun.")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); was it written by stiffbench?") from None
