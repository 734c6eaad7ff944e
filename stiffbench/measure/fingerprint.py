"""What a cache key is made of: :func:`describe` turns the objects a computation depends on (an integrator, a problem,
a step policy) into a text that determines them, and :func:`environment` the process's versions and settings.
Both caches that must never give a wrong hit use them: the exported programs (:mod:`.exported`) and the reference
sensitivities (:mod:`.references`).

:func:`describe` reads scalars by ``repr``, arrays by dtype, shape and bytes (a ``repr`` elides the middle of a
large array), containers and dataclasses (equinox modules too) item by item, and classes and functions by qualified
name and the code behind them (:func:`code_digest`: every file of the package that defines them, outside the
recorded packages, whose versions :func:`environment` holds, and the standard library), a closure with what it
captured. An object it cannot describe for certain (one known only by its address) is :class:`Unkeyable`: the
caller computes without its cache.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import importlib
import importlib.metadata
import platform
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .. import runtime
from ..records.common import PACKAGES, package_versions

SOURCE_PACKAGES = ("stiffbench", "stiffbench.engines", "stiffbench.plugins", "stiffbench.problems")
"""stiffbench's own code: the host and the built-in engines, plugins and problems (mapped into the package)."""


class Unkeyable(Exception):
    """An object that :func:`describe` cannot describe by its contents."""


def environment() -> dict[str, Any]:
    """What every program's key holds: versions, stiffbench's source, runtime settings, the backend."""
    return {**_installed(), "stiffbench source": source_digest(),
            "settings": {k: v for k, v in runtime.settings().items() if k != "compilation_cache"}}


@functools.cache
def _installed() -> dict[str, Any]:
    """What cannot change while the process runs."""
    return {
        "python": platform.python_version(),
        "packages": package_versions(),
        "backend": jax.default_backend(),
        "devices": sorted({d.device_kind for d in jax.devices()}),
        "export": jax.export.maximum_supported_calling_convention_version,
    }


@functools.cache
def source_digest() -> str:
    """A digest of stiffbench's own Python files: a checkout's version number does not change with its code."""
    sha = hashlib.sha256()
    for package in SOURCE_PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in sorted(root.glob("*.py")):
            sha.update(path.name.encode() + path.read_bytes())
    return sha.hexdigest()[:16]


def describe(obj: Any, depth: int = 0) -> str:
    """A text that determines ``obj`` for the program it appears in: equal texts, equal programs.

    Scalars by ``repr``, arrays by dtype, shape and bytes, containers and dataclasses (equinox modules too) item
    by item, classes and functions by qualified name, the source of their code (:func:`code_digest`) and, for a
    closure, what it captured. Anything else by its ``__dict__``, or by ``repr`` if that names no address."""
    if depth > 40:
        raise Unkeyable("nested too deeply")
    d = depth + 1
    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        return repr(obj)
    if isinstance(obj, enum.Enum):
        return f"{_name(type(obj))}.{obj.name}"
    if isinstance(obj, np.ndarray | np.generic | jax.Array):
        if isinstance(obj, jax.core.Tracer):
            raise Unkeyable("a traced value")
        a = np.asarray(obj)
        return f"array({a.dtype}, {a.shape}, {hashlib.sha256(a.tobytes()).hexdigest()[:16]})"
    if isinstance(obj, type):
        return f"class {_name(obj)} [{code_digest(obj.__module__)}]"
    if isinstance(obj, Mapping):
        items = sorted((describe(k, d), describe(v, d)) for k, v in obj.items())
        return f"{_name(type(obj))}{{{', '.join(f'{k}: {v}' for k, v in items)}}}"
    if isinstance(obj, list | tuple | set | frozenset):
        texts = [describe(x, d) for x in obj]
        return f"{_name(type(obj))}[{', '.join(sorted(texts) if isinstance(obj, set | frozenset) else texts)}]"
    if isinstance(obj, functools.partial):
        return f"partial({describe(obj.func, d)}, {describe(obj.args, d)}, {describe(obj.keywords, d)})"
    if isinstance(obj, types.MethodType):
        return f"method({describe(obj.__func__, d)} of {describe(obj.__self__, d)})"
    if isinstance(obj, types.FunctionType):
        cells = tuple(c.cell_contents for c in obj.__closure__ or ())
        return f"function {obj.__module__}.{obj.__qualname__} [{code_digest(obj.__module__)}] {describe(cells, d)}"
    if isinstance(obj, types.BuiltinFunctionType | types.ModuleType):
        return f"{type(obj).__name__} {getattr(obj, '__module__', '')}.{getattr(obj, '__name__', '')}"
    head = f"{_name(type(obj))} [{' '.join(code_digest(c.__module__) for c in type(obj).__mro__[:-1])}]"
    if dataclasses.is_dataclass(obj):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if hasattr(obj, f.name)}
        return f"{head} {describe(fields, d)}"
    if hasattr(obj, "__dict__"):
        return f"{head} {describe(vars(obj), d)}"
    text = repr(obj)
    if " at 0x" in text or "object at" in text:
        raise Unkeyable(f"{_name(type(obj))} has no description but its address")
    return f"{head} {text}"


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_VERSIONED = frozenset(PACKAGES) - {"stiffbench"} | {"jaxlib", "jax_plugins", "builtins", "typing", "abc"}


def code_digest(module: str) -> str:
    """What stands for the code of ``module`` in a key: nothing for a recorded package (its version is in the key)
    or the standard library; a digest of the module's own file for stiffbench's modules (:func:`environment` holds
    the digest of all of stiffbench); else a digest of every Python file of the top-level package that holds it
    (or of the module's own file) and that distribution's version.

    The files are read as they are now: a module edited after its import in a live process is described by its new
    text (one more reason for a long-lived process not to edit its plugins)."""
    top = module.partition(".")[0]
    if top in _VERSIONED or top in sys.stdlib_module_names:
        return top
    package = sys.modules.get(top)
    if top != "stiffbench" and package is not None and hasattr(package, "__path__"):
        files = sorted(p for root in package.__path__ for p in Path(root).rglob("*.py"))
    else:
        file = getattr(sys.modules.get(module), "__file__", None)
        if not file:
            raise Unkeyable(f"the code of module {module!r} is not found")
        files = [Path(file)]
    digests = "".join(_file_digest(path, *_stat(path)) for path in files)
    try:
        version = importlib.metadata.version(top)
    except importlib.metadata.PackageNotFoundError:
        version = ""
    return f"{top} {version} {hashlib.sha256(digests.encode()).hexdigest()[:16]}"


def _stat(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=4096)
def _file_digest(path: Path, mtime_ns: int, size: int) -> str:
    """A file's digest, read again whenever its modification time or size changes."""
    return path.name + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
