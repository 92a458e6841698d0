"""GIS layers of a calibration: observed and fitted flows with their Pearson residuals.

:func:`export_calibration` writes, in any layer format of :func:`migravity.outputs.export.write_layers`:

* ``zones`` and ``centroids`` with ``observed_out``, ``fitted_out``, ``observed_in``, ``fitted_in``
  (row and column sums of the fitted pairs; absent pairs count as 0);
* ``flows``: the ``top_k`` pairs with the largest observed flow (or those ``>= threshold``), with
  ``observed``, ``fitted`` and ``residual_pearson = (observed - fitted) / sqrt(fitted)`` (NaN
  where the fitted flow is 0, e.g. a pair dropped from the fit);
* ``net_flows``: the net (one-way) observed and fitted flows (:func:`net_flows_layer`).

The zones are those of the calibration's labels (origin or destination), which must be codes of
the zone set given.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import ConfigError
from migravity.geodata.zones import ZoneSet
from migravity.outputs.export_layers import (
    centroids_layer,
    check_filters,
    flows_layer,
    net_flows_layer,
    zones_layer,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["calibration_flows", "calibration_layers", "export_calibration"]


def _square(da: xr.DataArray, codes: list[str]) -> xr.DataArray:
    da = da.assign_coords(origin=[str(c) for c in da["origin"].to_numpy()],
                          destination=[str(c) for c in da["destination"].to_numpy()])
    return da.reindex(origin=codes, destination=codes)


def calibration_flows(result: Any, zones: ZoneSet) -> tuple[ZoneSet, dict[str, xr.DataArray]]:
    """The zones of a calibration and its ``observed``, ``fitted`` and ``residual_pearson`` matrices.

    Parameters
    ----------
    result : CalibrationResult
        A fit (:func:`migravity.engine.calibrate`), its labels zone codes.
    zones : ZoneSet
        A zone set holding every label.

    Returns
    -------
    tuple of (ZoneSet, dict of str to xarray.DataArray)
        The zones of the labels (in ``zones`` order) and the three square matrices on them (NaN for
        pairs absent from the fit).

    Raises
    ------
    ConfigError
        A label that is not a zone code.
    """
    labels = {str(c) for c in (*result.origin_labels, *result.destination_labels)}
    missing = sorted(labels - set(zones.codes))
    if missing:
        raise ConfigError("calibration labels", ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""),
                          f"export needs zone codes of {zones!r}: fit on LAD codes of that vintage and area")
    keep = np.array([c in labels for c in zones.codes])

    def pick(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v for v, k in zip(values, keep, strict=True) if k)

    sub = dataclasses.replace(zones, codes=pick(zones.codes), names=pick(zones.names),
                              region_codes=pick(zones.region_codes), region_names=pick(zones.region_names),
                              nations=pick(zones.nations), geometry=zones.geometry[keep])
    codes = list(sub.codes)
    observed = _square(result.observed, codes).rename("observed")
    fitted = _square(result.fitted, codes).rename("fitted")
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = xr.where(fitted > 0, (observed - fitted) / np.sqrt(fitted), np.nan).rename("residual_pearson")
    return sub, {"observed": observed, "fitted": fitted, "residual_pearson": resid}


def calibration_layers(result: Any, zones: ZoneSet, *, top_k: int | None = 1000,
                       threshold: float | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The ``zones``, ``centroids``, ``flows`` and ``net_flows`` layers of a fit (see the module docs)."""
    check_filters(top_k, threshold)
    sub, mats = calibration_flows(result, zones)
    obs, fit = np.nan_to_num(mats["observed"].to_numpy()), np.nan_to_num(mats["fitted"].to_numpy())
    values = pd.DataFrame({"observed_out": obs.sum(axis=1), "fitted_out": fit.sum(axis=1),
                           "observed_in": obs.sum(axis=0), "fitted_in": fit.sum(axis=0)}, index=list(sub.codes))
    layers = {"zones": zones_layer(sub, values), "centroids": centroids_layer(sub, values),
              "flows": flows_layer(sub, mats, top_k=top_k, threshold=threshold)}
    net = net_flows_layer(sub, {"observed": mats["observed"], "fitted": mats["fitted"]}, top_k=top_k,
                          threshold=threshold)
    if net is not None:
        layers["net_flows"] = net
    return layers


def export_calibration(path: str | os.PathLike[str], result: Any, zones: ZoneSet, *, format: str = "gpkg",
                       top_k: int | None = 1000, threshold: float | None = None, crs: Any = None) -> list[Path]:
    """Write a fit's observed and fitted flows as GIS layers (see the module docs).

    Parameters
    ----------
    path : path-like
        The GeoPackage, or the directory for ``parquet`` / ``geojson``.
    result : CalibrationResult
        The fit, labelled by zone codes.
    zones : ZoneSet
        A zone set holding every label.
    format : {"gpkg", "parquet", "geojson"}
        File format (:func:`migravity.outputs.export.write_layers`).
    top_k, threshold : optional
        Pairs kept, ranked by the observed flow (net layer: by the net observed flow).
    crs : optional
        CRS written (default EPSG:27700).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from migravity.outputs.export import write_layers

    return write_layers(calibration_layers(result, zones, top_k=top_k, threshold=threshold), path,
                        format, crs=crs)  # type: ignore[arg-type]
