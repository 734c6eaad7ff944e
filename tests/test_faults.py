"""Fault injection: a sweep in which one integrator raises, one returns NaN and one returns the wrong shape, run as
a user runs it (the ``stiffbench`` command in a subprocess), interrupted by SIGINT and then by SIGKILL at random
moments, and resumed: the finished run holds every planned cell exactly once, with the statuses the faults call
for, and the same records and report as a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stiffbench.records import RECORD_TYPES, CellKey, from_json, to_json

STIFFBENCH = str(Path(sys.executable).with_name("stiffbench"))

FAULTY = '''
import dataclasses
import os

import jax.numpy as jnp

from stiffbench import AbstractIntegrator, hookimpl
from stiffbench.plugins.runge_kutta import INTEGRATORS

EULER = next(i for i in INTEGRATORS if i.name == "backward-euler")


@dataclasses.dataclass(frozen=True)
class Faulty(AbstractIntegrator):
    """Backward Euler with an injected fault."""

    name: str
    fault: str
    family: str = EULER.family
    order: int = 1
    stages: int = 1
    implementation: str = "backward Euler with an injected fault"
    citation: str = "tests/test_faults.py"
    theory: object = EULER.theory

    def solve(self, vector_field, t0, y0, ts, params, policy):
        if self.fault == "exits":  # kills the process that measures it: for a Dask worker (tests/test_cluster.py)
            os._exit(3)
        sol = EULER.solve(vector_field, t0, y0, ts, params, policy)
        if self.fault == "raises":
            raise RuntimeError("injected fault")
        if self.fault == "nan":  # and still claims success
            return dataclasses.replace(sol, ys=sol.ys * jnp.nan)
        return dataclasses.replace(sol, ys=jnp.concatenate([sol.ys, sol.ys], axis=-1))


@hookimpl
def register_integrators(register):
    for fault in ("raises", "nan", "shape", "exits"):
        register(Faulty(name=f"faulty-{fault}", fault=fault))
'''

CONFIG = """
integrators = ["backward-euler", "faulty-raises", "faulty-nan", "faulty-shape"]
problems = ["linear"]

[stability]
points = 8

[gradients]
steps = [10]

[gradients.stiffness]
linear = [1.0, 1000.0]
"""

TIMES = re.compile(r"\d+(\.\d+)?(e[-+]?\d+)? ?(ms|s|µs)\b|\n## Cost\n.*?(?=\n## )", re.DOTALL)
"""Durations in the report, and its table of them: the one thing two runs of the same cells may not share."""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    (base / "plugins").mkdir()
    (base / "plugins" / "faulty.py").write_text(FAULTY)
    (base / "sweep.toml").write_text(CONFIG)
    return base


def stiffbench(sweep: Path, *argv: str) -> list[str]:
    return [STIFFBENCH, "--plugins-dir", str(sweep / "plugins"), "run", "--config", str(sweep / "sweep.toml"), *argv]


def interrupted(command: list[str], signum: int, after: float) -> subprocess.CompletedProcess:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process.wait(timeout=after)
    except subprocess.TimeoutExpired:
        process.send_signal(signum)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def cells(directory: Path) -> dict[str, dict]:
    """Every cell file of a run, its record without what differs between two runs of it (timings, where it ran)."""
    found = {}
    for path in sorted((directory / "cells").rglob("*.json")):
        kind = path.relative_to(directory / "cells").parts[0]
        [record] = json.loads(path.read_text())["results"]
        record = to_json(from_json(RECORD_TYPES[kind], record, str(path)))  # a valid record of this schema
        record.pop("cost", None)
        record.pop("placement")
        found[str(path.relative_to(directory))] = record
    return found


def test_faults_and_interruptions_lose_nothing_and_change_nothing(sweep):
    started = time.monotonic()
    clean = subprocess.run(stiffbench(sweep, "--out", str(sweep / "clean")), capture_output=True, text=True,
                           timeout=600)
    duration = time.monotonic() - started
    assert clean.returncode == 0, clean.stderr
    plan = json.loads((sweep / "clean" / "plan.json").read_text())["cells"]
    planned = sorted(str(from_json(CellKey, cell["key"], "plan.json").path) for cell in plan)
    expected = cells(sweep / "clean")
    assert sorted(expected) == planned and len(planned) == 8

    by_cell = {(r["key"]["kind"], r["key"]["coords"]["integrator"]): r for r in expected.values()}
    for kind in ("stability", "gradients"):
        assert by_cell[kind, "backward-euler"]["status"] == "ok"
        raises, shape = by_cell[kind, "faulty-raises"], by_cell[kind, "faulty-shape"]
        assert (raises["status"], raises["message"]) == ("error", "RuntimeError: injected fault")
        assert shape["status"] == "error" and "faulty-shape.solve returned states of shape" in shape["message"]
    assert set(by_cell["stability", "faulty-nan"]["points"]["status"]) == {"nonfinite"}
    assert [row["status"] for row in by_cell["gradients", "faulty-nan"]["rows"]] == ["nonfinite", "nonfinite"]
    assert [row["status"] for row in by_cell["gradients", "backward-euler"]["rows"]] == ["ok", "ok"]

    seed = int(os.environ.get("STIFFBENCH_FAULT_SEED", time.time_ns() % 10**6))
    rng = random.Random(seed)
    moments = [rng.uniform(0.2, duration), rng.uniform(0.2, duration)]
    where = (f"(seed {seed}: SIGINT after {moments[0]:.1f} s, SIGKILL after {moments[1]:.1f} s, "
             f"a clean run takes {duration:.0f} s)")
    run_dir = sweep / "interrupted"
    first = interrupted(stiffbench(sweep, "--out", str(run_dir)), signal.SIGINT, moments[0])
    assert first.returncode in (0, 130, 1, -signal.SIGINT), f"{where}\n{first.stderr}"
    if first.returncode == 130 and run_dir.exists():
        assert f"stiffbench run --resume {run_dir}" in first.stderr, where
    # Interrupted before it made its directory, a run has left nothing to resume: the user starts it again.
    again = ["--resume" if run_dir.exists() else "--out", str(run_dir)]
    interrupted(stiffbench(sweep, *again), signal.SIGKILL, moments[1])
    again = ["--resume" if run_dir.exists() else "--out", str(run_dir)]
    final = subprocess.run(stiffbench(sweep, *again), capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, f"{where}\n{final.stderr}"

    assert cells(run_dir) == expected, where
    assert mask(run_dir / "report.md") == mask(sweep / "clean" / "report.md"), where
    assert json.loads((run_dir / "plan.json").read_text()) == json.loads((sweep / "clean" / "plan.json").read_text())


def mask(report: Path) -> str:
    """The report without its first line (the directory's name, when it was made) and without durations."""
    lines = report.read_text().splitlines()
    assert lines[2].startswith("Run directory"), lines[:3]
    return TIMES.sub("<time>", "\n".join(lines[:2] + lines[3:]))
