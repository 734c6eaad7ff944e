"""The command line, run in-process through ``stiffbench.cli.main``."""

from __future__ import annotations

import json

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
    assert "runge_kutta" in out and "entry point stiffbench" in out
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
    out_file.parent.mkdir()
    code, out, err = run(capsys, "stability", "--integrator", "backward-euler", "--points", "8",
                         "--angle", "45", "--json", "--out", str(out_file))
    assert code == 0
    record = json.loads(out)
    assert record == json.loads(out_file.read_text())
    assert record["schema"] == "stiffbench.stability/2"
    assert record["environment"]["packages"]["jax"] and record["environment"]["packages"]["scipy"]
    (result,) = record["results"]
    assert result["key"] == {"kind": "stability", "coords": {"integrator": "backward-euler"}}
    assert set(result["points"]) == {"z", "R_theory", "R_computed", "dR_theory", "dR_computed", "status"}
    assert len(result["points"]["z"]) == 16 and result["status"] == "ok"
    assert set(result["summary"]) >= {"max_rel_err_R", "max_rel_err_dR", "agreement", "rays", "R_inf", "a_stable",
                                      "l_stable", "decay_exponent_asymptotic"}
    assert set(result["cost"]) == {"compile_s", "run_s"}
    assert "stability backward-euler: compile" in err
    assert not list(out_file.parent.glob(".*.tmp"))  # the atomic write left no temporary file


def test_stability_table(capsys):
    code, out, _ = run(capsys, "stability", "--integrator", "backward-euler", "--points", "6", "--z-max", "1e4",
                       "--tail", "100")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["integrator", "max", "err"]
    assert out.splitlines()[2].startswith("backward-euler")


def test_run_writes_records_into_a_directory(capsys, tmp_path):
    """The main job on one integrator and one problem; tests/test_run.py covers configurations and resume."""
    code, out, err = run(capsys, "run", "--integrator", "trapezoid", "--problem", "linear",
                         "--out", str(tmp_path / "r"))
    assert code == 0 and "trapezoid" in out and "stability trapezoid: compile" in err
    record = json.loads((tmp_path / "r" / "stability.json").read_text())
    assert record["schema"] == "stiffbench.stability/2" and len(record["results"][0]["points"]["z"]) == 400  # 2 rays
    assert json.loads((tmp_path / "r" / "environment.json").read_text()) == record["environment"]
    gradients = json.loads((tmp_path / "r" / "gradients.json").read_text())
    assert gradients["results"][0]["key"]["coords"]["problem"] == "linear"
    assert (tmp_path / "r" / "report.md").is_file() and (tmp_path / "r" / "config.toml").is_file()


def test_global_options_before_and_after_the_command_combine(capsys):
    code, out, _ = run(capsys, "--disable", "diffrax", "list", "--disable", "bdf")
    assert code == 0 and "diffrax-kvaerno5" not in out and "bdf-2" not in out and "backward-euler" in out


def test_an_internal_error_exits_1_with_a_hint_and_not_2(capsys, monkeypatch):
    import stiffbench.cli.commands

    def bug(*args, **kwargs):
        raise ValueError("an internal inconsistency")

    monkeypatch.setattr(stiffbench.cli.commands, "catalog", bug)
    code, _, err = run(capsys, "list")
    assert code == 1 and "internal error: ValueError: an internal inconsistency" in err and "--debug" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "--debug", "list")
    assert code == 1 and "Traceback" in err
