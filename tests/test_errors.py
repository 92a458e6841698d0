"""The exception hierarchy: one home (:mod:`migravity.errors`), exported, and picklable intact."""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path
from typing import Any

import pytest

import migravity
from migravity import errors
from migravity.geodata.fetch import FetchResult

#: Constructor arguments for each exception class of migravity.errors (a new class must be added here).
EXAMPLES: dict[type[BaseException], tuple[Any, ...]] = {
    errors.MigravityError: ("something went wrong",),
    errors.InputError: ("bad input",),
    errors.ConfigError: ("top_k", -3, "give a positive integer"),
    errors.DataError: ("bad data",),
    errors.DataMissingError: ("odmg01ew", Path("/data/flows/odmg.csv.gz"), "run `migravity data fetch`"),
    errors.MalformedDataError: (Path("/data/x.csv"), "column 'count' is empty (NaN)", 7),
    errors.HarmonisationError: ("E06000999 matches no zone",),
    errors.ChecksumError: ("odmg01ew", Path("/data/flows/odmg.csv.gz"), "0" * 64, "f" * 64),
    errors.RunDirError: (Path("/runs/r1"), "no such run directory"),
    errors.FetchError: ("odmg01ew: HTTP 404 Not Found",),
    errors.FetchFailedError: (
        {"odmg01ew": "odmg01ew: HTTP 404 Not Found", "imd": "imd: checksum mismatch"},
        [FetchResult("population_mye", "present", 1234, Path("/data/mye.csv"))],
    ),
    errors.ExportError: (Path("/out/zones.gpkg"), "PermissionError: denied"),
    errors.ConvergenceError: ("IPF did not converge in 500 iterations",),
}


def _exception_classes() -> list[type[BaseException]]:
    return [obj for _, obj in inspect.getmembers(errors, inspect.isclass)
            if issubclass(obj, BaseException) and obj.__module__ == errors.__name__]


def _state(exc: BaseException) -> dict[str, Any]:
    return {k: v for k, v in vars(exc).items() if k != "_init_args"}


def test_every_class_has_an_example() -> None:
    """The round-trip below covers every exception class errors.py defines."""
    assert set(_exception_classes()) == set(EXAMPLES)


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda c: c.__name__)
def test_pickle_round_trip(cls: type[BaseException]) -> None:
    """Same type, message, args and attributes after pickling (errors raised on workers reach the caller intact)."""
    exc = cls(*EXAMPLES[cls])
    exc.add_note("raised while testing")
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is cls
    assert str(back) == str(exc)
    assert back.args == exc.args
    assert _state(back) == _state(exc)
    assert back.__notes__ == ["raised while testing"]


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda c: c.__name__)
def test_exported(cls: type[BaseException]) -> None:
    """Every exception class is importable from the package root and listed in its __all__."""
    assert cls.__name__ in migravity.__all__
    assert getattr(migravity, cls.__name__) is cls
    assert cls.__name__ in errors.__all__


def test_hierarchy() -> None:
    """Every class derives from MigravityError; input errors are also ValueErrors (CLI exit code 2)."""
    for cls in _exception_classes():
        assert issubclass(cls, errors.MigravityError)
    for cls in (errors.ConfigError, errors.DataMissingError, errors.MalformedDataError,
                errors.HarmonisationError, errors.RunDirError):
        assert issubclass(cls, errors.InputError) and issubclass(cls, ValueError)
    assert issubclass(errors.FetchFailedError, errors.FetchError)
    assert not issubclass(errors.ExportError, errors.InputError)


def test_old_homes_still_import() -> None:
    """The classes that moved into migravity.errors are still importable from their former modules."""
    from migravity.geodata.fetch import FetchFailedError
    from migravity.scenarios.rundir import RunDirError

    assert FetchFailedError is errors.FetchFailedError
    assert RunDirError is errors.RunDirError


def test_messages() -> None:
    """The messages name the field or file, the value and the fix."""
    assert str(errors.ConfigError("top_k", -3, "give a positive integer")) == \
        "top_k=-3 is not valid: give a positive integer"
    assert str(errors.MalformedDataError("x.csv", "bad", 3)) == "x.csv, line 3: bad"
    run = errors.RunDirError("run", "no such run directory")
    assert str(run).startswith("run: no such run directory; make one with `migravity run")
    one = errors.FetchFailedError({"a": "a: HTTP 404"}, [])
    assert str(one) == "a: HTTP 404" and one.failures == {"a": "a: HTTP 404"} and one.results == []
    two = errors.FetchFailedError({"a": "a: HTTP 404", "b": "b: timed out"}, [object()])
    assert str(two) == "could not fetch 2 of 3 datasets:\n  a: HTTP 404\n  b: timed out"
    assert str(errors.ExportError("out.gpkg", "disk full")) == "cannot write out.gpkg: disk full"


def test_check_choice() -> None:
    errors.check_choice("kind", "a", ("a", "b"))
    with pytest.raises(errors.ConfigError, match="use one of 'a', 'b'") as info:
        errors.check_choice("kind", "c", ("a", "b"))
    assert (info.value.field, info.value.value) == ("kind", "c")
