"""Work–precision cells and the differentiation methods, against independent numbers: linear-2mode's exact
sensitivities (closed form), robertson-40's forward-sensitivity reference (SciPy), and each other (forward mode
against reverse mode, one traced ladder against a program compiled for one rung)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stiffbench import (
    AdaptiveStep,
    BacksolveAdjoint,
    Differentiation,
    DirectAdjoint,
    ForwardMode,
    ReverseMode,
    Status,
)
from stiffbench.measure import kernels, measure_precision, reference_sensitivity
from stiffbench.records import PrecisionInputs, PrecisionResult, dumps, from_json, to_json

RTOL_LADDER = (1e-4, 1e-7, 1e-10)


def ladder(problem, kind="rtol", rungs=RTOL_LADDER, repeats=1):
    return PrecisionInputs(kind, rungs, None, dict(problem.parameters), repeats)


def test_labels_name_the_methods_and_round_trip():
    for method in (ReverseMode(), ReverseMode(16), DirectAdjoint(), BacksolveAdjoint(), ForwardMode()):
        assert Differentiation.parse(method.label) == method
    assert [ReverseMode(16).label, ForwardMode().mode, BacksolveAdjoint().mode] == ["reverse-c16", "forward",
                                                                                   "reverse"]
    for bad in ("adjoint", "reverse-c0", "reverse-c"):
        with pytest.raises(ValueError, match="unknown differentiation method"):
            Differentiation.parse(bad)


def test_an_unsupported_method_is_not_applicable_before_anything_compiles(registry):
    integrator = registry.integrators["radau-iia-5"]
    assert integrator.differentiation_methods == (ReverseMode, ForwardMode)
    with pytest.raises(NotImplementedError, match="radau-iia-5 is not differentiated by backsolve"):
        measure_precision(integrator, registry.problems["linear-2mode"], BacksolveAdjoint(),
                          ladder(registry.problems["linear-2mode"]))
    assert integrator.differentiated_by(ReverseMode()) is integrator
    assert integrator.differentiated_by(ForwardMode()).differentiation == ForwardMode()


@pytest.fixture(scope="module")
def linear_cells(registry):
    """radau-iia-5 on linear-2mode (k_fast = 1e3), reverse and forward mode, the rtol ladder traced once."""
    problem = registry.problems["linear-2mode"]
    return {m.label: measure_precision(registry.integrators["radau-iia-5"], problem, m, ladder(problem))
            for m in (ReverseMode(), ForwardMode())}


def test_every_rung_meets_the_exact_sensitivity_and_forward_equals_reverse(linear_cells):
    """Measured: gradient errors 2.4e-7, 2.4e-7, 6.7e-9 at rtol 1e-4, 1e-7, 1e-10 (the gradient is not what the
    controller controls: rtol 1e-4 and 1e-7 take 14 and 26 steps and land on the same error)."""
    reverse, forward = linear_cells["reverse"], linear_cells["forward"]
    assert reverse.traced_once and reverse.reference_source.startswith("exact")
    for r, f in zip(reverse.rungs, forward.rungs, strict=True):
        assert r.status == f.status == Status.OK
        assert r.error_gradient < 1e-6 and r.error_ys < 1e-7
        assert (r.steps, r.rejected) == (f.steps, f.rejected)
        for name in ("k_fast", "k_slow"):  # two modes of autodiff through the same steps: the same derivative
            a, b = r.error_by_parameter[name], f.error_by_parameter[name]
            assert abs(a - b) <= 1e-12  # both relative to ‖S_exact‖: the two gradients agree to roundoff
    assert reverse.rungs[-1].error_gradient < 1e-8
    assert reverse.rungs[0].steps < reverse.rungs[-1].steps
    # XLA's memory analysis: the forward-mode program keeps no tape
    assert forward.rungs[0].memory_bytes < reverse.rungs[0].memory_bytes


def test_one_traced_ladder_gives_what_a_program_compiled_for_one_rung_gives(registry, linear_cells):
    problem, integrator = registry.problems["linear-2mode"], registry.integrators["radau-iia-5"]
    log_theta = kernels.log_parameters(problem)[0]
    rung = linear_cells["reverse"].rungs[1]
    assert isinstance(rung.policy, AdaptiveStep) and rung.policy.rtol == 1e-7
    S, solution = jax.jit(kernels.gradient(integrator, problem, rung.policy))(log_theta)
    exact = reference_sensitivity(problem, dict(problem.parameters))
    error = max(np.linalg.norm(np.asarray(S)[..., j] - exact.sensitivity[n]) / np.linalg.norm(exact.sensitivity[n])
                for j, n in enumerate(problem.parameters))
    assert int(solution.num_steps) == rung.steps
    assert error == pytest.approx(rung.error_gradient, rel=1e-9)


def test_the_steps_ladder_converges_at_the_methods_order(registry):
    """Radau IIA (order 5) at 10, 20, 40 fixed steps over [0, 1]: the gradient error falls by about 2^5 per doubling
    until the fast mode is resolved; measured 8.4e-2 at 10 steps (h k_fast = 100), 3.4e-13 at 100."""
    problem = dataclasses.replace(registry.problems["linear-2mode"], parameters={"k_fast": 10.0, "k_slow": 1.0})
    cell = measure_precision(registry.integrators["radau-iia-5"], problem, ReverseMode(),
                             ladder(problem, "steps", (10.0, 20.0, 40.0)))
    errors = [rung.error_gradient for rung in cell.rungs]
    assert not cell.traced_once and all(rung.compile_s > 0 for rung in cell.rungs)
    slopes = np.diff(np.log2(errors))
    assert np.all(slopes < -4.0), errors  # order 5 in h, measured rates -5.x


def test_a_record_round_trips_through_strict_json(linear_cells):
    record = linear_cells["forward"]
    assert from_json(PrecisionResult, to_json(record)) == record
    assert '"differentiation": "forward"' in dumps({"coords": dict(record.key.coords)})


@pytest.mark.slow
@pytest.mark.parametrize("method", [ReverseMode(), DirectAdjoint(), ForwardMode(), ReverseMode(8)],
                         ids=lambda m: m.label)
def test_diffrax_methods_agree_with_the_exact_sensitivity(registry, method):
    """diffrax-kvaerno5 on linear-2mode; the discrete methods give one gradient (compiling each takes 5–15 s)."""
    problem = registry.problems["linear-2mode"]
    cell = measure_precision(registry.integrators["diffrax-kvaerno5"], problem, method, ladder(problem))
    assert cell.traced_once and all(rung.ok and rung.error_gradient < 1e-3 for rung in cell.rungs)
    assert cell.rungs[-1].error_gradient < 1e-6


@pytest.mark.slow
def test_backsolve_diverges_on_a_stiff_linear_problem(registry):
    """The continuous adjoint integrates the state backwards too, and y1' = −k_fast y1 backwards grows like
    e^(k_fast t): at k_fast = 1e3, t = 0.25 the gradient is off by 1e190 at every tolerance (measured), while at
    k_fast = 1 it is good to 1e-7. A finding about the method, recorded as it is."""
    problem = registry.problems["linear-2mode"]
    stiff = measure_precision(registry.integrators["diffrax-kvaerno5"], problem, BacksolveAdjoint(), ladder(problem))
    assert all(rung.error_gradient is None or rung.error_gradient > 1e3 for rung in stiff.rungs)
    mild = dataclasses.replace(problem, parameters={"k_fast": 1.0, "k_slow": 0.5})
    calm = measure_precision(registry.integrators["diffrax-kvaerno5"], mild, BacksolveAdjoint(),
                             ladder(mild, rungs=(1e-8,)))
    assert calm.rungs[0].error_gradient < 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("name", ["radau-iia-5", "rodas4"])
def test_robertson_finest_rung_meets_the_forward_sensitivity_reference(registry, name):
    """robertson-40 against SciPy Radau's forward sensitivities at rtol 1e-11; the reference's own error estimate
    (its distance to one at rtol 1e-9) is recorded and is far below the rung's."""
    problem = registry.problems["robertson-40"]
    cell = measure_precision(registry.integrators[name], problem, ForwardMode(),
                             ladder(problem, rungs=(1e-6, 1e-10)))
    assert cell.reference_error is not None and cell.reference_error < 1e-6
    assert cell.rungs[-1].ok and cell.rungs[-1].error_gradient < 1e-6
    assert cell.rungs[-1].error_gradient < cell.rungs[0].error_gradient


def test_tolerances_traced_in_one_program_follow_each_rung(registry):
    """The traced policy reaches the step controller: tighter rtol, more steps, from one compiled program."""
    problem, integrator = registry.problems["linear"], registry.integrators["rodas4"]
    forward, _ = kernels.ladder_programs(integrator, problem, ReverseMode(), kernels.log_parameters(problem)[0],
                                         1e-3, 1e-9)
    steps = [int(forward.with_args(forward.args[0], jnp.float64(r), jnp.float64(r * 1e-6))().num_steps)
             for r in (1e-3, 1e-6, 1e-9)]
    assert steps[0] < steps[1] < steps[2]
