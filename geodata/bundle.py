"""The shipped data bundle: every LAD-level input of the main job and the library scenarios, in the wheel.

The bundle is one zip file, ``geodata/bundle/lad_bundle.zip`` (:data:`BUNDLE_PATH`), built by
``migravity data bundle`` from the raw registered files of a data directory
(:func:`build_bundle`). For each dataset of :data:`BUNDLED` it holds what that dataset's reader
(:mod:`migravity.geodata.readers`) returns from the raw file: the parsed, validated, tidy frame,
so the code downstream runs unchanged and gives the same numbers on the bundle as on the raw
files (a test checks every frame cell for cell). Three member kinds keep it exact and compact:

- ``table``: the frame as CSV (floats written as their shortest round-trip text and parsed back
  exactly), with its column dtypes in the manifest;
- ``geo``: the same for a GeoDataFrame's attributes, plus its geometries as GeoJSON coordinates
  (again shortest round-trip floats, so every vertex comes back bit for bit) and its CRS;
- ``topojson``: a TopoJSON topology reduced to the objects migravity uses, decoded on load by the
  reader's own decoder.

Members are LZMA-compressed. ``manifest.json`` records, for each dataset, the member, its rows,
dtypes and SHA-256 (of the uncompressed member), any declared subset, and the provenance: title,
publisher, official page, where the bytes actually came from, the raw file's name and registry
SHA-256, code vintage, coverage and licence; and the attribution the licences require. Nothing in
it depends on the time, the machine or the migravity version, so a rebuild from the same raw files
gives the same members (:func:`check_bundle`; CI runs ``migravity --data-dir ../shared/data data
bundle --check``).

Resolution (see :func:`~migravity.geodata.datadir.data_source`): an explicit data directory
(``--data-dir`` / ``$MIGRAVITY_DATA``) means the raw files and nothing else; with neither, a raw file
in the per-user cache directory (``migravity data fetch``) wins, and the bundle serves the rest.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from migravity.errors import DataError, MalformedDataError

__all__ = [
    "ATTRIBUTION",
    "BUNDLED",
    "BUNDLE_PATH",
    "BUNDLE_VERSION",
    "BundleCheck",
    "build_bundle",
    "bundle_manifest",
    "bundled",
    "check_bundle",
    "read_bundled",
]

#: Version of the bundle's content: raise it whenever a rebuild changes a member (new data, new reader output).
BUNDLE_VERSION: Final = "2026.12.1"
#: Version of the container layout (members, manifest keys).
FORMAT: Final = 1
#: Where the package keeps its bundle.
BUNDLE_PATH: Final = Path(str(resources.files("migravity.geodata").joinpath("bundle", "lad_bundle.zip")))
#: The attribution the data licences ask for.
ATTRIBUTION: Final = (
    "Contains public sector information licensed under the Open Government Licence v3.0.",
    "Contains National Statistics data © Crown copyright and database right 2011-2025.",
    "Contains OS data © Crown copyright and database right 2024 (boundaries).",
    "Source: Office for National Statistics (ONS), National Records of Scotland (NRS), Northern Ireland "
    "Statistics and Research Agency (NISRA), Welsh Government; the bytes of some files come from the public "
    "repositories named in each dataset's `bytes_from`.",
)

Kind = Literal["table", "geo", "topojson"]

#: TopoJSON objects kept of the administrative areas (the place groupings use LADs and combined authorities).
_TOPO_OBJECTS: Final = ("ltla", "cauth")


@dataclass(frozen=True)
class _Spec:
    kind: Kind
    subset: str = ""


#: Every dataset the bundle carries: every LAD-level dataset of the registry, so every command runs at LAD
#: level on the bundle: the main job's (``migravity report``), the default calibration's (Census 2021
#: zones), the scenario model's (``run`` of every library scenario, ``calibrate-scenario``, ``validate``),
#: the place groupings' and the other vintages and nations' (``--area``).
BUNDLED: Final[Mapping[str, _Spec]] = {
    "lad_boundaries_2024": _Spec("geo"),
    "lad_boundaries_2021": _Spec("geo"),
    "admin_boundaries_bsc": _Spec("topojson", "TopoJSON objects ltla and cauth only (the place groupings use these)"),
    "lookup_ltla23_region23": _Spec("table"),
    "lookup_ltla22_ltla23": _Spec("table"),
    "lookup_ltla_chain": _Spec("table"),
    "odmg01ew": _Spec("table"),
    "odwp01ew": _Spec("table"),
    "migration2011": _Spec("table"),
    "commute2011": _Spec("table"),
    "census2021_age": _Spec("table"),
    "census2011_syoa": _Spec("table"),
    "population_mye": _Spec("table"),
    "mye_syoa_mid2021": _Spec("table"),
    "mye_components_2002_2019": _Spec("table"),
    "mye_components_2019_2020": _Spec("table"),
    "mye_components_census2021_mid2021": _Spec("table"),
    "snpp2018": _Spec("table"),
    "house_prices": _Spec("table"),
    "affordability": _Spec("table"),
    "earnings": _Spec("table"),
    "gdhi": _Spec("table"),
    "qualifications": _Spec("table"),
    "imd2019_england_ltla23": _Spec("table"),
    "wimd2019": _Spec("table"),
    "la_clusters": _Spec("table"),
    "census2021_ts061": _Spec("table"),
    "census2021_ts062": _Spec("table"),
    "census2021_ts063": _Spec("table"),
    "census2021_ts067": _Spec("table"),
    "census2011_qs606": _Spec("table"),
    "census2011_qs607": _Spec("table"),
    "census2011_qs501": _Spec("table"),
    "lookup_ltla21_region21": _Spec("table"),
    "imd2019_england_ltla19": _Spec("table"),
    "imd2025_england": _Spec("table"),
    "simd2020": _Spec("table"),
    "ruc2021": _Spec("table"),
    "travel_time": _Spec("table"),
    "commute2011_matrix": _Spec("table"),
}

#: How a missing value is written (an empty string stays an empty string).
_NA: Final = "\\N"
_DATE_TIME: Final = (1980, 1, 1, 0, 0, 0)  # zip entries carry no build time


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ---- encoding --------------------------------------------------------------------------------

def _table_bytes(df: Any) -> tuple[bytes, dict[str, str]]:
    import pandas as pd

    if not isinstance(df.index, pd.RangeIndex) or df.index.start != 0 or df.index.step != 1:
        raise DataError(f"bundle: a reader returned a frame with a non-default index ({type(df.index).__name__}); "
                        "reset it in the reader")
    dtypes = {str(c): str(t) for c, t in df.dtypes.items()}
    for c, t in dtypes.items():
        if not t.startswith(("float", "int")) and (df[c].astype(object) == _NA).any():
            raise DataError(f"bundle: column {c} holds the text {_NA!r}, which the bundle uses for a missing value")
    text = df.to_csv(index=False, lineterminator="\n", na_rep=_NA)
    return text.encode("utf-8"), dtypes


def _read_table(b: bytes, dtypes: Mapping[str, str]) -> Any:
    import pandas as pd

    read_as = {c: ("str" if t in ("object", "str", "string") else t) for c, t in dtypes.items()
               if not t.startswith("float")}
    # exact float parsing: the default from pandas 3 on (where the option is deprecated), "round_trip" before
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    df = pd.read_csv(io.BytesIO(b), dtype=read_as, keep_default_na=False, na_values={c: [_NA] for c in dtypes},
                     **exact)
    for c, t in dtypes.items():
        if t == "object":
            df[c] = df[c].astype(object).where(df[c].notna(), None) if df[c].isna().any() else df[c].astype(object)
    return df


def _geometry_json(geoms: Any) -> bytes:
    from shapely.geometry import mapping

    return json.dumps([mapping(g) for g in geoms], separators=(",", ":")).encode("utf-8")


def _read_geometry(b: bytes) -> list[Any]:
    from shapely.geometry import shape

    return [shape(g) for g in json.loads(b)]


def _topology_subset(path: Path) -> bytes:
    topo = json.loads(path.read_text(encoding="utf-8"))
    missing = [o for o in _TOPO_OBJECTS if o not in topo.get("objects", {})]
    if missing:
        raise MalformedDataError(path, f"no TopoJSON object {missing[0]!r} for the bundle")
    topo["objects"] = {k: v for k, v in topo["objects"].items() if k in _TOPO_OBJECTS}
    return json.dumps(topo, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---- building --------------------------------------------------------------------------------

def _members(data_dir: Path, progress: Callable[[str], None] | None) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Encode every bundled dataset from the raw files: member bytes by member name, and the manifest."""
    import geopandas as gpd

    from migravity.geodata.datadir import require
    from migravity.geodata.readers import load
    from migravity.geodata.registry import get

    members: dict[str, bytes] = {}
    datasets: dict[str, Any] = {}
    for name, spec in BUNDLED.items():
        if progress is not None:
            progress(name)
        ds = get(name)
        frame = load(name, data_dir)  # strict parse + registry checksum (changed files refused below)
        entry: dict[str, Any] = {"kind": spec.kind}
        if spec.kind == "topojson":
            raw = _topology_subset(require(ds, data_dir))
            members[f"{name}.topojson.json"] = raw
            entry["member"] = f"{name}.topojson.json"
            entry["sha256"] = _sha(raw)
            entry["rows"] = int(frame["layer"].isin(_TOPO_OBJECTS).sum())
        else:
            geo = isinstance(frame, gpd.GeoDataFrame)
            if geo != (spec.kind == "geo"):
                raise DataError(f"bundle: dataset {name} is declared {spec.kind!r} but its reader returns "
                                f"{type(frame).__name__}")
            attrs = frame.drop(columns=frame.geometry.name) if geo else frame
            b, dtypes = _table_bytes(attrs)
            members[f"{name}.csv"] = b
            entry.update(member=f"{name}.csv", sha256=_sha(b), rows=len(frame), dtypes=dtypes)
            if geo:
                g = _geometry_json(frame.geometry)
                members[f"{name}.geometry.json"] = g
                entry.update(geometry_member=f"{name}.geometry.json", geometry_sha256=_sha(g),
                             geometry_column=str(frame.geometry.name), crs=frame.crs.to_string())
        if spec.subset:
            entry["subset"] = spec.subset
        entry["source"] = {
            "title": ds.title, "publisher": ds.publisher, "landing_page": ds.landing_page,
            "bytes_from": ds.notes, "download_url": ds.download_url, "file": ds.filename,
            "file_sha256": ds.sha256, "vintage": ds.vintage, "coverage": ds.coverage, "licence": ds.licence,
        }
        datasets[name] = entry
    manifest = {
        "bundle": "migravity LAD data bundle", "version": BUNDLE_VERSION, "format": FORMAT,
        "built_from": "the raw registered files, each verified against the registry's SHA-256, parsed by "
                      "migravity's readers",
        "licence": "Open Government Licence v3.0", "attribution": list(ATTRIBUTION), "datasets": datasets,
    }
    return members, manifest


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def build_bundle(data_dir: str | Path, out: str | Path = BUNDLE_PATH, *,
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build the data bundle from the raw files of ``data_dir`` and write it atomically to ``out``.

    Parameters
    ----------
    data_dir : path-like
        A data directory holding every raw file of :data:`BUNDLED`, each matching the registry.
    out : path-like, optional
        The zip to write (default: the package's :data:`BUNDLE_PATH`).
    progress : callable, optional
        Called with each dataset name before it is encoded.

    Returns
    -------
    dict
        The manifest written into the bundle.

    Raises
    ------
    DataMissingError, MalformedDataError, ChecksumError
        From the readers: a raw file missing, malformed or not the registered one (a bundle is
        only built from the registered bytes: ``--accept-changed-data`` is refused).
    """
    from migravity.geodata.datadir import accept_changed_data
    from migravity.utils.atomic import atomic_path

    if accept_changed_data():
        raise DataError("bundle: refusing to build from changed data files (--accept-changed-data is set); the "
                        "bundle holds the registered files only: unset MIGRAVITY_ACCEPT_CHANGED_DATA")
    members, manifest = _members(Path(data_dir), progress)
    with atomic_path(Path(out)) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_LZMA) as zf:
            for arcname, b in [("manifest.json", _manifest_bytes(manifest)), *sorted(members.items())]:
                info = zipfile.ZipInfo(arcname, date_time=_DATE_TIME)
                info.compress_type = zipfile.ZIP_LZMA
                info.external_attr = 0o644 << 16
                zf.writestr(info, b)
    return manifest


@dataclass(frozen=True)
class BundleCheck:
    """A rebuilt bundle compared with the shipped one.

    Attributes
    ----------
    identical : bool
        Every member (and the manifest) has the same bytes once uncompressed.
    differing : tuple of str
        Members that differ, or exist in only one of the two.
    same_zip_bytes : bool
        The zip files themselves are byte-identical too (same compressor).
    size : int
        Size in bytes of the shipped bundle.
    """

    identical: bool
    differing: tuple[str, ...]
    same_zip_bytes: bool
    size: int


def _zip_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def check_bundle(data_dir: str | Path, shipped: str | Path = BUNDLE_PATH, *,
                 progress: Callable[[str], None] | None = None) -> BundleCheck:
    """Rebuild the bundle from ``data_dir`` in a temporary file and compare it with ``shipped``.

    Parameters
    ----------
    data_dir : path-like
        The raw data directory.
    shipped : path-like, optional
        The bundle to compare with (default: the package's).
    progress : callable, optional
        As in :func:`build_bundle`.

    Returns
    -------
    BundleCheck
    """
    import tempfile

    shipped = Path(shipped)
    if not shipped.is_file():
        raise DataError(f"bundle: {shipped} does not exist; build it with `migravity data bundle`")
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = Path(tmp) / "bundle.zip"
        build_bundle(data_dir, rebuilt, progress=progress)
        a, b = _zip_contents(shipped), _zip_contents(rebuilt)
        same_bytes = rebuilt.read_bytes() == shipped.read_bytes()
    differing = tuple(sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n)))
    return BundleCheck(not differing, differing, same_bytes, shipped.stat().st_size)


# ---- reading ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _open(path: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    p = Path(path)
    try:
        contents = _zip_contents(p)
        manifest = json.loads(contents.pop("manifest.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise MalformedDataError(p, f"not a readable migravity data bundle ({type(e).__name__}: {e}); reinstall "
                                    "migravity or rebuild it with `migravity data bundle`") from e
    if manifest.get("format") != FORMAT:
        raise MalformedDataError(p, f"bundle format {manifest.get('format')!r}, this migravity reads {FORMAT}; "
                                    "rebuild it with `migravity data bundle`")
    return manifest, contents


def bundle_manifest(path: str | Path = BUNDLE_PATH) -> dict[str, Any] | None:
    """The bundle's manifest, or ``None`` when the package has no bundle.

    Parameters
    ----------
    path : path-like, optional
        The bundle (default: the package's).

    Returns
    -------
    dict or None
    """
    if not Path(path).is_file():
        return None
    return _open(str(path))[0]


def bundled(name: str, path: str | Path = BUNDLE_PATH) -> bool:
    """True when the bundle at ``path`` carries dataset ``name``."""
    m = bundle_manifest(path)
    return m is not None and name in m["datasets"]


@lru_cache(maxsize=64)
def _decoded(path: str, name: str) -> Any:
    manifest, contents = _open(path)
    entry = manifest["datasets"][name]
    where = Path(path)

    def member(key: str, sha_key: str) -> bytes:
        b = contents.get(entry[key])
        if b is None or _sha(b) != entry[sha_key]:
            raise MalformedDataError(where, f"member {entry[key]} of dataset {name} is missing or corrupt; "
                                            "reinstall migravity or rebuild with `migravity data bundle`")
        return b

    if entry["kind"] == "topojson":
        from migravity.geodata.readers import topology_frame

        return topology_frame(json.loads(member("member", "sha256")), where / entry["member"])
    df = _read_table(member("member", "sha256"), entry["dtypes"])
    if entry["kind"] == "geo":
        import geopandas as gpd

        geoms = _read_geometry(member("geometry_member", "geometry_sha256"))
        df = gpd.GeoDataFrame(df, geometry=geoms, crs=entry["crs"])
        df = df.rename_geometry(entry["geometry_column"]) if entry["geometry_column"] != "geometry" else df
    return df


def read_bundled(name: str, path: str | Path = BUNDLE_PATH) -> Any:
    """Dataset ``name`` as its reader returns it from the raw file, read from the bundle.

    Parameters
    ----------
    name : str
        A dataset of :data:`BUNDLED`.
    path : path-like, optional
        The bundle (default: the package's).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A fresh copy (callers may modify it).
    """
    if not bundled(name, path):
        raise DataError(f"bundle: dataset {name} is not in the bundle {path}; point --data-dir at the raw files")
    return _decoded(str(path), name).copy()
