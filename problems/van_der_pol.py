"""The van der Pol oscillator in its unscaled form, with the damping μ as the stiffness knob."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl


@final
@dataclasses.dataclass(frozen=True)
class VanDerPol(AbstractProblem):
    """``y1' = y2``, ``y2' = μ (1 − y1²) y2 − y1``, ``y(0) = (2, 0)``.

    For large μ the solution is a relaxation oscillation: slow branches on which ``y2 ≈ y1/(μ(1 − y1²))``
    (Jacobian eigenvalue ≈ ``−μ(y1² − 1)``, down to ``−3μ``) joined by jumps of duration O(μ^(−1/3)); the
    period is ``(3 − 2 ln 2) μ + O(μ^(−1/3))`` ≈ 1614 at μ = 1000.

    The span is ``[0, 2000]`` for every μ, the one of the test set's VDPOLM (μ = 1000): at the default it
    holds the first slow branch, the jump near ``t ≈ 807``, the second branch, the jump near ``t ≈ 1614``
    and part of the third branch. The observation times avoid the jumps, where ``y`` moves by O(1) in
    O(μ^(−1/3)) and its sensitivity to μ is of order μ. A fixed span is what makes μ a stiffness knob:
    for μ ≪ 1000 the same span holds many (non-stiff) periods and the phase sensitivity grows with t;
    for μ ≫ 1000 it holds only the start of the first slow branch, where ``y1 ≈ 2 − t/(3μ)`` and the
    gradient with respect to log μ decays like 1/μ.

    Scaling ``τ = t/μ``, ``u(τ) = y1(t)``, ``u'(τ) = μ y2(t)`` maps this problem exactly onto the test
    set's VDPOL (Hairer & Wanner's scaled form) ``ε u'' = (1 − u²) u' − u`` with ``ε = 1/μ²``: μ = 1000
    is ε = 10⁻⁶, so its published values at τ = 1, 2 are values of this problem at t = 1000, 2000.
    """

    name: str = "van-der-pol"
    citation: str = (
        "B. van der Pol, On relaxation-oscillations, Phil. Mag. 2 (1926), 978-992; Hairer & Wanner, Solving "
        "ODEs II, 2nd ed. (1996), IV.1 and IV.10 (VDPOL); Mazzia & Magherini, Test Set for IVP Solvers, "
        "release 2.4 (2008), problems VDPOL and VDPOLM"
    )
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"mu": 1e3})
    fast_parameters: tuple[str, ...] = ("mu",)
    t0: float = 0.0
    y0: tuple[float, ...] = (2.0, 0.0)
    ts: tuple[float, ...] = (500.0, 1000.0, 1500.0, 2000.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("mu", (1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6), (1e-3, 1e8))
    )
    reference: ReferenceSolution | None = ReferenceSolution((), (), "")

    def vector_field(self, t, y, params):
        return jnp.stack([y[1], params["mu"] * (1 - y[0] ** 2) * y[1] - y[0]])


@hookimpl
def register_problems(register):
    register(VanDerPol())
