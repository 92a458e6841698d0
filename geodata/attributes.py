"""Zone attributes as one labelled :class:`xarray.Dataset` with dimension ``lad``.

Variables (each with ``source``, ``period`` and ``units`` attributes):

- ``population``: mid-year estimate 2023 (ONS MYE).
- ``pop_census2021``, ``share_under20``, ``share_20_64``, ``share_65plus``, ``share_20_34``: Census
  2021 broad ages (counts summed across merges; shares recomputed from the summed counts).
- ``house_price``: median price, HPSSA rolling year to Sep 2024 (England and Wales).
- ``affordability``: median house price / median residence-based earnings, latest year.
- ``weekly_pay``: ASHE median gross weekly pay (residence), latest year.
- ``gdhi_per_head``: gross disposable household income per head, latest year.
- ``qual_l3plus``: % aged 16-64 with RQF level 3+ (APS), latest year.
- ``imd_score``, ``imd_quintile``: IMD 2019 (England) / WIMD 2019 (Wales) average score, quintile
  within each nation (1 = most deprived).
- ``cluster_global``, ``cluster_economic``, ``cluster_demographic``: ONS LA clusters.
- ``region``, ``region_name``, ``nation``, ``name``: coordinates; ``gse``: Greater South East flag.
- ``workers``, ``wfh_workers``, ``wfh_share``: Census 2021 ODWP01EW residents in work, mainly working
  at or from home (category 1, which ONS labels "Mainly working at or from home, No fixed place", so
  the share, 45% in England and Wales, exceeds TS061's 31.5% working mainly at or from home), and
  their share of categories 1-3.
- ``jobs``: Census 2021 workplace counts (ODWP01EW category 3 by workplace plus category 1 at home).

Rules: the latest period with a value is used for each LAD (and recorded); an LAD with no value
at all takes its region's value (recorded in ``filled``); a nation a dataset does not cover stays
NaN (recorded in ``coverage``). The full record is ``ds.attrs["harmonisation"]`` (JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import MalformedDataError
from migravity.geodata.codes import AT_HOME, IN_UK, OFFSHORE_OR_ABROAD
from migravity.geodata.datadir import DataDir, dataset_path
from migravity.geodata.harmonise import HarmonisationReport, census_population, code_map, harmonise_values
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

_LAD_PREFIXES = ("E06", "E07", "E08", "E09", "W06", "S12", "N09")
_REGION_PREFIXES = ("E12", "W92", "S92", "N92")
#: The year of the mid-year population estimates used (values and rate weights).
_MYE_YEAR = "2023"


@dataclass(frozen=True)
class _Source:
    """A frame of values by code, with its vintage and how to harmonise it."""

    dataset: str
    vintage: str
    frame: pd.DataFrame  # columns: code, <value columns>
    how: Literal["sum", "mean"]
    period: str
    units: str
    coverage: tuple[str, ...]  # nation initials covered


def _is_lad(codes: pd.Series) -> pd.Series:
    return codes.str[:3].isin(_LAD_PREFIXES)


def _latest(df: pd.DataFrame, report: dict[str, str]) -> pd.DataFrame:
    """Per code, the value of the latest period that has one; notes codes not at the latest period."""
    df = df.dropna(subset=["value"]).sort_values("period")
    last = df.groupby("code").tail(1).set_index("code")
    newest = df.period.max()
    for code, per in last.period.items():
        if per != newest and str(code)[:3] in _LAD_PREFIXES:
            report[str(code)] = f"latest value is for {per} (not {newest})"
    return last.reset_index()


def _els(name: str, data_dir: DataDir, notes: dict[str, dict[str, str]]) -> tuple[pd.DataFrame, str]:
    df = load(name, data_dir)
    if "indicator" in df.columns:
        raise MalformedDataError(dataset_path(name, data_dir), "holds several indicators; expected one")
    rep: dict[str, str] = {}
    last = _latest(df[_is_lad(df.code)], rep)
    notes[name] = rep
    return last[["code", "value", "period"]], str(df.dropna(subset=["value"]).period.max())


def _sources(data_dir: DataDir, notes: dict[str, dict[str, str]]) -> list[tuple[str, _Source]]:
    out: list[tuple[str, _Source]] = []
    mye = load("population_mye", data_dir)
    mye = mye[(mye.date == _MYE_YEAR) & _is_lad(mye.code)][["code", "value"]]
    out.append(("population",
                _Source("population_mye", "2023", mye, "sum", f"mid-{_MYE_YEAR}", "persons", ("E", "W", "S", "N"))))

    age = load("census2021_age", data_dir)
    bands = [f"pct2021_s{s}_{b}" for s in (0, 1) for b in ("20-24", "25-29", "30-34")]
    # The published pyramid percentages do not sum to 100 (mean 103, rounding of each band), so the
    # 20-34 share is taken of the pyramid's own total.
    pyramid = [c for c in age.columns if c.startswith("pct2021_")]
    age = age.assign(age20_34_2021=age.pop2021 * age[bands].sum(axis=1) / age[pyramid].sum(axis=1))
    age_counts = age[["code", "pop2021", "under20_2021", "age20_64_2021", "over65_2021", "age20_34_2021"]]
    out.append(("_age", _Source("census2021_age", "2021", age_counts, "sum", "Census 2021", "persons", ("E", "W"))))

    hp = load("house_prices", data_dir)
    newest = hp.date.iloc[-1]
    hp = hp[(hp.date == newest) & _is_lad(hp.code)][["code", "value"]]
    out.append(("house_price", _Source("house_prices", "2023", hp, "mean", f"year to {newest}", "GBP", ("E", "W"))))

    for var, name, vintage, units, cov in (
        ("affordability", "affordability", "2025", "ratio", ("E", "W")),
        ("weekly_pay", "earnings", "2023", "GBP per week", ("E", "W", "S", "N")),
        ("gdhi_per_head", "gdhi", "2023", "GBP per head", ("E", "W", "S", "N")),
        ("qual_l3plus", "qualifications", "2023", "% aged 16-64", ("E", "W", "S")),
    ):
        frame, period = _els(name, data_dir, notes)
        out.append((var, _Source(name, vintage, frame[["code", "value"]], "mean", period, units, cov)))

    odwp = load("odwp01ew", data_dir)
    in_work = odwp[odwp.category.isin([AT_HOME, OFFSHORE_OR_ABROAD, IN_UK])]
    res = in_work.groupby(["origin", "category"])["count"].sum().unstack(fill_value=0)
    work = pd.DataFrame({"code": res.index, "workers": res.sum(axis=1).to_numpy(),
                         "wfh_workers": res[AT_HOME].to_numpy()})
    jobs_in = odwp[odwp.category.isin([AT_HOME, IN_UK])].groupby("destination")["count"].sum()
    work["jobs"] = work.code.map(jobs_in).fillna(0.0).to_numpy()
    out.append(("_work", _Source("odwp01ew", "2021", work, "sum", "Census 2021", "persons", ("E", "W"))))
    return out


def _harmonised(src: _Source, zones: ZoneSet, weights: pd.Series, data_dir: DataDir
                ) -> tuple[pd.DataFrame, HarmonisationReport]:
    cmap = code_map(src.vintage, zones.vintage, data_dir)
    cols = [c for c in src.frame.columns if c != "code"]
    return harmonise_values(src.frame, cmap, cols, how=src.how, weights=weights, dataset=src.dataset)


def _region_values(dataset: str, data_dir: DataDir) -> pd.Series:
    df = load(dataset, data_dir)
    if "period" not in df.columns:
        return pd.Series(dtype=float)
    reg = df[df.code.str[:3].isin(_REGION_PREFIXES)]
    return _latest(reg, {}).set_index("code")["value"]


def _imd(zones: ZoneSet, data_dir: DataDir) -> pd.DataFrame:
    """IMD 2019 average score by zone (England) and WIMD 2019 (Wales); quintile within nation."""
    eng = load("imd2019_england_ltla23", data_dir).set_index("code")["Score"]
    if zones.vintage == "2021":  # the 17 districts merged in 2023 exist (same codes) in the 2019 file
        eng19 = load("imd2019_england_ltla19", data_dir).set_index("code")["Score"]
        eng = pd.concat([eng19, eng[~eng.index.isin(eng19.index)]])
    wal = load("wimd2019", data_dir).set_index("code")["Score"]
    score = pd.concat([eng, wal]).reindex(list(zones.codes))
    quint = pd.Series(np.nan, index=score.index)
    for nation in ("E", "W"):
        sel = score.index.str[0] == nation
        s = score[sel]
        if s.notna().any():
            rank = s.rank(ascending=False, method="first")  # 1 = most deprived
            quint[sel] = np.floor(5 * (rank - 1) / s.notna().sum()) + 1
    return pd.DataFrame({"imd_score": score, "imd_quintile": quint})


def load_attributes(zones: ZoneSet, data_dir: DataDir = None) -> xr.Dataset:
    """Build the attributes Dataset (dimension ``lad``) for ``zones``; see the module docs.

    MSOA zones get :func:`migravity.geodata.msoa_attributes.load_msoa_attributes` (dimension ``msoa``).

    Parameters
    ----------
    zones : ZoneSet
        The study area; every source is harmonised to its code vintage.
    data_dir : path-like, optional
        The data directory.

    Returns
    -------
    xarray.Dataset
        The variables of the module docs along ``lad``; ``attrs["harmonisation"]`` is the JSON
        record of every harmonisation and fill.
    """
    if zones.level == "msoa":
        from migravity.geodata.msoa_attributes import load_msoa_attributes

        return load_msoa_attributes(zones, data_dir)
    notes: dict[str, dict[str, str]] = {}
    reports: list[dict[str, Any]] = []
    index = list(zones.codes)
    nations = pd.Series([c[0] for c in index], index=index)
    pop21 = census_population("2021", data_dir)
    # weights for rates by source code: Census 2021 population (2021 codes) and MYE (2023 codes)
    mye = load("population_mye", data_dir)
    weights = pd.concat([pop21, mye[mye.date == _MYE_YEAR].set_index("code")["value"]])
    weights = weights[~weights.index.duplicated()]
    region_of = pd.Series(zones.region_codes, index=index)

    data: dict[str, tuple[pd.Series, dict[str, str]]] = {}
    for var, src in _sources(data_dir, notes):
        frame, rep = _harmonised(src, zones, weights, data_dir)
        frame = frame.set_index("code").reindex(index)
        cols = [c for c in frame.columns if c != "source_code"]
        covered = nations.isin(src.coverage)
        attrs = {"source": src.dataset, "period": src.period, "units": src.units,
                 "coverage": "".join(src.coverage)}
        missing = frame[cols[0]].isna() & covered
        if missing.any() and src.how == "mean":
            regional = _region_values(src.dataset, data_dir)
            for code in frame.index[missing]:
                value = regional.get(region_of[code], np.nan)
                if np.isfinite(value):
                    frame.loc[code, cols[0]] = value
                    rep.filled[code] = f"{var}: no LAD estimate; region {region_of[code]} value {value:g}"
        still = frame[cols[0]].isna() & covered
        if still.any():
            rep.unmatched = sorted(set(rep.unmatched) | set(frame.index[still]))
        rep.notes.extend(f"{k}: {v}" for k, v in notes.get(src.dataset, {}).items() if k in frame.index)
        reports.append(json.loads(rep.to_json()))
        if var.startswith("_"):
            for c in cols:
                data[c] = (frame[c], attrs)
        else:
            data[var] = (frame[cols[0]], attrs)

    pop = data.pop("pop2021")
    ds = xr.Dataset(coords={
        "lad": index, "name": ("lad", list(zones.names)), "region": ("lad", list(zones.region_codes)),
        "region_name": ("lad", list(zones.region_names)), "nation": ("lad", list(zones.nations)),
    })
    for var, (series, attrs) in data.items():
        if var in ("under20_2021", "age20_64_2021", "over65_2021", "age20_34_2021"):
            continue
        ds[var] = ("lad", series.to_numpy(dtype=float))
        ds[var].attrs.update(attrs)
    age_attrs = {**pop[1], "units": "share of population"}
    ds["pop_census2021"] = ("lad", pop[0].to_numpy(dtype=float))
    ds["pop_census2021"].attrs.update({**pop[1], "units": "persons"})
    # The broad bands are rounded to 100 independently of the total (Isles of Scilly: 1,800 of 2,100),
    # so their shares are taken of the bands' sum, which makes them partition the population.
    bands = data["under20_2021"][0] + data["age20_64_2021"][0] + data["over65_2021"][0]
    for var, col, denominator in (("share_under20", "under20_2021", bands), ("share_20_64", "age20_64_2021", bands),
                                  ("share_65plus", "over65_2021", bands), ("share_20_34", "age20_34_2021", pop[0])):
        ds[var] = ("lad", (data[col][0] / denominator).to_numpy(dtype=float))
        ds[var].attrs.update(age_attrs)
    ds["wfh_share"] = ds["wfh_workers"] / ds["workers"]
    ds["wfh_share"].attrs.update({**data["workers"][1], "units": "share of workers"})

    imd = _imd(zones, data_dir)
    ds["imd_score"] = ("lad", imd.imd_score.to_numpy())
    ds["imd_score"].attrs.update({"source": "imd2019_england_ltla23/ltla19, wimd2019", "period": "2019",
                                  "units": "average score", "coverage": "EW"})
    ds["imd_quintile"] = ("lad", imd.imd_quintile.to_numpy())
    ds["imd_quintile"].attrs.update({"source": "imd_score", "units": "1 = most deprived, within nation",
                                     "coverage": "EW"})

    clusters = load("la_clusters", data_dir)
    cl, rep = _clusters(clusters, zones, data_dir)
    reports.append(json.loads(rep.to_json()))
    for c in ("global", "economic", "demographic"):
        ds[f"cluster_{c}"] = ("lad", cl[c].reindex(index).fillna("").to_numpy(dtype=object).astype(str))
        ds[f"cluster_{c}"].attrs.update({"source": "la_clusters", "units": "A-D; '' = not assigned by ONS"})
    ds["gse"] = ("lad", zones.gse)
    ds["gse"].attrs["description"] = "Greater South East: London, South East, East of England"
    ds.attrs.update({"zone_vintage": zones.vintage, "area": zones.area,
                     "harmonisation": json.dumps(reports)})
    return ds


def _clusters(clusters: pd.DataFrame, zones: ZoneSet, data_dir: DataDir) -> tuple[pd.DataFrame, HarmonisationReport]:
    """Categorical clusters: 2025 codes renamed; across a 2023 -> 2021 split the parent's class is kept."""
    cmap = code_map("2025", zones.vintage, data_dir)
    rep = HarmonisationReport("la_clusters", "2025", zones.vintage)
    rows: list[tuple[Any, ...]] = []
    for rec in clusters.itertuples(index=False):
        code = str(rec.code)
        if code in cmap.splits:
            rows.extend((child, rec[2], rec[3], rec[4]) for child in cmap.splits[code])
            rep.split[code] = dict(cmap.splits[code])
        else:
            new = cmap.mapping.get(code, code)
            if new != code:
                rep.renamed[code] = new
            rows.append((new, rec[2], rec[3], rec[4]))
    df = pd.DataFrame(rows, columns=["code", "global", "economic", "demographic"]).set_index("code")
    unassigned = df.index[df["global"].isna() & df.index.isin(zones.codes)]
    rep.notes.extend(f"{c}: ONS assigns no global/economic cluster" for c in unassigned)
    return df, rep

