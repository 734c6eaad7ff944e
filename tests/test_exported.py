"""The exported-program cache (stiffbench.measure.exported): a hit gives the record a fresh trace gives, without
tracing; a change to any part of the key misses; whatever cannot be keyed or exported is traced as before."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stiffbench
from stiffbench import FixedStep, load_registry
from stiffbench.measure import exported, fingerprint, kernels, measure_gradients, measure_stability
from stiffbench.records import StabilityGrid, to_json

GRID = StabilityGrid(points=8, z_max=1e4, tail=100.0)
THETA_METHOD = """
from stiffbench import ButcherTableau, hookimpl
from stiffbench.engines.runge_kutta import ImplicitRungeKutta

@hookimpl
def register_integrators(register):
    register(ImplicitRungeKutta(name="theta", order=1, citation="a test method",
                                tableau=ButcherTableau(A=[[THETA]], b=[1], c=[THETA])))
"""
DECAY = """
import dataclasses
from collections.abc import Mapping
from stiffbench import AbstractProblem, StiffnessKnob, hookimpl

@dataclasses.dataclass(frozen=True)
class Decay(AbstractProblem):
    name: str = "decay"
    citation: str = "a test problem"
    parameters: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"k": 2.0})
    fast_parameters: tuple[str, ...] = ("k",)
    t0: float = 0.0
    y0: tuple[float, ...] = (1.0,)
    ts: tuple[float, ...] = (0.5, 1.0)
    stiffness: StiffnessKnob = dataclasses.field(default_factory=lambda: StiffnessKnob("k", (2.0,)))

    def vector_field(self, t, y, params):
        return -params["k"] * FIELD

@hookimpl
def register_problems(register):
    register(Decay())
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The exported programs of this test only (JAX's compilation cache stays the session's)."""
    monkeypatch.setenv("STIFFBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(stiffbench.runtime, "_caches", True)
    return tmp_path / "exported"


def artifacts(cache) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in cache.glob("*.jax")}


def without_cost(record) -> dict:
    return {k: v for k, v in to_json(record).items() if k != "cost"}


def test_a_hit_gives_the_record_of_a_fresh_trace_without_tracing(registry, cache, monkeypatch):
    integrator, problem = registry.integrators["radau-iia-3"], registry.problems["linear-2mode"]
    args = (integrator, problem, FixedStep(0.05), [1.0, 1e3, 1e6])
    monkeypatch.setattr(stiffbench.runtime, "_caches", False)
    fresh = measure_gradients(*args), measure_stability(integrator, GRID)
    assert not cache.exists()
    monkeypatch.setattr(stiffbench.runtime, "_caches", True)
    stored = measure_gradients(*args), measure_stability(integrator, GRID)
    written = artifacts(cache)
    # forward, gradient, the Jacobian of the stiffness met, the theory's prediction, the exact reference; R and R'
    assert len(written) == 6

    def refuse(*args, **kwargs):
        raise AssertionError("a hit traced the solve")

    monkeypatch.setattr(type(integrator), "solve", refuse)
    loaded = measure_gradients(*args), measure_stability(integrator, GRID)
    assert artifacts(cache) == written
    for a, b, c in zip(fresh, stored, loaded, strict=True):
        assert without_cost(a) == without_cost(b) == without_cost(c)
    assert fresh[0].rows[2].max_rel_err < 1e-3  # and the values are right, not only equal


def key_of(integrator, problem, policy, log_theta) -> str:
    return exported.key(("gradient", integrator, problem, policy), (log_theta,))


def test_every_part_of_the_key_misses_when_it_changes(registry, monkeypatch):
    integrator, problem = registry.integrators["radau-iia-3"], registry.problems["linear-2mode"]
    policy, log_theta = FixedStep(0.05), kernels.log_parameters(problem, [1.0, 10.0])
    base = key_of(integrator, problem, policy, log_theta)
    assert key_of(integrator, dataclasses.replace(problem), FixedStep(0.05), log_theta + 1.0) == base  # values
    tableau = integrator.tableau
    changed = {
        "a tableau coefficient": key_of(dataclasses.replace(integrator, tableau=dataclasses.replace(
            tableau, b=(tableau.b[0] + 1e-15, *tableau.b[1:]))), problem, policy, log_theta),
        "a Newton setting": key_of(dataclasses.replace(integrator, newton_max_iter=11), problem, policy, log_theta),
        "a problem's parameter": key_of(integrator, dataclasses.replace(
            problem, parameters={**problem.parameters, "k_slow": 0.5}), policy, log_theta),
        "an observation time": key_of(integrator, dataclasses.replace(problem, ts=(*problem.ts[:-1], 2.5)), policy,
                                      log_theta),
        "the policy": key_of(integrator, problem, FixedStep(0.1), log_theta),
        "the batch size": key_of(integrator, problem, policy, kernels.log_parameters(problem, [1.0, 10.0, 100.0])),
    }
    installed = fingerprint._installed()
    monkeypatch.setattr(fingerprint, "_installed", lambda: installed | {"packages": {
        **installed["packages"], "jax": "0.0.1"}})
    changed["a package version"] = key_of(integrator, problem, policy, log_theta)
    monkeypatch.undo()
    monkeypatch.setattr(fingerprint, "source_digest", lambda: "edited")
    changed["stiffbench's source"] = key_of(integrator, problem, policy, log_theta)
    monkeypatch.undo()
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_use_thunk_runtime=false")
    changed["XLA_FLAGS"] = key_of(integrator, problem, policy, log_theta)
    monkeypatch.undo()
    assert key_of(integrator, problem, policy, log_theta) == base
    assert base not in changed.values() and len(set(changed.values())) == len(changed), changed


def test_a_weight_array_is_keyed_by_every_element_not_by_its_repr(registry):
    """numpy's repr elides the middle of a large array: two problems that print alike must still differ."""
    problem = registry.problems["robertson-neural"]
    name, weights = max(problem.weights.items(), key=lambda item: np.size(item[1]))
    edited = np.array(weights, dtype=np.float64)
    edited.flat[edited.size // 2] += 1e-12
    other = dataclasses.replace(problem, weights={**problem.weights, name: edited})
    assert fingerprint.describe(other) != fingerprint.describe(problem)


def test_a_plugin_edited_between_runs_misses_and_measures_the_new_method(cache, plugin_dir):
    """θ-method, R(z) = (1 + (1 − θ) z)/(1 − θ z): a stale hit would measure θ = 0.6 against θ = 0.7's theory."""
    results = []
    for theta in ("0.6", "0.7"):
        directory = plugin_dir("theta", THETA_METHOD.replace("THETA", theta))
        registry = load_registry(plugin_dirs=[str(directory)])
        results.append(measure_stability(registry.integrators["theta"], GRID))
    assert len(artifacts(cache)) == 2
    z = np.array(GRID.z())
    computed = np.array(results[1].points.R_computed)
    np.testing.assert_allclose(computed, (1 + 0.3 * z) / (1 - 0.7 * z), rtol=1e-12)
    assert results[1].summary.max_rel_err_R < 1e-12 and results[0].summary.max_rel_err_R < 1e-12


def test_a_problem_whose_code_changes_but_not_its_fields_misses(cache, plugin_dir):
    """``−k y`` and then ``−k y²``: same name, same fields; only the file differs."""
    keys, values = [], []
    for field in ("y", "y**2"):
        directory = plugin_dir("decay", DECAY.replace("FIELD", field))
        problem = load_registry(plugin_dirs=[str(directory)]).problems["decay"]
        log_theta = kernels.log_parameters(problem)
        keys.append(exported.key(("forward", problem), (log_theta,)))
        program = kernels.compile_program(jax.vmap(kernels.forward(stiffbench.load_registry().integrators[
            "backward-euler"], problem, FixedStep(0.5))), log_theta, cache=("forward", problem))
        values.append(np.asarray(program().ys))
    assert keys[0] != keys[1] and len(artifacts(cache)) == 2
    # backward Euler, h = 0.5, k = 2: y1 = 1/2 for −k y; y1 + y1² = 1 for −k y²
    assert values[0][0, 0, 0] == pytest.approx(0.5) and values[1][0, 0, 0] == pytest.approx((5**0.5 - 1) / 2)


def test_what_cannot_be_keyed_or_exported_is_traced_and_not_stored(cache):
    x = jnp.arange(3.0)
    unkeyable = kernels.compile_program(lambda x: 2 * x, x, cache=("double", object()))
    np.testing.assert_array_equal(unkeyable(), 2 * np.arange(3.0))

    def with_callback(x):
        return jax.pure_callback(lambda v: np.asarray(v) * 3, jax.ShapeDtypeStruct(x.shape, x.dtype), x)

    not_exportable = kernels.compile_program(with_callback, x, cache=("triple",))
    np.testing.assert_array_equal(not_exportable(), 3 * np.arange(3.0))
    assert artifacts(cache) == {}


def test_a_corrupt_artifact_is_a_miss_and_is_written_again(cache):
    x = jnp.arange(4.0)
    first = kernels.compile_program(jnp.cumsum, x, cache=("cumsum",))()
    ((name, good),) = artifacts(cache).items()
    (cache / name).write_bytes(good[: len(good) // 2])
    again = kernels.compile_program(jnp.cumsum, x, cache=("cumsum",))()
    np.testing.assert_array_equal(again, first)
    assert artifacts(cache) == {name: good}


def test_the_cache_keeps_the_most_recently_used_within_its_bound(tmp_path):
    for age, name in enumerate("abcd"):
        path = tmp_path / f"{name}.jax"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1e9 + age, 1e9 + age))
    exported._prune(tmp_path, limit=250)
    assert sorted(p.name for p in tmp_path.glob("*.jax")) == ["c.jax", "d.jax"]


def test_no_cache_writes_no_program_and_cache_clear_keeps_the_references(tmp_path):
    env = {**os.environ, "STIFFBENCH_CACHE_DIR": str(tmp_path)}
    env.pop("STIFFBENCH_NO_CACHE", None)

    def cli(*args: str) -> str:
        done = subprocess.run([str(Path(sys.executable).with_name("stiffbench")), *args], capture_output=True,
                              text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    measure = ("stability", "--integrator", "backward-euler", "--points", "5")
    cli(*measure, "--no-cache")
    assert not list(tmp_path.rglob("*.jax")) and not (tmp_path / "jax").exists()
    cli(*measure)
    assert len(list((tmp_path / "exported").glob("*.jax"))) == 1
    (tmp_path / "references").mkdir()
    (tmp_path / "references" / "kept.json").write_text("{}")
    listing = cli("cache")
    assert "exported     1" in listing and "references   1" in listing
    cleared = cli("cache", "--clear")
    assert "exported     0" in cleared and "jax          0" in cleared and "references   1" in cleared
    assert (tmp_path / "references" / "kept.json").exists()
