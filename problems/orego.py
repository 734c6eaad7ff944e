"""OREGO: the Oregonator, Field and Noyes' model of the Belousov–Zhabotinsky reaction (3 equations)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl

REFERENCE = ReferenceSolution(
    ts=(360.0,),
    ys=((0.1000814870318523e1, 0.1228178521549917e4, 0.1320554942846706e3),),
    source=(
        "published: Mazzia & Magherini, Test Set for IVP Solvers, release 2.4, OREGO (orego.f solut: double "
        "precision RADAU, uround = 1.01e-19, rtol = h0 = 1.1e-18, atol = 1.1e-40)"
    ),
)


@final
@dataclasses.dataclass(frozen=True)
class Oregonator(AbstractProblem):
    """``y1' = s (y2 − y1 y2 + y1 − q y1²)``, ``y2' = (y3 − y2 − y1 y2)/s``, ``y3' = w (y1 − y3)``.

    Field and Noyes' reduced parameters ``s = 77.27``, ``w = 0.161``, ``q = 8.375·10⁻⁶``; ``y(0) = (1, 2, 3)``
    on ``[0, 360]``, about one period of a relaxation oscillation: spikes near t ≈ 21 and t ≈ 323 in which y1
    reaches ~10⁵ (~1/q) and the largest eigenvalue ≈ −1.4·10⁵. The observation times lie off the spikes.
    ``s`` separates the time scales (y1 relaxes at a rate ~s, y2 at ~1/s), so it is the fast parameter and
    the stiffness knob, like μ for van der Pol; it also sets the period, so over the fixed span the
    stiffness met is not monotone in s (|λ|max ≈ 6·10⁴, 1.4·10⁵, 1.8·10⁵ at s = 7.727, 77.27, 772.7, the
    last without a full period), and the gradient with respect to log s does not vanish.
    """

    name: str = "orego"
    citation: str = (
        "R. J. Field and R. M. Noyes, Oscillations in chemical systems IV: limit cycle behavior in a model of "
        "a real chemical reaction, J. Chem. Phys. 60 (1974), 1877-1884; Hairer & Wanner, Solving ODEs II, "
        "2nd ed. (1996), IV.10 (OREGO); Mazzia & Magherini, Test Set for IVP Solvers, release 2.4 (2008), "
        "problem OREGO"
    )
    parameters: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"s": 77.27, "w": 0.161, "q": 8.375e-6}
    )
    fast_parameters: tuple[str, ...] = ("s",)
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0, 2.0, 3.0)
    ts: tuple[float, ...] = (30.0, 90.0, 180.0, 360.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("s", (7.727, 77.27, 772.7), (1.0, 1e4))
    )
    reference: ReferenceSolution | None = REFERENCE

    def vector_field(self, t, y, params):
        s, w, q = params["s"], params["w"], params["q"]
        return jnp.stack([
            s * (y[1] + y[0] * (1 - q * y[0] - y[1])),
            (y[2] - (1 + y[0]) * y[1]) / s,
            w * (y[0] - y[2]),
        ])


@hookimpl
def register_problems(register):
    register(Oregonator())
