"""The Rosenbrock catalog: ROS2, ROS3P and RODAS4 on the engine of :mod:`stiffbench.engines.rosenbrock`.

Coefficients in the standard form of Hairer & Wanner II, IV.7 (the theory's ``A = α + γ``); each cites its source.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

from stiffbench import hookimpl
from stiffbench.engines.rosenbrock import Rosenbrock
from stiffbench.theory import RosenbrockMethod

GAMMA_ROS2 = 1 + 1 / math.sqrt(2)
GAMMA_ROS3P = (3 + math.sqrt(3)) / 6

INTEGRATORS = (
    Rosenbrock(
        name="ros2",
        method=RosenbrockMethod(
            alpha=[[0, 0], [1, 0]],
            gamma=[[GAMMA_ROS2, 0], [-2 * GAMMA_ROS2, GAMMA_ROS2]],
            b=[F(1, 2), F(1, 2)],
            b_embedded=[1, 0],
        ),
        order=2,
        citation="ROS2, gamma = 1 + 1/sqrt(2); L-stable. Verwer, Spee, Blom & Hundsdorfer, "
        "SIAM J. Sci. Comput. 20 (1999)",
    ),
    Rosenbrock(
        name="ros3p",
        method=RosenbrockMethod(
            alpha=[[0, 0, 0], [1, 0, 0], [1, 0, 0]],
            gamma=[[GAMMA_ROS3P, 0, 0], [-1, GAMMA_ROS3P, 0],
                   [-GAMMA_ROS3P, -(0.5 + math.sqrt(3) / 3), GAMMA_ROS3P]],
            b=[F(2, 3), 0, F(1, 3)],
            b_embedded=[F(1, 3), F(1, 3), F(1, 3)],
        ),
        order=3,
        citation="ROS3P; A-stable, R(inf) = 1 - sqrt(3), no order reduction for parabolic PDEs. "
        "Lang & Verwer, BIT 41 (2001)",
    ),
    Rosenbrock(
        name="rodas4",
        # Converted exactly to the standard form from the transformed coefficients of rodas.f.
        method=RosenbrockMethod(
            alpha=[
                [0, 0, 0, 0, 0, 0],
                [0.386, 0, 0, 0, 0, 0],
                [0.1460747075254179, 0.0639252924745821, 0, 0, 0, 0],
                [-0.3308115036677301, 0.7111510251682848, 0.24966047849944542, 0, 0, 0],
                [-4.552557186318031, 1.7101813632413319, 4.014347332103172, -0.17197150902647376, 0, 0],
                [2.4286337654669876, -0.38274873376478463, -1.8557203309295804, 0.5598352992273763, 0.25, 0],
            ],
            gamma=[
                [0.25, 0, 0, 0, 0, 0],
                [-0.3543, 0.25, 0, 0, 0, 0],
                [-0.13360250526817555, -0.012897494731824468, 0.25, 0, 0, 0],
                [1.526849173006467, -0.5336562887504572, -1.27939288425601, 0.25, 0, 0],
                [6.981190951785019, -2.0929300970061164, -5.870067663032753, 0.73180680825385, 0.25, 0],
                [-2.0801894941809365, 0.5957623556766833, 1.701617798267262, -0.08851451983588043,
                 -0.3786761399271284, 0.25],
            ],
            b=[0.34844427128605154, 0.2130136219118987, -0.15410253266231846, 0.4713207793914958,
               -0.12867613992712837, 0.25],
            b_embedded=[2.4286337654669876, -0.38274873376478463, -1.8557203309295804, 0.5598352992273763,
                        0.25, 0.0],
        ),
        order=4,
        citation="RODAS4, 6 stages, order 4, embedded order 3; L-stable, stiffly accurate. "
        "Hairer & Wanner II, VI.4 (code rodas.f)",
    ),
)


@hookimpl
def register_integrators(register):
    for integrator in INTEGRATORS:
        register(integrator)
