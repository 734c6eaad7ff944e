"""Sweeps on Dask distributed: a real ``LocalCluster`` (``--workers``) and a scheduler and workers started as
separate processes (``dask scheduler``, ``dask worker --preload stiffbench.sweep.worker``), as a user runs them.

Each run's records are checked against a serial run of the same cells: the same statuses and numbers, only the
timings and where each cell ran differ. The faults: a cell that raises, a cell that kills its worker
(``os._exit``), a run interrupted and resumed with more workers, a worker whose runtime differs from the client's.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_faults import FAULTY, cells  # integrators that raise or kill their process; records to compare

from stiffbench.cli import commands, main
from stiffbench.sweep.worker import differences

BIN = Path(sys.executable).parent
TINY = Path(__file__).with_name("tiny_sweep.toml")


def placements(directory: Path) -> dict[str, dict]:
    return {str(path.relative_to(directory / "cells")): json.loads(path.read_text())["results"][0]["placement"]
            for path in sorted((directory / "cells").rglob("*.json"))}


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    """The tiny sweep measured in-process: what every distributed run must reproduce."""
    out = tmp_path_factory.mktemp("serial") / "run"
    assert main(["run", "--config", str(TINY), "--out", str(out)]) == 0
    return out


def test_a_local_cluster_measures_the_same_records_as_the_serial_run(serial, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--config", str(TINY), "--out", str(out), "--workers", "2"]) == 0
    assert "measuring on a local Dask cluster of 2 workers" in capsys.readouterr().err
    assert cells(out) == cells(serial)
    assert main(["compare", str(serial), str(out), "--time-tolerance", "inf"]) == 0

    where = placements(out)
    assert {p["concurrency"] for p in where.values()} == {2}
    assert all(p["worker"].split()[0] in ("0", "1") and p["worker"].split()[1].startswith("tcp://")
               for p in where.values())
    if len(os.sched_getaffinity(0)) >= 2:  # each local worker is pinned to one CPU
        assert all(len(p["cpu_affinity"]) == 1 for p in where.values())
    assert {p["worker"] for p in placements(serial).values()} == {"in-process"}
    assert "4 cells on Dask workers, 2 cells at a time (2 worker processes" in (out / "report.md").read_text()


def test_an_interrupted_run_resumes_with_more_workers(serial, tmp_path, monkeypatch, capsys):
    out, written = tmp_path / "run", []
    write_cell = commands.write_cell

    def interrupt_after_two(directory, record, environment):
        if len(written) == 2:
            raise KeyboardInterrupt
        write_cell(directory, record, environment)
        written.append(record.key.path)

    monkeypatch.setattr(commands, "write_cell", interrupt_after_two)
    assert main(["run", "--config", str(TINY), "--out", str(out)]) == 130
    assert f"stiffbench run --resume {out}" in capsys.readouterr().err
    monkeypatch.undo()
    kept = {path: (out / path).read_bytes() for path in written}

    assert main(["run", "--resume", str(out), "--workers", "2"]) == 0
    assert {path: (out / path).read_bytes() for path in kept} == kept  # kept cells are not measured again
    assert cells(out) == cells(serial)
    where = placements(out)
    assert sorted(p["concurrency"] for p in where.values()) == [1, 1, 2, 2]


def test_identities_name_every_difference():
    client = {"jax": "0.10.2", "XLA_FLAGS": "None", "integrators": "a, b"}
    worker = {"jax": "0.10.1", "XLA_FLAGS": "None", "integrators": "a"}
    assert differences(client, worker) == ["jax: '0.10.1' on the worker, '0.10.2' on the client",
                                           "integrators: 'a' on the worker, 'a, b' on the client"]


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes, as on a cluster; stopped when the test ends."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.processes = directory, []
        self.scheduler_file = directory / "scheduler.json"

    def start_scheduler(self) -> str:
        self._start("scheduler", [str(BIN / "dask"), "scheduler", "--scheduler-file", str(self.scheduler_file),
                                  "--no-dashboard", "--host", "127.0.0.1", "--port", "0"])
        deadline = time.monotonic() + 60
        while not self.scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        return json.loads(self.scheduler_file.read_text())["address"]

    def start_workers(self, n: int, **env: str) -> None:
        self._start(f"workers-{len(self.processes)}", [
            str(BIN / "dask"), "worker", "--scheduler-file", str(self.scheduler_file), "--nworkers", str(n),
            "--nthreads", "1", "--no-dashboard", "--preload", "stiffbench.sweep.worker"], env)

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(scheduler_file=str(self.scheduler_file), timeout="60s") as client:
            client.wait_for_workers(n, timeout=120)

    def _start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.directory / f"{name}.log", "w")  # closed in stop()
        self.processes.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                env=os.environ | (env or {})), log))

    def stop(self) -> None:
        for process, log in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


@pytest.fixture
def cluster(tmp_path):
    cluster = Cluster(tmp_path)
    yield cluster
    cluster.stop()


def test_separate_scheduler_and_workers_run_plugins_and_survive_a_raising_and_a_killing_cell(
        serial, cluster, tmp_path, capsys):
    address = cluster.start_scheduler()
    cluster.start_workers(2)
    cluster.wait_for_workers(2)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "faulty.py").write_text(FAULTY)  # only the client has it: the workers get it with each task
    config = tmp_path / "sweep.toml"
    config.write_text(TINY.read_text().replace('"trapezoid"]', '"trapezoid", "faulty-raises", "faulty-exits"]'))
    out = tmp_path / "run"
    assert main(["--plugins-dir", str(plugins), "run", "--config", str(config), "--out", str(out),
                 "--scheduler", address]) == 0
    assert f"measuring on 2 Dask workers of {address}" in capsys.readouterr().err

    found = cells(out)
    assert {path: record for path, record in found.items() if "faulty" not in path} == cells(serial)
    for kind, path in (("stability", "cells/stability/{}.json"),
                       ("gradients", "cells/gradients/linear/{}/fixed-h0.1.json")):
        raised, killed = found[path.format("faulty-raises")], found[path.format("faulty-exits")]
        assert (raised["status"], raised["message"]) == ("error", "RuntimeError: injected fault"), kind
        assert killed["status"] == "error" and "the worker died while measuring this cell" in killed["message"]
        assert "not retried" in killed["message"], kind
    # a cell submitted while a killed worker was being replaced ran with one worker beside it less
    concurrency = {p["concurrency"] for p in placements(out).values()}
    assert 2 in concurrency and concurrency <= {1, 2}


def test_a_worker_that_differs_from_the_client_is_refused_by_name(cluster, tmp_path, capsys):
    cluster.start_scheduler()
    cluster.start_workers(1, XLA_FLAGS="--xla_cpu_enable_fast_math=false")
    cluster.wait_for_workers(1)
    out = tmp_path / "run"
    code = main(["run", "--config", str(TINY), "--out", str(out), "--scheduler-file", str(cluster.scheduler_file)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "refusing a mixed cluster" in err and "tcp://" in err
    assert "XLA_FLAGS: '--xla_cpu_enable_fast_math=false' on the worker" in err
    assert not out.exists()  # the cluster is checked before the run directory is made


def test_a_scheduler_that_cannot_be_reached_is_a_usage_error(tmp_path, capsys):
    assert main(["run", "--config", str(TINY), "--out", str(tmp_path / "run"),
                 "--scheduler-file", str(tmp_path / "missing.json")]) == 2
    assert "--scheduler-file" in capsys.readouterr().err


def test_a_scheduler_that_does_not_answer_is_named(tmp_path, monkeypatch, capsys):
    import stiffbench.sweep.cluster

    monkeypatch.setattr(stiffbench.sweep.cluster, "CONNECT_TIMEOUT_S", 2)
    assert main(["run", "--config", str(TINY), "--out", str(tmp_path / "run"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "cannot connect to tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_the_serial_path_does_not_import_dask(tmp_path):
    script = ("import sys; from stiffbench.cli import main; "
              f"code = main(['stability', '--integrator', 'backward-euler', '--points', '4', '--out', "
              f"{str(tmp_path / 's.json')!r}]); "
              "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.stdout.split("\n")[-2] == "0 []", done.stdout + done.stderr
    [record] = json.loads((tmp_path / "s.json").read_text())["results"]
    assert record["placement"]["worker"] == "in-process" and record["placement"]["concurrency"] == 1


class Future:
    """What the executor reads of a Dask future: its result, or the exception it raises."""

    def __init__(self, outcome):
        self.outcome = outcome

    def result(self):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def test_a_killed_worker_is_the_cells_failure_and_a_lost_task_stops_the_run(registry):
    from distributed import KilledWorker

    from stiffbench.errors import ClusterError
    from stiffbench.sweep import make_plan, parse_config
    from stiffbench.sweep.cluster import DaskExecutor

    [cell, *_] = make_plan(parse_config(TINY.read_text()), registry).cells
    executor = DaskExecutor.__new__(DaskExecutor)  # no client: _record reads only the future
    executor.concurrency = 2
    killed = KilledWorker(cell.key.label, type("Worker", (), {"address": "tcp://10.0.0.7:4000"})(), 0)
    record, _ = executor._record(Future(killed), cell, 1.5)
    assert record.status.label == "error" and "the worker died while measuring this cell" in record.message
    assert (record.placement.host, record.placement.worker) == ("10.0.0.7", "tcp://10.0.0.7:4000")
    with pytest.raises(ClusterError, match="was not measured: CancelledError"):
        executor._record(Future(asyncio.CancelledError("lost")), cell, 1.5)
