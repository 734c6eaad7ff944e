"""A generic implicit Runge–Kutta engine in JAX: a Butcher tableau and a name make an integrator.

Stages: a fully implicit tableau is solved as one stacked system ``Y_i = y + h Σ_j a_ij f(t + c_j h, Y_j)``,
a diagonally implicit one stage by stage (explicit stages, ``a_ii = 0``, are evaluated directly). Both by
simplified Newton: ``J = ∂f/∂y`` is built once per step at ``(t, y)``, by the problem's structure
(:mod:`stiffbench.engines.linalg`), and factored once per step. For the stacked system the factorization is
that of Butcher's transformation (Hairer & Wanner II, IV.8): with ``A⁻¹ = V Λ V⁻¹``, the ``s·n`` Newton system
falls apart into one ``n × n`` system ``(λ − hJ) ΔW = R`` per real eigenvalue and one complex one per conjugate
pair (Radau IIA of order 5: one real and one complex, as in RADAU5). A diagonally implicit tableau factors
``I − h a_ii J`` once per distinct ``a_ii``. The Jacobian and factors are built at the start of every step and
rebuilt inside it only when the iteration stops contracting (:mod:`stiffbench.engines.newton`'s refresh rule);
reusing them across steps would need a branch, and under ``vmap`` a branch runs both sides. A tableau whose ``A`` is
singular or far from diagonalizable keeps full Newton.

Gradients go through the converged stages by the implicit function theorem (:mod:`stiffbench.engines.newton`),
solved with the exact stage Jacobian ``I − h (A ⊗ I) diag(J(Y_i))`` at the root, built and factored by the same
structure: the gradient is exact for the discrete scheme whatever the Newton iteration was. For stiffly
accurate tableaus ``y1`` is the last stage, avoiding the cancellation in ``y + h Σ b_i f(Y_i)``, which is what
keeps ``R(z)`` at machine precision relative to its size up to ``|z| = 1e8``.

Steps: the loops of :mod:`stiffbench.engines.stepping`; adaptive steps use the tableau's embedded
weights (``b_embedded``) where it has them, RADAU5's filtered estimate for a stiffly accurate tableau solved on the
stacked stages with a real eigenvalue of ``A⁻¹`` (Radau IIA of order 5), step doubling otherwise.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import final

import jax
import jax.numpy as jnp
import numpy as np

from stiffbench import (
    AbstractIntegrator,
    ButcherTableau,
    Differentiation,
    ForwardMode,
    ReverseMode,
    Solution,
    StepPolicy,
)
from stiffbench.contracts import jacobian_structure
from stiffbench.contracts.differentiation import REVERSE
from stiffbench.engines import linalg
from stiffbench.engines.newton import Simplified, newton_solve
from stiffbench.engines.stepping import solve_one_step_method

# Butcher's transformation is used when V (the eigenvectors of A⁻¹) is this well conditioned.
MAX_TRANSFORM_CONDITION = 1e6


@final
@dataclasses.dataclass(frozen=True)
class ImplicitRungeKutta(AbstractIntegrator):
    """An implicit Runge–Kutta method given by its tableau: Newton on the stages, implicit-function gradients."""

    name: str
    tableau: ButcherTableau
    order: int
    citation: str
    family: str = "Runge–Kutta"
    newton_rtol: float = 1e-10
    newton_atol: float = 1e-12
    newton_max_iter: int = 10
    newton_refreshes: int = 6
    """Simplified Newton: how often the factors may be rebuilt inside one solve (``newton.py``'s refresh rule)."""
    differentiation: Differentiation = REVERSE
    differentiation_methods = (ReverseMode, ForwardMode)

    def __post_init__(self) -> None:
        if self.tableau.is_explicit:
            raise ValueError(
                f"{self.name}: the tableau is explicit (A strictly lower triangular), "
                "but ImplicitRungeKutta is for implicit methods"
            )

    @property
    def stages(self) -> int:
        return self.tableau.stages

    @property
    def theory(self) -> ButcherTableau:
        return self.tableau

    @property
    def implementation(self) -> str:
        if self.tableau.is_diagonally_implicit:
            how = "simplified Newton stage by stage"
        elif _transformation(self.tableau) is not None:
            how = "simplified Newton on the transformed stages (one n×n system per real eigenvalue or pair of A⁻¹)"
        else:
            how = "full Newton on the stacked stages"
        error = "embedded" if self.tableau.b_embedded is not None else "step doubling"
        return (f"stiffbench native JAX: {how}, Jacobian and factors once per step, by the problem's structure; "
                f"implicit-function gradients; adaptive error by {error}")

    def solve(self, vector_field, t0, y0, ts, params, policy: StepPolicy) -> Solution:
        estimate = _radau_estimate(self.tableau) if self.tableau.b_embedded is None else None
        return solve_one_step_method(self, vector_field, t0, y0, ts, params, policy,
                                     embedded=self.tableau.b_embedded is not None or estimate is not None,
                                     differentiation=self.differentiation,
                                     error_order=None if estimate is None else self.tableau.stages + 1)

    def step(self, f, params, t, h, y, with_error: bool = False):
        """One step from ``(t, y)``: ``(y1, error estimate or None, converged)``."""
        A, b, c = (jnp.asarray(x) for x in self.tableau.arrays())
        structure = linalg.Structure.of(y.size, jacobian_structure(f))
        # ∂f/∂y at the start of the step, for the Newton iteration only (the gradient never goes through it).
        J = jax.lax.stop_gradient(linalg.jacobian(lambda u: f(t, u, params), y, structure))
        if self.tableau.is_diagonally_implicit:
            Y, converged, factors = self._stages_one_by_one(f, params, A, c, t, h, y, J, structure)
        else:
            Y, converged, factors = self._stages_stacked(f, params, A, c, t, h, y, J, structure)
        embedded = with_error and self.tableau.b_embedded is not None
        needs_F = embedded or not self.tableau.is_stiffly_accurate
        F = jax.vmap(lambda ci, Yi: f(t + ci * h, Yi, params))(c, Y) if needs_F else None
        y1 = Y[-1] if self.tableau.is_stiffly_accurate else y + h * (b @ F)
        error = None
        if embedded:
            b_hat = jnp.asarray(np.asarray(self.tableau.b_embedded, dtype=np.float64))
            error = h * ((b - b_hat) @ F)
        elif with_error:
            # RADAU5's estimate (HW IV.8, (8.19)–(8.20)): (λ/h − J)⁻¹ (f(t, y) + E·Z/h) = (λ − hJ)⁻¹ (h f + E·Z),
            # filtered through the factors of the real eigenvalue λ of A⁻¹ that Newton already has.
            E, k = _radau_estimate(self.tableau)
            error = linalg.solve(factors[k], h * f(t, y, params) + jnp.asarray(E) @ (Y - y))
        return y1, error, converged

    def _stages_stacked(self, f, params, A, c, t, h, y, J, structure):
        def residual(Y):
            F = jax.vmap(lambda ci, Yi: f(t + ci * h, Yi, params))(c, Y)
            return Y - y - h * (A @ F)

        guess = jnp.broadcast_to(y, (A.shape[0], *y.shape))
        transform = _transformation(self.tableau)
        if transform is None:
            return (*self._newton_solve(residual, guess, None, structure), {})
        eigenvalues, V, Q = transform

        def prepare_at(J):
            return {k: _shifted_factor(J, eigenvalues[k], h, structure) for k in _representatives(eigenvalues)}

        def prepare(Y):  # a refresh: ∂f/∂y at the last stage's iterate
            return prepare_at(jax.lax.stop_gradient(linalg.jacobian(lambda u: f(t + c[-1] * h, u, params), Y[-1],
                                                                    structure)))

        def apply(factors, G):
            # (I − h A⊗J) ΔY = G  ⇔  (A⁻¹ ⊗ I − h I ⊗ J) ΔY = A⁻¹ G; with ΔY = V ΔW it is diagonal in the stages.
            R = jnp.asarray(Q) @ G.astype(complex)
            dW = [jnp.zeros_like(R[0])] * len(eigenvalues)
            for k, lu in factors.items():
                rhs = R[k].real if eigenvalues[k].imag == 0 else R[k]
                dW[k] = linalg.solve(lu, rhs).astype(R.dtype)
                if eigenvalues[k].imag != 0:
                    dW[_partner(eigenvalues, k)] = jnp.conj(dW[k])
            return (jnp.asarray(V) @ jnp.stack(dW)).real

        factors = prepare_at(J)
        return (*self._newton_solve(residual, guess, Simplified(factors, apply, prepare), structure), factors)

    def _stages_one_by_one(self, f, params, A, c, t, h, y, J, structure):
        A_np = np.asarray(self.tableau.arrays()[0])
        diagonal = {float(a) for a in np.diag(A_np) if a}
        factors = {a: linalg.factor(J.shifted(1.0, scale=h * a), structure) for a in diagonal}
        Y, F, converged = [], [], jnp.bool_(True)
        for i in range(A_np.shape[0]):
            known = y + h * sum((A[i, j] * F[j] for j in range(i)), jnp.zeros_like(y))
            if A_np[i, i] == 0:
                Yi = known
            else:
                def residual(Yi, i=i, known=known):
                    return Yi - known - h * A[i, i] * f(t + c[i] * h, Yi, params)

                def prepare(Yi, i=i, a=float(A_np[i, i])):  # a refresh: (I − h a J) at the iterate
                    J_i = linalg.jacobian(lambda u: f(t + c[i] * h, u, params), Yi, structure)
                    return linalg.factor(jax.lax.stop_gradient(J_i).shifted(1.0, scale=h * a), structure)

                simplified = Simplified(factors[float(A_np[i, i])], linalg.solve, prepare)
                Yi, ok = self._newton_solve(residual, Y[-1] if Y else y, simplified, structure)
                converged = converged & ok
            Y.append(Yi)
            F.append(f(t + c[i] * h, Yi, params))
        return jnp.stack(Y), converged, factors

    def _newton_solve(self, residual, guess, simplified, structure):
        stages = 1 if guess.ndim == 1 else guess.shape[0]
        return newton_solve(residual, guess, rtol=self.newton_rtol, atol=self.newton_atol,
                            max_iter=self.newton_max_iter, max_refresh=self.newton_refreshes, simplified=simplified,
                            tangent_solve=linalg.operator_solver(stages, structure))


def _shifted_factor(J: linalg.Blocks, eigenvalue: complex, h, structure: linalg.Structure) -> linalg.Factorization:
    """The factors of ``λ − hJ``: real, or for a complex ``λ`` the complex system in real form."""
    if eigenvalue.imag == 0:
        return linalg.factor(J.shifted(eigenvalue.real, scale=h), structure)
    return linalg.factor(J.shifted(eigenvalue.real, eigenvalue.imag, scale=h), structure, complex_pair=True)


@functools.cache
def _transformation(tableau: ButcherTableau) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(λ, V, V⁻¹A⁻¹)`` with ``A⁻¹ = V diag(λ) V⁻¹``, conjugate eigenvalues with conjugate columns of ``V`` and
    the columns of real eigenvalues real; ``None`` when ``A`` is singular or ``V`` ill-conditioned."""
    A = np.asarray(tableau.arrays()[0], dtype=np.float64)
    if np.linalg.cond(A) > 1e12:
        return None
    A_inv = np.linalg.inv(A)
    eigenvalues, V = np.linalg.eig(A_inv)
    for k in range(len(eigenvalues)):
        if abs(eigenvalues[k].imag) <= 1e-14 * abs(eigenvalues[k]):
            eigenvalues[k] = eigenvalues[k].real
            V[:, k] = (V[:, k] / V[np.argmax(np.abs(V[:, k])), k]).real
        elif eigenvalues[k].imag < 0:
            partner = _partner(eigenvalues, k)
            V[:, k] = np.conj(V[:, partner])
            eigenvalues[k] = np.conj(eigenvalues[partner])
    if np.linalg.cond(V) > MAX_TRANSFORM_CONDITION:
        return None
    return eigenvalues, V, np.linalg.solve(V, A_inv)


@functools.cache
def _radau_estimate(tableau: ButcherTableau) -> tuple[np.ndarray, int] | None:
    """``(E, k)`` for the error estimate of RADAU5, generalised: the embedded method
    ``ŷ1 = y + h (γ0 f(t, y) + Σ b̂_i f(Y_i))`` of order ``s`` with ``γ0 = 1/λ_k``, ``λ_k`` a real eigenvalue of
    ``A⁻¹``, gives ``ŷ1 − y1`` filtered by ``(I − h γ0 J)⁻¹`` as ``(λ_k/h − J)⁻¹ (f(t, y) + E·Z/h)`` with
    ``E = λ_k (b̂ − b)ᵀ A⁻¹`` and ``Z = Y − y``. For stiffly accurate tableaus with distinct nonzero nodes and a real
    eigenvalue, solved on the stacked stages (Radau IIA of order 5: ``E = −(13 + 7√6, 13 − 7√6, 1)/3``); otherwise
    ``None``."""
    transform = _transformation(tableau)
    A, b, c = tableau.arrays()
    s = len(b)
    if (tableau.is_diagonally_implicit or transform is None or not tableau.is_stiffly_accurate
            or len(set(c.tolist())) < s or np.any(c == 0)):
        return None
    real = [k for k, lam in enumerate(transform[0]) if lam.imag == 0]
    if not real:
        return None
    k = real[0]
    lam = transform[0][k].real
    # Σ b̂_i c_i^(q−1) = 1/q − γ0·[q = 1] for q = 1..s: the embedded method has order s.
    powers = np.vander(c, s, increasing=True).T
    b_hat = np.linalg.solve(powers, 1 / np.arange(1, s + 1) - np.eye(s)[0] / lam)
    return lam * (b_hat - b) @ np.linalg.inv(A), k


def _representatives(eigenvalues: np.ndarray) -> list[int]:
    """One index per real eigenvalue and per conjugate pair (the one with positive imaginary part)."""
    return [k for k, lam in enumerate(eigenvalues) if lam.imag >= 0]


def _partner(eigenvalues: np.ndarray, k: int) -> int:
    """The index of the eigenvalue conjugate to ``eigenvalues[k]``."""
    others = [j for j in range(len(eigenvalues)) if j != k]
    return min(others, key=lambda j: abs(eigenvalues[j] - np.conj(eigenvalues[k])))
