"""The measurement pipeline's own guarantees: typed records survive JSON, a gradient cell traces and compiles each
program once, references are keyed by the problem's definition, caches are disposable, the runtime is one."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import final

import jax.numpy as jnp
import numpy as np
import pytest

import stiffbench
from stiffbench import AbstractProblem, FixedStep, StiffnessKnob
from stiffbench.measure import kernels, measure_gradients, measure_stability, reference_sensitivity
from stiffbench.records import (
    Environment,
    GradientResult,
    RecordError,
    RecordSet,
    StabilityGrid,
    StabilityResult,
    dumps,
)


@dataclasses.dataclass(frozen=True)
class Decay(AbstractProblem):
    """``y' = −k y``, with a nonlinear twin below: two definitions under one name."""

    name: str = "toy-decay"
    citation: str = "a test problem"
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"k": 2.0})
    fast_parameters: tuple[str, ...] = ("k",)
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0,)
    ts: tuple[float, ...] = (0.5, 1.0)
    stiffness: StiffnessKnob = dataclasses.field(default_factory=lambda: StiffnessKnob("k", (2.0,)))

    def vector_field(self, t, y, params):
        return -params["k"] * y


@final
@dataclasses.dataclass(frozen=True)
class SquaredDecay(Decay):
    def vector_field(self, t, y, params):
        return -params["k"] * y**2


def test_a_changed_problem_definition_misses_the_reference_cache(tmp_path, monkeypatch):
    """Same name, same parameters, another vector field: the old key (name, parameters, y0, ts) reused the first
    problem's reference for the second. Closed forms: e^(−kt) and 1/(1 + kt)."""
    monkeypatch.setenv("STIFFBENCH_CACHE_DIR", str(tmp_path))
    t = np.array([0.5, 1.0])
    linear = reference_sensitivity(Decay(), {"k": 2.0})
    squared = reference_sensitivity(SquaredDecay(), {"k": 2.0})
    np.testing.assert_allclose(linear.ys[:, 0], np.exp(-2 * t), rtol=1e-9)
    np.testing.assert_allclose(squared.ys[:, 0], 1 / (1 + 2 * t), rtol=1e-9)
    # ∂y/∂log k = k ∂y/∂k = −kt/(1 + kt)² for the squared decay
    np.testing.assert_allclose(squared.sensitivity["k"][:, 0], -2 * t / (1 + 2 * t) ** 2, rtol=1e-8)
    assert len(list((tmp_path / "references").glob("toy-decay-*.json"))) == 2
    assert "scipy " in squared.source  # the version of the independent solver is part of the record


def test_a_corrupt_reference_cache_entry_is_a_miss_and_is_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("STIFFBENCH_CACHE_DIR", str(tmp_path))
    first = reference_sensitivity(SquaredDecay(), {"k": 2.0})
    (entry,) = (tmp_path / "references").glob("*.json")
    for garbage in ("{ not json", json.dumps({"key": "x"}), "\x00\x01"):
        entry.write_text(garbage)
        again = reference_sensitivity(SquaredDecay(), {"k": 2.0})
        np.testing.assert_array_equal(again.ys, first.ys)
        assert json.loads(entry.read_text())["ys"] == first.ys.tolist()


COMPILE_ONCE = """
import sys, jax, jax.numpy as jnp, stiffbench
stiffbench.configure()
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)  # cache even this small program
print(repr(float(jax.jit(lambda x: jnp.sin(x) * jnp.exp(-x))(0.5))))
"""


def test_a_corrupt_compilation_cache_entry_is_a_miss_and_is_rewritten(tmp_path):
    """A compilation-cache file truncated by a killed write: the next run compiles, gives the same number and
    writes the entry again (JAX alone would keep the broken file and compile in every run)."""
    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", COMPILE_ONCE], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "STIFFBENCH_CACHE_DIR": str(tmp_path)}, check=True)

    first = run()
    (entry,) = (tmp_path / "jax").glob("*-cache")
    good = entry.read_bytes()
    entry.write_bytes(good[: len(good) // 2])
    second = run()
    assert second.stdout == first.stdout
    assert "Error reading persistent compilation cache entry" in second.stderr  # a miss, not a failure
    assert entry.read_bytes() == good  # written again
    third = run()
    assert third.stdout == first.stdout and "persistent compilation cache" not in third.stderr


def test_a_gradient_cell_traces_the_solve_once_per_program(registry, monkeypatch, traced):
    """Forward program one trace, gradient program one trace: the gradient's primal gives the states (the old
    gradient traced the solve twice, so its time included an extra forward solve)."""
    integrator = registry.integrators["backward-euler"]
    calls = []
    solve = type(integrator).solve

    def counting(self, *args, **kwargs):
        calls.append(args[-1])
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(type(integrator), "solve", counting)
    measure_gradients(integrator, registry.problems["linear"], FixedStep(0.05), [1.0, 10.0, 100.0, 1000.0])
    assert len(calls) == 2


def test_each_program_of_a_gradient_cell_is_compiled_once_whatever_the_stiffness_values(registry, monkeypatch):
    compiled = []
    compile_program = kernels.compile_program

    def counting(fn, *args, **kwargs):
        compiled.append(args[0].shape[0])
        return compile_program(fn, *args, **kwargs)

    monkeypatch.setattr(kernels, "compile_program", counting)
    result = measure_gradients(registry.integrators["radau-iia-3"], registry.problems["robertson-40"],
                               FixedStep(0.04), [3e3, 3e5, 3e7])
    # forward and gradient over the 3 values, and one Jacobian for 3 values × (y0 + 3 observations)
    assert compiled == [3, 3, 12]
    assert [row.lambda_max is not None for row in result.rows] == [True] * 3


def test_records_round_trip_through_strict_json(registry):
    stability = measure_stability(registry.integrators["bdf-2"], StabilityGrid(points=6, z_max=1e4, tail=100.0))
    gradients = measure_gradients(registry.integrators["trapezoid"], registry.problems["linear-2mode"],
                                  FixedStep(0.05), [1e3])
    for record_type, record in ((StabilityResult, stability), (GradientResult, gradients)):
        text = dumps(RecordSet(record_type, Environment.current(), (record,)).to_json())
        assert "NaN" not in text and "Infinity" not in text
        assert RecordSet.from_json(record_type, json.loads(text)).results == (record,)


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("status"), "missing field 'status'"),
    (lambda r: r.update(status="fine"), "unknown status 'fine'"),
    (lambda r: r["summary"].update(n_failed="0"), "summary.n_failed: expected an integer"),
    (lambda r: r.update(extra=1), "unknown field(s) extra"),
    (lambda r: r["points"]["z"].__setitem__(0, [1.0]), "points.z[0]: expected a complex number"),
])
def test_a_record_that_is_valid_json_but_not_a_valid_record_is_refused_naming_the_field(registry, change, message):
    record = measure_stability(registry.integrators["backward-euler"], StabilityGrid(points=4, z_max=1e4, tail=10.0))
    data = json.loads(dumps(record.to_json()))
    change(data)
    with pytest.raises(RecordError, match=None) as error:
        StabilityResult.from_json(data)
    assert message in str(error.value)


def test_the_test_session_runs_under_the_clis_runtime():
    """conftest configures the runtime like the CLI: equinox's error mode, x64 and the compilation cache."""
    import equinox._config
    import jax

    assert os.environ["EQX_ON_ERROR"] == "nan" and equinox._config.EQX_ON_ERROR == "nan"
    assert jax.config.jax_enable_x64
    assert str(stiffbench.runtime.cache_dir() / "jax") == jax.config.jax_compilation_cache_dir
    assert jnp.zeros(1).dtype == jnp.float64
