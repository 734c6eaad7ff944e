"""Typed records: what a measurement produces, with its JSON form (schemas ``stiffbench.<kind>/2``).

Each kind of result is one frozen dataclass whose fields are declared once and read as attributes; its JSON
form follows from the declaration (:mod:`.codec`). A cell's record carries its :class:`CellKey`, its inputs,
a :class:`~stiffbench.Status` with a message, and what was measured.
"""

from .catalog import Catalog, IntegratorProperties, ProblemProperties
from .codec import RecordError, from_json, to_json
from .common import CellKey, Environment, Placement, Record, RecordSet, dumps, write_json, write_text
from .cost import CostInputs, CostResult
from .gradients import Fidelity, GradientCost, GradientInputs, GradientResult, GradientRow
from .precision import LADDERS, PrecisionInputs, PrecisionResult, PrecisionRung
from .stability import (
    AGREEMENT_LEVELS,
    Agreement,
    RayDecay,
    StabilityCost,
    StabilityGrid,
    StabilityPoints,
    StabilityResult,
    StabilitySummary,
)
from .training import OPTIMIZERS, TrainingHistory, TrainingInputs, TrainingResult

RECORD_TYPES: dict[str, type[Record]] = {
    "stability": StabilityResult,
    "gradients": GradientResult,
    "cost": CostResult,
    "precision": PrecisionResult,
    "training": TrainingResult,
}
"""Cell kind -> record type."""

__all__ = [
    "AGREEMENT_LEVELS",
    "LADDERS",
    "OPTIMIZERS",
    "RECORD_TYPES",
    "Agreement",
    "Catalog",
    "CellKey",
    "CostInputs",
    "CostResult",
    "Environment",
    "Fidelity",
    "GradientCost",
    "GradientInputs",
    "GradientResult",
    "GradientRow",
    "IntegratorProperties",
    "Placement",
    "PrecisionInputs",
    "PrecisionResult",
    "PrecisionRung",
    "ProblemProperties",
    "RayDecay",
    "Record",
    "RecordError",
    "RecordSet",
    "StabilityCost",
    "StabilityGrid",
    "StabilityPoints",
    "StabilityResult",
    "StabilitySummary",
    "TrainingHistory",
    "TrainingInputs",
    "TrainingResult",
    "dumps",
    "from_json",
    "to_json",
    "write_json",
    "write_text",
]
