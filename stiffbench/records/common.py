"""What every record shares: the key of the cell it measured, the environment it was measured in, the document
that carries records (a schema, an environment, the results), and atomic writes."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar, final

from ..contracts import Status
from .codec import RecordError, from_json, to_json

PACKAGES = ("stiffbench", "jax", "jaxlib", "diffrax", "equinox", "optimistix", "lineax", "optax", "numpy", "scipy",
            "pluggy")
"""Versions recorded with every measurement (SciPy's because the reference sensitivities come from it)."""


@final
@dataclasses.dataclass(frozen=True)
class CellKey:
    """Which cell a record measured: its kind and its coordinates, one label per axis of the sweep, in axis order
    (``gradients``: problem, integrator, policy). The key names the cell's file and matches cells across runs."""

    kind: str
    coords: tuple[tuple[str, str], ...]

    def __getitem__(self, axis: str) -> str:
        for name, label in self.coords:
            if name == axis:
                return label
        raise KeyError(f"the {self.kind} cell {self.label!r} has no axis {axis!r}")

    @property
    def label(self) -> str:
        return f"{self.kind} " + " / ".join(label for _, label in self.coords)

    @property
    def path(self) -> Path:
        """The cell's file in a run directory: ``cells/<kind>/<label>/.../<label>.json``."""
        *dirs, last = (label for _, label in self.coords)
        return Path("cells", self.kind, *dirs, f"{last}.json")

    def _to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "coords": dict(self.coords)}

    @classmethod
    def _from_json(cls, data: Any, where: str) -> CellKey:
        if not (isinstance(data, dict) and isinstance(data.get("kind"), str) and isinstance(data.get("coords"), dict)
                and all(isinstance(v, str) for v in data["coords"].values())):
            raise RecordError(f"{where}: expected a cell key {{'kind': ..., 'coords': {{axis: label}}}}, "
                              f"got {data!r:.80}")
        return cls(data["kind"], tuple(data["coords"].items()))


@final
@dataclasses.dataclass(frozen=True)
class Machine:
    host: str
    platform: str
    processor: str
    cpus: int | None
    cpu_affinity: tuple[int, ...] | None
    jax_backend: str
    jax_devices: tuple[str, ...]


@final
@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one cell was measured, beside the run's environment: a Dask worker runs on another host or CPU than
    the client, and a cell timed while others ran beside it did not have the machine to itself."""

    host: str
    worker: str
    """``in-process`` for the serial executor, else the Dask worker's name and address."""
    cpu_affinity: tuple[int, ...] | None
    """The CPUs the measuring process may run on (``None`` where the platform does not say)."""
    concurrency: int
    """How many cells the executor ran at once (1 for the serial executor)."""

    @classmethod
    def here(cls, worker: str = "in-process", concurrency: int = 1) -> Placement:
        return cls(socket.gethostname(), worker, cpu_affinity(), concurrency)


@final
@dataclasses.dataclass(frozen=True)
class Environment:
    """Versions, git commit, machine and runtime settings: enough to tell two records' conditions apart."""

    created: str
    python: str
    packages: Mapping[str, str | None]
    git_commit: str | None
    machine: Machine
    runtime: Mapping[str, str | None]

    @classmethod
    def current(cls) -> Environment:
        import jax

        from .. import runtime

        return cls(
            created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            python=platform.python_version(),
            packages=package_versions(),
            git_commit=_git_commit(),
            machine=Machine(host=socket.gethostname(), platform=platform.platform(), processor=platform.machine(),
                            cpus=os.cpu_count(), cpu_affinity=cpu_affinity(), jax_backend=jax.default_backend(),
                            jax_devices=tuple(str(d) for d in jax.devices())),
            runtime=runtime.settings(),
        )


class Record:
    """A measurement's result: a frozen dataclass with a :class:`CellKey`, the cell's inputs, a status and a
    message. ``SCHEMA`` names and versions its JSON form."""

    SCHEMA: ClassVar[str]
    key: CellKey
    inputs: Any
    status: Status
    message: str
    placement: Placement | None
    """Where the cell was measured (set by the executor)."""

    def to_json(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_json(cls, data: Any, where: str = "record") -> Self:
        return from_json(cls, data, where)

    @classmethod
    def failed(cls, key: CellKey, inputs: Any, status: Status, message: str) -> Self:
        """The record of a cell that could not be measured: its key, inputs, status and why, nothing else."""
        return cls(key, inputs, status, message)  # type: ignore[call-arg]


R = TypeVar("R", bound=Record)


@final
@dataclasses.dataclass(frozen=True)
class RecordSet(Generic[R]):
    """The JSON document of one kind of record: ``{"schema", "environment", "results": [...]}``. A cell file of a
    run directory is one with a single result; ``stiffbench stability --json`` prints one with many."""

    record: type[R]
    environment: Environment
    results: tuple[R, ...]

    def to_json(self) -> dict[str, Any]:
        return {"schema": self.record.SCHEMA, "environment": to_json(self.environment),
                "results": [r.to_json() for r in self.results]}

    @classmethod
    def from_json(cls, record: type[R], data: Any, where: str = "document") -> RecordSet[R]:
        if not isinstance(data, dict):
            raise RecordError(f"{where}: expected a JSON object, got {type(data).__name__}")
        check_schema(data.get("schema"), record, where)
        results = data.get("results")
        if not isinstance(results, list):
            raise RecordError(f"{where}: 'results' must be a list")
        environment = from_json(Environment, data.get("environment"), f"{where}.environment")
        return cls(record, environment, tuple(record.from_json(r, f"{where}.results[{k}]")
                                              for k, r in enumerate(results)))


def check_schema(found: Any, record: type[Record], where: str) -> None:
    """Refuse a document of another schema; for an older version of this one, say how to regenerate it."""
    if found == record.SCHEMA:
        return
    name = record.SCHEMA.partition("/")[0]
    if isinstance(found, str) and found.startswith(name + "/"):
        raise RecordError(f"{where} holds {found!r} records, written by another version of stiffbench; this one reads "
                          f"{record.SCHEMA!r}. Measure them again: `stiffbench run --config DIR/config.toml --out NEW` "
                          "repeats a run's configuration.")
    raise RecordError(f"{where}: expected schema {record.SCHEMA!r}, got {found!r}")


def dumps(document: Any) -> str:
    """Strict JSON (no NaN or Infinity: records encode non-finite values as null)."""
    return json.dumps(document, indent=1, allow_nan=False) + "\n"


def write_json(path: str | Path, document: Any) -> None:
    """Write ``document`` to ``path`` as strict JSON, atomically."""
    write_text(path, dumps(document))


def write_text(path: str | Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` atomically: readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a record is as readable as any file
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def finite_or_none(x: float) -> float | None:
    """``x`` as a record stores a number that may not be finite."""
    x = float(x)
    return x if x == x and abs(x) != float("inf") else None


def max_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def matrix(a: Any) -> tuple[tuple[float, ...], ...] | None:
    """A 2-d array as a record stores it: rows of floats, or None if any entry is not finite."""
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or not np.all(np.isfinite(a)):
        return None
    return tuple(tuple(float(x) for x in row) for row in a)


def package_versions() -> dict[str, str | None]:
    """The installed version of each of :data:`PACKAGES` (None if it is not installed)."""
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def cpu_affinity() -> tuple[int, ...] | None:
    """The CPUs this process may run on (None where the platform does not say)."""
    return tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else None


def usable_cpus() -> int:
    affinity = cpu_affinity()
    return len(affinity) if affinity is not None else os.cpu_count() or 1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _git_commit() -> str | None:
    """The commit of the stiffbench checkout, if it runs from one (None for an installed wheel)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5,
                             check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")

