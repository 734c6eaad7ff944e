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
TS = (0.01, 0.04, 0.1, 0.4, 1.0, 2.0, 4.0, 10.0, 20.0, 40.0)
"""Ten observation times: 30 observations (20 independent, mass being conserved) for the 16 weights."""
Y2_SCALE = 3.6e-5
"""The network sees ``y2 / Y2_SCALE`` (``y2`` peaks near ``3.6·10⁻⁵``), so that both inputs are of order one."""
REFERENCE = ReferenceSolution(
    ts=TS,
    ys=(
        (0.9996002146689905, 3.649504762107572e-05, 0.000363290283387723),
        (0.9984037604992538, 3.642869262321676e-05, 0.001559810808122304),
        (0.9960238674338889, 3.6296519349453226e-05, 0.00393983604676091),
        (0.9843796893185225, 3.5646212194871595e-05, 0.015584664469282122),
        (0.9623087158471834, 3.4396336311920106e-05, 0.037656887816503996),
        (0.9288132273655663, 3.245263129590869e-05, 0.07115432000313768),
        (0.8722425790245275, 2.902381821682718e-05, 0.1277283971572559),
        (0.759129400820701, 2.152929378545386e-05, 0.24084906988551277),
        (0.6636382618581517, 1.480699777155987e-05, 0.33634693114407643),
        (0.5794407120462133, 9.664485666082647e-06, 0.4205496234681208),
    ),
    source="computed: scipy 1.17.1 solve_ivp Radau, rtol=1e-13, atol=1e-20, Jacobian by jax.jacfwd; rtol=1e-11 "
           "agrees to 1.6e-12 (relative)",
)


@final
@dataclasses.dataclass(frozen=True)
class RobertsonNeural(AbstractProblem):
    """Robertson-40 with the rate of ``B + C → A + C`` multiplied by ``exp(m)``, ``m`` a 2–4–1 tanh network of the
    substrate ``y1`` and the fast intermediate ``y2``.

    ``y1' = −k1 y1 + r3``, ``y2' = k1 y1 − k2 y2² − r3``, ``y3' = k2 y2²`` with ``r3 = k3 y2 y3 · exp(m)``,
    ``m = W2 tanh(W1 (y1, y2/Y2_SCALE) + b1)``. The network's 16 weights are array parameters (not
    log-transformed); the rates keep their log parameterisation. The MLP modulates a fast reaction (``k3 = 10⁴``),
    so its weights are fast parameters in the sense of the benchmark: the slow chemistry sees them only through
    the quasi-steady ``y2``. At the true weights ``exp(m)`` falls from 0.55 to 0.22 along the solution. Mass
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
    ts: tuple[float, ...] = TS
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("k2", (3e3, 3e5, 3e7, 3e9), (3e1, 3e11))
    )
    reference: ReferenceSolution | None = REFERENCE
    weights: Mapping[str, Weights] = dataclasses.field(default_factory=lambda: dict(WEIGHTS))

    def vector_field(self, t, y, params):
        k1, k2, k3 = params["k1"], params["k2"], params["k3"]
        hidden = jnp.tanh(params["W1"] @ jnp.stack([y[0], y[1] / Y2_SCALE]) + params["b1"])
        m = (params["W2"] @ hidden)[0]
        r1, r2, r3 = k1 * y[0], k2 * y[1] ** 2, k3 * y[1] * y[2] * jnp.exp(m)
        return jnp.stack([-r1 + r3, r1 - r2 - r3, r2])


@hookimpl
def register_problems(register):
    register(RobertsonNeural())
