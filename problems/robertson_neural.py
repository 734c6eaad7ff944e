"""Robertson's kinetics with one fast reaction's rate law learned: a small stiff neural ODE."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl
from stiffbench.contracts.problem import Weights
from stiffbench.problems.robertson import CITATION

# The true weights: drawn once (numpy default_rng(12): N(0, 0.8²), N(0, 0.3²), N(0, 0.5²)), rounded to three
# decimals and written out, so they do not depend on a random generator's version. The network has no output bias:
# one would enter only as k3·e^(b2), so that k3 and it could not both be identified.
WEIGHTS: dict[str, Weights] = {
    "W1": ((-0.005, 0.837), (0.593, 0.579), (1.295, -0.964), (-0.502, -1.057)),
    "b1": (-0.032, 0.3, -0.007, 0.149),
    "W2": ((-0.955, 0.074, -0.453, 0.888),),
}
REFERENCE = ReferenceSolution(
    ts=(0.4, 4.0, 40.0),
    ys=(
        (0.984717474145159, 3.489069754284111e-05, 0.015247635157298529),
        (0.8871066835665431, 2.631798448833228e-05, 0.11286699844896884),
        (0.5931014614668768, 1.1430985990441226e-05, 0.40688710754713436),
    ),
    source="computed: scipy 1.17.1 solve_ivp Radau, rtol=1e-13, atol=1e-20, Jacobian by jax.jacfwd; rtol=1e-11 "
           "agrees to 1.1e-12 (relative)",
)


@final
@dataclasses.dataclass(frozen=True)
class RobertsonNeural(AbstractProblem):
    """Robertson-40 with the rate of ``B + C → A + C`` multiplied by ``exp(m(y1, y3))``, ``m`` a 2–4–1 tanh network.

    ``y1' = −k1 y1 + r3``, ``y2' = k1 y1 − k2 y2² − r3``, ``y3' = k2 y2²`` with ``r3 = k3 y2 y3 · exp(m)``,
    ``m(y1, y3) = W2 tanh(W1 (y1, y3) + b1)``. The network's 16 weights are array parameters (not
    log-transformed); the rates keep their log parameterisation. The MLP modulates a fast reaction (``k3 = 10⁴``),
    so its weights are fast parameters in the sense of the benchmark: the slow chemistry sees them only through
    the quasi-steady ``y2``. At the true weights ``exp(m)`` lies between 0.43 and 0.55 along the solution. Mass
    is conserved for every weight, as in Robertson. The stiffness knob is ``k2``, as for ``robertson-40``.
    """

    name: str = "robertson-neural"
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
    reference: ReferenceSolution | None = REFERENCE
    weights: Mapping[str, Weights] = dataclasses.field(default_factory=lambda: dict(WEIGHTS))

    def vector_field(self, t, y, params):
        k1, k2, k3 = params["k1"], params["k2"], params["k3"]
        hidden = jnp.tanh(params["W1"] @ jnp.stack([y[0], y[2]]) + params["b1"])
        m = (params["W2"] @ hidden)[0]
        r1, r2, r3 = k1 * y[0], k2 * y[1] ** 2, k3 * y[1] * y[2] * jnp.exp(m)
        return jnp.stack([-r1 + r3, r1 - r2 - r3, r2])


@hookimpl
def register_problems(register):
    register(RobertsonNeural())
