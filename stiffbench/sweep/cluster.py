"""Running a sweep's cells on Dask distributed: a ``LocalCluster`` of single-threaded worker processes on this
machine (``--workers N``) or an existing cluster (``--scheduler ADDRESS``, ``--scheduler-file FILE``).

The client (this process) keeps everything else: the plan, resume (only missing cells are submitted), writing
each record into the run directory as it arrives, and progress. Workers get a :class:`~.worker.Sweep` (the
effective configuration, the ``--plugins-dir`` files, the client's identity) with each cell's key, plan the sweep
themselves and send back the record as JSON.

How a crash stays one cell's failure:

- **One cell per worker at a time.** The client keeps exactly as many cells submitted as there are workers (a
  worker with several threads still gets one: timings stay those of one cell per process) and submits the next
  when one finishes, longest estimated first. No cell waits in a worker's queue, so a worker that dies takes
  only the cell it was measuring with it (with queued tasks, Dask suspects every task on a dying worker:
  dask/distributed#5234). ``worker-saturation`` is 1.0 for the local scheduler, for the same reason.
- **No retries.** ``allowed-failures`` is 0, on the local scheduler through Dask's configuration and on an existing
  one by setting it on the scheduler when the run connects: a cell whose worker dies (a segfault, ``os._exit``, the
  nanny's memory limit) is a failed record saying so, never a silent rerun. The nanny starts a fresh worker.
- **One version everywhere.** Before the first cell, every worker's :func:`~.worker.identity` (Python, package
  versions, stiffbench's source, plugins, runtime flags) must equal the client's; a mixed cluster is refused with
  the worker and the difference named. A worker that joins later checks each task itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, final
from urllib.parse import urlparse

from .._registry import Registry
from ..contracts import Status
from ..errors import ClusterError
from ..records import Placement, Record, to_json
from ..records.common import usable_cpus
from .axes import Cell
from .config import config_to_toml
from .plan import Plan
from .worker import Sweep, differences, identity, read_plugin_files

WORKER_MODULE = "stiffbench.sweep.worker"
SCHEDULER_SETTINGS = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
CONNECT_TIMEOUT_S = 60


def default_workers() -> int:
    """``--workers auto``: one worker per usable CPU, as many as leave each 2 GiB of memory."""
    import psutil

    return max(1, min(usable_cpus(), psutil.virtual_memory().total // 2**31))


@final
class DaskExecutor:
    """An executor (see :class:`~.execute.Executor`) over a connected Dask client."""

    def __init__(self, client: Any, sweep: Sweep) -> None:
        self.client = client
        self.sweep = sweep
        self.concurrency = self._workers()

    def _workers(self) -> int:
        return max(1, len(self.client.nthreads()))

    def run(self, cells: Sequence[Cell], started: Callable[[Cell], None]) -> Generator[tuple[Cell, Record, float]]:
        from distributed import as_completed

        from .worker import measure

        waiting = iter(sorted(cells, key=lambda cell: -cell.family.estimate(cell)))
        submitted: dict[Any, tuple[Cell, float]] = {}
        finished = as_completed(loop=self.client.loop)

        def submit_more() -> None:
            self.concurrency = self._workers()  # workers may have joined or left
            while len(submitted) < self.concurrency and (cell := next(waiting, None)) is not None:
                future = self.client.submit(measure, self.sweep, to_json(cell.key), to_json(cell.inputs),
                                            self.concurrency, key=f"stiffbench-cell-{uuid.uuid4().hex}",
                                            pure=False, retries=0)
                submitted[future] = (cell, time.perf_counter())
                finished.add(future)
                started(cell)

        try:
            submit_more()
            for future in finished:
                cell, t = submitted.pop(future)
                record, seconds = self._record(future, cell, time.perf_counter() - t)
                future.release()
                yield cell, record, seconds
                submit_more()
        finally:
            for future in submitted:
                future.cancel()

    def _record(self, future: Any, cell: Cell, elapsed: float) -> tuple[Record, float]:
        from distributed import KilledWorker

        try:
            data, seconds = future.result()
            return cell.family.record.from_json(data, cell.key.label), seconds
        except KilledWorker as exc:
            address = getattr(getattr(exc, "last_worker", None), "address", "?")
            record = cell.family.failed(cell, Status.ERROR, (
                f"the worker died while measuring this cell (a crash, os._exit, or its memory limit); not retried. "
                f"Dask: KilledWorker on {address}"))
            placement = Placement(urlparse(address).hostname or "?", address, None, self.concurrency)
            return dataclasses.replace(record, placement=placement), elapsed  # type: ignore[type-var]
        except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 -- not the cell's failure: the run stops
            raise ClusterError(f"{cell.key.label} was not measured: {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def dask_executor(plan: Plan, registry: Registry, *, workers: int | None = None, scheduler: str | None = None,
                  scheduler_file: str | None = None, plugin_dirs: tuple[str, ...] = (),
                  blocked: tuple[str, ...] = ()) -> Iterator[DaskExecutor]:
    """Connect to (or start) a cluster, check its workers against this client, and yield an executor for ``plan``;
    the cluster is closed (a local one) or left as it was (an existing one) when the block ends."""
    import dask
    import distributed

    plugin_files = read_plugin_files(plugin_dirs)
    sweep = Sweep(config_to_toml(plan.config), plan.kinds, plugin_files, blocked, identity(registry, plugin_files))
    with contextlib.ExitStack() as stack:
        stack.enter_context(dask.config.set(SCHEDULER_SETTINGS))
        if scheduler or scheduler_file:
            where = scheduler or f"the scheduler of {scheduler_file}"
            try:
                client = stack.enter_context(distributed.Client(scheduler, scheduler_file=scheduler_file,
                                                                timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False))
            except (OSError, TimeoutError, ValueError) as exc:
                raise ClusterError(f"cannot connect to {where}: {type(exc).__name__}: {exc}") from None
            try:
                client.run_on_scheduler(_no_retries)
            except Exception as exc:  # noqa: BLE001 -- a scheduler that runs no client code
                raise ClusterError(f"cannot set allowed-failures = 0 on {where} ({type(exc).__name__}: {exc}); start "
                                   "the scheduler with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0, or a cell "
                                   "that kills its worker would be run again silently") from None
        else:
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, preload=[WORKER_MODULE],
                dashboard_address=None, silence_logs=logging.CRITICAL))
            client = stack.enter_context(distributed.Client(cluster, set_as_default=False))
            where = f"the local cluster of {workers} workers"
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise ClusterError(f"no Dask worker connected to {where} within {CONNECT_TIMEOUT_S} s; start workers with "
                             f"`dask worker ADDRESS --nthreads 1 --preload {WORKER_MODULE}`") from None
        check_workers(client, sweep)
        yield DaskExecutor(client, sweep)


def check_workers(client: Any, sweep: Sweep) -> None:
    """Refuse a cluster with a worker whose identity differs from this client's, naming both."""
    try:
        found = client.run(_worker_identity, sweep.plugin_files, sweep.blocked)
    except Exception as exc:  # noqa: BLE001 -- a worker that cannot even load stiffbench is a mixed cluster too
        raise ClusterError(f"a Dask worker could not load stiffbench and the client's plugins: {type(exc).__name__}: "
                         f"{exc}") from None
    mixed = {address: differences(sweep.identity, theirs) for address, theirs in found.items()}
    mixed = {address: d for address, d in mixed.items() if d}
    if mixed:
        lines = [f"{address}: {'; '.join(d)}" for address, d in sorted(mixed.items())]
        raise ClusterError("refusing a mixed cluster: these workers differ from this client (install the same versions "
                         "everywhere):\n  " + "\n  ".join(lines))


def _worker_identity(plugin_files: tuple[tuple[int, str, bytes], ...], blocked: tuple[str, ...]) -> dict[str, str]:
    from .worker import registry_of

    return identity(registry_of(plugin_files, blocked), plugin_files)


def _no_retries(dask_scheduler: Any) -> None:
    dask_scheduler.allowed_failures = 0
