"""The data of the research's model ladder: the pair table of each census period on one zone set.

Zones: the 318 local authority districts (LADs) of England and Wales on 2023 codes
(``load_zones("2023", "EW")``); inter-LAD pairs only (318 x 317 = 100,806 per period).

Periods
-------
``"2011"``
    Census 2011 migration (address one year before census day, 27 March 2011), the GB matrix
    MM01CUK_ALL harmonised from 2016 census-merged codes to 2023 codes by
    :func:`migravity.geodata.load_flows` (``"migration2011"``).
``"2021"``
    Census 2021 ODMG01EW (year to 21 March 2021), harmonised from 2021 to 2023 codes
    (``"migration2021"``).
``"pooled"``
    Both, stacked, with a period effect (``period_2021``).

Variables per LAD and period (origin ``o_`` and destination ``d_`` columns of the table):

``population``
    Census usual residents (2011: Census 2011; 2021: Census 2021, rounded to 100), from
    ``census2021_age``; summed across merges. ``log_pop_o``, its log at the origin, is the
    exposure of the rate model.
``pct_0_4`` (fertility proxy), ``pct_20_34`` (young adults), ``pct_65plus``
    Per cent of residents. 2011: Census 2011 QS103EW single years of age (2016 codes, counts
    summed to 2023 codes). 2021: ONS mid-2021 estimates by single year of age (MYE2, based on
    Census 2021, three months after census day; 2021 codes, summed), because the Census 2021
    five-year pyramid in the data is rounded to 100 persons a band (the Isles of Scilly's 0-4
    share would be 0).
``intl_in_pct``
    Arrivals from outside the UK in the year, per cent of residents. 2011: ONS mid-year
    estimates MYEB3 (2019 edition), international in-migration mid-2010 to mid-2011 over the
    mid-2010 population (2020 codes, summed). 2021: Census 2021 ODMG01EW, residents aged 1+ who
    lived outside the UK a year before (origin ``999999999``) over the Census 2021 population.
    The two are not the same measure (an estimate of all arrivals in the year against the
    arrivals still resident on census day, in a year of pandemic travel restrictions).
``house_price``
    HPSSA median price, rolling year to March of the census year (2023 codes).
``weekly_pay``
    ASHE median gross weekly pay, residence-based, April of the census year (2023 codes). ONS
    publishes no back series for LADs created after the census year (North and West
    Northamptonshire, East and West Suffolk, Cumberland, Westmorland and Furness, BCP in 2011)
    and suppresses the City of London and the Isles of Scilly: such an LAD takes its value of
    the nearest year with one, scaled by its region's change in median pay between the two
    years, else its region's value. Every fill is recorded.
Area types: ``imd_quintile`` (IMD 2019 in England, WIMD 2019 in Wales, quintiles within each
nation, 1 = most deprived; the 2019 indices serve both periods since no older index is in the
data) and ``cluster`` (the ONS local-authority Global clusters A-D of 2025; the two LADs ONS
leaves unassigned take the cluster of the LAD the Census 2011 tables merge them with: City of
London that of Westminster, Isles of Scilly that of Cornwall).

Pair columns: ``hp_ratio`` and ``pay_ratio`` (destination over origin), ``log_pop_o``, the area
dummies (``o_q2`` ... ``o_q5``, or ``o_clA``, ``o_clC``, ``o_clD``), ``period_2021`` and
``origin_key`` (``"period:origin"``, unique per period so the two periods stack). What each
source needed (merges, renames, fills) is in ``table.attrs["harmonisation"]`` (JSON).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from migravity.errors import DataError, check_choice
from migravity.geodata.covariates import HOUSE_PRICE_DATE, house_price_at, weekly_pay_at
from migravity.geodata.harmonise import CodeMap, HarmonisationReport, code_map, harmonise_values
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

DataDir = str | os.PathLike[str] | None

Period = Literal["2011", "2021", "pooled"]
Typology = Literal["imd", "cluster"]
PERIODS: tuple[str, ...] = get_args(Period)
TYPOLOGIES: tuple[str, ...] = get_args(Typology)
CENSUS_PERIODS: tuple[str, ...] = ("2011", "2021")

#: Zone variables copied onto each pair as ``o_<var>`` and ``d_<var>``.
ZONE_VARS: tuple[str, ...] = ("population", "pct_0_4", "pct_20_34", "pct_65plus", "intl_in_pct",
                              "house_price", "weekly_pay")

#: Area dummies of each typology (the reference category has none) and their reference.
AREA_DUMMIES: dict[str, tuple[str, ...]] = {"imd": ("o_q2", "o_q3", "o_q4", "o_q5"),
                                            "cluster": ("o_clA", "o_clC", "o_clD")}
AREA_CATEGORIES: dict[str, tuple[str, ...]] = {"imd": ("1", "2", "3", "4", "5"),
                                               "cluster": ("A", "B", "C", "D")}
AREA_REFERENCE: dict[str, str] = {"imd": "1", "cluster": "B"}

#: Census 2011 tables merge these LADs into a neighbour; the ONS clusters leave them unassigned.
_CLUSTER_FROM = {"E09000001": "E09000033", "E06000053": "E06000052"}
_LAD = ("E06", "E07", "E08", "E09", "W06")
_REGION = ("E12", "W92")


@dataclass(frozen=True)
class PeriodSources:
    """What one census period reads: its flows and the dates of its economic conditions."""

    flows: Literal["migration2011", "migration2021"]
    house_price_date: str
    pay_year: int
    label: str


SOURCES: dict[str, PeriodSources] = {
    "2011": PeriodSources("migration2011", HOUSE_PRICE_DATE[2011], 2011, "Census 2011, year to 27 March 2011"),
    "2021": PeriodSources("migration2021", HOUSE_PRICE_DATE[2021], 2021, "Census 2021, year to 21 March 2021"),
}


def check_period(period: str) -> None:
    """Raise :class:`~migravity.errors.ConfigError` naming ``period`` unless it is one of :data:`PERIODS`."""
    check_choice("period", period, PERIODS)


def check_typology(typology: str) -> None:
    """Raise :class:`~migravity.errors.ConfigError` naming ``typology`` unless it is ``imd`` or ``cluster``."""
    check_choice("typology", typology, TYPOLOGIES)


def periods_of(period: str) -> tuple[str, ...]:
    """The census periods a ``period`` option covers: ``("2011",)``, ``("2021",)`` or both."""
    check_period(period)
    return CENSUS_PERIODS if period == "pooled" else (period,)


class _Reader:
    """Loads each dataset and builds each code map once per table (several variables share them)."""

    def __init__(self, zones: ZoneSet, data_dir: DataDir) -> None:
        self.zones = zones
        self.data_dir = data_dir
        self._data: dict[str, pd.DataFrame] = {}
        self._maps: dict[str, CodeMap] = {}

    def load(self, name: str) -> pd.DataFrame:
        """The registered dataset ``name`` (read once)."""
        if name not in self._data:
            self._data[name] = load(name, self.data_dir)
        return self._data[name]

    def to_zones(self, frame: pd.DataFrame, source: str, cols: list[str], how: Literal["sum", "mean"],
                 dataset: str) -> tuple[pd.DataFrame, HarmonisationReport]:
        """Harmonise a frame of values by code to the zones' codes; raise if a zone is left without a value."""
        if source not in self._maps:
            self._maps[source] = code_map(source, self.zones.vintage, self.data_dir)
        out, rep = harmonise_values(frame, self._maps[source], cols, how=how, dataset=dataset)
        out = out.set_index("code")
        codes = list(self.zones.codes)
        extra = out.index.difference(pd.Index(codes))
        if len(extra):
            rep.notes.append(f"{len(extra)} codes outside the study area left out, e.g. {list(extra[:3])}")
        out = out.reindex(codes)
        bad = ~np.isfinite(out[cols].to_numpy(dtype=float)).all(axis=1)
        if bad.any():
            raise DataError(f"{dataset}: no value for {int(bad.sum())} zone(s) of {self.zones} after "
                            f"harmonisation: {list(out.index[bad][:5])}")
        return out[cols], rep


def _population(period: str, rd: _Reader) -> tuple[pd.Series, HarmonisationReport]:
    col = f"pop{period}"
    out, rep = rd.to_zones(rd.load("census2021_age")[["code", col]], "2021", [col], "sum", "census2021_age")
    rep.notes.append(f"Census {period} usual residents")
    return out[col].astype(float), rep


_BANDS = {"n_0_4": (0, 4), "n_20_34": (20, 34), "n_65plus": (65, 200)}


def _ages(period: str, rd: _Reader) -> tuple[pd.DataFrame, HarmonisationReport]:
    """Counts aged 0-4, 20-34, 65+ and in all on the zones' codes."""
    if period == "2011":
        q = rd.load("census2011_syoa")
        cols = {name: [f"age_{a}" for a in range(lo, min(hi, 100) + 1)] for name, (lo, hi) in _BANDS.items()}
        frame = pd.DataFrame({"code": q["code"], "n_all": q[[f"age_{a}" for a in range(101)]].sum(axis=1)}
                             | {name: q[c].sum(axis=1) for name, c in cols.items()})
        out, rep = rd.to_zones(frame, "2016", [*_BANDS, "n_all"], "sum", "census2011_syoa")
        rep.notes.append("Census 2011 QS103EW usual residents by single year of age")
        return out, rep
    m = rd.load("mye_syoa_mid2021")
    m = m[m["code"].str[:3].isin(_LAD)]
    by_age = m.groupby(["code", "age"])["population"].sum().unstack("age", fill_value=0.0)
    frame = pd.DataFrame({"code": by_age.index, "n_all": by_age.sum(axis=1).to_numpy()}
                         | {name: by_age.loc[:, lo:hi].sum(axis=1).to_numpy() for name, (lo, hi) in _BANDS.items()})
    out, rep = rd.to_zones(frame, "2021", [*_BANDS, "n_all"], "sum", "mye_syoa_mid2021")
    rep.notes.append("mid-2021 population by single year of age (Census 2021 based)")
    return out, rep


def _international(period: str, rd: _Reader, pop: pd.Series) -> tuple[pd.Series, HarmonisationReport]:
    """Arrivals from outside the UK in the year, per cent of residents."""
    if period == "2011":
        m = rd.load("mye_components_2002_2019")
        m = m[m["year"] == 2011][["code", "international_in", "population_prev"]]
        out, rep = rd.to_zones(m, "2020", ["international_in", "population_prev"], "sum", "mye_components_2002_2019")
        rep.notes.append("international in-migration mid-2010 to mid-2011 over the mid-2010 population")
        return 100.0 * out["international_in"] / out["population_prev"], rep
    od = rd.load("odmg01ew")
    arr = od[od["origin"] == "999999999"].groupby("destination", as_index=False)["count"].sum()
    out, rep = rd.to_zones(arr.rename(columns={"destination": "code"}), "2021", ["count"], "sum", "odmg01ew")
    rep.notes.append("residents aged 1+ who lived outside the UK a year before census day, "
                     "over the Census 2021 population")
    return 100.0 * out["count"] / pop, rep


def _house_prices(period: str, rd: _Reader) -> tuple[pd.Series, HarmonisationReport]:
    """HPSSA median price dated to the period's flows (:func:`migravity.geodata.covariates.house_price_at`)."""
    if "2023" not in rd._maps:
        rd._maps["2023"] = code_map("2023", rd.zones.vintage, rd.data_dir)
    return house_price_at(rd.zones, SOURCES[period].house_price_date, rd.data_dir,
                          frame=rd.load("house_prices"), cmap=rd._maps["2023"])


def _pay(period: str, rd: _Reader) -> tuple[pd.Series, HarmonisationReport]:
    """ASHE median weekly pay (residence) in April of the period's year, with the fills of the module docs
    (:func:`migravity.geodata.covariates.weekly_pay_at`)."""
    return weekly_pay_at(rd.zones, SOURCES[period].pay_year, rd.data_dir, frame=rd.load("earnings"))


def zone_attributes(period: str, zones: ZoneSet, data_dir: DataDir = None, *, reader: _Reader | None = None,
                    ) -> tuple[pd.DataFrame, list[HarmonisationReport]]:
    """The variables of one census period for each zone (see the module docs).

    Parameters
    ----------
    period : {"2011", "2021"}
        The census period.
    zones : ZoneSet
        The zones (England and Wales, 2023 codes, for the ladder).
    data_dir : path-like, optional
        Data directory.
    reader : optional
        Internal: a reader shared by several calls (loads each file once).

    Returns
    -------
    (pandas.DataFrame, list of HarmonisationReport)
        One row per zone code with the columns of :data:`ZONE_VARS`, and what each source needed.
    """
    check_choice("period", period, CENSUS_PERIODS)
    rd = reader if reader is not None else _Reader(zones, data_dir)
    pop, r_pop = _population(period, rd)
    ages, r_age = _ages(period, rd)
    intl, r_intl = _international(period, rd, pop)
    hp, r_hp = _house_prices(period, rd)
    pay, r_pay = _pay(period, rd)
    frame = pd.DataFrame({
        "population": pop,
        "pct_0_4": 100.0 * ages["n_0_4"] / ages["n_all"],
        "pct_20_34": 100.0 * ages["n_20_34"] / ages["n_all"],
        "pct_65plus": 100.0 * ages["n_65plus"] / ages["n_all"],
        "intl_in_pct": intl,
        "house_price": hp,
        "weekly_pay": pay,
    }, index=pd.Index(list(zones.codes), name="code"))
    return frame, [r_pop, r_age, r_intl, r_hp, r_pay]


def area_types(zones: ZoneSet, data_dir: DataDir = None) -> tuple[pd.DataFrame, HarmonisationReport]:
    """IMD quintile and ONS Global cluster of each zone (see the module docs).

    Returns
    -------
    (pandas.DataFrame, HarmonisationReport)
        Columns ``imd_quintile`` (``"1"`` ... ``"5"``) and ``cluster`` (``"A"`` ... ``"D"``) by
        zone code, and the record of the cluster fills.
    """
    from migravity.geodata.attributes import load_attributes

    ds = load_attributes(zones, data_dir)
    quint = pd.Series(ds["imd_quintile"].to_numpy(), index=list(zones.codes))
    if quint.isna().any():
        raise DataError(f"no IMD/WIMD 2019 quintile for {list(quint.index[quint.isna()])[:5]}")
    rep = HarmonisationReport("la_clusters", "2025", zones.vintage)
    clusters = load("la_clusters", data_dir).set_index("code")["global"]
    cl = pd.Series(ds["cluster_global"].to_numpy(), index=list(zones.codes)).astype(str)
    for code in cl.index[cl == ""]:
        donor = _CLUSTER_FROM.get(code)
        value = clusters.get(donor) if donor else None
        if not value:
            raise DataError(f"la_clusters: {code} has no ONS cluster and no donor LAD")
        cl[code] = value
        rep.filled[code] = (f"cluster: not assigned by ONS; {value}, the cluster of {donor} "
                            "(merged with it in Census 2011 tables)")
    frame = pd.DataFrame({"imd_quintile": quint.astype(int).astype(str), "cluster": cl})
    return frame, rep


def ladder_table(period: str = "pooled", typology: str = "imd", data_dir: DataDir = None) -> pd.DataFrame:
    """The pair table of the ladder for ``period`` (see the module docs).

    Parameters
    ----------
    period : {"pooled", "2011", "2021"}
        One census period, or both stacked.
    typology : {"imd", "cluster"}
        Which area dummies to add (both typologies' categories are always in
        ``o_area_imd``/``d_area_imd`` and ``o_area_cluster``/``d_area_cluster``).
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    pandas.DataFrame
        One row per (period, origin, destination) inter-LAD pair.
    """
    from migravity.geodata import load_flows, load_zones, od_table

    periods = periods_of(period)
    check_typology(typology)
    zones = load_zones("2023", "EW", data_dir)
    base = od_table(zones, kind=SOURCES[periods[0]].flows, attribute_vars=(), data_dir=data_dir)
    pos = {c: i for i, c in enumerate(zones.codes)}
    oi = base["origin"].map(pos).to_numpy()
    di = base["destination"].map(pos).to_numpy()
    areas, area_rep = area_types(zones, data_dir)
    reader = _Reader(zones, data_dir)
    reports: list[dict[str, Any]] = [json.loads(area_rep.to_json())]
    parts = []
    for p in periods:
        if p == periods[0]:
            flow = base["flow"].to_numpy()
            summary = base.attrs.get("flows", "")
        else:
            fl = load_flows(SOURCES[p].flows, zones, data_dir)
            flow = fl.to_numpy()[oi, di]
            summary = fl.attrs.get("summary", "")
        reports.append({"dataset": SOURCES[p].flows, "period": p, "summary": summary})
        z, reps = zone_attributes(p, zones, data_dir, reader=reader)
        reports.extend({**json.loads(r.to_json()), "period": p} for r in reps)
        t = pd.DataFrame({"period": p, "origin": base["origin"].to_numpy(),
                          "destination": base["destination"].to_numpy(), "flow": flow,
                          "distance_km": base["distance_km"].to_numpy(), "border": base["border"].to_numpy()})
        for var in ZONE_VARS:
            values = z[var].to_numpy(dtype=float)
            t[f"o_{var}"] = values[oi]
            t[f"d_{var}"] = values[di]
        for kind, col in (("imd", "imd_quintile"), ("cluster", "cluster")):
            values = areas[col].to_numpy()
            t[f"o_area_{kind}"] = values[oi]
            t[f"d_area_{kind}"] = values[di]
        parts.append(t)
    table = pd.concat(parts, ignore_index=True)
    table["origin_key"] = table["period"] + ":" + table["origin"]
    table["log_pop_o"] = np.log(table["o_population"])
    table["hp_ratio"] = table["d_house_price"] / table["o_house_price"]
    table["pay_ratio"] = table["d_weekly_pay"] / table["o_weekly_pay"]
    table["period_2021"] = (table["period"] == "2021").astype(float)
    add_area_dummies(table, typology)
    table.attrs["zones"] = repr(zones)
    table.attrs["period"] = period
    table.attrs["typology"] = typology
    table.attrs["harmonisation"] = json.dumps(reports)
    return table


def add_area_dummies(table: pd.DataFrame, typology: str) -> None:
    """Add (in place) the sending-area dummies of ``typology`` (:data:`AREA_DUMMIES`)."""
    check_typology(typology)
    col = table[f"o_area_{typology}"]
    for name in AREA_DUMMIES[typology]:
        category = name[len("o_q"):] if typology == "imd" else name[len("o_cl"):]
        table[name] = (col == category).astype(float)
