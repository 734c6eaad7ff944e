"""Two run directories compared: which metrics of numerical quality and cost moved beyond a tolerance.

Cells are matched by key (the integrator of a stability cell; problem, integrator, step policy and stiffness
value of a gradient cell). Each metric has a direction, so a change is a regression, an improvement, or,
where no direction applies, a change:

- relative errors (``R``, ``R'``, per ``|z|`` decade; sensitivities against reference and theory): lower is
  better, compared by factor, ignoring values both below ``error_floor`` (roundoff moves with the machine);
- decay exponents: the distance of the computed exponent from the theory's, by absolute difference;
- gradient ratios ``‖S‖/‖S_ref‖``: by factor, better when closer to 1;
- failed points, and statuses (ok → anything else is a regression);
- run times of the stability sweep, the forward solve and the gradient: lower is better, by factor, when
  they also moved by more than ``time_floor_s``: the forward and gradient times are single runs of a few
  milliseconds, which a busy machine stretches several-fold (asv is the instrument for fine timing).
  Compile times are listed but never count as regressions: with JAX's persistent compilation cache they
  measure the state of the cache as much as the code.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Any, final

from ._run import RunRecords, check_schemas, policy_slug


@final
@dataclasses.dataclass(frozen=True)
class Tolerances:
    error_factor: float = 2.0
    error_floor: float = 1e-12
    exponent: float = 0.05
    time_factor: float = 3.0
    time_floor_s: float = 0.01


@final
@dataclasses.dataclass(frozen=True)
class Change:
    cell: str
    metric: str
    a: Any
    b: Any
    change: str
    verdict: str  # "regressed" | "improved" | "changed"


@final
@dataclasses.dataclass(frozen=True)
class Comparison:
    changes: list[Change]
    n_metrics: int
    n_cells: int
    notes: list[str]


@final
@dataclasses.dataclass(frozen=True)
class _Metric:
    kind: str  # "error" | "deviation" | "exponent" | "ratio" | "count" | "status" | "time" | "compile" | "steps"
    value: Any


def compare(a: RunRecords, b: RunRecords, tolerances: Tolerances = Tolerances()) -> Comparison:
    """The metrics that changed from ``a`` (baseline) to ``b``; refuses records of different schemas."""
    for kind in ("stability", "gradients"):
        schema_a, schema_b = getattr(a, kind)["schema"], getattr(b, kind)["schema"]
        if schema_a != schema_b:
            raise ValueError(f"cannot compare: {a.directory} has {kind} records of schema {schema_a!r}, "
                             f"{b.directory} of {schema_b!r}; rerun one of them with this version of stiffbench")
    check_schemas(a)
    check_schemas(b)
    cells_a, cells_b = _cells(a), _cells(b)
    common = [key for key in cells_a if key in cells_b]
    if not common:
        raise ValueError(f"cannot compare: {a.directory} and {b.directory} have no cell in common "
                         f"({_summary(cells_a)} vs {_summary(cells_b)})")
    notes = []
    for run, mine, theirs in ((a, cells_a, cells_b), (b, cells_b, cells_a)):
        only = [key for key in mine if key not in theirs]
        if only:
            notes.append(f"{len(only)} cells only in {run.directory}, not compared: "
                         f"{', '.join(only[:5])}{', ...' if len(only) > 5 else ''}")
    if a.stability.get("inputs") != b.stability.get("inputs"):
        notes.append(f"the stability grids differ ({a.stability.get('inputs')} vs {b.stability.get('inputs')}): "
                     "worst errors and fitted exponents cover different points")
    changes, n_metrics = [], 0
    for key in common:
        metrics_a, metrics_b = cells_a[key], cells_b[key]
        for name in metrics_a.keys() & metrics_b.keys():
            n_metrics += 1
            change = _judge(metrics_a[name], metrics_b[name], tolerances)
            if change is not None:
                changes.append(Change(key, name, metrics_a[name].value, metrics_b[name].value, *change))
    order = {"regressed": 0, "improved": 1, "changed": 2}
    changes.sort(key=lambda c: (order[c.verdict], c.cell, c.metric))
    return Comparison(changes, n_metrics, len(common), notes)


def _summary(cells: dict) -> str:
    return f"{len(cells)} cells: {', '.join(list(cells)[:3])}{', ...' if len(cells) > 3 else ''}"


def _cells(run: RunRecords) -> dict[str, dict[str, _Metric]]:
    return dict(_stability_cells(run.stability)) | dict(_gradient_cells(run.gradients))


def _stability_cells(record: dict) -> Iterator[tuple[str, dict[str, _Metric]]]:
    for r in record["results"]:
        s = r["summary"]
        metrics = {"status": _Metric("status", _status(r["status"]))}
        if s is not None:
            metrics |= {
                "failed points": _Metric("count", s["n_failed"]),
                "max rel err R": _Metric("error", s["max_rel_err_R"]),
                "max rel err R'": _Metric("error", s["max_rel_err_dR"]),
                "compile s": _Metric("compile", s["compile_s"]),
                "run s": _Metric("time", s["run_s"]),
            }
            for level in s["agreement"]:
                metrics[f"max rel err R' |z|<={level['abs_z_max']:g}"] = _Metric("error", level["max_rel_err_dR"])
            for ray in s["rays"]:
                where = "" if ray["angle_deg"] == 0 else f" at {ray['angle_deg']:g}°"
                theory, computed = ray["decay_exponent_theory"], ray["decay_exponent_computed"]
                if theory is not None:
                    deviation = None if computed is None else abs(computed - theory)
                    metrics[f"decay exponent |computed - theory|{where}"] = _Metric("deviation", deviation)
                else:
                    metrics[f"decay exponent{where}"] = _Metric("exponent", computed)
        yield f"stability {r['integrator']}", metrics


def _gradient_cells(record: dict) -> Iterator[tuple[str, dict[str, _Metric]]]:
    costs: dict[str, dict[str, _Metric]] = {}
    for c in record["results"]:
        cell = f"gradients {c['problem']} / {c['integrator']} / {policy_slug(c['policy'])}"
        metrics = {"status": _Metric("status", _status(c["status"]))}
        s = c["summary"]
        if s is not None:
            metrics |= {"max rel err": _Metric("error", s["max_rel_err"]),
                        "max rel err vs theory": _Metric("error", s["max_rel_err_theory"])}
            for name in s["fast_parameters"]:
                per = s["parameters"].get(name, {})
                metrics[f"ratio |S|/|S_ref| {name}"] = _Metric("ratio", per.get("ratio"))
        if c["cost"]:
            metrics["steps"] = _Metric("steps", c["cost"]["steps"])
            costs.setdefault(cell, {
                "compile forward s": _Metric("compile", c["cost"]["compile_forward_s"]),
                "compile gradient s": _Metric("compile", c["cost"]["compile_gradient_s"]),
                "forward s": _Metric("time", c["cost"]["forward_s"]),
                "gradient s": _Metric("time", c["cost"]["gradient_s"]),
            })
        yield f"{cell} / {c['stiffness_parameter']}={c['stiffness']:g}", metrics
    yield from costs.items()


def _status(status: str) -> str:
    return "ok" if status == "ok" else "failed"


def _judge(ma: _Metric, mb: _Metric, tol: Tolerances) -> tuple[str, str] | None:
    """``(change, verdict)`` when the metric moved beyond tolerance, else None."""
    a, b, kind = ma.value, mb.value, ma.kind
    if a == b:
        return None
    if kind == "status":
        return f"{a} -> {b}", "regressed" if a == "ok" else "improved"
    if a is None or b is None:  # a value lost (no ok point left, a non-finite result) or gained
        return ("lost", "regressed") if b is None else ("gained", "improved")
    if kind in ("count", "steps"):
        verdict = "changed" if kind == "steps" else ("regressed" if b > a else "improved")
        return f"{b - a:+d}", verdict
    if kind in ("deviation", "exponent"):
        if abs(b - a) <= tol.exponent:
            return None
        return f"{b - a:+.3g}", "changed" if kind == "exponent" else ("regressed" if b > a else "improved")
    if kind == "ratio":
        if a <= 0 or b <= 0 or max(a / b, b / a) <= tol.error_factor:
            return None
        return f"x{b / a:.3g}", "regressed" if abs(math.log(b)) > abs(math.log(a)) else "improved"
    floor, factor = {"error": (tol.error_floor, tol.error_factor), "time": (tol.time_floor_s, tol.time_factor),
                     "compile": (tol.time_floor_s, tol.time_factor)}[kind]
    if max(a, b) <= floor or (min(a, b) > 0 and max(a / b, b / a) <= factor):
        return None
    if kind != "error" and abs(b - a) <= floor:
        return None
    change = f"x{b / a:.3g}" if a > 0 else f"{a:.3g} -> {b:.3g}"
    if kind == "compile":
        return change, "changed"
    return change, "regressed" if b > a else "improved"
