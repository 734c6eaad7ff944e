"""Reference sensitivities ``∂y(t_k)/∂ log θ_j``: exact where the problem has a closed form, otherwise the forward
sensitivity equations ``Ṡ_j = f_y S_j + θ_j ∂f/∂θ_j`` (docs/theory.md §6) solved to tight tolerance by SciPy's
Radau — an implementation independent of every integrator under test — and cached on disk.

The cache key covers everything the values depend on: the problem's definition (its fields, arrays by their bytes,
and the source code behind its class: :func:`~.fingerprint.describe`), the parameters, the tolerances and SciPy's
version. A corrupt or mismatched entry is a miss and is rewritten; deleting the cache loses nothing but time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import runtime
from ..contracts import AbstractExactProblem, AbstractProblem
from ..records import write_json
from . import kernels
from .fingerprint import Unkeyable, describe

RTOL = 1e-11
"""Radau's relative tolerance for the reference; the absolute floor is the problem's ``reference_atol``
(1e-16 by default: far below Robertson's y2 ~ 1e-5; E5 and Pollu observe smaller components)."""
VERSION = 1
"""Bumped when the way references are computed changes, so that old cache entries miss."""


@dataclasses.dataclass(frozen=True)
class Reference:
    ys: np.ndarray
    sensitivity: dict[str, np.ndarray]
    """Per parameter name, shaped like ``ys``."""
    source: str


def reference_sensitivity(problem: AbstractProblem, params: Mapping[str, float], rtol: float = RTOL) -> Reference:
    """The reference states and sensitivities at ``problem.ts`` for ``params`` (Radau at ``rtol``, unless exact)."""
    names = list(problem.parameters)
    if isinstance(problem, AbstractExactProblem):
        return exact_references(problem, [params])[0]
    import scipy

    atol = problem.reference_atol
    source = (f"forward sensitivity equations, scipy {scipy.__version__} solve_ivp Radau, rtol={rtol:g}, "
              f"atol={atol:g}")
    entry = _cache_entry(problem, {"params": sorted((k, float(v)) for k, v in params.items()), "rtol": rtol,
                                   "atol": atol})
    if entry is None:  # a problem that cannot be described for certain is solved every time
        return Reference(*forward_sensitivity(problem, params, names, rtol), source)
    key, path = entry
    cached = _load(path, key, names, len(problem.ts), len(problem.y0))
    if cached is not None:
        return cached
    ys, S = forward_sensitivity(problem, params, names, rtol)
    write_json(path, {"key": key, "ys": ys.tolist(), "S": {k: v.tolist() for k, v in S.items()}, "source": source})
    return Reference(ys, S, source)


def reference_states(problem: AbstractProblem, rtol: float = RTOL) -> tuple[np.ndarray, str]:
    """The states at ``problem.ts`` for the default parameters and where they come from: the closed form, or SciPy's
    Radau on the states alone at ``rtol`` (given the Jacobian's sparsity where the problem declares a band), cached
    like the sensitivities. What a comparison of forward solves needs, at any size: the sensitivity equations of
    :func:`forward_sensitivity` have ``n·(1 + p)`` states and a Jacobian that holds ``∂²f/∂y²``."""
    if isinstance(problem, AbstractExactProblem):
        reference = exact_references(problem, [dict(problem.parameters)])[0]
        return reference.ys, reference.source
    import scipy

    atol = problem.reference_atol
    entry = _cache_entry(problem, {"states only": True, "rtol": rtol, "atol": atol}, "-states")
    cached = None if entry is None else _load(entry[1], entry[0], [], len(problem.ts), len(problem.y0))
    if cached is not None:
        return cached.ys, cached.source
    solve, how = scipy_solver(problem, "Radau", rtol, atol)
    sol = solve()
    if not sol.success:
        raise RuntimeError(f"reference solve for {problem.name} failed: {sol.message}")
    source = f"scipy {scipy.__version__} solve_ivp Radau on the states, rtol={rtol:g}, atol={atol:g}, {how}"
    if entry is not None:
        write_json(entry[1], {"key": entry[0], "ys": sol.y.T.tolist(), "S": {}, "source": source})
    return sol.y.T, source


def _cache_entry(problem: AbstractProblem, what: Mapping[str, Any], tag: str = "") -> tuple[str, Path] | None:
    """The cache key of a reference of ``problem`` (its definition, ``what`` was computed, SciPy's version) and its
    file; ``None`` for a problem that cannot be described for certain."""
    import scipy

    try:
        definition = describe(problem)
    except Unkeyable:
        return None
    key = json.dumps({"problem": definition, **what, "scipy": scipy.__version__, "version": VERSION}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return key, runtime.cache_dir() / "references" / f"{problem.name}{tag}-{digest}.json"


def scipy_solver(problem: AbstractProblem, method: str, rtol: float, atol: float) -> tuple[Callable[[], Any], str]:
    """``solve()``: ``solve_ivp`` of the problem at its default parameters, observed at ``problem.ts`` (its JAX
    functions compiled by the first call, reused by the next), and how its Jacobian is given: for a declared band,
    exact and sparse (from ``lower + upper + 1`` Jacobian–vector products, one per colour of columns that share no
    row), which SciPy factors with a sparse LU; otherwise dense, by ``jax.jacfwd``."""
    from scipy.integrate import solve_ivp

    p = kernels.parameters(problem)
    f = jax.jit(lambda t, y: problem.vector_field(t, y, p))
    band = problem.jacobian_structure
    options: dict[str, Any]
    if band is None:
        jac = jax.jit(jax.jacfwd(lambda t, y: problem.vector_field(t, y, p), argnums=1))
        options, how = {"jac": lambda t, y: np.asarray(jac(t, y))}, "dense Jacobian by jax.jacfwd"
    else:
        import scipy.sparse

        n, width = len(problem.y0), band.lower + band.upper + 1
        offsets = np.arange(-band.lower, band.upper + 1)
        seeds = jnp.asarray(np.arange(n)[None, :] % width == np.arange(width)[:, None], dtype=jnp.float64)
        rows = np.arange(n)

        @jax.jit
        def diagonals(t, y):
            outs = jax.vmap(lambda v: jax.jvp(lambda u: problem.vector_field(t, u, p), (y,), (v,))[1])(seeds)
            return outs[(rows[None, :] + offsets[:, None]) % width, rows[None, :]]  # [k, i] = J[i, i + offset_k]

        def sparse_jacobian(t, y):
            d = np.asarray(diagonals(t, y))
            return scipy.sparse.diags([d[k, max(0, -o):n - max(0, o)] for k, o in enumerate(offsets)], offsets,
                                      shape=(n, n), format="csc")

        options, how = {"jac": sparse_jacobian}, f"sparse Jacobian (band {band.lower}, {band.upper}) from JAX"
    y0 = np.asarray(problem.y0, dtype=np.float64)

    def solve() -> Any:
        return solve_ivp(lambda t, y: np.asarray(f(t, y)), (problem.t0, problem.ts[-1]), y0, method=method,
                         t_eval=np.asarray(problem.ts), rtol=rtol, atol=atol, **options)

    return solve, how


def reference_sensitivities(problem: AbstractProblem, rows: Sequence[Mapping[str, float]],
                            rtol: float = RTOL) -> list[Reference]:
    """:func:`reference_sensitivity` at each row of parameters (a closed form: one compiled program for all)."""
    if isinstance(problem, AbstractExactProblem):
        return exact_references(problem, rows)
    return [reference_sensitivity(problem, row, rtol) for row in rows]


def exact_references(problem: AbstractExactProblem, rows: Sequence[Mapping[str, float]]) -> list[Reference]:
    """The closed form at each row of parameters, vmapped and compiled once (op by op, after a cell has cleared
    JAX's caches, it took a second per cell)."""
    names = list(rows[0])
    ts = jnp.asarray(problem.ts, dtype=jnp.float64)

    def closed_form(values):
        p = dict(zip(names, values, strict=True))
        return problem.solution(ts, p), problem.sensitivity(ts, p)

    values = jnp.asarray([[float(row[n]) for n in names] for row in rows], dtype=jnp.float64)
    ys, S = kernels.compile_program(jax.vmap(closed_form), values, cache=("exact", problem, tuple(names)))()
    return [Reference(np.asarray(ys[k]), {n: np.asarray(S[n][k]) for n in problem.parameters},
                      "exact: closed form of the problem") for k in range(len(rows))]


def _load(path, key: str, names: list[str], n_times: int, dim: int) -> Reference | None:
    """A cached reference, or None (missing, unreadable, of another key or shape: recomputed and rewritten)."""
    try:
        cached = json.loads(path.read_text())
        if cached["key"] != key:
            return None
        ys = np.asarray(cached["ys"], dtype=np.float64)
        S = {k: np.asarray(cached["S"][k], dtype=np.float64) for k in names}
        if ys.shape != (n_times, dim) or any(s.shape != ys.shape for s in S.values()) or not isinstance(
                cached["source"], str):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Reference(ys, S, cached["source"])


def forward_sensitivity(problem: AbstractProblem, params: Mapping[str, float], names: list[str],
                        rtol: float = RTOL) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(ys, {name: S})`` from the forward sensitivity equations solved by SciPy's Radau at ``rtol``."""
    from scipy.integrate import solve_ivp

    d, p = len(problem.y0), len(names)
    log_theta = jnp.log(jnp.asarray([params[k] for k in names], dtype=jnp.float64))

    def f(t, y, log_theta):
        return problem.vector_field(t, y, kernels.parameters(problem, log_theta, names))

    @jax.jit
    def rhs(t, u):
        y, S = u[:d], u[d:].reshape(d, p)
        f_y = jax.jacfwd(f, argnums=1)(t, y, log_theta)
        f_theta = jax.jacfwd(f, argnums=2)(t, y, log_theta)  # already ∂f/∂log θ_j = θ_j ∂f/∂θ_j
        return jnp.concatenate([f(t, y, log_theta), (f_y @ S + f_theta).reshape(-1)])

    jac = jax.jit(jax.jacfwd(rhs, argnums=1))
    u0 = np.concatenate([np.asarray(problem.y0, dtype=np.float64), np.zeros(d * p)])
    sol = solve_ivp(lambda t, u: np.asarray(rhs(t, u)), (problem.t0, problem.ts[-1]), u0, method="Radau",
                    t_eval=np.asarray(problem.ts), rtol=rtol, atol=problem.reference_atol,
                    jac=lambda t, u: np.asarray(jac(t, u)))
    if not sol.success:
        raise RuntimeError(f"reference solve for {problem.name} failed: {sol.message}")
    u = sol.y.T
    S = u[:, d:].reshape(len(problem.ts), d, p)
    return u[:, :d], {k: S[:, :, j] for j, k in enumerate(names)}
