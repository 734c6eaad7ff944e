"""Gradient magnitudes and fidelity: ``S_kj = ∂y(t_k)/∂ log θ_j`` through an integrator, against a reference.

A cell is problem × integrator × step policy; its stiffness values are one ``vmap``-ed, compiled forward solve
and one gradient (:func:`~stiffbench.measure.kernels.gradient_programs`), with compile, forward and gradient
times measured apart and stored once; the theory's prediction, an exact reference and the Jacobian of the
stiffness met are one compiled program each too (nothing is evaluated op by op). Each stiffness value is a row:
the sensitivities, the reference (exact or the forward sensitivity equations, :mod:`.references`), for linear
problems with fixed steps the exact prediction ``R(hA)^n y0`` of the theory, and the stiffness met ``|hλ_max|``
(docs/theory.md §6).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..contracts import (
    AbstractIntegrator,
    AbstractLinearProblem,
    AbstractMultistepIntegrator,
    AbstractProblem,
    FixedStep,
    Status,
    StepPolicy,
)
from ..records import CellKey, Fidelity, GradientCost, GradientInputs, GradientResult, GradientRow
from ..records.common import finite_or_none, matrix, max_or_none
from ..theory import LinearMultistep, StabilityFunction, stability_function
from . import kernels
from .references import reference_sensitivities


def gradient_inputs(problem: AbstractProblem, policy: StepPolicy, stiffness: Sequence[float]) -> GradientInputs:
    return GradientInputs(policy, problem.stiffness.parameter, tuple(float(v) for v in stiffness))


def measure_gradients(integrator: AbstractIntegrator, problem: AbstractProblem, policy: StepPolicy,
                      stiffness: Sequence[float], key: CellKey | None = None) -> GradientResult:
    """The gradient record of one cell; a value that fails is a row with its status, the others go on."""
    inputs = gradient_inputs(problem, policy, stiffness)
    for value in inputs.stiffness:
        problem.stiffness.check(value)
    key = key or CellKey("gradients", (("problem", problem.name), ("integrator", integrator.name),
                                       ("policy", policy.label)))
    names = list(problem.parameters)
    log_theta = kernels.log_parameters(problem, inputs.stiffness)
    forward, gradient = kernels.gradient_programs(integrator, problem, policy, log_theta)
    solution = forward()
    forward_s = _timed(forward)
    S_all, sol = gradient()
    gradient_s = _timed(gradient)
    S_all, ys_all = np.asarray(S_all), np.asarray(sol.ys)
    steps, rejected, codes = (np.asarray(x) for x in (sol.num_steps, sol.num_rejected, sol.status))
    del solution  # compiled and run for its time; the gradient's primal gives the states
    lambdas = _lambda_max(problem, np.asarray(log_theta), ys_all)
    params = [dict(problem.parameters) | {problem.stiffness.parameter: v} for v in inputs.stiffness]
    references = reference_sensitivities(problem, params)
    theories = theory_predictions(integrator, problem, params, policy)
    rows = []
    for k, (p, reference) in enumerate(zip(params, references, strict=True)):
        status = Status(int(codes[k]))
        ys, S = ys_all[k], {name: S_all[k][..., j] for j, name in enumerate(names)}
        if status == Status.OK and not (np.all(np.isfinite(ys)) and np.all(np.isfinite(S_all[k]))):
            status = Status.NONFINITE  # a solve that claims success but returns NaN has not succeeded
        theory = None if theories is None else theories[k]
        h = policy.h if isinstance(policy, FixedStep) else (problem.ts[-1] - problem.t0) / max(int(steps[k]), 1)
        ok, lam = status == Status.OK, lambdas[k]
        rows.append(GradientRow(
            stiffness=inputs.stiffness[k],
            parameters=p,
            status=status,
            message=status.message,
            ys=matrix(ys),
            sensitivity=_matrices(S),
            reference=_matrices(reference.sensitivity),
            theory=None if theory is None else _matrices(theory),
            fidelity={n: _fidelity(S[n], reference.sensitivity[n]) for n in names},
            max_rel_err=max_or_none(relative_error(S[n], reference.sensitivity[n]) for n in names) if ok else None,
            max_rel_err_ys=relative_error(ys, reference.ys) if ok else None,
            max_rel_err_theory=None if theory is None or not ok
            else max_or_none(relative_error(S[n], theory[n]) for n in names),
            lambda_max=lam,
            z_met=None if lam is None else lam * h,
            steps=int(steps[k]),
            rejected=int(rejected[k]),
        ))
    return GradientResult(
        key, inputs, Status.OK, Status.OK.message, implementation=integrator.implementation, ts=tuple(problem.ts),
        fast_parameters=tuple(problem.fast_parameters),
        reference_source=references[0].source,
        z_met_is_estimate=not isinstance(policy, FixedStep),
        cost=GradientCost(forward.compile_s, gradient.compile_s, forward_s, gradient_s),
        rows=tuple(rows),
    )


def theory_predictions(integrator: AbstractIntegrator, problem: AbstractProblem,
                       rows: Sequence[Mapping[str, float]], policy: StepPolicy) -> list[dict[str, np.ndarray]] | None:
    """``y_n = R(hA)^n y0`` differentiated in log θ at each row of parameters, for a linear problem, fixed steps
    and a one-step theory (None otherwise); one compiled program for all rows."""
    if not (isinstance(problem, AbstractLinearProblem) and isinstance(policy, FixedStep)
            and integrator.theory is not None and not isinstance(integrator, AbstractMultistepIntegrator)
            and not isinstance(integrator.theory, LinearMultistep)):
        return None
    sf = stability_function(integrator.theory)
    assert isinstance(sf, StabilityFunction)
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

    log_theta = jnp.log(jnp.asarray([[row[n] for n in names] for row in rows], dtype=jnp.float64))
    program = kernels.compile_program(jax.vmap(jax.jacfwd(ys)), log_theta, cache=("theory", P, Q, problem, policy))
    S = np.asarray(program())
    return [{n: S[k][..., j] for j, n in enumerate(names)} for k in range(len(rows))]


def _rational(P: np.ndarray, Q: np.ndarray, M: jax.Array) -> jax.Array:
    eye = jnp.eye(M.shape[0])

    def poly(c):
        acc = c[-1] * eye
        for a in c[-2::-1]:
            acc = acc @ M + a * eye
        return acc

    return jnp.linalg.solve(poly(Q), poly(P))


def _runs(steps: np.ndarray) -> list[tuple[float, int]]:
    """Run-length encoding of the step sizes, so ``R(hA)^n`` is one matrix power per run."""
    runs: list[list] = []
    for h in steps:
        if runs and math.isclose(runs[-1][0], h, rel_tol=1e-12):
            runs[-1][1] += 1
        else:
            runs.append([float(h), 1])
    return [(h, n) for h, n in runs]


def _lambda_max(problem: AbstractProblem, log_theta: np.ndarray, ys: np.ndarray) -> list[float | None]:
    """Per stiffness value, the largest ``|eigenvalue|`` of ``∂f/∂y`` at the initial and the observed states:
    one compiled Jacobian for the whole cell."""
    n, m = ys.shape[0], ys.shape[1] + 1
    states = np.concatenate([np.broadcast_to(np.asarray(problem.y0, dtype=np.float64), (n, 1, ys.shape[2])), ys],
                            axis=1)
    finite = np.all(np.isfinite(states.reshape(n, -1)), axis=1)
    states = np.where(finite[:, None, None], states, 0.0)
    times = np.tile(np.concatenate([[problem.t0], problem.ts]), n)
    J = np.asarray(kernels.jacobian_program(problem, times, states.reshape(n * m, -1),
                                            np.repeat(log_theta, m, axis=0))())
    radius = np.abs(np.linalg.eigvals(J)).max(axis=-1).reshape(n, m).max(axis=1)
    return [finite_or_none(r) if ok else None for r, ok in zip(radius, finite, strict=True)]


def _fidelity(S: np.ndarray, S_ref: np.ndarray) -> Fidelity:
    norm, norm_ref = float(np.linalg.norm(S)), float(np.linalg.norm(S_ref))
    return Fidelity(finite_or_none(norm), finite_or_none(norm_ref),
                    finite_or_none(norm / norm_ref) if norm_ref > 0 else None, relative_error(S, S_ref))


def relative_error(a: np.ndarray, b: np.ndarray) -> float | None:
    """``‖a − b‖/‖b‖`` (Frobenius, scaled so that entries up to 1e308 do not overflow the norm); None where ``b``
    is zero or the result is not finite."""
    scale = _norm(np.asarray(b, dtype=np.float64))
    return finite_or_none(_norm(np.asarray(a) - np.asarray(b)) / scale) if scale > 0 else None


def _norm(x: np.ndarray) -> float:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return peak * float(np.linalg.norm(x / peak)) if 0 < peak < np.inf else peak


def _matrices(S: Mapping[str, np.ndarray]) -> dict[str, tuple[tuple[float, ...], ...]] | None:
    """Per parameter, as a record stores it; None if any is not finite."""
    out = {}
    for name, s in S.items():
        m = matrix(s)
        if m is None:
            return None
        out[name] = m
    return out


def _timed(program: kernels.Program) -> float:
    """One run's time: the forward and gradient times of a cell are single runs (asv times them properly)."""
    return program.best_of(1)[1]
