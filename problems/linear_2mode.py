"""A slow and a fast mode in series (Bateman's parent–daughter chain), with exact solution and sensitivities."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractLinearProblem, StiffnessKnob, hookimpl

# Taylor coefficients at 0 of φ1(x) = (eˣ − 1)/x, φ1'(x) and φ2(x) = (eˣ − 1 − x)/x², highest power first
# (jnp.polyval order). Used for |x| < 1, where the closed forms cancel; 18 terms leave < 1e-17 relative.
_N = 18
_PHI1 = tuple(1 / math.factorial(k + 1) for k in reversed(range(_N)))
_DPHI1 = tuple((k + 1) / math.factorial(k + 2) for k in reversed(range(_N)))
_PHI2 = tuple(1 / math.factorial(k + 2) for k in reversed(range(_N)))


def _phis(x):
    """``(φ1, φ1', φ2)`` at ``x ≤ 1``, to full precision; a Taylor series where the closed forms cancel."""
    small = jnp.abs(x) < 1
    xs = jnp.where(small, -1.0, x)  # keeps the unused branch finite, so its derivative is too
    em1 = jnp.expm1(xs)
    phi1 = jnp.where(small, jnp.polyval(jnp.asarray(_PHI1), x), em1 / xs)
    dphi1 = jnp.where(small, jnp.polyval(jnp.asarray(_DPHI1), x), (xs * (em1 + 1) - em1) / xs**2)
    phi2 = jnp.where(small, jnp.polyval(jnp.asarray(_PHI2), x), (em1 - xs) / xs**2)
    return phi1, dphi1, phi2


def _transfer(t, k_fast, k_slow):
    """``E``, ``E + k_fast ∂E/∂k_fast``, ``∂E/∂k_slow``; ``E = (e^{−k_slow t} − e^{−k_fast t})/(k_fast − k_slow)``.

    ``E(a, b) = t e^{−at} φ1(−(b − a) t)`` for either order of the rates, and ``∂E/∂a = −t² e^{−at} φ2``,
    ``∂E/∂b = −t² e^{−at} φ1'`` there (``φ1' = φ1 − φ2``). Form A takes ``a = k_slow`` and holds while
    ``(k_slow − k_fast) t ≤ 1``; beyond, where its ``φ1`` would grow like ``e^{(k_slow − k_fast) t}``, form B
    takes ``a = k_fast``. Both are analytic, so the switch, far from the tie ``k_fast = k_slow``, is exact
    for values and derivatives alike. In form A, ``φ1 + x φ1' = eˣ`` turns ``E + k_fast ∂E/∂k_fast`` into
    ``t (e^{−k_fast t} − k_slow t e^{−k_slow t} φ1')``, free of the cancellation of order ``k_slow/k_fast``.
    """
    u = (k_slow - k_fast) * t
    form_a = u <= 1
    pa1, dpa1, pa2 = _phis(jnp.where(form_a, u, 0.0))
    pb1, dpb1, pb2 = _phis(jnp.where(form_a, -2.0, -u))
    e_slow, e_fast = jnp.exp(-k_slow * t), jnp.exp(-k_fast * t)
    E = t * jnp.where(form_a, e_slow * pa1, e_fast * pb1)
    d_fast = t * jnp.where(form_a, e_fast - k_slow * t * e_slow * dpa1, e_fast * (pb1 - k_fast * t * pb2))
    d_slow = -(t**2) * jnp.where(form_a, e_slow * pa2, e_fast * dpb1)
    return E, d_fast, d_slow


@final
@dataclasses.dataclass(frozen=True)
class LinearTwoMode(AbstractLinearProblem):
    """``y1' = −k_fast y1``, ``y2' = k_fast y1 − k_slow y2``, ``y(0) = (1, 0)``: a fast mode feeding a slow one.

    Bateman's parent–daughter chain ``A → B → ∅``. The slow output carries the fast rate:
    ``y2(t) = k_fast (e^{−k_slow t} − e^{−k_fast t})/(k_fast − k_slow)``, evaluated through
    ``φ1(x) = (eˣ − 1)/x`` so that it stays exact at and near ``k_fast = k_slow``. As ``k_fast → ∞``,
    ``y2 → e^{−k_slow t}`` and ``∂y2/∂log k_fast ≈ −(k_slow/k_fast) y2``: the exact gradient with respect
    to the fast rate vanishes like ``1/k_fast``, the behaviour the benchmark asks integrators to reproduce.

    The fast mode is the first component, so that ``y1`` alone is Dahlquist's equation with
    ``λ = −k_fast``: every statement about the scalar ``linear`` problem holds for it (``y1,n = R(z)ⁿ``).
    The sensitivities are derived by hand (see ``_transfer``), not by autodiff.
    """

    name: str = "linear-2mode"
    citation: str = (
        "H. Bateman, Solution of a system of differential equations occurring in the theory of radioactive "
        "transformations, Proc. Cambridge Phil. Soc. 15 (1910), 423-427"
    )
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"k_fast": 1e3, "k_slow": 1.0})
    fast_parameters: tuple[str, ...] = ("k_fast",)
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0, 0.0)
    # As for ``linear``: multiples of 0.05, so a fixed step of 0.05 lands on them, and at most 20 such steps,
    # beyond which an explicit method's |R(−500)|ⁿ overflows in tests/test_integrators.py.
    ts: tuple[float, ...] = (0.25, 0.5, 1.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("k_fast", (1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6), (1e-12, 1e12))
    )

    def vector_field(self, t, y, params):
        return self.matrix(params) @ y

    def matrix(self, params):
        k_fast, k_slow = params["k_fast"], params["k_slow"]
        return jnp.array([[-k_fast, 0.0], [k_fast, -k_slow]])

    def solution(self, ts, params):
        k_fast, k_slow = params["k_fast"], params["k_slow"]
        t = jnp.asarray(ts)
        y10, y20 = self.y0
        E, _, _ = _transfer(t, k_fast, k_slow)
        return jnp.stack([y10 * jnp.exp(-k_fast * t), y20 * jnp.exp(-k_slow * t) + y10 * k_fast * E], axis=-1)

    def sensitivity(self, ts, params):
        """``θ ∂y/∂θ``: ``y1 = y10 e^{−k_fast t}``, ``y2 = y20 e^{−k_slow t} + y10 k_fast E`` (see ``_transfer``)."""
        k_fast, k_slow = params["k_fast"], params["k_slow"]
        t = jnp.asarray(ts)
        y10, y20 = self.y0
        _, d_fast, d_slow = _transfer(t, k_fast, k_slow)
        return {
            "k_fast": jnp.stack([-k_fast * t * y10 * jnp.exp(-k_fast * t), y10 * k_fast * d_fast], axis=-1),
            "k_slow": jnp.stack([jnp.zeros_like(t),
                                 -k_slow * t * y20 * jnp.exp(-k_slow * t) + y10 * k_fast * k_slow * d_slow], axis=-1),
        }


@hookimpl
def register_problems(register):
    register(LinearTwoMode())
