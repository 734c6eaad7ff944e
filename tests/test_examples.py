"""The third-party plugin of the README: loaded from its directory, installed as a distribution, measured."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import stiffbench
from stiffbench._stability import StabilityGrid, measure_stability

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "stiffbench-sdirk2"


def test_readme_shows_the_example_verbatim():
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    assert (EXAMPLE / "stiffbench_sdirk2.py").read_text() in readme


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
    z = np.array([complex(*p["z"]) for p in result["points"]])
    R = (1 + (1 - 2 * g) * z) / (1 - g * z) ** 2  # theory.md §4
    dR = (1 + g * (1 - 2 * g) * z) / (1 - g * z) ** 3
    computed_R = np.array([complex(*p["R_computed"]) for p in result["points"]])
    computed_dR = np.array([complex(*p["dR_computed"]) for p in result["points"]])
    assert np.max(np.abs(computed_R - R) / np.abs(R)) <= 1e-10
    assert np.max(np.abs(computed_dR - dR) / np.abs(dR)) <= 1e-10
    assert result["summary"]["l_stable"] is True
