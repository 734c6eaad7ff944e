"""Stability agreement: theoretical ``R(z)``, ``R'(z)`` against one step of the real implementation.

The computed values come from :func:`~stiffbench.measure.kernels.stability_program` (one ``vmap``-ed, compiled
program over the grid); the theory from the method's data (:func:`stiffbench.theory.stability_function`).
Relative errors count only the points whose solve succeeded; decay exponents are least-squares slopes of
``log|R'|`` against ``log|z|`` over the tail of each ray (docs/theory.md §5).
"""

from __future__ import annotations

import math

import numpy as np

from ..contracts import AbstractIntegrator, AbstractMultistepIntegrator, Status
from ..records import (
    AGREEMENT_LEVELS,
    Agreement,
    CellKey,
    RayDecay,
    StabilityCost,
    StabilityGrid,
    StabilityPoints,
    StabilityResult,
    StabilitySummary,
)
from ..records.common import finite_or_none
from ..theory import stability_function
from . import kernels


def measure_stability(integrator: AbstractIntegrator, grid: StabilityGrid, key: CellKey | None = None
                      ) -> StabilityResult:
    """The stability record of one integrator on ``grid``."""
    key = key or CellKey("stability", (("integrator", integrator.name),))
    if isinstance(integrator, AbstractMultistepIntegrator) and integrator.theory is None:
        return StabilityResult.failed(key, grid, Status.NOT_APPLICABLE, "a multistep integrator is measured from "
                                      "the exact history ζ₁(z)^j, which needs its theory (ρ, σ); it has none")
    z = grid.z()
    program = kernels.stability_program(integrator, z)
    (R, dR, status), run_s = program.best_of(3)
    R, dR = (np.asarray(x[:, 0] + 1j * x[:, 1]) for x in (R, dR))
    status = np.asarray(status)
    status = np.where((status == Status.OK) & ~(np.isfinite(R) & np.isfinite(dR)), Status.NONFINITE, status)
    ok = status == Status.OK

    sf = stability_function(integrator.theory) if integrator.theory is not None else None
    R_th = dR_th = err_R = err_dR = None
    if sf is not None:
        with np.errstate(all="ignore"):
            R_th, dR_th = sf.R(z), sf.dR(z)
        err_R, err_dR = _rel_err(R, R_th), _rel_err(dR, dR_th)

    def worst(err: np.ndarray | None, mask: np.ndarray | bool = True) -> float | None:
        if err is None:
            return None
        values = err[mask & ok & np.isfinite(err)]
        return float(values.max()) if values.size else None

    rays = []
    for angle in grid.rays:
        tail = np.isclose(np.angle(-z, deg=True), angle, atol=1e-9) & (np.abs(z) >= grid.tail)
        rays.append(RayDecay(angle, None if dR_th is None else _fit_exponent(z[tail], dR_th[tail]),
                             _fit_exponent(z[tail & ok], dR[tail & ok])))
    codes, counts = np.unique(status[~ok], return_counts=True)
    summary = StabilitySummary(
        max_rel_err_R=worst(err_R),
        max_rel_err_dR=worst(err_dR),
        agreement=tuple(Agreement(level, worst(err_R, np.abs(z) <= level), worst(err_dR, np.abs(z) <= level))
                        for level in AGREEMENT_LEVELS if level <= grid.z_max),
        rays=tuple(rays),
        decay_exponent_asymptotic=None if sf is None else finite_or_none(sf.decay_exponent),
        R_inf=None if sf is None else _complex(sf.R_inf),
        a_stable=None if sf is None else bool(sf.a_stable),
        l_stable=None if sf is None else bool(sf.l_stable),
        n_points=int(z.size),
        n_failed=int((~ok).sum()),
        failures={Status(int(c)).label: int(n) for c, n in zip(codes, counts, strict=True)},
    )
    points = StabilityPoints(
        z=tuple(complex(x) for x in z),
        R_theory=None if R_th is None else tuple(map(_complex, R_th)),
        R_computed=tuple(map(_complex, R)),
        dR_theory=None if dR_th is None else tuple(map(_complex, dR_th)),
        dR_computed=tuple(map(_complex, dR)),
        status=tuple(Status(int(s)) for s in status),
    )
    return StabilityResult(key, grid, Status.OK, Status.OK.message, points, summary,
                           StabilityCost(program.compile_s, run_s))


def _rel_err(computed: np.ndarray, theory: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        scale = np.where(theory != 0, np.abs(theory), 1.0)
        return np.abs(computed - theory) / scale


def _fit_exponent(z: np.ndarray, dR: np.ndarray) -> float | None:
    """Least-squares slope of ``log|R'|`` against ``log|z|``; None with fewer than 2 usable points."""
    with np.errstate(all="ignore"):
        keep = np.isfinite(dR) & (np.abs(dR) > 0)
    if keep.sum() < 2:
        return None
    return float(np.polyfit(np.log(np.abs(z[keep])), np.log(np.abs(dR[keep])), 1)[0])


def _complex(x: complex) -> complex | None:
    """A complex number as a record stores it: None unless both parts are finite."""
    x = complex(x)
    return x if math.isfinite(x.real) and math.isfinite(x.imag) else None
