"""``dir(migravity)`` lists the public API, and every name of ``__all__`` resolves."""

from __future__ import annotations

import inspect

import migravity
from migravity import errors


def test_dir_lists_the_public_api_and_no_helpers() -> None:
    names = dir(migravity)
    assert {"calibrate", "__version__", "ConfigError", "MigravityError"} <= set(names)
    assert set(migravity.__all__) <= set(names)
    assert "Any" not in names and "annotations" not in names  # typing helpers of the module itself
    public = [n for n in names if not n.startswith("_")]
    assert all(n in migravity.__all__ or inspect.ismodule(getattr(migravity, n)) for n in public)


def test_all_names_resolve_and_cover_every_error() -> None:
    for name in migravity.__all__:
        assert getattr(migravity, name) is not None
    assert callable(migravity.calibrate) and isinstance(migravity.__version__, str)
    classes = {n for n, c in vars(errors).items() if inspect.isclass(c) and issubclass(c, Exception)
               and c.__module__ == errors.__name__}
    assert classes <= set(migravity.__all__)
