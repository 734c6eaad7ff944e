"""The Runge–Kutta catalog: each method is a tableau and a name for the engine of
:mod:`stiffbench.engines.runge_kutta`.

Irrational coefficients are the float64 values the engine computes with; the theory is derived from
exactly those numbers. Tableaus: Hairer & Wanner II (HW), Tables IV.5.x and IV.6.x.
"""

import math
from fractions import Fraction as F

from stiffbench import ButcherTableau, hookimpl
from stiffbench.engines.runge_kutta import ImplicitRungeKutta

HW = "Hairer & Wanner, Solving Ordinary Differential Equations II, 2nd ed., Springer 1996"
S3, S6, S15 = math.sqrt(3), math.sqrt(6), math.sqrt(15)
GAMMA_SDIRK2 = 1 - 1 / math.sqrt(2)
GAMMA_TRBDF2 = 2 - math.sqrt(2)

INTEGRATORS = (
    ImplicitRungeKutta(
        name="backward-euler",
        tableau=ButcherTableau(A=[[1]], b=[1], c=[1]),
        order=1,
        citation=f"Backward Euler = BDF1 = Radau IIA s=1; L-stable. {HW}, IV.3",
    ),
    ImplicitRungeKutta(
        name="trapezoid",
        # Lobatto IIIA with 2 stages: the first stage is explicit, the method is stiffly accurate.
        tableau=ButcherTableau(A=[[0, 0], [F(1, 2), F(1, 2)]], b=[F(1, 2), F(1, 2)], c=[0, 1]),
        order=2,
        citation=f"Trapezoidal rule (Lobatto IIIA, s=2); A-stable, R(inf) = -1. {HW}, IV.3",
    ),
    ImplicitRungeKutta(
        name="implicit-midpoint",
        tableau=ButcherTableau(A=[[F(1, 2)]], b=[1], c=[F(1, 2)]),
        order=2,
        citation=f"Implicit midpoint rule (Gauss s=1); A-stable, symplectic, R(inf) = -1. {HW}, IV.3",
    ),
    ImplicitRungeKutta(
        name="radau-iia-3",
        tableau=ButcherTableau(
            A=[[F(5, 12), F(-1, 12)], [F(3, 4), F(1, 4)]], b=[F(3, 4), F(1, 4)], c=[F(1, 3), 1]
        ),
        order=3,
        citation=f"Radau IIA, 2 stages, order 3; L-stable, stiffly accurate. {HW}, Table IV.5.5",
    ),
    ImplicitRungeKutta(
        name="radau-iia-5",
        tableau=ButcherTableau(
            A=[
                [(88 - 7 * S6) / 360, (296 - 169 * S6) / 1800, (-2 + 3 * S6) / 225],
                [(296 + 169 * S6) / 1800, (88 + 7 * S6) / 360, (-2 - 3 * S6) / 225],
                [(16 - S6) / 36, (16 + S6) / 36, F(1, 9)],
            ],
            b=[(16 - S6) / 36, (16 + S6) / 36, F(1, 9)],
            c=[(4 - S6) / 10, (4 + S6) / 10, 1],
        ),
        order=5,
        citation=f"Radau IIA, 3 stages, order 5 (the method of RADAU5); L-stable. {HW}, Table IV.5.6",
    ),
    ImplicitRungeKutta(
        name="gauss-4",
        tableau=ButcherTableau(
            A=[[F(1, 4), 0.25 - S3 / 6], [0.25 + S3 / 6, F(1, 4)]], b=[F(1, 2), F(1, 2)], c=[0.5 - S3 / 6, 0.5 + S3 / 6]
        ),
        order=4,
        citation=f"Gauss–Legendre, 2 stages, order 4; A-stable, R(inf) = 1. {HW}, Table IV.5.1",
    ),
    ImplicitRungeKutta(
        name="gauss-6",
        tableau=ButcherTableau(
            A=[
                [F(5, 36), 2 / 9 - S15 / 15, 5 / 36 - S15 / 30],
                [5 / 36 + S15 / 24, F(2, 9), 5 / 36 - S15 / 24],
                [5 / 36 + S15 / 30, 2 / 9 + S15 / 15, F(5, 36)],
            ],
            b=[F(5, 18), F(4, 9), F(5, 18)],
            c=[0.5 - S15 / 10, F(1, 2), 0.5 + S15 / 10],
        ),
        order=6,
        citation=f"Gauss–Legendre, 3 stages, order 6; A-stable, R(inf) = -1. {HW}, Table IV.5.2",
    ),
    ImplicitRungeKutta(
        name="lobatto-iiic-2",
        tableau=ButcherTableau(A=[[F(1, 2), F(-1, 2)], [F(1, 2), F(1, 2)]], b=[F(1, 2), F(1, 2)], c=[0, 1]),
        order=2,
        citation=f"Lobatto IIIC, 2 stages, order 2; L-stable, R' decays like |z|^-3. {HW}, Table IV.5.9",
    ),
    ImplicitRungeKutta(
        name="lobatto-iiic-4",
        tableau=ButcherTableau(
            A=[[F(1, 6), F(-1, 3), F(1, 6)], [F(1, 6), F(5, 12), F(-1, 12)], [F(1, 6), F(2, 3), F(1, 6)]],
            b=[F(1, 6), F(2, 3), F(1, 6)],
            c=[0, F(1, 2), 1],
        ),
        order=4,
        citation=f"Lobatto IIIC, 3 stages, order 4; L-stable. {HW}, Table IV.5.10",
    ),
    ImplicitRungeKutta(
        name="sdirk-2",
        tableau=ButcherTableau(
            A=[[GAMMA_SDIRK2, 0], [1 - GAMMA_SDIRK2, GAMMA_SDIRK2]],
            b=[1 - GAMMA_SDIRK2, GAMMA_SDIRK2],
            c=[GAMMA_SDIRK2, 1],
        ),
        order=2,
        citation="SDIRK, 2 stages, order 2, gamma = 1 - 1/sqrt(2); L-stable, stiffly accurate. "
        "Alexander, SIAM J. Numer. Anal. 14 (1977)",
    ),
    ImplicitRungeKutta(
        name="sdirk-4",
        tableau=ButcherTableau(
            A=[
                [F(1, 4), 0, 0, 0, 0],
                [F(1, 2), F(1, 4), 0, 0, 0],
                [F(17, 50), F(-1, 25), F(1, 4), 0, 0],
                [F(371, 1360), F(-137, 2720), F(15, 544), F(1, 4), 0],
                [F(25, 24), F(-49, 48), F(125, 16), F(-85, 12), F(1, 4)],
            ],
            b=[F(25, 24), F(-49, 48), F(125, 16), F(-85, 12), F(1, 4)],
            c=[F(1, 4), F(3, 4), F(11, 20), F(1, 2), 1],
            b_embedded=[F(59, 48), F(-17, 96), F(225, 32), F(-85, 12), 0],
        ),
        order=4,
        citation=f"SDIRK, 5 stages, order 4, gamma = 1/4, embedded order 3; L-stable. {HW}, Table IV.6.5",
    ),
    ImplicitRungeKutta(
        name="tr-bdf2",
        # A trapezoidal stage to gamma·h, then BDF2 through it, as a 3-stage ESDIRK (Hosea & Shampine).
        tableau=ButcherTableau(
            A=[
                [0, 0, 0],
                [GAMMA_TRBDF2 / 2, GAMMA_TRBDF2 / 2, 0],
                [math.sqrt(2) / 4, math.sqrt(2) / 4, GAMMA_TRBDF2 / 2],
            ],
            b=[math.sqrt(2) / 4, math.sqrt(2) / 4, GAMMA_TRBDF2 / 2],
            c=[0, GAMMA_TRBDF2, 1],
            b_embedded=[(1 - math.sqrt(2) / 4) / 3, (3 * math.sqrt(2) / 4 + 1) / 3, GAMMA_TRBDF2 / 6],
        ),
        order=2,
        citation="TR-BDF2, gamma = 2 - sqrt(2); L-stable, stiffly accurate. Bank et al., IEEE Trans. "
        "Electron Devices 32 (1985); Hosea & Shampine, Appl. Numer. Math. 20 (1996)",
    ),
)


@hookimpl
def register_integrators(register):
    for integrator in INTEGRATORS:
        register(integrator)


RADAU_IIA_5 = next(integrator for integrator in INTEGRATORS if integrator.name == "radau-iia-5")
