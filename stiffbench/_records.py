"""Result records (the environment they were measured in, atomic writes) and what is kept on disk between runs."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

CACHE_DIR = Path(os.environ.get("STIFFBENCH_CACHE_DIR", Path.home() / ".cache" / "stiffbench"))
"""What stiffbench keeps between runs because it could recompute it: JAX's compilation cache (``jax/``) and
reference sensitivities (``references/``). Deleting it loses nothing but time."""

PACKAGES = ("stiffbench", "jax", "jaxlib", "diffrax", "equinox", "optimistix", "lineax", "numpy", "pluggy")


def enable_compilation_cache() -> None:
    """Use JAX's persistent compilation cache (``CACHE_DIR/jax``): a later process loads what an earlier one
    compiled and skips most of XLA's compile time (tracing remains). Call before the first compile."""
    import jax

    jax.config.update("jax_compilation_cache_dir", str(CACHE_DIR / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def environment() -> dict[str, Any]:
    """Versions, git commit and machine: enough to tell two records' conditions apart."""
    import jax

    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": _git_commit(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "jax_backend": jax.default_backend(),
            "jax_devices": [str(d) for d in jax.devices()],
        },
    }


def _git_commit() -> str | None:
    """The commit of the stiffbench checkout, if it runs from one (None for an installed wheel)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True,
            text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def dumps(record: Any) -> str:
    """Strict JSON (no NaN or Infinity: records encode non-finite values as null)."""
    return json.dumps(record, indent=1, allow_nan=False) + "\n"


def write_json(path: str | Path, record: Any) -> None:
    """Write ``record`` to ``path`` as strict JSON, atomically."""
    write_text(path, dumps(record))


def write_text(path: str | Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` atomically: readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a record is as readable as any file
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
