"""Method-of-lines problems with a size knob: a 1-D reaction–diffusion equation and the 2-D Brusselator.

Their stiffness grows with the grid (the fastest diffusion mode decays at about ``4·D·d/Δx²`` in ``d``
dimensions), and so does the linear algebra an implicit step needs; both declare their banded Jacobian, so that
an integrator can build and factor it in work proportional to the number of states. No closed form or published
values exist at these sizes: references are tight solves (cached, their source recorded with each measurement).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp
import numpy as np

from stiffbench import AbstractProblem, Banded, StiffnessKnob, hookimpl

MOL = "W. Hundsdorfer & J. Verwer, Numerical Solution of Time-Dependent Advection-Diffusion-Reaction Equations, " \
      "Springer (2003), I.1 and IV"


@final
@dataclasses.dataclass(frozen=True)
class ReactionDiffusion1D(AbstractProblem):
    """``u_t = D u_xx − k u²`` on ``0 < x < 1``, ``u = 1`` at both ends, from ``u(x, 0) = 1 + sin(πx)``.

    Second-order central differences on ``size`` interior points (``Δx = 1/(size + 1)``): a tridiagonal
    Jacobian ``D/Δx²·[1, −2, 1] − 2k·diag(u)``. The solution relaxes from its initial bump towards the steady
    profile of ``D u'' = k u²`` (a dip of width ``√(D/k)`` between the boundaries); the fastest mode decays at
    about ``4D/Δx²`` (4·10⁴ at 100 points, 4·10⁶ at 1000), which the stiffness knob ``D`` scales.
    """

    size: int = 64
    name: str = "reaction-diffusion-1d"
    citation: str = MOL
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"D": 0.1, "k": 10.0})
    fast_parameters: tuple[str, ...] = ("D",)
    t0: float = 0.0
    ts: tuple[float, ...] = (0.1, 1.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("D", (0.01, 0.1, 1.0), (1e-6, 1e6)))
    jacobian_structure: Banded | None = dataclasses.field(default_factory=lambda: Banded(1, 1))
    sizes: tuple[int, ...] = (64, 128, 256, 512, 1024)

    @property
    def y0(self) -> tuple[float, ...]:  # type: ignore[override]
        x = np.arange(1, self.size + 1) / (self.size + 1)
        return tuple((1.0 + np.sin(np.pi * x)).tolist())

    def resized(self, size: int) -> ReactionDiffusion1D:
        return dataclasses.replace(self, size=size, name=f"reaction-diffusion-1d-n{size}")

    def vector_field(self, t, y, params):
        dx2 = 1.0 / (self.size + 1) ** 2
        padded = jnp.concatenate([jnp.ones(1), y, jnp.ones(1)])
        return params["D"] * (padded[:-2] - 2 * y + padded[2:]) / dx2 - params["k"] * y**2


@final
@dataclasses.dataclass(frozen=True)
class Brusselator2D(AbstractProblem):
    """The Brusselator with diffusion on the unit square, zero flux at its edges (Hairer & Wanner's BRUSS-2D
    without its forcing, on a grid of ``size × size`` cell centres; ``2·size²`` states):

    ``u_t = A + u²v − (B + 1) u + α Δu``, ``v_t = B u − u²v + α Δv``, from ``u = 22 y (1 − y)^{3/2}``,
    ``v = 27 x (1 − x)^{3/2}``. The states are numbered by grid row, then column, then species, so the five-point
    Laplacian gives a band of ``2·size`` on either side. With ``B > 1 + A²`` the homogeneous state ``(A, B/A)``
    is unstable and the reaction oscillates; the fastest diffusion mode decays at about ``8α·size²``.
    """

    size: int = 8
    name: str = "brusselator-2d"
    citation: str = ("Hairer & Wanner, Solving ODEs II, 2nd ed. (1996), IV.10 (BRUSS-2D); I. Prigogine & R. Lefever, "
                     "J. Chem. Phys. 48 (1968) 1695")
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"A": 1.0, "B": 3.4, "alpha": 0.1})
    fast_parameters: tuple[str, ...] = ("alpha",)
    t0: float = 0.0
    ts: tuple[float, ...] = (0.5, 1.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("alpha", (0.01, 0.1, 1.0), (1e-6, 1e6)))
    sizes: tuple[int, ...] = (8, 16, 32, 64)

    @property
    def jacobian_structure(self) -> Banded:  # type: ignore[override]
        return Banded(2 * self.size, 2 * self.size)

    @property
    def y0(self) -> tuple[float, ...]:  # type: ignore[override]
        c = (np.arange(self.size) + 0.5) / self.size
        x, y = np.meshgrid(c, c)  # x along a row, y down the rows
        u, v = 22 * y * (1 - y) ** 1.5, 27 * x * (1 - x) ** 1.5
        return tuple(np.stack([u, v], axis=-1).reshape(-1).tolist())

    def resized(self, size: int) -> Brusselator2D:
        return dataclasses.replace(self, size=size, name=f"brusselator-2d-n{size}")

    def vector_field(self, t, y, params):
        n = self.size
        w = y.reshape(n, n, 2)
        # Zero flux: a ghost cell mirrors its neighbour across each edge.
        padded = jnp.pad(w, ((1, 1), (1, 1), (0, 0)), mode="edge")
        laplacian = (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:] - 4 * w) * n**2
        u, v = w[..., 0], w[..., 1]
        A, B = params["A"], params["B"]
        reaction = jnp.stack([A + u**2 * v - (B + 1) * u, B * u - u**2 * v], axis=-1)
        return (reaction + params["alpha"] * laplacian).reshape(-1)


@hookimpl
def register_problems(register):
    register(ReactionDiffusion1D())
    register(Brusselator2D())

