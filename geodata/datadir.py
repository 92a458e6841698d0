"""Where the data files live: ``--data-dir``, else ``$MIGRAVITY_DATA``, else a per-user cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeAlias

from platformdirs import user_cache_dir

from migravity.errors import DataMissingError
from migravity.geodata.registry import Dataset, get

ENV_VAR = "MIGRAVITY_DATA"

#: A data directory as every ``data_dir`` parameter accepts it: a path, or ``None`` for the
#: default (see :func:`resolve_data_dir`).
DataDir: TypeAlias = str | os.PathLike[str] | None


def resolve_data_dir(data_dir: DataDir = None) -> Path:
    """Return the data directory to use.

    Parameters
    ----------
    data_dir : path-like, optional
        An explicit directory (the CLI's ``--data-dir``). Wins over everything else.

    Returns
    -------
    pathlib.Path
        ``data_dir`` if given, else ``$MIGRAVITY_DATA`` if set and non-empty, else the per-user
        cache directory (``platformdirs.user_cache_dir("migravity")/data``).
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(user_cache_dir("migravity")) / "data"


def _dataset(dataset: str | Dataset) -> Dataset:
    return get(dataset) if isinstance(dataset, str) else dataset


def dataset_path(dataset: str | Dataset, data_dir: DataDir = None) -> Path:
    """Return where ``dataset`` is expected, without checking that it exists.

    Parameters
    ----------
    dataset : str or Dataset
        Registry name, or the dataset itself.
    data_dir : path-like, optional
        The data directory (see :func:`resolve_data_dir`).

    Returns
    -------
    pathlib.Path
    """
    return resolve_data_dir(data_dir) / _dataset(dataset).filename


def require(dataset: str | Dataset, data_dir: DataDir = None) -> Path:
    """Return the path of ``dataset``'s file, or raise if it is missing.

    Parameters
    ----------
    dataset : str or Dataset
        Registry name, or the dataset itself.
    data_dir : path-like, optional
        The data directory (see :func:`resolve_data_dir`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataMissingError
        Naming the dataset, the expected path and how to get the file.
    """
    ds = _dataset(dataset)
    path = dataset_path(ds, data_dir)
    if not path.is_file():
        raise DataMissingError(
            ds.name,
            path,
            f"run `migravity --data-dir {resolve_data_dir(data_dir)} data fetch {ds.name}` "
            f"(or `--source MIRROR`), or download it from {ds.landing_page}; set the data directory "
            f"with --data-dir or ${ENV_VAR}",
        )
    return path
