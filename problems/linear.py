"""Dahlquist's test equation ``y' = λ y`` as a problem, with its exact solution and sensitivity."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractLinearProblem, StiffnessKnob, hookimpl


@final
@dataclasses.dataclass(frozen=True)
class Linear(AbstractLinearProblem):
    """``y' = λ y``, ``y(0) = 1``: ``y(t) = e^{λt}``, ``∂y/∂log(−λ) = λ t e^{λt}``.

    The parameter ``rate = −λ > 0`` is the fast rate and the stiffness knob (log-parameters need a
    positive value). Dahlquist, BIT 3 (1963); Hairer & Wanner II, IV.2.
    """

    name: str = "linear"
    citation: str = "Dahlquist, A special stability problem for linear multistep methods, BIT 3 (1963)"
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"rate": 1.0})
    fast_parameters: tuple[str, ...] = ("rate",)
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0,)
    ts: tuple[float, ...] = (0.25, 0.5, 1.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("rate", (1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6), (1e-12, 1e12))
    )

    def vector_field(self, t, y, params):
        return -params["rate"] * y

    def matrix(self, params):
        return -params["rate"] * jnp.eye(1)

    def solution(self, ts, params):
        return jnp.asarray(self.y0) * jnp.exp(-params["rate"] * jnp.asarray(ts))[:, None]

    def sensitivity(self, ts, params):
        ts = jnp.asarray(ts)[:, None]
        return {"rate": -params["rate"] * ts * jnp.asarray(self.y0) * jnp.exp(-params["rate"] * ts)}


@hookimpl
def register_problems(register):
    register(Linear())
