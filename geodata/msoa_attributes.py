"""Attributes of MSOA zones as one labelled :class:`xarray.Dataset` with dimension ``msoa``.

Two kinds of variable, told apart by their ``level`` attribute:

``level = "msoa"``: measured at MSOA
    From the Census 2021 output-area tables summed to MSOA (each OA in the MSOA holding its
    population-weighted centroid, :func:`migravity.geodata.msoa.oa_to_msoa`; cell-key perturbation and
    the approximate OA placement leave counts off by a few per cent at some MSOA edges, shares are
    more robust):

    - ``workers_2021``, ``wfh_2021``, ``wfh_share_2021``: TS061 residents 16+ in employment, of them
      working mainly at or from home, and the share (31.2% in England and Wales, census day in a
      lockdown).
    - ``hsl_2021_nssec``, ``hsl_2021_occupation``: high-skilled workers by the rules of
      :mod:`migravity.geodata.skills` (NS-SEC L1-L6 share among L1-L13 of TS062, SOC 1-3 share of
      TS063, each times ``workers_2021``); ``hsl_share_2021`` = ``hsl_2021_nssec / workers_2021``.
    - ``level4_2021``, ``level4_base_2021``, ``level4_share_2021``: TS067 residents 16+ with level 4
      qualifications or above, all residents 16+, and the share.

    From TS019 at MSOA (``census2021_ts019_msoa``): ``population`` (usual residents aged 1+),
    ``migrants_within_uk``, ``migrants_from_abroad``. From the MSOA travel-to-work table
    (``odwp01ew_msoa``): ``jobs`` (people working in the MSOA, plus its residents working mainly at
    or from home or with no fixed place, code ``111111111``). ``land_area_km2`` (ONS SAM).

``level = "parent LAD"``: taken from the parent LAD
    ``house_price``, ``affordability``, ``weekly_pay``, ``gdhi_per_head``, ``imd_score``,
    ``imd_quintile``: the LAD values of :func:`migravity.geodata.attributes.load_attributes` on the
    LAD 2021 zones, given to every MSOA of the LAD (constant within each LAD; no MSOA estimate).

Coordinates: ``name``, ``lad`` (parent LAD 2021 code), ``region``, ``region_name``, ``nation``.
``ds.attrs["harmonisation"]`` (JSON) records the OA placement (OAs outside every polygon, OAs whose
MSOA's LAD differs from the OA lookup's) and the parent-LAD variables.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import HarmonisationError
from migravity.geodata.codes import AT_HOME_OR_NO_FIXED_PLACE
from migravity.geodata.datadir import DataDir
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

#: Variables taken from the parent LAD (see the module docs).
PARENT_LAD_VARIABLES: tuple[str, ...] = (
    "house_price", "affordability", "weekly_pay", "gdhi_per_head", "imd_score", "imd_quintile",
)
_OA_TABLES = ("census2021_ts061_oa", "census2021_ts062_oa", "census2021_ts063_oa", "census2021_ts067_oa")


def _oa_sums(data_dir: DataDir) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    """Each OA table summed by MSOA (index: MSOA code) and the placement report."""
    from migravity.geodata.msoa import oa_to_msoa

    place = oa_to_msoa(data_dir)
    msoa_of = place.set_index("code")["msoa"]
    sums: dict[str, pd.DataFrame] = {}
    for name in _OA_TABLES:
        df = load(name, data_dir)
        unplaced = sorted(set(df.code) - set(msoa_of.index))
        if unplaced:
            raise HarmonisationError(f"{name}: output areas {unplaced[:5]} ({len(unplaced)}) are not in oa21_lookup")
        sums[name] = df.drop(columns="code").groupby(df.code.map(msoa_of).to_numpy()).sum()
    return sums, dict(place.attrs["report"])


def load_msoa_attributes(zones: ZoneSet, data_dir: DataDir = None) -> xr.Dataset:
    """Build the MSOA attributes Dataset (dimension ``msoa``) for MSOA ``zones``; see the module docs.

    Parameters
    ----------
    zones : ZoneSet
        MSOA zones (``load_zones(level="msoa")``).
    data_dir : path-like, optional
        The data directory.

    Returns
    -------
    xarray.Dataset
        Each variable with ``source``, ``period``, ``units`` and ``level`` attributes.

    Raises
    ------
    HarmonisationError
        A zone without a value in an MSOA-level source, or without a parent LAD value.
    """
    from migravity.geodata.attributes import load_attributes
    from migravity.geodata.zones import load_zones

    if zones.level != "msoa":
        raise HarmonisationError(f"load_msoa_attributes needs MSOA zones, got {zones}")
    index = list(zones.codes)
    sums, placement = _oa_sums(data_dir)
    t061 = sums["census2021_ts061_oa"].reindex(index)
    t062 = sums["census2021_ts062_oa"].reindex(index)
    t063 = sums["census2021_ts063_oa"].reindex(index)
    t067 = sums["census2021_ts067_oa"].reindex(index)
    workers = t061["workers"]
    classified = t062[["l1_3", "l4_6", "l7", "l8_9", "l10_11", "l12", "l13"]].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        measured: dict[str, tuple[pd.Series, str, str]] = {
            "workers_2021": (workers, "census2021_ts061_oa", "persons"),
            "wfh_2021": (t061["wfh"], "census2021_ts061_oa", "persons"),
            "wfh_share_2021": (t061["wfh"] / workers, "census2021_ts061_oa", "share of workers"),
            "hsl_2021_nssec": (workers * (t062["l1_3"] + t062["l4_6"]) / classified, "census2021_ts062_oa",
                               "persons"),
            "hsl_2021_occupation": (workers * t063[["soc1", "soc2", "soc3"]].sum(axis=1) / t063["workers"],
                                    "census2021_ts063_oa", "persons"),
            "level4_2021": (t067["level4plus"], "census2021_ts067_oa", "persons"),
            "level4_base_2021": (t067["residents_16plus"], "census2021_ts067_oa", "persons"),
            "level4_share_2021": (t067["level4plus"] / t067["residents_16plus"], "census2021_ts067_oa",
                                  "share of residents 16+"),
        }
    measured["hsl_share_2021"] = (measured["hsl_2021_nssec"][0] / workers, "census2021_ts062_oa", "share of workers")
    ts019 = load("census2021_ts019_msoa", data_dir).set_index("code").reindex(index)
    measured["population"] = (ts019["residents_1plus"], "census2021_ts019_msoa", "persons aged 1+")
    measured["migrants_within_uk"] = (ts019["migrant_within_uk"], "census2021_ts019_msoa", "persons")
    measured["migrants_from_abroad"] = (ts019["migrant_outside_uk"], "census2021_ts019_msoa", "persons")
    od = load("odwp01ew_msoa", data_dir)
    at_home = od[od.destination == AT_HOME_OR_NO_FIXED_PLACE].groupby("origin")["count"].sum()
    working_in = od[od.destination.isin(index)].groupby("destination")["count"].sum()
    jobs = working_in.reindex(index).fillna(0.0) + at_home.reindex(index).fillna(0.0)
    measured["jobs"] = (jobs, "odwp01ew_msoa", "persons")
    missing = {var: int(s.isna().sum()) for var, (s, _, _) in measured.items() if s.isna().any()}
    if missing:
        raise HarmonisationError(f"MSOA attributes without a value: {missing} (of {len(index)} zones)")

    ds = xr.Dataset(coords={
        "msoa": index, "name": ("msoa", list(zones.names)), "lad": ("msoa", list(zones.parents)),
        "region": ("msoa", list(zones.region_codes)), "region_name": ("msoa", list(zones.region_names)),
        "nation": ("msoa", list(zones.nations)),
    })
    for var, (series, source, units) in measured.items():
        ds[var] = ("msoa", series.to_numpy(dtype=float))
        ds[var].attrs.update({"source": source, "period": "Census 2021", "units": units, "level": "msoa"})
    if zones.land_area_km2 is not None:
        ds["land_area_km2"] = ("msoa", np.asarray(zones.land_area_km2, dtype=float))
        ds["land_area_km2"].attrs.update({"source": "lookup_msoa21_lad21", "units": "km2", "level": "msoa"})

    lad = load_attributes(load_zones("2021", "EW", data_dir), data_dir)
    parents = list(zones.parents)
    for var in PARENT_LAD_VARIABLES:
        values = lad[var].to_series().reindex(parents)
        if values.isna().any():
            bad = sorted({p for p, v in zip(parents, values, strict=True) if pd.isna(v)})
            raise HarmonisationError(f"{var}: parent LADs {bad[:5]} have no value")
        ds[var] = ("msoa", values.to_numpy(dtype=float))
        ds[var].attrs.update({**{k: str(v) for k, v in lad[var].attrs.items()},
                              "level": "parent LAD",
                              "note": "the LAD 2021 value of the MSOA's parent LAD (constant within each LAD; "
                                      "no MSOA estimate)"})
    ds.attrs.update({"zone_vintage": zones.vintage, "area": zones.area, "level": "msoa",
                     "harmonisation": json.dumps({"oa_placement": placement,
                                                  "parent_lad_variables": list(PARENT_LAD_VARIABLES)})})
    return ds
