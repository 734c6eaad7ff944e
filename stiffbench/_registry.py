"""The registry: what the plugins registered, checked on arrival and ordered by name."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar, final

from ._host import PluginManager, make_plugin_manager
from .contracts import AbstractIntegrator, AbstractProblem, integrator_problems, problem_problems
from .errors import RegistrationError, UnknownNameError

T = TypeVar("T", AbstractIntegrator, AbstractProblem)


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
            raise UnknownNameError(unknown_name(self.kind, name, self.items)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, name: object) -> bool:
        return name in self.items

    def values(self) -> Iterable[T]:
        return self.items.values()

    def select(self, names: Iterable[str] | None) -> list[T]:
        """The named objects (all when ``names`` is None), refusing unknown names together."""
        names = list(self.items if names is None else names)
        unknown = [name for name in names if name not in self.items]
        if unknown:
            raise UnknownNameError("; ".join(unknown_name(self.kind, name, self.items) for name in unknown))
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
    """Call every plugin's hooks through pluggy and collect what they register.

    Each plugin's hook is called on its own (with any hook wrappers around it), so that one that raises fails
    alone: it is recorded in ``failures`` and contributes nothing from that hook; the others still load.
    Plugins are called in pluggy's ``tryfirst`` / normal / ``trylast`` groups and, within a group, in load
    order (entry points by name, then plugin directories, then direct plugins), so that of two plugins claiming
    one name, the one called later is refused. What is registered is ordered by name.
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
    impls = getattr(pm.hook, hook_name).get_hookimpls()
    plain = [impl for impl in impls if not (impl.hookwrapper or impl.wrapper)]
    load_order = {name: k for k, name in enumerate(pm.sources)}
    plain.sort(key=lambda i: (0 if i.tryfirst else 2 if i.trylast else 1, load_order.get(i.plugin_name, 0)))
    for impl in plain:
        plugin = impl.plugin_name
        if plugin in failures:
            continue
        staged: dict[str, object] = {}
        register = _make_register(hook_name, cls, kind, plugin, staged, items, plugins, pm.sources)
        caller = pm.subset_hook_caller(hook_name, remove_plugins=[i.plugin for i in plain if i is not impl])
        try:
            caller(register=register)
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
        problems = integrator_problems(obj) if kind == "integrator" else problem_problems(obj)
        if problems:
            name = getattr(obj, "name", None)
            what = f"{kind} {name!r}" if isinstance(name, str) else f"{kind} {type(obj).__name__}"
            raise RegistrationError(f"{what} refused: {'; '.join(problems)}")
        name = obj.name
        if name in staged or name in items:
            first = plugins.get(name, plugin)
            raise RegistrationError(
                f"duplicate {kind} name {name!r}: registered by plugin {first!r} ({sources.get(first, '?')})"
                f" and again by plugin {plugin!r} ({sources.get(plugin, '?')})"
            )
        staged[name] = obj

    return register


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown <kind> 'x'; did you mean 'y'? (known: ...)``: the message of every unknown name."""
    known = list(known)
    folded = {k.casefold(): k for k in known}
    close = [folded[k] for k in difflib.get_close_matches(name.casefold(), folded, n=3, cutoff=0.5)]
    alternatives = ", ".join(map(repr, close[:-1])) + " or " * (len(close) > 1) + repr(close[-1]) if close else ""
    hint = f"; did you mean {alternatives}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (known: {', '.join(known) or 'none'})"
