"""Census skills, working from home (WFH) and jobs by LAD, 2011 and 2021, as one labelled Dataset.

Every table is read on LAD 2021 codes (the Census 2011 tables were re-based to them by their
provider; see ``census2011/PROVENANCE.md``) or, for the 2011 commuting flows, on the 2011 Census
merged districts, and harmonised to the zones' vintage with :func:`~migravity.geodata.harmonise.code_map`
and :func:`~migravity.geodata.harmonise.harmonise_values`: counts are summed across merges (and
apportioned by population across a split); every derived share is computed *after* the counts are
harmonised. Codes outside the study area are left out and reported; a zone without a value is an
error. The records are in ``ds.attrs["harmonisation"]`` (JSON list of reports).

Variables (counts are persons)
------------------------------
``workers_2021``, ``wfh_2021``, ``wfh_share_2021``
    TS061: residents 16+ in employment; of them, working mainly at or from home (census day
    21 March 2021, a lockdown: 31.2% in England and Wales).
``hsl_2021_nssec``, ``hsl_2021_occupation``, ``hsl_2021``
    High-skilled workers (HSL). NS-SEC base: NS-SEC analytic classes 1 and 2 (L1-L6, managerial,
    administrative and professional occupations). TS062 counts all residents 16+, including the
    retired (classified by their last job), the never-worked and long-term unemployed (L14) and
    full-time students (L15). The base adjustment is
    ``hsl = workers_2021 * (L1..L6) / (L1..L13)``: the HSL share among residents with a classified
    occupation, applied to the workers. (It assumes the retired and unemployed with a past
    occupation have the class mix of the employed; retirees' mix is a little older and more
    routine, so the rule slightly understates the HSL share where many retirees live.)
    Occupation base: SOC 2020 major groups 1-3 (managers, professionals, associate
    professionals) of TS063, whose base is already the employed, as ``workers_2021 x`` their
    share. ``hsl_2021`` is the base chosen with ``hsl_base``.
``workers_2011``, ``hsl_2011_nssec``, ``hsl_2011_occupation``, ``hsl_2011``
    QS606EW residents 16-74 in employment; the same rules on QS607EW (NS-SEC 1-2 over the
    classified classes 1-7, residents 16-74) and on QS606EW (SOC 2010 groups 1-3).
``level4_2011``, ``level4_base_2011``, ``level4_share_2011`` (and the same for 2021)
    Residents 16+ with level 4 qualifications or above (QS501EW, TS067), and all residents 16+.
``teleworkability_2011``, ``teleworkability_2021``
    The pre-determined WFH exposure of the resident workers: ``sum_k e_ik t_k``, with ``e_ik`` the
    employment share of SOC major group ``k`` (QS606EW SOC 2010, TS063 SOC 2020) and ``t_k`` the
    scores of :data:`TELEWORKABILITY_SOC`.
``jobs_2011``, ``jobs_2021``
    Workplace jobs. 2011: Census 2011 WU03UK (dataset ``commute2011``): persons working in the LAD
    (summed over all UK residences, i.e. the column sums) plus its residents working mainly at or
    from home. 2021: ODWP01EW the same way (category 3 by workplace plus category 1 at home); in
    the lockdown census category 1 is large and includes "no fixed place", so the 2021 jobs lean
    towards residence.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import HarmonisationError, check_choice
from migravity.geodata.codes import AT_HOME, IN_UK
from migravity.geodata.datadir import DataDir
from migravity.geodata.harmonise import HarmonisationReport, code_map, harmonise_values
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

HslBase = Literal["nssec", "occupation"]
HSL_BASES: tuple[str, ...] = ("nssec", "occupation")

#: Teleworkability score of each SOC major group (1-9): the share of the group's jobs that can be
#: done from home.
#:
#: Source: Office for National Statistics (2020), "Coronavirus and homeworking in the UK: April 2020"
#: (statistical bulletin, 8 July 2020, Labour Market Survey), section "Homeworking by occupation":
#: the percentage of people in employment in each SOC 2010 major group who did some work at home in
#: April 2020, the first lockdown, when everyone who could work from home was told to. The values
#: are rounded to 0.05 and were transcribed without access to the bulletin's data table: check
#: them against it before citing them. They rank the groups as the ONS (2020) "Which jobs can be
#: done from home?" homeworking-ability scores and Dingel and Neiman (2020, J. Public Econ. 189,
#: 104235) do: professional > managers > associate professional ~ administrative >> manual and
#: service groups. The same scores serve SOC 2010 (2011) and SOC 2020 (2021): the major groups
#: have the same titles.
TELEWORKABILITY_SOC: dict[int, float] = {
    1: 0.60,  # managers, directors and senior officials
    2: 0.70,  # professional occupations
    3: 0.55,  # associate professional and technical occupations
    4: 0.55,  # administrative and secretarial occupations
    5: 0.15,  # skilled trades occupations
    6: 0.15,  # caring, leisure and other service occupations
    7: 0.15,  # sales and customer service occupations
    8: 0.05,  # process, plant and machine operatives
    9: 0.10,  # elementary occupations
}

_SOC = [f"soc{k}" for k in range(1, 10)]
_TS062_CLASSIFIED = ["l1_3", "l4_6", "l7", "l8_9", "l10_11", "l12", "l13"]
_QS607_CLASSIFIED = [f"nssec{k}" for k in range(1, 8)]
#: A GSS area code of any UK nation, and of England and Wales (the special codes WFH, -8, 999999999... are not).
_GSS = r"[EWSN]\d{8}"
_GSS_EW = r"[EW]\d{8}"


def teleworkability(soc_counts: np.ndarray) -> np.ndarray:
    """``sum_k share_k x t_k`` per row of SOC major-group counts (columns 1..9; rows with no workers: NaN)."""
    counts = np.asarray(soc_counts, dtype=float)
    scores = np.array([TELEWORKABILITY_SOC[k] for k in range(1, 10)])
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts @ scores / total, np.nan)


def _commute2011_jobs(data_dir: DataDir) -> pd.DataFrame:
    """Census 2011 workplace jobs by LAD (2011 merged districts): in-LAD workplaces plus home workers."""
    c = load("commute2011", data_dir)
    at_lad = c[c.destination.str.fullmatch(_GSS)].groupby("destination")["count"].sum()
    at_home = c[c.destination == "WFH"].groupby("origin")["count"].sum()
    jobs = at_lad.add(at_home, fill_value=0.0)
    jobs = jobs[jobs.index.str.fullmatch(_GSS_EW)]
    return pd.DataFrame({"code": jobs.index, "jobs_2011": jobs.to_numpy()})


def _odwp01ew_jobs(data_dir: DataDir) -> pd.DataFrame:
    """Census 2021 workplace jobs by LAD (2021 codes): category 3 by workplace plus category 1 at home."""
    odwp = load("odwp01ew", data_dir)
    at_work = odwp[odwp.category == IN_UK].groupby("destination")["count"].sum()
    at_home = odwp[odwp.category == AT_HOME].groupby("origin")["count"].sum()
    jobs = at_work.add(at_home, fill_value=0.0)
    jobs = jobs[jobs.index.str.fullmatch(_GSS_EW)]
    return pd.DataFrame({"code": jobs.index, "jobs_2021": jobs.to_numpy()})


def _lad21_counts(data_dir: DataDir) -> pd.DataFrame:
    """The counts of every Census table on LAD 2021 codes, one row per LAD."""
    t61 = load("census2021_ts061", data_dir)
    t62 = load("census2021_ts062", data_dir)
    t63 = load("census2021_ts063", data_dir)
    t67 = load("census2021_ts067", data_dir)
    q606 = load("census2011_qs606", data_dir)
    q607 = load("census2011_qs607", data_dir)
    q501 = load("census2011_qs501", data_dir)
    frames = [
        t61.set_index("code")[["workers", "wfh"]].rename(columns={"workers": "workers_2021", "wfh": "wfh_2021"}),
        pd.DataFrame({"nssec_hsl_2021": t62[["l1_3", "l4_6"]].sum(axis=1).to_numpy(),
                      "nssec_classified_2021": t62[_TS062_CLASSIFIED].sum(axis=1).to_numpy()}, index=t62.code),
        t63.set_index("code")[["workers", *_SOC]].rename(columns={"workers": "soc_total_2021",
                                                                  **{s: f"{s}_2021" for s in _SOC}}),
        t67.set_index("code")[["level4plus", "residents_16plus"]].rename(
            columns={"level4plus": "level4_2021", "residents_16plus": "level4_base_2021"}),
        q606.set_index("code")[["workers", *_SOC]].rename(columns={"workers": "workers_2011",
                                                                   **{s: f"{s}_2011" for s in _SOC}}),
        pd.DataFrame({"nssec_hsl_2011": q607[["nssec1", "nssec2"]].sum(axis=1).to_numpy(),
                      "nssec_classified_2011": q607[_QS607_CLASSIFIED].sum(axis=1).to_numpy()}, index=q607.code),
        q501.set_index("code")[["level4plus", "residents_16plus"]].rename(
            columns={"level4plus": "level4_2011", "residents_16plus": "level4_base_2011"}),
    ]
    out = pd.concat(frames, axis=1, join="outer")
    out.index.name = "code"
    return out.reset_index()


def _to_zones(frame: pd.DataFrame, vintage: str, zones: ZoneSet, dataset: str, data_dir: DataDir
              ) -> tuple[pd.DataFrame, HarmonisationReport]:
    """Sum counts onto the zones' codes; report codes outside the study area; raise on a zone without a value."""
    cols = [c for c in frame.columns if c != "code"]
    out, rep = harmonise_values(frame, code_map(vintage, zones.vintage, data_dir), cols, how="sum", dataset=dataset)
    out = out.set_index("code")
    codes = pd.Index(list(zones.codes))
    for code in out.index.difference(codes):
        rep.outside[str(code)] = float(out.loc[code, cols[0]])
    out = out.reindex(codes)
    bad = out.isna().any(axis=1)
    if bad.any():
        col = out.columns[out.loc[bad].isna().any(axis=0)][0]
        raise HarmonisationError(f"{dataset}: no {col} for {int(bad.sum())} zone(s) of {zones.vintage} codes "
                                 f"after harmonisation, e.g. {list(out.index[bad][:3])}; use zones of the "
                                 f"2021 or 2023 vintage in England and Wales")
    return out, rep


def load_skills(zones: ZoneSet, data_dir: DataDir = None, *, hsl_base: HslBase = "nssec") -> xr.Dataset:
    """Census 2011 and 2021 skills, WFH, teleworkability and jobs of each zone (see the module docs).

    Parameters
    ----------
    zones : ZoneSet
        The study area (England and Wales LADs; other nations have no values and raise).
    data_dir : path-like, optional
        The data directory.
    hsl_base : {"nssec", "occupation"}
        Which measure ``hsl_2021`` and ``hsl_2011`` hold: NS-SEC 1-2 (L1-L6) with the base
        adjustment of the module docs, or SOC major groups 1-3.

    Returns
    -------
    xarray.Dataset
        The variables of the module docs on dimension ``lad`` (= ``zones.codes``), each with
        ``source``, ``period`` and ``units`` attributes; ``attrs["harmonisation"]`` holds the
        JSON list of harmonisation reports and ``attrs["hsl_base"]`` the base chosen.

    Raises
    ------
    ConfigError
        For an unknown ``hsl_base``.
    HarmonisationError
        When a zone gets no value (a zone outside England and Wales).
    """
    check_choice("hsl_base", hsl_base, HSL_BASES)
    counts, rep21 = _to_zones(_lad21_counts(data_dir), "2021", zones, "census_skills_lad21", data_dir)
    j11, rep11 = _to_zones(_commute2011_jobs(data_dir), "2011cm", zones, "commute2011", data_dir)
    j21, rep_j21 = _to_zones(_odwp01ew_jobs(data_dir), "2021", zones, "odwp01ew", data_dir)

    def col(name: str) -> np.ndarray:
        return counts[name].to_numpy(dtype=float)

    w21, w11 = col("workers_2021"), col("workers_2011")
    soc21 = np.column_stack([col(f"{s}_2021") for s in _SOC])
    soc11 = np.column_stack([col(f"{s}_2011") for s in _SOC])
    data: dict[str, tuple[np.ndarray, dict[str, str]]] = {}

    def put(name: str, values: np.ndarray, source: str, period: str, units: str = "persons", **extra: str) -> None:
        data[name] = (np.asarray(values, dtype=float), {"source": source, "period": period, "units": units, **extra})

    c21, c11 = "Census 2021 (21 March 2021)", "Census 2011 (27 March 2011)"
    put("workers_2021", w21, "census2021_ts061", c21, description="residents 16+ in employment")
    put("wfh_2021", col("wfh_2021"), "census2021_ts061", c21, description="work mainly at or from home")
    put("wfh_share_2021", col("wfh_2021") / w21, "census2021_ts061", c21, "share of workers")
    put("hsl_2021_nssec", w21 * col("nssec_hsl_2021") / col("nssec_classified_2021"), "census2021_ts062, ts061",
        c21, description="workers_2021 x NS-SEC L1-L6 / L1-L13")
    put("hsl_2021_occupation", w21 * soc21[:, :3].sum(axis=1) / col("soc_total_2021"), "census2021_ts063, ts061",
        c21, description="workers_2021 x share of SOC 2020 major groups 1-3")
    put("workers_2011", w11, "census2011_qs606", c11, description="residents 16-74 in employment")
    put("hsl_2011_nssec", w11 * col("nssec_hsl_2011") / col("nssec_classified_2011"), "census2011_qs607, qs606",
        c11, description="workers_2011 x NS-SEC 1-2 / 1-7 (residents 16-74)")
    put("hsl_2011_occupation", soc11[:, :3].sum(axis=1), "census2011_qs606", c11,
        description="SOC 2010 major groups 1-3 (same base as workers_2011)")
    for year, cyear, src in (("2011", c11, "census2011_qs501"), ("2021", c21, "census2021_ts067")):
        put(f"level4_{year}", col(f"level4_{year}"), src, cyear, description="residents 16+ with level 4+")
        put(f"level4_base_{year}", col(f"level4_base_{year}"), src, cyear, description="residents 16+")
        put(f"level4_share_{year}", col(f"level4_{year}") / col(f"level4_base_{year}"), src, cyear,
            "share of residents 16+")
    put("teleworkability_2011", teleworkability(soc11), "census2011_qs606 x TELEWORKABILITY_SOC", c11,
        "share of jobs that can be done from home")
    put("teleworkability_2021", teleworkability(soc21), "census2021_ts063 x TELEWORKABILITY_SOC", c21,
        "share of jobs that can be done from home")
    put("jobs_2011", j11["jobs_2011"].to_numpy(), "commute2011 (WU03UK)", c11,
        description="in-LAD workplaces (column sums) + residents working mainly at home")
    put("jobs_2021", j21["jobs_2021"].to_numpy(), "odwp01ew", c21 + ", lockdown",
        description="category 3 by workplace + category 1 (at home or no fixed place) by residence")

    ds = xr.Dataset(coords={"lad": list(zones.codes), "name": ("lad", list(zones.names))})
    for name, (values, attrs) in data.items():
        ds[name] = ("lad", values)
        ds[name].attrs.update(attrs)
    for year in ("2011", "2021"):
        ds[f"hsl_{year}"] = ds[f"hsl_{year}_{hsl_base}"].copy()
        ds[f"hsl_{year}"].attrs["description"] = f"hsl_{year}_{hsl_base} (hsl_base={hsl_base!r})"
    reports: list[dict[str, Any]] = [json.loads(r.to_json()) for r in (rep21, rep11, rep_j21)]
    ds.attrs.update({"zone_vintage": zones.vintage, "area": zones.area, "hsl_base": hsl_base,
                     "harmonisation": json.dumps(reports)})
    return ds
