"""The errors a user can act on. The command line exits with status 2 for a :class:`UsageError` (bad input) and
with 1 for anything else (an internal error, reported in one line with how to see the traceback)."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input: an unknown name, an invalid value, a missing file, a directory that cannot be used."""


class ConfigError(UsageError, ValueError):
    """A sweep configuration that cannot be run: the message names the key and the valid values."""


class UnknownNameError(UsageError, KeyError):
    """A requested integrator, problem or plugin is not registered; the message suggests the closest names."""

    def __str__(self) -> str:
        return str(self.args[0])


class ClusterError(UsageError):
    """A Dask cluster that cannot run the sweep: unreachable, mixed versions, or a task lost for a reason that is
    not its cell's (the finished cells are kept; ``--resume`` measures the rest)."""


class RegistrationError(ValueError):
    """A ``register`` call was refused (wrong type, an attribute of the wrong type, a bad or duplicate name)."""
