"""Checks of boundary files: valid geometries, coordinates that fit their CRS, latitude/longitude order.

:func:`check_geometry` is run by the boundary readers (:mod:`migravity.geodata.readers`). Every
registered boundary file covers (part of) the United Kingdom, so besides the CRS's own limits
(degrees within +-180 / +-90 for a geographic CRS; a projected CRS in metres cannot hold a whole set
of features within a few hundred metres of its origin) the features must lie within
:data:`UK_LONLAT` once transformed to longitude/latitude. The three usual mistakes each get one
line naming the file and the CRS:

* latitude and longitude swapped (x in 49..61, y in -9..2 under EPSG:4326);
* longitude/latitude labelled as a projected CRS (e.g. EPSG:27700);
* metres (British National Grid) labelled as a geographic CRS (e.g. EPSG:4326).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from migravity.errors import MalformedDataError

#: Where UK boundaries lie, with a margin: longitude min, latitude min, longitude max, latitude max.
UK_LONLAT: tuple[float, float, float, float] = (-11.0, 49.0, 2.5, 61.5)


def _inside(bounds: tuple[float, float, float, float] | np.ndarray,
            box: tuple[float, float, float, float]) -> bool:
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    return box[0] <= xmin and xmax <= box[2] and box[1] <= ymin and ymax <= box[3]


def _span(bounds: np.ndarray) -> str:
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    return f"x {xmin:.6g}..{xmax:.6g}, y {ymin:.6g}..{ymax:.6g}"


def check_geometry(gdf: Any, path: Path, *, validity: bool = True,
                   extent: tuple[float, float, float, float] = UK_LONLAT) -> None:
    """Raise unless ``gdf``'s geometries are valid and lie where their CRS says, inside ``extent``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features with a CRS and a ``code`` column (used to name a bad feature).
    path : pathlib.Path
        The file, for the message.
    validity : bool
        Check each geometry with ``shapely``'s ``is_valid`` (self-intersections, bad rings).
    extent : tuple of float
        Longitude/latitude box the features must lie in (default :data:`UK_LONLAT`).

    Raises
    ------
    MalformedDataError
        Naming the file, the CRS and, for an invalid geometry, the feature and shapely's reason.
    """
    import shapely

    crs = gdf.crs
    name = crs.to_string() if crs is not None else "no CRS"
    if validity:
        valid = gdf.geometry.is_valid.to_numpy()
        if not valid.all():
            i = int(np.flatnonzero(~valid)[0])
            reason = shapely.is_valid_reason(gdf.geometry.iloc[i])
            raise MalformedDataError(
                path, f"feature {gdf['code'].iloc[i]} has an invalid geometry ({reason}; {int((~valid).sum())} "
                      "invalid in all); repair the file (e.g. shapely.make_valid) or download it again")
    bounds = np.asarray(gdf.total_bounds, dtype=float)
    if not np.isfinite(bounds).all():
        raise MalformedDataError(path, f"coordinates are not finite ({_span(bounds)}) under CRS {name}")
    degrees_like = _inside(bounds, (-180.0, -90.0, 180.0, 90.0))
    if crs.is_geographic:
        if not degrees_like:
            raise MalformedDataError(
                path, f"coordinates {_span(bounds)} are out of range for the geographic CRS {name} (degrees): "
                      "metres (e.g. British National Grid) labelled as degrees? set the file's CRS to the "
                      "one its coordinates are in (e.g. EPSG:27700)")
        if not _inside(bounds, extent) and _inside(bounds[[1, 0, 3, 2]], extent):
            raise MalformedDataError(
                path, f"latitude and longitude look swapped under CRS {name}: {_span(bounds)} (x should be "
                      "longitude, y latitude); write the file with longitude first")
    elif degrees_like:
        raise MalformedDataError(
            path, f"coordinates {_span(bounds)} look like longitude/latitude degrees but the CRS {name} is "
                  "projected (metres): label the file EPSG:4326 or reproject it")
    lonlat = bounds if crs.equals("EPSG:4326") else np.asarray(gdf.to_crs("EPSG:4326").total_bounds, dtype=float)
    if not (np.isfinite(lonlat).all() and _inside(lonlat, extent)):
        raise MalformedDataError(
            path, f"features lie at longitude/latitude {_span(lonlat)} under CRS {name}, outside the UK "
                  f"(longitude {extent[0]}..{extent[2]}, latitude {extent[1]}..{extent[3]}): wrong CRS label or "
                  "swapped axes?")
