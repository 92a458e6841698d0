"""The exception hierarchy of migravity.

Every error raised on purpose by migravity derives from :class:`MigravityError`,
names the offending field or file, the value found and how to fix it. The CLI
turns :class:`InputError` subclasses into exit code 2 and any other
:class:`MigravityError` into exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


class MigravityError(Exception):
    """Base class of every error migravity raises on purpose."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle with the constructor's own arguments, so errors raised on Dask workers keep their type."""
        return type(self), getattr(self, "_init_args", self.args)


class InputError(MigravityError, ValueError):
    """Bad input from the user: an option, a file, a table (CLI exit code 2)."""


class ConfigError(InputError):
    """An option or configuration field has a value that is not allowed."""

    def __init__(self, field: str, value: Any, fix: str) -> None:
        self.field = field
        self.value = value
        self.fix = fix
        self._init_args = (field, value, fix)
        super().__init__(f"{field}={value!r} is not valid: {fix}")


class DataError(InputError):
    """A data file is missing, malformed or inconsistent."""


class DataMissingError(DataError):
    """A dataset's file is not in the data directory."""

    def __init__(self, dataset: str, path: Path, hint: str) -> None:
        self.dataset = dataset
        self.path = path
        self._init_args = (dataset, path, hint)
        super().__init__(f"dataset {dataset!r} not found at {path}: {hint}")


class MalformedDataError(DataError):
    """A data file cannot be parsed, or holds values that are not allowed."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self._init_args = (path, problem, line)
        where = f"{path}" if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {problem}")


class HarmonisationError(DataError):
    """Codes of one vintage cannot be mapped onto the zones asked for."""


class FetchError(MigravityError):
    """A download failed or did not match its checksum (CLI exit code 1)."""


class ExportError(MigravityError):
    """Writing results failed (CLI exit code 1)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self._init_args = (path, problem)
        super().__init__(f"cannot write {path}: {problem}")


class ConvergenceError(MigravityError):
    """An iterative solver did not converge and the caller asked for strictness."""


def check_choice(field: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``allowed``.

    Parameters
    ----------
    field : str
        Name of the option, as the user wrote it.
    value : Any
        The value given.
    allowed : Iterable
        The values accepted.
    """
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(field, value, "use one of " + ", ".join(repr(a) for a in allowed))
