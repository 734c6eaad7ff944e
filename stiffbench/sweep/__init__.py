"""Sweeps: configuration → plan (cells as points in named axes) → executor → run directory."""

from .axes import Axis, AxisValue, Cell, Family
from .config import (
    DEFAULT,
    ConfigError,
    CostSweep,
    GradientSweep,
    SweepConfig,
    TrainingSweep,
    config_to_toml,
    parse_config,
    read_config,
)
from .execute import CellEvent, measure_cell, run_cells
from .plan import FAMILIES, QUICK, Plan, make_plan, quick_config
from .rundir import RunRecords, finish_run, load_run, read_cell, start_run, write_cell

__all__ = [
    "DEFAULT",
    "FAMILIES",
    "QUICK",
    "Axis",
    "AxisValue",
    "Cell",
    "CellEvent",
    "ConfigError",
    "CostSweep",
    "Family",
    "GradientSweep",
    "Plan",
    "RunRecords",
    "SweepConfig",
    "TrainingSweep",
    "config_to_toml",
    "finish_run",
    "load_run",
    "make_plan",
    "measure_cell",
    "parse_config",
    "quick_config",
    "read_cell",
    "read_config",
    "run_cells",
    "start_run",
    "write_cell",
]
