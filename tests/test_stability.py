"""Stability agreement through the real implementations, checked against closed forms (theory.md §4)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stiffbench import Status
from stiffbench.measure import measure_stability
from stiffbench.records import Environment, RecordSet, StabilityGrid, StabilityResult, dumps
from stiffbench.sweep import AxisValue, Cell, measure_cell
from stiffbench.sweep.plan import STABILITY

CLOSED_FORMS = {  # R(z), R'(z) written out by hand, independent of the tableau engine
    "backward-euler": (lambda z: 1 / (1 - z), lambda z: 1 / (1 - z) ** 2),
    "trapezoid": (lambda z: (1 + z / 2) / (1 - z / 2), lambda z: 1 / (1 - z / 2) ** 2),
}
GRID = StabilityGrid(angles=(60.0,))


@pytest.fixture(scope="module")
def records(registry):
    names = ["backward-euler", "trapezoid", "diffrax-implicit-euler", "diffrax-kvaerno5"]
    return {name: measure_stability(registry.integrators[name], GRID) for name in names}


def _columns(result, key):
    return np.array([x if x is not None else np.nan for x in getattr(result.points, key)], dtype=complex)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_native_agrees_with_closed_form_to_1e_10_up_to_1e6(records, name):
    R, dR = CLOSED_FORMS[name]
    result = records[name]
    z = _columns(result, "z")
    assert result.status == Status.OK and all(s == Status.OK for s in result.points.status)
    small = np.abs(z) <= 1e6
    err_R = np.abs(_columns(result, "R_computed") - R(z)) / np.abs(R(z))
    err_dR = np.abs(_columns(result, "dR_computed") - dR(z)) / np.abs(dR(z))
    assert err_R[small].max() <= 1e-10
    assert err_dR[small].max() <= 1e-10
    # The theory column is the same function, evaluated from the tableau.
    assert np.allclose(_columns(result, "R_theory"), R(z), rtol=1e-13, atol=0)
    assert np.allclose(_columns(result, "dR_theory"), dR(z), rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", ["backward-euler", "trapezoid", "diffrax-implicit-euler", "diffrax-kvaerno5"])
def test_decay_exponents_are_minus_two(records, name):
    summary = records[name].summary
    assert [ray.angle_deg for ray in summary.rays] == [0.0, 60.0]
    for ray in summary.rays:
        assert ray.decay_exponent_theory == pytest.approx(-2, abs=0.01)
        assert ray.decay_exponent_computed == pytest.approx(-2, abs=0.01)
    assert summary.decay_exponent_asymptotic == -2


def test_summary_states_properties(records):
    be, tr = records["backward-euler"].summary, records["trapezoid"].summary
    assert (be.R_inf, be.a_stable, be.l_stable) == (complex(0.0, 0.0), True, True)
    assert (tr.R_inf, tr.a_stable, tr.l_stable) == (complex(-1.0, 0.0), True, False)
    assert be.n_points == 2 * GRID.points and be.n_failed == 0 and be.failures == {}
    cost = records["backward-euler"].cost
    assert cost.compile_s > 0 and cost.run_s > 0


def test_diffrax_agreement_is_measured_with_status(records):
    """diffrax's own roundoff grows with |z| (about eps·|z|² for Kvaerno5's R); R' stays close."""
    for name in ("diffrax-implicit-euler", "diffrax-kvaerno5"):
        summary = records[name].summary
        statuses = set(records[name].points.status)
        assert statuses <= set(Status)
        assert summary.n_failed == sum(s != Status.OK for s in records[name].points.status)
        up_to_1e6 = summary.level(1e6)
        assert up_to_1e6.abs_z_max == 1e6 and up_to_1e6.max_rel_err_dR <= 1e-8
        assert summary.max_rel_err_R is not None


def test_complex_rays_match_closed_form(records):
    """The 2x2 real embedding of z = a + ib gives R and R' of complex arguments."""
    result = records["backward-euler"]
    z = _columns(result, "z")
    ray = np.abs(np.angle(-z, deg=True) - 60) < 1e-9
    assert ray.sum() == GRID.points
    R, dR = CLOSED_FORMS["backward-euler"]
    assert np.allclose(_columns(result, "R_computed")[ray], R(z[ray]), rtol=1e-13, atol=0)
    assert np.allclose(_columns(result, "dR_computed")[ray], dR(z[ray]), rtol=1e-13, atol=0)


def test_record_is_strict_json_and_failed_cells_are_kept(registry):
    class Exploding:
        name = "exploding"
        theory = None

        def solve(self, *args, **kwargs):
            raise NotImplementedError("cannot take a fixed step")

    grid = StabilityGrid(points=4, z_max=1e2, tail=1.0)
    cells = [Cell(STABILITY, (("integrator", AxisValue(i.name, i)),), grid)
             for i in (Exploding(), registry.integrators["backward-euler"])]
    results = tuple(measure_cell(cell) for cell in cells)
    decoded = json.loads(dumps(RecordSet(StabilityResult, Environment.current(), results).to_json()))
    assert decoded["schema"] == "stiffbench.stability/2" == StabilityResult.SCHEMA
    placement = decoded["results"][0].pop("placement")
    assert (placement["worker"], placement["concurrency"]) == ("in-process", 1)
    assert decoded["results"][0] == {
        "key": {"kind": "stability", "coords": {"integrator": "exploding"}},
        "inputs": {"points": 4, "z_min": 1e-2, "z_max": 1e2, "angles": [], "tail": 1.0},
        "status": "not-applicable", "message": "not applicable: cannot take a fixed step",
        "points": None, "summary": None, "cost": None,
    }
    assert decoded["results"][1]["status"] == "ok" and len(decoded["results"][1]["points"]["z"]) == 4
    decoded["results"][0]["placement"] = placement
    assert RecordSet.from_json(StabilityResult, decoded).results == results  # and reads back as it was


@pytest.mark.parametrize("kwargs, message", [
    ({"points": 0}, "points must be an integer of at least 2"),
    ({"z_max": -1.0}, "z_max"),
    ({"z_min": 0.0}, "z_min"),
    ({"angles": (120.0,)}, r"\[0, 90\]"),
    ({"points": 4, "z_max": 1e2}, "fewer than two of the 4 grid points"),  # the default tail = 1e3 is above z_max
])
def test_grid_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StabilityGrid(**kwargs)


def test_newton_failures_are_recorded_per_point_and_kept_out_of_the_summary(registry):
    """With one Newton iteration allowed (two are required to converge) every point fails, honestly."""
    import dataclasses

    integrator = dataclasses.replace(registry.integrators["radau-iia-5"], newton_max_iter=1, newton_refreshes=0)
    result = measure_stability(integrator, StabilityGrid(points=5, z_max=1e2, tail=10.0))
    assert set(result.points.status) == {Status.NONLINEAR_SOLVE_FAILED}
    assert all(R is not None for R in result.points.R_computed)  # the values are still returned
    summary = result.summary
    assert summary.n_failed == 5 and summary.max_rel_err_R is None
    assert summary.failures == {"nonlinear-solve-failed": 5}
    assert summary.decay_exponent_theory is not None and summary.decay_exponent_computed is None


def test_multistep_root_and_derivative_through_one_step(registry):
    """BDF2: one step from the exact history reproduces ζ₁ = (2 + i√(−1−2z))/(3−2z) for real z < −1/2
    (theory.md §3) and its derivative, computed by finite differences of that closed form."""
    result = measure_stability(registry.integrators["bdf-2"], StabilityGrid(points=30, z_min=1.0, z_max=1e6))
    z = _columns(result, "z")

    def zeta(z):
        return (2 + 1j * np.sqrt(-1 - 2 * z + 0j)) / (3 - 2 * z)

    dzeta = (zeta(z * (1 + 1e-7)) - zeta(z * (1 - 1e-7))) / (2e-7 * z)
    assert np.allclose(_columns(result, "R_computed"), zeta(z), rtol=1e-13, atol=0)
    assert np.allclose(_columns(result, "dR_computed"), dzeta, rtol=1e-6, atol=0)
