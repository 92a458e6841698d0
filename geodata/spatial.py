"""Distances and shared borders between zones, from their polygons in British National Grid.

Distance rule
-------------
Off-diagonal: straight-line distance in km between polygon centroids (EPSG:27700).
Diagonal (intra-zonal): the mean distance between two points drawn uniformly in a disc of the
zone's area, ``d_ii = 128 / (45 pi) * sqrt(A_i / pi)`` (about 0.905 times the equivalent radius).

Contiguity rule
---------------
Two zones share a border when their polygons lie within ``tolerance_m`` metres of each other
(default 50 m). The ONS BUC boundaries are generalised to 500 m, which can open slivers between
true neighbours; a small tolerance closes them without bridging estuaries or sea straits, so
islands (Isle of Wight, Isles of Scilly, Orkney...) keep no land neighbour.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from migravity.geodata.zones import ZoneSet

INTRA_FACTOR = 128.0 / (45.0 * np.pi)


def centroids_m(zones: ZoneSet) -> np.ndarray:
    """Centroids of the zones as an ``(n, 2)`` array of BNG metres (easting, northing)."""
    c = zones.geometry.centroid
    return np.column_stack([c.x.to_numpy(), c.y.to_numpy()])


def _labelled(zones: ZoneSet, values: np.ndarray, name: str, **attrs: object) -> xr.DataArray:
    return xr.DataArray(
        values, dims=("origin", "destination"),
        coords={"origin": list(zones.codes), "destination": list(zones.codes)},
        name=name, attrs=attrs,
    )


def distance_matrix(zones: ZoneSet) -> xr.DataArray:
    """Centroid distances in km with the intra-zonal rule on the diagonal (see module docs)."""
    xy = centroids_m(zones) / 1000.0
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    area_km2 = zones.geometry.area.to_numpy() / 1e6
    np.fill_diagonal(d, INTRA_FACTOR * np.sqrt(area_km2 / np.pi))
    return _labelled(zones, d, "distance_km", units="km",
                     rule="centroid distance; diagonal 128/(45 pi) sqrt(area/pi)")


def contiguity_matrix(zones: ZoneSet, tolerance_m: float = 50.0) -> xr.DataArray:
    """Shared-border indicator (int8, 1 = neighbours, diagonal 0) from the polygons."""
    from shapely import STRtree

    geoms = zones.geometry.to_numpy()
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    w = np.zeros((len(zones), len(zones)), dtype=np.int8)
    w[left, right] = 1
    w[right, left] = 1
    np.fill_diagonal(w, 0)
    return _labelled(zones, w, "border", rule=f"polygons within {tolerance_m} m", tolerance_m=tolerance_m)
