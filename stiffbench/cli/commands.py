"""What each ``stiffbench`` command does: thin front ends over the sweep's plan, executor and records.

``stability``, ``gradients``, ``cost`` and ``fit`` plan the cells of one family from their options and measure them with
the same executor and measurements as ``run``, producing the same records; ``run`` adds the run directory,
resume, the report and the summary. ``report`` and ``compare`` read records only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .. import runtime
from .._registry import Registry
from ..contracts import Differentiation
from ..errors import ClusterError, UsageError
from ..measure import catalog
from ..records import RECORD_TYPES, Environment, Record, RecordSet, dumps, to_json, write_text
from ..report import terminal
from ..sweep import (
    DEFAULT,
    CostSweep,
    GradientSweep,
    Plan,
    SweepConfig,
    TrainingSweep,
    config_to_toml,
    finish_run,
    load_run,
    make_plan,
    quick_config,
    read_cell,
    read_config,
    run_cells,
    start_run,
    write_cell,
)
from ..sweep.execute import Executor, Serial
from ..sweep.plan import describe
from ..sweep.rundir import CONFIG_FILE, RunRecords, check_run, is_run, never_started
from .parser import global_option
from .progress import Progress


def plugins(args: argparse.Namespace, registry: Registry) -> int:
    terminal.plugins_table(registry.sources, registry.failures)
    return 0


def list_(args: argparse.Namespace, registry: Registry) -> int:
    cat = catalog(registry)
    rows = cat.problems if args.kind == "problems" else cat.integrators
    if args.json:
        print(json.dumps(to_json(rows), indent=1))
    elif args.kind == "problems":
        terminal.problems_table(cat.problems)
    else:
        terminal.integrators_table(cat.integrators)
    return 0


def stability(args: argparse.Namespace, registry: Registry) -> int:
    try:
        grid = dataclasses.replace(DEFAULT.stability, points=args.points, z_min=args.z_min, z_max=args.z_max,
                                   angles=tuple(args.angle), tail=args.tail)
    except ValueError as exc:
        raise UsageError(f"stability grid: {exc} (see --z-min, --z-max, --points, --tail)") from None
    config = SweepConfig(integrators=tuple(args.integrator) or None, stability=grid)
    results = _measure(make_plan(config, registry, ["stability"]), "stability", args, registry)
    if not args.json:
        terminal.stability_table(results)  # type: ignore[arg-type]
    return 0


def gradients(args: argparse.Namespace, registry: Registry) -> int:
    if args.atol is not None and not args.rtol:
        raise UsageError("--atol applies to adaptive steps only: give --rtol too")
    problems = registry.problems.select(args.problem or None)
    chosen = bool(args.dt or args.rtol)  # else run's defaults: 100 fixed steps, Robertson's adaptive policy
    sweep = GradientSweep(steps=() if chosen else DEFAULT.gradients.steps, dt=tuple(args.dt), rtol=tuple(args.rtol),
                          atol=args.atol, policies={} if chosen else DEFAULT.gradients.policies,
                          stiffness={p.name: tuple(args.stiffness) for p in problems} if args.stiffness else {})
    config = SweepConfig(integrators=tuple(args.integrator) or None, problems=tuple(p.name for p in problems),
                         gradients=sweep)
    results = _measure(make_plan(config, registry, ["gradients"]), "gradients", args, registry)
    if not args.json:
        terminal.gradients_table(results)  # type: ignore[arg-type]
    return 0


def cost(args: argparse.Namespace, registry: Registry) -> int:
    config = SweepConfig(integrators=tuple(args.integrator or ("radau-iia-5", "rodas4", "diffrax-kvaerno5")),
                         cost=CostSweep(problems=tuple(args.problem or ("robertson-1e5", "van-der-pol")),
                                        rtol=args.rtol, atol=args.atol, sizes=tuple(args.sizes)))
    results = _measure(make_plan(config, registry, ["cost"]), "cost", args, registry)
    if not args.json:
        terminal.cost_table(results)  # type: ignore[arg-type]
    return 0


def fit(args: argparse.Namespace, registry: Registry) -> int:
    if args.atol is not None and not args.rtol:
        raise UsageError("--atol applies to adaptive steps only: give --rtol too")
    for label in args.differentiation:
        try:
            Differentiation.parse(label)
        except ValueError as exc:
            raise UsageError(f"--differentiation: {exc}") from None
    problems = registry.problems.select(args.problem or ["linear-2mode"])
    chosen = bool(args.steps or args.dt or args.rtol)
    fit = {p.name: tuple(n for n in args.fit if n in p.parameters or n in p.weights) for p in problems}
    unknown = [n for n in args.fit if not any(n in names for names in fit.values())]
    if unknown:
        known = sorted({n for p in problems for n in (*p.parameters, *p.weights)})
        raise UsageError(f"--fit: no problem chosen has {', '.join(map(repr, unknown))}; they have {', '.join(known)}")
    sweep = TrainingSweep(
        problems=tuple(p.name for p in problems),
        steps=tuple(args.steps) if chosen else TrainingSweep.steps, dt=tuple(args.dt),
        rtol=tuple(args.rtol) if chosen else TrainingSweep.rtol, atol=args.atol,
        differentiation=tuple(args.differentiation) or TrainingSweep.differentiation,
        optimizers=tuple(dict.fromkeys(args.optimizer)) or TrainingSweep.optimizers, iterations=args.iterations,
        learning_rate=args.learning_rate, perturbation=args.perturbation, noise=args.noise, seed=args.seed,
        fit={name: names for name, names in fit.items() if names})
    config = SweepConfig(integrators=tuple(args.integrator or ("backward-euler", "trapezoid", "radau-iia-5")),
                         training=sweep)
    results = _measure(make_plan(config, registry, ["training"]), "training", args, registry)
    if not args.json:
        terminal.training_table(results)  # type: ignore[arg-type]
    return 0


def _measure(plan: Plan, kind: str, args: argparse.Namespace, registry: Registry) -> list[Record]:
    """Measure the plan's cells (output file checked first), write ``--out``, print ``--json``."""
    if args.out:
        check_output_file(args.out, RECORD_TYPES[kind].SCHEMA)
    environment = Environment.current()
    with executor(args, plan, registry) as where, Progress() as progress:
        results = run_cells(plan.cells, progress=progress, executor=where)
    document = dumps(RecordSet(RECORD_TYPES[kind], environment, tuple(results)).to_json())
    if args.out:
        save(args.out, document)
    if args.json:
        sys.stdout.write(document)
    return results


@contextlib.contextmanager
def executor(args: argparse.Namespace, plan: Plan, registry: Registry) -> Iterator[Executor]:
    """Where the cells run: in this process, on a local Dask cluster (``--workers``) or an existing one."""
    workers = args.workers
    if args.scheduler is None and args.scheduler_file is None and workers in (None, 1):
        yield Serial()
        return
    from ..sweep.cluster import dask_executor, default_workers

    if workers == "auto":
        workers = default_workers()
    if args.scheduler_file is not None and not args.scheduler_file.is_file():
        raise UsageError(f"--scheduler-file {args.scheduler_file}: no such file (the scheduler writes it when it "
                         "starts: `dask scheduler --scheduler-file FILE`)")
    with dask_executor(plan, registry, workers=workers, scheduler=args.scheduler,
                       scheduler_file=str(args.scheduler_file) if args.scheduler_file else None,
                       plugin_dirs=tuple(global_option(args, "plugins_dir")),
                       blocked=tuple(global_option(args, "disable"))) as dask:
        if args.scheduler or args.scheduler_file:
            where = args.scheduler or args.scheduler_file
            print(f"measuring on {dask.concurrency} Dask workers of {where}", file=sys.stderr)
        else:
            print(f"measuring on a local Dask cluster of {dask.concurrency} workers", file=sys.stderr)
        yield dask


def check_output_file(path: Path, schema: str) -> None:
    """Refuse, before measuring, a destination that cannot be written or holds something that is not ours."""
    if path.is_dir():
        raise UsageError(f"--out {path} is a directory; name a file")
    if path.exists():
        try:
            found = json.loads(path.read_text()).get("schema")
        except (OSError, ValueError, AttributeError):
            found = None
        if found != schema:
            raise UsageError(f"--out {path} exists and does not hold {schema} records: stiffbench does not "
                             "overwrite what it did not write; choose another file or remove it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--out {path}: the directory {str(parent)!r} does not exist")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot write into {str(parent)!r} ({exc.strerror})") from None


def save(path: Path, text: str) -> None:
    """Write atomically; if that fails after all, keep the records beside in the temporary directory and say so."""
    try:
        write_text(path, text)
    except OSError as exc:
        fd, fallback = tempfile.mkstemp(prefix="stiffbench-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        print(f"stiffbench: could not write {path} ({exc}); the records are in {fallback}", file=sys.stderr)
    else:
        print(f"wrote {path}", file=sys.stderr)


def run(args: argparse.Namespace, registry: Registry) -> int:
    """The main job: every cell of the sweep into a directory, then the report."""
    requested = _requested_config(args, registry)
    if args.resume:
        if args.out and args.out.resolve() != args.resume.resolve():
            raise UsageError(f"--out {args.out} and --resume {args.resume} name different directories; "
                             "--resume writes into the directory it resumes")
        directory = args.resume
        if not directory.exists():
            raise UsageError(f"--resume {directory}: no such directory, nothing to resume; start the run with "
                             f"--out {directory}")
        if requested is None and not is_run(directory) and never_started(directory):
            print(f"{directory} was interrupted before its configuration was written: starting it with the "
                  "default configuration (give --config or --quick to choose another)", file=sys.stderr)
        elif requested is None:  # no option asks for a configuration: the run's own
            if not is_run(directory):
                raise UsageError(f"{str(directory)!r} holds no {CONFIG_FILE}: it is not a stiffbench run directory "
                                 "(or the run never started); start a new run with --out")
            requested = read_config(directory / CONFIG_FILE)
    else:
        directory = args.out or _new_results_directory()
    plan = make_plan(requested or DEFAULT, registry)
    if args.dry_run:
        sys.stdout.write(config_to_toml(plan.config))
        print(f"{describe(plan)} would be written to {directory}", file=sys.stderr)
        return 0
    environment = Environment.current()
    check_run(plan, directory, resume=bool(args.resume))  # before a cluster starts
    try:
        with executor(args, plan, registry) as where, Progress() as progress:  # before anything is written
            start_run(plan, directory, registry, environment, resume=bool(args.resume))
            print(f"stiffbench run: {describe(plan)} into {directory}", file=sys.stderr, flush=True)
            run_cells(plan.cells, kept=lambda cell: read_cell(directory, cell),
                      done=lambda record: write_cell(directory, record, environment), progress=progress,
                      executor=where)
        records = load_run(directory)
        finish_run(records)
        written = _write_report(records)
        _summary(records, directory, written)
    except ClusterError as exc:
        print(f"stiffbench: error: {exc}", file=sys.stderr)
        if is_run(directory):
            print(f"every finished cell is in {directory}/cells; `stiffbench run --resume {directory}` measures the "
                  "rest (on a cluster that works, or in this process without --scheduler)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # also during the summary: the run may be complete, and resume then says so
        print(f"\ninterrupted: every finished cell is in {directory}/cells; "
              f"`stiffbench run --resume {directory}` measures the rest and writes the report", file=sys.stderr)
        return 130
    if progress.failed:
        print(f"{progress.failed} cells failed; their reasons are in the report", file=sys.stderr)
    if progress.not_applicable:
        print(f"{progress.not_applicable} cells not applicable (a method or step policy the integrator does not "
              "support); listed in the report", file=sys.stderr)
    return 0


def _summary(records: RunRecords, directory: Path, written: str) -> None:
    print()
    terminal.run_summary_table(records.stability, records.gradients)
    if records.records.get("precision"):
        print()
        terminal.precision_table(records.records["precision"])  # type: ignore[arg-type]
    if records.records.get("training"):
        print()
        terminal.training_table(records.records["training"])  # type: ignore[arg-type]
    print(f"\nwrote {directory}/: {', '.join(f'{kind}.json' for kind in records.records)}, {written}")


def _requested_config(args: argparse.Namespace, registry: Registry) -> SweepConfig | None:
    """The configuration the options ask for; None when none of them does."""
    if not (args.config or args.quick or args.integrator or args.problem):
        return None
    if args.config:
        config = read_config(args.config)
    else:
        config = quick_config(registry) if args.quick else DEFAULT
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


def _write_report(run: RunRecords) -> str:
    from ..report import write_report

    return f"report.md and {len(write_report(run)) - 1} figures in figures/"


def report(args: argparse.Namespace, registry: None) -> int:
    from ..report import write_report

    run = load_run(args.directory)
    if not is_run(args.directory):
        raise UsageError(f"{str(args.directory)!r} is not a run directory written by `stiffbench run` (no "
                         f"{CONFIG_FILE}); stiffbench writes a report only into its own run directories")
    for written in write_report(run):
        print(written)
    if not run.complete:
        print(f"note: {args.directory} is an incomplete run ({len(run.missing)} cells missing); finish it with "
              f"`stiffbench run --resume {args.directory}`", file=sys.stderr)
    for path, reason in run.invalid.items():
        print(f"note: {path} is not a valid record and was left out: {reason}", file=sys.stderr)
    return 0


def compare(args: argparse.Namespace, registry: None) -> int:
    from .. import compare as comparison
    from ..report.format import number, print_table

    tolerances = comparison.Tolerances(error_factor=args.tolerance, exponent=args.exponent_tolerance,
                                       time_factor=args.time_tolerance)
    result = comparison.compare(load_run(args.baseline), load_run(args.candidate), tolerances)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if not result.changes:
        print(f"no change beyond tolerance: {result.n_metrics} metrics in {result.n_cells} cells compared")
        return 0
    print_table(["cell", "metric", "A", "B", "change", "verdict"],
                [[c.cell, c.metric, number(c.a) if isinstance(c.a, float) else c.a,
                  number(c.b) if isinstance(c.b, float) else c.b, c.change, c.verdict] for c in result.changes])
    regressed = sum(c.verdict == "regressed" for c in result.changes)
    print(f"\n{regressed} regressed, {len(result.changes) - regressed} improved or changed, "
          f"of {result.n_metrics} metrics in {result.n_cells} cells")
    return 1 if regressed else 0


def cache(args: argparse.Namespace, registry: None) -> int:
    from ..report.format import print_table

    if args.clear:
        runtime.clear_compiled()
    usage = runtime.cache_usage()
    print(f"caches under {runtime.cache_dir()} (STIFFBENCH_CACHE_DIR):")
    print_table(["cache", "files", "MB", "holds"], [[name, str(usage[name][0]), f"{usage[name][1] / 1e6:.1f}", what]
                                                    for name, what in runtime.CACHES.items()])
    return 0
