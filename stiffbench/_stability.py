"""Stability agreement: theoretical ``R(z)``, ``R'(z)`` against one step of the real implementation.

For ``z = a + ib`` the test equation is embedded as the real system ``y' = [[a, −b], [b, a]] y`` with
``y0 = (1, 0)`` and ``h = 1``: one step gives ``y1 = (Re R, Im R)`` and, ``R`` being holomorphic,
``∂y1/∂a = (Re R', Im R')`` by reverse-mode autodiff through the integrator (theory.md §5). Multistep
integrators take one step from the exact history ``ζ₁(z)^j`` instead. The whole grid is one
``jax.vmap``-ed, compiled function; compile time is measured apart from run time.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, final

import jax
import jax.numpy as jnp
import numpy as np

from ._integrator import AbstractIntegrator, AbstractMultistepIntegrator, FixedStep, Status
from .theory import stability_function

SCHEMA = "stiffbench.stability/1"
AGREEMENT_LEVELS = (1e0, 1e2, 1e4, 1e6, 1e8)
"""``|z|`` bounds of the cumulative agreement profile: where agreement degrades, not only the worst case."""


@final
@dataclasses.dataclass(frozen=True)
class StabilityGrid:
    """Points ``z = −r·e^{iα}``, ``r`` log-spaced in ``[z_min, z_max]``, on the negative real axis
    (``α = 0``) and on each extra ray ``arg(−z) = α`` (degrees)."""

    points: int = 200
    z_min: float = 1e-2
    z_max: float = 1e8
    angles: tuple[float, ...] = ()
    tail: float = 1e3
    """Decay exponents are fitted over ``|z| ≥ tail``."""

    def __post_init__(self) -> None:
        if not (isinstance(self.points, int) and self.points >= 2):
            raise ValueError(f"points must be an integer of at least 2, got {self.points!r}")
        if not (math.isfinite(self.z_min) and self.z_min > 0):
            raise ValueError(f"z_min (smallest |z|) must be positive and finite, got {self.z_min!r}")
        if not (math.isfinite(self.z_max) and self.z_max > self.z_min):
            raise ValueError(f"z_max (largest |z|) must be finite and above z_min={self.z_min}, got {self.z_max!r}")
        for angle in self.angles:
            if not (0 <= angle <= 90):
                raise ValueError(f"angle arg(-z) must be in [0, 90] degrees (left half-plane), got {angle!r}")

    @property
    def rays(self) -> tuple[float, ...]:
        return tuple(dict.fromkeys((0.0, *map(float, self.angles))))

    def z(self) -> np.ndarray:
        r = np.logspace(np.log10(self.z_min), np.log10(self.z_max), self.points)
        return np.concatenate([-r * np.exp(1j * np.deg2rad(angle)) for angle in self.rays])

    def inputs(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"rays": list(self.rays)}


def _test_equation(t, y, p):
    return jnp.stack([p["re"] * y[0] - p["im"] * y[1], p["im"] * y[0] + p["re"] * y[1]])


def _one_step(integrator: AbstractIntegrator):
    """``(a, b) -> (R, R', status)`` through one step of ``integrator``, as real pairs."""

    def step(a, b):
        sol = integrator.solve(_test_equation, 0.0, jnp.array([1.0, 0.0]), (1.0,), {"re": a, "im": b},
                               FixedStep(1.0))
        return sol.ys[-1], sol.status

    def point(a, b):
        R, pullback, status = jax.vjp(lambda a: step(a, b), a, has_aux=True)
        dR = jax.vmap(pullback)(jnp.eye(2))[0]
        return R, dR, status

    return point


def _one_multistep(integrator: AbstractMultistepIntegrator):
    """``(a, b, Re ζ, Im ζ) -> (ζ₁, ζ₁', status)`` through one step from the history ``ζ^j``.

    The computed root is the ratio ``y_k / ζ^(k−1)`` that one step produces from the exact history. Its
    derivative follows from the root being a fixed point of that step: with ``F(ζ, z) = ratio(ζ, z) − ζ``,
    ``ζ₁' = −F_z / F_ζ``, both partial derivatives by autodiff through the step (``F`` is holomorphic
    in ``ζ`` and ``z``, so derivatives along the real parts are the complex derivatives).
    """
    k = len(integrator.theory.rho) - 1

    def ratio(zr, zi, a, b):
        zeta = zr + 1j * zi
        powers = zeta ** jnp.arange(k)
        history = jnp.stack([powers.real, powers.imag], axis=-1)
        y, converged = integrator.step(_test_equation, 0.0, 1.0, history, {"re": a, "im": b})
        r = (y[0] + 1j * y[1]) / zeta ** (k - 1)
        return jnp.stack([r.real, r.imag]), converged

    def point(a, b, zr, zi):
        R, converged = ratio(zr, zi, a, b)
        (d_zeta, d_z), _ = jax.jacfwd(ratio, argnums=(0, 2), has_aux=True)(zr, zi, a, b)
        dR = -(d_z[0] + 1j * d_z[1]) / (d_zeta[0] - 1 + 1j * d_zeta[1])
        status = jnp.where(converged, Status.OK, Status.NONLINEAR_SOLVE_FAILED).astype(jnp.int32)
        return R, jnp.stack([dR.real, dR.imag]), status

    return point


def computed_stability(integrator: AbstractIntegrator, z: np.ndarray) -> dict[str, Any]:
    """``R``, ``R'`` and the status at each ``z`` through the integrator, with compile and run times."""
    args = (jnp.asarray(z.real), jnp.asarray(z.imag))
    if isinstance(integrator, AbstractMultistepIntegrator):
        if integrator.theory is None:
            raise ValueError("a multistep integrator is measured from the exact history ζ₁^j: it needs a theory")
        root = stability_function(integrator.theory).R(z)
        point, args = _one_multistep(integrator), (*args, jnp.asarray(root.real), jnp.asarray(root.imag))
    else:
        point = _one_step(integrator)
    start = time.perf_counter()
    compiled = jax.jit(jax.vmap(point)).lower(*args).compile()
    compile_s = time.perf_counter() - start
    run_s = math.inf
    for _ in range(3):  # best of three: the run is short enough to be disturbed by anything else
        start = time.perf_counter()
        R, dR, status = jax.block_until_ready(compiled(*args))
        run_s = min(run_s, time.perf_counter() - start)
    R, dR = (np.asarray(x[:, 0] + 1j * x[:, 1]) for x in (R, dR))
    status = np.asarray(status)
    status = np.where((status == Status.OK) & ~(np.isfinite(R) & np.isfinite(dR)), Status.NONFINITE, status)
    return {"R": R, "dR": dR, "status": status, "compile_s": compile_s, "run_s": run_s}


def measure_stability(integrator: AbstractIntegrator, grid: StabilityGrid) -> dict[str, Any]:
    """The stability record of one integrator (an element of ``results`` in the schema)."""
    z = grid.z()
    sf = stability_function(integrator.theory) if integrator.theory is not None else None
    computed = computed_stability(integrator, z)
    R, dR, status = computed["R"], computed["dR"], computed["status"]
    ok = status == Status.OK
    if sf is not None:
        with np.errstate(all="ignore"):
            R_th, dR_th = sf.R(z), sf.dR(z)
        err_R, err_dR = _rel_err(R, R_th), _rel_err(dR, dR_th)
    else:
        R_th = dR_th = err_R = err_dR = None

    def worst(err, mask):
        if err is None:
            return None
        values = err[mask & ok & np.isfinite(err)]
        return float(values.max()) if values.size else None

    rays = []
    for angle in grid.rays:
        on_ray = np.isclose(np.angle(-z, deg=True), angle, atol=1e-9)
        tail = on_ray & (np.abs(z) >= grid.tail)
        rays.append({
            "angle_deg": angle,
            "decay_exponent_theory": None if dR_th is None else _fit_exponent(z[tail], dR_th[tail]),
            "decay_exponent_computed": _fit_exponent(z[tail & ok], dR[tail & ok]),
        })
    summary = {
        "max_rel_err_R": worst(err_R, True),
        "max_rel_err_dR": worst(err_dR, True),
        "agreement": [
            {"abs_z_max": level, "max_rel_err_R": worst(err_R, np.abs(z) <= level),
             "max_rel_err_dR": worst(err_dR, np.abs(z) <= level)}
            for level in AGREEMENT_LEVELS if level <= grid.z_max
        ],
        "decay_exponent_theory": rays[0]["decay_exponent_theory"],
        "decay_exponent_computed": rays[0]["decay_exponent_computed"],
        "decay_exponent_asymptotic": None if sf is None else _finite(sf.decay_exponent),
        "rays": rays,
        "R_inf": None if sf is None else _pair(sf.R_inf),
        "a_stable": None if sf is None else sf.a_stable,
        "l_stable": None if sf is None else sf.l_stable,
        "n_points": int(z.size),
        "n_failed": int((~ok).sum()),
        "failures": _count_failures(status),
        "compile_s": computed["compile_s"],
        "run_s": computed["run_s"],
    }
    points = [
        {
            "z": _pair(z[k]),
            "R_theory": None if R_th is None else _pair(R_th[k]),
            "R_computed": _pair(R[k]),
            "dR_theory": None if dR_th is None else _pair(dR_th[k]),
            "dR_computed": _pair(dR[k]),
            "status": Status(int(status[k])).message,
        }
        for k in range(z.size)
    ]
    return {"integrator": integrator.name, "status": "ok", "points": points, "summary": summary}


def _rel_err(computed: np.ndarray, theory: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        scale = np.where(theory != 0, np.abs(theory), 1.0)
        return np.abs(computed - theory) / scale


def _fit_exponent(z: np.ndarray, dR: np.ndarray) -> float | None:
    """Least-squares slope of ``log|R'|`` against ``log|z|`` (theory.md §5); None with < 2 usable points."""
    with np.errstate(all="ignore"):
        keep = np.isfinite(dR) & (np.abs(dR) > 0)
    if keep.sum() < 2:
        return None
    return float(np.polyfit(np.log(np.abs(z[keep])), np.log(np.abs(dR[keep])), 1)[0])


def _count_failures(status: np.ndarray) -> dict[str, int]:
    codes, counts = np.unique(status[status != Status.OK], return_counts=True)
    return {Status(int(code)).message: int(n) for code, n in zip(codes, counts, strict=True)}


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _pair(x: complex) -> list[float] | None:
    """A complex number as ``[re, im]``; JSON has no inf or NaN, so a non-finite value is ``null``."""
    x = complex(x)
    return [x.real, x.imag] if math.isfinite(x.real) and math.isfinite(x.imag) else None


def stability_record(integrators, grid: StabilityGrid, environment: dict[str, Any], progress=None) -> dict:
    """The ``stiffbench.stability/1`` record for several integrators; one failing never stops the rest.

    :param progress: optional ``callback(integrator_name, result)`` after each integrator.
    """
    results = []
    for integrator in integrators:
        try:
            result = measure_stability(integrator, grid)
        except Exception as exc:  # noqa: BLE001 -- a failed cell is recorded with its reason and the run goes on
            result = {"integrator": integrator.name, "status": f"failed: {type(exc).__name__}: {exc}",
                      "points": [], "summary": None}
        if progress is not None:
            progress(integrator.name, result)
        results.append(result)
    return {"schema": SCHEMA, "environment": environment, "inputs": grid.inputs(), "results": results}
