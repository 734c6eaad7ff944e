"""The exported-program cache: a measurement's compiled program, serialized with ``jax.export`` and reloaded by later
runs, so that a warm run neither traces equinox/diffrax in Python nor lowers it again.

JAX's persistent compilation cache (:mod:`stiffbench.runtime`) skips XLA's compile but not the tracing and lowering
that come before it, which are most of a diffrax cell's compile time (seconds). Here the program's StableHLO is
stored under :func:`stiffbench.runtime.cache_dir` ``/exported`` once; a later request with the same :func:`key`
deserializes it (milliseconds) and compiles it, which the compilation cache then makes a load.

A wrong hit is a wrong result, so the key (:func:`key`) holds everything that can change the program: the
environment (Python; the versions of every recorded package, jax, jaxlib, diffrax, equinox, optimistix and lineax
among them; the digest of stiffbench's own source; equinox's error mode, ``XLA_FLAGS``, float64; the backend), the
program's name and what it closes over -- integrator, problem, step policy, differentiation method -- described by
:func:`~.fingerprint.describe` down to array bytes and the source of the code involved, and the shapes and dtypes
of the arguments. A program whose parts cannot be described for certain, or whose export fails (a host callback,
with another ``EQX_ON_ERROR``), is traced and compiled as before and not stored.

The cache holds at most :data:`MAX_BYTES`; the least recently used artifacts go first. ``stiffbench cache --clear``
empties it and JAX's cache, ``--no-cache`` (``runtime.configure(caches=False)``) bypasses it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .. import runtime
from ..records.common import write_text
from .fingerprint import Unkeyable, describe, environment

MAX_BYTES = 1 << 30
"""The cache's bound (1 GiB); a diffrax gradient cell's artifact is a few hundred kB."""


def directory() -> Path | None:
    """Where the artifacts live; None when the caches are off."""
    return runtime.cache_dir() / "exported" if runtime.caches_enabled() else None


def compile_exported(fn: Callable[..., Any], args: tuple[Any, ...], parts: tuple[Any, ...]) -> Any:
    """``jax.jit(fn)`` compiled for ``args``: from the artifact under :func:`key` if there is one, else traced,
    exported and stored. ``parts``: the program's name and everything ``fn`` closes over."""
    root = directory()
    try:
        name = None if root is None else key(parts, args)
    except Unkeyable:
        name = None
    if root is None or name is None:
        return jax.jit(fn).lower(*args).compile()
    path = root / f"{name}.jax"
    exported = _load(path)
    if exported is not None:
        return jax.jit(exported.call).lower(*args).compile()
    compiled, data = _compile_and_export(fn, args)
    if data is not None:
        write_text(path, data)
        _prune(root)
    return compiled


def _compile_and_export(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, bytes | None]:
    """Trace once, lower for export, serialize, and compile the exported program, so that a miss costs about what a
    plain compile costs (through ``jax.export.export``, which traces again, the forward solve and gradient of a
    diffrax cell took 17.6 s against 12.5 s). This uses JAX's private lowering entry points; with a
    JAX that lacks them, or a program that cannot be exported (a host callback), it compiles as ``jax.jit`` does
    and stores nothing."""
    traced = jax.jit(fn).trace(*args)
    try:
        from jax._src.export import _export
        from jax._src.interpreters import mlir

        lowered = traced.lower(lowering_platforms=(jax.export.default_export_platform(),),
                               _private_parameters=mlir.LoweringParameters(for_export=True,
                                                                           hoist_constants_as_args=False))
        exported = _export._export_lowered(lowered, traced.jaxpr, traced.fun_name)
        data = bytes(exported.serialize())
    except Exception:  # noqa: BLE001 -- not exportable here: compiled as before, not cached
        return traced.lower().compile(), None
    # The exported program, compiled as a later hit compiles it: the same XLA module, so the same entry of JAX's
    # compilation cache and the same machine code in the run that stores and in the runs that load.
    return jax.jit(exported.call).lower(*args).compile(), data


def _load(path: Path) -> jax.export.Exported | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        exported = jax.export.deserialize(bytearray(data))
    except Exception:  # noqa: BLE001 -- a truncated or foreign file is a miss, written again
        path.unlink(missing_ok=True)
        return None
    os.utime(path)  # recently used: pruned last
    return exported


def _prune(root: Path, limit: int = MAX_BYTES) -> None:
    """Delete the least recently used artifacts until the cache holds at most ``limit`` bytes."""
    files = []
    for path in root.glob("*.jax"):
        try:
            files.append((path.stat().st_mtime, path.stat().st_size, path))
        except OSError:
            continue
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        total -= size


def key(parts: tuple[Any, ...], args: tuple[Any, ...]) -> str:
    """The artifact's name: a digest of the environment, of ``parts`` and of the arguments' shapes and dtypes."""
    leaves, tree = jax.tree.flatten(args)
    shapes = [(tuple(np.shape(x)), str(jax.numpy.result_type(x)), bool(getattr(x, "weak_type", False)))
              for x in leaves]
    text = repr((environment(), describe(parts), str(tree), shapes))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
