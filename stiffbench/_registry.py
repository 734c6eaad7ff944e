"""The registry: what the plugins registered, checked on arrival and ordered by name."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar, final

from ._host import PluginManager, make_plugin_manager
from ._integrator import NAME_PATTERN, AbstractIntegrator
from ._problem import AbstractProblem

T = TypeVar("T", AbstractIntegrator, AbstractProblem)


class RegistrationError(ValueError):
    """A ``register`` call was refused (bad name, missing attribute or duplicate)."""


class UnknownNameError(KeyError):
    """A requested integrator or problem is not registered; the message suggests the closest names."""

    def __str__(self) -> str:
        return str(self.args[0])


@final
@dataclasses.dataclass(frozen=True)
class Catalog(Generic[T]):
    """The registered objects of one kind, by name, each with the plugin that provided it."""

    kind: str
    items: Mapping[str, T]
    plugins: Mapping[str, str]

    def __getitem__(self, name: str) -> T:
        try:
            return self.items[name]
        except KeyError:
            raise UnknownNameError(_unknown(self.kind, name, self.items)) from None

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, name: object) -> bool:
        return name in self.items

    def values(self):
        return self.items.values()

    def select(self, names: Iterable[str] | None) -> list[T]:
        """The named objects (all when ``names`` is empty or None), refusing unknown names together."""
        names = list(names or self.items)
        unknown = [name for name in names if name not in self.items]
        if unknown:
            raise UnknownNameError("; ".join(_unknown(self.kind, name, self.items) for name in unknown))
        return [self.items[name] for name in dict.fromkeys(names)]


@final
@dataclasses.dataclass(frozen=True)
class Registry:
    """Integrators and problems from every loaded plugin, plus where plugins came from and which failed."""

    integrators: Catalog[AbstractIntegrator]
    problems: Catalog[AbstractProblem]
    sources: Mapping[str, str]
    """Plugin name -> origin, for every plugin that loaded."""
    failures: Mapping[str, str]
    """Plugin name -> reason, for every plugin that failed to import or whose hook raised."""


def build_registry(pm: PluginManager) -> Registry:
    """Call every plugin's hooks and collect what they register.

    Plugins are called in load order (entry points by name, then plugin directories, then direct
    plugins), so of two plugins claiming one name, the one loaded later is refused. A plugin whose hook
    raises (including a refused ``register`` call) is recorded in ``failures`` and contributes nothing
    from that hook; the others still load. What is registered is ordered by name.
    """
    failures = dict(pm.failures)
    integrators = _collect(pm, "register_integrators", AbstractIntegrator, "integrator", failures)
    problems = _collect(pm, "register_problems", AbstractProblem, "problem", failures)
    sources = {name: src for name, src in pm.sources.items() if name not in failures}
    return Registry(integrators, problems, dict(sorted(sources.items())), dict(sorted(failures.items())))


def load_registry(
    *, plugin_dirs: Iterable[str] = (), blocked: Iterable[str] = (), plugins: Iterable[object] = ()
) -> Registry:
    """Build the registry from installed entry points, plugin directories and direct plugins."""
    return build_registry(make_plugin_manager(plugin_dirs=plugin_dirs, blocked=blocked, plugins=plugins))


def _collect(pm: PluginManager, hook_name: str, cls: type, kind: str, failures: dict[str, str]) -> Catalog:
    items: dict[str, object] = {}
    plugins: dict[str, str] = {}
    load_order = {name: k for k, name in enumerate(pm.sources)}
    impls = sorted(getattr(pm.hook, hook_name).get_hookimpls(), key=lambda impl: load_order[impl.plugin_name])
    for impl in impls:
        plugin = impl.plugin_name
        staged: dict[str, object] = {}
        register = _make_register(hook_name, cls, kind, plugin, staged, items, plugins, pm.sources)
        try:
            impl.function(register=register)
        except Exception as exc:  # noqa: BLE001 -- a raising hook fails its plugin, not the registry
            failures[plugin] = f"{hook_name}() failed: {type(exc).__name__}: {exc}"
            continue
        items.update(staged)
        plugins.update(dict.fromkeys(staged, plugin))
    order = sorted(items)
    return Catalog(kind, {name: items[name] for name in order}, {name: plugins[name] for name in order})


def _make_register(hook_name, cls, kind, plugin, staged, items, plugins, sources) -> Callable[[object], None]:
    def register(obj: object) -> None:
        if not isinstance(obj, cls):
            raise TypeError(f"{hook_name}() expects an {cls.__name__}, got {type(obj).__name__} {obj!r:.80}")
        missing = [attr for attr in cls.REQUIRED if not hasattr(obj, attr)]
        if missing:
            raise RegistrationError(f"{kind} {obj!r:.80} lacks required attributes: {', '.join(missing)}")
        name = obj.name
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise RegistrationError(
                f"{kind} name {name!r} must be lowercase words joined by hyphens, like 'radau-iia-5'"
            )
        if name in staged or name in items:
            first = plugins.get(name, plugin)
            raise RegistrationError(
                f"duplicate {kind} name {name!r}: registered by plugin {first!r} ({sources.get(first, '?')})"
                f" and again by plugin {plugin!r} ({sources.get(plugin, '?')})"
            )
        staged[name] = obj

    return register


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (known: {', '.join(known) or 'none'})"
