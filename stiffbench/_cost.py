"""Side-by-side cost: the same adaptive solve through stiffbench integrators and through SciPy's solve_ivp.

SciPy needs no autodiff and no compilation, so it is the reference point that a JAX solve's compile time
must be weighed against: compile time and run time are reported apart, run times as ratios to SciPy's
Radau, all measured in one process, best of ``repeats`` runs after one warm-up.
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._integrator import AbstractIntegrator, AdaptiveStep, Status
from ._problem import AbstractProblem
from ._reference import reference_sensitivity

SCHEMA = "stiffbench.cost/1"
SCIPY_METHODS = ("Radau", "BDF")


def measure_cost(problem: AbstractProblem, integrators: list[AbstractIntegrator], policy: AdaptiveStep,
                 repeats: int = 3) -> dict[str, Any]:
    """One problem's solves through each integrator and each SciPy method, with their ratios to SciPy Radau."""
    params = dict(problem.parameters)
    ys_ref, _, source = reference_sensitivity(problem, params)
    rows = [_scipy(problem, params, method, policy, repeats, ys_ref) for method in SCIPY_METHODS]
    for integrator in integrators:
        try:
            rows.append(_stiffbench(problem, params, integrator, policy, repeats, ys_ref))
        except Exception as exc:  # noqa: BLE001 -- a failed solver is a row with its reason
            rows.append({"solver": integrator.name, "status": f"failed: {type(exc).__name__}: {exc}"})
    base = rows[0].get("run_s")
    for row in rows:
        row["run_ratio_to_scipy_radau"] = row["run_s"] / base if row.get("run_s") and base else None
    return {"problem": problem.name, "policy": {"rtol": policy.rtol, "atol": policy.atol},
            "reference_source": source, "rows": rows}


def _stiffbench(problem, params, integrator, policy, repeats, ys_ref) -> dict[str, Any]:
    p = {k: jnp.float64(v) for k, v in params.items()}
    y0 = jnp.asarray(problem.y0, dtype=jnp.float64)
    start = time.perf_counter()
    solve = jax.jit(lambda y0: integrator.solve(problem.vector_field, problem.t0, y0, problem.ts, p, policy))
    solve = solve.lower(y0).compile()
    compile_s = time.perf_counter() - start
    sol = jax.block_until_ready(solve(y0))
    run_s = _best(lambda: jax.block_until_ready(solve(y0)), repeats)
    return {"solver": integrator.name, "implementation": integrator.implementation,
            "status": Status(int(sol.status)).message, "compile_s": compile_s, "run_s": run_s,
            "steps": int(sol.num_steps), "rejected": int(sol.num_rejected),
            "max_rel_err": _rel_err(np.asarray(sol.ys), ys_ref)}


def _scipy(problem, params, method, policy, repeats, ys_ref) -> dict[str, Any]:
    from scipy.integrate import solve_ivp

    p = {k: jnp.float64(v) for k, v in params.items()}
    f = jax.jit(lambda t, y: problem.vector_field(t, y, p))
    jac = jax.jit(jax.jacfwd(lambda t, y: problem.vector_field(t, y, p), argnums=1))
    y0 = np.asarray(problem.y0, dtype=np.float64)
    start = time.perf_counter()
    f(problem.t0, y0).block_until_ready(), jac(problem.t0, y0).block_until_ready()
    compile_s = time.perf_counter() - start

    def run():
        return solve_ivp(lambda t, y: np.asarray(f(t, y)), (problem.t0, problem.ts[-1]), y0, method=method,
                         t_eval=np.asarray(problem.ts), rtol=policy.rtol, atol=policy.atol,
                         jac=lambda t, y: np.asarray(jac(t, y)))

    sol = run()
    run_s = _best(run, repeats)
    return {"solver": f"scipy-{method.lower()}", "implementation": f"scipy.integrate.solve_ivp(method={method!r}), "
            "right-hand side and Jacobian as compiled JAX functions", "status": "ok" if sol.success else sol.message,
            "compile_s": compile_s, "run_s": run_s, "steps": None, "nfev": int(sol.nfev),
            "njev": int(sol.njev), "nlu": int(sol.nlu),
            "max_rel_err": _rel_err(sol.y.T, ys_ref) if sol.success else None}


def _best(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _rel_err(ys, ys_ref) -> float | None:
    """Componentwise relative error at the observation times, worst case (components scaled separately)."""
    ys, ys_ref = np.asarray(ys), np.asarray(ys_ref)
    if ys.shape != ys_ref.shape or not np.all(np.isfinite(ys)):
        return None
    scale = np.maximum(np.abs(ys_ref), 1e-300)
    return float(np.max(np.abs(ys - ys_ref) / scale))
