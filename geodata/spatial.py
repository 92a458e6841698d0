"""Distances and shared borders between zones, from their polygons in British National Grid.

Distance rule
-------------
Off-diagonal: straight-line distance in km between zone centroids (EPSG:27700): the polygon
centroids, or the zone set's own centroids where it carries them (MSOA zones: population-weighted,
:mod:`migravity.geodata.msoa`).
Diagonal (intra-zonal): the mean distance between two points drawn uniformly in a disc of the
zone's area, ``d_ii = 128 / (45 pi) * sqrt(A_i / pi)`` (about 0.905 times the equivalent radius),
written once in :func:`intrazonal_distance_km`. :func:`distance_matrix` gives every pair,
:func:`pair_distances_km` the same numbers for some pairs only.

Contiguity rule
---------------
Two zones share a border when their polygons lie within ``tolerance_m`` metres of each other
(default 50 m). The ONS BUC boundaries are generalised to 500 m, which can open slivers between
true neighbours; a small tolerance closes them without bridging estuaries or sea straits, so
islands (Isle of Wight, Isles of Scilly, Orkney...) keep no land neighbour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from migravity.geodata.zones import BNG, ZoneSet

if TYPE_CHECKING:
    import geopandas as gpd

#: ``128 / (45 pi)``: the mean distance between two points drawn uniformly in a disc, in radii.
INTRA_FACTOR = 128.0 / (45.0 * np.pi)


def intrazonal_distance_km(area_km2: ArrayLike) -> np.ndarray:
    """The intra-zonal distance rule: ``d_ii = 128 / (45 pi) * sqrt(A_i / pi)``.

    The mean distance between two points drawn uniformly in a disc of the zone's area (about
    0.905 times the disc's radius). This is the one place the rule is written.

    Parameters
    ----------
    area_km2 : array-like
        Zone areas in km².

    Returns
    -------
    numpy.ndarray
        Distances in km, one per area.
    """
    return INTRA_FACTOR * np.sqrt(np.asarray(area_km2, dtype=float) / np.pi)


def _bng(zones: ZoneSet) -> gpd.GeoSeries:
    """The zones' polygons in British National Grid (a no-op for a :func:`load_zones` zone set)."""
    return zones.geometry.to_crs(BNG)


def areas_km2(zones: ZoneSet) -> np.ndarray:
    """Areas of the zones' polygons in km² (British National Grid).

    Parameters
    ----------
    zones : ZoneSet
        The zones.

    Returns
    -------
    numpy.ndarray
        One area per zone, in zone order.
    """
    return _bng(zones).area.to_numpy() / 1e6


def centroids_m(zones: ZoneSet) -> np.ndarray:
    """Centroids of the zones as an ``(n, 2)`` array of BNG metres (easting, northing).

    Parameters
    ----------
    zones : ZoneSet
        The zones.

    Returns
    -------
    numpy.ndarray
        The zone set's centroids where it carries them (MSOA: population-weighted), else the polygon
        centroids, in zone order; the points every model distance is measured between.
    """
    if zones.centroids is not None:
        return np.array(zones.centroids, dtype=np.float64)
    c = _bng(zones).centroid
    return np.column_stack([c.x.to_numpy(), c.y.to_numpy()])


def _labelled(zones: ZoneSet, values: np.ndarray, name: str, **attrs: object) -> xr.DataArray:
    return xr.DataArray(
        values, dims=("origin", "destination"),
        coords={"origin": list(zones.codes), "destination": list(zones.codes)},
        name=name, attrs=attrs,
    )


def _centroid_distances_km(xy_km_a: np.ndarray, xy_km_b: np.ndarray) -> np.ndarray:
    """Euclidean distances between broadcast point arrays (..., 2), without an (..., 2) temporary."""
    dx = xy_km_a[..., 0] - xy_km_b[..., 0]
    dx *= dx
    dy = xy_km_a[..., 1] - xy_km_b[..., 1]
    dy *= dy
    dx += dy
    return np.sqrt(dx, out=dx)


def distance_matrix(zones: ZoneSet) -> xr.DataArray:
    """Centroid distances in km with the intra-zonal rule on the diagonal (see the module docs).

    Parameters
    ----------
    zones : ZoneSet
        The zones.

    Returns
    -------
    xarray.DataArray
        ``distance_km`` with dims ``(origin, destination)`` on the zone codes.
    """
    xy = centroids_m(zones) / 1000.0
    d = _centroid_distances_km(xy[:, None, :], xy[None, :, :])
    np.fill_diagonal(d, intrazonal_distance_km(areas_km2(zones)))
    return _labelled(zones, d, "distance_km", units="km",
                     rule="centroid distance; diagonal 128/(45 pi) sqrt(area/pi)")


def pair_distances_km(zones: ZoneSet, origin: ArrayLike, destination: ArrayLike) -> np.ndarray:
    """The distances of :func:`distance_matrix` for some pairs only, without the full matrix.

    Parameters
    ----------
    zones : ZoneSet
        The zones.
    origin, destination : array-like of int
        Positions of the pairs' zones in ``zones`` (same length).

    Returns
    -------
    numpy.ndarray
        ``distance_matrix(zones)[origin[k], destination[k]]`` for each ``k``, bit for bit:
        centroid distance, the intra-zonal rule where origin == destination.
    """
    o = np.asarray(origin, dtype=np.intp)
    d = np.asarray(destination, dtype=np.intp)
    xy = centroids_m(zones) / 1000.0
    dist = _centroid_distances_km(xy[o], xy[d])
    same = o == d
    if same.any():
        dist[same] = intrazonal_distance_km(areas_km2(zones)[o[same]])
    return dist


def contiguity_pairs(zones: ZoneSet, tolerance_m: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """The neighbouring pairs ``(i, j)``, ``i < j``, of :func:`contiguity_matrix`, without a dense matrix.

    One STRtree query (``dwithin``) over all polygons: seconds for the 7,264 MSOAs.

    Parameters
    ----------
    zones : ZoneSet
        The zones.
    tolerance_m : float, default 50
        Polygons this close (metres) count as neighbours.

    Returns
    -------
    i, j : numpy.ndarray of intp
        Positions of each neighbouring pair, ``i < j``, sorted, each pair once.
    """
    from shapely import STRtree

    geoms = _bng(zones).to_numpy()
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    keep = lo != hi
    key = np.unique(lo[keep].astype(np.int64) * len(zones) + hi[keep])
    return (key // len(zones)).astype(np.intp), (key % len(zones)).astype(np.intp)


def contiguity_matrix(zones: ZoneSet, tolerance_m: float = 50.0) -> xr.DataArray:
    """Shared-border indicator (int8, 1 = neighbours, diagonal 0) from the polygons.

    Parameters
    ----------
    zones : ZoneSet
        The zones.
    tolerance_m : float, default 50
        Polygons this close (metres) count as neighbours (see the module docs).

    Returns
    -------
    xarray.DataArray
        ``border`` with dims ``(origin, destination)`` on the zone codes.
    """
    left, right = contiguity_pairs(zones, tolerance_m)
    w = np.zeros((len(zones), len(zones)), dtype=np.int8)
    w[left, right] = 1
    w[right, left] = 1
    return _labelled(zones, w, "border", rule=f"polygons within {tolerance_m} m", tolerance_m=tolerance_m)
