"""Reference sensitivities ``∂y(t_k)/∂ log θ_j``: exact where the problem has a closed form, otherwise the
forward sensitivity equations ``Ṡ_j = f_y S_j + θ_j ∂f/∂θ_j`` (theory.md §6) solved to tight tolerance by
SciPy's Radau — an implementation independent of every integrator under test — and cached on disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from . import _records
from ._problem import AbstractExactProblem, AbstractProblem
from ._records import write_json

CACHE_DIR = _records.CACHE_DIR / "references"
RTOL = 1e-11
"""Radau's relative tolerance for the reference; the absolute floor is the problem's ``reference_atol``
(1e-16 by default: far below Robertson's y2 ~ 1e-5; E5 and Pollu observe smaller components)."""


def reference_sensitivity(problem: AbstractProblem, params: Mapping[str, float]):
    """``(ys, {name: S}, source)`` at ``problem.ts`` for ``params``; S has the shape of ys."""
    names = list(problem.parameters)
    if isinstance(problem, AbstractExactProblem):
        ts = jnp.asarray(problem.ts)
        p = {k: jnp.float64(v) for k, v in params.items()}
        S = problem.sensitivity(ts, p)
        return (np.asarray(problem.solution(ts, p)), {k: np.asarray(S[k]) for k in names},
                "exact: closed form of the problem")
    atol = problem.reference_atol
    method = f"forward sensitivity equations, scipy.integrate.solve_ivp Radau, rtol={RTOL:g}, atol={atol:g}"
    key = json.dumps([problem.name, sorted(params.items()), problem.t0, list(problem.y0), list(problem.ts),
                      RTOL, atol], sort_keys=True)
    path = CACHE_DIR / f"{problem.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        return np.asarray(cached["ys"]), {k: np.asarray(v) for k, v in cached["S"].items()}, cached["source"]
    ys, S = _forward_sensitivity(problem, params, names)
    write_json(path, {"key": key, "ys": ys.tolist(), "S": {k: v.tolist() for k, v in S.items()},
                      "source": method})
    return ys, S, method


def _forward_sensitivity(problem: AbstractProblem, params: Mapping[str, float], names: list[str]):
    from scipy.integrate import solve_ivp

    d, p = len(problem.y0), len(names)
    log_theta = jnp.log(jnp.asarray([params[k] for k in names], dtype=jnp.float64))

    def f(t, y, log_theta):
        return problem.vector_field(t, y, dict(zip(names, jnp.exp(log_theta), strict=True)))

    @jax.jit
    def rhs(t, u):
        y, S = u[:d], u[d:].reshape(d, p)
        f_y = jax.jacfwd(f, argnums=1)(t, y, log_theta)
        f_theta = jax.jacfwd(f, argnums=2)(t, y, log_theta)  # already ∂f/∂log θ_j = θ_j ∂f/∂θ_j
        return jnp.concatenate([f(t, y, log_theta), (f_y @ S + f_theta).reshape(-1)])

    jac = jax.jit(jax.jacfwd(rhs, argnums=1))
    u0 = np.concatenate([np.asarray(problem.y0, dtype=np.float64), np.zeros(d * p)])
    sol = solve_ivp(lambda t, u: np.asarray(rhs(t, u)), (problem.t0, problem.ts[-1]), u0, method="Radau",
                    t_eval=np.asarray(problem.ts), rtol=RTOL, atol=problem.reference_atol,
                    jac=lambda t, u: np.asarray(jac(t, u)))
    if not sol.success:
        raise RuntimeError(f"reference solve for {problem.name} failed: {sol.message}")
    u = sol.y.T
    S = u[:, d:].reshape(len(problem.ts), d, p)
    return u[:, :d], {k: S[:, :, j] for j, k in enumerate(names)}
