"""Write zones, zone points and origin-destination flows for GIS tools and flowmap.blue.

Layers (built by :mod:`migravity.outputs.export_layers`, re-exported here):
:func:`zones_layer` (polygons), :func:`centroids_layer` (points), :func:`flows_layer` (lines),
:func:`net_flows_layer` (net one-way lines, one per pair).

Every layer's columns are documented (title, description, units; one home:
:mod:`migravity.outputs.column_docs`): in the GeoPackage's ``gpkg_data_columns`` table, in the
GeoParquet field metadata (and the schema key ``migravity:columns``), in a ``<layer>.columns.json``
sidecar beside each GeoJSON file. A GeoPackage also gets a default QGIS style per layer in its
``layer_styles`` table (:mod:`migravity.outputs.gis_styles`, :mod:`migravity.outputs.gpkg_meta`):
zones in a diverging palette centred on zero, flow widths by flow.

Formats (:func:`write_layers`)
------------------------------
``"gpkg"``
    One GeoPackage file holding every layer as a named table. All layers are written into one
    temporary file beside ``path`` that is renamed onto ``path`` only when every layer is in, so
    an existing file is never left half overwritten.
``"parquet"``
    GeoParquet, one ``<layer>.parquet`` file per layer in the directory ``path`` (created if
    needed), or the file ``path`` itself when there is exactly one layer and ``path`` ends in
    ``.parquet``.
``"geojson"``
    GeoJSON (RFC 7946: WGS84 longitude/latitude, EPSG:4326), one ``<layer>.geojson`` file per
    layer in the directory ``path``, or the file ``path`` when there is one layer and ``path``
    ends in ``.geojson``.
``"flowmap"`` (:func:`write_flowmap`, :func:`export` only)
    The flowmap.blue CSV pair ``locations.csv`` (``id, name, lat, lon``) and ``flows.csv``
    (``origin, dest, count``) in the directory ``path``.

With several files per call (``parquet``, ``geojson``, ``flowmap``) every file is first written to a
temporary name beside its target, and only when all are written are they renamed into place
together, with SIGINT and SIGTERM held back (:func:`migravity.utils.atomic.atomic_files`): a
failure or an interruption leaves the earlier files as they were, never a mix of two exports.
Other files of the directory are left alone. A second export into the same path while one runs is
refused (lock ``.NAME.lock`` beside it, :func:`migravity.utils.atomic.locked`). Every layer name,
column name and CRS is checked before anything is written, so a refused option writes nothing.

CRS
---
GeoPackage and GeoParquet are written in British National Grid (EPSG:27700) unless ``crs`` says
otherwise; GeoJSON is always EPSG:4326. Layers are reprojected to the CRS written, which is
recorded in the file explicitly.

Names
-----
Layer names must be GeoPackage table names: a letter, then letters, digits or ``_``, at most 63
characters. Column names must, for portability across the formats (and shapefile-era tools),
be made of letters, digits and ``_`` only, be at most 63 characters long, be unique ignoring
case, and not be ``fid`` (the GeoPackage feature id). Nothing is renamed silently: a bad name is
a :class:`~migravity.errors.ConfigError` naming the layer or column.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import ConfigError, ExportError, MigravityError, check_choice
from migravity.geodata.zones import BNG, ZoneSet
from migravity.outputs._paths import refuse_file_parent
from migravity.outputs.column_docs import columns_json
from migravity.outputs.export_layers import (
    WGS84,
    PointRule,
    Values,
    centroids_layer,
    check_filters,
    flows_layer,
    net_flows_layer,
    select_pairs,
    zone_points,
    zones_layer,
)
from migravity.outputs.gis_styles import default_style
from migravity.outputs.gpkg_meta import add_gpkg_metadata
from migravity.utils.atomic import atomic_files, atomic_path, locked

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "FORMATS",
    "LAYER_FORMATS",
    "centroids_layer",
    "export",
    "flows_layer",
    "net_flows_layer",
    "write_flowmap",
    "write_layers",
    "zones_layer",
]

LayerFormat = Literal["gpkg", "parquet", "geojson"]
ExportFormat = Literal["gpkg", "parquet", "geojson", "flowmap"]
LAYER_FORMATS: tuple[str, ...] = ("gpkg", "parquet", "geojson")
FORMATS: tuple[str, ...] = (*LAYER_FORMATS, "flowmap")
_SUFFIX = {"gpkg": ".gpkg", "parquet": ".parquet", "geojson": ".geojson"}
#: Suffix of the column-docs sidecar written beside each GeoJSON layer (``zones.columns.json``).
SIDECAR_SUFFIX = ".columns.json"
_LAYER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_COLUMN_NAME = re.compile(r"[A-Za-z0-9_]{1,63}")


@contextmanager
def _wrapped(path: Path) -> Iterator[None]:
    """Turn file-system and driver failures into :class:`ExportError` naming ``path``."""
    import pyogrio.errors

    refuse_file_parent(path)
    try:
        yield
    except MigravityError:
        raise
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ExportError(path, f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        import pyarrow

        if isinstance(exc, pyarrow.ArrowException):
            raise ExportError(path, f"{type(exc).__name__}: {exc}") from exc
        raise


def _check_layer(name: Any, layer: Any, fmt: str) -> None:
    import geopandas as gpd

    if not isinstance(name, str) or not _LAYER_NAME.fullmatch(name):
        raise ConfigError("layer name", name, "use a letter followed by letters, digits or '_', "
                          "at most 63 characters (a GeoPackage table name)")
    if not isinstance(layer, gpd.GeoDataFrame) or layer._geometry_column_name not in layer.columns:
        raise ConfigError(f"layers[{name!r}]", type(layer).__name__, "give a GeoDataFrame with a geometry column")
    if layer.crs is None:
        raise ConfigError(f"layers[{name!r}].crs", None, "set the layer's CRS (layer.set_crs(...)) before writing")
    seen: dict[str, Any] = {}
    for col in layer.columns:
        if col == layer.geometry.name:
            continue
        where = f"layers[{name!r}] column"
        if not isinstance(col, str) or not _COLUMN_NAME.fullmatch(col):
            raise ConfigError(where, col, "rename it to letters, digits and '_' only, at most 63 characters")
        if col.lower() == "fid" and fmt == "gpkg":
            raise ConfigError(where, col, "'fid' is the GeoPackage feature id; rename the column")
        if col.lower() in seen:
            raise ConfigError(where, col, f"it clashes with column {seen[col.lower()]!r} ignoring case; rename one")
        seen[col.lower()] = col


def _single_file(path: Path, fmt: str, n_layers: int) -> bool:
    """True when ``path`` names the one output file rather than a directory."""
    if path.suffix.lower() != _SUFFIX[fmt]:
        return False
    if n_layers != 1:
        raise ConfigError("path", str(path), f"{n_layers} layers need a directory: give a path without "
                          f"the {_SUFFIX[fmt]} suffix, or write one layer")
    return True


def write_layers(layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike[str],
                 format: LayerFormat, crs: Any = None,
                 styles: Mapping[str, tuple[str, str]] | None = None) -> list[Path]:
    """Write named layers as GeoPackage, GeoParquet or GeoJSON (see the module docs).

    Parameters
    ----------
    layers : Mapping of str to geopandas.GeoDataFrame
        Layer name to layer, written in mapping order. Each layer needs a CRS.
    path : path-like
        GeoPackage: the file. GeoParquet / GeoJSON: a directory (one ``<layer>.<ext>`` each), or
        the file itself for a single layer when it ends in ``.parquet`` / ``.geojson``.
    format : {"gpkg", "parquet", "geojson"}
        The file format.
    crs : pyproj.CRS-like, optional
        CRS written; default EPSG:27700 for GeoPackage and GeoParquet. GeoJSON is always
        EPSG:4326 (RFC 7946) and accepts no other.
    styles : Mapping of str to (str, str), optional
        GeoPackage only: layer name to ``(QML, description)`` stored in ``layer_styles``; default
        :func:`migravity.outputs.gis_styles.default_style` of each layer. ``{}`` stores none.

    Returns
    -------
    list of pathlib.Path
        The files written (GeoJSON: each layer file, then its ``.columns.json`` sidecars).

    Raises
    ------
    ConfigError
        Unknown format, no layers, bad layer or column name, layer without CRS, GeoJSON with a
        CRS other than EPSG:4326, several layers with a single-file path.
    ExportError
        The file system or the driver refused the write; the message names the path. Nothing is
        left half written under a final name.
    """
    from pyproj import CRS

    check_choice("format", format, LAYER_FORMATS)
    if not isinstance(layers, Mapping) or not layers:
        raise ConfigError("layers", type(layers).__name__, "give a non-empty mapping of layer name to GeoDataFrame")
    for name, layer in layers.items():
        _check_layer(name, layer, format)
    if format == "geojson":
        if crs is not None and CRS.from_user_input(crs) != CRS.from_user_input(WGS84):
            raise ConfigError("crs", str(crs), "GeoJSON (RFC 7946) is always EPSG:4326; leave crs unset")
        target_crs = CRS.from_user_input(WGS84)
    else:
        try:
            target_crs = CRS.from_user_input(BNG if crs is None else crs)
        except Exception as exc:  # pyproj.exceptions.CRSError
            raise ConfigError("crs", str(crs), f"give an EPSG code or WKT pyproj understands ({exc})") from None
    path = Path(path)
    projected = {name: layer.to_crs(target_crs) for name, layer in layers.items()}

    with _wrapped(path):
        if format == "gpkg":
            if styles is None:
                found = {name: default_style(layer) for name, layer in projected.items()}
                styles = {name: st for name, st in found.items() if st is not None}
            with atomic_path(path, suffix=".gpkg") as tmp:
                for name, layer in projected.items():
                    layer.to_file(tmp, layer=name, driver="GPKG")
                add_gpkg_metadata(tmp, styles)
            return [path]
        if _single_file(path, format, len(projected)):
            targets = {next(iter(projected)): path}
        else:
            if path.exists() and not path.is_dir():
                raise ExportError(path, "exists and is not a directory; several layers are written as "
                                  f"<layer>{_SUFFIX[format]} files in a directory")
            targets = {name: path / f"{name}{_SUFFIX[format]}" for name in projected}
        files = list(targets.values())
        sidecars = [t.with_suffix(SIDECAR_SUFFIX) for t in files] if format == "geojson" else []
        with locked(path), atomic_files(files + sidecars) as tmps:
            for name, tmp in zip(targets, tmps, strict=False):
                if format == "parquet":
                    projected[name].to_parquet(tmp, index=False)
                    _document_parquet(tmp)
                else:
                    projected[name].to_file(tmp, layer=name, driver="GeoJSON", engine="pyogrio", RFC7946="YES")
            for name, tmp in zip(targets, tmps[len(files):], strict=False):
                tmp.write_text(json.dumps(columns_json(projected[name].columns), indent=1) + "\n", encoding="utf-8")
        return files + sidecars


def _document_parquet(path: Path) -> None:
    """Put each column's doc into the GeoParquet file's field metadata (``title``, ``description``, ``units``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    docs = columns_json(table.schema.names)
    fields = [f.with_metadata({k: v for k, v in docs[f.name].items() if v}) if f.name in docs else f
              for f in table.schema]
    meta = dict(table.schema.metadata or {})
    meta[b"migravity:columns"] = json.dumps(docs).encode("utf-8")
    schema = pa.schema(fields, metadata=meta)
    pq.write_table(pa.Table.from_arrays(table.columns, schema=schema), path)


def _csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def write_flowmap(zones: ZoneSet, flows: xr.DataArray, out_dir: str | os.PathLike[str], *,
                  top_k: int | None = None, threshold: float | None = None,
                  points: PointRule = "centroid") -> list[Path]:
    """Write the flowmap.blue CSV pair ``locations.csv`` and ``flows.csv`` into ``out_dir``.

    Parameters
    ----------
    zones : ZoneSet
        The zones; every zone is a location.
    flows : xarray.DataArray
        Matrix with dims ``(origin, destination)`` on the zone codes.
    out_dir : path-like
        Directory (created if needed).
    top_k : int, optional
        Keep the ``top_k`` largest flows.
    threshold : float, optional
        Keep flows ``>= threshold``.
    points : {"centroid", "representative"}
        Zone point giving ``lat``/``lon`` (see :mod:`migravity.outputs.export_layers`).

    Returns
    -------
    list of pathlib.Path
        ``[out_dir / "locations.csv", out_dir / "flows.csv"]``.

    Notes
    -----
    ``locations.csv`` has ``id`` (zone code), ``name``, ``lat``, ``lon`` (WGS84 degrees, 6
    decimals). ``flows.csv`` has ``origin``, ``dest``, ``count`` sorted by decreasing count; the
    diagonal, zero, negative and NaN flows are omitted. Counts that are all whole numbers are
    written as integers. Both files are put in place together (see the module docs).
    """
    from pyproj import Transformer

    from migravity.outputs.export_layers import _aligned, refuse_empty

    check_filters(top_k, threshold)
    if not isinstance(flows, xr.DataArray):
        raise ConfigError("flows", type(flows).__name__, "give one xarray DataArray (origin, destination)")
    mat = _aligned(zones, str(flows.name or "flows"), flows)
    o, d = select_pairs(mat, top_k=top_k, threshold=threshold, positive=True)
    refuse_empty(o, mat, threshold)
    counts = mat[o, d]
    if np.all(counts == np.round(counts)):
        counts = counts.astype(np.int64)
    xy = zone_points(zones, points)
    lon, lat = Transformer.from_crs(BNG, WGS84, always_xy=True).transform(xy[:, 0], xy[:, 1])
    codes = np.asarray(zones.codes, dtype=object)
    locations = pd.DataFrame({"id": codes, "name": list(zones.names), "lat": np.round(lat, 6),
                              "lon": np.round(lon, 6)})
    table = pd.DataFrame({"origin": codes[o], "dest": codes[d], "count": counts})
    out = Path(out_dir)
    files = [out / "locations.csv", out / "flows.csv"]
    with _wrapped(out):
        if out.exists() and not out.is_dir():
            raise ExportError(out, "exists and is not a directory")
        with locked(out), atomic_files(files) as tmps:
            tmps[0].write_text(_csv(locations), encoding="utf-8")
            tmps[1].write_text(_csv(table), encoding="utf-8")
    return files


def export(path: str | os.PathLike[str], *, format: ExportFormat, zones: ZoneSet, values: Values | None = None,
           flows: xr.DataArray | Mapping[str, xr.DataArray] | None = None, top_k: int | None = None,
           threshold: float | None = None, geodesic: bool = False, crs: Any = None,
           net: bool = True) -> list[Path]:
    """Build the ``zones``, ``centroids``, ``flows`` and ``net_flows`` layers and write them in one format.

    Parameters
    ----------
    path : path-like
        ``gpkg``: the GeoPackage file. ``parquet``, ``geojson``, ``flowmap``: a directory.
    format : {"gpkg", "parquet", "geojson", "flowmap"}
        See the module docs.
    zones : ZoneSet
        The zones.
    values : xarray.Dataset or pandas.DataFrame, optional
        Zone values for the ``zones`` and ``centroids`` layers (see :func:`zones_layer`).
    flows : xarray.DataArray or Mapping of str to DataArray, optional
        OD matrices. A single DataArray becomes a column named after it (``flow`` when
        unnamed). Without flows no ``flows`` layer is written; ``flowmap`` needs flows and uses
        the first entry.
    top_k, threshold : optional
        Pair filters for the flows (see :func:`flows_layer`), ranked by the first entry.
    geodesic : bool
        Great-circle flow lines (see :func:`flows_layer`).
    crs : optional
        CRS for ``gpkg``/``parquet`` (default EPSG:27700).
    net : bool
        With flows, also write the ``net_flows`` layer (:func:`net_flows_layer`: one line per pair in
        the direction of the net flow, ``top_k``/``threshold`` applied to the net value of the first
        entry; left out when no pair has a net flow passing them). Not for ``flowmap``.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    check_choice("format", format, FORMATS)
    check_filters(top_k, threshold)
    if isinstance(flows, xr.DataArray):
        flows = {str(flows.name) if flows.name is not None else "flow": flows}
    if format == "flowmap":
        if not flows:
            raise ConfigError("flows", None, "the flowmap format needs flows")
        return write_flowmap(zones, next(iter(flows.values())), path, top_k=top_k, threshold=threshold)
    layers = {"zones": zones_layer(zones, values), "centroids": centroids_layer(zones, values)}
    if flows:
        layers["flows"] = flows_layer(zones, flows, top_k=top_k, threshold=threshold, geodesic=geodesic)
        net_layer = net_flows_layer(zones, flows, top_k=top_k, threshold=threshold, geodesic=geodesic) if net else None
        if net_layer is not None:
            layers["net_flows"] = net_layer
    return write_layers(layers, path, format, crs=crs)
