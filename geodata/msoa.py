"""MSOA (middle layer super output area, 2021) geography: output areas placed in MSOAs, and
population-weighted MSOA centroids.

Output areas (OAs) to MSOAs
---------------------------
There is no official OA -> MSOA column in the data directory (``census2021/PROVENANCE.md``). Each of
the 188,880 OAs is placed in the MSOA whose polygon (ONS BSC, British National Grid, repaired with
``buffer(0)``) contains its population-weighted centroid; a centroid that falls outside every polygon
(about 120, on the generalised coastline) takes the nearest polygon, and their number is reported.
The assignment is made against all 7,264 MSOAs of England and Wales, whatever the study area.

Population-weighted centroids
-----------------------------
An MSOA's centroid is the weighted mean of the population-weighted centroids (ONS, December 2021)
of its OAs, with weights the OA's usual residents aged 16+ (Census 2021 TS062 total: the OA tables
here hold no all-ages count). :func:`weighted_centroids` is the rule; an MSOA whose OAs have zero
weight in all takes the unweighted mean of its OA centroids, one with no OA its polygon centroid
(both reported; neither occurs on the registered files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from migravity.errors import HarmonisationError
from migravity.geodata.datadir import DataDir
from migravity.geodata.readers import load

if TYPE_CHECKING:
    import geopandas as gpd

BNG = "EPSG:27700"
#: Registry name of the OA table whose total weights the centroids (usual residents aged 16+).
CENTROID_WEIGHTS = "census2021_ts062_oa"


def weighted_centroids(xy: np.ndarray, weights: np.ndarray, group: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The weighted mean point of each group.

    Parameters
    ----------
    xy : ndarray, shape (m, 2)
        Points (e.g. OA centroids, metres).
    weights : ndarray, shape (m,)
        Non-negative weights (e.g. OA population).
    group : ndarray of int, shape (m,)
        Group of each point, in ``0..n-1``.
    n : int
        Number of groups.

    Returns
    -------
    centroids : ndarray, shape (n, 2)
        ``sum_k w_k xy_k / sum_k w_k`` per group; where a group's weights sum to zero the
        unweighted mean of its points; NaN for a group with no point.
    how : ndarray of int8, shape (n,)
        0 weighted, 1 unweighted (zero total weight), 2 no point (NaN).
    """
    xy = np.asarray(xy, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    g = np.asarray(group, dtype=np.intp)
    wsum = np.bincount(g, weights=w, minlength=n)
    count = np.bincount(g, minlength=n).astype(np.float64)
    out = np.full((n, 2), np.nan)
    how = np.full(n, 2, dtype=np.int8)
    for k in range(2):
        num = np.bincount(g, weights=w * xy[:, k], minlength=n)
        plain = np.bincount(g, weights=xy[:, k], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, k] = np.where(wsum > 0, num / np.where(wsum > 0, wsum, 1.0),
                                 np.where(count > 0, plain / np.where(count > 0, count, 1.0), np.nan))
    how[wsum > 0] = 0
    how[(wsum <= 0) & (count > 0)] = 1
    return out, how


def assign_points(xy: np.ndarray, polygons: Any) -> tuple[np.ndarray, np.ndarray]:
    """The polygon holding each point; the nearest polygon for a point outside all of them.

    Parameters
    ----------
    xy : ndarray, shape (m, 2)
        Points, in the polygons' coordinates.
    polygons : array-like of shapely geometries
        The polygons (non-overlapping; a point on a shared edge goes to the lowest position).

    Returns
    -------
    position : ndarray of intp, shape (m,)
        Position of each point's polygon.
    outside : ndarray of bool, shape (m,)
        True where the point lay in no polygon and took the nearest.
    """
    import shapely
    from shapely import STRtree

    geoms = np.asarray(polygons, dtype=object)
    pts = shapely.points(np.asarray(xy, dtype=np.float64))
    tree = STRtree(geoms)
    pt_idx, poly_idx = tree.query(pts, predicate="intersects")
    pos = np.full(len(pts), -1, dtype=np.intp)
    order = np.lexsort((poly_idx, pt_idx))  # first (lowest) polygon per point wins
    pt_sorted, poly_sorted = pt_idx[order], poly_idx[order]
    first = np.r_[True, pt_sorted[1:] != pt_sorted[:-1]] if len(pt_sorted) else np.zeros(0, bool)
    pos[pt_sorted[first]] = poly_sorted[first]
    outside = pos < 0
    if outside.any():
        near_pt, near_poly = tree.query_nearest(pts[outside], all_matches=False)
        pos[np.flatnonzero(outside)[near_pt]] = near_poly
    return pos, outside


def msoa_polygons(data_dir: DataDir = None) -> gpd.GeoDataFrame:
    """All 7,264 MSOA polygons (code, name, geometry) in British National Grid, sorted by code.

    ``attrs["repaired"]`` lists the polygons repaired on reading.
    """
    gdf = load("msoa_boundaries_2021", data_dir)
    repaired = gdf.attrs.get("repaired", [])
    out = gdf.to_crs(BNG).sort_values("code").reset_index(drop=True)
    out.attrs["repaired"] = repaired
    return out


def oa_to_msoa(data_dir: DataDir = None, polygons: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Every output area with its MSOA (point in polygon, see the module docs).

    Parameters
    ----------
    data_dir : path-like, optional
        The data directory.
    polygons : geopandas.GeoDataFrame, optional
        :func:`msoa_polygons`, if already loaded.

    Returns
    -------
    pandas.DataFrame
        One row per OA: ``code`` (OA), ``easting``, ``northing`` (its population-weighted centroid),
        ``lad21cd`` (the derived lookup's LAD), ``msoa`` (MSOA code), ``outside`` (the centroid lay in
        no MSOA polygon and took the nearest). ``attrs["report"]``: counts of OAs outside every
        polygon and of OAs whose MSOA's parent LAD differs from ``lad21cd``.
    """
    polys = polygons if polygons is not None else msoa_polygons(data_dir)
    oa = load("oa21_lookup", data_dir)
    pos, outside = assign_points(oa[["easting", "northing"]].to_numpy(), polys.geometry.to_numpy())
    out = oa.assign(msoa=polys.code.to_numpy()[pos], outside=outside)
    lk = load("lookup_msoa21_lad21", data_dir).set_index("code")["lad21cd"]
    other_lad = int((out.msoa.map(lk).to_numpy() != out.lad21cd.to_numpy()).sum())
    empty = sorted(set(polys.code) - set(out.msoa))
    if empty:
        raise HarmonisationError(f"oa21_lookup: MSOAs {empty[:10]} ({len(empty)}) receive no output area")
    out.attrs["report"] = {"oas": len(out), "outside_every_polygon_nearest_taken": int(outside.sum()),
                           "msoa_parent_lad_differs_from_oa_lad": other_lad}
    return out
