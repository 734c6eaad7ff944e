"""Gradient magnitudes and fidelity: ``S_kj = ∂y(t_k)/∂ log θ_j`` through an integrator, against a reference.

One cell is problem × integrator × stiffness value × step policy (theory.md §6). The stiffness values of
one problem × integrator × policy are a single ``jax.vmap``-ed, compiled gradient: they differ only in a
parameter value. Compile time, forward time and gradient time are measured apart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._integrator import AbstractIntegrator, AbstractMultistepIntegrator, FixedStep, Status, StepPolicy
from ._problem import AbstractLinearProblem, AbstractProblem
from ._reference import reference_sensitivity
from .theory import LinearMultistep, stability_function

SCHEMA = "stiffbench.gradients/1"


def policy_record(policy: StepPolicy) -> dict[str, Any]:
    if isinstance(policy, FixedStep):
        return {"kind": "fixed", "h": policy.h}
    return {"kind": "adaptive", "rtol": policy.rtol, "atol": policy.atol, "max_steps": policy.max_steps}


def measure_gradients(
    integrator: AbstractIntegrator, problem: AbstractProblem, stiffness: Sequence[float], policy: StepPolicy
) -> list[dict[str, Any]]:
    """The cells of one problem × integrator × policy, one per stiffness value; failures are cells too."""
    for value in stiffness:
        problem.stiffness.check(value)
    names = list(problem.parameters)
    params = [dict(problem.parameters) | {problem.stiffness.parameter: float(v)} for v in stiffness]
    base = {"problem": problem.name, "integrator": integrator.name, "implementation": integrator.implementation,
            "policy": policy_record(policy), "stiffness_parameter": problem.stiffness.parameter,
            "ts": list(problem.ts)}
    try:
        computed = _computed(integrator, problem, names, params, policy)
    except Exception as exc:  # noqa: BLE001 -- a failed cell is recorded with its reason and the run goes on
        return [base | {"stiffness": float(v), "parameters": p, "status": f"failed: {type(exc).__name__}: {exc}",
                        "sensitivity": None, "reference": None, "reference_source": None, "theory": None,
                        "summary": None, "cost": None} for v, p in zip(stiffness, params, strict=True)]
    cells = []
    for k, (value, p) in enumerate(zip(stiffness, params, strict=True)):
        status = Status(int(computed["status"][k]))
        S = {name: computed["S"][k][..., j] for j, name in enumerate(names)}
        ys_ref, S_ref, source = reference_sensitivity(problem, p)
        theory = _theory_prediction(integrator, problem, p, policy)
        lam = _lambda_max(problem, p, computed["ys"][k])
        steps = int(computed["steps"][k])
        h = policy.h if isinstance(policy, FixedStep) else (problem.ts[-1] - problem.t0) / max(steps, 1)
        cells.append(base | {
            "stiffness": float(value),
            "parameters": p,
            "status": status.message,
            "ys": _list(computed["ys"][k]),
            "sensitivity": {n: _list(s) for n, s in S.items()},
            "reference": {n: _list(s) for n, s in S_ref.items()},
            "reference_source": source,
            "theory": None if theory is None else {n: _list(s) for n, s in theory.items()},
            "summary": {
                "parameters": {n: _compare(S[n], S_ref[n]) for n in names},
                "fast_parameters": list(problem.fast_parameters),
                "max_rel_err": _max(_rel(S[n], S_ref[n]) for n in names) if status == Status.OK else None,
                "max_rel_err_ys": _rel(computed["ys"][k], ys_ref) if status == Status.OK else None,
                "max_rel_err_theory": None if theory is None or status != Status.OK
                else _max(_rel(S[n], theory[n]) for n in names),
                "lambda_max": lam,
                "z_met": None if lam is None else lam * h,
                "z_met_is_estimate": not isinstance(policy, FixedStep),
            },
            "cost": computed["cost"] | {"steps": steps, "rejected": int(computed["rejected"][k])},
        })
    return cells


def gradient_record(cells: Iterable[dict], inputs: dict, environment: dict) -> dict[str, Any]:
    return {"schema": SCHEMA, "environment": environment, "inputs": inputs, "results": list(cells)}


def _computed(integrator, problem, names, params, policy) -> dict[str, Any]:
    y0 = jnp.asarray(problem.y0, dtype=jnp.float64)

    def solve(log_theta):
        p = dict(zip(names, jnp.exp(log_theta), strict=True))
        return integrator.solve(problem.vector_field, problem.t0, y0, problem.ts, p, policy)

    def gradient(log_theta):
        S, sol = jax.jacrev(lambda lt: (solve(lt).ys, solve(lt)), has_aux=True)(log_theta)
        return S, sol

    log_theta = jnp.log(jnp.asarray([[p[n] for n in names] for p in params], dtype=jnp.float64))
    cost, out = {}, {}
    for label, fn in (("forward", solve), ("gradient", gradient)):
        start = time.perf_counter()
        compiled = jax.jit(jax.vmap(fn)).lower(log_theta).compile()
        cost[f"compile_{label}_s"] = time.perf_counter() - start
        start = time.perf_counter()
        out[label] = jax.block_until_ready(compiled(log_theta))
        cost[f"{label}_s"] = time.perf_counter() - start
    S, sol = out["gradient"]
    return {"S": np.asarray(S), "ys": np.asarray(sol.ys), "status": np.asarray(sol.status),
            "steps": np.asarray(sol.num_steps), "rejected": np.asarray(sol.num_rejected), "cost": cost}


def _theory_prediction(integrator, problem, params, policy):
    """``y_n = R(hA)^n y0`` differentiated in log θ, for a linear problem, fixed steps and a one-step theory."""
    if not (isinstance(problem, AbstractLinearProblem) and isinstance(policy, FixedStep)
            and integrator.theory is not None and not isinstance(integrator, AbstractMultistepIntegrator)
            and not isinstance(integrator.theory, LinearMultistep)):
        return None
    sf = stability_function(integrator.theory)
    P, Q = (np.asarray(c, dtype=np.float64) for c in (sf.P, sf.Q))
    times = policy.times(problem.t0, problem.ts)
    save = np.searchsorted(times, np.asarray(problem.ts, dtype=np.float64))
    names = list(problem.parameters)

    def ys(log_theta):
        A = problem.matrix(dict(zip(names, jnp.exp(log_theta), strict=True)))
        y, out, k = jnp.asarray(problem.y0, dtype=jnp.float64), [], 0
        for stop in save:  # runs of equal steps between observations, as matrix powers of R(hA)
            for h, n in _runs(np.diff(times[k: stop + 1])):
                y = jnp.linalg.matrix_power(_rational(P, Q, h * A), n) @ y
            out.append(y)
            k = stop
        return jnp.stack(out)

    log_theta = jnp.log(jnp.asarray([params[n] for n in names], dtype=jnp.float64))
    S = np.asarray(jax.jacfwd(ys)(log_theta))
    return {n: S[..., j] for j, n in enumerate(names)}


def _rational(P, Q, M):
    eye = jnp.eye(M.shape[0])

    def poly(c):
        acc = c[-1] * eye
        for a in c[-2::-1]:
            acc = acc @ M + a * eye
        return acc

    return jnp.linalg.solve(poly(Q), poly(P))


def _runs(steps: np.ndarray):
    """Run-length encoding of the step sizes, so ``R(hA)^n`` is one matrix power per run."""
    runs: list[list] = []
    for h in steps:
        if runs and math.isclose(runs[-1][0], h, rel_tol=1e-12):
            runs[-1][1] += 1
        else:
            runs.append([float(h), 1])
    return runs


def _lambda_max(problem, params, ys) -> float | None:
    """Largest |eigenvalue| of ``∂f/∂y`` at the initial state and at the observed states."""
    if not np.all(np.isfinite(ys)):
        return None
    p = {k: jnp.float64(v) for k, v in params.items()}
    J = jax.jit(jax.vmap(jax.jacfwd(problem.vector_field, argnums=1), in_axes=(0, 0, None)))
    states = np.concatenate([np.asarray(problem.y0)[None], ys])
    times = np.concatenate([[problem.t0], problem.ts])
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(J(times, states, p))))))


def _compare(S, S_ref) -> dict[str, float | None]:
    norm, norm_ref = float(np.linalg.norm(S)), float(np.linalg.norm(S_ref))
    return {"norm": _finite(norm), "norm_reference": norm_ref,
            "ratio": _finite(norm / norm_ref) if norm_ref > 0 else None, "rel_err": _rel(S, S_ref)}


def _rel(a, b) -> float | None:
    scale = float(np.linalg.norm(b))
    return _finite(float(np.linalg.norm(np.asarray(a) - np.asarray(b))) / scale) if scale > 0 else None


def _max(values) -> float | None:
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _list(a) -> list | None:
    a = np.asarray(a, dtype=np.float64)
    return a.tolist() if np.all(np.isfinite(a)) else None
