r"""Identify the WFH and housing-cost effects of the scenario model from change (Census 2011 -> 2021).

Why change
----------
A single cross-section (Census 2021 flows, origin and destination fixed effects, origin WFH share
x destination log job accessibility / log house price) cannot tell WFH from sorting: the origin
WFH share is close to collinear with the origin's house price, and the same design on the
*pre-COVID* 2011 flows gives the same "effects" (the placebo below). This module identifies them
from how destination choice *changed* between the two censuses instead.

Data (:mod:`migravity.analysis.identification_data`): the inter-LAD flows of Census 2011 (year to
March 2011) and Census 2021 (year to March 2021) on the 318 LADs of England and Wales (2023
codes), off-diagonal pairs, ``post = 1`` in 2021.

Exposure
--------
``E_i``: the origin's teleworkability from its 2011 occupation mix (pre-determined), centred on its
worker-weighted national mean. First stage (worker-weighted LS across LADs)
``wfh_share_2021_i = a + b tele_2011_i``; a reduced-form coefficient ``rho`` maps to the WFH scale
the scenarios use as ``delta = rho / b`` with ``SE(delta) = SE(rho) / b`` (``b`` treated as known).
Alternative exposure (a specification, not the main one): the Census 2021 WFH share itself (scale 1).

Designs (PPML; :func:`migravity.engine.hdfe.fepois`; two-way clustered by origin and destination,
Cameron-Gelbach-Miller, unless stated)
-----------------------------------------------------------------------------------------------
change (main)
    ``flow_ijt ~ E_i log A_j post_t + E_i log H_j,2011 post_t | origin x period + destination x
    period + pair``; ``A_j = sum_k jobs_2011,k d_jk^beta`` with ``beta`` the commuting deterrence on
    the Census 2011 commuting flows; ``H`` the median house price of the year to March 2011.
    One-way (origin) clustered SEs are reported beside.
price and pay
    ``flow_ijt ~ log H_jt + log Y_jt | origin x period + pair`` (price and pay dated to each
    period's flows) -> ``theta_price``, ``theta_pay``.
cross-section (placebo; pair terms)
    ``flow_ij ~ log d_ij + border_ij + W_i log A_j + W_i log H_j | origin + destination`` on the 2011
    and on the 2021 flows, with ``W`` the 2021 WFH share (and with teleworkability), the same
    (2011-dated) ``A`` and ``H`` in both years. ``beta_distance`` and ``gamma_border`` are its 2021
    pair terms (WFH-share exposure, the scenario model's stage-1 design).

Checks
------
(a) placebo: the cross-section *fails* for a WFH term when the pre-COVID 2011 flows give an
    estimate of the same sign as the 2021 one that is significant at 5 % (the design attributes to
    WFH a pattern older than WFH). The 2021-only cross-section is therefore never a specification.
(b) price-sorting control: ``log H_i,2011 x log H_j,2011 x post`` added to the change design
    (``log H_i,2011 x log H_jt`` to the price-and-pay design).
(c) leave-one-region-out: every design re-estimated without the pairs touching each of the 10
    regions (9 English regions and Wales) in turn.

Decision rule (applied mechanically by :func:`decide`)
------------------------------------------------------
A change-based parameter is ``identified`` when (1) its two-way clustered p-value is below 0.05,
(2) under the price-sorting control its sign is unchanged and it moves by at most 2 (main) SEs,
and (3) every leave-one-region-out estimate has its sign. ``theta_price`` must also be negative.
Identified: value = main estimate (WFH-scaled for the deltas), ``low/high = value -/+ 1.645 SE``.
Otherwise ``assumed``: a uniform range covering 0 and every estimate across the checks and
specifications, ``[min(0, estimates), max(0, estimates)]`` (``theta_price``: also covering
``[-1, 0]``), with the point value at the **midpoint** of the range (the uniform's mean).
``beta_distance`` and ``gamma_border`` (2021 cross-section, two-way clustered) are identified when
p < 0.05 (the pair structure is absorbed by the pair FE of the panel, so no change check applies).

The covariance handed to the scenario model is block-diagonal across the three designs (change,
price-and-pay, cross-section): each block the two-way clustered covariance of its design.

Specifications (specification uncertainty; the first is the main one): ``main``; ``price_sorting``
(+ the control); ``wfh_exposure`` (exposure = Census 2021 WFH share); ``access_jobs_2021``
(accessibility from 2021 jobs). Each holds its own estimates of the *identified* parameters and the
decision's value of the assumed ones (an unidentified estimate is no defensible point value).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from migravity.analysis.evidence import ParameterDecision, ScenarioEvidence, Specification
from migravity.analysis.identification_data import (
    FirstStage,
    IdentificationData,
    first_stage,
    load_identification_data,
    panel_frame,
)
from migravity.errors import ConfigError
from migravity.geodata.datadir import DataDir
from migravity.geodata.zones import ZoneSet
from migravity.utils.progress import SILENT, Reporter
from migravity.utils.reprs import decision_lines, short_repr

#: Change-design regressor -> scenario parameter.
CHANGE_TERMS: dict[str, str] = {"wfh_x_access_post": "delta_wfh_access", "wfh_x_price_post": "delta_wfh_price"}
#: Price-and-pay regressor -> scenario parameter.
PRICE_TERMS: dict[str, str] = {"log_house_price": "theta_price", "log_weekly_pay": "theta_pay"}
#: Cross-section pair term -> scenario parameter.
PAIR_TERMS: dict[str, str] = {"log_distance": "beta_distance", "border": "gamma_border"}
CROSS_WFH_TERMS: tuple[str, str] = ("wfh_x_access", "wfh_x_price")
PARAMETERS: tuple[str, ...] = (*CHANGE_TERMS.values(), *PRICE_TERMS.values(), *PAIR_TERMS.values())
CONTROL_TERM = "price_sorting"

P_MAX = 0.05          # significance level of the decision rule
STABILITY_SE = 2.0    # largest move under the price-sorting control, in main SEs
Z90 = 1.645           # identified: low/high = value -/+ Z90 SE
PRICE_ASSUMED_RANGE: tuple[float, float] = (-1.0, 0.0)
#: Demeaning tolerance (pyfixest's default ``fixef_tol``): the estimates agree with the engine's
#: stricter default to well under 1e-6 relative, in half the time.
FE_TOL = 1e-8

CHANGE_FE: tuple[str, ...] = ("origin_period", "dest_period", "pair")
PRICE_FE: tuple[str, ...] = ("origin_period", "pair")
TWO_WAY: tuple[str, str] = ("origin", "destination")
SOURCE_CHANGE = "change design 2011->2021 (PPML, origin x period, destination x period and pair FE), " \
                "origin+destination clustered"
SOURCE_PRICE = "price-and-pay change design 2011->2021 (PPML, origin x period and pair FE), " \
               "origin+destination clustered"
SOURCE_CROSS = "Census 2021 cross-section (PPML, origin and destination FE), origin+destination clustered"

Kind = Literal["general", "price"]


@dataclass(frozen=True)
class Spec:
    """One change-design specification: exposure, accessibility jobs year and the price-sorting control."""

    name: str
    description: str
    exposure: Literal["teleworkability_2011", "wfh_share_2021"] = "teleworkability_2011"
    jobs_year: Literal["2011", "2021"] = "2011"
    control: bool = False


SPECS: tuple[Spec, ...] = (
    Spec("main", "exposure = 2011 teleworkability (WFH-scaled by the first stage), access from 2011 jobs"),
    Spec("price_sorting", "main + origin log price x destination log price x post", control=True),
    Spec("wfh_exposure", "exposure = Census 2021 WFH share itself", exposure="wfh_share_2021"),
    Spec("access_jobs_2021", "main with job accessibility from Census 2021 jobs", jobs_year="2021"),
)


# ---- fitting -----------------------------------------------------------------------------------------

def _values(obj: Any, names: Sequence[str]) -> np.ndarray:
    """Values of ``names`` from a labelled Series (or a positional array)."""
    if isinstance(obj, pd.Series):
        return obj.loc[list(names)].to_numpy(dtype=float)
    return np.asarray(obj, dtype=float).reshape(-1)[: len(names)]


def _matrix(obj: Any, names: Sequence[str]) -> np.ndarray:
    if isinstance(obj, pd.DataFrame):
        return obj.loc[list(names), list(names)].to_numpy(dtype=float)
    return np.asarray(obj, dtype=float)[: len(names), : len(names)]


@dataclass(frozen=True)
class Fit:
    """The estimates of one PPML fit (terms in regressor order)."""

    terms: tuple[str, ...]
    estimate: np.ndarray
    std_error: np.ndarray
    p_value: np.ndarray
    vcov: np.ndarray
    n_obs: int
    n_dropped: int
    converged: bool
    cluster: str

    def get(self, term: str) -> tuple[float, float, float]:
        """(estimate, SE, p) of ``term``."""
        k = self.terms.index(term)
        return float(self.estimate[k]), float(self.std_error[k]), float(self.p_value[k])


def fit_ppml(data: pd.DataFrame, x: Sequence[str], fe: Sequence[str],
             cluster: Sequence[str] = TWO_WAY) -> Fit:
    """PPML of ``flow`` on ``x`` with fixed effects ``fe``, clustered by one or two columns."""
    from migravity.engine.hdfe import fepois

    res = fepois(data, "flow", list(x), list(fe), se="cluster", cluster=list(cluster), fe_tol=FE_TOL)
    return Fit(tuple(x), _values(res.coef, x), _values(res.se, x), _values(res.p_value, x), _matrix(res.vcov, x),
               int(res.n_obs), int(res.n_dropped), bool(res.converged), "+".join(cluster))


# ---- designs -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DesignInputs:
    """The panel and the zone variables every design reads (built once by :func:`design_inputs`)."""

    data: IdentificationData
    panel: pd.DataFrame                  # every off-diagonal pair, both periods
    changing: pd.DataFrame               # pairs with a move in either period (the others carry no
    first: FirstStage                    # information once pair FE are in: PPML drops them)
    exposure: dict[str, np.ndarray]      # centred exposures
    log_access: dict[str, np.ndarray]    # jobs year -> log A
    log_h: dict[str, np.ndarray]         # period -> log house price
    log_y: dict[str, np.ndarray]


def design_inputs(data: IdentificationData) -> DesignInputs:
    """First stage, centred exposures, log accessibility, dated log prices and pay, and the panels."""
    s = data.skills
    first = first_stage(s["teleworkability_2011"], s["wfh_share_2021"], s["workers_2021"])
    exposure = {"teleworkability_2011": s["teleworkability_2011"] - first.national_tele,
                "wfh_share_2021": s["wfh_share_2021"] - first.national_wfh}
    panel = panel_frame(data)
    total = panel.groupby("pair")["flow"].transform("sum").to_numpy()
    return DesignInputs(data, panel, panel[total > 0].reset_index(drop=True), first, exposure,
                   {y: np.log(data.job_access(y)) for y in ("2011", "2021")},
                   {p: np.log(v) for p, v in data.house_price.items()},
                   {p: np.log(v) for p, v in data.weekly_pay.items()})


def change_frame(inp: DesignInputs, spec: Spec) -> tuple[pd.DataFrame, list[str]]:
    """The panel with the change-design regressors of ``spec`` (and their names)."""
    df = inp.changing
    o, d, post = df["origin"].to_numpy(), df["destination"].to_numpy(), df["post"].to_numpy()
    e = inp.exposure[spec.exposure]
    h = inp.log_h["2011"]
    cols = {"wfh_x_access_post": e[o] * inp.log_access[spec.jobs_year][d] * post,
            "wfh_x_price_post": e[o] * h[d] * post}
    if spec.control:
        cols[CONTROL_TERM] = h[o] * h[d] * post
    return df.assign(**cols), list(cols)


def price_frame(inp: DesignInputs, control: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """The panel with the dated destination log price and log pay (and the price-sorting control)."""
    df = inp.changing
    o, d, post = df["origin"].to_numpy(), df["destination"].to_numpy(), df["post"].to_numpy() > 0
    h_t = np.where(post, inp.log_h["2021"][d], inp.log_h["2011"][d])
    cols = {"log_house_price": h_t, "log_weekly_pay": np.where(post, inp.log_y["2021"][d], inp.log_y["2011"][d])}
    if control:  # origin log price centred (worker-weighted): the main terms stay those of the average origin
        h_o = inp.log_h["2011"] - np.average(inp.log_h["2011"], weights=inp.data.skills["workers_2021"])
        cols[CONTROL_TERM] = h_o[o] * h_t
    return df.assign(**cols), list(cols)


def cross_frame(inp: DesignInputs, period: str, exposure: str, control: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """One period's pairs with the cross-section regressors (same 2011-dated A and H in both periods)."""
    df = inp.panel[inp.panel["period"] == period]
    o, d = df["origin"].to_numpy(), df["destination"].to_numpy()
    w = inp.exposure[exposure]
    h = inp.log_h["2011"]
    cols = {"log_distance": np.log(inp.data.distance[o, d]), "border": inp.data.border[o, d],
            "wfh_x_access": w[o] * inp.log_access["2011"][d], "wfh_x_price": w[o] * h[d]}
    if control:
        cols[CONTROL_TERM] = h[o] * h[d]
    return df.assign(**cols), list(cols)


def _scale(inp: DesignInputs, exposure: str) -> float:
    """Divide a reduced-form coefficient by this to put it on the WFH-share scale."""
    return inp.first.b if exposure == "teleworkability_2011" else 1.0


def _rows(fit: Fit, **labels: Any) -> list[dict[str, Any]]:
    return [{**labels, "term": t, "estimate": float(b), "std_error": float(s), "p_value": float(p),
             "cluster": fit.cluster, "n_obs": fit.n_obs, "converged": fit.converged}
            for t, b, s, p in zip(fit.terms, fit.estimate, fit.std_error, fit.p_value, strict=True)]


# ---- decision rule -----------------------------------------------------------------------------------

def decide(name: str, estimate: float, std_error: float, p_value: float, *, control: float | None,
           loro: Sequence[float], others: Sequence[float] = (), scale: float = 1.0, kind: Kind = "general",
           source: str = "") -> ParameterDecision:
    """Apply the decision rule (module docs) to one change-based parameter.

    Parameters
    ----------
    name : str
        Scenario parameter name.
    estimate, std_error, p_value : float
        Main estimate on the estimation scale, its two-way clustered SE and p-value.
    control : float or None
        The estimate under the price-sorting control (None: no such check).
    loro : sequence of float
        Leave-one-region-out estimates.
    others : sequence of float
        Further estimates (other specifications) the assumed range must cover.
    scale : float
        Divisor to the scenario scale (first-stage ``b`` for teleworkability; 1 otherwise).
    kind : {"general", "price"}
        ``"price"`` also requires a negative estimate and covers ``[-1, 0]`` when assumed.
    source : str
        Where the estimate comes from.
    """
    sign = np.sign(estimate)
    fails = []
    if not (np.isfinite(p_value) and p_value < P_MAX):
        fails.append(f"two-way clustered p = {p_value:.3g} >= {P_MAX}")
    if kind == "price" and not estimate < 0:
        fails.append("not negative")
    if control is not None:
        if np.sign(control) != sign:
            fails.append(f"sign flips under the price-sorting control ({control:+.4g})")
        elif abs(control - estimate) > STABILITY_SE * std_error:
            fails.append(f"moves {abs(control - estimate) / std_error:.1f} SE under the price-sorting control")
    flips = sum(int(np.sign(v) != sign) for v in loro)
    if flips:
        fails.append(f"leave-one-region-out sign differs in {flips} of {len(loro)} regions")
    if not fails:
        value, se = estimate / scale, std_error / abs(scale)
        why = f"p = {p_value:.3g}; stable under the price-sorting control and leave-one-region-out"
        return ParameterDecision(name, "identified", value, se, value - Z90 * se, value + Z90 * se, source, why)
    every = [v / scale for v in (estimate, *(() if control is None else (control,)), *loro, *others)
             if np.isfinite(v)]
    lo, hi = min(0.0, *every), max(0.0, *every)
    if kind == "price":
        lo, hi = min(lo, PRICE_ASSUMED_RANGE[0]), max(hi, PRICE_ASSUMED_RANGE[1])
    cover = "[-1, 0] and " if kind == "price" else "0 and "
    return ParameterDecision(name, "assumed", 0.5 * (lo + hi), float("nan"), lo, hi,
                             f"assumed: uniform range covering {cover}every estimate across the checks, "
                             "centred at its midpoint", "; ".join(fails))


def decide_pair(name: str, estimate: float, std_error: float, p_value: float) -> ParameterDecision:
    """``beta_distance`` / ``gamma_border``: identified from the 2021 cross-section when p < 0.05."""
    if np.isfinite(p_value) and p_value < P_MAX:
        return ParameterDecision(name, "identified", estimate, std_error, estimate - Z90 * std_error,
                                 estimate + Z90 * std_error, SOURCE_CROSS, f"p = {p_value:.3g}")
    lo, hi = min(0.0, estimate), max(0.0, estimate)
    return ParameterDecision(name, "assumed", 0.5 * (lo + hi), float("nan"), lo, hi,
                             "assumed: uniform range covering 0 and the estimate", f"p = {p_value:.3g} >= {P_MAX}")


# ---- report ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdentificationReport:
    """The identification analysis: tidy coefficient tables, checks, decisions and specifications.

    Attributes
    ----------
    change : pandas.DataFrame
        Change-design estimates: ``spec``, ``term``, ``parameter``, ``estimate``, ``std_error``,
        ``p_value``, ``cluster`` (``origin+destination`` or ``origin``), ``n_obs``, ``converged``,
        ``scale`` (first-stage ``b`` or 1), ``wfh_estimate``/``wfh_std_error`` (WFH-share scale).
    price : pandas.DataFrame
        Price-and-pay estimates (``spec`` = ``main`` or ``price_sorting``).
    placebo : pandas.DataFrame
        Cross-section estimates: ``flows`` (2011/2021), ``exposure``, ``control``, terms.
    placebo_fails : dict of str to bool
        Per ``exposure:term``: whether the 2011 flows give the same-signed significant "effect".
    loro : pandas.DataFrame
        Leave-one-region-out estimates: ``design``, ``region_code``, ``region_name``, terms.
    first_stage : FirstStage
    decisions : dict of str to ParameterDecision
    specifications : tuple of Specification
    vcov : ndarray
        Covariance of the identified parameters (order ``identified_names``; block-diagonal by design).
    identified_names : tuple of str
    notes : dict of str to float
    sources : dict of str to str
    """

    change: pd.DataFrame
    price: pd.DataFrame
    placebo: pd.DataFrame
    placebo_fails: dict[str, bool]
    loro: pd.DataFrame
    first_stage: FirstStage
    decisions: dict[str, ParameterDecision]
    specifications: tuple[Specification, ...]
    vcov: np.ndarray
    identified_names: tuple[str, ...]
    notes: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        n_obs = int(self.change["n_obs"].max()) if "n_obs" in self.change and len(self.change) else 0
        n_id = sum(d.status == "identified" for d in self.decisions.values())
        placebo = "FAILS" if self.cross_section_fails else "passes"
        return short_repr(f"<IdentificationReport: change design on {n_obs:,} pairs; {n_id} of "
                          f"{len(self.decisions)} parameters identified; {len(self.specifications)} "
                          f"specification(s); cross-section placebo {placebo}>",
                          decision_lines(self.decisions))

    @property
    def cross_section_fails(self) -> bool:
        """True when the cross-section design fails the placebo for any WFH term."""
        return any(self.placebo_fails.values())

    def loro_range(self) -> pd.DataFrame:
        """Min and max of the leave-one-region-out estimates per design and term."""
        g = self.loro.groupby(["design", "term"])["estimate"]
        return pd.DataFrame({"min": g.min(), "max": g.max(), "n_regions": g.size()}).reset_index()

    def placebo_side_by_side(self) -> pd.DataFrame:
        """The cross-section WFH terms on the 2011 and the 2021 flows side by side, with the verdict."""
        pl = self.placebo[~self.placebo["control"].astype(bool) & self.placebo["term"].isin(CROSS_WFH_TERMS)]
        wide = pl.pivot_table(index=["exposure", "term"], columns="flows",
                              values=["estimate", "std_error", "p_value"], aggfunc="first")
        wide.columns = [f"{v}_{y}" for v, y in wide.columns]
        wide = wide.reset_index()
        wide["fails"] = [self.placebo_fails[f"{e}:{t}"] for e, t in zip(wide["exposure"], wide["term"], strict=True)]
        cols = ["exposure", "term", *(f"{v}_{y}" for y in ("2011", "2021") for v in ("estimate", "std_error",
                                                                                   "p_value")), "fails"]
        return wide[cols]

    def evidence(self) -> ScenarioEvidence:
        """What the scenario model takes: decisions, covariance of the identified ones, specifications."""
        return ScenarioEvidence(dict(self.decisions), self.vcov.copy(), self.identified_names,
                                self.specifications, dict(self.notes))

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict (use :func:`migravity.utils.jsonio.dumps`)."""
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(k): v for k, v in r.items()} for r in df.to_dict(orient="records")]

        fs = self.first_stage
        return {
            "change": records(self.change), "price": records(self.price), "placebo": records(self.placebo),
            "placebo_side_by_side": records(self.placebo_side_by_side()),
            "placebo_fails": dict(self.placebo_fails), "cross_section_fails": self.cross_section_fails,
            "loro": records(self.loro), "loro_range": records(self.loro_range()),
            "first_stage": {"a": fs.a, "b": fs.b, "r2": fs.r2, "national_wfh": fs.national_wfh,
                            "national_tele": fs.national_tele},
            "decisions": {k: {"name": d.name, "status": d.status, "value": d.value, "std_error": d.std_error,
                              "low": d.low, "high": d.high, "source": d.source, "reason": d.reason}
                          for k, d in self.decisions.items()},
            "identified_names": list(self.identified_names), "vcov": self.vcov,
            "specifications": [{"name": s.name, "description": s.description, "values": dict(s.values)}
                               for s in self.specifications],
            "notes": dict(self.notes), "sources": dict(self.sources),
        }

    def summary(self) -> str:
        """Plain-text report: change estimates, price and pay, placebo, control, LORO range, decisions."""
        fs = self.first_stage
        out = ["Identification of the WFH and housing-cost effects from change (Census 2011 -> 2021)",
               f"First stage: wfh_share_2021 = {fs.a:.3f} + {fs.b:.3f} x teleworkability_2011 "
               f"(worker-weighted, R^2 {fs.r2:.3f}); WFH-scaled delta = reduced form / {fs.b:.3f} (b as known)",
               f"Commuting deterrence (Census 2011 commuting): {self.notes.get('beta_commute_2011', np.nan):.4f}",
               "", "Change design (PPML; FE origin x period, destination x period, pair):"]
        out.append(f"  {'spec':<17}{'term':<20}{'cluster':<20}{'estimate':>10}{'SE':>9}{'p':>8}{'WFH-scaled':>12}")
        for r in self.change.itertuples():
            scaled = f"{r.wfh_estimate:>12.4f}" if np.isfinite(r.wfh_estimate) else ""
            out.append(f"  {r.spec:<17}{r.term:<20}{r.cluster:<20}{r.estimate:>10.4f}{r.std_error:>9.4f}"
                       f"{r.p_value:>8.3f}{scaled}")
        out += ["", "Price and pay (PPML; FE origin x period, pair; origin+destination clustered):"]
        for r in self.price.itertuples():
            out.append(f"  {r.spec:<17}{r.term:<20}{r.estimate:>10.4f}{r.std_error:>9.4f}{r.p_value:>8.3f}")
        out += ["", "Placebo: cross-section (origin, destination FE; 2011-dated A and H; two-way clustered), "
                "2011 (pre-COVID) vs 2021 flows:",
                f"  {'exposure':<22}{'term':<14}{'2011 est (SE)':>20}{'2021 est (SE)':>20}  verdict"]
        for r in self.placebo_side_by_side().itertuples():
            out.append(f"  {r.exposure:<22}{r.term:<14}{f'{r.estimate_2011:.4f} ({r.std_error_2011:.4f})':>20}"
                       f"{f'{r.estimate_2021:.4f} ({r.std_error_2021:.4f})':>20}  "
                       f"{f'fails (p2011 = {r.p_value_2011:.3g})' if r.fails else 'ok'}")
        ctl = self.placebo[self.placebo["control"].astype(bool) & ~self.placebo["term"].isin(list(PAIR_TERMS))]
        out.append("  2021 flows + origin x destination log price: " + ", ".join(
            f"{r.term} {r.estimate:.4f} ({r.std_error:.4f})" for r in ctl.itertuples()))
        verdict = "FAILS the placebo (pre-COVID flows show the same effect)" if self.cross_section_fails else "passes"
        out.append(f"  the cross-section design {verdict}")
        out += ["", "Leave-one-region-out range (10 regions):"]
        for r in self.loro_range().itertuples():
            out.append(f"  {r.design:<8}{r.term:<20}[{r.min:.4f}, {r.max:.4f}]")
        out += ["", "Decisions (scenario scale):"]
        for d in self.decisions.values():
            se = "" if d.status == "assumed" else f" (SE {d.std_error:.4f})"
            out.append(f"  {d.name:<17}{d.status:<11}{d.value:>9.4f}{se}  [{d.low:.4f}, {d.high:.4f}]  {d.reason}")
        out += ["", "Specifications:"]
        for s in self.specifications:
            out.append(f"  {s.name:<17}" + ", ".join(f"{k} {v:.4f}" for k, v in s.values.items()))
        return "\n".join(out)


def _regions(data: IdentificationData) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for code, name in zip(data.region_codes, data.region_names, strict=True):
        seen.setdefault(code, name)
    return sorted(seen.items())


def identify(zones: ZoneSet, data_dir: DataDir = None, *, reporter: Reporter = SILENT,
             data: IdentificationData | None = None) -> IdentificationReport:
    """Run the identification analysis on the real Census flows of ``zones`` (see the module docs).

    Parameters
    ----------
    zones : ZoneSet
        The study area (the 318 LADs of England and Wales, ``load_zones("2023", "EW")``).
    data_dir : path-like, optional
        Data directory.
    reporter : Reporter
        Progress sink (silent by default).
    data : IdentificationData, optional
        Pre-loaded data (loaded from ``zones`` and ``data_dir`` if not given).
    """
    outside = sorted({c[0] for c in zones.codes} - {"E", "W"})
    if outside:
        raise ConfigError("zones", str(zones), "give England and Wales zones (load_zones(\"2023\", \"EW\")): "
                          "Census 2021 migration covers no destination outside them")
    if data is not None and tuple(data.codes) != tuple(zones.codes):
        raise ConfigError("data", f"{data.n} zones", f"give the data loaded for {zones}")
    t0 = time.perf_counter()
    with reporter.progress("loading the 2011 and 2021 panel"):
        data = data if data is not None else load_identification_data(zones, data_dir)
        inp = design_inputs(data)
    t_load = time.perf_counter() - t0
    regions = _regions(data)
    change_rows: list[dict[str, Any]] = []
    fits: dict[str, Fit] = {}
    with reporter.progress("change design", total=len(SPECS) + 1 + 2 * len(regions) + 2 + 5) as task:
        for spec in SPECS:
            df, x = change_frame(inp, spec)
            fits[spec.name] = fit = fit_ppml(df, x, CHANGE_FE)
            change_rows += _rows(fit, spec=spec.name, exposure=spec.exposure, scale=_scale(inp, spec.exposure))
            task.advance()
            if spec.name == "main":
                main_df, main_x = df, x  # the frame the leave-one-region-out fits subset
                one = fit_ppml(df, x, CHANGE_FE, cluster=("origin",))
                change_rows += _rows(one, spec="main", exposure=spec.exposure, scale=_scale(inp, spec.exposure))
                task.advance()
        pdf, px = price_frame(inp)
        loro_rows: list[dict[str, Any]] = []
        zone_region = np.array(data.region_codes)
        for code, name in regions:
            inside = np.flatnonzero(zone_region == code)
            for design, frame, x, fe in (("change", main_df, main_x, CHANGE_FE), ("price", pdf, px, PRICE_FE)):
                keep = ~(frame["origin"].isin(inside) | frame["destination"].isin(inside))
                loro_rows += _rows(fit_ppml(frame[keep], x, fe), design=design, region_code=code, region_name=name)
                task.advance()
        fits["price_main"] = fit_ppml(pdf, px, PRICE_FE)
        task.advance()
        cdf, cx = price_frame(inp, control=True)
        fits["price_sorting_price"] = fit_ppml(cdf, cx, PRICE_FE)
        task.advance()
        price_rows = _rows(fits["price_main"], spec="main") + _rows(fits["price_sorting_price"], spec="price_sorting")
        placebo_rows: list[dict[str, Any]] = []
        for period in ("2011", "2021"):
            for exposure in ("wfh_share_2021", "teleworkability_2011"):
                xdf, xx = cross_frame(inp, period, exposure)
                fits[f"cross_{period}_{exposure}"] = f = fit_ppml(xdf, xx, ("origin", "destination"))
                placebo_rows += _rows(f, flows=period, exposure=exposure, control=False)
                task.advance()
        xdf, xx = cross_frame(inp, "2021", "wfh_share_2021", control=True)
        placebo_rows += _rows(fit_ppml(xdf, xx, ("origin", "destination")), flows="2021", exposure="wfh_share_2021",
                              control=True)
        task.advance()
    change = pd.DataFrame(change_rows)
    change["parameter"] = change["term"].map(CHANGE_TERMS).fillna("")
    wfh_term = change["term"].isin(list(CHANGE_TERMS))  # the control stays on its own scale
    change["wfh_estimate"] = np.where(wfh_term, change["estimate"] / change["scale"], np.nan)
    change["wfh_std_error"] = np.where(wfh_term, change["std_error"] / change["scale"], np.nan)
    price = pd.DataFrame(price_rows)
    price["parameter"] = price["term"].map(PRICE_TERMS).fillna("")
    placebo = pd.DataFrame(placebo_rows)
    loro = pd.DataFrame(loro_rows)
    placebo_fails = _placebo_verdict(fits)
    decisions = _decisions(inp, fits, loro)
    names = tuple(p for p in PARAMETERS if decisions[p].status == "identified")
    vcov = _vcov(inp, fits, names)
    specs = _specifications(inp, fits, decisions)
    notes = {"beta_commute_2011": data.beta_commute_2011, "beta_commute_2011_se": data.beta_commute_2011_se,
             "first_stage_a": inp.first.a, "first_stage_b": inp.first.b, "first_stage_r2": inp.first.r2,
             "wfh_national": inp.first.national_wfh, "teleworkability_national": inp.first.national_tele,
             "n_pairs_per_period": float(data.n * (data.n - 1)), "n_obs_change": float(fits["main"].n_obs),
             "cross_section_fails": float(any(placebo_fails.values())),
             "seconds_load": t_load, "seconds_total": time.perf_counter() - t0}
    return IdentificationReport(change, price, placebo, placebo_fails, loro, inp.first, decisions, specs, vcov, names,
                                notes, dict(data.sources))


def _placebo_verdict(fits: Mapping[str, Fit]) -> dict[str, bool]:
    out = {}
    for exposure in ("wfh_share_2021", "teleworkability_2011"):
        for term in CROSS_WFH_TERMS:
            b11, _, p11 = fits[f"cross_2011_{exposure}"].get(term)
            b21, _, _ = fits[f"cross_2021_{exposure}"].get(term)
            out[f"{exposure}:{term}"] = bool(p11 < P_MAX and np.sign(b11) == np.sign(b21))
    return out


def _decisions(inp: DesignInputs, fits: Mapping[str, Fit], loro: pd.DataFrame) -> dict[str, ParameterDecision]:
    b = inp.first.b
    out: dict[str, ParameterDecision] = {}

    def loro_of(design: str, term: str) -> list[float]:
        sel = (loro["design"] == design) & (loro["term"] == term)
        return [float(v) for v in loro.loc[sel, "estimate"]]

    for term, name in CHANGE_TERMS.items():
        est, se, p = fits["main"].get(term)
        # other specifications on the estimation (teleworkability) scale: WFH exposure is rescaled by b
        others = [fits["access_jobs_2021"].get(term)[0], fits["wfh_exposure"].get(term)[0] * b]
        out[name] = decide(name, est, se, p, control=fits["price_sorting"].get(term)[0],
                           loro=loro_of("change", term), others=others, scale=b, source=SOURCE_CHANGE)
    for term, name in PRICE_TERMS.items():
        est, se, p = fits["price_main"].get(term)
        out[name] = decide(name, est, se, p, control=fits["price_sorting_price"].get(term)[0],
                           loro=loro_of("price", term), kind="price" if name == "theta_price" else "general",
                           source=SOURCE_PRICE)
    for term, name in PAIR_TERMS.items():
        out[name] = decide_pair(name, *fits["cross_2021_wfh_share_2021"].get(term))
    return out


def _vcov(inp: DesignInputs, fits: Mapping[str, Fit], names: Sequence[str]) -> np.ndarray:
    """Block-diagonal covariance of the identified parameters (scenario scale)."""
    blocks = (("main", CHANGE_TERMS, inp.first.b), ("price_main", PRICE_TERMS, 1.0),
              ("cross_2021_wfh_share_2021", PAIR_TERMS, 1.0))
    v = np.zeros((len(names), len(names)))
    for key, terms, scale in blocks:
        fit = fits[key]
        idx = [(names.index(p), fit.terms.index(t)) for t, p in terms.items() if p in names]
        for i, a in idx:
            for j, c in idx:
                v[i, j] = fit.vcov[a, c] / scale ** 2
    return v


def _specifications(inp: DesignInputs, fits: Mapping[str, Fit],
                    decisions: Mapping[str, ParameterDecision]) -> tuple[Specification, ...]:
    common = {}
    for key, terms in (("price_main", PRICE_TERMS), ("cross_2021_wfh_share_2021", PAIR_TERMS)):
        for t, p in terms.items():
            common[p] = fits[key].get(t)[0]
    out = []
    for spec in SPECS:
        vals = {}
        for t, p in CHANGE_TERMS.items():
            vals[p] = fits[spec.name].get(t)[0] / _scale(inp, spec.exposure)
        vals.update(common)
        if spec.control:
            vals.update({p: fits["price_sorting_price"].get(t)[0] for t, p in PRICE_TERMS.items()})
        values = {p: (float(vals[p]) if decisions[p].status == "identified" else decisions[p].value)
                  for p in PARAMETERS}
        out.append(Specification(spec.name, spec.description, values))
    return tuple(out)
