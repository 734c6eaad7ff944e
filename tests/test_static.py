"""The habits the project keeps, checked in the test run: ruff clean, and the host's types checked by mypy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_ruff_check_is_clean():
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_checks_the_host():
    """Configuration in pyproject.toml ([tool.mypy]): every module of the stiffbench package."""
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
