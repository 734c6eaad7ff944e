"""A non-editable wheel ships the built-ins under ``stiffbench.*`` and exposes them as entry points."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import importlib.metadata, importlib.util, json, sys
import stiffbench
registry = stiffbench.load_registry()
modules = {name: sys.modules[f"stiffbench.{name}"].__file__ for name in (
    "plugins.runge_kutta", "plugins.diffrax", "problems.linear", "engines.runge_kutta", "engines.diffrax_adapter")}
print(json.dumps({
    "stiffbench": stiffbench.__file__,
    "modules": modules,
    "sources": registry.sources,
    "failures": registry.failures,
    "integrators": list(registry.integrators),
    "top_level": [name for name in ("plugins", "problems", "engines") if importlib.util.find_spec(name) is not None],
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(ROOT, src, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "results",
                                                  "__pycache__", ".asv"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(src)], check=True)
    (wheel,) = out.glob("stiffbench-*.whl")
    return wheel


def test_wheel_contains_builtins_inside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("stiffbench/plugins/runge_kutta.py", "stiffbench/plugins/diffrax.py",
                   "stiffbench/engines/runge_kutta.py", "stiffbench/engines/diffrax_adapter.py",
                   "stiffbench/engines/newton.py", "stiffbench/problems/linear.py", "stiffbench/cli/__init__.py",
                   "stiffbench/theory/__init__.py", "stiffbench/contracts/__init__.py"):
        assert module in names
    for gone in ("stiffbench/plugins/native.py", "stiffbench/plugins/implicit_rk.py",
                 "stiffbench/plugins/diffrax_solvers.py", "stiffbench/theory.py", "stiffbench/cli.py"):
        assert gone not in names
    assert not [n for n in names if n.startswith(("plugins/", "problems/", "engines/", "tests/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[stiffbench]" in text and "runge_kutta = stiffbench.plugins.runge_kutta" in text
    assert "diffrax = stiffbench.plugins.diffrax" in text and "native" not in text
    assert "stiffbench = stiffbench.cli:main" in text


def test_installed_wheel_loads_every_builtin_through_entry_points(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheel)], check=True)
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"}
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True,
                           text=True, check=True)
    seen = json.loads(probe.stdout)
    assert seen["stiffbench"].startswith(str(target))
    assert all(path.startswith(str(target)) for path in seen["modules"].values())
    assert {"runge_kutta", "diffrax", "linear"} <= set(seen["sources"]) and not seen["failures"]
    assert {"backward-euler", "trapezoid", "diffrax-implicit-euler", "diffrax-kvaerno5"} <= set(seen["integrators"])
    assert seen["top_level"] == []


def test_ci_runs_the_readmes_test_command_with_the_verified_versions():
    """The README's second quickstart command is what CI runs; both install the versions of constraints.txt."""
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv .venv && ")]
    assert len(commands) == 2, commands
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
    assert all("-c constraints.txt" in command for command in commands)
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line)
    for package in ("jax", "diffrax", "equinox", "optimistix", "numpy", "scipy", "pluggy", "rich", "tomli_w"):
        assert package.replace("_", "-") in pins or package in pins, f"{package} is not pinned in constraints.txt"
