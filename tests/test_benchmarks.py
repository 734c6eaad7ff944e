"""The asv suite (``asv.conf.json``, ``benchmarks/``) in the test run, so that a broken benchmark fails CI.

``asv check`` imports the suite and checks the form of every benchmark. One quick pass (``--quick``: each case
once, in its own process) of a subset then runs every benchmark of the suite on at least one case: backward
Euler on the integrator axis and in the stability benchmarks, rodas4 on Robertson on the problem axis (its
gradient fidelity against the SciPy reference included), the registry, the overhead with adaptive steps, and
forward mode through radau-iia-5 on one of pollu's parameters, and backward Euler on the size axis at 64 states.
Nothing is timed here; the suite's numbers are asv's business.

asv runs against this interpreter (``--python=same``), from a copy of the configuration that puts its machine
file, results and parameter lists in a temporary directory; the compilation and reference caches are the
usual ones (``STIFFBENCH_CACHE_DIR``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import asv.util as asv_util
import pytest

from stiffbench.runtime import cache_dir

ROOT = Path(__file__).resolve().parents[1]
SUBSET = (r"\('backward-euler'|\('robertson-40', 'rodas4'\)|^registry\.|^overhead\..*\('adaptive"
          r"|^differentiation\..*\('radau-iia-5', 'forward', 1\)|^scaling\..*\(64, 'backward-euler'\)")
"""asv matches ``--bench`` against ``module.Class.method(param, ...)``, parameters by their ``repr``."""


@pytest.fixture(scope="module")
def asv(tmp_path_factory):
    """``run(*args)``: asv with the temporary configuration, asserting that it exits with 0."""
    home = tmp_path_factory.mktemp("asv")
    conf = asv_util.load_json(ROOT / "asv.conf.json", js_comments=True)
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"),
                **{key: str(home / key) for key in ("env_dir", "results_dir", "html_dir")})
    (home / "asv.conf.json").write_text(json.dumps(conf))
    # asv keeps its machine description in ~/.asv-machine.json: a throwaway home keeps the user's untouched.
    env = {**os.environ, "HOME": str(home), "STIFFBENCH_CACHE_DIR": str(cache_dir())}

    def run(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "asv", "--config", str(home / "asv.conf.json"), *args],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, f"asv {' '.join(args)}:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
        return result.stdout

    run("machine", "--yes")
    run.results_dir = home / "results_dir"
    return run


def test_asv_check(asv):
    assert "No problems found" in asv("check", "--python=same")


def test_quick_subset_runs_every_benchmark(asv):
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if commit.returncode != 0:
        pytest.skip("not a git checkout: asv records results by commit")
    # --set-commit-hash: asv keeps the results of a --python=same run only when told which commit they belong to.
    asv("run", "--python=same", "--quick", "--show-stderr", "--bench", SUBSET,
        "--set-commit-hash", commit.stdout.strip())

    benchmarks = json.loads((asv.results_dir / "benchmarks.json").read_text())
    benchmarks.pop("version")
    (results_file,) = [p for p in asv.results_dir.glob("*/*.json") if p.name != "machine.json"]
    results = json.loads(results_file.read_text())["results"]

    def succeeded(value) -> bool:  # asv records a failed case as None, a skipped one as NaN
        values = value[0] if isinstance(value[0], list) else [value[0]]
        return any(v is not None and math.isfinite(v) for v in values)

    assert sorted(benchmarks) == sorted(results), "the subset misses some benchmarks"
    assert [name for name, value in results.items() if not succeeded(value)] == []
