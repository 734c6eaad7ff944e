"""What ``register`` checks when an integrator or a problem arrives: the contract's annotated attributes, by type,
and the facts the measurements rely on. A problem found here is a refused registration with a message, not a
traceback later in ``list`` or in the middle of a run."""

from __future__ import annotations

import functools
import itertools
import math
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np

from .integrator import AbstractIntegrator, AbstractMultistepIntegrator
from .problem import AbstractProblem

NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@functools.cache
def contract(base: type) -> dict[str, Any]:
    """The attributes a subclass of ``base`` must provide, with their types: the public annotations of ``base``
    and of its abstract ancestors (a subclass may narrow a type, as multistep integrators narrow ``theory``)."""
    hints: dict[str, Any] = {}
    for cls in reversed(base.__mro__):
        if cls is object or not getattr(cls, "__annotations__", None):
            continue
        resolved = typing.get_type_hints(cls)
        hints |= {name: resolved[name] for name in cls.__annotations__ if not name.startswith("_")}
    return hints


def violations(obj: object, base: type) -> list[str]:
    """Each attribute of ``base``'s contract that ``obj`` lacks or holds with the wrong type, in words."""
    problems = []
    for name, hint in contract(base).items():
        try:
            value = getattr(obj, name)
        except AttributeError:
            problems.append(f"lacks {name!r}")
            continue
        except Exception as exc:  # noqa: BLE001 -- a property that raises is reported, not propagated
            problems.append(f"{name!r} raised {type(exc).__name__}: {exc}")
            continue
        if not conforms(value, hint):
            problems.append(f"{name!r} must be {describe(hint)}, got {type(value).__name__} {value!r:.60}")
    return problems


def conforms(value: object, hint: Any) -> bool:
    """Whether ``value`` is of type ``hint`` (classes, ``X | Y``, ``tuple[X, ...]``, ``tuple[X, Y]``,
    ``Mapping[K, V]``); ``float`` accepts ints, ``int`` and ``float`` refuse ``bool``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(conforms(v, args[0]) for v in value)
        return len(args) == len(value) and all(conforms(v, a) for v, a in zip(value, args, strict=True))
    if origin is type:
        return isinstance(value, type) and issubclass(value, args[0])
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return isinstance(value, Mapping) and all(
            conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items())
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a hint this checker does not understand (a Callable, say) is not held against the plugin


def describe(hint: Any) -> str:
    """A type hint as a reader writes it: ``ButcherTableau | RosenbrockMethod | None``, ``tuple[str, ...]``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(describe(a) for a in args)
    if hint is type(None):
        return "None"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join('...' if a is Ellipsis else describe(a) for a in args)}]"
    return getattr(hint, "__name__", str(hint))


def integrator_problems(integrator: AbstractIntegrator) -> list[str]:
    """What is wrong with an integrator, beyond its attribute types: its name and its order."""
    # A multistep integrator is held to its narrower contract (its theory is a LinearMultistep).
    base = AbstractMultistepIntegrator if isinstance(integrator, AbstractMultistepIntegrator) else AbstractIntegrator
    problems = violations(integrator, base)
    if problems:
        return problems
    if not NAME_PATTERN.match(integrator.name):
        problems.append(f"name {integrator.name!r} must be lowercase words joined by hyphens, like 'radau-iia-5'")
    if integrator.order < 1:
        problems.append(f"order must be at least 1, got {integrator.order}")
    if integrator.stages < 0:
        problems.append(f"stages must not be negative, got {integrator.stages}")
    return problems


def problem_problems(problem: AbstractProblem) -> list[str]:
    """What is wrong with a problem, beyond its attribute types: what the gradient measurement relies on."""
    problems = violations(problem, AbstractProblem)
    if problems:
        return problems
    if not NAME_PATTERN.match(problem.name):
        problems.append(f"name {problem.name!r} must be lowercase words joined by hyphens, like 'robertson-40'")
    bad = {k: v for k, v in problem.parameters.items() if not (math.isfinite(v) and v > 0)}
    if bad:
        problems.append(f"parameters must be positive and finite (gradients are taken in log θ), got {bad}")
    unknown = [p for p in (*problem.fast_parameters, problem.stiffness.parameter) if p not in problem.parameters]
    if unknown:
        problems.append(f"fast_parameters and stiffness.parameter must name parameters "
                        f"({', '.join(problem.parameters)}), got {', '.join(map(repr, unknown))}")
    for name, value in problem.weights.items():
        try:
            array = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            array = np.asarray([np.nan])
        if name in problem.parameters or not array.size or not np.all(np.isfinite(array)):
            problems.append(f"weights[{name!r}] must be a non-empty rectangular array of finite floats (nested tuples) "
                            "named unlike every rate parameter")
    times = (problem.t0, *problem.ts)
    if not problem.ts or any(b < a for a, b in itertools.pairwise(times)) or not all(map(math.isfinite, times)):
        problems.append(f"ts must be finite observation times, non-decreasing from t0 = {problem.t0}, "
                        f"got {problem.ts}")
    if not problem.y0:
        problems.append("y0 must have at least one component")
    lo, hi = problem.stiffness.valid
    outside = [v for v in problem.stiffness.values if not lo <= v <= hi]
    if not problem.stiffness.values or outside:
        problems.append(f"stiffness.values must be a non-empty scan inside stiffness.valid = ({lo:g}, {hi:g}), "
                        f"got {problem.stiffness.values}")
    return problems

