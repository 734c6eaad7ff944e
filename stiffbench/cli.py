"""The ``stiffbench`` command line: plugins, list, stability, gradients, run."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
from pathlib import Path

from . import _records
from ._gradients import gradient_record, measure_gradients, policy_record
from ._integrator import AdaptiveStep, FixedStep
from ._registry import Registry, UnknownNameError, load_registry
from ._stability import StabilityGrid, stability_record
from .theory import stability_function

CACHE_DIR = Path(os.environ.get("STIFFBENCH_CACHE_DIR", Path.home() / ".cache" / "stiffbench" / "jax"))


def main(argv: list[str] | None = None) -> int:
    # equinox turns runtime checks into host callbacks, which JAX's persistent compilation cache refuses
    # to store (diffrax's SaveAt(ts) and StepTo have such checks). With "nan" a failed check poisons the
    # output instead, which the records report as a non-finite status. Read once, when equinox is
    # imported by the first plugin that needs it, so it must be set before the registry loads.
    os.environ.setdefault("EQX_ON_ERROR", "nan")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        # Global options may come before or after the command; argparse.SUPPRESS keeps either from
        # overwriting the other, so an absent option is an absent attribute.
        registry = load_registry(plugin_dirs=getattr(args, "plugins_dir", []), blocked=getattr(args, "disable", []))
        if registry.failures and args.command != "plugins":
            print(f"warning: {len(registry.failures)} plugin(s) failed to load: "
                  f"{', '.join(registry.failures)} (see `stiffbench plugins`)", file=sys.stderr)
        return args.run(args, registry)
    except (UnknownNameError, ValueError, FileNotFoundError) as exc:
        print(f"stiffbench: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--plugins-dir", metavar="DIR", action="append", default=argparse.SUPPRESS,
                        help="also load every *.py file in DIR as a plugin (repeatable)")
    common.add_argument("--disable", metavar="NAME", action="append", default=argparse.SUPPRESS,
                        help="do not load the plugin NAME (repeatable; see `stiffbench plugins`)")
    parser = argparse.ArgumentParser(
        prog="stiffbench", parents=[common],
        description="Benchmarks for differentiating through stiff ODE integrators.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("plugins", parents=[common], help="plugins loaded (name, source) and those that failed")
    p.set_defaults(run=_plugins)

    p = sub.add_parser("list", parents=[common], help="registered integrators or problems and their properties")
    p.add_argument("kind", nargs="?", choices=["integrators", "problems"], default="integrators")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=_list)

    p = sub.add_parser("stability", parents=[common],
                       help="theoretical vs computed R(z), R'(z) through each integrator's real implementation")
    p.add_argument("--integrator", metavar="NAME", nargs="+", action="extend", default=[],
                   help="integrators to measure (default: all)")
    p.add_argument("--points", type=_positive_int, default=StabilityGrid.points,
                   help="points per ray, log-spaced in |z| (default: %(default)s)")
    p.add_argument("--z-min", type=_positive_float, default=StabilityGrid.z_min,
                   help="smallest |z| (default: %(default)g)")
    p.add_argument("--z-max", type=_positive_float, default=StabilityGrid.z_max,
                   help="largest |z| (default: %(default)g)")
    p.add_argument("--angle", metavar="DEG", type=float, nargs="+", action="extend", default=[],
                   help="extra rays arg(-z) = DEG into the left half-plane, 0 < DEG <= 90")
    p.add_argument("--json", action="store_true", help="print the stiffbench.stability/1 record to stdout")
    p.add_argument("--out", metavar="FILE", type=Path, help="also write the record to FILE (atomically)")
    p.set_defaults(run=_stability)

    p = sub.add_parser("gradients", parents=[common],
                       help="sensitivities dy/dlog(theta) through each integrator vs reference, across stiffness")
    p.add_argument("--problem", metavar="NAME", nargs="+", action="extend", default=[],
                   help="problems to measure (default: all)")
    p.add_argument("--integrator", metavar="NAME", nargs="+", action="extend", default=[],
                   help="integrators to measure (default: all)")
    p.add_argument("--stiffness", metavar="X", type=float, nargs="+", action="extend", default=[],
                   help="values of each problem's stiffness parameter (default: the problem's own scan)")
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--dt", metavar="H", type=_positive_float, nargs="+", action="extend", default=[],
                       help="fixed steps (default: a fixed step of 1/100 of each problem's time span)")
    steps.add_argument("--rtol", metavar="R", type=_positive_float, nargs="+", action="extend", default=[],
                       help="adaptive steps with these relative tolerances")
    p.add_argument("--atol", metavar="A", type=_positive_float,
                   help="absolute tolerance with --rtol (default: 1e-6 times rtol)")
    p.add_argument("--json", action="store_true", help="print the stiffbench.gradients/1 record to stdout")
    p.add_argument("--out", metavar="FILE", type=Path, help="also write the record to FILE (atomically)")
    p.set_defaults(run=_gradients)

    p = sub.add_parser("run", parents=[common],
                       help="the default job: measure every integrator and write the records to a directory")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="output directory (default: a new timestamped folder under results/)")
    p.add_argument("--integrator", metavar="NAME", nargs="+", action="extend", default=[],
                   help="integrators to measure (default: all)")
    p.set_defaults(run=_run)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 2, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _plugins(args, registry: Registry) -> int:
    _print_table(["plugin", "source"], [[name, source] for name, source in registry.sources.items()])
    if registry.failures:
        print(f"\nfailed ({len(registry.failures)}):")
        _print_table(["plugin", "reason"], [[name, reason] for name, reason in registry.failures.items()])
    return 0


def _integrator_properties(registry: Registry) -> list[dict]:
    rows = []
    for name, integrator in registry.integrators.items.items():
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


def _problem_properties(registry: Registry) -> list[dict]:
    return [
        {"name": name, "plugin": registry.problems.plugins[name], "parameters": dict(p.parameters),
         "fast_parameters": list(p.fast_parameters), "stiffness_parameter": p.stiffness.parameter,
         "stiffness_values": list(p.stiffness.values), "dimension": len(p.y0), "citation": p.citation}
        for name, p in registry.problems.items.items()
    ]


def _list(args, registry: Registry) -> int:
    if args.kind == "problems":
        rows = _problem_properties(registry)
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            _print_table(["name", "dim", "stiffness knob", "fast parameters", "plugin"], [
                [r["name"], r["dimension"],
                 f"{r['stiffness_parameter']} in {_g(min(r['stiffness_values']))}..{_g(max(r['stiffness_values']))}",
                 ", ".join(r["fast_parameters"]), r["plugin"]] for r in rows])
        return 0
    rows = _integrator_properties(registry)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        _print_table(["name", "family", "stages", "order", "A-stable", "L-stable", "R(inf)", "decay", "plugin"], [
            [r["name"], r["family"], r["stages"], r["order"], _a_stability(r), _yes(r["l_stable"]),
             _complex(r["R_inf"]) if r["a_stable"] is not None else "-",
             _g(r["decay_exponent"]), r["plugin"]] for r in rows])
    return 0


def _run(args, registry: Registry) -> int:
    """So far the default job is the stability agreement of every integrator on the default grid."""
    integrators = registry.integrators.select(args.integrator)
    out = args.out or Path("results") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    record = _measure_stability(integrators, StabilityGrid())
    _records.write_json(out / "environment.json", record["environment"])
    _records.write_json(out / "stability.json", record)
    _print_stability_table(record)
    print(f"\nwrote {out}/stability.json and {out}/environment.json")
    return 0


def _stability(args, registry: Registry) -> int:
    integrators = registry.integrators.select(args.integrator)
    grid = StabilityGrid(points=args.points, z_min=args.z_min, z_max=args.z_max, angles=tuple(args.angle))
    record = _measure_stability(integrators, grid)
    if args.out:
        _records.write_json(args.out, record)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        sys.stdout.write(_records.dumps(record))
    else:
        _print_stability_table(record)
    return 0


def _measure_stability(integrators, grid: StabilityGrid) -> dict:
    _enable_compilation_cache()

    def progress(name, result):
        s = result["summary"]
        detail = (f"compiled in {s['compile_s']:.2f} s, ran in {1e3 * s['run_s']:.2f} ms"
                  if s else result["status"])
        print(f"stability: {name}: {detail}", file=sys.stderr, flush=True)

    return stability_record(integrators, grid, _records.environment(), progress)


def _print_stability_table(record: dict) -> None:
    rows = []
    for r in record["results"]:
        s = r["summary"] or {}
        small = next((a for a in s.get("agreement", []) if a["abs_z_max"] == 1e6), {})
        rows.append([r["integrator"], _g(s.get("max_rel_err_R")), _g(s.get("max_rel_err_dR")),
                     _g(small.get("max_rel_err_dR")), _g(s.get("decay_exponent_theory")),
                     _g(s.get("decay_exponent_computed")), _complex(s.get("R_inf")),
                     f"{s['n_failed']}/{s['n_points']}" if s else r["status"],
                     _g(s.get("compile_s")), _g(1e3 * s["run_s"]) if s else "-"])
    _print_table(["integrator", "max err R", "max err R'", "err R' |z|<=1e6", "decay theory",
                  "decay computed", "R(inf)", "failed", "compile s", "run ms"], rows)


def _gradients(args, registry: Registry) -> int:
    problems = registry.problems.select(args.problem)
    integrators = registry.integrators.select(args.integrator)
    plan = []
    for problem in problems:  # everything is checked before the first compilation
        stiffness = args.stiffness or list(problem.stiffness.values)
        for value in stiffness:
            problem.stiffness.check(value)
        if args.rtol:
            policies = [AdaptiveStep(rtol=r, atol=args.atol or 1e-6 * r) for r in args.rtol]
        else:
            policies = [FixedStep(h) for h in args.dt] or [FixedStep((problem.ts[-1] - problem.t0) / 100)]
        plan += [(problem, integrator, stiffness, policy) for integrator in integrators for policy in policies]
    _enable_compilation_cache()
    cells = []
    for problem, integrator, stiffness, policy in plan:
        new = measure_gradients(integrator, problem, stiffness, policy)
        cost = new[0]["cost"]
        detail = (f"compiled in {cost['compile_gradient_s']:.2f} s, gradient in {1e3 * cost['gradient_s']:.2f} ms"
                  if cost else new[0]["status"])
        print(f"gradients: {problem.name} / {integrator.name} / {policy_record(policy)}: {detail}",
              file=sys.stderr, flush=True)
        cells += new
    inputs = {"problems": [p.name for p in problems], "integrators": [i.name for i in integrators],
              "stiffness": args.stiffness or None, "dt": args.dt or None, "rtol": args.rtol or None,
              "atol": args.atol}
    record = gradient_record(cells, inputs, _records.environment())
    if args.out:
        _records.write_json(args.out, record)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        sys.stdout.write(_records.dumps(record))
    else:
        _print_gradient_table(record)
    return 0


def _print_gradient_table(record: dict) -> None:
    rows = []
    for c in record["results"]:
        s = c["summary"] or {}
        fast = (s.get("fast_parameters") or [None])[0]
        per = s.get("parameters", {}).get(fast, {})
        policy = c["policy"]
        step = f"h={policy['h']:.3g}" if policy["kind"] == "fixed" else f"rtol={policy['rtol']:.0e}"
        rows.append([c["problem"], c["integrator"], step, _g(c["stiffness"]), _g(s.get("z_met")), fast or "-",
                     _g(per.get("norm")), _g(per.get("norm_reference")), _g(per.get("ratio")),
                     _g(s.get("max_rel_err")), _g(s.get("max_rel_err_theory")),
                     c["cost"]["steps"] if c["cost"] else "-", c["status"][:60]])
    _print_table(["problem", "integrator", "steps", "stiffness", "|h lam|", "fast", "|S|", "|S ref|", "ratio",
                  "rel err", "err vs theory", "n", "status"], rows)


def _enable_compilation_cache() -> None:
    """JAX's persistent compilation cache makes repeated CLI runs skip most of XLA's compile time."""
    import jax

    jax.config.update("jax_compilation_cache_dir", str(CACHE_DIR))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def _g(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def _a_stability(row: dict) -> str:
    """``yes``, ``no``, or the A(α) angle of a method stable only in a sector."""
    if row["a_stable"] is None or row["a_stable"]:
        return _yes(row["a_stable"])
    angle = row["a_alpha_deg"]
    return f"A({angle:.2f}°)" if angle else "no"


def _yes(x) -> str:
    return "-" if x is None else ("yes" if x else "no")


def _complex(pair) -> str:
    if pair is None:
        return "inf"
    re, im = pair
    return _g(re) if im == 0 else f"{_g(re)}{im:+.3g}j"


def _print_table(header: list[str], rows: list[list]) -> None:
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
