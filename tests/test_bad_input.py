"""Bad input as a new user types it, one probe per line: each is refused with exit status 2 and a message that
says what is wrong (suggesting a close name where there is one), before anything is measured, and every file
that existed before is unchanged and nothing new is written.

Faults during a run (a plugin that raises, returns NaN or the wrong shape; SIGINT and SIGKILL; resume) are
tests/test_faults.py; broken plugins are tests/test_host.py; invalid records and resume are tests/test_run.py.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest

import stiffbench.sweep.execute
from stiffbench.cli import main

USER_FILES = {
    "notes.json": '{"mine": true}',
    "mine/report.md": "# my own report\n",
    "mine/stability.json": '{"mine": true}',
    "gradients.json": json.dumps({"schema": "stiffbench.gradients/2", "results": []}),
    "run1/config.toml": 'integrators = ["backward-euler"]\nproblems = ["linear"]\n',  # a run with no cell yet
    "old/config.toml": 'integrators = ["backward-euler"]\n',
    "old/stability.json": json.dumps({"schema": "stiffbench.stability/1", "results": []}),
    "broken/torchy.py": "raise ImportError('needs torch')\n",
}
CONFIGS = {  # name -> the text of a bad sweep configuration
    "not_toml": "integrators = [\n",
    "typo_key": 'integrator = ["trapezoid"]\n',
    "typo_section": "[stabilty]\npoints = 8\n",
    "schema_key": 'schema = "stiffbench.config/9"\n',
    "points_str": '[stability]\npoints = "ten"\n',
    "points_one": "[stability]\npoints = 1\n",
    "points_float": "[stability]\npoints = 8.5\n",
    "points_bool": "[stability]\npoints = true\n",
    "z_reversed": "[stability]\nz_min = 1e3\nz_max = 1e2\n",
    "z_max_inf": "[stability]\nz_max = inf\n",
    "z_min_nan": "[stability]\nz_min = nan\n",
    "angle_big": "[stability]\nangles = [100]\n",
    "tail_off_grid": "[stability]\ntail = 1e9\n",
    "rtol_negative": "[gradients]\nrtol = [-1e-6]\n",
    "atol_alone": "[gradients]\natol = 1e-9\n",
    "steps_zero": "[gradients]\nsteps = [0]\n",
    "dt_string": '[gradients]\ndt = ["0.1"]\n',
    "gradients_list": "gradients = [1, 2]\n",
    "stiffness_list": "[gradients]\nstiffness = [1.0]\n",
    "stiffness_typo": 'problems = ["linear"]\n[gradients.stiffness]\nlinera = [1.0]\n',
    "stiffness_negative": 'problems = ["linear"]\n[gradients.stiffness]\nlinear = [-1.0]\n',
    "stiffness_range": 'problems = ["linear"]\n[gradients.stiffness]\nlinear = [1e13]\n',
    "problems_string": 'problems = "linear"\n',
    "no_integrators": "integrators = []\n",
    "integrator_typo": 'integrators = ["trapezoidd"]\n',
    "problem_typo": 'problems = ["robertsn"]\n',
    "cost_problem_typo": '[cost]\nproblems = ["van-der-poll"]\n',
    "cost_rtol_zero": "[cost]\nrtol = 0\n",
    "cost_scipy": '[cost]\nscipy = ["lsoda"]\n',
    "precision_method": '[precision]\ndifferentiation = ["adjoint"]\n',
    "precision_ladder": '[precision]\nladders = ["tolerance"]\n',
    "precision_problem_typo": '[precision]\nproblems = ["hirs"]\n',
    "precision_steps_zero": "[precision]\nsteps = [0]\n",
    "precision_checkpoints": '[precision]\ndifferentiation = ["reverse-c0"]\n',
    "training_optimizer": '[training]\noptimizers = ["sgd"]\n',
    "training_problem_typo": '[training]\nproblems = ["linear-2mod"]\n',
    "training_fit_unknown": '[training]\nproblems = ["linear"]\n[training.fit]\nlinear = ["k_fast"]\n',
    "training_fit_stray": '[training]\nproblems = ["linear"]\n[training.fit]\nhires = ["k1"]\n',
    "training_policy_key": '[training]\nproblems = ["linear"]\n[training.policies.linear]\nrtoll = [1e-6]\n',
    "training_no_policy": '[training]\nproblems = ["linear"]\nsteps = []\nrtol = []\n',
    "training_noise": "[training]\nnoise = -0.1\n",
    "training_iterations": "[training]\niterations = 0\n",
}
KNOWN = "(known: backward-euler, bdf-2"

PROBES = [  # the command line, a fragment of the message
    # commands, options, their values
    ("", "a command is required"),
    ("frobnicate", "invalid choice: 'frobnicate'"),
    ("--debug frobnicate", "invalid choice: 'frobnicate'"),
    ("--disable", "--disable: expected one argument"),
    ("--disable list", "a command is required"),
    ("plugins extra", "unrecognized arguments: extra"),
    ("list widgets", "invalid choice: 'widgets'"),
    ("list --kind problems", "unrecognized arguments: --kind"),
    ("list problems integrators", "unrecognized arguments: integrators"),
    ("stability --points", "--points: expected one argument"),
    ("stability --points two", "expected an integer, got 'two'"),
    ("stability --points 2.5", "expected an integer, got '2.5'"),
    ("stability --points 1", "integer of at least 2, got 1"),
    ("stability --points 0", "integer of at least 2, got 0"),
    ("stability --points -4", "integer of at least 2, got -4"),
    ("stability --z-min 0", "--z-min: expected a positive finite number, got 0"),
    ("stability --z-min nan", "positive finite number, got nan"),
    ("stability --z-max inf", "positive finite number, got inf"),
    ("stability --z-max -1", "positive finite number, got -1"),
    ("stability --z-min 1e3 --z-max 1e2", "must be finite and above z_min=1000"),
    ("stability --angle 91", "angle in [0, 90] degrees"),
    ("stability --angle 120", "angle in [0, 90] degrees"),
    ("stability --angle -1", "angle in [0, 90] degrees"),
    ("stability --angle nan", "angle in [0, 90] degrees"),
    ("stability --tail 0", "--tail: expected a positive finite number"),
    ("stability --tail 1e9", "leaves fewer than two of the 200 grid points"),
    ("stability --z-max 1e4 --points 6", "leaves fewer than two of the 6 grid points"),
    ("gradients --stiffness -1", "--stiffness: expected a positive finite number, got -1"),
    ("gradients --stiffness 0", "positive finite number, got 0"),
    ("gradients --stiffness inf", "positive finite number, got inf"),
    ("gradients --stiffness abc", "expected a number, got 'abc'"),
    ("gradients --problem linear --stiffness 1e13", "stiffness value 1e+13 for 'rate' is outside [1e-12, 1e+12]"),
    ("gradients --problem linear --stiffness 1e300", "is outside [1e-12, 1e+12]"),
    ("gradients --problem robertson-40 --stiffness 1e-30", "stiffness value 1e-30 for 'k2' is outside [30, 3e+11]"),
    ("fit --problem linear-2mod", "unknown problem 'linear-2mod'; did you mean 'linear-2mode'"),
    ("fit --integrator radau", "unknown integrator 'radau'"),
    ("fit --fit k_fats", "--fit: no problem chosen has 'k_fats'; they have k_fast, k_slow"),
    ("fit --optimizer sgd", "argument --optimizer: invalid choice: 'sgd'"),
    ("fit --differentiation adjoint", "--differentiation: unknown differentiation method 'adjoint'"),
    ("fit --iterations 0", "--iterations: expected an integer of at least 1, got 0"),
    ("fit --noise -1", "--noise: expected a finite number of at least 0, got -1"),
    ("fit --perturbation 0", "--perturbation: expected a positive finite number, got 0"),
    ("fit --atol 1e-9", "--atol applies to adaptive steps only: give --rtol too"),
    ("fit --out mine", "--out mine is a directory; name a file"),
    ("fit --out notes.json", "--out notes.json exists and does not hold stiffbench.training/1 records"),
    ("gradients --dt 0", "--dt: expected a positive finite number, got 0"),
    ("gradients --dt -0.1", "positive finite number, got -0.1"),
    ("gradients --dt 0.1 --rtol 1e-6", "--rtol: not allowed with argument --dt"),
    ("gradients --dt 0.1 --dt 0.2 --rtol 1e-3", "not allowed with argument --dt"),
    ("gradients --rtol 0", "--rtol: expected a positive finite number, got 0"),
    ("gradients --rtol nan", "positive finite number, got nan"),
    ("gradients --atol 1e-9", "--atol applies to adaptive steps only: give --rtol too"),
    ("gradients --rtol 1e-6 --atol -1", "--atol: expected a positive finite number, got -1"),
    ("cost --rtol 0", "--rtol: expected a positive finite number, got 0"),
    ("cost --rtol x", "expected a number, got 'x'"),
    ("cost --atol inf", "positive finite number, got inf"),
    ("compare run1 run1 --tolerance 1", "--tolerance: expected a factor above 1 (or inf), got 1"),
    ("compare run1 run1 --tolerance 0.5", "factor above 1 (or inf), got 0.5"),
    ("compare run1 run1 --tolerance abc", "expected a number, got 'abc'"),
    ("compare run1 run1 --time-tolerance 1", "--time-tolerance: expected a factor above 1"),
    ("compare run1 run1 --time-tolerance nan", "factor above 1 (or inf), got nan"),
    ("compare run1 run1 --exponent-tolerance 0", "--exponent-tolerance: expected a positive finite number"),
    ("run --config run1/config.toml --quick", "--quick: not allowed with argument --config"),
    # names
    ("stability --integrator", "--integrator: expected at least one argument"),
    ("stability --integrator backward-eulr", "unknown integrator 'backward-eulr'; did you mean 'backward-euler'?"),
    ("stability --integrator BACKWARD-EULER", "did you mean 'backward-euler'?"),
    ("stability --integrator backward_euler", "did you mean 'backward-euler'?"),
    ("stability --integrator trapezoid nope", f"unknown integrator 'nope' {KNOWN}"),
    ("gradients --problem", "--problem: expected at least one argument"),
    ("gradients --problem linera", "unknown problem 'linera'; did you mean 'linear' or 'linear-2mode'?"),
    ("gradients --problem lineer", "did you mean 'linear'"),
    ("gradients --integrator rodas", "did you mean 'rodas4', 'ros2' or 'ros3p'?"),
    ("cost --problem robertsn", "did you mean 'robertson-40', 'robertson-1e5' or 'robertson-neural'?"),
    ("cost --integrator radau", "did you mean 'radau-iia-5', 'radau-iia-3' or 'rodas4'?"),
    ("run --integrator trapezoidd --dry-run", "did you mean 'trapezoid'?"),
    ("run --problem robertsn --dry-run", "unknown problem 'robertsn'"),
    ("run --quick --integrator nope", f"unknown integrator 'nope' {KNOWN}"),
    ("run --dry-run --out mine --integrator nope", "unknown integrator 'nope'"),
    ("run --resume run1 --dry-run --problem robertsn", "unknown problem 'robertsn'"),
    ("--disable nativ list", "--disable: unknown plugin 'nativ' (known: bdf, diffrax"),
    ("list --disable runge-kutta", "unknown plugin 'runge-kutta'; did you mean 'runge_kutta'?"),
    ("--plugins-dir broken stability --integrator torchy", "unknown integrator 'torchy'"),
    # plugin directories
    ("--plugins-dir nowhere list", "plugins directory 'nowhere' does not exist"),
    ("--plugins-dir notes.json list", "plugins directory 'notes.json' is not a directory"),
    ("--plugins-dir mine/report.md plugins", "is not a directory"),
    # output files of stability, gradients, cost
    ("stability --out", "--out: expected one argument"),
    ("stability --out mine", "--out mine is a directory; name a file"),
    ("stability --out ", "is a directory; name a file"),
    ("stability --out notes.json", "--out notes.json exists and does not hold stiffbench.stability/2 records"),
    ("stability --out mine/report.md", "does not overwrite what it did not write"),
    ("stability --out gradients.json", "does not hold stiffbench.stability/2 records"),
    ("stability --out nodir/x.json", "the directory 'nodir' does not exist"),
    ("stability --out /proc/x.json", "cannot write into '/proc'"),
    ("gradients --out notes.json", "does not hold stiffbench.gradients/2 records"),
    ("gradients --out mine", "is a directory; name a file"),
    ("cost --out notes.json", "does not hold stiffbench.cost/2 records"),
    ("cost --out mine/stability.json", "does not overwrite what it did not write"),
    # run directories
    ("run --out", "--out: expected one argument"),
    ("run --out mine", "'mine' exists and is not an empty directory or a stiffbench run"),
    ("run --out ", "'.' exists and is not an empty directory or a stiffbench run"),
    ("run --out notes.json", "'notes.json' exists and is not an empty directory or a stiffbench run"),
    ("run --out run1", "'run1' already holds a run; resume it with --resume run1"),
    ("run --resume nowhere", "--resume nowhere: no such directory, nothing to resume; start the run with --out"),
    ("run --resume mine", "'mine' holds no config.toml: it is not a stiffbench run directory"),
    ("run --resume notes.json", "holds no config.toml"),
    ("run --resume run1 --out mine", "--out mine and --resume run1 name different directories"),
    ("run --resume run1 --quick", "refusing to resume 'run1': it was run with a different configuration"),
    ("run --resume run1 --integrator trapezoid", "refusing to resume 'run1'"),
    # where the cells run
    ("run --workers 0", "--workers: expected an integer of at least 1, got 0"),
    ("stability --workers many", "--workers: expected an integer, got 'many'"),
    ("run --scheduler tcp://127.0.0.1:1 --scheduler-file notes.json", "not allowed with argument --scheduler"),
    ("run --scheduler-file nofile.json", "--scheduler-file nofile.json: no such file"),
    ("fit --scheduler-file mine", "--scheduler-file mine: no such file"),
    ("run --out mine --workers 2", "'mine' exists and is not an empty directory or a stiffbench run"),
    ("run --out run1 --scheduler tcp://127.0.0.1:1", "'run1' already holds a run"),
    ("report", "the following arguments are required: DIR"),
    ("report nowhere", "run directory 'nowhere' does not exist"),
    ("report notes.json", "run directory 'notes.json' is a file, not a directory"),
    ("report mine", "'mine' holds no stiffbench records (stability.json: not a valid record)"),
    ("report old", "holds 'stiffbench.stability/1' records, written by another version of stiffbench"),
    ("report run1 extra", "unrecognized arguments: extra"),
    ("compare", "the following arguments are required: DIR_A, DIR_B"),
    ("compare nowhere run1", "run directory 'nowhere' does not exist"),
    ("compare mine run1", "'mine' holds no stiffbench records"),
    ("compare old run1", "stiffbench.stability/1"),
    ("compare run1 run1", "have no cell in common (no measured cell vs no measured cell)"),
    # configuration files
    ("run --config nofile.toml", "configuration file 'nofile.toml' does not exist"),
    ("run --config mine", "configuration file 'mine' is a directory"),
    ("run --config notes.json", "notes.json is not valid TOML"),
    *((f"run --config {name}.toml", message) for name, message in [
        ("not_toml", "not_toml.toml is not valid TOML"),
        ("typo_key", "unknown key 'integrator' (did you mean 'integrators'?)"),
        ("typo_section", "unknown key 'stabilty' (did you mean 'stability'?)"),
        ("schema_key", "unknown key 'schema'; valid keys at the top level: integrators, problems"),
        ("points_str", "stability.points must be an integer of at least 2, got str 'ten'"),
        ("points_one", "stability.points must be an integer of at least 2, got int 1"),
        ("points_float", "got float 8.5"),
        ("points_bool", "got bool True"),
        ("z_reversed", "[stability]: z_max (largest |z|) must be finite and above z_min=1000"),
        ("z_max_inf", "stability.z_max must be a positive finite number, got float inf"),
        ("z_min_nan", "stability.z_min must be a positive finite number, got float nan"),
        ("angle_big", "angle arg(-z) must be in [0, 90] degrees"),
        ("tail_off_grid", "tail = 1e+09 leaves fewer than two of the 200 grid points"),
        ("rtol_negative", "gradients.rtol must be a list of positive finite numbers"),
        ("atol_alone", "gradients.atol applies to adaptive policies only: set gradients.rtol too"),
        ("steps_zero", "gradients.steps must be a list of integers of at least 1"),
        ("dt_string", "gradients.dt must be a list of positive finite numbers, got list ['0.1']"),
        ("gradients_list", "gradients must be a table ([gradients]), got list"),
        ("stiffness_list", "gradients.stiffness must be a table of problem = [values]"),
        ("stiffness_typo", "unknown problem 'linera'; did you mean 'linear'"),
        ("stiffness_negative", "gradients.stiffness.linear must be a list of positive finite numbers"),
        ("stiffness_range", "stiffness value 1e+13 for 'rate' is outside"),
        ("problems_string", 'problems must be "all" or a list of names'),
        ("no_integrators", "the configuration selects no integrator"),
        ("integrator_typo", "unknown integrator 'trapezoidd'; did you mean 'trapezoid'?"),
        ("problem_typo", "did you mean 'robertson-40', 'robertson-1e5' or 'robertson-neural'?"),
        ("cost_problem_typo", "unknown problem 'van-der-poll'; did you mean 'van-der-pol'?"),
        ("cost_rtol_zero", "cost.rtol must be a positive finite number, got int 0"),
        ("cost_scipy", "cost.scipy: unknown SciPy method(s) ['lsoda']; valid: radau, bdf"),
        ("precision_method", "precision.differentiation: unknown differentiation method 'adjoint'; valid: reverse"),
        ("precision_ladder", "precision.ladders: unknown ladder(s) ['tolerance']; valid: rtol, steps"),
        ("precision_problem_typo", "unknown problem 'hirs'; did you mean 'hires'?"),
        ("precision_steps_zero", "precision.steps must be a list of integers of at least 1"),
        ("precision_checkpoints", "unknown differentiation method 'reverse-c0'"),
        ("training_optimizer", "training.optimizers: unknown optimizer(s) ['sgd']; valid: adam, lbfgs"),
        ("training_problem_typo", "unknown problem 'linear-2mod'; did you mean 'linear-2mode'"),
        ("training_fit_unknown", "training.fit.linear: linear has no parameter 'k_fast'; it has rate"),
        ("training_fit_stray", "training.fit names 'hires', not among training.problems"),
        ("training_policy_key", "unknown key 'training.policies.linear.rtoll'; valid keys: steps, dt, rtol, atol"),
        ("training_no_policy", "no step policy for the training cells of linear"),
        ("training_noise", "training.noise must be a finite number of at least 0, got -0.1"),
        ("training_iterations", "training.iterations must be an integer of at least 1, got int 0"),
    ]),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A user's working directory: files of their own, a run directory, an old run, bad configurations."""
    root = tmp_path_factory.mktemp("workspace")
    for name, text in {**USER_FILES, **{f"{name}.toml": text for name, text in CONFIGS.items()}}.items():
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "directory"
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("command, message", PROBES, ids=[command or "(none)" for command, _ in PROBES])
def test_bad_input_is_refused_before_measuring_and_changes_nothing(command, message, workspace, monkeypatch, capsys):
    def measure(*args, **kwargs):
        raise AssertionError(f"`stiffbench {command}` started measuring")

    monkeypatch.setattr(stiffbench.sweep.execute, "measure_cell", measure)
    monkeypatch.chdir(workspace)
    before = snapshot(workspace)
    argv = command.split(" ") if command else []
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse refuses what its types can check
        code = exit.code
    err = capsys.readouterr().err
    assert (code, message in err) == (2, True), err
    assert "Traceback" not in err
    assert snapshot(workspace) == before


def test_there_are_at_least_a_hundred_probes():
    assert len(PROBES) >= 100 and len({command for command, _ in PROBES}) == len(PROBES)


def test_a_broken_plugin_is_named_when_a_name_it_would_have_registered_is_unknown(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    assert main(["--plugins-dir", "broken", "stability", "--integrator", "torchy"]) == 2
    err = capsys.readouterr().err
    assert "1 plugin(s) failed to load: torchy" in err and "unknown integrator 'torchy'" in err
