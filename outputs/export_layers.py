"""GIS layers built from a zone set: zone polygons, zone points and origin-destination lines.

The layers are plain :class:`geopandas.GeoDataFrame` objects; :mod:`migravity.outputs.export`
writes them to GeoPackage, GeoParquet, GeoJSON or flowmap.blue CSV.

Zone points
-----------
A zone's point is its polygon **centroid** by default (``points="centroid"``), the same point
:func:`migravity.geodata.spatial.centroids_m` and the model's distance matrix use, so a drawn
flow line joins exactly the two points whose distance the model saw. A centroid of a coastal or
multi-part zone can fall outside the polygon (in the sea); ``points="representative"`` gives
shapely's representative point instead, which is guaranteed to lie inside the polygon.

Column naming rule for values with extra dimensions
----------------------------------------------------
A variable along ``lad`` with further dimensions (``quantile``, ``scenario``...) becomes one
column per combination of their coordinate values, named ``<variable>_<label>[_<label>...]``
with the labels in the variable's dimension order (``lad`` removed):

* a string or integer coordinate value is used as written (``scenario="high"`` ->
  ``hs_change_high``; a dimension without coordinate uses the position 0, 1, ...);
* a value of a dimension named ``quantile`` between 0 and 1 is written as ``q`` and its
  percentage with at least two digits, a decimal point as ``p``: 0.05 -> ``q05``, 0.5 -> ``q50``,
  0.975 -> ``q97p5`` (so ``hs_change`` with ``quantile=[0.05, 0.95]`` gives ``hs_change_q05``
  and ``hs_change_q95``);
* any other float is written with ``format(v, "g")``, ``.`` as ``p`` and ``-`` as ``m``
  (1.5 -> ``1p5``, -2 -> ``m2``).

Labels are never altered otherwise: a label that makes a column name the file formats cannot
hold (``high-growth``) is refused when the layer is written, not silently renamed.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import ConfigError, check_choice
from migravity.geodata.spatial import centroids_m, pair_distances_km
from migravity.geodata.zones import BNG, ZONE_COLUMNS, ZoneSet
from migravity.scenarios.rundir import column_label

if TYPE_CHECKING:
    import geopandas as gpd

WGS84 = "EPSG:4326"
PointRule = Literal["centroid", "representative"]
#: The columns every flow layer starts with (before the caller's flow columns).
FLOW_COLUMNS = ("origin", "destination", "origin_name", "destination_name", "distance_km")
#: Spacing (km) of the intermediate vertices of a geodesic line, and their bounds.
GEODESIC_STEP_KM = 10.0
GEODESIC_MIN_NPTS, GEODESIC_MAX_NPTS = 8, 200

#: Zone values a layer takes (see :func:`value_columns`).
Values: TypeAlias = xr.Dataset | xr.DataArray | pd.DataFrame


def _list_codes(codes: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def _zone_positions(present: pd.Index, zones: ZoneSet, field: str, fix: str) -> np.ndarray:
    """The position in ``present`` of each zone; refuses a code given twice or a zone missing."""
    if present.has_duplicates:
        dup = present[present.duplicated()].unique().tolist()
        raise ConfigError(field, _list_codes(dup), "each zone code must appear once")
    missing = [c for c in zones.codes if c not in present]
    if missing:
        raise ConfigError(field, f"{len(missing)} zone(s) missing: {_list_codes(missing)}", fix)
    return present.get_indexer(pd.Index(zones.codes))


def _dataset_columns(values: xr.Dataset | xr.DataArray, zones: ZoneSet) -> dict[str, np.ndarray]:
    if isinstance(values, xr.DataArray):
        if values.name is None:
            raise ConfigError("values", "DataArray without a name", "give it a name (da.rename('x'))")
        values = values.to_dataset()
    if "lad" not in values.dims:
        raise ConfigError("values", f"dimensions {tuple(values.dims)}",
                          "the Dataset needs a dimension 'lad' indexed by zone code")
    pos = _zone_positions(pd.Index([str(c) for c in values["lad"].to_numpy()]), zones, "values.lad",
                          "give a value for every zone of the zone set (NaN where unknown)")
    out: dict[str, np.ndarray] = {}
    for name, var in values.data_vars.items():
        if "lad" not in var.dims:
            continue  # scalars and variables along other dimensions describe no zone
        var = var.transpose("lad", ...)
        extra = [d for d in var.dims if d != "lad"]
        data = np.asarray(var.to_numpy())[pos]
        if not extra:
            out[str(name)] = data
            continue
        labels = [[column_label(str(d), v) for v in (var[d].to_numpy() if d in var.coords else range(var.sizes[d]))]
                  for d in extra]
        for idx in itertools.product(*(range(len(lab)) for lab in labels)):
            col = "_".join([str(name), *(labels[k][i] for k, i in enumerate(idx))])
            if col in out:
                raise ConfigError("values", col, "two variables flatten to this column name; rename one")
            out[col] = data[(slice(None), *idx)]
    return out


def _frame_columns(values: pd.DataFrame, zones: ZoneSet) -> dict[str, np.ndarray]:
    pos = _zone_positions(values.index.astype(str), zones, "values.index",
                          "index the DataFrame by zone code and give a row for every zone (NaN where unknown)")
    return {col: values[col].to_numpy()[pos] for col in values.columns}


def value_columns(zones: ZoneSet, values: Values | None) -> dict[str, np.ndarray]:
    """The columns ``values`` adds to a zone layer, in zone order.

    Parameters
    ----------
    zones : ZoneSet
        The zones, whose order the columns follow.
    values : xarray.Dataset, xarray.DataArray, pandas.DataFrame or None
        Data variables along dimension ``lad`` (extra dimensions flattened, see the module docs),
        or a DataFrame indexed by zone code. Codes not in ``zones`` are ignored.

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    ConfigError
        A zone has no entry in ``values`` (the codes are listed), a code appears twice, or a
        column would clash with another.
    """
    if values is None:
        return {}
    if isinstance(values, xr.Dataset | xr.DataArray):
        cols = _dataset_columns(values, zones)
    elif isinstance(values, pd.DataFrame):
        cols = _frame_columns(values, zones)
    else:
        raise ConfigError("values", type(values).__name__,
                          "give an xarray Dataset along 'lad' or a DataFrame indexed by zone code")
    clash = [c for c in cols if c in (*ZONE_COLUMNS, "geometry")]
    if clash:
        raise ConfigError("values", ", ".join(map(str, clash)),
                          f"these names are taken by the layer's own columns {ZONE_COLUMNS}; rename them")
    return cols


def _zone_table(zones: ZoneSet, values: Values | None) -> dict[str, Any]:
    """The zone layers' columns: :data:`ZONE_COLUMNS`, then the value columns."""
    return {**zones.columns(), **value_columns(zones, values)}


def zone_points(zones: ZoneSet, points: PointRule = "centroid") -> np.ndarray:
    """The zones' points as an ``(n, 2)`` array of BNG metres (see the module docs).

    Parameters
    ----------
    zones : ZoneSet
        The zones.
    points : {"centroid", "representative"}
        Polygon centroid (default, as in the distance matrix) or representative point (always
        inside the polygon).

    Returns
    -------
    numpy.ndarray
    """
    check_choice("points", points, ("centroid", "representative"))
    if points == "centroid":
        return centroids_m(zones)
    pts = zones.geometry.to_crs(BNG).representative_point()
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def zones_layer(zones: ZoneSet, values: Values | None = None) -> gpd.GeoDataFrame:
    """One polygon per zone, with its names and the variables of ``values``.

    Parameters
    ----------
    zones : ZoneSet
        The zones; the layer follows their order.
    values : xarray.Dataset or pandas.DataFrame, optional
        Every data variable along dimension ``lad`` becomes a column; extra dimensions are
        flattened to ``<variable>_<label>`` columns (see the module docs). A DataFrame must be
        indexed by zone code. Coordinates of the Dataset (``name``, ``region``...) are not copied:
        the layer has its own ``code, name, region_code, region_name, nation`` columns.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code, name, region_code, region_name, nation``, the value columns and
        ``geometry`` (MultiPolygons, EPSG:27700).

    Raises
    ------
    ConfigError
        A zone is missing from ``values`` (never filled with NaN silently), or a column clashes.
    """
    import geopandas as gpd

    geom = zones.geometry.to_crs(BNG)
    return gpd.GeoDataFrame(_zone_table(zones, values), geometry=geom.to_numpy(), crs=BNG)


def centroids_layer(zones: ZoneSet, values: Values | None = None, *,
                    points: PointRule = "centroid") -> gpd.GeoDataFrame:
    """One point per zone with the same columns as :func:`zones_layer`.

    Parameters
    ----------
    zones : ZoneSet
        The zones.
    values : xarray.Dataset or pandas.DataFrame, optional
        As for :func:`zones_layer`.
    points : {"centroid", "representative"}
        ``"centroid"`` (default): the polygon centroid, the point the distance matrix uses (may
        fall outside a coastal or multi-part zone). ``"representative"``: a point guaranteed to
        lie inside the polygon.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:27700.
    """
    import geopandas as gpd

    xy = zone_points(zones, points)
    return gpd.GeoDataFrame(_zone_table(zones, values), geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                            crs=BNG)


def _aligned(zones: ZoneSet, name: str, da: xr.DataArray) -> np.ndarray:
    """The ``(n, n)`` matrix of ``da`` in zone order; refuses missing codes."""
    if not isinstance(da, xr.DataArray) or set(da.dims) != {"origin", "destination"}:
        dims = getattr(da, "dims", type(da).__name__)
        raise ConfigError(f"flows[{name!r}]", dims, "give an xarray DataArray with dims (origin, destination)")
    da = da.transpose("origin", "destination")
    out = []
    for dim in ("origin", "destination"):
        out.append(_zone_positions(pd.Index([str(c) for c in da[dim].to_numpy()]), zones, f"flows[{name!r}].{dim}",
                                   "give flows for every zone of the zone set"))
    return np.asarray(da.to_numpy(), dtype=float)[np.ix_(out[0], out[1])]


def check_filters(top_k: int | None, threshold: float | None) -> None:
    """Refuse a ``top_k`` that is not a positive integer or a ``threshold`` that is not finite."""
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1):
        raise ConfigError("top_k", top_k, "give a positive integer, or None to keep every pair")
    if threshold is not None and (not isinstance(threshold, numbers.Real) or not math.isfinite(threshold)):
        raise ConfigError("threshold", threshold, "give a finite number, or None for no threshold")


def refuse_empty(kept: np.ndarray, rank: np.ndarray, threshold: float | None) -> None:
    """Raise :class:`ConfigError` when the filters kept no pair: an export of nothing is a mistake, not a result.

    Parameters
    ----------
    kept : numpy.ndarray
        Positions of the pairs kept (:func:`select_pairs`).
    rank : numpy.ndarray
        The ``(n, n)`` values the pairs were ranked by.
    threshold : float or None
        The threshold applied, named in the message with the largest value there is.
    """
    if len(kept):
        return
    finite = rank[np.isfinite(rank)]
    largest = float(finite.max()) if finite.size else float("nan")
    if threshold is not None:
        raise ConfigError("threshold", threshold, f"no flow is at least {threshold:g} (the largest is {largest:g}): "
                                                  "the export would be empty; lower the threshold")
    raise ConfigError("flows", f"largest {largest:g}", "no flow to export (every pair is zero, NaN or the diagonal)")


def select_pairs(rank: np.ndarray, *, top_k: int | None = None, threshold: float | None = None,
                 include_diagonal: bool = False, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Origin and destination positions of the pairs kept, by decreasing ``rank``.

    Works on the ``(n, n)`` array only; no geometry is built here.

    Parameters
    ----------
    rank : numpy.ndarray
        ``(n, n)`` values ranking the pairs. NaN pairs are dropped.
    top_k : int, optional
        Keep the ``top_k`` largest (ties broken by origin then destination order).
    threshold : float, optional
        Keep pairs with ``rank >= threshold`` (applied before ``top_k``).
    include_diagonal : bool
        Keep origin == destination pairs.
    positive : bool
        Drop pairs with ``rank <= 0``.

    Returns
    -------
    tuple of numpy.ndarray
        Origin positions and destination positions.
    """
    check_filters(top_k, threshold)
    n = rank.shape[0]
    mask = ~np.isnan(rank)
    if not include_diagonal:
        mask &= ~np.eye(n, dtype=bool)
    if threshold is not None:
        mask &= np.where(np.isnan(rank), False, rank >= threshold)
    if positive:
        mask &= np.where(np.isnan(rank), False, rank > 0)
    flat = np.flatnonzero(mask)
    order = np.argsort(-rank.ravel()[flat], kind="stable")
    if top_k is not None:
        order = order[:top_k]
    flat = flat[order]
    return flat // n, flat % n


def _lines(xy: np.ndarray, o: np.ndarray, d: np.ndarray, geodesic: bool) -> np.ndarray:
    import shapely

    if not geodesic:
        coords = np.stack([xy[o], xy[d]], axis=1)
        lines: np.ndarray = shapely.linestrings(coords) if len(o) else np.empty(0, dtype=object)
        return np.where(o == d, np.array(None, dtype=object), lines)
    from pyproj import Geod, Transformer

    lon, lat = Transformer.from_crs(BNG, WGS84, always_xy=True).transform(xy[:, 0], xy[:, 1])
    geod = Geod(ellps="WGS84")
    out = np.empty(len(o), dtype=object)
    for k, (i, j) in enumerate(zip(o.tolist(), d.tolist(), strict=True)):
        if i == j:
            out[k] = None
            continue
        dist_km = geod.inv(lon[i], lat[i], lon[j], lat[j])[2] / 1000.0
        npts = int(min(GEODESIC_MAX_NPTS, max(GEODESIC_MIN_NPTS, math.ceil(dist_km / GEODESIC_STEP_KM))))
        mid = geod.npts(lon[i], lat[i], lon[j], lat[j], npts)
        out[k] = shapely.LineString([(lon[i], lat[i]), *mid, (lon[j], lat[j])])
    return out


def flows_layer(zones: ZoneSet, flows: Mapping[str, xr.DataArray], *, top_k: int | None = None,
                threshold: float | None = None, rank_by: str | None = None, include_diagonal: bool = False,
                geodesic: bool = False, points: PointRule = "centroid") -> gpd.GeoDataFrame:
    """Origin-destination lines from each origin's point to each destination's point.

    The pairs are chosen on the arrays first (``threshold``, then ``top_k``); lines are built only
    for the pairs kept. Rows are sorted by decreasing ``rank_by`` value.

    Parameters
    ----------
    zones : ZoneSet
        The zones.
    flows : Mapping of str to xarray.DataArray
        Matrices with dims ``(origin, destination)`` on the zone codes, one column each, named by
        the key (for example ``observed``, ``fitted``, ``scenario``, ``difference``).
    top_k : int, optional
        Keep the ``top_k`` pairs with the largest ``rank_by`` value.
    threshold : float, optional
        Keep pairs with ``rank_by >= threshold``. With neither filter every pair is kept
        (n(n-1) lines for the 318 zones of England and Wales: about 100,000).
    rank_by : str, optional
        The entry of ``flows`` that ranks the pairs; defaults to the first. Pairs where it is NaN
        are dropped.
    include_diagonal : bool
        Keep origin == destination pairs. They have no line: their geometry is missing (None).
    geodesic : bool
        ``True``: great-circle lines densified in WGS84 (pyproj ``Geod.npts``, a vertex every
        ~10 km, at least 8 between the ends) and the layer's CRS is EPSG:4326. ``False``
        (default): straight two-point lines in EPSG:27700.
    points : {"centroid", "representative"}
        The zone point the lines join (see the module docs).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``origin, destination, origin_name, destination_name, distance_km``, one per
        ``flows`` entry, and ``geometry``. ``distance_km`` is always the straight-line distance
        between polygon centroids in British National Grid, with the intra-zonal rule on the
        diagonal: the distance the model uses (:func:`migravity.geodata.spatial.distance_matrix`),
        whatever ``points`` and ``geodesic`` say.

    Raises
    ------
    ConfigError
        ``flows`` empty, a matrix missing zones or of the wrong shape, ``rank_by`` not an entry,
        a flow name clashing with the layer's own columns, or a bad ``top_k``/``threshold``.
    """
    import geopandas as gpd

    if not isinstance(flows, Mapping) or not flows:
        raise ConfigError("flows", type(flows).__name__, "give a non-empty mapping of column name to DataArray")
    names = [str(k) for k in flows]
    clash = [k for k in names if k in (*FLOW_COLUMNS, "geometry")]
    if clash:
        raise ConfigError("flows", ", ".join(clash), f"these names are taken by the layer's columns {FLOW_COLUMNS}")
    rank_by = names[0] if rank_by is None else rank_by
    if rank_by not in names:
        raise ConfigError("rank_by", rank_by, "use one of " + ", ".join(repr(k) for k in names))
    mats = {str(k): _aligned(zones, str(k), v) for k, v in flows.items()}
    o, d = select_pairs(mats[rank_by], top_k=top_k, threshold=threshold, include_diagonal=include_diagonal)
    refuse_empty(o, mats[rank_by], threshold)

    codes, znames = np.asarray(zones.codes, dtype=object), np.asarray(zones.names, dtype=object)
    table: dict[str, Any] = {
        "origin": codes[o], "destination": codes[d], "origin_name": znames[o], "destination_name": znames[d],
        "distance_km": pair_distances_km(zones, o, d),
    }
    for k, m in mats.items():
        table[k] = m[o, d]
    geometry = _lines(zone_points(zones, points), o, d, geodesic)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry), crs=WGS84 if geodesic else BNG)


def net_flows_layer(zones: ZoneSet, flows: Mapping[str, xr.DataArray], *, top_k: int | None = None,
                    threshold: float | None = None, rank_by: str | None = None, geodesic: bool = False,
                    points: PointRule = "centroid") -> gpd.GeoDataFrame | None:
    """Net (one-way) flow lines: one line per unordered pair, drawn in the direction of the net flow.

    For each matrix ``F`` the net flow from ``i`` to ``j`` is ``F[i, j] - F[j, i]``. The direction
    of each pair is the one in which the ``rank_by`` matrix's net flow is positive; pairs where it
    is zero or NaN are dropped. ``threshold`` and ``top_k`` apply to that net value.

    Parameters
    ----------
    zones : ZoneSet
        The zones.
    flows : Mapping of str to xarray.DataArray
        Matrices ``(origin, destination)`` on the zone codes (scenario, baseline, change...). Each
        gives a column ``net_<name>``: its net flow in the line's direction (negative where that
        matrix's net runs the other way).
    top_k, threshold : optional
        Keep the ``top_k`` largest net flows, and those ``>= threshold``.
    rank_by : str, optional
        The entry of ``flows`` whose net flow sets the direction and ranks the pairs (default: the first).
    geodesic, points :
        As :func:`flows_layer`.

    Returns
    -------
    geopandas.GeoDataFrame or None
        Columns ``origin, destination, origin_name, destination_name, distance_km``, the
        ``net_<name>`` columns and ``geometry`` (origin to destination = the net direction), sorted
        by decreasing net flow; None when no pair has a positive net flow passing the filters.
    """
    import geopandas as gpd

    check_filters(top_k, threshold)
    if not isinstance(flows, Mapping) or not flows:
        raise ConfigError("flows", type(flows).__name__, "give a non-empty mapping of column name to DataArray")
    names = [str(k) for k in flows]
    rank_by = names[0] if rank_by is None else rank_by
    if rank_by not in names:
        raise ConfigError("rank_by", rank_by, "use one of " + ", ".join(repr(k) for k in names))
    nets = {}
    for k, v in flows.items():
        m = _aligned(zones, str(k), v)
        nets[f"net_{k}"] = m - m.T
    rank = nets[f"net_{rank_by}"]
    o, d = select_pairs(np.where(rank > 0, rank, np.nan), top_k=top_k, threshold=threshold)
    if not len(o):
        return None
    codes, znames = np.asarray(zones.codes, dtype=object), np.asarray(zones.names, dtype=object)
    table: dict[str, Any] = {
        "origin": codes[o], "destination": codes[d], "origin_name": znames[o], "destination_name": znames[d],
        "distance_km": pair_distances_km(zones, o, d),
    }
    for k, m in nets.items():
        table[k] = m[o, d]
    geometry = _lines(zone_points(zones, points), o, d, geodesic)
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry), crs=WGS84 if geodesic else BNG)
