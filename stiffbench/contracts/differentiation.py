"""How a solve is differentiated: each method is a type, and an integrator declares the types it supports
(``AbstractIntegrator.differentiation_methods``).

- :class:`ReverseMode` — reverse-mode autodiff through the integrator's own steps ("discretise, then
  differentiate"): the exact gradient of the discrete solution. diffrax: ``RecursiveCheckpointAdjoint``, its
  ``checkpoints`` the number of states stored for the backward pass (None: diffrax's default); the native
  engines: through their step loop (equinox's checkpointed while loop, ``checkpoints`` likewise).
- :class:`DirectAdjoint` — diffrax's ``DirectAdjoint``: reverse mode through a bounded loop; the same discrete
  gradient, more memory.
- :class:`BacksolveAdjoint` — the continuous adjoint ("optimise, then discretise"): the adjoint ODE solved
  backwards in time with the same solver and step control. Its gradient approximates the exact one with an error
  that follows the tolerance, not the gradient of the discrete solution.
- :class:`ForwardMode` — forward-mode autodiff (JVPs) through the steps: one tangent per parameter, so its cost
  grows with the number of parameters and its memory does not grow with the number of steps.

A method's :attr:`~Differentiation.label` keys records and configurations: ``reverse``, ``reverse-c16``,
``direct``, ``backsolve``, ``forward``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar, final


class Differentiation:
    """A way to differentiate a solve; :attr:`mode` says which JAX transformation the measurement applies."""

    mode: ClassVar[str] = "reverse"
    """``"reverse"`` (``jax.jacrev``) or ``"forward"`` (``jax.jacfwd``)."""
    kind: ClassVar[str]

    @property
    def label(self) -> str:
        return self.kind

    @staticmethod
    def parse(label: str) -> Differentiation:
        """The method a label names; ``ValueError`` naming the valid ones otherwise."""
        checkpointed = re.fullmatch(r"reverse-c([0-9]+)", label)
        if checkpointed and int(checkpointed.group(1)) >= 1:
            return ReverseMode(int(checkpointed.group(1)))
        for cls in METHODS:
            if label == cls.kind:
                return cls()
        raise ValueError(f"unknown differentiation method {label!r}; valid: "
                         f"{', '.join(cls.kind for cls in METHODS)}, reverse-cN (N checkpoints)")

    def _to_json(self) -> str:
        return self.label

    @classmethod
    def _from_json(cls, data: Any, where: str) -> Differentiation:
        from ..records.codec import RecordError

        if not isinstance(data, str):
            raise RecordError(f"{where}: expected a differentiation method's label, got {data!r:.60}")
        try:
            return Differentiation.parse(data)
        except ValueError as exc:
            raise RecordError(f"{where}: {exc}") from None


@final
@dataclasses.dataclass(frozen=True)
class ReverseMode(Differentiation):
    kind: ClassVar[str] = "reverse"
    checkpoints: int | None = None

    def __post_init__(self) -> None:
        if self.checkpoints is not None and not (isinstance(self.checkpoints, int) and self.checkpoints >= 1):
            raise ValueError(f"ReverseMode: checkpoints must be an integer of at least 1, got {self.checkpoints!r}")

    @property
    def label(self) -> str:
        return "reverse" if self.checkpoints is None else f"reverse-c{self.checkpoints}"


@final
@dataclasses.dataclass(frozen=True)
class DirectAdjoint(Differentiation):
    kind: ClassVar[str] = "direct"


@final
@dataclasses.dataclass(frozen=True)
class BacksolveAdjoint(Differentiation):
    kind: ClassVar[str] = "backsolve"


@final
@dataclasses.dataclass(frozen=True)
class ForwardMode(Differentiation):
    mode: ClassVar[str] = "forward"
    kind: ClassVar[str] = "forward"


REVERSE = ReverseMode()
"""The default: plain reverse mode through the steps."""
METHODS: tuple[type[Differentiation], ...] = (ReverseMode, DirectAdjoint, BacksolveAdjoint, ForwardMode)
