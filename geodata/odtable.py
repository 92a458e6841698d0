"""The pair table the engine calibrates on: one row per origin-destination pair of a zone set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from migravity.geodata.attributes import load_attributes
from migravity.geodata.datadir import DataDir
from migravity.geodata.flows import FlowKind, load_flows
from migravity.geodata.spatial import contiguity_matrix, distance_matrix
from migravity.geodata.zones import ZoneSet, load_zones

#: Attributes copied onto each pair as ``o_<var>`` (origin) and ``d_<var>`` (destination).
DEFAULT_PAIR_ATTRIBUTES: tuple[str, ...] = (
    "population", "share_20_34", "share_65plus", "house_price", "weekly_pay", "affordability",
    "imd_quintile", "jobs", "wfh_share", "qual_l3plus",
)


def od_table(
    zones: ZoneSet | None = None,
    *,
    kind: FlowKind = "migration2021",
    flows: xr.DataArray | None = None,
    attributes: xr.Dataset | None = None,
    attribute_vars: Sequence[str] = DEFAULT_PAIR_ATTRIBUTES,
    include_diagonal: bool = False,
    data_dir: DataDir = None,
) -> pd.DataFrame:
    """Build the long pair table: flows, distance, shared border and origin/destination attributes.

    Parameters
    ----------
    zones : ZoneSet, optional
        Study area; default the Census 2021 geography for England and Wales (2021 codes, 331 zones).
    kind : str
        Flow kind for :func:`migravity.geodata.flows.load_flows` (ignored when ``flows`` is given).
    flows : xarray.DataArray, optional
        Flows already loaded on ``zones``.
    attributes : xarray.Dataset, optional
        Attributes already loaded on ``zones``.
    attribute_vars : sequence of str
        Attributes to copy as ``o_<var>`` and ``d_<var>`` columns.
    include_diagonal : bool
        Keep intra-zone pairs (default: inter-zone pairs only, as in migration models).
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin``, ``destination``, ``flow``, ``distance_km``, ``border``, then the attribute
        columns. Every pair of the grid is present (zeros explicit).
    """
    zones = zones if zones is not None else load_zones("2021", "EW", data_dir)
    flows = flows if flows is not None else load_flows(kind, zones, data_dir)
    n = len(zones)
    codes = np.asarray(zones.codes)
    oi, di = np.divmod(np.arange(n * n), n)
    keep = np.ones(n * n, bool) if include_diagonal else oi != di
    oi, di = oi[keep], di[keep]
    table = pd.DataFrame({
        "origin": codes[oi], "destination": codes[di],
        "flow": flows.to_numpy()[oi, di],
        "distance_km": distance_matrix(zones).to_numpy()[oi, di],
        "border": contiguity_matrix(zones).to_numpy()[oi, di].astype(np.int8),
    })
    if attribute_vars:
        attributes = attributes if attributes is not None else load_attributes(zones, data_dir)
        for var in attribute_vars:
            values = attributes[var].to_numpy()
            table[f"o_{var}"] = values[oi]
            table[f"d_{var}"] = values[di]
    table.attrs["zones"] = repr(zones)
    table.attrs["flows"] = flows.attrs.get("summary", "")
    return table


def od_grids(zones: ZoneSet, *, kind: FlowKind = "migration2021", data_dir: DataDir = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, xr.DataArray]:
    """The dense grids of the default model on ``zones``, without a long table (for MSOA zone sets).

    Parameters
    ----------
    zones : ZoneSet
        Study area (LAD or MSOA).
    kind : str
        Flow kind for :func:`migravity.geodata.flows.load_flows`.
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    flows : numpy.ndarray
        ``(n, n)`` float64 observed flows, zeros explicit (the diagonal holds moves within a zone).
    distance_km : numpy.ndarray
        ``(n, n)`` float64 distances (:func:`~migravity.geodata.spatial.distance_matrix`).
    border : numpy.ndarray
        ``(n, n)`` float64 shared-border indicator (:func:`~migravity.geodata.spatial.contiguity_matrix`).
    labelled : xarray.DataArray
        The flows as loaded (codes and the harmonisation report in ``attrs``).
    """
    labelled = load_flows(kind, zones, data_dir)
    flows = np.ascontiguousarray(labelled.to_numpy(), dtype=np.float64)
    distance = np.ascontiguousarray(distance_matrix(zones).to_numpy())
    border = contiguity_matrix(zones).to_numpy().astype(np.float64)
    return flows, distance, border, labelled
