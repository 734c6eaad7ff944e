"""Work–precision for gradients: one integrator, differentiated one way, on one problem, across a ladder of
tolerances or of fixed step counts (docs/theory.md §7).

The ``rtol`` ladder compiles one forward and one gradient program with the tolerances as traced arguments and
calls them once per rung (:func:`~stiffbench.measure.kernels.ladder_programs`); an integrator that cannot take
traced tolerances is compiled once per rung instead. A fixed step count changes the shape of the step loop, so the
``steps`` ladder compiles once per rung. Every rung is measured against the problem's reference, whose own error is
estimated by recomputing it at a 100× looser tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..contracts import (
    AbstractExactProblem,
    AbstractIntegrator,
    AbstractProblem,
    AdaptiveStep,
    Differentiation,
    FixedStep,
    Status,
    StepPolicy,
)
from ..records import CellKey, PrecisionInputs, PrecisionResult, PrecisionRung
from ..records.common import max_or_none
from . import kernels
from .gradients import relative_error
from .references import RTOL, Reference, reference_sensitivity

RUNG_BUDGET_S = 10.0
"""A ladder stops after a rung whose gradient took longer than this (tighter rungs cost more): the rest are
``skipped``. A backsolve adjoint that rebuilds a stiff state backwards can run into max_steps on every rung."""
REPEAT_BUDGET_S = 1.0
"""A run time is the best of ``repeats`` runs, but a program is not run again once its runs have taken this long."""
ATOL_FLOOR = 1e-3
"""With ``atol_ratio`` unset, ``atol = rtol · 1e-3 · (the smallest peak |y_i| over y0 and the reference states)``:
each component is controlled relative to its own size (Robertson's y2 peaks at 3.6e-5)."""


def measure_precision(integrator: AbstractIntegrator, problem: AbstractProblem, method: Differentiation,
                      inputs: PrecisionInputs, key: CellKey | None = None) -> PrecisionResult:
    """The work–precision record of one cell; a rung that fails is recorded with its status, the others go on."""
    key = key or CellKey("precision", (("problem", problem.name), ("integrator", integrator.name),
                                       ("differentiation", method.label), ("ladder", inputs.ladder)))
    integrator.differentiated_by(method)  # not applicable: raises before anything is computed
    names = list(problem.parameters)
    params = {n: float(inputs.parameters.get(n, v)) for n, v in problem.parameters.items()}
    log_theta = jnp.log(jnp.asarray([params[n] for n in names], dtype=jnp.float64))
    reference = reference_sensitivity(problem, params)
    atol_ratio = inputs.atol_ratio or _atol_ratio(problem, reference)
    span = problem.ts[-1] - problem.t0
    fast = [n for n in names if n in problem.fast_parameters]

    def rung(setting: float, policy: StepPolicy, forward: kernels.Program, gradient: kernels.Program,
             compile_s: float | None) -> PrecisionRung:
        forward_s = forward.best_of(inputs.repeats, REPEAT_BUDGET_S)[1]
        (S, solution), gradient_s = gradient.best_of(inputs.repeats, REPEAT_BUDGET_S)
        return _rung(setting, policy, np.asarray(S), solution, reference, names, fast, forward_s, gradient_s,
                     compile_s, gradient.memory_bytes)

    rungs: list[PrecisionRung] = []
    compile_forward_s, compile_gradient_s, traced_once = None, None, False
    max_steps = inputs.max_steps or AdaptiveStep.max_steps
    if inputs.ladder == "rtol":
        first = inputs.rungs[0]
        try:
            forward, gradient = kernels.ladder_programs(integrator, problem, method, log_theta, first,
                                                        atol_ratio * first, max_steps)
            traced_once = True
            compile_forward_s, compile_gradient_s = forward.compile_s, gradient.compile_s
        except (TypeError, jax.errors.ConcretizationTypeError):  # reads its tolerances as Python numbers
            traced_once = False
        for rtol in inputs.rungs:
            policy: StepPolicy = AdaptiveStep(rtol=rtol, atol=atol_ratio * rtol, max_steps=max_steps)
            if _over_budget(rungs):
                rungs.append(PrecisionRung(rtol, policy, Status.SKIPPED, _skipped(rungs)))
            elif traced_once:
                args = (log_theta, jnp.float64(rtol), jnp.float64(atol_ratio * rtol))
                rungs.append(rung(rtol, policy, forward.with_args(*args), gradient.with_args(*args), None))
            else:
                rungs.append(_compiled_rung(rung, integrator, problem, method, rtol, policy, log_theta))
    else:
        for n in inputs.rungs:
            policy = FixedStep(span / n)
            if _over_budget(rungs):
                rungs.append(PrecisionRung(n, policy, Status.SKIPPED, _skipped(rungs)))
            else:
                rungs.append(_compiled_rung(rung, integrator, problem, method, n, policy, log_theta))
    return PrecisionResult(
        key, inputs, Status.OK, Status.OK.message,
        implementation=integrator.differentiated_by(method).implementation,
        fast_parameters=tuple(problem.fast_parameters), atol_ratio=atol_ratio,
        reference_source=reference.source, reference_error=reference_error(problem, params, reference),
        traced_once=traced_once, compile_forward_s=compile_forward_s, compile_gradient_s=compile_gradient_s,
        rungs=tuple(rungs))


def _over_budget(rungs: Sequence[PrecisionRung]) -> bool:
    return any(r.gradient_s is not None and r.gradient_s > RUNG_BUDGET_S for r in rungs)


def _skipped(rungs: Sequence[PrecisionRung]) -> str:
    slow = next(r for r in rungs if r.gradient_s is not None and r.gradient_s > RUNG_BUDGET_S)
    return (f"not measured: the rung {slow.setting:g} already took {slow.gradient_s:.1f} s per gradient (budget "
            f"{RUNG_BUDGET_S:g} s), and a tighter one costs more")


def _compiled_rung(rung, integrator, problem, method, setting, policy, log_theta) -> PrecisionRung:
    """A rung with programs of its own; a policy the integrator cannot follow makes the whole cell not applicable
    (``NotImplementedError`` propagates), any other failure is this rung's."""
    try:
        parts = (integrator, problem, policy, method)
        forward = kernels.compile_program(kernels.forward(integrator.differentiated_by(method), problem, policy),
                                          log_theta, cache=("rung forward", *parts))
        gradient = kernels.compile_program(kernels.gradient(integrator, problem, policy, method=method), log_theta,
                                           cache=("rung gradient", *parts))
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 -- a rung that cannot be compiled is recorded, the ladder goes on
        return PrecisionRung(setting, policy, Status.ERROR, f"{type(exc).__name__}: {exc}")
    return rung(setting, policy, forward, gradient, forward.compile_s + gradient.compile_s)


def _rung(setting: float, policy: StepPolicy, S: np.ndarray, solution, reference: Reference, names: Sequence[str],
          fast: Sequence[str], forward_s: float, gradient_s: float, compile_s: float | None,
          memory_bytes: int | None) -> PrecisionRung:
    status, ys = Status(int(solution.status)), np.asarray(solution.ys)
    finite = bool(np.all(np.isfinite(S)))
    if status == Status.OK and not np.all(np.isfinite(ys)):
        status = Status.NONFINITE
    message = status.message
    if status == Status.OK and not finite:
        status, message = Status.NONFINITE, "the forward solve succeeded but the gradient is not finite"
    errors = {n: relative_error(S[..., j], reference.sensitivity[n]) for j, n in enumerate(names)}
    ok = status == Status.OK
    return PrecisionRung(
        setting, policy, status, message,
        error_ys=relative_error(ys, reference.ys) if ok else None,
        error_gradient=max_or_none(errors.values()) if ok else None,
        error_gradient_fast=max_or_none(errors[n] for n in fast) if ok and fast else None,
        error_by_parameter=errors if ok else None,
        gradient_finite=finite,
        forward_s=forward_s, gradient_s=gradient_s,
        steps=int(solution.num_steps), rejected=int(solution.num_rejected),
        compile_s=compile_s, memory_bytes=memory_bytes)


def _atol_ratio(problem: AbstractProblem, reference: Reference) -> float:
    peaks = np.max(np.abs(np.concatenate([np.asarray(problem.y0, dtype=np.float64)[None], reference.ys])), axis=0)
    peaks = peaks[peaks > 0]
    return ATOL_FLOOR * float(peaks.min()) if peaks.size else ATOL_FLOOR


def reference_error(problem: AbstractProblem, params: Mapping[str, float], reference: Reference) -> float | None:
    """An upper estimate of the reference's relative error: its distance to a reference computed at a 100× looser
    tolerance (None for an exact reference)."""
    if isinstance(problem, AbstractExactProblem):
        return None
    looser = reference_sensitivity(problem, params, rtol=100 * RTOL)
    return max_or_none(relative_error(looser.sensitivity[n], reference.sensitivity[n]) for n in problem.parameters)
