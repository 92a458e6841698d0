"""The exception hierarchy of migravity: every exception class the package defines lives here.

Every error raised on purpose by migravity derives from :class:`MigravityError`,
names the offending field or file, the value found and how to fix it. The CLI
turns :class:`InputError` subclasses into exit code 2 and any other
:class:`MigravityError` into exit code 1.

Hierarchy
---------
::

    MigravityError
    +-- InputError (also a ValueError)          exit code 2
    |   +-- ConfigError                         an option or field value
    |   +-- DataError                           a data file
    |       +-- DataMissingError
    |       +-- MalformedDataError
    |       +-- HarmonisationError
    |       +-- ChecksumError                   a data file that differs from the registry
    |       +-- RunDirError                     a run directory or one of its files
    +-- FetchError                              exit code 1
    |   +-- FetchFailedError                    datasets not fetched (the others were)
    +-- ExportError
    +-- ConvergenceError

Every class pickles with its type, message and attributes intact (errors raised on Dask or
multiprocessing workers reach the caller unchanged): :meth:`MigravityError.__reduce__` rebuilds
an error from the arguments its constructor was given and then restores its attributes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ChecksumError",
    "ConfigError",
    "ConvergenceError",
    "DataError",
    "DataMissingError",
    "ExportError",
    "FetchError",
    "FetchFailedError",
    "HarmonisationError",
    "InputError",
    "MalformedDataError",
    "MigravityError",
    "RunDirError",
    "check_choice",
]

PathLike = str | os.PathLike[str]


class MigravityError(Exception):
    """Base class of every error migravity raises on purpose.

    Subclasses with their own ``__init__`` record the constructor's arguments in
    ``self._init_args`` so that :meth:`__reduce__` can rebuild them.
    """

    _init_args: tuple[Any, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as ``type(self)(*constructor arguments)`` followed by the instance's attributes.

        Returns
        -------
        tuple
            The class, the constructor's arguments (``self._init_args`` where a subclass records
            them, else ``self.args``) and the instance ``__dict__`` (attributes, notes).
        """
        init_args = self.__dict__.get("_init_args", self.args)
        return type(self), tuple(init_args), dict(self.__dict__)


class InputError(MigravityError, ValueError):
    """Bad input from the user: an option, a file, a table (CLI exit code 2)."""


class ConfigError(InputError):
    """An option or configuration field has a value that is not allowed.

    Parameters
    ----------
    field : str
        The option or field, as the user wrote it.
    value : Any
        The value given.
    fix : str
        How to fix it.
    """

    def __init__(self, field: str, value: Any, fix: str) -> None:
        self.field = field
        self.value = value
        self.fix = fix
        self._init_args = (field, value, fix)
        super().__init__(f"{field}={value!r} is not valid: {fix}")


class DataError(InputError):
    """A data file is missing, malformed or inconsistent."""


class DataMissingError(DataError):
    """A dataset's file is not in the data directory.

    Parameters
    ----------
    dataset : str
        Registry name of the dataset.
    path : path-like
        Where the file was expected.
    hint : str
        How to get the file.
    """

    def __init__(self, dataset: str, path: PathLike, hint: str) -> None:
        self.dataset = dataset
        self.path = Path(path)
        self.hint = hint
        self._init_args = (dataset, path, hint)
        super().__init__(f"dataset {dataset!r} not found at {path}: {hint}")


class MalformedDataError(DataError):
    """A data file cannot be parsed, or holds values that are not allowed.

    Parameters
    ----------
    path : path-like
        The file.
    problem : str
        What is wrong with it.
    line : int, optional
        The line of the file at fault (1 = the header of a CSV file).
    """

    def __init__(self, path: PathLike, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        self._init_args = (path, problem, line)
        where = f"{path}" if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {problem}")


class HarmonisationError(DataError):
    """Codes of one vintage cannot be mapped onto the zones asked for."""


class ChecksumError(DataError):
    """A data file's SHA-256 differs from the registry's (CLI exit code 2).

    Parameters
    ----------
    dataset : str
        Registry name of the dataset.
    path : path-like
        The file.
    expected, found : str
        The registry's SHA-256 and the file's.
    """

    #: How to use a changed file anyway, appended to every message.
    HOW_TO = ("fetch it again (`migravity data fetch {name} --force`), or pass --accept-changed-data "
              "(or set MIGRAVITY_ACCEPT_CHANGED_DATA=1) to use it anyway; outputs then record it")

    def __init__(self, dataset: str, path: PathLike, expected: str, found: str) -> None:
        self.dataset = dataset
        self.path = Path(path)
        self.expected = expected
        self.found = found
        self._init_args = (dataset, path, expected, found)
        super().__init__(f"{path}: dataset {dataset!r} does not match the registry (SHA-256 {found[:16]}..., "
                         f"expected {expected[:16]}...): " + self.HOW_TO.format(name=dataset))


class RunDirError(DataError):
    """A run directory, or one of its files, is missing (CLI exit code 2).

    Parameters
    ----------
    path : path-like
        The run directory or the missing file.
    problem : str
        What is wrong; the message adds how to make a run directory (:attr:`HOW_TO`).
    """

    #: How to make a run directory, appended to every message.
    HOW_TO = "make one with `migravity run NAME... --out DIR` (e.g. `migravity run baseline wfh_uptake --out run`)"

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self._init_args = (path, problem)
        super().__init__(f"{path}: {problem}; {self.HOW_TO}")


class FetchError(MigravityError):
    """A download failed or did not match its checksum (CLI exit code 1).

    Attributes
    ----------
    network : str or None
        For a host that could not be reached, that reason (``"cannot reach HOST: ..."``), so that
        several datasets failing on it are reported in one line; ``None`` otherwise.
    """

    network: str | None = None


class FetchFailedError(FetchError):
    """One or more datasets could not be fetched (the others were).

    Parameters
    ----------
    failures : Mapping of str to str
        Dataset name to the one-line reason it failed, in the order attempted.
    results : sequence of FetchResult
        The datasets that are present or were fetched
        (:class:`migravity.geodata.fetch.FetchResult`).
    message : str, optional
        The error message; by default :meth:`summarise` of the reasons.
    """

    def __init__(
        self, failures: Mapping[str, str], results: Sequence[Any], message: str | None = None
    ) -> None:
        self.failures = dict(failures)
        self.results = list(results)
        if message is None:
            message = self.summarise(len(self.failures), len(self.results), self.failures.values())
        self._init_args = (self.failures, self.results, message)
        super().__init__(message)

    @staticmethod
    def summarise(n_failed: int, n_ok: int, reasons: Iterable[str]) -> str:
        """One message for the reasons of ``n_failed`` failures beside ``n_ok`` successes.

        Parameters
        ----------
        n_failed, n_ok : int
            Datasets that failed and that are present or were fetched.
        reasons : Iterable of str
            One-line reasons.

        Returns
        -------
        str
            The single reason as it is, or ``"could not fetch N of M datasets:"`` followed by
            one indented line per reason.
        """
        reasons = list(reasons)
        if len(reasons) == 1:
            return reasons[0]
        return f"could not fetch {n_failed} of {n_failed + n_ok} datasets:" + "".join(f"\n  {r}" for r in reasons)


class ExportError(MigravityError):
    """Writing results failed (CLI exit code 1).

    Parameters
    ----------
    path : path-like
        The file or directory that could not be written.
    problem : str
        Why.
    """

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
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

    Raises
    ------
    ConfigError
        Listing the values accepted.
    """
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(field, value, "use one of " + ", ".join(repr(a) for a in allowed))
