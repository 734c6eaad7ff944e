"""What the benchmark modules share: the registry's names, the cases, and compiled programs memoised per process.

The programs are the public kernels of :mod:`stiffbench.measure.kernels`, the very ones the CLI's cells compile
and run (a gradient cell's vmapped forward solve and gradient, a stability cell's vmapped one-step program), so
that asv times and checks what ``stiffbench run`` measures, not a copy of it.

How asv runs this suite shapes the code. Every (benchmark, parameter combination, round) runs in its own
process, forked from asv's fork server, which imported the benchmark modules once (``launch_method`` in
asv.conf.json; with ``spawn`` each process imports them itself, about 1.3 s more). ``setup`` runs again
before *every* timed call. So:

- compiling happens in ``setup`` but once per process (:func:`memo`); later ``setup`` calls find it;
- the caches the CLI uses (``stiffbench.configure()``; ``benchmarks/__init__.py`` calls it on import and every
  ``setup`` again) make the compile in the next process a load: the exported-program cache skips the tracing,
  JAX's persistent compilation cache XLA's compile (both store diffrax solves only without host callbacks, hence
  ``EQX_ON_ERROR=nan``, which importing stiffbench sets before equinox is imported). The compile-time benchmarks
  turn both off (``configure(caches=False)``) and measure what a first run pays;
- timed bodies only call a compiled :class:`~stiffbench.measure.kernels.Program`, which blocks until the result
  exists.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

import stiffbench
from stiffbench import AbstractMultistepIntegrator, AdaptiveStep, FixedStep, Solution, Status
from stiffbench.measure import kernels, measure_stability, reference_sensitivity
from stiffbench.records import StabilityGrid, StabilitySummary

stiffbench.configure()  # also done by the package: repeated so that this module stands alone

REGISTRY = stiffbench.load_registry()
"""Built once per process, at import. A plugin that fails to import or register is recorded in
``REGISTRY.failures`` (never raised), so a broken plugin cannot break benchmark discovery."""


def _check_fork_safety() -> None:
    """In asv's fork server, refuse to go on if importing the plugins initialised a JAX backend.

    The server forks a process per benchmark from itself. That is safe while JAX has no backend (and so
    none of XLA's threads) yet, which holds for every built-in plugin; a plugin that computes with JAX at
    import would make the forked processes hang. This turns that into an import error with the remedy.
    """
    if sys.argv[1:2] != ["run_server"]:
        return
    try:
        from jax._src.xla_bridge import backends_are_initialized
    except ImportError:  # a JAX without it: nothing to check with
        return
    if backends_are_initialized():
        raise RuntimeError("importing the stiffbench plugins initialised a JAX backend, so forking benchmark "
                           "processes from asv's fork server is unsafe: run asv with --launch-method spawn")


_check_fork_safety()

NONE_REGISTERED = "(none registered)"
"""Stands in for an empty catalog, so that parameter lists are never empty; its setup skips."""


def _names(catalog) -> list[str]:
    return sorted(catalog) or [NONE_REGISTERED]


def _parameter_names() -> dict[str, list[str]]:
    """The registry's names, sorted, as asv's parameter lists; under asv, those of its discovery step.

    asv keys a benchmark's history by parameter *value*, so the parameters are the registry's names. By the
    project's rule (AbstractIntegrator.name) names are stable and append-only: a newly registered plugin
    adds a series to the history, benchmarked without editing this suite, and no series is renamed.

    But asv discovers the benchmarks (their parameter lists) once per invocation, in one commit's
    environment, and then hands each benchmark process only an *index* into those lists, for every commit
    it runs. A process that built its lists from its own commit's registry would map an index to another
    name wherever the catalog differs (an integrator added in between shifts the sorted list). So the
    discovery process writes its lists to ``.asv/benchmark-parameters.json`` and the benchmark processes of
    the same invocation read them; a name that their commit does not register is skipped (see
    :func:`integrator`). Outside asv, the live registry's names are used.
    """
    live = {
        "integrators": _names(REGISTRY.integrators),
        "problems": _names(REGISTRY.problems),
    }
    conf_dir = os.environ.get("ASV_CONF_DIR")
    if conf_dir is None:
        return live
    path = Path(conf_dir) / ".asv" / "benchmark-parameters.json"
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "discover":
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(live, indent=1))
        tmp.replace(path)
        return live
    if command in ("run", "run_server", "setup_cache") and path.exists():
        return json.loads(path.read_text())
    return live


_PARAMETERS = _parameter_names()
INTEGRATORS = _PARAMETERS["integrators"]
PROBLEMS = _PARAMETERS["problems"]

# The full product integrators × problems × policies (29 × 9 × 2 in November 2026) is far too big for asv,
# which runs every combination in its own process. The suite takes two axes through it instead:
#
# - the integrator axis: every integrator on one reference problem, `linear` (exact sensitivities, cheap,
#   solvable by every integrator, explicit ones included), with a fixed step and an adaptive tolerance;
# - the problem axis: every problem with reference integrators, adaptively (a fixed step of span/100, the
#   default of `stiffbench run`, makes Newton diverge on the nonlinear stiff problems). The two reference
#   integrators solve every built-in problem: radau-iia-5 (the native tableau engine, Newton on stacked
#   stages; RADAU5's method) and rodas4 (Rosenbrock: linear solves only). diffrax's Kvaerno5 is not one:
#   it reaches max_steps on E5 and takes 32806 steps on OREGO at this tolerance (the overhead benchmark
#   covers diffrax's path).
REFERENCE_PROBLEM = "linear"
REFERENCE_INTEGRATORS = ["radau-iia-5", "rodas4"]

# Step policies by asv parameter value (keep the keys stable). The fixed step is that of the project's
# gradient tests (span/100 on `linear`); the adaptive tolerance has atol = 1e-6·rtol, the CLI's default.
POLICIES = {
    "fixed-h=1e-2": FixedStep(1e-2),
    "adaptive-rtol=1e-6": AdaptiveStep(rtol=1e-6, atol=1e-12),
}
ADAPTIVE = "adaptive-rtol=1e-6"


_MEMO: dict[tuple, Any] = {}


def memo(key: tuple, build: Callable[[], Any]) -> Any:
    """``build()`` once per process: asv calls ``setup`` again before every timed call."""
    if key not in _MEMO:
        _MEMO[key] = build()
    return _MEMO[key]


def integrator(name: str):
    """The registered integrator; a name that this commit does not register is skipped."""
    if name not in REGISTRY.integrators:
        raise NotImplementedError(f"no integrator {name!r} registered here; plugin failures: {dict(REGISTRY.failures)}")
    return REGISTRY.integrators[name]


def problem(name: str):
    """The registered problem; a name that this commit does not register is skipped."""
    if name not in REGISTRY.problems:
        raise NotImplementedError(f"no problem {name!r} registered here; plugin failures: {dict(REGISTRY.failures)}")
    return REGISTRY.problems[name]


@dataclasses.dataclass(frozen=True)
class Case:
    """One cell (integrator, problem, policy) compiled and run once, on a batch of one row of ``log θ``: the
    problem's default parameters (:func:`stiffbench.measure.kernels.log_parameters`)."""

    integrator: Any
    problem: Any
    policy: Any
    log_theta: jax.Array
    """Shape ``(1, P)``, over ``problem.parameters`` in order."""
    forward: kernels.Program
    """``log θ -> Solution``, vmapped: ``Solution.ys`` has shape ``(1, T, D)``."""
    gradient: kernels.Program
    """``log θ -> (S, Solution)``, vmapped: ``S[0, k, i, j] = ∂y_i(t_k)/∂log θ_j``, shape ``(1, T, D, P)``."""
    solution: Solution
    """The warm-up's forward solution (its status checked)."""
    sensitivity: np.ndarray
    """The warm-up's ``S`` (its solve's status checked)."""

    @property
    def names(self) -> list[str]:
        """The parameter names along the last axis of ``log_theta`` and of ``sensitivity``."""
        return list(self.problem.parameters)


def _checked(solution: Solution, what: str) -> Solution:
    status = Status(int(np.max(np.asarray(solution.status))))
    if status != Status.OK:
        raise RuntimeError(f"{what}: {status.message}")
    return solution


def case(integrator_name: str, problem_name: str, policy_name: str) -> Case:
    """One cell compiled and run once (the warm-up): the forward solve and the gradient with respect to
    log-parameters, as a gradient cell of ``stiffbench run`` compiles them
    (:func:`stiffbench.measure.kernels.gradient_programs`), for the problem's defaults.

    An integrator that cannot follow the policy raises ``NotImplementedError`` while tracing, which asv
    reports as a skip with that reason. A solve that reports a failed status raises ``RuntimeError``: the
    benchmark fails, and ``asv compare`` shows a newly failing benchmark rather than a silent skip.
    """

    def build() -> Case:
        integ, prob, policy = integrator(integrator_name), problem(problem_name), POLICIES[policy_name]
        log_theta = kernels.log_parameters(prob)
        forward, gradient = kernels.gradient_programs(integ, prob, policy, log_theta)
        what = f"{integrator_name} on {problem_name} with {policy}"
        solution = _checked(forward(), what)
        sensitivity, primal = gradient()
        _checked(primal, f"the gradient of {what}")
        return Case(integ, prob, policy, log_theta, forward, gradient, solution, np.asarray(sensitivity))

    return memo(("case", integrator_name, problem_name, policy_name), build)


UNREFERENCED = {
    "e5": "its reference sensitivity (forward sensitivity equations by SciPy's Radau, atol 1e-32) did not "
          "finish within 4 minutes",
    "pollu": "its reference sensitivity (20 states x 25 parameters, dense Jacobian of the augmented system) "
             "did not finish within 10 minutes",
}
"""Problems whose reference sensitivity is too costly to compute in a benchmark's setup (measured on a 2-core
machine, November 2026); the others' take 3–17 s once, then load from the disk cache of
``stiffbench.measure.reference_sensitivity`` (under ``stiffbench.runtime.cache_dir()``)."""


def relative_error(S: np.ndarray, S_ref: np.ndarray) -> float | None:
    """``‖S − S_ref‖/‖S_ref‖`` (Frobenius norms over times and components), the ``rel_err`` of a gradient record's
    ``Fidelity``; None where it is not finite or the reference is zero."""
    scale = float(np.linalg.norm(S_ref))
    if scale == 0:
        return None
    error = float(np.linalg.norm(np.asarray(S) - np.asarray(S_ref))) / scale
    return error if np.isfinite(error) else None


def gradient_error(cell: Case) -> float:
    """The worst parameter's relative error (:func:`relative_error`) of a case's sensitivity against the reference
    one (``stiffbench.measure.reference_sensitivity``: exact for an ``AbstractExactProblem``, otherwise the forward
    sensitivity equations solved by SciPy), as ``max_rel_err`` of ``stiffbench gradients``' records."""
    prob = cell.problem
    if prob.name in UNREFERENCED:
        raise NotImplementedError(f"{prob.name}: {UNREFERENCED[prob.name]}")
    reference = reference_sensitivity(prob, dict(prob.parameters))
    (S,) = cell.sensitivity  # the batch of one row
    errors = {name: relative_error(S[..., j], reference.sensitivity[name]) for j, name in enumerate(cell.names)}
    if None in errors.values():
        raise RuntimeError(f"{prob.name}: a sensitivity is not finite or its reference is zero: {errors}")
    return max(errors.values())


GRID = StabilityGrid()
"""The default grid, that of ``stiffbench run``."""


def stability_sweep(integ) -> kernels.Program:
    """The vmapped one-step ``R, R'`` program on the default grid, compiled
    (:func:`stiffbench.measure.kernels.stability_program`, what ``measure_stability`` runs), so that asv can
    time just the call."""
    if isinstance(integ, AbstractMultistepIntegrator) and integ.theory is None:
        raise NotImplementedError(f"{integ.name}: a multistep integrator is measured from its theory; it has none")
    return kernels.stability_program(integ, GRID.z())


def stability_summary(integrator_name: str) -> StabilitySummary:
    """``measure_stability(...).summary`` on the default grid; a cell that does not apply is skipped, one that
    failed otherwise raises ``RuntimeError``."""

    def build() -> StabilitySummary:
        result = measure_stability(integrator(integrator_name), GRID)
        if result.status == Status.NOT_APPLICABLE:
            raise NotImplementedError(f"{integrator_name}: {result.message}")
        if result.status != Status.OK or result.summary is None:
            raise RuntimeError(f"{integrator_name}: {result.message}")
        return result.summary

    return memo(("stability", integrator_name), build)
