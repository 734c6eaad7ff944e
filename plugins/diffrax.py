"""The diffrax catalog: diffrax's implicit Runge–Kutta solvers (ESDIRKs, the implicit halves of the KenCarp IMEX
pairs, backward Euler) with explicit controls (Tsit5, Dopri5, Heun) so that "not A-stable" shows in the same
table, on the adapter of :mod:`stiffbench.engines.diffrax_adapter`. Every theory is the solver class's own
tableau, so the measurement compares diffrax's code with diffrax's coefficients.

diffrax's default root finder is a chord iteration (``VeryChord``); Kvaerno5 is registered a second time with
``optimistix.Newton`` (``diffrax-kvaerno5-newton``), because the root finder decides much of its cost on stiff
problems: on robertson-40 (``stiffbench run --config configs/work-precision.toml``) the chord iteration takes
380–600 steps, half of them rejected, at every rtol from 1e-3 to 1e-10 (434 steps, 279 rejected at 1e-8), and
Newton 12 to 439 steps as the tolerance asks (98, 4 rejected at 1e-8). One variant, not one per solver: every
integrator adds cells to the default sweep. ``optimistix.Newton`` stops on a Cauchy test that asks the residual to
be below ``atol`` in absolute terms; the stage residual's rounding grows like ``ε|z|²``, so from ``|z| ~ 10³`` on
it reports a failed solve at an exact iterate (docs/theory.md §6, "The default sweep").
"""

from __future__ import annotations

import diffrax
import optimistix as optx

from stiffbench import ButcherTableau, hookimpl
from stiffbench.engines.diffrax_adapter import ROOT_ATOL, ROOT_RTOL, DiffraxIntegrator, root_finder, tableau_of

KVAERNO = "Kværnø, Singly diagonally implicit Runge–Kutta methods with an explicit first stage, BIT 44 (2004)"
KENNEDY_CARPENTER = (
    "Kennedy & Carpenter, Additive Runge–Kutta schemes for convection–diffusion–reaction equations, "
    "Appl. Numer. Math. 44 (2003)"
)
KIDGER = "Kidger, On Neural Differential Equations, PhD thesis, Oxford 2021 (diffrax)"

# name, class, order, what the paper designed, reference. Stages, R(∞) and A-/L-stability are left to
# the tableau: diffrax's float coefficients need not realise the design exactly (see the tests).
_IMPLICIT = (
    ("diffrax-kvaerno3", diffrax.Kvaerno3, 3, "ESDIRK 3/2, 4 stages, L-stable, stiffly accurate", KVAERNO),
    ("diffrax-kvaerno4", diffrax.Kvaerno4, 4, "ESDIRK 4/3, 5 stages, L-stable, stiffly accurate", KVAERNO),
    ("diffrax-kvaerno5", diffrax.Kvaerno5, 5, "ESDIRK 5/4, 7 stages, L-stable, stiffly accurate", KVAERNO),
    ("diffrax-kencarp3", diffrax.KenCarp3, 3, "implicit ESDIRK of ARK3(2)4L[2]SA", KENNEDY_CARPENTER),
    ("diffrax-kencarp4", diffrax.KenCarp4, 4, "implicit ESDIRK of ARK4(3)6L[2]SA", KENNEDY_CARPENTER),
    ("diffrax-kencarp5", diffrax.KenCarp5, 5, "implicit ESDIRK of ARK5(4)8L[2]SA", KENNEDY_CARPENTER),
)
_EXPLICIT = (
    ("diffrax-tsit5", diffrax.Tsit5, 5, "explicit 5(4) pair, 7 stages, FSAL",
     "Tsitouras, Runge–Kutta pairs of order 5(4) satisfying only the first column simplifying assumption, "
     "Comput. Math. Appl. 62 (2011)"),
    ("diffrax-dopri5", diffrax.Dopri5, 5, "explicit 5(4) pair, 7 stages, FSAL",
     "Dormand & Prince, A family of embedded Runge–Kutta formulae, J. Comput. Appl. Math. 6 (1980)"),
    ("diffrax-heun", diffrax.Heun, 2, "explicit trapezoidal rule, 2 stages",
     "Heun, Neue Methoden zur approximativen Integration der Differentialgleichungen einer unabhängigen "
     "Veränderlichen, Z. Math. Phys. 45 (1900)"),
)


@hookimpl
def register_integrators(register):
    register(
        DiffraxIntegrator(
            name="diffrax-implicit-euler",
            solver=diffrax.ImplicitEuler(root_finder=root_finder()),
            order=1,
            # diffrax.ImplicitEuler carries no tableau object; backward Euler's is its definition.
            theory=ButcherTableau(A=[[1]], b=[1], c=[1]),
            citation=f"Backward Euler, as diffrax.ImplicitEuler. {KIDGER}",
        )
    )
    for name, cls, order, design, reference in _IMPLICIT:
        register(DiffraxIntegrator(name=name, solver=cls(root_finder=root_finder(cls)), order=order,
                                   theory=tableau_of(cls), citation=f"{cls.__name__}: {design}. {reference}"))
    register(DiffraxIntegrator(name="diffrax-kvaerno5-newton",
                               solver=diffrax.Kvaerno5(root_finder=optx.Newton(ROOT_RTOL, ROOT_ATOL)), order=5,
                               theory=tableau_of(diffrax.Kvaerno5),
                               citation=f"Kvaerno5 with optimistix.Newton as its root finder: {_IMPLICIT[2][3]}. "
                               f"{KVAERNO}"))
    for name, cls, order, design, reference in _EXPLICIT:
        register(DiffraxIntegrator(name=name, solver=cls(), order=order, theory=tableau_of(cls),
                                   citation=f"{cls.__name__}: {design}. {reference}", family="explicit"))
