"""Where the data files live: ``--data-dir``, else ``$MIGRAVITY_DATA``, else a per-user cache."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

from migravity.errors import DataMissingError
from migravity.geodata.registry import Dataset, get

ENV_VAR = "MIGRAVITY_DATA"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
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


def dataset_path(dataset: str | Dataset, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return where ``dataset`` is expected, without checking that it exists."""
    ds = get(dataset) if isinstance(dataset, str) else dataset
    return resolve_data_dir(data_dir) / ds.filename


def require(dataset: str | Dataset, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of ``dataset``'s file, or raise if it is missing.

    Raises
    ------
    DataMissingError
        Naming the dataset, the expected path and how to get the file.
    """
    ds = get(dataset) if isinstance(dataset, str) else dataset
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
