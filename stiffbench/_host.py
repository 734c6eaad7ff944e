"""The plugin host: a factory for plugin managers that load plugins from all three places."""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
import sys
import types
from collections.abc import Iterable
from pathlib import Path

import pluggy

from . import hookspecs
from .errors import UnknownNameError, UsageError

ENTRY_POINT_GROUP = "stiffbench"
HOOK_NAMES = tuple(name for name in vars(hookspecs) if name.startswith("register_"))


class PluginManager(pluggy.PluginManager):
    """A pluggy plugin manager that also remembers where each plugin came from and which failed.

    ``sources`` maps plugin name to a human-readable origin; ``failures`` maps the name of every
    plugin that could not be loaded (or whose hook raised) to the reason. Failures never abort loading.
    """

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.sources: dict[str, str] = {}
        self.failures: dict[str, str] = {}

    def add(self, plugin: object, name: str, source: str) -> None:
        """Register ``plugin`` under ``name``, or record why it cannot be."""
        if name in self.sources:
            self.failures[f"{name} ({source})"] = (f"a plugin named {name!r} is already loaded from "
                                                   f"{self.sources[name]}; rename one of them")
            return
        try:
            _check_hook_names(plugin)
            self.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 -- a broken plugin is reported by name; the rest still load
            self.failures[name] = _reason(exc)
        else:
            self.sources[name] = source


def make_plugin_manager(
    *,
    entry_points: bool = True,
    plugin_dirs: Iterable[str | Path] = (),
    plugins: Iterable[object] = (),
    blocked: Iterable[str] = (),
) -> PluginManager:
    """Make a fresh plugin manager.

    :param entry_points: load every entry point of group ``stiffbench`` (the built-ins are such entry
        points in stiffbench's own distribution, so they load through this same loop).
    :param plugin_dirs: directories whose ``*.py`` files are each loaded as a plugin named after the file.
    :param plugins: objects or modules to register directly, named by their ``__name__``.
    :param blocked: plugin names never to load (entry-point names, file stems or ``__name__``).
    :raises UsageError: when a plugin directory does not exist.
    :raises UnknownNameError: when a blocked name is no plugin's (with the closest names).
    """
    pm = PluginManager()
    blocked = list(dict.fromkeys(blocked))
    for name in blocked:
        pm.set_blocked(name)
    known: list[str] = []
    if entry_points:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            known.append(ep.name)
            if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
                continue
            dist = f"{ep.dist.name} {ep.dist.version}: " if ep.dist else ""
            _load(pm, ep.name, f"entry point {dist}{ep.value}", ep.load)
    for given in plugin_dirs:
        if not Path(given).is_dir():
            what = "is not a directory" if Path(given).exists() else "does not exist"
            raise UsageError(f"plugins directory {str(given)!r} {what}")
    for directory in dict.fromkeys(Path(d).resolve() for d in plugin_dirs):  # a directory given twice loads once
        for path in sorted(directory.glob("*.py")):
            known.append(path.stem)
            if not pm.is_blocked(path.stem):
                _load(pm, path.stem, str(path), lambda path=path: _import_file(path))
    for plugin in plugins:
        name = getattr(plugin, "__name__", None) or pm.get_canonical_name(plugin)
        known.append(name)
        if not pm.is_blocked(name):
            pm.add(plugin if _hashable(plugin) else _as_module(plugin, name), name, "registered directly")
    unknown = [name for name in blocked if name not in known]
    if unknown:
        raise UnknownNameError("; ".join(_unknown_plugin(name, known) for name in unknown))
    return pm


def _hashable(obj: object) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _as_module(plugin: object, name: str) -> types.ModuleType:
    """A module holding an unhashable plugin's attributes (a ``SimpleNamespace``): pluggy keeps plugins in sets."""
    module = types.ModuleType(name)
    vars(module).update({attr: getattr(plugin, attr) for attr in dir(plugin) if not attr.startswith("__")})
    return module


def _unknown_plugin(name: str, known: list[str]) -> str:
    from ._registry import unknown_name

    return "--disable: " + unknown_name("plugin", name, sorted(set(known)))


def _load(pm: PluginManager, name: str, source: str, load) -> None:
    try:
        plugin = load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 -- whatever a plugin raises on import (sys.exit too) is its failure
        pm.failures[name] = f"import failed: {_reason(exc)}"
    else:
        pm.add(plugin, name, source)


def _import_file(path: Path):
    module_name = f"stiffbench_plugins_dir.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _check_hook_names(plugin: object) -> None:
    """Refuse hook implementations whose name is not a hook: a typo would otherwise be silently ignored."""
    for attr in dir(plugin):
        if attr.startswith("_"):
            continue
        marked = getattr(getattr(plugin, attr, None), f"{ENTRY_POINT_GROUP}_impl", None)
        if marked is not None and attr not in HOOK_NAMES:
            close = difflib.get_close_matches(attr, HOOK_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; hooks are {', '.join(HOOK_NAMES)}"
            raise ValueError(f"{attr!r} is marked @hookimpl but is not a stiffbench hook{hint}")


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
