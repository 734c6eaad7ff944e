"""The ``stiffbench`` command line: plugins, list, stability, gradients, and the main job: run, report, compare."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import sys
from pathlib import Path

from . import _compare, _records, _run
from ._cost import SCHEMA as COST_SCHEMA
from ._cost import measure_cost
from ._gradients import SCHEMA as GRADIENTS_SCHEMA
from ._gradients import gradient_record, measure_gradients, policy_record
from ._integrator import AdaptiveStep, FixedStep
from ._registry import Registry, UnknownNameError, load_registry
from ._stability import SCHEMA as STABILITY_SCHEMA
from ._stability import StabilityGrid, stability_record


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
        if not args.needs_registry:  # report and compare read records only
            return args.run(args, None)
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
    parser.set_defaults(needs_registry=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("plugins", parents=[common], help="plugins loaded (name, source) and those that failed")
    p.set_defaults(run=_plugins)

    p = sub.add_parser("list", parents=[common], help="registered integrators or problems and their properties")
    p.add_argument("kind", nargs="?", choices=["integrators", "problems"], default="integrators")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=_list)

    p = sub.add_parser("stability", parents=[common],
                       help="theoretical vs computed R(z), R'(z) through each integrator's real implementation")
    _names(p, "--integrator", "integrators to measure (default: all)")
    p.add_argument("--points", type=_positive_int, default=StabilityGrid.points,
                   help="points per ray, log-spaced in |z| (default: %(default)s)")
    p.add_argument("--z-min", type=_positive_float, default=StabilityGrid.z_min,
                   help="smallest |z| (default: %(default)g)")
    p.add_argument("--z-max", type=_positive_float, default=StabilityGrid.z_max,
                   help="largest |z| (default: %(default)g)")
    p.add_argument("--angle", metavar="DEG", type=float, nargs="+", action="extend", default=[],
                   help="extra rays arg(-z) = DEG into the left half-plane, 0 < DEG <= 90")
    _record_output(p, STABILITY_SCHEMA)
    p.set_defaults(run=_stability)

    p = sub.add_parser("gradients", parents=[common],
                       help="sensitivities dy/dlog(theta) through each integrator vs reference, across stiffness")
    _names(p, "--problem", "problems to measure (default: all)")
    _names(p, "--integrator", "integrators to measure (default: all)")
    p.add_argument("--stiffness", metavar="X", type=float, nargs="+", action="extend", default=[],
                   help="values of each problem's stiffness parameter (default: the problem's own scan)")
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--dt", metavar="H", type=_positive_float, nargs="+", action="extend", default=[],
                       help="fixed steps (default: a fixed step of 1/100 of each problem's time span)")
    steps.add_argument("--rtol", metavar="R", type=_positive_float, nargs="+", action="extend", default=[],
                       help="adaptive steps with these relative tolerances")
    p.add_argument("--atol", metavar="A", type=_positive_float,
                   help="absolute tolerance with --rtol (default: 1e-6 times rtol)")
    _record_output(p, GRADIENTS_SCHEMA)
    p.set_defaults(run=_gradients)

    p = sub.add_parser("cost", parents=[common],
                       help="the same adaptive solves through stiffbench integrators and SciPy's Radau and BDF")
    _names(p, "--problem", "problems (default: robertson-1e5 and van-der-pol)")
    _names(p, "--integrator", "integrators (default: radau-iia-5, rodas4, diffrax-kvaerno5)")
    p.add_argument("--rtol", type=_positive_float, default=1e-8, help="relative tolerance (default: %(default)g)")
    p.add_argument("--atol", type=_positive_float, default=1e-10, help="absolute tolerance (default: %(default)g)")
    _record_output(p, COST_SCHEMA)
    p.set_defaults(run=_cost)

    p = sub.add_parser("run", parents=[common],
                       help="the main job: stability, gradients and cost of every integrator; records, report, figures",
                       description="Measure the stability agreement of every integrator and the gradients through "
                       "every problem x integrator x stiffness x step policy, cell by cell, into a directory of "
                       "JSON records with a Markdown report and PNG figures.")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="output directory (default: a new timestamped folder under results/)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--config", metavar="FILE", type=Path,
                      help="sweep configuration (TOML; a run's config.toml repeats that run)")
    what.add_argument("--quick", action="store_true",
                      help="a small sweep: seven integrators (one per engine and family), the linear problem, "
                      "5 stiffness levels, 50 points per ray (`--quick --dry-run` prints it)")
    p.add_argument("--integrator", metavar="NAME", nargs="+", action="extend", default=[],
                   help="integrators to measure (default: the configuration's, else all)")
    p.add_argument("--problem", metavar="NAME", nargs="+", action="extend", default=[],
                   help="problems to measure gradients on (default: the configuration's, else all)")
    p.add_argument("--resume", metavar="DIR", type=Path,
                   help="finish an interrupted run in DIR: measure only the cells whose files are missing "
                   "(refused if the options ask for a different configuration)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the effective configuration (TOML) and the number of cells, measure nothing")
    p.set_defaults(run=_run_command)

    p = sub.add_parser("report", parents=[common],
                       help="regenerate report.md and figures/ of a run directory from its records (no measuring)",
                       description="Write report.md and figures/*.png of a run directory again, from its records "
                       "alone: nothing is measured and no plugin is loaded.")
    p.add_argument("directory", metavar="DIR", type=Path, help="a directory written by `stiffbench run`")
    p.set_defaults(run=_report_command, needs_registry=False)

    p = sub.add_parser("compare", parents=[common],
                       help="metrics that changed between two run directories; exit status 1 if any regressed",
                       description="List the metrics of numerical quality and cost that changed beyond tolerance "
                       "between the cells two runs share. Exit status 0 when nothing regressed, 1 when something "
                       "did, 2 when the directories cannot be compared (schemas differ, no cell in common).")
    p.add_argument("baseline", metavar="DIR_A", type=Path, help="the earlier run (the baseline)")
    p.add_argument("candidate", metavar="DIR_B", type=Path, help="the later run")
    p.add_argument("--tolerance", metavar="FACTOR", type=_factor, default=_compare.Tolerances.error_factor,
                   help="relative errors (ignored below 1e-12) and gradient ratios: changed when they move by "
                   "more than this factor (default: %(default)g)")
    p.add_argument("--exponent-tolerance", metavar="X", type=_positive_float,
                   default=_compare.Tolerances.exponent,
                   help="decay exponents: changed when they move by more than X (default: %(default)g)")
    p.add_argument("--time-tolerance", metavar="FACTOR", type=_factor, default=_compare.Tolerances.time_factor,
                   help="run times: changed when they move by more than this factor and by more than 10 ms "
                   "(default: %(default)g; 'inf' ignores cost); compile times are listed, never a regression")
    p.set_defaults(run=_compare_command, needs_registry=False)
    return parser


def _names(parser: argparse.ArgumentParser, option: str, help: str) -> None:
    parser.add_argument(option, metavar="NAME", nargs="+", action="extend", default=[], help=help)


def _record_output(parser: argparse.ArgumentParser, schema: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print the {schema} record to stdout")
    parser.add_argument("--out", metavar="FILE", type=Path, help="also write the record to FILE (atomically)")


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


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 1:
        raise argparse.ArgumentTypeError(f"expected a factor above 1 (or inf), got {text}")
    return value


def _plugins(args, registry: Registry) -> int:
    _print_table(["plugin", "source"], [[name, source] for name, source in registry.sources.items()])
    if registry.failures:
        print(f"\nfailed ({len(registry.failures)}):")
        _print_table(["plugin", "reason"], [[name, reason] for name, reason in registry.failures.items()])
    return 0


def _list(args, registry: Registry) -> int:
    if args.kind == "problems":
        rows = _run.problem_properties(registry)
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            _print_table(["name", "dim", "stiffness knob", "fast parameters", "plugin"], [
                [r["name"], r["dimension"],
                 f"{r['stiffness_parameter']} in {_g(min(r['stiffness_values']))}..{_g(max(r['stiffness_values']))}",
                 ", ".join(r["fast_parameters"]), r["plugin"]] for r in rows])
        return 0
    rows = _run.integrator_properties(registry)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        _print_table(["name", "family", "stages", "order", "A-stable", "L-stable", "R(inf)", "decay", "plugin"], [
            [r["name"], r["family"], r["stages"], r["order"], _a_stability(r), _yes(r["l_stable"]),
             _complex(r["R_inf"]) if r["a_stable"] is not None else "-",
             _g(r["decay_exponent"]), r["plugin"]] for r in rows])
    return 0


def _run_command(args, registry: Registry) -> int:
    """The main job: every cell of the sweep into a directory, then the report; see stiffbench/_run.py."""
    requested = _requested_config(args, registry)
    if args.resume:
        if args.out and args.out.resolve() != args.resume.resolve():
            raise ValueError(f"--out {args.out} and --resume {args.resume} name different directories; "
                             "--resume writes into the directory it resumes")
        directory = args.resume
        if requested is None:  # no option asks for a configuration: the run's own
            stored = directory / _run.CONFIG_FILE
            requested = _run.read_config(stored) if stored.is_file() else _run.DEFAULT  # start_run says why
    else:
        directory = args.out or _new_results_directory()
    plan = _run.make_plan(requested or _run.DEFAULT, registry)
    if args.dry_run:
        sys.stdout.write(_run.config_to_toml(plan.config))
        print(f"{len(plan.stability_cells)} stability cells and {len(plan.gradient_cells)} gradient cells "
              f"would be written to {directory}", file=sys.stderr)
        return 0
    _run.start_run(plan, directory, registry, resume=bool(args.resume))
    print(f"stiffbench run: {len(plan.stability_cells)} stability and {len(plan.gradient_cells)} gradient cells "
          f"into {directory}", file=sys.stderr, flush=True)
    _records.enable_compilation_cache()
    try:
        counts = _run.run_plan(plan, directory, _Progress())
    except KeyboardInterrupt:
        print(f"\ninterrupted: every finished cell is in {directory}/cells; "
              f"`stiffbench run --resume {directory}` measures the rest", file=sys.stderr)
        return 130
    _run.finish_run(directory)
    run = _run.load_run(directory)
    _print_run_summary(run)
    written = _write_report(run)
    kept = f" ({counts['kept']} kept from the earlier run)" if counts["kept"] else ""
    print(f"\nwrote {directory}/: {counts['measured']} cells measured{kept}; stability.json, gradients.json, "
          f"{written}")
    return 0


def _requested_config(args, registry: Registry) -> _run.SweepConfig | None:
    """The configuration the options ask for; None when none of them does."""
    if not (args.config or args.quick or args.integrator or args.problem):
        return None
    if args.config:
        config = _run.read_config(args.config)
    else:
        config = _run.quick_config(registry) if args.quick else _run.DEFAULT
    if args.integrator:
        config = dataclasses.replace(config, integrators=tuple(args.integrator))
    if args.problem:
        config = dataclasses.replace(config, problems=tuple(args.problem))
    return config


def _new_results_directory() -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    directory, k = Path("results") / stamp, 1
    while directory.exists():  # two runs started within one second
        k += 1
        directory = Path("results") / f"{stamp}-{k}"
    return directory


class _Progress:
    """One line per cell on stderr: position, time since the start, what compiles, and the outcome."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, event: _run.CellEvent) -> None:
        width = len(str(event.total))
        head = f"[{event.index:>{width}}/{event.total} {event.elapsed_s:6.1f} s] {event.cell.label}:"
        if event.kind == "kept":
            line = f"{head} kept from the earlier run"
        elif event.kind == "start":
            line = f"{head} compiling {_compiling(event.cell)} ..."
            if self.tty:  # overwritten by the outcome
                print(line, end="\r", file=sys.stderr, flush=True)
                return
        else:
            line = f"{head} {_outcome(event.record)} ({event.cell_s:.1f} s)"
        print(("\x1b[2K" if self.tty else "") + line, file=sys.stderr, flush=True)


def _compiling(cell) -> str:
    if isinstance(cell, _run.StabilityCell):
        return "R(z), R'(z) through one step (vmap over the z grid)"
    return f"forward solve and gradient dy/dlog(theta) (vmap over {len(cell.stiffness)} stiffness values)"


def _outcome(record: dict) -> str:
    results = record["results"]
    if record["schema"] == STABILITY_SCHEMA:
        (r,) = results
        s = r["summary"]
        if s is None:
            return r["status"]
        return (f"compile {s['compile_s']:.2f} s, run {1e3 * s['run_s']:.2f} ms, "
                f"{s['n_failed']}/{s['n_points']} points failed")
    ok = sum(r["status"] == "ok" for r in results)
    cost = results[0]["cost"]
    text = f"{ok}/{len(results)} ok"
    if cost:
        text += (f", compile {cost['compile_forward_s'] + cost['compile_gradient_s']:.2f} s, "
                 f"gradient {1e3 * cost['gradient_s']:.2f} ms")
    bad = next((r["status"] for r in results if r["status"] != "ok"), None)
    return text + (f"; {bad}" if bad else "")


def _print_run_summary(run: _run.RunRecords) -> None:
    """One row per integrator: stability agreement, gradient cells, cost."""
    gradients: dict[str, list[dict]] = {}
    for cell in run.gradients["results"]:
        gradients.setdefault(cell["integrator"], []).append(cell)
    rows = []
    for r in run.stability["results"]:
        s = r["summary"] or {}
        small = next((a for a in s.get("agreement", []) if a["abs_z_max"] == 1e6), {})
        cells = gradients.get(r["integrator"], [])
        ok = [c for c in cells if c["status"] == "ok"]
        theory_err = [c["summary"]["max_rel_err_theory"] for c in ok if c["summary"]["max_rel_err_theory"] is not None]
        compile_s = (s.get("compile_s") or 0) + sum(
            c["cost"]["compile_forward_s"] + c["cost"]["compile_gradient_s"]
            for c in _first_of_each_cell(cells) if c["cost"])
        rows.append([r["integrator"], _g(s.get("decay_exponent_theory")), _g(s.get("decay_exponent_computed")),
                     _g(small.get("max_rel_err_dR")),
                     f"{s['n_failed']}/{s['n_points']}" if s else r["status"][:40],
                     f"{len(ok)}/{len(cells)}" if cells else "-", _g(max(theory_err) if theory_err else None),
                     f"{compile_s:.1f}"])
    print()
    _print_table(["integrator", "decay theory", "decay measured", "err R' |z|<=1e6", "failed points",
                  "gradients ok", "grad err vs theory", "compile s"], rows)


def _first_of_each_cell(cells: list[dict]) -> list[dict]:
    """The stiffness values of one cell share one compiled function and one cost: count it once."""
    seen, out = set(), []
    for c in cells:
        key = (c["problem"], _run.policy_slug(c["policy"]))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _write_report(run: _run.RunRecords) -> str:
    from . import _report

    try:
        paths = _report.write_report(run)
    except ImportError as exc:  # matplotlib missing: the records stand, the report can be made later
        print(f"warning: no report ({exc}); install matplotlib and run `stiffbench report {run.directory}`",
              file=sys.stderr)
        return "no report"
    return f"report.md and {len(paths) - 1} figures in figures/"


def _report_command(args, registry) -> int:
    from . import _report

    run = _run.load_run(args.directory)
    paths = _report.write_report(run)
    if not run.complete:
        print(f"note: {args.directory} is an incomplete run; finish it with `stiffbench run --resume "
              f"{args.directory}`", file=sys.stderr)
    for path in paths:
        print(path)
    return 0


def _compare_command(args, registry) -> int:
    tolerances = _compare.Tolerances(error_factor=args.tolerance, exponent=args.exponent_tolerance,
                                     time_factor=args.time_tolerance)
    result = _compare.compare(_run.load_run(args.baseline), _run.load_run(args.candidate), tolerances)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if not result.changes:
        print(f"no change beyond tolerance: {result.n_metrics} metrics in {result.n_cells} cells compared")
        return 0
    _print_table(["cell", "metric", "A", "B", "change", "verdict"],
                 [[c.cell, c.metric, _g(c.a) if isinstance(c.a, float) else c.a,
                   _g(c.b) if isinstance(c.b, float) else c.b, c.change, c.verdict] for c in result.changes])
    regressed = sum(c.verdict == "regressed" for c in result.changes)
    print(f"\n{regressed} regressed, {len(result.changes) - regressed} improved or changed, "
          f"of {result.n_metrics} metrics in {result.n_cells} cells")
    return 1 if regressed else 0

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
    _records.enable_compilation_cache()

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


def _cost(args, registry: Registry) -> int:
    problems = registry.problems.select(args.problem or ["robertson-1e5", "van-der-pol"])
    integrators = registry.integrators.select(args.integrator or ["radau-iia-5", "rodas4", "diffrax-kvaerno5"])
    policy = AdaptiveStep(rtol=args.rtol, atol=args.atol)
    _records.enable_compilation_cache()
    results = []
    for problem in problems:
        print(f"cost: {problem.name} ...", file=sys.stderr, flush=True)
        results.append(measure_cost(problem, integrators, policy))
    record = {"schema": COST_SCHEMA, "environment": _records.environment(), "results": results}
    if args.out:
        _records.write_json(args.out, record)
    if args.json:
        sys.stdout.write(_records.dumps(record))
    else:
        _print_table(["problem", "solver", "compile s", "run s", "run / scipy-radau", "steps", "max rel err", "status"],
                     [[r["problem"], row["solver"], _g(row.get("compile_s")), _g(row.get("run_s")),
                       _g(row.get("run_ratio_to_scipy_radau")), row.get("steps") or "-", _g(row.get("max_rel_err")),
                       row["status"][:50]] for r in results for row in r["rows"]])
    return 0


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
    _records.enable_compilation_cache()
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
