"""Robertson's chemical kinetics, the classic stiff test problem, on two time spans."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp

from stiffbench import AbstractProblem, ReferenceSolution, StiffnessKnob, hookimpl

CITATION = (
    "H. H. Robertson, The solution of a set of reaction rate equations, in J. Walsh (ed.), Numerical Analysis: "
    "an Introduction, Academic Press (1966), 178-182; Hairer & Wanner, Solving ODEs II, 2nd ed. (1996), IV.1 "
    "and IV.10 (ROBER); Mazzia & Magherini, Test Set for IVP Solvers, release 2.4 (2008), problem ROBER"
)

# Computed, not published: the Test Set gives ROBER only at t = 1e11 (which tests/test_problems.py checks).
_SOURCE = (
    "computed: scipy 1.17.1 solve_ivp Radau, rtol=3e-14, atol=1e-26, Jacobian by jax.jacfwd; rtol=1e-13 "
    "agrees to {radau}, scipy BDF at rtol=1e-13 to {bdf}{extra}"
)
REFERENCE_40 = ReferenceSolution(
    ts=(0.4, 4.0, 40.0),
    ys=(
        (0.985172113860994, 3.386395378974911e-05, 0.014794022185220454),
        (0.9055186785842585, 2.2404756875602046e-05, 0.09445891665887071),
        (0.7158270687194097, 9.185534764557802e-06, 0.28416374574583103),
    ),
    source=_SOURCE.format(radau="9e-15", bdf="4e-12",
                          extra=", diffrax Kvaerno5 (Newton root finder) at rtol=1e-12 to 2e-14 (relative)"),
)
REFERENCE_1E5 = ReferenceSolution(
    ts=(1.0, 10.0, 100.0, 1e3, 1e4, 1e5),
    ys=(
        (0.9664597373330075, 3.074626578578679e-05, 0.03350951640121091),
        (0.8413699238414776, 1.6233909379904782e-05, 0.15861384224914699),
        (0.6172348823960924, 6.15359127463914e-06, 0.3827589640126386),
        (0.3368745306607096, 2.0137023182613957e-06, 0.6631234556369786),
        (0.10730042853780565, 4.800166972571689e-07, 0.8926990914455063),
        (0.017865921142100404, 7.274751468436675e-08, 0.9821340061103915),
    ),
    source=_SOURCE.format(radau="2e-14", bdf="1e-11", extra=" (relative)"),
)


@final
@dataclasses.dataclass(frozen=True)
class Robertson(AbstractProblem):
    """``A → B`` (k1), ``2B → B + C`` (k2), ``B + C → A + C`` (k3), from ``y(0) = (1, 0, 0)``.

    ``y1' = −k1 y1 + k3 y2 y3``, ``y2' = k1 y1 − k3 y2 y3 − k2 y2²``, ``y3' = k2 y2²`` with the classic
    rates ``k1 = 0.04``, ``k2 = 3·10⁷``, ``k3 = 10⁴``. The fast rates k2 and k3 keep the intermediate
    ``y2`` at ~10⁻⁵ on the time scale 1/k1 of the slow reaction.

    Mass is conserved: ``y1 + y2 + y3 = 1`` for all parameters, so the gradient of the sum is exactly zero.
    The observable is still the whole state ``y``, whose three sensitivities to each parameter cancel in
    the sum (Runge–Kutta and multistep methods preserve linear invariants, so through them too, up to
    rounding).

    The stiffness knob is ``k2``. The fast eigenvalue near the peak of ``y2`` is about ``−2√(k1 k2)``
    (≈ −2·10³ at the default; later ``−k3 y3`` ≈ −10⁴ takes over), so the scan 3·10³ … 3·10⁹ moves the early
    stiffness over three decades while the slow chemistry keeps a limit: as ``k2 → ∞``, ``y2 ~ √(k1 y1/k2)``
    vanishes, ``y3' → k1 y1``, and ``y1``, ``y3`` depend on the fast rates only through ``k3/√k2`` (their
    sensitivities to log k3 are already −2 times those to log k2 at the default), so these gradients decay
    like ``k2^(−1/2)`` beyond ~3·10⁹. Scanning k3
    instead would freeze the slow reaction as ``k3 → ∞`` (the back-reaction cancels it): another problem.
    """

    name: str = "robertson-40"
    citation: str = CITATION
    parameters: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"k1": 0.04, "k2": 3e7, "k3": 1e4}
    )
    fast_parameters: tuple[str, ...] = ("k2", "k3")
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0, 0.0, 0.0)
    ts: tuple[float, ...] = (0.4, 4.0, 40.0)
    stiffness: StiffnessKnob = dataclasses.field(
        default_factory=lambda: StiffnessKnob("k2", (3e3, 3e5, 3e7, 3e9), (3e1, 3e11))
    )
    reference: ReferenceSolution | None = REFERENCE_40

    def vector_field(self, t, y, params):
        k1, k2, k3 = params["k1"], params["k2"], params["k3"]
        r1, r2, r3 = k1 * y[0], k2 * y[1] ** 2, k3 * y[1] * y[2]
        return jnp.stack([-r1 + r3, r1 - r2 - r3, r2])


@hookimpl
def register_problems(register):
    register(Robertson())
    register(Robertson(name="robertson-1e5", ts=REFERENCE_1E5.ts, reference=REFERENCE_1E5))
