"""E5: Enright, Hull and Lindberg's chemical pyrolysis problem, stiff over 13 decades of time (4 equations)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl

# y2 − y3 − y4 is invariant (y3' is defined as y2' − y4') and zero at t = 0, and y4 ≈ B y1 y3/C ≈ 0 late,
# so y2(1e13) = y3(1e13). The Test Set's values (e5.f solut) split them by 1.4e-3 relative, rounding drift
# of that invariant in its run; their mean is 1.75e-7 off, their y1 = 1.15e-290 is no solution value
# (y1 ≤ y1(0) e^{−A t} ≈ 1e-3430). None of them is recorded here; tests/test_problems.py checks all this.
REFERENCE = ReferenceSolution(
    ts=(1e13,),
    ys=((0.0, 8.861233521289e-23, 8.861233521289e-23, 0.0),),
    source=(
        "computed: scipy 1.17.1 solve_ivp Radau, rtol = 1e-13, atol = 1e-40, exact Jacobian, on the equivalent "
        "3-equation system with y3 = y2 − y4 substituted, which keeps the invariant exact (rtol 1e-10 ... 3e-14 "
        "agree to 4e-13; BDF and LSODA at rtol 1e-12/1e-13 to 1e-10). y1 and y4 are below the double range "
        "(y1 ≤ 1.76e-3 e^{−7890}) and recorded as 0. The Test Set's published y2, y3 (8.867655517642120e-23, "
        "8.854814626268838e-23) differ from these by ±7.2e-4 relative and are not recorded"
    ),
)


@final
@dataclasses.dataclass(frozen=True)
class E5(AbstractProblem):
    """``y1' = −A y1 − B y1 y3``, ``y2' = A y1 − MC y2 y3``, ``y4' = B y1 y3 − C y4``, ``y3' = y2' − y4'``.

    ``A = 7.89·10⁻¹⁰``, ``B = 1.1·10⁷``, ``C = 1.13·10³``, ``M = 10⁶``, ``y(0) = (1.76·10⁻³, 0, 0, 0)`` on
    ``[0, 10¹³]``: a slow decomposition ``A`` feeding three fast reactions, observed at log-spaced times.
    The fast rates are ``B y1`` (≈ 2·10⁴ early, the largest eigenvalue) and ``C`` (≈ 10³, thereafter);
    ``MC y2 y3`` is fast only in name, since ``y2 y3`` is tiny, and M scales the late ``y2 ≈ y3 ≈ 1/(MC t)``.
    The knob is ``B``, which scales the early stiffness (|λ| up to ≈ 2·10⁸ at ``B = 1.1·10¹¹``) and leaves
    the late solution nearly unchanged.

    Since ``y3' = y2' − y4'``, ``y2 − y3 − y4 = 0`` for all t; integrators keep it only up to rounding, and
    the drift (~10⁻²⁵ absolute in double precision) is visible against ``y2 ≈ y3 ≈ 10⁻²²`` at ``t = 10¹³``:
    computed y2 and y3 there agree with the reference only to ~10⁻³ relative, their mean far better.
    """

    name: str = "e5"
    citation: str = (
        "W. H. Enright, T. E. Hull and B. Lindberg, Comparing numerical methods for stiff systems of O.D.E.s, "
        "BIT 15 (1975), 10-48 (problem E5); Hairer & Wanner, Solving ODEs II, 2nd ed. (1996), IV.10; "
        "Mazzia & Magherini, Test Set for IVP Solvers, release 2.4 (2008), problem E5"
    )
    parameters: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"A": 7.89e-10, "B": 1.1e7, "C": 1.13e3, "M": 1e6}
    )
    fast_parameters: tuple[str, ...] = ("B", "C")
    t0: float = 0.0
    y0: tuple[float, ...] = (1.76e-3, 0.0, 0.0, 0.0)
    ts: tuple[float, ...] = (1e1, 1e3, 1e5, 1e7, 1e9, 1e11, 1e13)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("B", (1.1e3, 1.1e5, 1.1e7, 1.1e9, 1.1e11), (1.0, 1e13))
    )
    reference: ReferenceSolution | None = REFERENCE
    reference_atol: float = 1e-32  # y2…y4 fall to ~1e-22 at t = 1e13

    def vector_field(self, t, y, params):
        A, B, C, M = params["A"], params["B"], params["C"], params["M"]
        decay, pyro, combine, release = A * y[0], B * y[0] * y[2], M * C * y[1] * y[2], C * y[3]
        dy2, dy4 = decay - combine, pyro - release
        return jnp.stack([-decay - pyro, dy2, dy2 - dy4, dy4])


@hookimpl
def register_problems(register):
    register(E5())
