"""The plugin host and registry: entry points, plugin directories, direct registration, blocking, errors."""

from __future__ import annotations

import dataclasses
import types

import pytest

import stiffbench
from stiffbench.plugins.runge_kutta import INTEGRATORS
from stiffbench.problems.linear import Linear

BUILTIN_PLUGINS = {"runge_kutta", "diffrax", "linear"}
BACKWARD_EULER = next(i for i in INTEGRATORS if i.name == "backward-euler")

ALIAS_PLUGIN = """
    import dataclasses
    from stiffbench import hookimpl
    from stiffbench.plugins.runge_kutta import INTEGRATORS

    @hookimpl
    def register_integrators(register):
        register(dataclasses.replace(INTEGRATORS[0], name="{name}"))
"""


def test_builtins_load_through_entry_points(registry):
    assert BUILTIN_PLUGINS <= set(registry.sources)
    for name in BUILTIN_PLUGINS:
        assert registry.sources[name].startswith("entry point stiffbench")
    assert {"backward-euler", "trapezoid", "diffrax-implicit-euler", "diffrax-kvaerno5"} <= set(registry.integrators)
    assert "linear" in registry.problems
    assert registry.integrators.plugins["diffrax-kvaerno5"] == "diffrax"


def test_everything_is_ordered_by_name(registry):
    assert list(registry.integrators) == sorted(registry.integrators)
    assert list(registry.sources) == sorted(registry.sources)


def test_each_make_plugin_manager_is_fresh():
    a, b = stiffbench.make_plugin_manager(entry_points=False), stiffbench.make_plugin_manager(entry_points=False)
    assert a is not b and not a.get_plugins() and not b.get_plugins()


def test_builtins_can_be_blocked_by_name():
    registry = stiffbench.load_registry(blocked=["diffrax"])
    assert "diffrax" not in registry.sources
    assert not [name for name in registry.integrators if name.startswith("diffrax-")]
    assert "backward-euler" in registry.integrators


def test_plugin_directory_files_load_by_stem(plugin_dir):
    directory = plugin_dir("mine", ALIAS_PLUGIN.format(name="my-euler"))
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert registry.sources["mine"] == str(directory / "mine.py")
    assert registry.integrators.plugins["my-euler"] == "mine"


def test_plugin_directory_file_can_be_blocked(plugin_dir):
    directory = plugin_dir("mine", ALIAS_PLUGIN.format(name="my-euler"))
    registry = stiffbench.load_registry(plugin_dirs=[directory], blocked=["mine"])
    assert "my-euler" not in registry.integrators


def test_missing_plugin_directory_is_an_error(tmp_path):
    with pytest.raises(stiffbench.UsageError, match="does not exist"):
        stiffbench.make_plugin_manager(plugin_dirs=[tmp_path / "nope"])


def test_direct_registration_of_an_unhashable_object():
    plugin = types.SimpleNamespace(__name__="direct", register_integrators=stiffbench.hookimpl(
        lambda register: register(BACKWARD_EULER.__class__(**{**vars(BACKWARD_EULER), "name": "direct-euler"}))
    ))
    registry = stiffbench.build_registry(stiffbench.make_plugin_manager(entry_points=False, plugins=[plugin]))
    assert list(registry.integrators) == ["direct-euler"]
    assert registry.sources == {"direct": "registered directly"}


def _module(name, **attributes):
    """A plugin to register directly: a module object."""
    module = types.ModuleType(name)
    vars(module).update(attributes)
    return module


def test_direct_registration_of_a_module():
    plugin = _module("direct", register_integrators=stiffbench.hookimpl(
        lambda register: register(BACKWARD_EULER.__class__(**{**vars(BACKWARD_EULER), "name": "direct-euler"}))
    ))
    registry = stiffbench.build_registry(stiffbench.make_plugin_manager(entry_points=False, plugins=[plugin]))
    assert list(registry.integrators) == ["direct-euler"]
    assert registry.sources == {"direct": "registered directly"}


def test_plugin_that_raises_on_import_is_reported_and_the_rest_load(plugin_dir):
    directory = plugin_dir("broken", "raise RuntimeError('boom at import')\n")
    plugin_dir("fine", ALIAS_PLUGIN.format(name="fine-euler"))
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert registry.failures["broken"] == "import failed: RuntimeError: boom at import"
    assert "fine-euler" in registry.integrators and "backward-euler" in registry.integrators


def test_problems_register_through_their_hook(plugin_dir):
    directory = plugin_dir("myproblems", """
        from stiffbench import hookimpl
        from stiffbench.problems.linear import Linear

        @hookimpl
        def register_problems(register):
            register(Linear(name="linear-copy"))
            register(object())
    """)
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert "register_problems() expects an AbstractProblem, got object" in registry.failures["myproblems"]
    assert "linear-copy" not in registry.problems and "linear" in registry.problems


def test_register_rejects_wrong_type(plugin_dir):
    directory = plugin_dir("wrongtype", """
        from stiffbench import hookimpl

        @hookimpl
        def register_integrators(register):
            register("backward-euler")
    """)
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert "register_integrators() expects an AbstractIntegrator, got str" in registry.failures["wrongtype"]
    assert "backward-euler" in registry.integrators


def test_duplicate_name_is_an_error_naming_both_sources(plugin_dir):
    directory = plugin_dir("dupe", ALIAS_PLUGIN.format(name="trapezoid"))
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    reason = registry.failures["dupe"]
    assert "duplicate integrator name 'trapezoid'" in reason
    assert "plugin 'dupe'" in reason and str(directory / "dupe.py") in reason
    assert "plugin 'runge_kutta'" in reason and "stiffbench.plugins.runge_kutta" in reason
    assert registry.integrators["trapezoid"] is next(i for i in INTEGRATORS if i.name == "trapezoid")


def test_a_failing_plugin_keeps_nothing_it_registered(plugin_dir):
    directory = plugin_dir("half", """
        import dataclasses
        from stiffbench import hookimpl
        from stiffbench.plugins.runge_kutta import INTEGRATORS

        @hookimpl
        def register_integrators(register):
            register(dataclasses.replace(INTEGRATORS[0], name="half-one"))
            raise RuntimeError("second half broke")
    """)
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert "half-one" not in registry.integrators
    assert registry.failures["half"] == "register_integrators() failed: RuntimeError: second half broke"


def test_invalid_integrator_name_is_refused(plugin_dir):
    directory = plugin_dir("badname", ALIAS_PLUGIN.format(name="Bad Name"))
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert "lowercase words joined by hyphens" in registry.failures["badname"]


def test_misspelled_hook_is_reported(plugin_dir):
    directory = plugin_dir("typo", """
        from stiffbench import hookimpl

        @hookimpl
        def register_integrator(register):
            pass
    """)
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert "did you mean 'register_integrators'" in registry.failures["typo"]


def test_unknown_names_suggest_close_matches(registry):
    with pytest.raises(stiffbench.UnknownNameError, match="did you mean 'backward-euler'"):
        registry.integrators["backward-eulr"]
    with pytest.raises(stiffbench.UnknownNameError, match=r"unknown problem 'lineer'.*'linear'"):
        registry.problems.select(["lineer"])


def test_select_none_is_all_and_an_empty_list_is_none(registry):
    assert registry.integrators.select(None) == list(registry.integrators.values())
    assert registry.problems.select(None) == list(registry.problems.values())
    assert registry.integrators.select([]) == [] and registry.problems.select(()) == []
    assert registry.integrators.select(["trapezoid", "backward-euler", "trapezoid"]) == [
        registry.integrators["trapezoid"], registry.integrators["backward-euler"]]


@pytest.mark.parametrize("blocked, message", [
    (["difrax"], r"--disable: unknown plugin 'difrax'; did you mean 'diffrax'\?"),
    (["diffrax", "runge-kutta"], r"unknown plugin 'runge-kutta'; did you mean 'runge_kutta'\?"),
])
def test_blocking_an_unknown_plugin_is_an_error(blocked, message):
    with pytest.raises(stiffbench.UnknownNameError, match=message):
        stiffbench.make_plugin_manager(blocked=blocked)


def test_plugin_file_named_like_a_loaded_plugin_is_a_failure_not_a_replacement(plugin_dir):
    directory = plugin_dir("runge_kutta", ALIAS_PLUGIN.format(name="shadow-euler"))
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    key = f"runge_kutta ({directory / 'runge_kutta.py'})"
    assert registry.failures == {key: registry.failures[key]}
    assert registry.failures[key].startswith("a plugin named 'runge_kutta' is already loaded from entry point")
    assert registry.sources["runge_kutta"].startswith("entry point stiffbench")
    assert "shadow-euler" not in registry.integrators
    assert registry.integrators.plugins["backward-euler"] == "runge_kutta"


@dataclasses.dataclass(frozen=True)
class _Declared(stiffbench.AbstractIntegrator):
    """An integrator whose declared attributes are whatever the test gives (backward Euler's otherwise)."""

    name: str
    theory: object = BACKWARD_EULER.theory
    order: object = 1
    family: str = "Runge–Kutta"
    stages: int = 1
    implementation: str = "a test double"
    citation: str = "none"

    def solve(self, vector_field, t0, y0, ts, params, policy):
        return BACKWARD_EULER.solve(vector_field, t0, y0, ts, params, policy)


def _direct(name, hook, *objects):
    """A plugin registered directly, whose ``hook`` registers ``objects``."""

    def register_all(register):
        for obj in objects:
            register(obj)

    return _module(name, **{hook: stiffbench.hookimpl(register_all)})


@pytest.mark.parametrize("integrator, message", [
    (_Declared("dict-theory", theory={"A": [[1]], "b": [1], "c": [1]}),
     "integrator 'dict-theory' refused: 'theory' must be ButcherTableau | RosenbrockMethod | LinearMultistep | "
     "RationalFunction | None, got dict"),
    (_Declared("string-order", order="2"), "integrator 'string-order' refused: 'order' must be int, got str '2'"),
])
def test_register_refuses_an_attribute_of_the_wrong_type(integrator, message):
    good = _Declared("declared-euler")
    pm = stiffbench.make_plugin_manager(entry_points=False, plugins=[
        _direct("good", "register_integrators", good), _direct("bad", "register_integrators", integrator)])
    registry = stiffbench.build_registry(pm)
    assert registry.failures["bad"].startswith(f"register_integrators() failed: RegistrationError: {message}")
    assert list(registry.integrators) == ["declared-euler"]


def test_register_refuses_a_fast_parameter_that_is_not_a_parameter():
    pm = stiffbench.make_plugin_manager(entry_points=False, plugins=[
        _direct("good", "register_problems", Linear(name="linear-copy")),
        _direct("bad", "register_problems", Linear(name="linear-odd", fast_parameters=("rate", "speed")))])
    registry = stiffbench.build_registry(pm)
    assert registry.failures["bad"] == (
        "register_problems() failed: RegistrationError: problem 'linear-odd' refused: fast_parameters and "
        "stiffness.parameter must name parameters (rate), got 'speed'")
    assert list(registry.problems) == ["linear-copy"]


@pytest.mark.parametrize("weights", [{"rate": (1.0,)}, {"W": ((1.0, 2.0), (3.0,))}, {"W": (float("nan"),)},
                                     {"W": ()}])
def test_register_refuses_weights_that_are_not_arrays_or_shadow_a_rate(weights):
    def weighted(name, weights):
        problem = Linear(name=name)
        object.__setattr__(problem, "weights", weights)  # Linear declares no weights; a neural problem would
        return problem

    pm = stiffbench.make_plugin_manager(entry_points=False, plugins=[
        _direct("good", "register_problems", weighted("linear-copy", {"W": ((1.0, -2.0),)})),
        _direct("bad", "register_problems", weighted("linear-odd", weights))])
    registry = stiffbench.build_registry(pm)
    assert "weights[" in registry.failures["bad"] and "rectangular array of finite floats" in registry.failures["bad"]
    assert list(registry.problems) == ["linear-copy"]


def test_plugin_that_exits_on_import_is_reported_and_the_rest_load(plugin_dir):
    directory = plugin_dir("quitter", "import sys\nsys.exit(3)\n")
    plugin_dir("fine", ALIAS_PLUGIN.format(name="fine-euler"))
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert registry.failures == {"quitter": "import failed: SystemExit: 3"}
    assert "fine-euler" in registry.integrators and "backward-euler" in registry.integrators


def test_tryfirst_is_honoured_when_two_plugins_claim_a_name(plugin_dir):
    """Plugin directories load by file name, so 'late' loads after 'early'; its tryfirst hook is called first
    and keeps the name, and 'early', called after, is the duplicate."""
    source = """
        import dataclasses
        from stiffbench import hookimpl
        from stiffbench.plugins.runge_kutta import INTEGRATORS

        @hookimpl{marker}
        def register_integrators(register):
            register(dataclasses.replace(INTEGRATORS[0], name="shared-euler", citation="{citation}"))
    """
    directory = plugin_dir("early", source.format(marker="", citation="early"))
    plugin_dir("late", source.format(marker="(tryfirst=True)", citation="late"))
    registry = stiffbench.load_registry(plugin_dirs=[directory])
    assert registry.integrators.plugins["shared-euler"] == "late"
    assert registry.integrators["shared-euler"].citation == "late"
    assert set(registry.failures) == {"early"}
    assert "duplicate integrator name 'shared-euler': registered by plugin 'late'" in registry.failures["early"]


def test_a_hook_wrapper_runs_around_each_plugins_registration():
    """A new-style wrapper sees every plugin's call on its own (the registry calls them one at a time), and a
    plugin's exception passes through it on the way to the registry's failures."""
    events = []

    def plugin(name, *integrators, fail=False):
        def register_integrators(register):
            for integrator in integrators:
                register(integrator)
                events.append(f"{name} registered {integrator.name}")
            if fail:
                raise RuntimeError(f"{name} broke")

        return _module(name, register_integrators=stiffbench.hookimpl(register_integrators))

    @stiffbench.hookimpl(wrapper=True)
    def register_integrators(register):
        events.append("enter")
        try:
            return (yield)
        except RuntimeError as exc:
            events.append(f"saw {exc}")
            raise
        finally:
            events.append("exit")

    watcher = _module("watcher", register_integrators=register_integrators)
    pm = stiffbench.make_plugin_manager(entry_points=False, plugins=[
        plugin("alpha", _Declared("alpha-euler")), watcher, plugin("beta", _Declared("beta-euler"), fail=True)])
    registry = stiffbench.build_registry(pm)
    assert events == ["enter", "alpha registered alpha-euler", "exit",
                      "enter", "beta registered beta-euler", "saw beta broke", "exit"]
    assert list(registry.integrators) == ["alpha-euler"]
    assert registry.failures == {"beta": "register_integrators() failed: RuntimeError: beta broke"}
    assert set(registry.sources) == {"alpha", "watcher"}


def test_every_hook_is_documented_and_tested():
    """Meta-test: each hook has a docstring with :param: and is exercised by this file."""
    import pathlib

    from stiffbench import hookspecs
    from stiffbench._host import HOOK_NAMES

    assert set(HOOK_NAMES) == {"register_integrators", "register_problems"}
    text = pathlib.Path(__file__).read_text() + pathlib.Path(__file__).with_name("conftest.py").read_text()
    for name in HOOK_NAMES:
        assert ":param register:" in getattr(hookspecs, name).__doc__
        assert f"def {name}(register)" in text
