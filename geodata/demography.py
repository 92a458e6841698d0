"""Demographic inputs by LAD: components of change, pre-COVID internal migration, the official projection.

Everything is returned on the zones of a :class:`~migravity.geodata.zones.ZoneSet`, harmonised
explicitly from each file's code vintage with :mod:`migravity.geodata.harmonise` (counts summed
across mergers, apportioned by population across splits). Rows of nations outside the study area
are recorded in the report's ``outside`` (with their population) and left out; aggregate rows
(counties, regions, countries) are left out by code prefix; an LAD of a nation inside the study area
that matches no zone raises :class:`~migravity.errors.HarmonisationError`. The
:class:`~migravity.geodata.harmonise.HarmonisationReport` of each source is stored as JSON in
``attrs["harmonisation"]``.

Sources (see ``lad/PROVENANCE.md`` and ``projections/PROVENANCE.md`` of the data directory):

- ``mye_components_2002_2019``: ONS MYEB3, mid-2001 -> mid-2019, LAD 2020 codes, pre-Census-2021
  series (not rebased);
- ``mye_components_2019_2020``: ONS MYE3, mid-2019 -> mid-2020, LAD 2021 codes, pre-rebasing;
- ``mye_components_census2021_mid2021``: ONS MYE3a, Census day (21 March 2021) -> mid-2021 (about
  3 months), LAD 2021 codes, Census-2021-based; international migration net only;
- ``population_mye``: mid-year estimates, all ages, 1991-2023, 2023 codes (the rebased series);
- ``snpp2018``: ONS 2018-based subnational population projections for England, principal, all ages,
  2018-2043, 2023 codes.

Year convention of the components: ``year`` is the mid-year a period of change **ends** in (the
MYEB3 convention): ``year=2015`` is mid-2014 -> mid-2015; ``year=2020`` is mid-2019 -> mid-2020;
``year=2021`` is the short period Census 2021 -> mid-2021 (``months`` = 3.3; mid-2020 -> Census day
is not published). ``population`` is the population at the start of the period, ``population_end``
at its end. There is a level break between mid-2020 (pre-rebasing) and Census 2021: ``chain_gap``
records it.

Caveat on gross internal flows: where LADs are merged (2020/2021 -> 2023 codes: Northamptonshire,
Cumbria, North Yorkshire, Somerset, ...), ``internal_in`` and ``internal_out`` are sums over the old
districts and so still count moves between districts that are now one LAD; ``internal_net`` is exact.
"""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import ConfigError, HarmonisationError, InputError
from migravity.geodata.datadir import DataDir
from migravity.geodata.harmonise import HarmonisationReport, code_map, harmonise_values
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

_LAD_PREFIXES = ("E06", "E07", "E08", "E09", "W06", "S12", "N09")

#: The component variables of :func:`load_components` (counts of persons in the period).
COMPONENTS: tuple[str, ...] = ("births", "deaths", "internal_in", "internal_out", "internal_net",
                               "international_in", "international_out", "international_net", "other")
#: Default pre-COVID window of :func:`precovid_internal` and :func:`precovid_rates`: the five years of
#: change ending mid-2015 ... mid-2019 (mid-2014 -> mid-2019), the latest five full years before COVID
#: in the MYEB3 series (mid-2019 -> mid-2020 includes the first lockdown).
PRECOVID_WINDOW: tuple[int, int] = (2015, 2019)
#: Years of the SNPP 2018-based projection.
PROJECTION_YEARS: tuple[int, int] = (2018, 2043)
WalesGrowth = Literal["lad_trend", "wales_trend", "england_projection"]
#: What Welsh LADs get in :func:`projection_growth` (no Welsh projection is in the data).
WALES_GROWTH: tuple[str, ...] = ("lad_trend", "wales_trend", "england_projection")


def _is_lad(codes: pd.Series) -> pd.Series:
    return codes.str[:3].isin(_LAD_PREFIXES)


def _on_zones(frame: pd.DataFrame, vintage: str, zones: ZoneSet, value_cols: list[str], dataset: str,
              data_dir: DataDir, weight_col: str | None = None) -> tuple[pd.DataFrame, HarmonisationReport]:
    """LAD rows of ``frame`` (column ``code``) harmonised onto ``zones``: a frame indexed by zone code.

    LADs of nations outside the study area go to ``report.outside`` (summing ``weight_col``, or the
    first value column); zones with no row are NaN and listed in ``report.notes``.
    """
    lads = frame[_is_lad(frame.code)]
    nations = {c[0] for c in zones.codes}
    inside = lads.code.str[0].isin(nations)
    rep_col = weight_col or value_cols[0]
    outside = {str(c): float(v) for c, v in zip(lads.code[~inside], lads[rep_col][~inside], strict=True)}
    cmap = code_map(vintage, zones.vintage, data_dir)
    out, rep = harmonise_values(lads[inside], cmap, value_cols, how="sum", dataset=dataset)
    rep.outside.update(outside)
    out = out.set_index("code")
    unknown = sorted(set(out.index) - set(zones.codes))
    if unknown:
        raise HarmonisationError(f"{dataset}: codes {unknown[:10]} (vintage {vintage}) match no zone of {zones}")
    missing = [c for c in zones.codes if c not in out.index]
    if missing:
        rep.notes.append(f"no data for {len(missing)} zones (left NaN): {missing[:10]}"
                         + (" ..." if len(missing) > 10 else ""))
    return out.reindex(list(zones.codes)), rep


def _reports_json(reports: list[HarmonisationReport]) -> str:
    return json.dumps([json.loads(r.to_json()) for r in reports])


def load_components(zones: ZoneSet, data_dir: DataDir = None) -> xr.Dataset:
    """Components of population change by LAD and year (mid-2002 ... mid-2020, and Census 2021 -> mid-2021).

    Parameters
    ----------
    zones : ZoneSet
        The study area (e.g. ``load_zones("2023", "EW")``).
    data_dir : path-like, optional
        The data directory.

    Returns
    -------
    xarray.Dataset
        Dimensions ``lad`` and ``year`` (the mid-year each period ends in, 2002 ... 2021; see the
        module docstring). Variables: ``population`` (start of period), ``population_end``, the
        :data:`COMPONENTS`, ``residual`` = ``population_end - population - (births - deaths +
        internal_net + international_net + other)`` (rounding in the published tables) and
        ``chain_gap`` = ``population[year] - population_end[year - 1]`` (0 within a series; the
        mid-2020 -> Census 2021 level break at 2021). Coordinates on ``year``: ``period`` (text),
        ``months`` (length of the period) and ``series``. ``international_in`` / ``_out`` are NaN
        for 2021 (published net only). ``attrs["harmonisation"]``: the reports (JSON).
    """
    reports: list[HarmonisationReport] = []
    counts = ["population", "population_end", *COMPONENTS]

    # MYEB3 2002-2019 (LAD 2020 codes): wide by year, harmonised in one pass
    myeb3 = load("mye_components_2002_2019", data_dir)
    myeb3 = myeb3.rename(columns={"population_prev": "population", "population": "population_end",
                                  "other_change": "other"})
    myeb3_years = sorted(int(y) for y in myeb3.year.unique())
    wide = myeb3.pivot(index="code", columns="year", values=counts)
    wide.columns = [f"{v}|{y}" for v, y in wide.columns]
    wide = wide.reset_index()
    cols = [c for c in wide.columns if c != "code"]
    h, rep = _on_zones(wide, "2020", zones, cols, "mye_components_2002_2019", data_dir,
                       weight_col=f"population_end|{myeb3_years[-1]}")
    reports.append(rep)
    blocks: dict[int, pd.DataFrame] = {}
    for y in myeb3_years:
        blocks[y] = h[[f"{v}|{y}" for v in counts]].set_axis(counts, axis=1)

    for name, year in (("mye_components_2019_2020", 2020), ("mye_components_census2021_mid2021", 2021)):
        df = load(name, data_dir).rename(columns={"population_start": "population"})
        hz, rep = _on_zones(df, "2021", zones, counts, name, data_dir, weight_col="population_end")
        if year == 2021:
            hz[["international_in", "international_out"]] = np.nan
        reports.append(rep)
        blocks[year] = hz[counts]

    years = sorted(blocks)
    data = {v: (("lad", "year"), np.column_stack([blocks[y][v].to_numpy(float) for y in years]))
            for v in counts}
    ds = xr.Dataset(data, coords={"lad": zones.index, "year": years})
    ds["residual"] = ds.population_end - ds.population - (
        ds.births - ds.deaths + ds.internal_net + ds.international_net + ds.other)
    prev_end = ds.population_end.shift(year=1)
    ds["chain_gap"] = ds.population - prev_end
    ds = ds.assign_coords(
        period=("year", [f"mid-{y - 1} to mid-{y}" if y <= 2020 else "Census 2021 (21 March) to mid-2021"
                         for y in years]),
        months=("year", [12.0 if y <= 2020 else 3.3 for y in years]),
        series=("year", ["MYEB3 2019 edition (pre-Census-2021)" if y <= 2019 else
                         "MYE3 (pre-Census-2021)" if y == 2020 else "MYE3a (Census-2021-based)"
                         for y in years]),
        name=("lad", list(zones.names)), region=("lad", list(zones.region_codes)),
    )
    ds.population.attrs.update(units="persons", description="population at the start of the period")
    ds.population_end.attrs.update(units="persons", description="population at the end of the period")
    ds.residual.attrs.update(units="persons", description="accounting residual (rounding in the tables)")
    ds.chain_gap.attrs.update(units="persons",
                              description="start population minus the previous period's end population")
    ds.attrs["harmonisation"] = _reports_json(reports)
    ds.attrs["year_convention"] = "year = the mid-year the period of change ends in"
    return ds


def _window(window: tuple[int, int], years: np.ndarray) -> list[int]:
    lo, hi = window
    wanted = list(range(int(lo), int(hi) + 1))
    if lo > hi or any(y not in set(years.tolist()) or y > 2020 for y in wanted):
        raise ConfigError("window", window, "use two years with 2002 <= first <= last <= 2020 "
                                            f"(e.g. {PRECOVID_WINDOW}; 2021 is a 3-month period)")
    return wanted


def precovid_internal(zones: ZoneSet, window: tuple[int, int] = PRECOVID_WINDOW,
                      data_dir: DataDir = None, *, components: xr.Dataset | None = None) -> xr.Dataset:
    """Mean annual internal migration per LAD over a pre-COVID window of the mid-year estimates.

    Parameters
    ----------
    zones : ZoneSet
        The study area.
    window : tuple of int
        First and last ``year`` (the mid-year a year of change ends in), both included. The default
        :data:`PRECOVID_WINDOW` = (2015, 2019) is mid-2014 -> mid-2019: five full years, the latest
        before COVID, in one series (MYEB3 2019 edition).
    data_dir : path-like, optional
        The data directory.
    components : xarray.Dataset, optional
        The output of :func:`load_components` (loaded when not given).

    Returns
    -------
    xarray.Dataset
        ``internal_in``, ``internal_out``, ``internal_net`` (persons a year), dimension ``lad``.
    """
    comp = load_components(zones, data_dir) if components is None else components
    years = _window(window, comp.year.to_numpy())
    sub = comp[["internal_in", "internal_out", "internal_net"]].sel(year=years).mean("year")
    for v in sub.data_vars.values():
        v.attrs.update(units="persons per year", period=f"mean of years ending mid-{years[0]} ... mid-{years[-1]}")
    sub.attrs = {"window": list(window), "harmonisation": comp.attrs.get("harmonisation", "")}
    return sub


def precovid_rates(zones: ZoneSet, window: tuple[int, int] = PRECOVID_WINDOW, data_dir: DataDir = None,
                   *, components: xr.Dataset | None = None) -> xr.Dataset:
    """Crude annual rates per LAD over a pre-COVID window: births, deaths, net international, net internal.

    Each rate is the window's total of the component divided by the window's total start population
    (person-years), so years weigh by their population.

    Returns
    -------
    xarray.Dataset
        ``births_rate``, ``deaths_rate``, ``international_net_rate``, ``internal_net_rate`` (per
        person per year), dimension ``lad``.
    """
    comp = load_components(zones, data_dir) if components is None else components
    years = _window(window, comp.year.to_numpy())
    sub = comp.sel(year=years).sum("year")
    out = xr.Dataset({f"{v}_rate": sub[v] / sub.population
                      for v in ("births", "deaths", "international_net", "internal_net")})
    out.attrs = {"window": list(window)}
    return out


def load_projection(zones: ZoneSet, data_dir: DataDir = None) -> xr.Dataset:
    """The ONS 2018-based SNPP (principal, all ages) by LAD and year, 2018-2043; England only.

    Parameters
    ----------
    zones : ZoneSet
        The study area; its Welsh LADs get NaN (no Welsh projection is in the data).
    data_dir : path-like, optional
        The data directory.

    Returns
    -------
    xarray.Dataset
        ``population`` (``lad``, ``year``), and ``projected`` (``lad``, bool: the zone has a
        projection). ``attrs["harmonisation"]``: the report (JSON).
    """
    df = load("snpp2018", data_dir)
    wide = df.pivot(index="code", columns="year", values="population")
    years = [int(y) for y in wide.columns]
    wide.columns = [str(y) for y in years]
    wide = wide.reset_index()
    h, rep = _on_zones(wide, "2023", zones, [str(y) for y in years], "snpp2018", data_dir, weight_col="2018")
    pop = xr.DataArray(h.to_numpy(float), dims=("lad", "year"), coords={"lad": zones.index, "year": years},
                       attrs={"units": "persons", "source": "ONS SNPP 2018-based principal"})
    projected = xr.DataArray(~np.isnan(pop.to_numpy()).any(axis=1), dims="lad", coords={"lad": zones.index})
    return xr.Dataset({"population": pop, "projected": projected},
                      attrs={"harmonisation": _reports_json([rep])})


def _observed_growth_2011_2021(zones: ZoneSet, data_dir: DataDir) -> tuple[np.ndarray, float]:
    p11 = load_population(zones, 2011, data_dir).to_numpy()
    p21 = load_population(zones, 2021, data_dir).to_numpy()
    wales = np.array([c.startswith("W") for c in zones.codes])
    lad_rate = (p21 / p11) ** 0.1
    nation_rate = float((p21[wales].sum() / p11[wales].sum()) ** 0.1) if wales.any() else float("nan")
    return lad_rate, nation_rate


def projection_growth(zones: ZoneSet, base_year: int, years: list[int] | np.ndarray,
                      data_dir: DataDir = None, *, wales: WalesGrowth = "lad_trend",
                      projection: xr.Dataset | None = None) -> xr.DataArray:
    """Projected growth factor per LAD: population(t) / population(base_year).

    England: the ONS 2018-based SNPP principal projection. Wales (no Welsh Government projection in
    the data), by ``wales``:

    - ``"lad_trend"`` (default): each Welsh LAD's observed mid-2011 -> mid-2021 compound annual
      growth (mid-year estimates, Census-based at both ends), carried forward:
      ``g ** (t - base_year)``. This is the trend-based logic of the official projections applied to
      the latest intercensal decade.
    - ``"wales_trend"``: Wales's observed 2011-2021 annual growth, the same for every Welsh LAD.
    - ``"england_projection"``: England's SNPP growth applied to every Welsh LAD.

    Parameters
    ----------
    zones : ZoneSet
        The study area.
    base_year : int
        Year of growth 1 (2018 ... 2043).
    years : sequence of int
        Years wanted (2018 ... 2043).
    data_dir : path-like, optional
        The data directory.
    wales : {"lad_trend", "wales_trend", "england_projection"}
        What Welsh LADs get.
    projection : xarray.Dataset, optional
        The output of :func:`load_projection` (loaded when not given).

    Returns
    -------
    xarray.DataArray
        ``(lad, year)`` growth factors, with coordinate ``growth_source`` on ``lad`` (``"snpp2018"``
        or ``"wales:<option>"``): the flag of what each LAD got.
    """
    if wales not in WALES_GROWTH:
        raise ConfigError("wales", wales, "use one of " + ", ".join(WALES_GROWTH))
    lo, hi = PROJECTION_YEARS
    yrs = [int(y) for y in np.atleast_1d(np.asarray(years))]
    for field, vals in (("base_year", [int(base_year)]), ("years", yrs)):
        if not vals or min(vals) < lo or max(vals) > hi:
            raise ConfigError(field, vals if field == "years" else base_year,
                              f"use years within the projection, {lo} ... {hi}")
    proj = load_projection(zones, data_dir) if projection is None else projection
    pop = proj.population
    growth = (pop.sel(year=yrs) / pop.sel(year=int(base_year))).to_numpy()
    is_wales = np.array([c.startswith("W") for c in zones.codes])
    missing = ~proj.projected.to_numpy()
    if (missing & ~is_wales).any():
        bad = [c for c, m in zip(zones.codes, missing & ~is_wales, strict=True) if m]
        raise HarmonisationError(f"snpp2018: no projection for English zones {bad[:10]}")
    steps = np.asarray(yrs, dtype=float) - float(base_year)
    if is_wales.any():
        if wales == "england_projection":
            eng = pop.where(~np.isnan(pop)).sum("lad", min_count=1)
            g_eng = (eng.sel(year=yrs) / eng.sel(year=int(base_year))).to_numpy()
            growth[is_wales] = g_eng[None, :]
        else:
            lad_rate, nation_rate = _observed_growth_2011_2021(zones, data_dir)
            rate = lad_rate[is_wales] if wales == "lad_trend" else np.full(is_wales.sum(), nation_rate)
            growth[is_wales] = rate[:, None] ** steps[None, :]
    source = np.where(is_wales, f"wales:{wales}", "snpp2018")
    return xr.DataArray(growth, dims=("lad", "year"), coords={"lad": zones.index, "year": yrs,
                                                               "growth_source": ("lad", source.tolist())},
                        attrs={"base_year": int(base_year), "wales": wales,
                               "description": "population(year) / population(base_year)"})


def load_population(zones: ZoneSet, year: int = 2023, data_dir: DataDir = None) -> xr.DataArray:
    """Mid-year population estimate, all ages, by LAD (ONS MYE, the rebased series, 1991-2023).

    Parameters
    ----------
    zones : ZoneSet
        The study area.
    year : int
        The mid-year (1991 ... 2023; default 2023, the latest).
    data_dir : path-like, optional
        The data directory.

    Returns
    -------
    xarray.DataArray
        Persons by ``lad``; ``attrs["harmonisation"]`` holds the report.

    Raises
    ------
    InputError
        If a zone has no estimate for ``year`` (the file has gaps for some LADs in early years).
    """
    df = load("population_mye", data_dir)
    sub = df[df.date == str(int(year))]
    if sub.empty:
        years = sorted(df.date.unique())
        raise ConfigError("year", year, f"use a year from {years[0]} to {years[-1]}")
    h, rep = _on_zones(sub[["code", "value"]], "2023", zones, ["value"], "population_mye", data_dir)
    values = h["value"].to_numpy(float)
    if np.isnan(values).any():
        bad = [c for c, v in zip(zones.codes, values, strict=True) if np.isnan(v)]
        raise InputError(f"population_mye: no mid-{year} estimate for zones {bad[:10]}; use a later year")
    return xr.DataArray(values, dims="lad", coords={"lad": zones.index},
                        attrs={"units": "persons", "period": f"mid-{year}", "harmonisation": rep.to_json()})
