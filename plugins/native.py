"""Native JAX implicit Runge–Kutta methods: each is a tableau and a name for the generic engine."""

from fractions import Fraction as F

from stiffbench import ButcherTableau, hookimpl
from stiffbench.plugins.implicit_rk import ImplicitRungeKutta

HAIRER_WANNER = "Hairer & Wanner, Solving Ordinary Differential Equations II, 2nd ed., Springer 1996"

INTEGRATORS = (
    ImplicitRungeKutta(
        name="backward-euler",
        tableau=ButcherTableau(A=[[1]], b=[1], c=[1]),
        order=1,
        citation=f"Backward Euler = BDF1 = Radau IIA s=1; L-stable. {HAIRER_WANNER}, IV.3",
    ),
    ImplicitRungeKutta(
        name="trapezoid",
        # Lobatto IIIA with 2 stages: the first stage is explicit, the method is stiffly accurate.
        tableau=ButcherTableau(A=[[0, 0], [F(1, 2), F(1, 2)]], b=[F(1, 2), F(1, 2)], c=[0, 1]),
        order=2,
        citation=f"Trapezoidal rule (Lobatto IIIA, s=2); A-stable, R(inf) = -1. {HAIRER_WANNER}, IV.3",
    ),
)


@hookimpl
def register_integrators(register):
    for integrator in INTEGRATORS:
        register(integrator)
