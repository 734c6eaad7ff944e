"""Side-by-side cost: the same adaptive solve through a stiffbench integrator or through SciPy's ``solve_ivp``.

SciPy needs no autodiff and no compilation, so it is the reference point that a JAX solve's compile time must be
weighed against: compile time and run time are measured apart, run time as the best of ``repeats`` runs after
one warm-up. SciPy's right-hand side (and a dense problem's Jacobian) are compiled JAX functions; a problem with a
banded Jacobian gives SciPy its sparsity instead. Each solver is a cell; ratios to SciPy's Radau are formed where
the records are presented. A stiffbench integrator's cell also times the gradient of a scalar of the solution (one
reverse pass) and records the compiled memory of both programs, so that a scan over sizes shows how each grows.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from ..contracts import AbstractIntegrator, AbstractProblem, Status
from ..engines import linalg
from ..records import CellKey, CostInputs, CostResult
from ..records.common import finite_or_none
from . import kernels
from .references import reference_states, scipy_solver

SCIPY_METHODS = ("Radau", "BDF")
SCIPY_SOLVERS = tuple(f"scipy-{m.lower()}" for m in SCIPY_METHODS)


def measure_cost(problem: AbstractProblem, solver: AbstractIntegrator | str, inputs: CostInputs,
                 key: CellKey | None = None, scan: str | None = None) -> CostResult:
    """One problem solved by ``solver`` (an integrator, or one of :data:`SCIPY_SOLVERS`) at ``inputs.policy``;
    ``scan``: the problem a size scan resized to get ``problem``."""
    name = solver if isinstance(solver, str) else solver.name
    key = key or CellKey("cost", (("problem", problem.name), ("solver", name)))
    ys_ref, source = reference_states(problem)
    if isinstance(solver, str):
        return _scipy(problem, SCIPY_METHODS[SCIPY_SOLVERS.index(solver)], inputs, key, ys_ref, source, scan)
    log_theta = kernels.log_parameters(problem)
    program = kernels.compile_program(jax.vmap(kernels.forward(solver, problem, inputs.policy)), log_theta,
                                      cache=("forward", solver, problem, inputs.policy))
    sol = program()
    _, run_s = program.best_of(inputs.repeats)
    status = Status(int(np.asarray(sol.status)[0]))
    gradient = kernels.compile_program(jax.vmap(kernels.loss_gradient(solver, problem, inputs.policy)), log_theta,
                                       cache=("loss gradient", solver, problem, inputs.policy))
    _, gradient_s = gradient.best_of(inputs.repeats)
    native = solver.implementation.startswith("stiffbench native")
    algebra = linalg.Structure.of(len(problem.y0), problem.jacobian_structure).describe if native else None
    return CostResult(key, inputs, status, status.message, implementation=solver.implementation,
                      compile_s=program.compile_s, run_s=run_s, steps=int(np.asarray(sol.num_steps)[0]),
                      rejected=int(np.asarray(sol.num_rejected)[0]),
                      max_rel_err=_rel_err(np.asarray(sol.ys)[0], ys_ref), reference_source=source,
                      linear_algebra=algebra,
                      memory_bytes=program.memory_bytes, compile_gradient_s=gradient.compile_s,
                      gradient_s=gradient_s, gradient_memory_bytes=gradient.memory_bytes, states=len(problem.y0),
                      scan=scan)


def _scipy(problem: AbstractProblem, method: str, inputs: CostInputs, key: CellKey, ys_ref: np.ndarray,
           source: str, scan: str | None) -> CostResult:
    policy = inputs.policy
    solve, how = scipy_solver(problem, method, policy.rtol, policy.atol)
    start = time.perf_counter()
    sol = solve()  # the first run compiles the JAX functions
    compile_s = time.perf_counter() - start
    run_s = min(_time(solve) for _ in range(inputs.repeats))
    status, message = (Status.OK, Status.OK.message) if sol.success else (Status.SOLVER_FAILED, str(sol.message))
    return CostResult(key, inputs, status, message,
                      implementation=f"scipy.integrate.solve_ivp(method={method!r}), right-hand side as a compiled "
                      f"JAX function; {how}", compile_s=compile_s, run_s=run_s, nfev=int(sol.nfev),
                      njev=int(sol.njev), nlu=int(sol.nlu),
                      max_rel_err=_rel_err(sol.y.T, ys_ref) if sol.success else None, reference_source=source,
                      linear_algebra=how, states=len(problem.y0), scan=scan)


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
