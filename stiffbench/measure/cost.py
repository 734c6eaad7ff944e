"""Side-by-side cost: the same adaptive solve through a stiffbench integrator or through SciPy's ``solve_ivp``.

SciPy needs no autodiff and no compilation, so it is the reference point that a JAX solve's compile time must be
weighed against: compile time and run time are measured apart, run time as the best of ``repeats`` runs after
one warm-up. SciPy's right-hand side and Jacobian are compiled JAX functions. Each solver is a cell; ratios to
SciPy's Radau are formed where the records are presented.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from ..contracts import AbstractIntegrator, AbstractProblem, Status
from ..records import CellKey, CostInputs, CostResult
from ..records.common import finite_or_none
from . import kernels
from .references import reference_sensitivity

SCIPY_METHODS = ("Radau", "BDF")
SCIPY_SOLVERS = tuple(f"scipy-{m.lower()}" for m in SCIPY_METHODS)


def measure_cost(problem: AbstractProblem, solver: AbstractIntegrator | str, inputs: CostInputs,
                 key: CellKey | None = None) -> CostResult:
    """One problem solved by ``solver`` (an integrator, or one of :data:`SCIPY_SOLVERS`) at ``inputs.policy``."""
    name = solver if isinstance(solver, str) else solver.name
    key = key or CellKey("cost", (("problem", problem.name), ("solver", name)))
    reference = reference_sensitivity(problem, dict(problem.parameters))
    if isinstance(solver, str):
        return _scipy(problem, SCIPY_METHODS[SCIPY_SOLVERS.index(solver)], inputs, key, reference.ys,
                      reference.source)
    program = kernels.compile_program(jax.vmap(kernels.forward(solver, problem, inputs.policy)),
                                      kernels.log_parameters(problem),
                                      cache=("forward", solver, problem, inputs.policy))
    sol = program()
    _, run_s = program.best_of(inputs.repeats)
    status = Status(int(np.asarray(sol.status)[0]))
    return CostResult(key, inputs, status, status.message, implementation=solver.implementation,
                      compile_s=program.compile_s, run_s=run_s, steps=int(np.asarray(sol.num_steps)[0]),
                      rejected=int(np.asarray(sol.num_rejected)[0]),
                      max_rel_err=_rel_err(np.asarray(sol.ys)[0], reference.ys), reference_source=reference.source)


def _scipy(problem: AbstractProblem, method: str, inputs: CostInputs, key: CellKey, ys_ref: np.ndarray,
           source: str) -> CostResult:
    from scipy.integrate import solve_ivp

    p = kernels.parameters(problem)
    f = jax.jit(lambda t, y: problem.vector_field(t, y, p))
    jac = jax.jit(jax.jacfwd(lambda t, y: problem.vector_field(t, y, p), argnums=1))
    y0 = np.asarray(problem.y0, dtype=np.float64)
    start = time.perf_counter()
    f(problem.t0, y0).block_until_ready(), jac(problem.t0, y0).block_until_ready()
    compile_s = time.perf_counter() - start
    policy = inputs.policy

    def run():
        return solve_ivp(lambda t, y: np.asarray(f(t, y)), (problem.t0, problem.ts[-1]), y0, method=method,
                         t_eval=np.asarray(problem.ts), rtol=policy.rtol, atol=policy.atol,
                         jac=lambda t, y: np.asarray(jac(t, y)))

    sol = run()
    run_s = min(_time(run) for _ in range(inputs.repeats))
    status, message = (Status.OK, Status.OK.message) if sol.success else (Status.SOLVER_FAILED, str(sol.message))
    return CostResult(key, inputs, status, message,
                      implementation=f"scipy.integrate.solve_ivp(method={method!r}), right-hand side and Jacobian "
                      "as compiled JAX functions", compile_s=compile_s, run_s=run_s, nfev=int(sol.nfev),
                      njev=int(sol.njev), nlu=int(sol.nlu),
                      max_rel_err=_rel_err(sol.y.T, ys_ref) if sol.success else None, reference_source=source)


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _rel_err(ys: np.ndarray, ys_ref: np.ndarray) -> float | None:
    """Componentwise relative error at the observation times, worst case (components scaled separately)."""
    ys, ys_ref = np.asarray(ys), np.asarray(ys_ref)
    if ys.shape != ys_ref.shape or not np.all(np.isfinite(ys)):
        return None
    scale = np.maximum(np.abs(ys_ref), 1e-300)
    return finite_or_none(float(np.max(np.abs(ys - ys_ref) / scale)))
