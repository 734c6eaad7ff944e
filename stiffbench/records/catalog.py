"""The catalog record, ``stiffbench.catalog/2``: what was registered, with the properties its theory implies."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, final

from .codec import from_json, to_json


@final
@dataclasses.dataclass(frozen=True)
class IntegratorProperties:
    name: str
    plugin: str
    family: str
    stages: int
    order: int
    implementation: str
    citation: str
    a_stable: bool | None
    l_stable: bool | None
    a_alpha_deg: float | None
    """Largest sector ``|arg(−z)| ≤ α`` of stability (90 when A-stable)."""
    R_inf: complex | None
    """None without a theory, or where ``R`` is unbounded (explicit methods)."""
    decay_exponent: float | None


@final
@dataclasses.dataclass(frozen=True)
class ProblemProperties:
    name: str
    plugin: str
    parameters: Mapping[str, float]
    fast_parameters: tuple[str, ...]
    stiffness_parameter: str
    stiffness_values: tuple[float, ...]
    dimension: int
    t0: float
    ts: tuple[float, ...]
    citation: str


@final
@dataclasses.dataclass(frozen=True)
class Catalog:
    SCHEMA: ClassVar[str] = "stiffbench.catalog/2"

    integrators: tuple[IntegratorProperties, ...]
    problems: tuple[ProblemProperties, ...]

    def integrator(self, name: str) -> IntegratorProperties | None:
        return next((i for i in self.integrators if i.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {"schema": self.SCHEMA} | to_json(self)

    @classmethod
    def from_json(cls, data: Any, where: str = "catalog") -> Catalog:
        from .common import RecordError

        if not isinstance(data, dict) or data.get("schema") != cls.SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else None
            raise RecordError(f"{where}: expected schema {cls.SCHEMA!r}, got {found!r}")
        return from_json(cls, {k: v for k, v in data.items() if k != "schema"}, where)
