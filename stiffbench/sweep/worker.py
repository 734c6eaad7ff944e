"""The worker side of a Dask run: a preload that sets a worker process up as the CLI sets itself up, and the task
that measures one cell there.

Start workers for a ``stiffbench run --scheduler ADDRESS`` with::

    dask worker ADDRESS --nthreads 1 --preload stiffbench.sweep.worker

(``stiffbench run --workers N`` starts its local workers with the same preload). Importing this module configures
the runtime before JAX starts (float64, ``EQX_ON_ERROR``, the persistent compilation cache under
``STIFFBENCH_CACHE_DIR``; ``XLA_FLAGS`` as the environment has them); ``dask_setup`` pins a local worker to one
CPU. A task (:func:`measure`) carries the sweep's configuration, the plugin files of the client's
``--plugins-dir`` and the client's :func:`identity`; the worker loads the registry and plans the sweep once per
process and refuses to measure if its identity differs from the client's. :func:`~.execute.measure_cell` clears
JAX's in-memory caches after each cell: which cells a worker ran before is an accident of scheduling, and cleared,
every cell is traced from the same state.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import platform
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, final

from .. import runtime
from .._registry import Registry, load_registry
from ..errors import ClusterError
from ..measure.fingerprint import source_digest
from ..records import CellKey, Placement, to_json, write_text
from ..records.common import package_versions
from .config import parse_config
from .execute import measure_cell
from .plan import Plan, make_plan

runtime.configure()


@final
@dataclasses.dataclass(frozen=True)
class Sweep:
    """What every task of a run shares: enough for a worker to load the client's plugins and plan its cells."""

    config: str
    """The effective configuration, as TOML."""
    kinds: tuple[str, ...]
    plugin_files: tuple[tuple[int, str, bytes], ...]
    """``(directory index, file name, contents)`` of every ``*.py`` file in the client's ``--plugins-dir``."""
    blocked: tuple[str, ...]
    identity: Mapping[str, str]
    """The client's :func:`identity`; a worker whose own differs refuses its tasks."""


def read_plugin_files(plugin_dirs: tuple[str, ...]) -> tuple[tuple[int, str, bytes], ...]:
    """The files a worker loads as the client's plugin directories (only ``*.py``, as the host loads them)."""
    return tuple((k, path.name, path.read_bytes()) for k, d in enumerate(dict.fromkeys(plugin_dirs))
                 for path in sorted(Path(d).glob("*.py")))


def identity(registry: Registry, plugin_files: tuple[tuple[int, str, bytes], ...]) -> dict[str, str]:
    """What must be the same on the client and on every worker for their records to be the same: Python, the
    recorded packages' versions, stiffbench's source, the installed plugins and what they register, and the
    runtime settings that change compiled programs."""
    packages = {package: version or "not installed" for package, version in package_versions().items()}
    digest = hashlib.sha256(b"".join(name.encode() + data for _, name, data in plugin_files)).hexdigest()[:16]
    return {
        "python": platform.python_version(),
        **packages,
        "stiffbench source": source_digest(),
        "plugins": ", ".join(f"{name} ({source})" for name, source in registry.sources.items()
                             if source.startswith("entry point")) + f"; plugins-dir files {digest}",
        "integrators": ", ".join(registry.integrators),
        "problems": ", ".join(registry.problems),
        **{name: str(value) for name, value in runtime.settings().items() if name != "compilation_cache"},
    }


def differences(client: Mapping[str, str], worker: Mapping[str, str]) -> list[str]:
    return [f"{name}: {worker.get(name, 'missing')!r} on the worker, {value!r} on the client"
            for name, value in client.items() if worker.get(name) != value]


def measure(sweep: Sweep, key: Any, inputs: Any, concurrency: int) -> tuple[dict[str, Any], float]:
    """The Dask task: measure the cell with this key on this worker; its record as JSON and the seconds taken.
    ``concurrency``: how many cells the client keeps in flight (one per worker)."""
    from distributed import get_worker

    worker = get_worker()
    registry, plan = _planned(sweep.config, sweep.kinds, sweep.plugin_files, sweep.blocked)
    mismatch = differences(sweep.identity, identity(registry, sweep.plugin_files))
    if mismatch:
        raise ClusterError(f"worker {worker.address} differs from the client: {'; '.join(mismatch)}")
    wanted = CellKey._from_json(key, "task")
    cell = next((c for c in plan.cells if c.key == wanted), None)
    if cell is None or to_json(cell.inputs) != inputs:
        raise ClusterError(f"worker {worker.address} plans {wanted.label!r} differently from the client")
    t = time.perf_counter()
    record = measure_cell(cell, Placement.here(f"{worker.name} {worker.address}", concurrency))
    seconds = time.perf_counter() - t
    return record.to_json(), seconds


@functools.lru_cache(maxsize=4)
def registry_of(plugin_files: tuple[tuple[int, str, bytes], ...], blocked: tuple[str, ...]) -> Registry:
    """The registry of the client's plugins, loaded once per process."""
    return load_registry(plugin_dirs=_write_plugin_files(plugin_files), blocked=blocked)


@functools.lru_cache(maxsize=4)
def _planned(config: str, kinds: tuple[str, ...], plugin_files: tuple[tuple[int, str, bytes], ...],
             blocked: tuple[str, ...]) -> tuple[Registry, Plan]:
    """The registry and the plan, once per process and sweep."""
    registry = registry_of(plugin_files, blocked)
    return registry, make_plan(parse_config(config, "the client's configuration"), registry, kinds)


def _write_plugin_files(plugin_files: tuple[tuple[int, str, bytes], ...]) -> list[str]:
    """The client's plugin directories, recreated under this machine's temporary directory (named by their
    contents, so that every worker process of a host shares one copy)."""
    if not plugin_files:
        return []
    digest = hashlib.sha256(repr(plugin_files).encode()).hexdigest()[:16]
    root = Path(tempfile.gettempdir(), f"stiffbench-plugins-{os.getuid() if hasattr(os, 'getuid') else 0}", digest)
    directories = []
    for index in sorted({k for k, _, _ in plugin_files}):
        directory = root / str(index)
        directory.mkdir(parents=True, exist_ok=True)
        for k, name, data in plugin_files:
            if k == index and not ((directory / name).is_file() and (directory / name).read_bytes() == data):
                write_text(directory / name, data)
        directories.append(str(directory))
    return directories


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: pin a local worker (named 0, 1, ... by ``stiffbench run --workers``) to one CPU, so
    that its timings are those of one core, where the platform allows pinning."""
    if not hasattr(os, "sched_setaffinity") or not str(worker.name).isdigit():
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) <= 1:
        return
    cpu = {cpus[int(worker.name) % len(cpus)]}
    for thread in os.listdir("/proc/self/task"):  # every thread of the process, the executor's included
        try:
            os.sched_setaffinity(int(thread), cpu)
        except OSError:
            pass
