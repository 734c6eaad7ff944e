"""The plugin contract: the hooks a stiffbench plugin implements.

A plugin is any module or object with functions decorated by :data:`stiffbench.hookimpl` whose names
are hooks below. Built-in plugins are ordinary entry points in the ``stiffbench`` group, so they load,
fail and can be blocked exactly like third-party ones::

    import stiffbench

    @stiffbench.hookimpl
    def register_integrators(register):
        register(MyIntegrator(...))

All hooks take keyword arguments only and return nothing; what a plugin provides, it passes to
``register``. Everything user-visible is ordered by name, never by plugin load order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .contracts import AbstractIntegrator, AbstractProblem

hookspec = pluggy.HookspecMarker("stiffbench")
hookimpl = pluggy.HookimplMarker("stiffbench")


@hookspec
def register_integrators(register: Callable[[AbstractIntegrator], None]) -> None:
    """Register the integrators this plugin provides.

    :param register: call ``register(integrator)`` once per integrator. It raises ``TypeError`` for
        an object that is not an :class:`~stiffbench.AbstractIntegrator` and
        :class:`~stiffbench.RegistrationError` for a name already registered (naming both sources).
        Any exception escaping this hook marks the whole plugin as failed, with the reason, and
        nothing it registered in this call is kept; the other plugins still load.
    :return: nothing.
    """


@hookspec
def register_problems(register: Callable[[AbstractProblem], None]) -> None:
    """Register the problems this plugin provides.

    :param register: call ``register(problem)`` once per problem; same checks and failure handling as
        :func:`register_integrators`, with :class:`~stiffbench.AbstractProblem`.
    :return: nothing.
    """
