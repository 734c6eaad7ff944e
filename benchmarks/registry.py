"""Plugin discovery and registry construction, warm (modules imported) and cold (a fresh interpreter)."""

import stiffbench

from . import _common as c


class Registry:
    """Warm: every plugin module is already imported, so this is entry-point scanning, pluggy registration,
    the hook calls and the construction of every integrator and problem."""

    def setup(self):
        self.pm = stiffbench.make_plugin_manager()

    def time_make_plugin_manager(self):
        stiffbench.make_plugin_manager()

    def time_build_registry(self):
        stiffbench.build_registry(self.pm)

    def time_load_registry(self):
        stiffbench.load_registry()

    def track_plugin_failures(self):
        """Plugins that failed to import or register (recorded by the registry, never raised): 0. (No track of
        the number of integrators: asv reads every increase as a regression.)"""
        return len(c.REGISTRY.failures)

    track_plugin_failures.unit = "plugins"


class ColdStart:
    """A fresh interpreter: importing stiffbench (JAX, diffrax, every plugin) and loading the registry,
    what every ``stiffbench`` command pays before its first compile (asv's ``timeraw_``: each sample is a
    new interpreter)."""

    repeat = (3, 5, 30.0)

    def timeraw_import_and_load_registry(self):
        return "import stiffbench; stiffbench.load_registry()"
