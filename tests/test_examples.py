"""The third-party plugin of the README: loaded from its directory, installed as a distribution, measured."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import stiffbench
from stiffbench import AdaptiveStep, Status
from stiffbench.measure import measure_gradients, measure_stability
from stiffbench.records import StabilityGrid

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE = EXAMPLES / "stiffbench-sdirk2"
PROBLEM_EXAMPLE = EXAMPLES / "stiffbench-prothero-robinson"


@pytest.mark.parametrize("module", [EXAMPLE / "stiffbench_sdirk2.py",
                                    PROBLEM_EXAMPLE / "stiffbench_prothero_robinson.py"], ids=lambda p: p.stem)
def test_readme_shows_the_example_verbatim(module):
    assert module.read_text() in (EXAMPLES.parent / "README.md").read_text()


def test_example_installed_as_a_distribution_registers_through_its_entry_point(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q",
                    "--target", str(target), str(EXAMPLE)], check=True)
    probe = ("import json, stiffbench; r = stiffbench.load_registry(); "
             "print(json.dumps([r.sources, r.integrators.plugins]))")
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True)
    sources, plugins = json.loads(out.stdout)
    assert plugins["my-sdirk2"] == "sdirk2"
    assert sources["sdirk2"] == "entry point stiffbench-sdirk2 0.1.0: stiffbench_sdirk2"


def test_example_sdirk2_loads_from_a_directory_and_matches_its_closed_form():
    registry = stiffbench.load_registry(plugin_dirs=[EXAMPLE], blocked=["diffrax"])
    assert registry.integrators.plugins["my-sdirk2"] == "stiffbench_sdirk2"
    result = measure_stability(registry.integrators["my-sdirk2"], StabilityGrid(points=60, z_max=1e6))
    g = 1 - 1 / math.sqrt(2)
    assert set(result.points.status) == {Status.OK}
    z = np.array(result.points.z)
    R = (1 + (1 - 2 * g) * z) / (1 - g * z) ** 2  # theory.md §4
    dR = (1 + g * (1 - 2 * g) * z) / (1 - g * z) ** 3
    computed_R = np.array(result.points.R_computed, dtype=complex)  # None (non-finite) becomes nan: fails below
    computed_dR = np.array(result.points.dR_computed, dtype=complex)
    assert np.max(np.abs(computed_R - R) / np.abs(R)) <= 1e-10
    assert np.max(np.abs(computed_dR - dR) / np.abs(dR)) <= 1e-10
    assert result.summary.l_stable is True


def test_example_problem_loads_from_a_directory_and_its_gradient_matches_the_closed_form():
    """y = sin t + e^(−kt), so ∂y/∂log k = −k t e^(−kt), through Radau IIA at a tight tolerance."""
    registry = stiffbench.load_registry(plugin_dirs=[PROBLEM_EXAMPLE], blocked=["diffrax"])
    assert registry.problems.plugins["prothero-robinson"] == "stiffbench_prothero_robinson"
    problem = registry.problems["prothero-robinson"]
    result = measure_gradients(registry.integrators["radau-iia-5"], problem, AdaptiveStep(rtol=1e-10, atol=1e-14),
                               stiffness=(1.0, 1e2))
    t = np.asarray(problem.ts)
    for row in result.rows:
        k = row.stiffness
        assert row.status == Status.OK
        np.testing.assert_allclose(np.ravel(row.ys), np.sin(t) + np.exp(-k * t), rtol=0, atol=1e-8)
        np.testing.assert_allclose(np.ravel(row.sensitivity["k"]), -k * t * np.exp(-k * t), rtol=0, atol=1e-8)
