import dataclasses
from collections.abc import Mapping

import jax.numpy as jnp

from stiffbench import AbstractProblem, StiffnessKnob, hookimpl


@dataclasses.dataclass(frozen=True)
class ProtheroRobinson(AbstractProblem):
    """y' = -k (y - sin t) + cos t, y(0) = 1: y = sin t + e^(-kt), a fast transient onto a slow solution."""

    name: str = "prothero-robinson"
    citation: str = "Prothero & Robinson, Math. Comp. 28 (1974)"
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"k": 1e3})
    fast_parameters: tuple[str, ...] = ("k",)
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0,)
    ts: tuple[float, ...] = (0.1, 1.0, 2.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("k", (1.0, 1e2, 1e4, 1e6), valid=(1e-3, 1e9))
    )

    def vector_field(self, t, y, params):
        return -params["k"] * (y - jnp.sin(t)) + jnp.cos(t)


@hookimpl
def register_problems(register):
    register(ProtheroRobinson())
