"""The van der Pol oscillator in its unscaled form, with the damping μ as the stiffness knob."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl

REFERENCE = ReferenceSolution(
    ts=(1000.0, 2000.0),
    ys=((-0.1863646254808130e1, 0.7535430865435460e-3), (0.1706167732170469e1, -0.8928097010248125e-3)),
    source=(
        "published, μ = 1000: t = 2000 is the Test Set's VDPOLM (release 2.4, vdpolm.f solut: RADAU with "
        "uround = 1.01e-19, rtol = atol = h0 = 1.1e-18), this very problem; t = 1000 is Hairer's reference for "
        "VDPOL with ε = 1e-6 at τ = 1 (unige.ch/~hairer/testset, vdpol res_exact_pic: u = -0.1863646254808130e1, "
        "u' = 0.7535430865435460), mapped exactly by y1 = u, y2 = u'/μ"
    ),
)


@final
@dataclasses.dataclass(frozen=True)
class VanDerPol(AbstractProblem):
    """``y1' = y2``, ``y2' = μ (1 − y1²) y2 − y1``, ``y(0) = (2, 0)``.

    For large μ the solution is a relaxation oscillation: slow branches on which ``y2 ≈ y1/(μ(1 − y1²))``
    (Jacobian eigenvalue ≈ ``−μ(y1² − 1)``, down to ``−3μ``) joined by jumps that take a time O(1/μ); the
    period is ``(3 − 2 ln 2) μ + O(μ^(−1/3))`` ≈ 1614 at μ = 1000.

    The span is ``[0, 2000]`` for every μ, the one of the test set's VDPOLM (μ = 1000): at the default it
    holds the first slow branch, the jump at ``t ≈ 807``, the second branch, the jump at ``t ≈ 1614`` and
    part of the third branch. The observation times avoid the jumps, where y changes by O(1) almost at
    once and its sensitivity to μ is of order μ. A fixed span is what makes μ a stiffness knob here (the
    contract fixes ``ts``): for μ ≪ 1000 the same span holds many non-stiff periods and the phase
    sensitivity grows with t (tight reference solves then take minutes: hundreds of periods); for
    μ ≫ 1000 it holds only the start of the first slow branch, where ``y1 ≈ 2 − 2t/(3μ)`` and the
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
        # The scan starts at 1e3: over [0, 2000] a small μ means hundreds of non-stiff periods, and the
        # reference sensitivities then cost minutes (176 s at μ = 100, 707 s at μ = 1); pass them explicitly.
        default_factory=lambda: StiffnessKnob("mu", (1e3, 1e4, 1e5, 1e6), (1e-3, 1e8))
    )
    reference: ReferenceSolution | None = REFERENCE

    def vector_field(self, t, y, params):
        return jnp.stack([y[1], params["mu"] * (1 - y[0] ** 2) * y[1] - y[0]])


@hookimpl
def register_problems(register):
    register(VanDerPol())
