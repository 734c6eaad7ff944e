"""HIRES: the High Irradiance RESponse of photomorphogenesis, from the stiff test set (8 equations)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl

T_END = 321.8122


REFERENCE = ReferenceSolution(
    ts=(T_END,),
    ys=((0.7371312573325668e-3, 0.1442485726316185e-3, 0.5888729740967575e-4, 0.1175651343283149e-2,
         0.2386356198831331e-2, 0.6238968252742796e-2, 0.2849998395185769e-2, 0.2850001604814231e-2),),
    source=(
        "published: Mazzia & Magherini, Test Set for IVP Solvers, release 2.4, HIRES (hires.f solut: true double "
        "precision RADAU5 on a Cray C90, uround = 1.01e-19, rtol = atol = h0 = 1.1e-18)"
    ),
)


@final
@dataclasses.dataclass(frozen=True)
class Hires(AbstractProblem):
    """Schäfer's model of how light drives plant morphogenesis through phytochrome, 8 species.

    The rate constants are named as in the Test Set's parameterised source (R package deTestSet):
    ``k1 = 1.71``, ``k2 = 0.43``, ``k3 = k6 = 8.32``, ``k4 = k8 = k9 = 0.69``, ``k5 = 0.035``,
    ``k7 = 280`` and the source term ``oks = 0.0007``; at these values the right-hand side is the
    Test Set's term for term (``8.75 = k2 + k3``, ``10.03 = k6 + k1``, ``1.81 = k2 + k8 + k9``, ..., equal
    up to a rounding of the last bit).
    Only ``k7`` multiplies a product of species (``PfrX2 + E → PfrX2E``), and its rate ``k7·y8`` sets the
    largest eigenvalue (≈ −2·10² near t = 10; the linear part alone reaches only ≈ −10): ``k7`` is the fast
    parameter and the stiffness knob, scaling |λ|max linearly, while ``y(t_end)`` tends to a limit as
    ``k7 → ∞`` (the binding equilibrates), so its gradient vanishes.
    """

    name: str = "hires"
    citation: str = (
        "E. Schäfer, A new approach to explain the 'high irradiance responses' of photomorphogenesis on the "
        "basis of phytochrome, J. Math. Biology 2 (1975), 41-56; Hairer & Wanner, Solving ODEs II, 2nd ed. "
        "(1996), IV.10 (HIRES); Mazzia & Magherini, Test Set for IVP Solvers, release 2.4 (2008), problem HIRES"
    )
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {
        "k1": 1.71, "k2": 0.43, "k3": 8.32, "k4": 0.69, "k5": 0.035,
        "k6": 8.32, "k7": 280.0, "k8": 0.69, "k9": 0.69, "oks": 0.0007,
    })
    fast_parameters: tuple[str, ...] = ("k7",)
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057)
    ts: tuple[float, ...] = (1.0, 10.0, 100.0, T_END)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("k7", (2.8, 28.0, 280.0, 2.8e3, 2.8e4, 2.8e5), (1e-3, 1e8))
    )
    reference: ReferenceSolution | None = REFERENCE

    def vector_field(self, t, y, params):
        k1, k2, k3, k4, k5 = (params[f"k{i}"] for i in range(1, 6))
        k6, k7, k8, k9, oks = params["k6"], params["k7"], params["k8"], params["k9"], params["oks"]
        bind = k7 * y[5] * y[7]
        release = (k2 + k8 + k9) * y[6]
        return jnp.stack([
            -k1 * y[0] + k2 * y[1] + k6 * y[2] + oks,
            k1 * y[0] - (k2 + k3) * y[1],
            -(k6 + k1) * y[2] + k2 * y[3] + k5 * y[4],
            k3 * y[1] + k1 * y[2] - (k4 + k2) * y[3],
            -(k5 + k1) * y[4] + k2 * (y[5] + y[6]),
            -bind + k8 * y[3] + k1 * y[4] - k2 * y[5] + k8 * y[6],
            bind - release,
            -bind + release,
        ])


@hookimpl
def register_problems(register):
    register(Hires())
