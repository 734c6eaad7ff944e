import math

from stiffbench import ButcherTableau, hookimpl
from stiffbench.engines.runge_kutta import ImplicitRungeKutta

g = 1 - 1 / math.sqrt(2)  # L-stable two-stage SDIRK of order 2


@hookimpl
def register_integrators(register):
    register(ImplicitRungeKutta(
        name="my-sdirk2", order=2, citation="Alexander, SIAM J. Numer. Anal. 14 (1977)",
        tableau=ButcherTableau(A=[[g, 0], [1 - g, g]], b=[1 - g, g], c=[g, 1])))
