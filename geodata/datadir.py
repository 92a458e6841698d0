"""Where the data come from: ``--data-dir``, else ``$MIGRAVITY_DATA``, else the per-user cache and the bundle.

An explicit data directory (``--data-dir`` or ``$MIGRAVITY_DATA``) means its raw files and nothing
else: a missing file is an error, never a silent switch to other data. With neither, a raw file in
the per-user cache directory (where ``migravity data fetch`` puts files) is used where present, and
the data bundle shipped in the package (:mod:`migravity.geodata.bundle`) serves every other dataset
it carries. :func:`data_source` answers for one dataset; :func:`data_sources_used` lists what this
process used, for run manifests and JSON outputs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal, TypeAlias

from platformdirs import user_cache_dir

from migravity.errors import ChecksumError, DataMissingError
from migravity.geodata.registry import Dataset, get
from migravity.utils.hashing import sha256_file

ENV_VAR = "MIGRAVITY_DATA"
#: Set to ``1`` to use data files whose checksum differs from the registry (the CLI's
#: ``--accept-changed-data`` sets it); every such file is recorded (:func:`changed_data_used`).
ACCEPT_CHANGED_ENV = "MIGRAVITY_ACCEPT_CHANGED_DATA"

#: SHA-256 of files already hashed, by (path, size, mtime in ns): each file is hashed once per process.
_DIGESTS: dict[tuple[str, int, int], str] = {}
#: Datasets used although their checksum differs from the registry: name -> path and SHA-256 found.
_ACCEPTED: dict[str, dict[str, str]] = {}

#: :func:`data_source`'s answer for a dataset served by the shipped bundle.
BUNDLE: Final = "bundle"
#: Where each dataset loaded in this process came from: name -> raw file path or ``bundle VERSION``.
_USED: dict[str, str] = {}

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


def explicit_data_dir(data_dir: DataDir = None) -> bool:
    """True when the data directory was named (``data_dir`` given, or ``$MIGRAVITY_DATA`` set and non-empty).

    Parameters
    ----------
    data_dir : path-like, optional
        The ``--data-dir`` value, if any.

    Returns
    -------
    bool
    """
    return data_dir is not None or bool(os.environ.get(ENV_VAR, "").strip())


def data_source(dataset: str | Dataset, data_dir: DataDir = None) -> Path | Literal["bundle"]:
    """Where ``dataset`` is read from: its raw file, or :data:`BUNDLE`; records the answer.

    Parameters
    ----------
    dataset : str or Dataset
        Registry name, or the dataset itself.
    data_dir : path-like, optional
        The ``--data-dir`` value, if any.

    Returns
    -------
    pathlib.Path or "bundle"
        The raw file when it exists in the data directory; else, with no explicit data directory
        (:func:`explicit_data_dir`), ``"bundle"`` when the shipped bundle carries the dataset.

    Raises
    ------
    DataMissingError
        When neither serves it (with an explicit data directory: whenever the raw file is missing).
    """
    from migravity.geodata import bundle

    ds = _dataset(dataset)
    path = dataset_path(ds, data_dir)
    if path.is_file():
        _USED[ds.name] = str(path)
        return path
    if not explicit_data_dir(data_dir) and bundle.bundled(ds.name):
        _USED[ds.name] = f"bundle {bundle.BUNDLE_VERSION}"
        return BUNDLE
    return require(ds, data_dir)


def data_sources_used() -> dict[str, str]:
    """Where each dataset loaded in this process came from (name -> raw file path or ``bundle VERSION``).

    Returns
    -------
    dict
    """
    return dict(_USED)


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
        from migravity.geodata import bundle

        if explicit_data_dir(data_dir) and bundle.bundled(ds.name):
            hint = (f"this data directory lacks the raw file; put it there (`migravity data fetch {ds.name} "
                    f"--source MIRROR` or {ds.landing_page}), or name no data directory (no --data-dir, "
                    f"${ENV_VAR} unset) to use the shipped bundle")
        elif ds.download_url is not None:
            hint = f"run `migravity data fetch {ds.name}`"
        else:
            hint = (f"no address serves this file's exact bytes: get it from {ds.landing_page} "
                    f"(or `migravity data fetch {ds.name} --source MIRROR`)")
        raise DataMissingError(ds.name, path, hint)
    return path


def accept_changed_data() -> bool:
    """True when :data:`ACCEPT_CHANGED_ENV` is set to a true value (``1``, ``true``, ``yes``)."""
    return os.environ.get(ACCEPT_CHANGED_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def verify_checksum(dataset: str | Dataset, path: Path, *, accept: bool | None = None) -> str:
    """Check ``path`` against the registry's SHA-256 of ``dataset``.

    Parameters
    ----------
    dataset : str or Dataset
        Registry name, or the dataset itself.
    path : pathlib.Path
        The dataset's file.
    accept : bool, optional
        Use a changed file anyway (recorded in :func:`changed_data_used`); default
        :func:`accept_changed_data`.

    Returns
    -------
    str
        The file's SHA-256.

    Raises
    ------
    ChecksumError
        If the file differs from the registry and changed data are not accepted.
    """
    ds = _dataset(dataset)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    digest = _DIGESTS.get(key)
    if digest is None:
        digest = _DIGESTS[key] = sha256_file(path)
    if digest == ds.sha256:
        return digest
    if not (accept_changed_data() if accept is None else accept):
        raise ChecksumError(ds.name, path, ds.sha256, digest)
    _ACCEPTED[ds.name] = {"path": str(path), "sha256": digest, "registry_sha256": ds.sha256}
    return digest


def changed_data_used() -> dict[str, dict[str, str]]:
    """Datasets used in this process although they differ from the registry (``--accept-changed-data``).

    Returns
    -------
    dict
        Dataset name to ``path``, ``sha256`` (the file's) and ``registry_sha256``; empty when every
        file used matched the registry. Commands put it in their JSON outputs and manifests.
    """
    return {k: dict(v) for k, v in _ACCEPTED.items()}
