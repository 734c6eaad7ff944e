"""The third-party plugin of the README, loaded from its directory and measured."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import stiffbench
from stiffbench._stability import StabilityGrid, measure_stability

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "plugins"


def test_readme_shows_the_example_verbatim():
    readme = (EXAMPLES.parents[1] / "README.md").read_text()
    assert (EXAMPLES / "sdirk2.py").read_text() in readme


def test_example_sdirk2_loads_and_matches_its_closed_form():
    registry = stiffbench.load_registry(plugin_dirs=[EXAMPLES], blocked=["diffrax"])
    assert registry.integrators.plugins["my-sdirk2"] == "sdirk2"
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
