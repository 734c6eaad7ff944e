"""POLLU: Verwer's air-pollution chemistry, 20 species and 25 reactions, from the stiff test set."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl

RATES = {
    "k1": 0.35, "k2": 26.6, "k3": 1.23e4, "k4": 8.6e-4, "k5": 8.2e-4, "k6": 1.5e4, "k7": 1.3e-4,
    "k8": 2.4e4, "k9": 1.65e4, "k10": 9e3, "k11": 2.2e-2, "k12": 1.2e4, "k13": 1.88, "k14": 1.63e4,
    "k15": 4.8e6, "k16": 3.5e-4, "k17": 1.75e-2, "k18": 1e8, "k19": 4.44e11, "k20": 1.24e3,
    "k21": 2.1, "k22": 5.78, "k23": 4.74e-2, "k24": 1.78e3, "k25": 3.12,
}
"""The Test Set's rate constants (pollu.f), in its units (ppm and minutes)."""


REFERENCE = ReferenceSolution(
    ts=(60.0,),
    ys=((0.5646255480022769e-01, 0.1342484130422339e+00, 0.4139734331099427e-08, 0.5523140207484359e-02,
         0.2018977262302196e-06, 0.1464541863493966e-06, 0.7784249118997964e-01, 0.3245075353396018e+00,
         0.7494013383880406e-02, 0.1622293157301561e-07, 0.1135863833257075e-07, 0.2230505975721359e-02,
         0.2087162882798630e-03, 0.1396921016840158e-04, 0.8964884856898295e-02, 0.4352846369330103e-17,
         0.6899219696263405e-02, 0.1007803037365946e-03, 0.1772146513969984e-05, 0.5682943292316392e-04),),
    source=(
        "published: Mazzia & Magherini, Test Set for IVP Solvers, release 2.4, POLLU (pollu.f solut: true double "
        "precision RADAU5 on a Cray C90, uround = 1.01e-19, rtol = atol = h0 = 1.1e-18)"
    ),
)


@final
@dataclasses.dataclass(frozen=True)
class Pollution(AbstractProblem):
    """The atmospheric chemistry of an air-pollution model of the Dutch RIVM, as in the Test Set.

    Species (ppm): NO2, NO, O3P, O3, HO2, OH, HCHO, CO, ALD, MEO2, C2O3, CO2, PAN, CH3O, HNO3, O1D, SO2,
    SO4, NO3, N2O5; 25 reactions with rate constants ``k1 … k25`` (first or second order), on ``[0, 60]``
    minutes. The fast parameters are the three first-order rates that set the largest eigenvalues:
    ``k15 = 4.8·10⁶`` (O3P), ``k18 = 10⁸`` and ``k19 = 4.44·10¹¹`` (O1D, largest eigenvalue ≈ −4.4·10¹¹).
    The knob is ``k19``: as it grows the O1D level follows ``k16 y4/(k18 + k19)`` and the slow species
    lose their dependence on it.
    """

    name: str = "pollu"
    citation: str = (
        "J. G. Verwer, Gauss-Seidel iteration for stiff ODEs from chemical kinetics, SIAM J. Sci. Comput. 15 "
        "(1994), 1243-1250; Mazzia & Magherini, Test Set for IVP Solvers, release 2.4 (2008), problem POLLU"
    )
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(RATES))
    fast_parameters: tuple[str, ...] = ("k15", "k18", "k19")
    t0: float = 0.0
    y0: tuple[float, ...] = (
        0.0, 0.2, 0.0, 0.04, 0.0, 0.0, 0.1, 0.3, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.007, 0.0, 0.0, 0.0,
    )
    ts: tuple[float, ...] = (0.1, 1.0, 10.0, 60.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("k19", (4.44e5, 4.44e7, 4.44e9, 4.44e11, 4.44e13), (1.0, 1e16))
    )
    reference: ReferenceSolution | None = REFERENCE
    reference_atol: float = 1e-26  # y16 is ~4e-18

    def vector_field(self, t, y, params):
        # 1-based lists, so that the lines below read as pollu.f's feval, term for term
        k = [None, *(params[f"k{j}"] for j in range(1, 26))]
        y = [None, *(y[i] for i in range(20))]
        r = [None,
             k[1] * y[1], k[2] * y[2] * y[4], k[3] * y[5] * y[2], k[4] * y[7], k[5] * y[7],
             k[6] * y[7] * y[6], k[7] * y[9], k[8] * y[9] * y[6], k[9] * y[11] * y[2], k[10] * y[11] * y[1],
             k[11] * y[13], k[12] * y[10] * y[2], k[13] * y[14], k[14] * y[1] * y[6], k[15] * y[3],
             k[16] * y[4], k[17] * y[4], k[18] * y[16], k[19] * y[16], k[20] * y[17] * y[6],
             k[21] * y[19], k[22] * y[19], k[23] * y[1] * y[4], k[24] * y[19] * y[1], k[25] * y[20]]
        return jnp.stack([
            -r[1] - r[10] - r[14] - r[23] - r[24] + r[2] + r[3] + r[9] + r[11] + r[12] + r[22] + r[25],
            -r[2] - r[3] - r[9] - r[12] + r[1] + r[21],
            -r[15] + r[1] + r[17] + r[19] + r[22],
            -r[2] - r[16] - r[17] - r[23] + r[15],
            -r[3] + r[4] + r[4] + r[6] + r[7] + r[13] + r[20],
            -r[6] - r[8] - r[14] - r[20] + r[3] + r[18] + r[18],
            -r[4] - r[5] - r[6] + r[13],
            r[4] + r[5] + r[6] + r[7],
            -r[7] - r[8],
            -r[12] + r[7] + r[9],
            -r[9] - r[10] + r[8] + r[11],
            r[9],
            -r[11] + r[10],
            -r[13] + r[12],
            r[14],
            -r[18] - r[19] + r[16],
            -r[20],
            r[20],
            -r[21] - r[22] - r[24] + r[23] + r[25],
            -r[25] + r[24],
        ])


@hookimpl
def register_problems(register):
    register(Pollution())
