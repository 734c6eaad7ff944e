"""Exact stability functions of Runge–Kutta, Rosenbrock and linear multistep methods, accurate at any |z|.

A Butcher tableau (A, b, c) fixes the stability function R(z) = P(z)/Q(z) of its method on Dahlquist's
test equation y' = λy, z = hλ (docs/theory.md §1); a Rosenbrock method has the R of the tableau A = α + γ.
A linear multistep method has no single R: MultistepStability gives its principal root ζ₁(z), with the
same interface (its own docstring says how it is tracked and kept accurate). For one-step methods this
module computes P and Q exactly in Fraction arithmetic (a tableau typed in floats is taken as the binary
rationals it stores), derives the numerator of R' exactly, decides A- and L-stability exactly up to a
stated 1e-12 slack, and evaluates R and R' in float64 to near machine precision in the *relative* sense
for every |z|, including |z| ~ 1e8 where R of an L-stable method is ~1e-8 and R' ~1e-16 (docs/theory.md §5).

How accuracy at large |z| is ensured: the float formula 1 + z bᵀ(I − zA)⁻¹𝟙 subtracts two numbers of
size 1 to get R ~ 1/|z|, and R' = bᵀu + z bᵀMAu cancels even more (rel. error ~5e-2 at |z| = 1e8 for
some methods). Here every cancellation that grows with |z| is done exactly: P, Q and N = P'Q − PQ' are
exact, so the leading terms of P'Q and PQ', which cancel identically, are gone before rounding. A ratio
is then evaluated by Horner in z for |z| ≤ 1 and, for |z| > 1, as z^(deg num − deg den) · num_rev(w) /
den_rev(w) in w = 1/z with the coefficient lists reversed. There the leading coefficients dominate, each
Horner sum is well conditioned away from the zeros and poles of R, and |z|^deg is never formed, so
nothing overflows or underflows early. What remains is the conditioning of R itself near its zeros.
"""

from __future__ import annotations

import functools

from . import algebra
from .methods import ButcherTableau, LinearMultistep, RationalFunction, RosenbrockMethod
from .multistep import MultistepStability
from .one_step import StabilityFunction

__all__ = [
    "ButcherTableau", "LinearMultistep", "MethodData", "MultistepStability", "RationalFunction", "RosenbrockMethod",
    "StabilityFunction", "stability_function",
]

MethodData = ButcherTableau | RosenbrockMethod | LinearMultistep | RationalFunction
"""What an integrator's ``theory`` may be: the data its stability function is derived from."""


@functools.cache  # theory data is immutable and hashable; the exact determinants cost milliseconds
def stability_function(
    theory: ButcherTableau | RosenbrockMethod | RationalFunction | LinearMultistep,
) -> StabilityFunction | MultistepStability:
    """The stability function of a tableau or Rosenbrock method (P, Q from exact determinants), of an
    explicit P/Q, or the principal-root function of a linear multistep method; all share one interface."""
    if isinstance(theory, RationalFunction):
        return StabilityFunction(theory.numerator, theory.denominator)
    if isinstance(theory, LinearMultistep):
        return MultistepStability(theory.rho, theory.sigma)
    if isinstance(theory, ButcherTableau):
        A = theory.A
    elif isinstance(theory, RosenbrockMethod):
        A = tuple(tuple(a + g for a, g in zip(ra, rg, strict=True))
                  for ra, rg in zip(theory.alpha, theory.gamma, strict=True))
    else:
        raise TypeError("expected ButcherTableau, RosenbrockMethod, RationalFunction or LinearMultistep, "
                        f"got {type(theory).__name__}")
    b, s = theory.b, theory.stages
    # Both determinants have degree ≤ s: evaluate exactly at z = 0..s and interpolate exactly.
    nodes = list(range(s + 1))
    Q = [algebra.det([[int(i == j) - z * A[i][j] for j in range(s)] for i in range(s)]) for z in nodes]
    P = [algebra.det([[int(i == j) - z * (A[i][j] - b[j]) for j in range(s)] for i in range(s)]) for z in nodes]
    return StabilityFunction(algebra.interpolate(nodes, P), algebra.interpolate(nodes, Q))
