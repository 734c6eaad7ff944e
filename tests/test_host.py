"""The plugin host and registry: entry points, plugin directories, direct registration, blocking, errors."""

from __future__ import annotations

import types

import pytest

import stiffbench
from stiffbench.plugins.native import INTEGRATORS

BUILTIN_PLUGINS = {"native", "diffrax", "linear"}
BACKWARD_EULER = next(i for i in INTEGRATORS if i.name == "backward-euler")

ALIAS_PLUGIN = """
    import dataclasses
    from stiffbench import hookimpl
    from stiffbench.plugins.native import INTEGRATORS

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
    with pytest.raises(FileNotFoundError, match="does not exist"):
        stiffbench.make_plugin_manager(plugin_dirs=[tmp_path / "nope"])


def test_direct_registration():
    plugin = types.SimpleNamespace(__name__="direct", register_integrators=stiffbench.hookimpl(
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
    assert "plugin 'native'" in reason and "stiffbench.plugins.native" in reason
    assert registry.integrators["trapezoid"] is next(i for i in INTEGRATORS if i.name == "trapezoid")


def test_a_failing_plugin_keeps_nothing_it_registered(plugin_dir):
    directory = plugin_dir("half", """
        import dataclasses
        from stiffbench import hookimpl
        from stiffbench.plugins.native import INTEGRATORS

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
