"""The BDF catalog: BDF-2 … BDF-5 with a fixed step, on the engine of :mod:`stiffbench.engines.bdf`, started by
Radau IIA of order 5 (:mod:`stiffbench.plugins.runge_kutta`)."""

from __future__ import annotations

from stiffbench import hookimpl
from stiffbench.engines.bdf import BDF
from stiffbench.plugins.runge_kutta import RADAU_IIA_5


@hookimpl
def register_integrators(register):
    for k in (2, 3, 4, 5):
        register(BDF(k=k, starter=RADAU_IIA_5))
