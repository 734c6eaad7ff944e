"""Training through an integrator: fit parameters to observations of the reference solution and record what the
optimizer saw at each iteration (docs/theory.md §8).

The observations are the reference states at the true parameters (exact, or SciPy's tight Radau), optionally with
seeded relative noise; the start perturbs the true values with the same seed. The loss is the mean squared relative
misfit, each observation scaled by ``max(|d|, 10⁻³ · peak |d_i|)`` so that a component that has decayed to nothing
is matched to that floor rather than to its last digits. Rates are fitted in ``log θ``, weight arrays as they are.

The whole fit is one compiled program (:func:`training_program`): ``lax.scan`` over the iterations of one optax
update, so nothing is traced per iteration. A fit whose loss is at rounding level stops updating
(:data:`CONVERGED_LOSS`). An iteration whose solve fails (a status, or a non-finite loss or
gradient) does not update the parameters, and neither does any later one: the fit keeps what it had, and the
record says at which iteration and why it stopped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..contracts import (
    AbstractExactProblem,
    AbstractIntegrator,
    AbstractProblem,
    Differentiation,
    FixedStep,
    Status,
    StepPolicy,
)
from ..records import CellKey, TrainingHistory, TrainingInputs, TrainingResult
from ..records.common import finite_or_none
from . import kernels
from .references import reference_sensitivity

SCALE_FLOOR = 1e-3
"""An observation's scale is at least this fraction of its component's peak (over ``y0`` and the observations)."""

CONVERGED_LOSS = 1e-28
"""A fit stops updating once its loss is below this (misfits of 10⁻¹⁴: rounding). L-BFGS, left to iterate at
rounding level, divides by vanishing curvature pairs and can jump far from the optimum it had found."""

Theta = dict[str, jax.Array]
"""The trained parameters: ``"log"`` (the fitted rates' logarithms, a vector) and one array per fitted weight."""
LOG = "log"


@dataclasses.dataclass(frozen=True)
class Fit:
    """What one fit trains, from where, against what."""

    rates: tuple[str, ...]
    weights: tuple[str, ...]
    data: np.ndarray
    scale: np.ndarray
    start: Theta
    truth: Theta
    reference_source: str
    states: np.ndarray
    """The reference states at the true parameters (before noise): where the vector field is compared."""

    def params(self, problem: AbstractProblem, theta: Theta) -> dict[str, jax.Array]:
        """The vector field's ``params`` at ``theta`` (what is not fitted at its true value)."""
        return kernels.parameters(problem, theta[LOG], self.rates, {k: theta[k] for k in self.weights})

    def misfit(self, ys: jax.Array) -> jax.Array:
        """The loss of states ``ys`` at the observation times: ``mean(((ys − d)/s)²)``."""
        return jnp.mean(((ys - jnp.asarray(self.data)) / jnp.asarray(self.scale)) ** 2)


def setup(problem: AbstractProblem, inputs: TrainingInputs) -> Fit:
    """The observations, their scales and the perturbed start, all from ``inputs.seed``."""
    unknown = [n for n in inputs.fitted if n not in problem.parameters and n not in problem.weights]
    if unknown:
        raise ValueError(f"{problem.name} has no parameter {', '.join(map(repr, unknown))} to fit; it has "
                         f"{', '.join([*problem.parameters, *problem.weights])}")
    rates = tuple(n for n in problem.parameters if n in inputs.fitted)
    weights = tuple(n for n in problem.weights if n in inputs.fitted)
    rng = np.random.default_rng(inputs.seed)
    truth: Theta = {LOG: jnp.log(jnp.asarray([inputs.parameters[n] for n in rates], dtype=jnp.float64))}
    truth |= {n: jnp.asarray(problem.weights[n], dtype=jnp.float64) for n in weights}
    start: Theta = {LOG: truth[LOG] + inputs.perturbation * rng.standard_normal(len(rates))}
    for n in weights:
        w = np.asarray(truth[n])
        start[n] = jnp.asarray(w + inputs.perturbation * np.sqrt(np.mean(w**2)) * rng.standard_normal(w.shape))
    reference = reference_sensitivity(problem, inputs.parameters)
    data = reference.ys * (1 + inputs.noise * rng.standard_normal(reference.ys.shape))
    peak = np.max(np.abs(np.concatenate([np.asarray(problem.y0, dtype=np.float64)[None], data])), axis=0)
    scale = np.maximum(np.abs(data), SCALE_FLOOR * np.where(peak > 0, peak, 1.0))
    return Fit(rates, weights, data, scale, start, truth, reference.source, reference.ys)


def training_program(integrator: AbstractIntegrator, problem: AbstractProblem, method: Differentiation,
                     optimizer: str, inputs: TrainingInputs, fit: Fit) -> kernels.Program:
    """The fit compiled: ``start -> (history columns, final θ)``, ``inputs.iterations`` updates in one ``lax.scan``
    (``iterations + 1`` evaluations: the last one scores the final parameters)."""
    import optax

    if optimizer == "lbfgs" and method.mode == "forward":
        raise NotImplementedError("L-BFGS's line search takes reverse-mode gradients; forward mode does not apply")
    loss = loss_function(integrator.differentiated_by(method), problem, inputs.policy, fit)
    derivative = jax.jacfwd if method.mode == "forward" else jax.jacrev
    value_and_gradient = derivative(loss, has_aux=True)
    exact = _exact_gradient(problem, fit)
    z_met = _stiffness_met(problem, inputs.policy, fit)
    field = _field_error(problem, fit)
    transform = (optax.lbfgs() if optimizer == "lbfgs"
                 else optax.adam(optax.exponential_decay(inputs.learning_rate, inputs.iterations, 0.1)))

    def iteration(carry, _):
        current, state, failed = carry
        g, (value, sol) = value_and_gradient(current)
        finite = jnp.isfinite(value) & jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(g)]))
        status = jnp.where((sol.status == Status.OK) & ~finite, Status.NONFINITE, sol.status)
        failed = failed | (status != Status.OK)
        stop = failed | (value < CONVERGED_LOSS)
        if optimizer == "lbfgs":
            updates, new_state = transform.update(g, state, current, value=value, grad=g,
                                                  value_fn=lambda t: loss(t)[0])
        else:
            updates, new_state = transform.update(g, state, current)
        theta, state = jax.tree.map(lambda new, old: jnp.where(stop, old, new),
                                    (optax.apply_updates(current, updates), new_state), (current, state))
        row = (value, status, g, exact(current) if exact else g, current, z_met(current, sol), sol.num_steps,
               field(current))
        return (theta, state, failed), row

    def train(start):
        carry = (start, transform.init(start), jnp.bool_(False))
        (theta, _, _), rows = jax.lax.scan(iteration, carry, None, length=inputs.iterations + 1)
        return rows, theta

    return kernels.compile_program(train, fit.start)


Loss = Callable[[Theta], tuple[jax.Array, tuple[jax.Array, Any]]]


def loss_function(integrator: AbstractIntegrator, problem: AbstractProblem, policy: StepPolicy, fit: Fit) -> Loss:
    """``θ -> (L, (L, Solution))``: the fit's misfit of the integrator's solution (in the aux form that
    ``jax.jacrev(..., has_aux=True)`` takes)."""
    y0 = jnp.asarray(problem.y0, dtype=jnp.float64)

    def loss(theta):
        sol = kernels.checked_solve(integrator, problem.vector_field, problem.t0, y0, problem.ts,
                                    fit.params(problem, theta), policy)
        value = fit.misfit(sol.ys)
        return value, (value, sol)

    return loss


def _exact_gradient(problem: AbstractProblem, fit: Fit) -> Callable[[Theta], Theta] | None:
    """``θ -> ∂L/∂θ`` through the problem's closed-form solution, for problems that have one."""
    if not isinstance(problem, AbstractExactProblem):
        return None
    ts = jnp.asarray(problem.ts)
    return jax.grad(lambda theta: fit.misfit(problem.solution(ts, fit.params(problem, theta))))


def _field_error(problem: AbstractProblem, fit: Fit) -> Callable[[Theta], jax.Array]:
    """``θ ->`` the RMS over the reference states (at the observation times) of ``(f(y*; θ) − f(y*; θ*)) / s_i``,
    ``s_i`` the largest ``|f_i(y*; θ*)|``: how far the fitted dynamics are from the true ones where the data are,
    whatever the parameters (a network's weights can be far off while its output is right)."""
    times, states = jnp.asarray(problem.ts), jnp.asarray(fit.states)

    def fields(theta):
        params = jax.lax.stop_gradient(fit.params(problem, theta))
        return jax.vmap(lambda t, y: problem.vector_field(t, y, params))(times, states)

    true = fields(fit.truth)
    peak = jnp.max(jnp.abs(true), axis=0)
    scale = jnp.where(peak > 0, peak, 1.0)
    return lambda theta: jnp.sqrt(jnp.mean(((fields(theta) - true) / scale) ** 2))


def _stiffness_met(problem: AbstractProblem, policy: StepPolicy, fit: Fit) -> Callable[[Theta, Any], jax.Array]:
    """``|h λ_max|`` at the initial and the observed states of a solve, with the fixed or the mean step."""
    y0 = jnp.asarray(problem.y0, dtype=jnp.float64)
    times = jnp.concatenate([jnp.asarray([problem.t0]), jnp.asarray(problem.ts)])
    span = problem.ts[-1] - problem.t0

    def z(theta, sol):
        params = jax.lax.stop_gradient(fit.params(problem, theta))
        states = jnp.concatenate([y0[None], jnp.where(jnp.isfinite(sol.ys), sol.ys, 0.0)])
        J = jax.vmap(lambda t, y: jax.jacfwd(problem.vector_field, argnums=1)(t, y, params))(times, states)
        lam = jnp.max(jnp.abs(jnp.linalg.eigvals(J)))
        h = policy.h if isinstance(policy, FixedStep) else span / jnp.maximum(sol.num_steps, 1)
        return lam * h

    return z


def measure_training(integrator: AbstractIntegrator, problem: AbstractProblem, method: Differentiation,
                     optimizer: str, inputs: TrainingInputs, key: CellKey | None = None) -> TrainingResult:
    """The training record of one cell."""
    key = key or CellKey("training", (("problem", problem.name), ("integrator", integrator.name),
                                      ("policy", inputs.policy.label), ("differentiation", method.label),
                                      ("optimizer", optimizer)))
    fit = setup(problem, inputs)
    program = training_program(integrator, problem, method, optimizer, inputs, fit)
    start = {name: float(np.exp(fit.start[LOG][j])) for j, name in enumerate(fit.rates)}
    (rows, _), run_s = program.best_of(1)
    loss, codes, grads, exact, thetas, z, steps, field = jax.tree.map(np.asarray, rows)
    statuses = [Status(int(c)) for c in codes]
    failed_at = next((k for k, s in enumerate(statuses) if s != Status.OK), None)
    n = len(statuses) if failed_at is None else failed_at + 1
    last = n - 1 if failed_at is None else failed_at - 1  # the last parameters that solved
    names = (*fit.rates, *fit.weights)
    rel_error = {name: _rel_errors(thetas, fit, name)[:n] for name in names}
    history = TrainingHistory(
        loss=_column(loss[:n]),
        status=tuple(statuses[:n]),
        gradient={name: _column(_per_parameter(grads, fit, name)[:n]) for name in names},
        gradient_exact=None if not isinstance(problem, AbstractExactProblem)
        else {name: _column(_per_parameter(exact, fit, name)[:n]) for name in names},
        value={name: _column(np.exp(thetas[LOG][:n, j])) for j, name in enumerate(fit.rates)},
        rel_error={name: _column(e) for name, e in rel_error.items()},
        z_met=_column(z[:n]),
        field_error=_column(field[:n]),
        steps=tuple(int(s) for s in steps[:n]),
    )
    status = Status.OK if failed_at is None else statuses[failed_at]
    message = status.message if failed_at is None else f"iteration {failed_at}: {status.message}"
    return TrainingResult(
        key, inputs, status, message, implementation=integrator.implementation,
        fast_parameters=tuple(problem.fast_parameters), reference_source=fit.reference_source,
        start=start, start_gradient_reference=reference_gradient(problem, fit, dict(inputs.parameters) | start),
        failed_at=failed_at,
        final_loss=finite_or_none(loss[last]) if last >= 0 else None,
        final_field_error=finite_or_none(field[max(last, 0)]),
        final_rel_error={name: finite_or_none(e[max(last, 0)]) for name, e in rel_error.items()},
        iterations_to_1pct=_first_below(rel_error, 1e-2, last),
        iterations_to_01pct=_first_below(rel_error, 1e-3, last),
        compile_s=program.compile_s, run_s=run_s, history=history,
    )


def reference_gradient(problem: AbstractProblem, fit: Fit, params: Mapping[str, float]) -> dict[str, float] | None:
    """``∂L/∂log θ`` of each fitted rate at ``params`` through the reference states and sensitivities there (closed
    form, or SciPy's forward sensitivity equations): the chain rule ``Σ ∂L/∂y · S_j``. None when weights are fitted
    too (the reference holds the weights at their true values)."""
    if fit.weights or not fit.rates:
        return None
    reference = reference_sensitivity(problem, params)
    dL_dy = np.asarray(jax.grad(fit.misfit)(jnp.asarray(reference.ys)))
    return {name: float(np.sum(dL_dy * reference.sensitivity[name])) for name in fit.rates}


def _per_parameter(tree: Mapping[str, np.ndarray], fit: Fit, name: str) -> np.ndarray:
    """A rate's column of a per-iteration θ-shaped tree, or a weight array's norm per iteration."""
    if name in fit.rates:
        return tree[LOG][:, fit.rates.index(name)]
    return np.sqrt(np.sum(tree[name].reshape(len(tree[name]), -1) ** 2, axis=1))


def _rel_errors(thetas: Mapping[str, np.ndarray], fit: Fit, name: str) -> np.ndarray:
    if name in fit.rates:
        return np.abs(np.expm1(_per_parameter(thetas, fit, name) - float(fit.truth[LOG][fit.rates.index(name)])))
    truth = np.asarray(fit.truth[name])
    return _per_parameter({name: thetas[name] - truth}, fit, name) / (np.linalg.norm(truth) or 1.0)


def _first_below(rel_error: Mapping[str, np.ndarray], threshold: float, last: int) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for name, e in rel_error.items():
        hits = np.flatnonzero(e[: last + 1] <= threshold)
        out[name] = int(hits[0]) if hits.size else None
    return out


def _column(values: Sequence[float] | np.ndarray) -> tuple[float | None, ...]:
    return tuple(finite_or_none(v) for v in np.asarray(values, dtype=np.float64))
