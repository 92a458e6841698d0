"""What the data directory holds: each registered dataset present, missing or corrupted.

:func:`dataset_status` backs ``migravity data status``. Every present file is checksummed
(all registered files are a few megabytes, so this takes well under a second) and its data rows
are counted: CSV records after the header (parsed with :mod:`csv`, so quoted fields holding
commas or newlines count once), or the features of a GeoJSON layer.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from migravity.geodata.datadir import DataDir, explicit_data_dir, resolve_data_dir
from migravity.geodata.registry import DATASETS, Dataset
from migravity.utils.hashing import sha256_file

Status = Literal["present", "missing", "checksum mismatch", "bundle"]

#: Read size used when hashing and parsing files.


@dataclass(frozen=True)
class DatasetStatus:
    """The state of one registered dataset in the data directory.

    Attributes
    ----------
    name : str
        Registry name of the dataset.
    status : {"present", "missing", "checksum mismatch", "bundle"}
        ``"present"`` when the file exists and its SHA-256 matches the registry,
        ``"checksum mismatch"`` when it exists with other bytes, ``"bundle"`` when the file is
        absent but the shipped data bundle serves the dataset (no explicit data directory; see
        :func:`~migravity.geodata.datadir.data_source`), ``"missing"`` otherwise.
    rows : int or None
        Number of data rows (CSV records after the header, or GeoJSON features; for the bundle,
        the rows of the frame it holds); ``None`` when the file is missing or cannot be parsed.
    vintage : str
        Code vintage of the dataset's area codes.
    coverage : str
        Nations covered.
    path : pathlib.Path
        Where the file is expected (for ``"bundle"``: the bundle).
    """

    name: str
    status: Status
    rows: int | None
    vintage: str
    coverage: str
    path: Path

    def as_dict(self) -> dict[str, Any]:
        """Return the status as a JSON-serialisable dictionary (``path`` as a string).

        Returns
        -------
        dict
            Keys ``name``, ``status``, ``rows``, ``vintage``, ``coverage`` and ``path``.
        """
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def dataset_status(data_dir: DataDir = None) -> list[DatasetStatus]:
    """Report every registered dataset's state in the data directory (or the bundle), in registry order.

    Parameters
    ----------
    data_dir : path-like, optional
        The data directory; resolved with :func:`~migravity.geodata.datadir.resolve_data_dir`
        (``$MIGRAVITY_DATA``, else the per-user cache) when ``None``.

    Returns
    -------
    list of DatasetStatus
        One entry per dataset of :data:`~migravity.geodata.registry.DATASETS`.
    """
    from migravity.geodata.bundle import BUNDLE_PATH, bundle_manifest

    root = resolve_data_dir(data_dir)
    manifest = None if explicit_data_dir(data_dir) else bundle_manifest()
    in_bundle = {} if manifest is None else manifest["datasets"]
    out = []
    for ds in DATASETS:
        path = root / ds.filename
        if not path.is_file() and ds.name in in_bundle:
            out.append(DatasetStatus(ds.name, "bundle", in_bundle[ds.name]["rows"], ds.vintage, ds.coverage,
                                     BUNDLE_PATH))
        else:
            out.append(_status_of(ds, path))
    return out


def _status_of(ds: Dataset, path: Path) -> DatasetStatus:
    if not path.is_file():
        return DatasetStatus(ds.name, "missing", None, ds.vintage, ds.coverage, path)
    status: Status = "present" if sha256_file(path) == ds.sha256 else "checksum mismatch"
    return DatasetStatus(ds.name, status, count_rows(path), ds.vintage, ds.coverage, path)


def count_rows(path: str | os.PathLike[str]) -> int | None:
    """Count the data rows of a CSV, gzip-compressed CSV, GeoJSON (optionally gzipped), TopoJSON or Parquet file.

    Parameters
    ----------
    path : path-like
        A ``.csv``, ``.csv.gz``, ``.geojson``, ``.geojson.gz``, ``.json`` or ``.parquet`` file.

    Returns
    -------
    int or None
        CSV records after the header (blank lines ignored), or the number of features of a
        GeoJSON layer, or the geometries of every object of a TopoJSON file (``*.topojson.json``), or the
        rows of a Parquet file (from its metadata);
        ``None`` for other suffixes or a file that cannot be parsed.
    """
    name = Path(path).name.lower()
    try:
        if name.endswith(".topojson.json"):
            import json

            objects = json.loads(Path(path).read_text(encoding="utf-8"))["objects"].values()
            return sum(len(o.get("geometries", [o])) for o in objects)
        if name.endswith((".geojson", ".json", ".geojson.gz")):
            import pyogrio

            where = f"/vsigzip/{path}" if name.endswith(".gz") else path
            n = int(pyogrio.read_info(where, force_feature_count=True)["features"])
            return n if n >= 0 else None
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if name.endswith(".csv.gz"):
            with gzip.open(path, "rb") as raw:
                return _count_csv(raw)
        if name.endswith(".csv"):
            with open(path, "rb") as raw:
                return _count_csv(raw)
    except (OSError, EOFError, ImportError, zlib.error, csv.Error, ValueError, RuntimeError, KeyError,
            AttributeError, TypeError):
        # unreadable or corrupt (pyogrio's errors are RuntimeErrors)
        return None
    return None


def _count_csv(raw: Any) -> int:
    text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
    records = sum(1 for rec in csv.reader(text) if rec)
    return max(records - 1, 0)


def source_summary(data_dir: DataDir = None) -> str:
    """One line saying where the data come from: an explicit data directory, or the bundle and the cache.

    Parameters
    ----------
    data_dir : path-like, optional
        The ``--data-dir`` value, if any.

    Returns
    -------
    str
    """
    from migravity.geodata.bundle import BUNDLE_PATH, bundle_manifest

    root = resolve_data_dir(data_dir)
    if explicit_data_dir(data_dir):
        return f"data: raw files in {root} (--data-dir or $MIGRAVITY_DATA; no bundle fallback)"
    manifest = bundle_manifest()
    if manifest is None:
        return f"data: raw files in the per-user cache {root} (this installation has no data bundle)"
    return (f"data: the shipped bundle {manifest['version']} ({len(manifest['datasets'])} datasets, "
            f"{BUNDLE_PATH.stat().st_size / 1e6:.1f} MB); raw files in {root} win where present; "
            "--data-dir or $MIGRAVITY_DATA for the raw files only")
