"""Economic conditions dated to a census's flows: median house price and median weekly pay by LAD.

The Census migration flows cover the year to census day (27 March 2011, 21 March 2021), so:

``house_price``
    HPSSA dataset 9 median price paid, **rolling year to March of the census year** (the quarterly
    rolling-year medians; "Mar 2011" = April 2010 to March 2011), the year of the flows
    (:data:`HOUSE_PRICE_DATE`, :func:`house_price_at`). 2023 codes; rates are population-weighted
    across merges and copied across splits by :func:`~migravity.geodata.harmonise.harmonise_values`.
``weekly_pay``
    ASHE median gross weekly pay, residence-based, **April of the year before the census** (April
    2010 for the 2010-11 flows, April 2020 for 2020-21: the ASHE reference date inside the year of
    the flows; :data:`PAY_YEAR`, :func:`weekly_pay_at`). Missing and suppressed values are never
    filled silently: ONS publishes no back series for LADs created later (North and West
    Northamptonshire, East and West Suffolk, Cumberland, Westmorland and Furness, BCP...) and
    suppresses small LADs (City of London, Isles of Scilly; ``status`` ``x``/``u``). Such an LAD
    takes its own value of the nearest year with one, scaled by its region's change in median pay
    between the two years; failing that, its region's value. Every fill is recorded in the report's
    ``filled``; a zone that cannot be filled raises :class:`~migravity.errors.DataError`.

:func:`load_dated_covariates` returns both as one Dataset; :mod:`migravity.analysis.ladder_data`
uses the same functions (its pay is dated to April of the census year).
"""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import DataError, check_choice
from migravity.geodata.datadir import DataDir
from migravity.geodata.harmonise import CodeMap, HarmonisationReport, code_map, harmonise_values
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

CensusYear = Literal[2011, 2021]
CENSUS_YEARS: tuple[int, ...] = (2011, 2021)
#: HPSSA rolling year matching each census's flows (the year to March of the census year).
HOUSE_PRICE_DATE: dict[int, str] = {2011: "Mar 2011", 2021: "Mar 2021"}
#: ASHE April reference year inside the year of each census's flows.
PAY_YEAR: dict[int, int] = {2011: 2010, 2021: 2020}

_LAD = ("E06", "E07", "E08", "E09", "W06")


def house_price_at(zones: ZoneSet, date: str, data_dir: DataDir = None, *, frame: pd.DataFrame | None = None,
                   cmap: CodeMap | None = None) -> tuple[pd.Series, HarmonisationReport]:
    """HPSSA median house price of each zone for the rolling year to ``date`` (e.g. ``"Mar 2011"``).

    Parameters
    ----------
    zones : ZoneSet
        The study area.
    date : str
        The HPSSA quarter the rolling year ends in, as in the file (``"Mar 2011"``).
    data_dir : path-like, optional
        The data directory.
    frame : pandas.DataFrame, optional
        The ``house_prices`` dataset already loaded.
    cmap : CodeMap, optional
        The 2023 -> ``zones.vintage`` code map already built.

    Returns
    -------
    (pandas.Series, HarmonisationReport)
        GBP by zone code (``zones.codes`` order) and the record.

    Raises
    ------
    DataError
        When a zone has no price for ``date``.
    """
    hp = frame if frame is not None else load("house_prices", data_dir)
    cmap = cmap if cmap is not None else code_map("2023", zones.vintage, data_dir)
    sel = hp[(hp["date"] == date) & hp["code"].str[:3].isin(_LAD)][["code", "value"]]
    out, rep = harmonise_values(sel, cmap, ["value"], how="mean", dataset="house_prices")
    out = out.set_index("code")
    codes = list(zones.codes)
    extra = out.index.difference(pd.Index(codes))
    if len(extra):
        rep.notes.append(f"{len(extra)} codes outside the study area left out, e.g. {list(extra[:3])}")
    value = out["value"].reindex(codes)
    bad = ~np.isfinite(value.to_numpy(dtype=float))
    if bad.any():
        raise DataError(f"house_prices: no value for {int(bad.sum())} zone(s) of {zones} after "
                        f"harmonisation: {list(value.index[bad][:5])}")
    rep.notes.append(f"HPSSA median price, rolling year to {date}")
    return value.astype(float), rep


def weekly_pay_at(zones: ZoneSet, year: int, data_dir: DataDir = None, *, frame: pd.DataFrame | None = None
                  ) -> tuple[pd.Series, HarmonisationReport]:
    """ASHE median gross weekly pay (residence) of each zone in April ``year``, fills recorded (module docs).

    Parameters
    ----------
    zones : ZoneSet
        The study area (2023 codes are the ASHE file's).
    year : int
        The ASHE April reference year.
    data_dir : path-like, optional
        The data directory.
    frame : pandas.DataFrame, optional
        The ``earnings`` dataset already loaded.

    Returns
    -------
    (pandas.Series, HarmonisationReport)
        GBP per week by zone code and the record (``filled``: each zone that took a scaled or
        regional value, and how).

    Raises
    ------
    DataError
        When neither a zone nor its region has a value.
    """
    ea = frame if frame is not None else load("earnings", data_dir)
    ea = ea.assign(year=ea["period"].str[:4].astype(int)).dropna(subset=["value"])
    wide = ea.pivot_table(index="code", columns="year", values="value", aggfunc="first")
    rep = HarmonisationReport("earnings", "2023", zones.vintage)
    rep.notes.append(f"ASHE median gross weekly pay, residence-based, April {year}")
    values = {}
    for code, region in zip(zones.codes, zones.region_codes, strict=True):
        row = wide.loc[code].dropna() if code in wide.index else pd.Series(dtype=float)
        if year in row.index:
            values[code] = float(row[year])
            continue
        reg = wide.loc[region].dropna() if region in wide.index else pd.Series(dtype=float)
        near = sorted((y for y in row.index if y in reg.index), key=lambda y: (abs(y - year), y))
        if near and year in reg.index:
            y0 = near[0]
            values[code] = float(row[y0] * reg[year] / reg[y0])
            rep.filled[code] = (f"weekly_pay {year}: no estimate; {y0} value {row[y0]:g} x region {region} "
                                f"{year}/{y0} ({reg[year]:g}/{reg[y0]:g})")
        elif year in reg.index:
            values[code] = float(reg[year])
            rep.filled[code] = f"weekly_pay {year}: no estimate in any year; region {region} value {reg[year]:g}"
        else:
            raise DataError(f"earnings: no {year} value for {code} nor its region {region}")
    return pd.Series(values, dtype=float).reindex(list(zones.codes)), rep


def load_dated_covariates(zones: ZoneSet, census_year: CensusYear, data_dir: DataDir = None) -> xr.Dataset:
    """House price and weekly pay dated to the year of a census's flows (see the module docs).

    Parameters
    ----------
    zones : ZoneSet
        The study area (England and Wales).
    census_year : {2011, 2021}
        The census whose year-to-census-day flows the covariates accompany.
    data_dir : path-like, optional
        The data directory.

    Returns
    -------
    xarray.Dataset
        ``house_price`` (GBP) and ``weekly_pay`` (GBP per week) on dimension ``lad``, each with
        ``source`` and ``period`` attributes; ``attrs["harmonisation"]`` records merges and fills.
    """
    check_choice("census_year", census_year, CENSUS_YEARS)
    hp, r_hp = house_price_at(zones, HOUSE_PRICE_DATE[census_year], data_dir)
    pay, r_pay = weekly_pay_at(zones, PAY_YEAR[census_year], data_dir)
    ds = xr.Dataset(coords={"lad": list(zones.codes), "name": ("lad", list(zones.names))})
    ds["house_price"] = ("lad", hp.to_numpy(dtype=float))
    ds["house_price"].attrs.update({"source": "house_prices (HPSSA dataset 9)", "units": "GBP",
                                    "period": f"rolling year to {HOUSE_PRICE_DATE[census_year]}"})
    ds["weekly_pay"] = ("lad", pay.to_numpy(dtype=float))
    ds["weekly_pay"].attrs.update({"source": "earnings (ASHE, residence)", "units": "GBP per week",
                                   "period": f"April {PAY_YEAR[census_year]}", "filled": json.dumps(r_pay.filled)})
    ds.attrs.update({"census_year": census_year, "zone_vintage": zones.vintage,
                     "harmonisation": json.dumps([json.loads(r.to_json()) for r in (r_hp, r_pay)])})
    return ds
