"""Robertson's chemical kinetics, the classic stiff test problem, on two time spans."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl

CITATION = (
    "H. H. Robertson, The solution of a set of reaction rate equations, in J. Walsh (ed.), Numerical Analysis: "
    "an Introduction, Academic Press (1966), 178-182; Hairer & Wanner, Solving ODEs II, 2nd ed. (1996), IV.1 "
    "and IV.10 (ROBER); Mazzia & Magherini, Test Set for IVP Solvers, release 2.4 (2008), problem ROBER"
)

PLACEHOLDER = ReferenceSolution((), (), "")


@final
@dataclasses.dataclass(frozen=True)
class Robertson(AbstractProblem):
    """``A → B`` (k1), ``2B → B + C`` (k2), ``B + C → A + C`` (k3), from ``y(0) = (1, 0, 0)``.

    ``y1' = −k1 y1 + k3 y2 y3``, ``y2' = k1 y1 − k3 y2 y3 − k2 y2²``, ``y3' = k2 y2²`` with the classic
    rates ``k1 = 0.04``, ``k2 = 3·10⁷``, ``k3 = 10⁴``. The fast rates k2 and k3 keep the intermediate
    ``y2`` at ~10⁻⁵ on the time scale 1/k1 of the slow reaction.

    Mass is conserved: ``y1 + y2 + y3 = 1`` for all parameters, so the sensitivity of the sum is exactly
    zero. The observable is nonetheless the whole state ``y``; the three sensitivities of one parameter
    sum to zero, which a solver need not reproduce beyond its tolerance.

    The stiffness knob is ``k2``: the fast eigenvalue near the peak of ``y2`` is about ``−2√(k1 k2)``, so
    scanning k2 over 10⁶ scales the early stiffness by 10³ while the slow chemistry keeps its limit
    (``y2 → 0`` and ``y3' → k1 y1`` as ``k2 → ∞``), and the gradient with respect to log k2 decays like
    ``k2^(−1/2)`` — the vanishing fast-parameter gradient the benchmark measures. Scanning k3 instead
    would freeze the slow reaction as ``k3 → ∞`` (the back-reaction cancels it), changing the problem.
    """

    name: str = "robertson-40"
    citation: str = CITATION
    parameters: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"k1": 0.04, "k2": 3e7, "k3": 1e4}
    )
    fast_parameters: tuple[str, ...] = ("k2", "k3")
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0, 0.0, 0.0)
    ts: tuple[float, ...] = (0.4, 4.0, 40.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("k2", (3e3, 3e5, 3e7, 3e9), (3e1, 3e11))
    )
    reference: ReferenceSolution | None = PLACEHOLDER

    def vector_field(self, t, y, params):
        k1, k2, k3 = params["k1"], params["k2"], params["k3"]
        r1, r2, r3 = k1 * y[0], k2 * y[1] ** 2, k3 * y[1] * y[2]
        return jnp.stack([-r1 + r3, r1 - r2 - r3, r2])


@hookimpl
def register_problems(register):
    register(Robertson())
