"""Shared fixtures: a fresh registry of the built-ins, and throwaway plugins written to a directory."""

from __future__ import annotations

import textwrap

import pytest

import stiffbench

# The same runtime as the CLI (EQX_ON_ERROR=nan, float64, the compilation cache), set before any fixture loads a
# plugin: equinox reads its error mode once, when the first plugin imports it.
stiffbench.configure()


@pytest.fixture(scope="session")
def registry() -> stiffbench.Registry:
    """The built-in plugins, loaded through their entry points like any installed plugin."""
    registry = stiffbench.load_registry()
    assert not registry.failures, registry.failures
    return registry


@pytest.fixture
def traced(monkeypatch):
    """No exported program is loaded or stored: every program is traced (JAX's compilation cache stays on)."""
    monkeypatch.setattr(stiffbench.runtime, "_caches", False)


@pytest.fixture
def plugin_dir(tmp_path):
    """``write(name, source)`` puts a plugin file into a fresh directory, which the fixture returns."""

    def write(name: str, source: str):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return tmp_path

    return write
