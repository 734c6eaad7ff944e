"""The integrator contract: what every integrator plugin provides, and the signature of its ``solve``."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, final

import numpy as np
from jax import Array

from ..theory import LinearMultistep, MethodData
from .differentiation import REVERSE, Differentiation, ReverseMode
from .policy import StepPolicy
from .problem import Banded
from .solution import Solution

VectorField = Callable[[Array, Array, Mapping[str, Array]], Array]
"""``f(t, y, params) -> dy/dt``, traceable by JAX."""


@final
@dataclasses.dataclass(frozen=True)
class StructuredVectorField:
    """A vector field that carries the structure of its Jacobian: what ``solve`` receives for a problem that
    declares one (:attr:`~stiffbench.AbstractProblem.jacobian_structure`). It is called like any vector field;
    an integrator that can use the structure finds it with :func:`jacobian_structure`."""

    f: VectorField
    structure: Banded

    def __call__(self, t: Array, y: Array, params: Mapping[str, Array]) -> Array:
        return self.f(t, y, params)


def jacobian_structure(vector_field: VectorField) -> Banded | None:
    """The declared structure of ``∂f/∂y``, or ``None`` (dense)."""
    return vector_field.structure if isinstance(vector_field, StructuredVectorField) else None


class AbstractIntegrator(abc.ABC):
    """An integrator plugin: an immutable object with descriptive metadata, theory and ``solve``.

    Concrete integrators are final frozen dataclasses. The annotated attributes below are the contract:
    each must be present (a field, a property or a class attribute) with a value of the annotated type, which
    the ``register`` callback of the hook checks when the integrator arrives (``contracts/checks.py``).
    """

    name: str
    """Short, stable, lowercase, hyphenated (``backward-euler``): results and asv parameters are keyed by it."""
    family: str
    """``"Runge–Kutta"``, ``"Rosenbrock"``, ``"multistep"``, ``"explicit"``, ..."""
    order: int
    stages: int
    implementation: str
    """What actually computes the steps, e.g. ``"stiffbench native JAX"`` or ``"diffrax.Kvaerno5"``."""
    citation: str
    theory: MethodData | None
    """The method's defining data; the host derives ``R``, ``R'``, stability and decay from it."""
    differentiation_methods: tuple[type[Differentiation], ...] = (ReverseMode,)
    """The ways its solve can be differentiated, as types (``contracts/differentiation.py``). An integrator that
    supports more than plain reverse mode holds the chosen one in a dataclass field ``differentiation`` that its
    ``solve`` honours; :meth:`differentiated_by` sets it."""

    def differentiated_by(self, method: Differentiation) -> AbstractIntegrator:
        """This integrator set up to be differentiated by ``method`` (the measurement then applies
        ``jax.jacfwd`` or ``jax.jacrev`` as ``method.mode`` says). ``NotImplementedError`` for a method it does
        not support: the measurement records that combination as not applicable."""
        supported = ", ".join(cls.kind for cls in self.differentiation_methods)
        if not isinstance(method, self.differentiation_methods):
            raise NotImplementedError(f"{self.name} is not differentiated by {method.label} (it supports: "
                                      f"{supported})")
        if method == getattr(self, "differentiation", REVERSE):
            return self
        if not (dataclasses.is_dataclass(self) and "differentiation" in {f.name for f in dataclasses.fields(self)}):
            raise NotImplementedError(f"{self.name}: {method.label} needs a `differentiation` field that solve "
                                      "honours")
        return dataclasses.replace(self, differentiation=method)

    @abc.abstractmethod
    def solve(
        self,
        vector_field: VectorField,
        t0: float,
        y0: Array,
        ts: Sequence[float] | np.ndarray,
        params: Mapping[str, Array],
        policy: StepPolicy,
    ) -> Solution:
        """Integrate from ``(t0, y0)`` and return the states at the observation times ``ts``.

        ``t0``, ``ts`` and ``policy`` are static (concrete Python/numpy values); ``y0`` and ``params``
        may be traced. The result must be differentiable with respect to ``y0`` and ``params`` by JAX
        reverse-mode autodiff and must not raise on a failed solve: report it in ``status``.
        An integrator that cannot follow ``policy`` raises ``NotImplementedError`` with a reason; the
        measurement records that combination as not applicable.
        """


class AbstractMultistepIntegrator(AbstractIntegrator):
    """A linear multistep integrator: besides ``solve``, one step from a given history.

    The stability measurement needs it: a multistep method has no single ``R``, its per-step
    amplification is the principal root ``ζ₁(z)``, measured by one step from the exact history
    ``y_j = ζ₁(z)^j`` (docs/theory.md §5).
    """

    theory: LinearMultistep

    @abc.abstractmethod
    def step(self, vector_field: VectorField, t: Any, h: Any, history: Array,
             params: Mapping[str, Array]) -> tuple[Array, Array]:
        """``(y_next, converged)``: the state at ``t + h`` from ``history`` (shape ``(k, d)``), the states
        at ``t − (k−1)h, …, t`` oldest first. Differentiable like ``solve``."""
