"""The ``stiffbench`` command line's options: one parser, every value checked before anything compiles."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..records import OPTIMIZERS, StabilityGrid
from ..sweep.config import TrainingSweep

GLOBAL_OPTIONS = ("plugins_dir", "disable")
"""Options that may be given before or after the command; both places combine."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stiffbench",
                                     description="Benchmarks for differentiating through stiff ODE integrators.")
    _global_options(parser, "before")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: str, help: str, **kwargs) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, **kwargs)
        _global_options(p, "after")
        p.set_defaults(handler=handler)
        return p

    command("plugins", "plugins", "plugins loaded (name, source) and those that failed")

    p = command("list", "list", "registered integrators or problems and their properties")
    p.add_argument("kind", nargs="?", choices=["integrators", "problems"], default="integrators")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = command("stability", "stability",
                "theoretical vs computed R(z), R'(z) through each integrator's real implementation")
    _names(p, "--integrator", "integrators to measure (default: all)")
    p.add_argument("--points", type=_integer_at_least(2), default=StabilityGrid.points,
                   help="points per ray, log-spaced in |z| (default: %(default)s)")
    p.add_argument("--z-min", type=_positive, default=StabilityGrid.z_min, help="smallest |z| (default: %(default)g)")
    p.add_argument("--z-max", type=_positive, default=StabilityGrid.z_max, help="largest |z| (default: %(default)g)")
    p.add_argument("--angle", metavar="DEG", type=_angle, nargs="+", action="extend", default=[],
                   help="extra rays arg(-z) = DEG into the left half-plane, 0 <= DEG <= 90")
    p.add_argument("--tail", type=_positive, default=StabilityGrid.tail,
                   help="fit decay exponents over |z| >= TAIL (default: %(default)g)")
    _record_output(p, "stiffbench.stability/2")
    _executor_options(p)

    p = command("gradients", "gradients",
                "sensitivities dy/dlog(theta) through each integrator vs reference, across stiffness")
    _names(p, "--problem", "problems to measure (default: all)")
    _names(p, "--integrator", "integrators to measure (default: all)")
    p.add_argument("--stiffness", metavar="X", type=_positive, nargs="+", action="extend", default=[],
                   help="values of each problem's stiffness parameter (default: the problem's own scan)")
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--dt", metavar="H", type=_positive, nargs="+", action="extend", default=[],
                       help="fixed steps (default, as `run`: a fixed step of 1/100 of each problem's time span; "
                       "robertson-40 adaptive at rtol 1e-6)")
    steps.add_argument("--rtol", metavar="R", type=_positive, nargs="+", action="extend", default=[],
                       help="adaptive steps with these relative tolerances")
    p.add_argument("--atol", metavar="A", type=_positive, help="absolute tolerance with --rtol (default: 1e-6 rtol)")
    _record_output(p, "stiffbench.gradients/2")
    _executor_options(p)

    p = command("cost", "cost", "the same adaptive solves through stiffbench integrators and SciPy's Radau and BDF")
    _names(p, "--problem", "problems (default: robertson-1e5 and van-der-pol)")
    _names(p, "--integrator", "integrators (default: radau-iia-5, rodas4, diffrax-kvaerno5)")
    p.add_argument("--rtol", type=_positive, default=1e-8, help="relative tolerance (default: %(default)g)")
    p.add_argument("--atol", type=_positive, default=1e-10, help="absolute tolerance (default: %(default)g)")
    p.add_argument("--sizes", metavar="N", type=_size, nargs="+", action="extend", default=[],
                   help="solve each problem with a size knob at these sizes (grid points), e.g. --sizes 64 256 1024; "
                        "the report fits how each solver's cost grows")
    _record_output(p, "stiffbench.cost/2")
    _executor_options(p)

    p = command("fit", "fit", "fit a problem's parameters to its reference solution through each integrator, from a "
                "perturbed start; what the optimizer sees per iteration", description="Train: fit the rates (in "
                "log space) and weight arrays of each problem to observations of its reference solution at the "
                "true parameters, starting from seeded perturbed ones, through each integrator and step policy. "
                "Records the loss, the gradient per parameter, the parameters and the stiffness met |h lambda_max| "
                "at every iteration, and the final relative error of each parameter.")
    _names(p, "--problem", "problems to fit (default: linear-2mode)")
    _names(p, "--integrator", "integrators (default: backward-euler, trapezoid, radau-iia-5)")
    _names(p, "--fit", "parameters to fit, where a problem has them (default: every rate and weight array)")
    p.add_argument("--steps", metavar="N", type=_integer_at_least(1), nargs="+", action="extend", default=[],
                   help="fixed steps h = time span / N (default without --dt/--rtol: 10 100 1000, and rtol 1e-6)")
    p.add_argument("--dt", metavar="H", type=_positive, nargs="+", action="extend", default=[],
                   help="fixed steps of size H")
    p.add_argument("--rtol", metavar="R", type=_positive, nargs="+", action="extend", default=[],
                   help="adaptive steps with these relative tolerances")
    p.add_argument("--atol", metavar="A", type=_positive, help="absolute tolerance with --rtol (default: 1e-6 rtol)")
    p.add_argument("--differentiation", metavar="METHOD", nargs="+", action="extend", default=[],
                   help="reverse (default), reverse-cN, direct, backsolve, forward")
    p.add_argument("--optimizer", nargs="+", action="extend", default=[], choices=OPTIMIZERS,
                   help="adam (default) and/or lbfgs")
    p.add_argument("--iterations", metavar="N", type=_integer_at_least(1), default=TrainingSweep.iterations,
                   help="optimizer iterations (default: %(default)s)")
    p.add_argument("--learning-rate", metavar="X", type=_positive, default=TrainingSweep.learning_rate,
                   help="Adam's initial learning rate, decaying to a tenth (default: %(default)g)")
    p.add_argument("--perturbation", metavar="SIGMA", type=_positive, default=TrainingSweep.perturbation,
                   help="start: log(theta) + SIGMA*N(0,1) for rates, W + SIGMA*rms(W)*N(0,1) for weights "
                   "(default: %(default)g)")
    p.add_argument("--noise", metavar="SIGMA", type=_non_negative, default=TrainingSweep.noise,
                   help="relative noise on the observations (default: %(default)g)")
    p.add_argument("--seed", metavar="N", type=_integer_at_least(0), default=TrainingSweep.seed,
                   help="seed of the start and the noise (default: %(default)s)")
    _record_output(p, "stiffbench.training/1")
    _executor_options(p)

    p = command("run", "run", "the main job: stability, gradients and cost of every integrator; records, report, "
                "figures", description="Measure the stability agreement of every integrator and the gradients "
                "through every problem x integrator x stiffness x step policy, cell by cell, into a directory of "
                "JSON records with a Markdown report and PNG figures.")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="output directory, new or empty (default: a new timestamped folder under results/)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--config", metavar="FILE", type=Path,
                      help="sweep configuration (TOML; a run's config.toml repeats that run)")
    what.add_argument("--quick", action="store_true",
                      help="a small sweep: seven integrators (one per engine and family), the linear-2mode problem, "
                      "5 stiffness levels, 50 points per ray (`--quick --dry-run` prints it)")
    _names(p, "--integrator", "integrators to measure (default: the configuration's, else all)")
    _names(p, "--problem", "problems to measure gradients on (default: the configuration's)")
    p.add_argument("--resume", metavar="DIR", type=Path,
                   help="finish an interrupted run in DIR: measure only the cells whose files are missing or invalid "
                   "(refused if the options ask for a different configuration)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the effective configuration (TOML) and the number of cells, measure nothing")
    _executor_options(p)

    p = command("report", "report", "regenerate report.md and figures/ of a run directory from its records",
                description="Write report.md and figures/*.png of a run directory again, from its records alone: "
                "nothing is measured and no plugin is loaded.")
    p.add_argument("directory", metavar="DIR", type=Path, help="a directory written by `stiffbench run`")

    p = command("compare", "compare", "metrics that changed between two run directories; exit 1 if any regressed",
                description="List the metrics of numerical quality and cost that changed beyond tolerance between "
                "the cells two runs share. Exit status 0 when nothing regressed, 1 when something did, 2 when the "
                "directories cannot be compared (schemas differ, no cell in common).")
    p.add_argument("baseline", metavar="DIR_A", type=Path, help="the earlier run (the baseline)")
    p.add_argument("candidate", metavar="DIR_B", type=Path, help="the later run")
    p.add_argument("--tolerance", metavar="FACTOR", type=_factor, default=2.0,
                   help="relative errors (ignored below 1e-12) and gradient ratios: changed when they move by "
                   "more than this factor (default: %(default)g)")
    p.add_argument("--exponent-tolerance", metavar="X", type=_positive, default=0.05,
                   help="decay exponents: changed when they move by more than X (default: %(default)g)")
    p.add_argument("--time-tolerance", metavar="FACTOR", type=_factor, default=3.0,
                   help="run times: changed when they move by more than this factor and by more than 10 ms "
                   "(default: %(default)g; 'inf' ignores cost); compile times are listed, never a regression")

    p = command("cache", "cache", "what the caches under STIFFBENCH_CACHE_DIR hold; --clear deletes compiled programs")
    p.add_argument("--clear", action="store_true",
                   help="delete the compiled programs (JAX's compilation cache and the exported programs); the "
                   "reference solutions stay")
    return parser


def global_option(args: argparse.Namespace, name: str) -> list[str]:
    """A global option's values from before and after the command, in that order."""
    return [*getattr(args, f"{name}_before", []), *getattr(args, f"{name}_after", [])]


def _global_options(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument("--plugins-dir", metavar="DIR", action="append", default=[], dest=f"plugins_dir_{where}",
                        help="also load every *.py file in DIR as a plugin (repeatable)")
    parser.add_argument("--disable", metavar="NAME", action="append", default=[], dest=f"disable_{where}",
                        help="do not load the plugin NAME (repeatable; see `stiffbench plugins`)")


def _executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true",
                        help="neither read nor write compiled programs (JAX's compilation cache, the exported "
                        "programs): every program is traced and compiled, as on a first run")
    where = parser.add_argument_group("where the cells run (default: one after another in this process)")
    where.add_argument("--workers", metavar="N", type=_workers, default=None,
                       help="measure on a Dask LocalCluster of N single-threaded worker processes, each pinned to "
                       "one CPU ('auto': one per CPU, 2 GiB of memory each; 1: in this process)")
    cluster = where.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="measure on the workers of an existing Dask cluster (tcp://host:8786); start them "
                         "with `dask worker ADDRESS --nthreads 1 --preload stiffbench.sweep.worker`")
    cluster.add_argument("--scheduler-file", metavar="FILE", type=Path,
                         help="as --scheduler, the address read from a scheduler file (`dask scheduler "
                         "--scheduler-file FILE`, the usual form on Slurm or PBS)")


def _workers(text: str) -> int | str:
    return text if text == "auto" else _integer_at_least(1)(text)


def _names(parser: argparse.ArgumentParser, option: str, help: str) -> None:
    parser.add_argument(option, metavar="NAME", nargs="+", action="extend", default=[], help=help)


def _record_output(parser: argparse.ArgumentParser, schema: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print the {schema} records to stdout")
    parser.add_argument("--out", metavar="FILE", type=Path,
                        help="also write the records to FILE (atomically; checked before measuring)")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of grid points, at least 1, got {text}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number of at least 0, got {text}")
    return value


def _angle(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and 0 <= value <= 90):
        raise argparse.ArgumentTypeError(f"expected an angle in [0, 90] degrees (the left half-plane), got {text}")
    return value


def _factor(text: str) -> float:
    value = _number(text)
    if not value > 1:
        raise argparse.ArgumentTypeError(f"expected a factor above 1 (or inf), got {text}")
    return value


def _integer_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer of at least {minimum}, got {value}")
        return value

    return parse
