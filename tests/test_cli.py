"""The command line, run in-process through ``stiffbench.cli.main``."""

from __future__ import annotations

import json

import pytest

from stiffbench.cli import main

BROKEN = "raise ImportError('needs a package that is not installed')\n"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plugins_lists_sources_and_failures(capsys, plugin_dir):
    directory = plugin_dir("broken", BROKEN)
    code, out, _ = run(capsys, "--plugins-dir", str(directory), "plugins")
    assert code == 0
    assert "native" in out and "entry point stiffbench" in out
    assert "failed (1):" in out and "broken" in out and "needs a package that is not installed" in out


def test_list_integrators_table_and_json(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("trapezoid "))
    assert row.split()[1:7] == ["Runge–Kutta", "2", "2", "yes", "no", "-1"]
    code, out, _ = run(capsys, "list", "integrators", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert (rows["backward-euler"]["R_inf"], rows["backward-euler"]["l_stable"]) == ([0.0, 0.0], True)
    assert rows["diffrax-kvaerno5"]["plugin"] == "diffrax"


def test_list_problems(capsys):
    code, out, _ = run(capsys, "list", "problems", "--json")
    assert code == 0
    linear = next(r for r in json.loads(out) if r["name"] == "linear")
    assert linear["fast_parameters"] == ["rate"] and linear["stiffness_parameter"] == "rate"


def test_disable_blocks_a_plugin(capsys):
    code, out, _ = run(capsys, "list", "--disable", "diffrax")
    assert code == 0 and "diffrax-kvaerno5" not in out and "backward-euler" in out


def test_stability_json_and_out_file(capsys, tmp_path):
    out_file = tmp_path / "sub" / "stability.json"
    code, out, err = run(capsys, "stability", "--integrator", "backward-euler", "--points", "8",
                         "--angle", "45", "--json", "--out", str(out_file))
    assert code == 0
    record = json.loads(out)
    assert record == json.loads(out_file.read_text())
    assert record["schema"] == "stiffbench.stability/1"
    assert record["environment"]["packages"]["jax"]
    (result,) = record["results"]
    assert result["integrator"] == "backward-euler" and len(result["points"]) == 16
    point = result["points"][0]
    assert set(point) == {"z", "R_theory", "R_computed", "dR_theory", "dR_computed", "status"}
    assert set(result["summary"]) >= {"max_rel_err_R", "max_rel_err_dR", "decay_exponent_theory",
                                      "decay_exponent_computed", "R_inf", "a_stable", "l_stable",
                                      "compile_s", "run_s"}
    assert "backward-euler: compiled in" in err
    assert not list(out_file.parent.glob(".*.tmp"))  # the atomic write left no temporary file


def test_stability_table(capsys):
    code, out, _ = run(capsys, "stability", "--integrator", "backward-euler", "--points", "6", "--z-max", "1e4")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["integrator", "max", "err"]
    assert out.splitlines()[2].startswith("backward-euler")


@pytest.mark.parametrize("argv, message", [
    (["stability", "--integrator", "backward-eulr"], "did you mean 'backward-euler'"),
    (["stability", "--integrator", "trapezoid", "nope"], "unknown integrator 'nope'"),
    (["--plugins-dir", "/nonexistent/dir", "list"], "does not exist"),
])
def test_bad_names_exit_nonzero_with_a_suggestion(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


@pytest.mark.parametrize("argv, message", [
    (["stability", "--points", "0"], "at least 2"),
    (["stability", "--z-max", "-1"], "positive finite number"),
    (["stability", "--angle", "120"], r"[0, 90]"),
])
def test_invalid_option_values_are_refused(capsys, argv, message):
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse refuses what its types can check
        code = exit.code
    assert code == 2 and message in capsys.readouterr().err


def test_run_writes_records_into_a_directory(capsys, tmp_path):
    """The main job on one integrator and one problem; tests/test_run.py covers configurations and resume."""
    code, out, err = run(capsys, "run", "--integrator", "trapezoid", "--problem", "linear",
                         "--out", str(tmp_path / "r"))
    assert code == 0 and "trapezoid" in out and "stability trapezoid: compile" in err
    record = json.loads((tmp_path / "r" / "stability.json").read_text())
    assert record["schema"] == "stiffbench.stability/1" and len(record["results"][0]["points"]) == 400  # 2 rays
    assert json.loads((tmp_path / "r" / "environment.json").read_text()) == record["environment"]
    assert json.loads((tmp_path / "r" / "gradients.json").read_text())["results"][0]["problem"] == "linear"
    assert (tmp_path / "r" / "report.md").is_file() and (tmp_path / "r" / "config.toml").is_file()
