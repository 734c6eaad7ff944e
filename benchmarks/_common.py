"""What the benchmark modules share: the registry's names, the cases, and compiled functions memoised per process.

How asv runs this suite shapes the code. Every (benchmark, parameter combination, round) runs in its own
process, forked from asv's fork server, which imported the benchmark modules once (``launch_method`` in
asv.conf.json; with ``spawn`` each process imports them itself, about 1.3 s more). ``setup`` runs again
before *every* timed call. So:

- compiling happens in ``setup`` but once per process (:func:`memo`); later ``setup`` calls find it;
- JAX's persistent compilation cache (:func:`enable_compilation_cache`, the CLI's) makes
  the compile in the next process a cache load (tracing remains: 0.3–5 s per cell); it stores diffrax
  solves only without host callbacks, hence ``EQX_ON_ERROR=nan`` (set by ``benchmarks/__init__.py``
  before equinox is imported);
- timed bodies only call a compiled function and block until the result exists.
"""

from __future__ import annotations

import os

os.environ.setdefault("EQX_ON_ERROR", "nan")  # also set by the package; repeated so this module stands alone

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import stiffbench
from stiffbench import AdaptiveStep, FixedStep, Status

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

def enable_compilation_cache() -> None:
    """JAX's persistent compilation cache, as the CLI uses it (``stiffbench.enable_compilation_cache``; the
    commits that predate it run without). Call before the first compile of the process."""
    enable = getattr(stiffbench, "enable_compilation_cache", None)
    if enable is not None:
        enable()


def disable_compilation_cache() -> None:
    """Compile for real: for measuring compile time (call before the first compile of the process)."""
    jax.config.update("jax_enable_compilation_cache", False)


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


def log_params(prob) -> dict[str, jax.Array]:
    """The problem's default parameters, as the log-parameters that gradients are taken with respect to."""
    return {k: jnp.log(jnp.float64(v)) for k, v in prob.parameters.items()}


def solve_function(integ, prob, policy) -> Callable:
    """``log θ -> Solution`` through the integrator's ``solve``, on the problem's defaults."""
    y0 = jnp.asarray(prob.y0, dtype=jnp.float64)

    def solve(log_theta):
        params = {k: jnp.exp(v) for k, v in log_theta.items()}
        return integ.solve(prob.vector_field, prob.t0, y0, prob.ts, params, policy)

    return solve


def gradient_function(solve: Callable) -> Callable:
    """``log θ -> (∂ys/∂log θ, Solution)`` by reverse mode: a dict of arrays shaped like ``ys``, and the
    forward solution (the primal that reverse mode computes anyway; its status is checked)."""

    def ys_and_solution(log_theta):
        solution = solve(log_theta)
        return solution.ys, solution

    return jax.jacrev(ys_and_solution, has_aux=True)


def compile_timed(fn: Callable, *args) -> tuple[Any, float]:
    """``(compiled, seconds)``: trace, lower and compile ``jax.jit(fn)`` for ``args``."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - start


def _checked(solution, what: str):
    status = Status(int(np.max(np.asarray(solution.status))))
    if status != Status.OK:
        raise RuntimeError(f"{what}: {status.message}")
    return solution


def case(integrator_name: str, problem_name: str, policy_name: str, gradient: bool = False) -> dict[str, Any]:
    """One cell compiled and run once (the warm-up): the forward solve, or with ``gradient`` the gradient
    with respect to log-parameters (see :func:`gradient_function`).

    An integrator that cannot follow the policy raises ``NotImplementedError`` while tracing, which asv
    reports as a skip with that reason. A solve that reports a failed status raises ``RuntimeError``: the
    benchmark fails, and ``asv compare`` shows a newly failing benchmark rather than a silent skip.
    """

    def build():
        integ, prob, policy = integrator(integrator_name), problem(problem_name), POLICIES[policy_name]
        args = log_params(prob)
        solve = solve_function(integ, prob, policy)
        what = f"{integrator_name} on {problem_name} with {policy}"
        if gradient:
            compiled, compile_s = compile_timed(gradient_function(solve), args)
            sensitivity, solution = jax.block_until_ready(compiled(args))
        else:
            compiled, compile_s = compile_timed(solve, args)
            sensitivity, solution = None, jax.block_until_ready(compiled(args))
        return {"integrator": integ, "problem": prob, "policy": policy, "args": args, "solve": solve,
                "compiled": compiled, "compile_s": compile_s, "solution": _checked(solution, what),
                "sensitivity": sensitivity}

    return memo(("case", integrator_name, problem_name, policy_name, gradient), build)


UNREFERENCED = {
    "e5": "its reference sensitivity (forward sensitivity equations by SciPy's Radau, atol 1e-32) did not "
          "finish within 4 minutes",
    "pollu": "its reference sensitivity (20 states x 25 parameters, dense Jacobian of the augmented system) "
             "did not finish within 10 minutes",
}
"""Problems whose reference sensitivity is too costly to compute in a benchmark's setup (measured on a 2-core
machine, November 2026); the others' take 3–17 s once, then load from ``stiffbench._reference``'s disk cache."""


def gradient_error(cell: dict[str, Any]) -> float:
    """The worst parameter's relative error (norm-wise over the observation times and components) of a
    gradient cell's sensitivity against the reference one: exact for an ``AbstractExactProblem``, otherwise
    the forward sensitivity equations solved by SciPy (``stiffbench._reference``), as ``stiffbench
    gradients`` does."""
    from stiffbench._gradients import _rel
    from stiffbench._reference import reference_sensitivity

    prob = cell["problem"]
    if prob.name in UNREFERENCED:
        raise NotImplementedError(f"{prob.name}: {UNREFERENCED[prob.name]}")
    _, reference, _ = reference_sensitivity(prob, prob.parameters)
    errors = [_rel(cell["sensitivity"][name], reference[name]) for name in reference]
    if None in errors:
        raise RuntimeError(f"{prob.name}: a sensitivity is not finite or its reference is zero: {errors}")
    return max(errors)


def stability_sweep(integ) -> tuple[Any, tuple, float]:
    """``(compiled, args, compile seconds)``: the vmapped one-step ``R, R'`` function on the default grid.

    The function ``stiffbench._stability.computed_stability`` compiles and times (from its helpers), so
    that asv can time just the call; computed_stability itself compiles on every call.
    """
    from stiffbench import _stability
    from stiffbench.theory import stability_function

    z = _stability.StabilityGrid().z()
    args = (jnp.asarray(z.real), jnp.asarray(z.imag))
    multistep = getattr(stiffbench, "AbstractMultistepIntegrator", ())
    if isinstance(integ, multistep):
        if integ.theory is None:
            raise NotImplementedError(f"{integ.name}: a multistep integrator is measured from its theory; it has none")
        root = stability_function(integ.theory).R(z)
        point = _stability._one_multistep(integ)
        args = (*args, jnp.asarray(root.real), jnp.asarray(root.imag))
    else:
        point = _stability._one_step(integ)
    compiled, seconds = compile_timed(jax.vmap(point), *args)
    return compiled, args, seconds


def stability_summary(integrator_name: str) -> dict[str, Any]:
    """``measure_stability(...)["summary"]`` on the default grid (that of ``stiffbench run``)."""
    from stiffbench._stability import StabilityGrid, measure_stability

    return memo(("stability", integrator_name),
                lambda: measure_stability(integrator(integrator_name), StabilityGrid())["summary"])
