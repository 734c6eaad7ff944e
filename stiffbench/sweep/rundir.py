"""The run directory: one file per cell, written atomically as it finishes, so that an interrupted run keeps
every finished cell and ``--resume`` measures only the missing ones.

::

    config.toml          the effective configuration (every name and stiffness value explicit): rerun with --config
    environment.json     versions, git commit, machine, runtime settings
    catalog.json         stiffbench.catalog/2: the integrators' and problems' properties
    plan.json            stiffbench.plan/1: the key and inputs of every planned cell
    cells/<kind>/<label>/.../<label>.json   a record set of one cell (stiffbench.<kind>/2)
    stability.json, gradients.json, cost.json   every cell of a kind combined, written at the end
    report.md, figures/*.png                    written from the records alone (stiffbench report)

A kept cell counts only if its file holds a valid record of this version's schema with the planned key and
inputs; anything else is measured again. ``config.toml`` is written first and marks the directory as a run:
stiffbench writes only into a directory that is empty, new, or holds such a run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, final

from .._registry import Registry
from ..errors import ConfigError, UsageError
from ..measure import catalog
from ..records import (
    RECORD_TYPES,
    Catalog,
    CellKey,
    CostResult,
    Environment,
    GradientResult,
    Record,
    RecordError,
    RecordSet,
    StabilityResult,
    from_json,
    to_json,
    write_json,
    write_text,
)
from .axes import Cell
from .config import SweepConfig, config_differences, config_to_toml, read_config
from .plan import Plan

CONFIG_FILE, ENVIRONMENT_FILE, CATALOG_FILE, PLAN_FILE = "config.toml", "environment.json", "catalog.json", "plan.json"
PLAN_SCHEMA = "stiffbench.plan/1"


def is_run(directory: Path) -> bool:
    return (directory / CONFIG_FILE).is_file()


def start_run(plan: Plan, directory: Path, registry: Registry, environment: Environment, *, resume: bool) -> None:
    """Create the run directory (or check it, for ``--resume``) and write what describes the run. On resume, a
    description lost to an interrupted start is written again."""
    resume = check_run(plan, directory, resume=resume)
    if not resume:
        write_text(directory / CONFIG_FILE, config_to_toml(plan.config))
    if not resume or _unreadable(directory / ENVIRONMENT_FILE):
        write_json(directory / ENVIRONMENT_FILE, to_json(environment))
    if not resume or _unreadable(directory / CATALOG_FILE):
        write_json(directory / CATALOG_FILE, catalog(registry, plan.config.integrators,
                                                     _planned_problems(plan)).to_json())
    write_json(directory / PLAN_FILE, {"schema": PLAN_SCHEMA, "cells": [
        {"key": to_json(cell.key), "inputs": to_json(cell.inputs)} for cell in plan.cells]})


def check_run(plan: Plan, directory: Path, *, resume: bool) -> bool:
    """Refuse a directory that ``plan`` may not be written into (without writing anything); whether it resumes."""
    if resume and not is_run(directory) and never_started(directory):
        resume = False  # interrupted before its configuration was written: start it now
    if resume:
        if not is_run(directory):
            raise UsageError(f"{str(directory)!r} holds no {CONFIG_FILE}: it is not a stiffbench run directory (or "
                             "the run never started); start a new run with --out")
        differences = config_differences(read_config(directory / CONFIG_FILE), plan.config)
        if differences:
            raise ConfigError(f"refusing to resume {str(directory)!r}: it was run with a different configuration "
                              f"({'; '.join(differences)}); resume without --config/--quick/--integrator/"
                              "--problem to use its own, or start a new run with --out")
    elif is_run(directory):
        raise UsageError(f"{str(directory)!r} already holds a run; resume it with --resume {directory} "
                         "or choose another --out")
    elif not never_started(directory):
        raise UsageError(f"{str(directory)!r} exists and is not an empty directory or a stiffbench run: stiffbench "
                         "writes only into a new or empty directory; choose another --out")
    return resume


def never_started(directory: Path) -> bool:
    """New, empty, or holding only the temporary files of writes that were interrupted (``.NAME.XXXX.tmp``)."""
    if not directory.exists():
        return True
    return directory.is_dir() and all(p.name.startswith(".") and p.name.endswith(".tmp") for p in directory.iterdir())


def _planned_problems(plan: Plan) -> list[str]:
    return list(dict.fromkeys(cell["problem"].name for cell in plan.cells if cell.family.kind != "stability"))


def _unreadable(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return True
    return False


def read_cell(directory: Path, cell: Cell) -> Record | None:
    """The cell's record if its file holds exactly this cell (schema, key, inputs), else None: measured again."""
    try:
        records = _read_records(directory / cell.key.path, cell.family.record)
    except (OSError, ValueError):
        return None
    if len(records.results) != 1:
        return None
    record = records.results[0]
    if record.key != cell.key or to_json(record.inputs) != to_json(cell.inputs):
        return None
    return record


def write_cell(directory: Path, record: Record, environment: Environment) -> None:
    write_json(directory / record.key.path, RecordSet(type(record), environment, (record,)).to_json())


def _read_records(path: Path, record: type[Record]) -> RecordSet:
    try:
        data = json.loads(path.read_text())
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path} is not text: {exc}") from None
    except ValueError as exc:
        raise RecordError(f"{path} is not valid JSON ({exc})") from None
    return RecordSet.from_json(record, data, str(path))


@final
@dataclasses.dataclass(frozen=True)
class RunRecords:
    """Everything a report or a comparison reads from a run directory; nothing is measured again."""

    directory: Path
    config: SweepConfig | None
    environment: Environment | None
    catalog: Catalog | None
    planned: tuple[CellKey, ...]
    records: Mapping[str, tuple[Record, ...]]
    """Valid records by kind, in plan order."""
    invalid: Mapping[str, str]
    """Cell file -> why it is not a valid record (measured again by ``--resume``)."""

    @property
    def stability(self) -> tuple[StabilityResult, ...]:
        return self.records.get("stability", ())  # type: ignore[return-value]

    @property
    def gradients(self) -> tuple[GradientResult, ...]:
        return self.records.get("gradients", ())  # type: ignore[return-value]

    @property
    def cost(self) -> tuple[CostResult, ...]:
        return self.records.get("cost", ())  # type: ignore[return-value]

    @property
    def missing(self) -> tuple[CellKey, ...]:
        """Planned cells (of any family, on any axis) without a valid record."""
        present = {r.key for records in self.records.values() for r in records}
        return tuple(key for key in self.planned if key not in present)

    @property
    def complete(self) -> bool:
        return not self.missing


def load_run(directory: str | Path) -> RunRecords:
    """The records of a run directory, from its cell files (or its combined files where the cells are gone).

    Refuses a directory of another schema version with a message that says how to regenerate it; a cell file
    that is not a valid record is listed in ``invalid``, not raised.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"run directory {str(directory)!r} " + ("is a file, not a directory" if directory.exists()
                                                                 else "does not exist"))
    config = read_config(directory / CONFIG_FILE) if is_run(directory) else None
    environment = _read_typed(directory / ENVIRONMENT_FILE, lambda d, w: from_json(Environment, d, w))
    catalog_ = _read_typed(directory / CATALOG_FILE, Catalog.from_json)
    planned = _read_plan(directory)
    records: dict[str, list[Record]] = {}
    invalid: dict[str, str] = {}
    for kind, record_type in RECORD_TYPES.items():
        files = sorted((directory / "cells" / kind).rglob("*.json"))
        combined = directory / f"{kind}.json"
        if not files and combined.is_file():
            files = [combined]
        for path in files:
            try:
                results = _read_records(path, record_type).results
            except RecordError as exc:
                if "another version of stiffbench" in str(exc):
                    raise UsageError(str(exc)) from None
                invalid[str(path.relative_to(directory))] = str(exc)
            else:
                records.setdefault(kind, []).extend(results)
    if config is None and not records:
        found = (f"{', '.join(invalid)}: not a valid record" if invalid
                 else f"no {CONFIG_FILE}, cells/ or combined files")
        raise UsageError(f"{str(directory)!r} holds no stiffbench records ({found}); is it a run directory?")
    order = {key: k for k, key in enumerate(planned)}
    by_kind = {kind: tuple(sorted(rs, key=lambda r: (order.get(r.key, len(order)), r.key.label)))
               for kind, rs in records.items()}
    return RunRecords(directory, config, environment, catalog_, planned, by_kind, invalid)


def finish_run(run: RunRecords) -> list[Path]:
    """Combine the cell files of each kind into ``<kind>.json``."""
    written = []
    environment = run.environment or Environment.current()
    for kind, records in run.records.items():
        path = run.directory / f"{kind}.json"
        write_json(path, RecordSet(RECORD_TYPES[kind], environment, records).to_json())
        written.append(path)
    return written


def _read_typed(path: Path, parse: Any) -> Any:
    try:
        return parse(json.loads(path.read_text()), str(path))
    except (OSError, ValueError):
        return None


def _read_plan(directory: Path) -> tuple[CellKey, ...]:
    try:
        data = json.loads((directory / PLAN_FILE).read_text())
        if data.get("schema") != PLAN_SCHEMA:
            return ()
        return tuple(CellKey._from_json(c["key"], PLAN_FILE) for c in data["cells"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ()
