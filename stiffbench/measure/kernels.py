"""The compiled programs every measurement runs: public, so that the CLI, the asv suite and the tests time and
check exactly the same thing.

- :func:`stability_point`: ``R``, ``R'`` and the status at one ``z`` through one step of an integrator;
  :func:`stability_program` vmaps it over a grid and compiles it.
- :func:`forward` and :func:`gradient`: ``log θ -> Solution`` and ``log θ -> (∂ys/∂log θ, Solution)`` for an
  integrator, a problem and a step policy; :func:`gradient_programs` vmaps both over a batch of parameter
  vectors (the stiffness values of a cell) and compiles them. The gradient traces the solve once: the
  ``Solution`` it returns is the primal of the very solve it differentiates.
- :func:`ladder_programs`: the forward solve and the gradient compiled once for a ladder of tolerances (``rtol``
  and ``atol`` traced arguments), each rung a call with its own tolerances.
- :func:`jacobian_program`: ``∂f/∂y`` at a batch of states, for the stiffness met.

Every gradient takes a :class:`~stiffbench.Differentiation` method (default: reverse mode through the steps): the
integrator is set up for it (:meth:`~stiffbench.AbstractIntegrator.differentiated_by`) and the derivative is
``jax.jacfwd`` or ``jax.jacrev`` as the method's mode says.

A :class:`Program` is compiled once, its compile time (tracing included) measured apart; calling it runs and
blocks until the result exists. Each kernel's program goes through the exported-program cache
(:mod:`.exported`): a later run with the same integrator, problem, policy, shapes and environment loads it instead
of tracing it again.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, final

import jax
import jax.numpy as jnp
import numpy as np

from ..contracts import (
    AbstractIntegrator,
    AbstractMultistepIntegrator,
    AbstractProblem,
    AdaptiveStep,
    Differentiation,
    FixedStep,
    Solution,
    Status,
    StepPolicy,
    StructuredVectorField,
    VectorField,
)
from ..contracts.differentiation import REVERSE
from ..theory import stability_function
from . import exported


@final
@dataclasses.dataclass(frozen=True)
class Program:
    """A compiled function with the arguments it was compiled for."""

    compiled: Any
    args: tuple[Any, ...]
    compile_s: float
    """Tracing, lowering and compiling."""

    def __call__(self) -> Any:
        return jax.block_until_ready(self.compiled(*self.args))

    def with_args(self, *args: Any) -> Program:
        """The same compiled program, to be called with other arguments of the same shapes."""
        return dataclasses.replace(self, args=args)

    @property
    def memory_bytes(self) -> int | None:
        """XLA's compiled memory analysis: arguments, outputs and temporaries, less what outputs alias."""
        stats = self.compiled.memory_analysis()
        if stats is None:
            return None
        return int(stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
                   - stats.alias_size_in_bytes)

    def best_of(self, repeats: int, budget_s: float = math.inf) -> tuple[Any, float]:
        """The result and the shortest of ``repeats`` run times (a short run is easily disturbed); no further run
        once the runs so far have taken ``budget_s`` (a long run is timed well enough once)."""
        best, out, spent = math.inf, None, 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            out = self()
            elapsed = time.perf_counter() - start
            best, spent = min(best, elapsed), spent + elapsed
            if spent >= budget_s:
                break
        return out, best


def compile_program(fn: Callable[..., Any], *args: Any, cache: tuple[Any, ...] | None = None) -> Program:
    """``jax.jit(fn)`` traced, lowered and compiled for ``args``, timed.

    :param cache: the program's name and everything ``fn`` closes over (integrator, problem, policy, ...): with it
        the program is loaded from the exported-program cache when it is there, and stored when it is not.
    """
    start = time.perf_counter()
    compiled = (jax.jit(fn).lower(*args).compile() if cache is None
                else exported.compile_exported(fn, args, cache))
    return Program(compiled, args, time.perf_counter() - start)


def checked_solve(integrator: AbstractIntegrator, vector_field: VectorField, t0: float, y0: jax.Array,
                  ts: Sequence[float], params: Mapping[str, jax.Array], policy: StepPolicy) -> Solution:
    """``integrator.solve``, refusing (at trace time) a solution whose states have the wrong shape."""
    sol = integrator.solve(vector_field, t0, y0, ts, params, policy)
    expected = (len(ts), y0.shape[-1])
    if not isinstance(sol, Solution) or jnp.shape(sol.ys) != expected:
        got = f"states of shape {jnp.shape(sol.ys)}" if isinstance(sol, Solution) else type(sol).__name__
        raise ValueError(f"{integrator.name}.solve returned {got}, expected a Solution with states of shape "
                         f"{expected} ({len(ts)} observation times of a {y0.shape[-1]}-dimensional problem)")
    return sol


def dahlquist(t: Any, y: jax.Array, p: dict[str, jax.Array]) -> jax.Array:
    """``y' = [[a, −b], [b, a]] y``: Dahlquist's equation at ``z = a + ib`` as a real system (docs/theory.md §5)."""
    return jnp.stack([p["re"] * y[0] - p["im"] * y[1], p["im"] * y[0] + p["re"] * y[1]])


def stability_point(integrator: AbstractIntegrator) -> Callable[..., tuple[jax.Array, jax.Array, jax.Array]]:
    """``(a, b[, Re ζ, Im ζ]) -> (R, R', status)`` at ``z = a + ib``, ``R`` and ``R'`` as real pairs.

    One-step methods: one step of ``h = 1`` from ``y0 = (1, 0)`` gives ``(Re R, Im R)``, and ``R`` being
    holomorphic, ``∂y1/∂a = (Re R', Im R')`` by reverse-mode autodiff. Multistep methods: one step from the exact
    history ``ζ^j``; the computed root is the ratio ``y_k/ζ^(k−1)`` the step produces, and its derivative follows
    from the root being a fixed point of that step: with ``F(ζ, z) = ratio(ζ, z) − ζ``, ``ζ₁' = −F_z/F_ζ``, both
    by autodiff (``F`` is holomorphic in ``ζ`` and ``z``, so derivatives along real parts are complex ones).
    """
    if isinstance(integrator, AbstractMultistepIntegrator):
        return _multistep_point(integrator)

    def step(a, b):
        sol = checked_solve(integrator, dahlquist, 0.0, jnp.array([1.0, 0.0]), (1.0,), {"re": a, "im": b},
                            FixedStep(1.0))
        return sol.ys[-1], sol.status

    def point(a, b):
        R, pullback, status = jax.vjp(lambda a: step(a, b), a, has_aux=True)
        dR = jax.vmap(pullback)(jnp.eye(2))[0]
        return R, dR, status

    return point


def _multistep_point(integrator: AbstractMultistepIntegrator):
    k = len(integrator.theory.rho) - 1

    def ratio(zr, zi, a, b):
        zeta = zr + 1j * zi
        powers = zeta ** jnp.arange(k)
        history = jnp.stack([powers.real, powers.imag], axis=-1)
        y, converged = integrator.step(dahlquist, 0.0, 1.0, history, {"re": a, "im": b})
        r = (y[0] + 1j * y[1]) / zeta ** (k - 1)
        return jnp.stack([r.real, r.imag]), converged

    def point(a, b, zr, zi):
        R, converged = ratio(zr, zi, a, b)
        (d_zeta, d_z), _ = jax.jacfwd(ratio, argnums=(0, 2), has_aux=True)(zr, zi, a, b)
        dR = -(d_z[0] + 1j * d_z[1]) / (d_zeta[0] - 1 + 1j * d_zeta[1])
        status = jnp.where(converged, Status.OK, Status.NONLINEAR_SOLVE_FAILED).astype(jnp.int32)
        return R, jnp.stack([dR.real, dR.imag]), status

    return point


def stability_program(integrator: AbstractIntegrator, z: np.ndarray) -> Program:
    """:func:`stability_point` vmapped over the grid ``z`` and compiled (multistep methods start from the theory's
    principal root at each ``z``, so they need a theory)."""
    args: tuple[Any, ...] = (jnp.asarray(z.real), jnp.asarray(z.imag))
    if isinstance(integrator, AbstractMultistepIntegrator):
        root = stability_function(integrator.theory).R(z)
        args = (*args, jnp.asarray(root.real), jnp.asarray(root.imag))
    return compile_program(jax.vmap(stability_point(integrator)), *args, cache=("stability", integrator))


def parameters(problem: AbstractProblem, log_theta: jax.Array | None = None, names: Sequence[str] | None = None,
               weights: Mapping[str, jax.Array] | None = None) -> dict[str, jax.Array]:
    """The ``params`` a vector field receives: ``θ = exp(log θ)`` over ``names`` (default: every rate), the other
    rates at their defaults (all of them without ``log_theta``), and the problem's weights as arrays (``weights``
    overrides them)."""
    names = list(names if names is not None else problem.parameters) if log_theta is not None else []
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in problem.weights.items()} | dict(weights or {})
    params |= {k: jnp.float64(v) for k, v in problem.parameters.items() if k not in names}
    return params | dict(zip(names, jnp.exp(log_theta), strict=True)) if log_theta is not None else params


def forward(integrator: AbstractIntegrator, problem: AbstractProblem, policy: StepPolicy,
            names: Sequence[str] | None = None) -> Callable[[jax.Array], Solution]:
    """``log θ -> Solution``: the problem solved by the integrator at ``θ = exp(log θ)``, ``log θ`` a vector over
    ``names`` (default: the problem's parameters, in order; the others keep their default values)."""
    y0 = jnp.asarray(problem.y0, dtype=jnp.float64)
    structure = problem.jacobian_structure
    field = problem.vector_field if structure is None else StructuredVectorField(problem.vector_field, structure)

    def solve(log_theta: jax.Array) -> Solution:
        return checked_solve(integrator, field, problem.t0, y0, problem.ts,
                             parameters(problem, log_theta, names), policy)

    return solve


def gradient(integrator: AbstractIntegrator, problem: AbstractProblem, policy: StepPolicy,
             names: Sequence[str] | None = None,
             method: Differentiation = REVERSE) -> Callable[[jax.Array], tuple[jax.Array, Solution]]:
    """``log θ -> (S, Solution)`` with ``S[k, i, j] = ∂y_i(t_k)/∂log θ_j`` by ``method``; one solve is traced,
    and the ``Solution`` is its primal."""
    solve = forward(integrator.differentiated_by(method), problem, policy, names)

    def states(log_theta: jax.Array) -> tuple[jax.Array, Solution]:
        solution = solve(log_theta)
        return solution.ys, solution

    return (jax.jacfwd if method.mode == "forward" else jax.jacrev)(states, has_aux=True)


def loss_gradient(integrator: AbstractIntegrator, problem: AbstractProblem,
                  policy: StepPolicy) -> Callable[[jax.Array], jax.Array]:
    """``log θ -> ∂L/∂log θ`` for the scalar ``L = ½ Σ_k |y(t_k)|²``: one reverse pass through the solve, what a
    training step costs (the full ``∂y/∂log θ`` of :func:`gradient` takes one pass per state and time)."""
    solve = forward(integrator, problem, policy)

    def loss(log_theta: jax.Array) -> jax.Array:
        return 0.5 * jnp.sum(solve(log_theta).ys ** 2)

    return jax.grad(loss)


def log_parameters(problem: AbstractProblem, values: Sequence[float] = (),
                   names: Sequence[str] | None = None) -> jax.Array:
    """A batch of ``log θ`` vectors: the problem's defaults with its stiffness parameter set to each of ``values``
    (one row of defaults if ``values`` is empty)."""
    names = list(names if names is not None else problem.parameters)
    rows = [dict(problem.parameters) | {problem.stiffness.parameter: float(v)} for v in values] or [
        dict(problem.parameters)]
    return jnp.log(jnp.asarray([[row[n] for n in names] for row in rows], dtype=jnp.float64))


def gradient_programs(integrator: AbstractIntegrator, problem: AbstractProblem, policy: StepPolicy,
                      log_theta: jax.Array) -> tuple[Program, Program]:
    """The forward solve and the gradient, each vmapped over the rows of ``log_theta`` and compiled."""
    return (compile_program(jax.vmap(forward(integrator, problem, policy)), log_theta,
                            cache=("forward", integrator, problem, policy)),
            compile_program(jax.vmap(gradient(integrator, problem, policy)), log_theta,
                            cache=("gradient", integrator, problem, policy)))


def ladder_programs(integrator: AbstractIntegrator, problem: AbstractProblem, method: Differentiation,
                    log_theta: jax.Array, rtol: float, atol: float,
                    max_steps: int = AdaptiveStep.max_steps) -> tuple[Program, Program]:
    """The forward solve and the gradient by ``method`` as functions of ``(log θ, rtol, atol)``, each compiled once
    for a whole ladder of tolerances (``rtol``/``atol`` the first rung's; call :meth:`Program.with_args` for the
    others)."""
    def solve(lt, r, a):
        return forward(integrator.differentiated_by(method), problem, AdaptiveStep.traced(r, a, max_steps))(lt)

    def differentiate(lt, r, a):
        return gradient(integrator, problem, AdaptiveStep.traced(r, a, max_steps), method=method)(lt)

    args = (log_theta, jnp.float64(rtol), jnp.float64(atol))
    parts = (integrator, problem, method, max_steps)
    return (compile_program(solve, *args, cache=("ladder forward", *parts)),
            compile_program(differentiate, *args, cache=("ladder gradient", *parts)))


def jacobian_program(problem: AbstractProblem, times: np.ndarray, states: np.ndarray,
                     log_theta: np.ndarray) -> Program:
    """``∂f/∂y`` at each ``(times[k], states[k], exp(log_theta[k]))``, compiled once for the whole batch."""
    def jacobian(t, y, lt):
        return jax.jacfwd(problem.vector_field, argnums=1)(t, y, parameters(problem, lt))

    return compile_program(jax.vmap(jacobian), jnp.asarray(times), jnp.asarray(states), jnp.asarray(log_theta),
                           cache=("jacobian", problem))
