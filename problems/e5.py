"""E5: Enright, Hull and Lindberg's chemical pyrolysis problem, stiff over 13 decades of time (4 equations)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl


@final
@dataclasses.dataclass(frozen=True)
class E5(AbstractProblem):
    """``y1' = −A y1 − B y1 y3``, ``y2' = A y1 − MC y2 y3``, ``y4' = B y1 y3 − C y4``, ``y3' = y2' − y4'``.

    ``A = 7.89·10⁻¹⁰``, ``B = 1.1·10⁷``, ``C = 1.13·10³``, ``M = 10⁶``, ``y(0) = (1.76·10⁻³, 0, 0, 0)`` on
    ``[0, 10¹³]``: a slow decomposition ``A`` feeding three fast reactions, observed at log-spaced times.
    ``B``, ``C`` and ``M`` set the fast rates; the knob is ``M`` (it scales only the fastest reaction,
    ``MC y2 y3``).
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
    fast_parameters: tuple[str, ...] = ("B", "C", "M")
    t0: float = 0.0
    y0: tuple[float, ...] = (1.76e-3, 0.0, 0.0, 0.0)
    ts: tuple[float, ...] = (1e1, 1e3, 1e5, 1e7, 1e9, 1e11, 1e13)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("M", (1e2, 1e4, 1e6, 1e8), (1.0, 1e10))
    )
    reference: ReferenceSolution | None = ReferenceSolution((), (), "")

    def vector_field(self, t, y, params):
        A, B, C, M = params["A"], params["B"], params["C"], params["M"]
        decay, pyro, combine, release = A * y[0], B * y[0] * y[2], M * C * y[1] * y[2], C * y[3]
        dy2, dy4 = decay - combine, pyro - release
        return jnp.stack([-decay - pyro, dy2, dy2 - dy4, dy4])


@hookimpl
def register_problems(register):
    register(E5())
