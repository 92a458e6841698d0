"""The research's model ladder as a rate model, side by side with its published table, and the
out-of-sample test.

The Social Mobility Commission's "Moving out to move on" (2020), Table 1, regresses migration
*rates* between local authorities on the deprivation quintile of the sending authority (reference:
the most deprived), adding controls in four steps. This module fits the same ladder on the Census
migration flows (data: :mod:`migravity.analysis.ladder_data`) by Poisson PPML with the sending
LAD's population as exposure (offset ``log_pop_o``), so that the coefficients are log rate
ratios, with robust (HC0) standard errors:

- **M1** area type: the sending-area dummies (``o_q2`` ... ``o_q5``; with ``typology="cluster"``
  the ONS Global clusters ``o_clA``, ``o_clC``, ``o_clD``, reference B), plus ``period_2021`` when
  pooled.
- **M2** + ``log(distance_km)`` and ``border`` (shared border).
- **M3** + demographic structure of the sending LAD: ``o_pct_0_4`` (fertility proxy),
  ``o_pct_20_34``, ``o_pct_65plus`` and ``o_intl_in_pct`` (arrivals from abroad per 100 residents).
- **M4** + relative economic conditions: ``log(hp_ratio)`` and ``log(pay_ratio)`` (median house
  price and median weekly pay, destination over origin).

Receiving areas (:func:`receiving_areas`): flows by sending x receiving area type after distance
and border, as the paper's like-to-like analysis: a PPML of the flows on sending x receiving
dummies (reference: most deprived to most deprived), ``log(distance_km)``, ``border`` (and the
period effect), with the same offset, reported as rates relative to the most deprived receiving
quintile; beside the raw flow matrix, whose cells sum to the flows of the table.

Out of sample (:func:`out_of_sample`): the doubly-constrained gravity model (``log(distance_km)``
+ ``border``) calibrated on Census 2011 migration (England and Wales, 2023 codes) predicts the
Census 2021 flows given the 2021 margins; beside the in-sample fit on 2021 and a persistence
benchmark (2011 flows rescaled to the 2021 total).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from migravity.analysis.ladder_data import (
    AREA_CATEGORIES,
    AREA_DUMMIES,
    AREA_REFERENCE,
    Period,
    Typology,
    check_period,
    check_typology,
    ladder_table,
    periods_of,
)
from migravity.engine.options import STD_ERRS, StdErr
from migravity.errors import ConfigError, InputError, check_choice
from migravity.utils.reprs import estimate, short_repr

DataDir = str | os.PathLike[str] | None

DEMOGRAPHY: tuple[str, ...] = ("o_pct_0_4", "o_pct_20_34", "o_pct_65plus", "o_intl_in_pct")
ECONOMY: tuple[str, ...] = ("log(hp_ratio)", "log(pay_ratio)")
OFFSET = "log_pop_o"
MODELS: tuple[str, ...] = ("M1", "M2", "M3", "M4")

#: Display names of the sending-area dummies.
AREA_LABELS: dict[str, str] = {
    "o_q2": "2nd quintile", "o_q3": "3rd quintile", "o_q4": "4th quintile", "o_q5": "least deprived",
    "o_clA": "A: rural, remote", "o_clC": "C: commuter belt", "o_clD": "D: London, urban centres",
}

#: "Moving out to move on" (Social Mobility Commission, 2020), Table 1: coefficient, robust SE and
#: stars of the sending LA's deprivation quintile (reference: the most deprived), England and
#: Wales, ONS internal migration between LA pairs 2011-2018, 470,652 observations.
PAPER_TABLE1: dict[str, dict[str, tuple[float, float, str]]] = {
    "M1": {"o_q2": (-0.149, 0.019, "***"), "o_q3": (-0.116, 0.019, "***"),
           "o_q4": (-0.088, 0.019, "***"), "o_q5": (-0.000, 0.018, "")},
    "M2": {"o_q2": (0.161, 0.007, "***"), "o_q3": (0.042, 0.007, "***"),
           "o_q4": (0.103, 0.007, "***"), "o_q5": (0.104, 0.007, "***")},
    "M3": {"o_q2": (0.371, 0.008, "***"), "o_q3": (0.009, 0.008, ""),
           "o_q4": (0.249, 0.009, "***"), "o_q5": (0.249, 0.009, "***")},
    "M4": {"o_q2": (0.073, 0.007, "***"), "o_q3": (-0.055, 0.008, "***"),
           "o_q4": (0.005, 0.009, ""), "o_q5": (0.027, 0.009, "***")},
}
PAPER = ("Social Mobility Commission (2020), Moving out to move on, Table 1: England and Wales, "
         "ONS internal migration, LA pairs 2011-2018, 470,652 observations, robust SEs")


@dataclass(frozen=True)
class LadderOptions:
    """Options of the ladder, validated on construction.

    Attributes
    ----------
    period : {"pooled", "2011", "2021"}
        Census 2011 flows, Census 2021 flows, or both with a period effect (default).
    typology : {"imd", "cluster"}
        Area type of the sending LAD: IMD 2019 / WIMD 2019 quintile (default) or ONS Global cluster.
    se : {"robust", "hc1", "cluster"}
        Standard errors (default ``"robust"``, HC0, as the paper's robust SEs).
    receiving : bool
        Also fit the receiving-area model (default True).
    """

    period: Period = "pooled"
    typology: Typology = "imd"
    se: StdErr = "robust"
    receiving: bool = True

    def __post_init__(self) -> None:
        check_period(self.period)
        check_typology(self.typology)
        check_choice("se", self.se, STD_ERRS)
        if not isinstance(self.receiving, bool):
            raise ConfigError("receiving", self.receiving, "give True or False")


def ladder_models(typology: str = "imd", pooled: bool = True) -> dict[str, dict[str, Any]]:
    """The four models: ``{name: {"cost": column or None, "terms": [...]}}`` (offset ``log_pop_o``)."""
    check_typology(typology)
    area = [*AREA_DUMMIES[typology], *(["period_2021"] if pooled else [])]
    return {
        "M1": {"cost": None, "terms": area},
        "M2": {"cost": "distance_km", "terms": [*area, "border"]},
        "M3": {"cost": "distance_km", "terms": [*area, "border", *DEMOGRAPHY]},
        "M4": {"cost": "distance_km", "terms": [*area, "border", *DEMOGRAPHY, *ECONOMY]},
    }


@dataclass(frozen=True)
class ReceivingAreas:
    """Flows by sending x receiving area type (see :func:`receiving_areas`).

    Attributes
    ----------
    categories : tuple of str
        Area categories in order (``"1"`` ... ``"5"`` = most to least deprived, or clusters).
    reference : str
        The receiving category the relative rates are taken against.
    flows : pandas.DataFrame
        Raw flows, sending (rows) by receiving (columns) category: the cells sum to the table's flows.
    raw_relative : pandas.DataFrame
        ``flows[s, r] / flows[s, reference]``.
    coefficients, std_errors : pandas.DataFrame
        The model's sending x receiving coefficients (0 for the reference cell) and their SEs.
    relative_rates : pandas.DataFrame
        ``exp(b[s, r] - b[s, reference])``: the rate per LA pair to receiving category ``r`` relative
        to the reference receiving category, for the same sending category, given distance and border.
    result : CalibrationResult
        The fit.
    """

    categories: tuple[str, ...]
    reference: str
    flows: pd.DataFrame
    raw_relative: pd.DataFrame
    coefficients: pd.DataFrame
    std_errors: pd.DataFrame
    relative_rates: pd.DataFrame
    result: Any = field(repr=False)

    def like_to_like(self) -> dict[str, float] | None:
        """For quintiles: how many times more the most deprived send to the most deprived than to the
        least deprived, raw (flows) and per LA pair after distance and border (model); else None."""
        if self.categories != AREA_CATEGORIES["imd"]:
            return None
        first, last = self.categories[0], self.categories[-1]
        b = float(self.coefficients.loc[first, last] - self.coefficients.loc[first, first])
        return {"raw": float(self.flows.loc[first, first] / self.flows.loc[first, last]),
                "model": float(np.exp(-b)),
                "model_se_log": float(self.std_errors.loc[first, last])}

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form for JSON."""
        def frame(df: pd.DataFrame) -> dict[str, dict[str, float]]:
            return {str(s): {str(r): float(v) for r, v in row.items()} for s, row in df.iterrows()}

        return {"categories": list(self.categories), "reference": self.reference,
                "flows": frame(self.flows), "raw_relative": frame(self.raw_relative),
                "coefficients": frame(self.coefficients), "std_errors": frame(self.std_errors),
                "relative_rates": frame(self.relative_rates), "like_to_like": self.like_to_like(),
                "fit": {k: float(v) for k, v in self.result.fit.items()}, "n_pairs": int(self.result.n_pairs)}

    def text(self) -> str:
        """The two tables (model relative rates and raw flows) and the like-to-like line, as text."""
        lines = [f"Rate per LA pair to each receiving area relative to receiving area {self.reference}, by sending "
                 "area, given log distance and shared border (PPML, offset log origin population):",
                 _grid_text(self.relative_rates, "{:.3f}"), "",
                 "Raw inter-LAD migrants, sending (rows) by receiving (columns) area; cells sum to all flows:",
                 _grid_text(self.flows, "{:,.0f}"),
                 f"total {self.flows.to_numpy().sum():,.0f}"]
        ltl = self.like_to_like()
        if ltl is not None:
            lines.append(f"Like to like: the most deprived quintile sends {ltl['raw']:.2f}x as many migrants to the "
                         f"most deprived as to the least deprived quintile (raw); per LA pair, given distance and "
                         f"border, {ltl['model']:.2f}x.")
        return "\n".join(lines)


def _grid_text(df: pd.DataFrame, fmt: str) -> str:
    width = max(10, *(len(fmt.format(v)) + 2 for v in df.to_numpy().ravel()))
    corner = "send/recv"
    head = f"{corner:<12}" + "".join(f"{c:>{width}}" for c in df.columns)
    rows = [f"{s:<12}" + "".join(f"{fmt.format(v):>{width}}" for v in row) for s, row in zip(
        df.index, df.to_numpy(), strict=True)]
    return "\n".join([head, *rows])


@dataclass(frozen=True)
class LadderResult:
    """The fitted ladder (see the module docs).

    Attributes
    ----------
    results : dict of str to CalibrationResult
        M1-M4 in order.
    n_pairs : int
        Pairs in each fit.
    options : LadderOptions
        What was fitted.
    receiving : ReceivingAreas or None
        The receiving-area model and raw flows.
    harmonisation : list of dict
        What each source needed (merges, renames, fills), from the table's attributes.
    """

    results: dict[str, Any]
    n_pairs: int
    options: LadderOptions = field(default_factory=LadderOptions)
    receiving: ReceivingAreas | None = None
    harmonisation: list[dict[str, Any]] = field(default_factory=list)

    @property
    def area_terms(self) -> tuple[str, ...]:
        """The sending-area dummies of the typology."""
        return AREA_DUMMIES[self.options.typology]

    def __repr__(self) -> str:
        lines = []
        for m, r in self.results.items():
            terms = ", ".join(f"{t} {estimate(r.coefficients[t], r.std_errors.get(t))}" for t in self.area_terms
                              if t in r.coefficients)
            lines.append(f"{m}: pseudo-R2 {r.fit.get('pseudo_r2', float('nan')):.4f}, "
                         f"{'converged' if r.converged else 'NOT converged'}; {terms}")
        return short_repr(f"<LadderResult: {len(self.results)} models on {self.n_pairs:,} pairs; "
                          f"{describe(self.options)}>", lines)

    def table(self) -> str:
        """A regression table of every term: coefficient with stars, SE below, fit statistics."""
        return regression_table(self.results, _se_label(self.options.se))

    def paper_layout(self) -> str:
        """The sending-area coefficients of M1-M4 laid out as the paper's Table 1."""
        sub = {m: {t: (r.coefficients[t], r.std_errors[t]) for t in self.area_terms} for m, r in self.results.items()}
        col = 16
        ref = "most deprived quintile" if self.options.typology == "imd" else "cluster B"
        lines = [f"{'sending area (ref: ' + ref + ')':<32}" + "".join(f"{m:>{col}}" for m in sub),
                 "-" * (32 + col * len(sub))]
        for t in self.area_terms:
            coef_row, se_row = f"{AREA_LABELS[t]:<32}", " " * 32
            for m in sub:
                b, se = sub[m][t]
                coef_row += f"{_coef_text(b, se):>{col}}"
                se_row += f"{'(' + format(se, '.3f') + ')':>{col - 3}}   "
            lines += [coef_row, se_row]
        lines.append("-" * (32 + col * len(sub)))
        lines.append(f"{'Observations (LA pairs)':<32}"
                     + "".join(f"{r.n_pairs:>{col - 3},}   " for r in self.results.values()))
        lines.append(f"{_se_label(self.options.se)} standard errors in brackets. *** p<0.01, ** p<0.05, * p<0.1.")
        return "\n".join(lines)

    def comparison(self) -> pd.DataFrame:
        """Ours against the paper's Table 1: one row per model and quintile (empty for clusters).

        Columns: ``model``, ``term``, ``label``, ``ours``, ``ours_se``, ``ours_stars``, ``paper``,
        ``paper_se``, ``paper_stars``, ``diff_in_our_se`` (``(ours - paper) / ours_se``) and
        ``same_sign``.
        """
        from migravity.engine.inference import p_value, stars

        rows = []
        if self.options.typology == "imd":
            for m, r in self.results.items():
                for t in self.area_terms:
                    b, se = r.coefficients[t], r.std_errors[t]
                    pb, pse, pst = PAPER_TABLE1[m][t]
                    rows.append({"model": m, "term": t, "label": AREA_LABELS[t], "ours": b, "ours_se": se,
                                 "ours_stars": stars(p_value(b / se)), "paper": pb, "paper_se": pse,
                                 "paper_stars": pst, "diff_in_our_se": (b - pb) / se,
                                 "same_sign": bool(np.sign(b) == np.sign(pb) or abs(pb) < 5e-4)})
        return pd.DataFrame(rows, columns=["model", "term", "label", "ours", "ours_se", "ours_stars", "paper",
                                           "paper_se", "paper_stars", "diff_in_our_se", "same_sign"])

    def comparison_text(self) -> str:
        """The side-by-side with the paper's Table 1, as text."""
        cmp = self.comparison()
        if cmp.empty:
            return "The paper's Table 1 reports deprivation quintiles only: no published counterpart for clusters."
        lines = [f"{'model':<6}{'sending quintile':<18}{'ours (SE)':>22}{'paper (SE)':>22}{'(ours-paper)/our SE':>22}",
                 "-" * 90]
        for r in cmp.itertuples(index=False):
            ours = f"{r.ours:+.3f}{r.ours_stars:<3} ({r.ours_se:.3f})"
            paper = f"{r.paper:+.3f}{r.paper_stars:<3} ({r.paper_se:.3f})"
            lines.append(f"{r.model:<6}{r.label:<18}{ours:>22}{paper:>22}{r.diff_in_our_se:>+22.1f}")
        lines.append("-" * 90)
        lines.append(f"paper: {PAPER}.")
        lines.append("ours: " + describe(self.options) + ".")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form for JSON: options, models, paper comparison, receiving areas, harmonisation."""
        o = self.options
        return {
            "options": {"period": o.period, "typology": o.typology, "se": o.se},
            "design": describe(o),
            "n_pairs": int(self.n_pairs),
            "ladder": {name: r.to_dict() for name, r in self.results.items()},
            "paper": PAPER,
            "paper_comparison": self.comparison().to_dict(orient="records"),
            "receiving_areas": None if self.receiving is None else self.receiving.to_dict(),
            "harmonisation": self.harmonisation,
        }


def describe(options: LadderOptions) -> str:
    """One line saying what the ladder fits."""
    periods = {"pooled": "Census 2011 and 2021 flows pooled with a period effect",
               "2011": "Census 2011 flows (year to March 2011)", "2021": "Census 2021 flows (year to March 2021)"}
    area = ("IMD 2019 / WIMD 2019 quintile within nation" if options.typology == "imd"
            else "ONS Global cluster (reference B)")
    return (f"PPML with offset log origin population, {periods[options.period]}, England and Wales LADs "
            f"(2023 codes), inter-LAD pairs; sending area: {area}; {_se_label(options.se)} SEs")


def _se_label(se: str) -> str:
    return {"robust": "Robust (HC0)", "hc1": "Robust (HC1)", "cluster": "Clustered (CR1, by sending LAD, period)"}[se]


def _coef_text(b: float, se: float) -> str:
    from migravity.engine.inference import p_value, stars

    p = p_value(b / se) if se > 0 else np.nan
    return f"{b:.3f}{stars(p):<3}"


def fit_ladder(
    data_dir: DataDir = None,
    table: pd.DataFrame | None = None,
    *,
    period: str | None = None,
    typology: str | None = None,
    options: LadderOptions | None = None,
) -> LadderResult:
    """Fit M1-M4 (PPML, offset log origin population) and the receiving-area model.

    Parameters
    ----------
    data_dir : path-like, optional
        Data directory.
    table : pandas.DataFrame, optional
        A table from :func:`migravity.analysis.ladder_data.ladder_table` (built when not given).
    period, typology : str, optional
        Override the fields of ``options`` (see :class:`LadderOptions`).
    options : LadderOptions, optional
        Default ``LadderOptions()``.

    Returns
    -------
    LadderResult
    """
    from dataclasses import replace

    from migravity.analysis.ladder_data import add_area_dummies
    from migravity.engine import calibrate

    opts = options if options is not None else LadderOptions()
    if period is not None:
        opts = replace(opts, period=period)  # type: ignore[arg-type]  # validated by LadderOptions
    if typology is not None:
        opts = replace(opts, typology=typology)  # type: ignore[arg-type]
    if table is None:
        table = ladder_table(opts.period, opts.typology, data_dir)
    else:
        _check_table(table, opts)
        if any(t not in table.columns for t in AREA_DUMMIES[opts.typology]):
            table = table.copy()
            add_area_dummies(table, opts.typology)
    results = {}
    for name, spec in ladder_models(opts.typology, opts.period == "pooled").items():
        results[name] = calibrate(
            table, origin="origin_key", destination="destination", flow="flow", cost=spec["cost"],
            deterrence="power", constraint="none", terms=tuple(spec["terms"]), offset=OFFSET, se=opts.se,
        )
    receiving = receiving_areas(table, opts.typology, se=opts.se) if opts.receiving else None
    reports = json.loads(table.attrs.get("harmonisation", "[]"))
    return LadderResult(results, len(table), opts, receiving, reports)


def _check_table(table: pd.DataFrame, opts: LadderOptions) -> None:
    """Refuse a table whose periods do not match ``opts.period``."""
    if "period" not in table.columns:
        raise InputError("the ladder table has no 'period' column: build it with ladder_table()")
    have = tuple(sorted(table["period"].unique()))
    if have != periods_of(opts.period):
        raise ConfigError("period", opts.period, f"the table holds period(s) {list(have)}")


def flow_matrix(table: pd.DataFrame, typology: str = "imd") -> pd.DataFrame:
    """Raw flows by sending (rows) and receiving (columns) area category; the cells sum to the table's flows.

    Parameters
    ----------
    table : pandas.DataFrame
        A ladder table (columns ``o_area_<typology>``, ``d_area_<typology>``, ``flow``).
    typology : {"imd", "cluster"}
        Which categories.

    Returns
    -------
    pandas.DataFrame
    """
    check_typology(typology)
    cats = list(AREA_CATEGORIES[typology])
    mat = table.groupby([f"o_area_{typology}", f"d_area_{typology}"])["flow"].sum().unstack(fill_value=0.0)
    unknown = (set(mat.index) | set(mat.columns)) - set(cats)
    if unknown:
        raise InputError(f"area categories {sorted(unknown)} are not {typology} categories {cats}")
    mat = mat.reindex(index=cats, columns=cats, fill_value=0.0).astype(float)
    mat.index.name, mat.columns.name = "sending", "receiving"
    return mat


def receiving_areas(table: pd.DataFrame, typology: str = "imd", *, se: StdErr = "robust") -> ReceivingAreas:
    """Flows by sending x receiving area type after distance and border (see the module docs).

    Parameters
    ----------
    table : pandas.DataFrame
        A ladder table (one period or pooled: then with the period effect).
    typology : {"imd", "cluster"}
        Area categories.
    se : {"robust", "hc1", "cluster"}
        Standard errors.

    Returns
    -------
    ReceivingAreas
    """
    from migravity.engine import calibrate

    check_typology(typology)
    cats = AREA_CATEGORIES[typology]
    ref = AREA_REFERENCE[typology]
    o_code = pd.Categorical(table[f"o_area_{typology}"], categories=list(cats)).codes.astype(np.int64)
    d_code = pd.Categorical(table[f"d_area_{typology}"], categories=list(cats)).codes.astype(np.int64)
    if (o_code < 0).any() or (d_code < 0).any():
        raise InputError(f"the table has area categories outside {list(cats)}")
    cell = o_code * len(cats) + d_code
    cells = {(s, r): f"sr_{s}_{r}" for s in cats for r in cats if (s, r) != (ref, ref)}
    dummies = pd.DataFrame({name: (cell == cats.index(s) * len(cats) + cats.index(r)).astype(float)
                            for (s, r), name in cells.items()}, index=table.index)
    work = pd.concat([table[["origin_key", "destination", "flow", "distance_km", "border", OFFSET, "period"]],
                      dummies], axis=1)
    terms = [*cells.values(), "border", *(["period_2021"] if table["period"].nunique() > 1 else [])]
    if "period_2021" in terms:
        work["period_2021"] = (work["period"] == "2021").astype(float)
    res = calibrate(work, origin="origin_key", destination="destination", flow="flow", cost="distance_km",
                    deterrence="power", constraint="none", terms=tuple(terms), offset=OFFSET, se=se)
    coef = pd.DataFrame(0.0, index=list(cats), columns=list(cats))
    sev = pd.DataFrame(0.0, index=list(cats), columns=list(cats))
    for (s, r), name in cells.items():
        coef.loc[s, r] = res.coefficients[name]
        sev.loc[s, r] = res.std_errors[name]
    for df in (coef, sev):
        df.index.name, df.columns.name = "sending", "receiving"
    rel = np.exp(coef.sub(coef[ref], axis=0))
    flows = flow_matrix(table, typology)
    raw_rel = flows.div(flows[ref], axis=0)
    return ReceivingAreas(tuple(cats), ref, flows, raw_rel, coef, sev, rel, res)


def regression_table(results: dict[str, Any], se_label: str = "Robust (HC0)") -> str:
    """Format several fitted models side by side: coefficient with stars, SE below, fit statistics."""
    from migravity.engine.inference import STARS_LEGEND, p_value, stars

    names = list(results)
    terms: list[str] = []
    for r in results.values():
        terms.extend(t for t in r.coefficients if t not in terms)
    width = max(len(t) for t in [*terms, "McFadden pseudo-R2"]) + 2
    col = 14
    lines = [" " * width + "".join(f"{n:>{col}}" for n in names), "-" * (width + col * len(names))]
    for t in terms:
        coef_row, se_row = f"{t:<{width}}", " " * width
        for r in results.values():
            if t in r.coefficients:
                b, se = r.coefficients[t], r.std_errors[t]
                p = p_value(b / se) if se > 0 else np.nan
                coef_row += f"{b:>{col - 3}.4f}{stars(p):<3}"
                se_row += f"{'(' + format(se, '.4f') + ')':>{col - 3}}   "
            else:
                coef_row += " " * col
                se_row += " " * col
        lines += [coef_row, se_row]
    lines.append("-" * (width + col * len(names)))
    for label, key, fmt in (("Observations", "n_pairs", ",d"), ("Log-likelihood", "loglik", ",.0f"),
                            ("McFadden pseudo-R2", "pseudo_r2", ".4f"), ("AIC", "aic", ",.0f"),
                            ("CPC", "cpc", ".4f"), ("SRMSE", "srmse", ".4f")):
        row = f"{label:<{width}}"
        for r in results.values():
            v = r.n_pairs if key == "n_pairs" else r.fit[key]
            row += f"{format(v, fmt):>{col - 3}}   "
        lines.append(row)
    lines.append(f"{se_label} standard errors in brackets. {STARS_LEGEND}.")
    return "\n".join(lines)


@dataclass(frozen=True)
class OutOfSample:
    """Out-of-sample figures: calibrated on Census 2011, predicting Census 2021."""

    coefficients_2011: dict[str, float]
    coefficients_2021: dict[str, float]
    scores: pd.DataFrame  # rows: model; columns: cpc, srmse


def out_of_sample(data_dir: DataDir = None, table: pd.DataFrame | None = None) -> OutOfSample:
    """Calibrate on Census 2011 migration, predict Census 2021 (E&W, 2023 codes, inter-LAD pairs).

    Parameters
    ----------
    data_dir : path-like, optional
        Data directory.
    table : pandas.DataFrame, optional
        A pooled ladder table (:func:`~migravity.analysis.ladder_data.ladder_table`): its two
        periods' flows, distances and borders are used instead of loading them again.

    Returns
    -------
    OutOfSample
    """
    from migravity.engine import CalibrationOptions, calibrate
    from migravity.engine.fitstats import cpc, srmse
    from migravity.geodata import load_zones, od_table

    if table is not None and {"2011", "2021"} <= set(table["period"].unique()):
        cols = ["origin", "destination", "flow", "distance_km", "border"]
        t11 = table.loc[table["period"] == "2011", cols].reset_index(drop=True)
        t21 = table.loc[table["period"] == "2021", cols].reset_index(drop=True)
    else:
        zones = load_zones("2023", "EW", data_dir)
        t11 = od_table(zones, kind="migration2011", attribute_vars=(), data_dir=data_dir)
        t21 = od_table(zones, kind="migration2021", attribute_vars=(), data_dir=data_dir)
    gravity = CalibrationOptions(deterrence="power", constraint="doubly")

    def fit(table: pd.DataFrame) -> Any:
        return calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                         terms=("border",), options=gravity)

    r11 = fit(t11)
    r21 = fit(t21)
    y = t21["flow"].to_numpy()
    pred = r11.predict(t21).to_numpy()
    insample = r21.predict().to_numpy()
    persistence = t11["flow"].to_numpy() * y.sum() / t11["flow"].sum()
    scores = pd.DataFrame(
        {"cpc": [cpc(y, pred), cpc(y, insample), cpc(y, persistence)],
         "srmse": [srmse(y, pred), srmse(y, insample), srmse(y, persistence)]},
        index=pd.Index(["gravity calibrated on 2011 -> 2021", "gravity calibrated on 2021 (in sample)",
                        "persistence: 2011 flows x (2021 total / 2011 total)"], name="model"),
    )
    return OutOfSample(dict(r11.coefficients), dict(r21.coefficients), scores)
