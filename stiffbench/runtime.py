"""The process's numerical runtime, set up in one place: every entry point (the CLI, the asv suite, the test
session, a Dask worker) calls :func:`configure` before anything compiles.

- **float64**: the substrate of every measurement (``R ~ 1e-8``, ``R' ~ 1e-16`` at ``|z| = 1e8``).
- **EQX_ON_ERROR=nan**: equinox turns runtime checks into host callbacks by default, which JAX's persistent
  compilation cache refuses to store (diffrax's ``SaveAt(ts)`` and ``StepTo`` have such checks); with ``nan`` a
  failed check poisons the output instead, which the records report as a non-finite status. equinox reads the
  variable once, when it is first imported (by the first plugin that needs it), so this must come first. A value
  the user set is kept.

Importing stiffbench does the first two already (:func:`enable_float64`, :func:`set_error_mode`), since every use
of the library needs them; :func:`configure` adds the caches.
- **XLA flags**: left as the user set them (``XLA_FLAGS``) and recorded in every record's environment; they are
  part of the compilation cache's key, so every process of one sweep must share them.
- **Caches**: everything stiffbench keeps between runs lives under :func:`cache_dir` (``STIFFBENCH_CACHE_DIR``,
  default ``~/.cache/stiffbench``): JAX's persistent compilation cache (``jax/``), the exported programs
  (``exported/``, :mod:`stiffbench.measure.exported`) and reference sensitivities (``references/``). Deleting it
  loses nothing but time. ``configure(caches=False)`` (``--no-cache``) bypasses the first two. A corrupt entry is a
  miss that is written again: JAX itself would keep an unreadable entry forever
  (:func:`_rewrite_unreadable_compilation_cache_entries`).
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path

import jax

ERROR_MODE = "nan"
COMPILE_TIME_THRESHOLD_S = 0.1
"""Compilations shorter than this are not written to the persistent cache (JAX's own default is 1 s, which
would skip most of stiffbench's small programs)."""
_caches = False


def enable_float64() -> None:
    jax.config.update("jax_enable_x64", True)


def set_error_mode() -> None:
    """``EQX_ON_ERROR=nan`` unless the user chose otherwise; a warning if equinox was imported with another."""
    os.environ.setdefault("EQX_ON_ERROR", ERROR_MODE)
    equinox_config = sys.modules.get("equinox._config")
    mode = getattr(equinox_config, "EQX_ON_ERROR", os.environ["EQX_ON_ERROR"])
    if mode != os.environ["EQX_ON_ERROR"]:
        warnings.warn(f"equinox was imported before stiffbench with EQX_ON_ERROR={mode!r}; diffrax solves will "
                      "neither report failed checks as a status nor be cached. Import stiffbench before diffrax "
                      "or equinox.", RuntimeWarning, stacklevel=3)


def cache_dir() -> Path:
    """Where stiffbench keeps what it could recompute (read from ``STIFFBENCH_CACHE_DIR`` at each call)."""
    return Path(os.environ.get("STIFFBENCH_CACHE_DIR") or Path.home() / ".cache" / "stiffbench")


def configure(*, caches: bool | None = None) -> None:
    """Set up float64, equinox's error mode, JAX's persistent compilation cache and the exported-program cache;
    idempotent.

    :param caches: use both caches under :func:`cache_dir` (``False`` turns them off: for measuring what a first,
        uncached compile costs; default: on unless the environment sets ``STIFFBENCH_NO_CACHE``, as ``--no-cache``
        does for the process and the local workers it starts).
    """
    global _caches
    set_error_mode()
    enable_float64()
    _caches = caches if caches is not None else not os.environ.get("STIFFBENCH_NO_CACHE")
    if _caches:
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", COMPILE_TIME_THRESHOLD_S)
        _rewrite_unreadable_compilation_cache_entries()
    else:
        jax.config.update("jax_enable_compilation_cache", False)


def caches_enabled() -> bool:
    """Whether :func:`configure` turned the caches on (off until it is called)."""
    return _caches


CACHES = {
    "jax": "compiled programs (JAX's persistent compilation cache)",
    "exported": "exported programs (traced once, loaded by later runs)",
    "references": "reference solutions and sensitivities (SciPy)",
}
"""The caches under :func:`cache_dir`, by subdirectory."""
COMPILED = ("jax", "exported")
"""The caches of compiled programs: what ``--no-cache`` bypasses and ``stiffbench cache --clear`` deletes."""


def cache_usage() -> dict[str, tuple[int, int]]:
    """Files and bytes in each of :data:`CACHES`."""
    usage = {}
    for name in CACHES:
        sizes = [p.stat().st_size for p in (cache_dir() / name).rglob("*") if p.is_file()]
        usage[name] = (len(sizes), sum(sizes))
    return usage


def clear_compiled() -> None:
    """Delete the caches of compiled programs (:data:`COMPILED`); the references stay."""
    for name in COMPILED:
        shutil.rmtree(cache_dir() / name, ignore_errors=True)


def _rewrite_unreadable_compilation_cache_entries() -> None:
    """Delete a persistent-cache entry whose read fails, so that the compile which follows writes it afresh.

    JAX treats an entry it cannot read (a file truncated by a process killed while writing it: JAX does not write
    atomically) as a miss and warns, but never replaces it, so every later run would pay the compile again. This
    wraps JAX's private reader; with another JAX whose reader is not found it does nothing.
    """
    from jax._src import compilation_cache

    read = compilation_cache.get_executable_and_time
    if getattr(read, "rewrites_unreadable_entries", False):
        return

    def get_executable_and_time(cache_key, compile_options, backend, executable_devices):
        try:
            return read(cache_key, compile_options, backend, executable_devices)
        except Exception:
            path = getattr(compilation_cache._get_cache(backend), "path", None)
            if path is not None:
                Path(path, f"{cache_key}-cache").unlink(missing_ok=True)
            raise  # JAX warns and compiles; its write then finds the entry gone

    get_executable_and_time.rewrites_unreadable_entries = True  # type: ignore[attr-defined]
    compilation_cache.get_executable_and_time = get_executable_and_time


def settings() -> dict[str, str | None]:
    """What :func:`configure` decided, as the records keep it."""
    cache = getattr(jax.config, "jax_compilation_cache_dir")  # noqa: B009 -- jax's config has no static attributes
    return {
        "EQX_ON_ERROR": os.environ.get("EQX_ON_ERROR"),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
        "jax_enable_x64": str(getattr(jax.config, "jax_enable_x64")),  # noqa: B009
        "compilation_cache": str(cache) if getattr(jax.config, "jax_enable_compilation_cache") and cache else None,  # noqa: B009
    }
