r"""Backtest scorecard of the scenario model against naive benchmarks (``migravity validate``).

Every line puts the model's score beside a naive benchmark's on data the model did not see, and
says whether the model beats it (``beats_benchmark``). All figures are on the 318 LADs of England
and Wales (2023 codes) and the 10 regions (9 English regions and Wales).

1. Hindcast 2011 -> 2021 (LAD counts of high-skilled workers, HSL, and of residents 16+ with level-4+
   qualifications): the scenario model's no-policy migration dynamics with the information of 2011
   only. Two segments per LAD (HSL and other workers; level-4+ and other residents 16+), Census 2011
   stocks (:func:`migravity.geodata.skills.load_skills`). Destination choice: the Census 2011
   inter-LAD pattern, rows normalised (:func:`choice_from_flows`). Move rate of each origin: its mean
   annual internal out-migration over its start-of-year population in the mid-year-estimate
   components of the four years mid-2007 -> mid-2011 (:data:`HINDCAST_WINDOW`), split between the
   segments as the scenario model does (``m_i r_s / sum_s' w_s'i r_s'``, ``r_high`` =
   ``move_rate_high`` of :data:`~migravity.scenarios.params.ASSUMED_DEFAULTS`, others 1; no WFH in
   2011), held at the 2011 stocks' mix. Ten annual steps in a closed system, then the national total
   is set to the observed 2021 total (every method is given the national trend: the test is the
   geography). Benchmarks: no change (2011 counts) and the national trend applied to every LAD
   (2011 counts x national growth, which is the same as 2011 shares x the 2021 total). Metrics:
   MAPE of LAD counts, RMSE of LAD shares of the national total (percentage points), correlation of
   LAD growth rates with the observed ones (a benchmark with one growth rate everywhere has no
   correlation: scored 0). The same at region level.
2. Net internal migration per LAD and per region, each year mid-2011 -> mid-2012 ... mid-2019 ->
   mid-2020 (:data:`NET_YEARS`), against the mid-year-estimate components: the same no-policy step
   (2011 move rates and choice) applied to each year's observed start population. Benchmarks: zero,
   and persistence (each LAD's net of the year to mid-2011). Metrics: RMSE (persons a year) and
   correlation over LAD-years (region-years).
3. Origin-destination fit, the gravity core that the scenario model pivots (doubly constrained, log
   distance + shared border, PPML). The scenario model's baseline destination choice IS a
   persistence pivot (the observed pattern, re-balanced), so these lines test the part that the
   scenarios move, not the baseline. (a) 20% of the off-diagonal Census 2021 pairs held out (seeded);
   the model is calibrated on the rest and predicts them; benchmarks: persistence (the held-out
   pairs' 2011 flows x the ratio of the 2021 to the 2011 total of the kept pairs) and persistence
   re-balanced (the 2011 flows, zeros filled with 0.001 x the gravity prediction, balanced to the
   kept pairs' 2021 margins, as the scenario pivot does). (b) Leave-one-region-out: each region's
   origins predicted by the model calibrated on the other regions' origins, with that region's 2021
   origin and destination margins given; benchmark: its 2011 flows balanced to the same margins.
   (c) Calibrated on all of 2011, predicting 2021 given its margins
   (:func:`migravity.analysis.ladder.out_of_sample`), against persistence scaled and re-balanced.
   Metrics: CPC (higher is better) and SRMSE (lower is better) of :mod:`migravity.engine.fitstats`.
4. Identification checks (:func:`migravity.analysis.identification.identify`): per parameter, the
   placebo of the cross-section WFH terms (passes when the 2011 flows show no significant effect of
   the same sign), stability under the price-sorting control (same sign, within 2 SEs) and the sign
   across the leave-one-region-out estimates. Benchmark: the decision rule's threshold.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from migravity.errors import ConfigError, InputError
from migravity.geodata.datadir import DataDir
from migravity.geodata.zones import ZoneSet
from migravity.scenarios.baseline import net_internal_persons
from migravity.utils.progress import SILENT, Reporter
from migravity.utils.reprs import short_repr

if TYPE_CHECKING:
    from migravity.analysis.identification import IdentificationReport
    from migravity.analysis.identification_data import IdentificationData

#: Years of change (ending mid-year) whose internal out-migration rates drive the hindcast:
#: mid-2007 -> mid-2011, the four years before the Census 2011 flows' year ended.
HINDCAST_WINDOW: tuple[int, int] = (2008, 2011)
#: Years of change (ending mid-year) scored by line 2: mid-2011 -> mid-2012 ... mid-2019 -> mid-2020.
NET_YEARS: tuple[int, int] = (2012, 2020)
#: Persistence benchmark of line 2: the year of change ending mid-2011.
PERSISTENCE_YEAR = 2011
HINDCAST_STEPS = 10
HOLDOUT_SHARE = 0.2
DEFAULT_SEED = 2021
#: Weight of the gravity prediction filling pairs without 2011 flows in the re-balanced persistence
#: (as :func:`migravity.scenarios.simulate.pivot_choice`).
ZERO_WEIGHT = 1e-3
#: Hindcast targets: label -> (Census 2011 stock, Census 2021 stock, 2011 population of the segment group).
HINDCAST_TARGETS: dict[str, tuple[str, str, str]] = {
    "hsl": ("hsl_2011", "hsl_2021", "workers_2011"),
    "level4": ("level4_2011", "level4_2021", "level4_base_2011"),
}
TARGET_NAMES = {"hsl": "high-skilled workers (NS-SEC 1-2)", "level4": "residents 16+ with level 4+ qualifications"}

Better = Literal["lower", "higher"]
COLUMNS: tuple[str, ...] = ("line", "section", "predicted", "level", "metric", "better", "model", "benchmark",
                            "benchmark_score", "beats_benchmark")


# ---- the model's dynamics --------------------------------------------------------------------------------

def choice_from_flows(flows: np.ndarray) -> np.ndarray:
    """Destination choice from an origin-destination matrix: off-diagonal rows normalised.

    Parameters
    ----------
    flows : ndarray, shape (n, n)
        Observed flows (the diagonal, within-zone moves, is ignored).

    Returns
    -------
    ndarray, shape (n, n)
        Rows summing to 1; an origin without off-diagonal flows keeps its movers (1 on the diagonal).

    Raises
    ------
    InputError
        For a non-square matrix or negative or non-finite flows.
    """
    f = np.array(flows, dtype=float)
    if f.ndim != 2 or f.shape[0] != f.shape[1]:
        raise InputError(f"flows: shape {f.shape}; give a square (n, n) origin-destination matrix")
    if not np.all(np.isfinite(f)) or (f < 0).any():
        raise InputError("flows: negative or non-finite values; give counts >= 0")
    np.fill_diagonal(f, 0.0)
    out = f.sum(axis=1)
    p = np.divide(f, out[:, None], out=np.zeros_like(f), where=out[:, None] > 0)
    p[np.flatnonzero(out <= 0), np.flatnonzero(out <= 0)] = 1.0
    return p


def segment_rates(rate: np.ndarray, stocks: np.ndarray, relative: Sequence[float]) -> np.ndarray:
    """Each segment's move rate per origin: ``m_i r_s / sum_s' w_s'i r_s'`` (the scenario model's split).

    Parameters
    ----------
    rate : ndarray, shape (n,)
        Each origin's move rate (movers per person a year).
    stocks : ndarray, shape (S, n)
        Segment stocks; ``w_si`` is segment ``s``'s share of origin ``i``.
    relative : sequence of float, length S
        Relative mobility ``r_s`` (e.g. ``move_rate_high`` for the high-skilled, 1 for the others).

    Returns
    -------
    ndarray, shape (S, n)
        Rates whose stock-weighted mean per origin is ``rate`` (``rate`` itself where the origin is empty).
    """
    s = np.asarray(stocks, dtype=float)
    r = np.asarray(relative, dtype=float)
    m = np.asarray(rate, dtype=float)
    if s.ndim != 2 or r.shape != (s.shape[0],) or m.shape != (s.shape[1],):
        raise InputError(f"segment_rates: stocks {s.shape}, relative {r.shape}, rate {m.shape}; "
                         "give stocks (S, n), relative (S,) and rate (n,)")
    if (r <= 0).any() or (s < 0).any() or (m < 0).any():
        raise InputError("segment_rates: relative mobilities must be > 0, stocks and rates >= 0")
    tot = s.sum(axis=0)
    mix = np.divide((s * r[:, None]).sum(axis=0), tot, out=np.ones_like(tot), where=tot > 0)
    return m[None, :] * r[:, None] / mix[None, :]


def hindcast(stocks: np.ndarray, rates: np.ndarray, choice: np.ndarray, steps: int = HINDCAST_STEPS) -> np.ndarray:
    """Closed-system migration dynamics: each year ``out_si = rate_si stock_si`` leave and choose destinations.

    ``stock_s <- stock_s - out_s + choice^T out_s``, ``steps`` times (the scenario model's no-policy
    step, production constrained, with the rates fixed).

    Parameters
    ----------
    stocks : ndarray, shape (S, n)
        Stocks at the start.
    rates : ndarray, shape (S, n)
        Move rates in [0, 1].
    choice : ndarray, shape (n, n)
        Destination choice, rows summing to 1.
    steps : int
        Years.

    Returns
    -------
    ndarray, shape (steps + 1, S, n)
        Stocks after 0 ... ``steps`` years (totals per segment conserved).
    """
    s0 = np.asarray(stocks, dtype=float)
    r = np.asarray(rates, dtype=float)
    p = np.asarray(choice, dtype=float)
    if s0.ndim != 2 or r.shape != s0.shape or p.shape != (s0.shape[1], s0.shape[1]):
        raise InputError(f"hindcast: stocks {s0.shape}, rates {r.shape}, choice {p.shape}; "
                         "give stocks and rates (S, n) and choice (n, n)")
    if (r < 0).any() or (r > 1).any():
        raise InputError("hindcast: move rates must lie in [0, 1]")
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-9):
        raise InputError("hindcast: choice rows must be >= 0 and sum to 1 (see choice_from_flows)")
    if int(steps) < 0:
        raise ConfigError("steps", steps, "give a number of years >= 0")
    out = np.empty((int(steps) + 1, *s0.shape))
    out[0] = s0
    for t in range(int(steps)):
        movers = out[t] * r
        out[t + 1] = out[t] - movers + movers @ p
    return out


#: Net internal migration of the no-policy step, ``choice^T (m * pop) - m * pop`` per period: the
#: baseline's own function (:func:`migravity.scenarios.baseline.net_internal_persons`).
net_internal = net_internal_persons


# ---- metrics -------------------------------------------------------------------------------------------

def mape(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error ``100 mean(|pred - obs| / obs)`` over units with ``obs > 0``."""
    y, mu = np.asarray(observed, dtype=float), np.asarray(predicted, dtype=float)
    keep = y > 0
    return float(100.0 * np.mean(np.abs(mu[keep] - y[keep]) / y[keep]))


def rmse(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error."""
    y, mu = np.asarray(observed, dtype=float), np.asarray(predicted, dtype=float)
    return float(np.sqrt(np.mean((mu - y) ** 2)))


def share_rmse(observed: np.ndarray, predicted: np.ndarray) -> float:
    """RMSE of the units' shares of their total, in percentage points."""
    y, mu = np.asarray(observed, dtype=float), np.asarray(predicted, dtype=float)
    return rmse(100.0 * y / y.sum(), 100.0 * mu / mu.sum())


def correlation(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Pearson correlation; 0 when either side does not vary (a constant prediction explains nothing)."""
    y, mu = np.asarray(observed, dtype=float).ravel(), np.asarray(predicted, dtype=float).ravel()
    if y.size < 2 or np.ptp(y) == 0 or np.ptp(mu) <= 1e-12 * max(1.0, float(np.abs(mu).max())):
        return 0.0
    return float(np.corrcoef(y, mu)[0, 1])


def growth_correlation(base: np.ndarray, observed: np.ndarray, predicted: np.ndarray) -> float:
    """Correlation of the predicted growth rates ``pred / base - 1`` with the observed ones."""
    b = np.asarray(base, dtype=float)
    return correlation(np.asarray(observed, dtype=float) / b - 1.0, np.asarray(predicted, dtype=float) / b - 1.0)


def group_sum(values: np.ndarray, groups: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Sum ``values`` (last axis = zones) within each group label, in the order of ``labels``."""
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups)
    return np.stack([v[..., g == lab].sum(axis=-1) for lab in labels], axis=-1)


# ---- gravity core --------------------------------------------------------------------------------------

def gravity_fit(flows: np.ndarray, distance: np.ndarray, border: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Doubly-constrained PPML gravity (power deterrence + shared border) on the pairs in ``mask``.

    Returns ``{"beta_distance": ..., "gamma_border": ...}``.
    """
    from migravity.engine import calibrate_arrays

    res = calibrate_arrays(np.asarray(flows, dtype=float), cost=np.asarray(distance, dtype=float),
                           pair_terms={"border": np.asarray(border, dtype=float)}, mask=mask,
                           constraint="doubly", deterrence="power", se="robust", strict=True)
    return {"beta_distance": float(res.coefficients["log(cost)"]), "gamma_border": float(res.coefficients["border"])}


def balance_factors(weights: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factors ``A_i, B_j`` with ``A_i B_j w_ij`` summing to the row and column totals (Furness).

    ``weights`` >= 0 (0 = excluded pair). Rows and columns whose target is 0 get a factor 0 (and are
    left out of the balancing). For a doubly-constrained PPML with pair part ``w``, ``A`` and ``B`` are
    the exponentiated origin and destination fixed effects: ``A_i B_j w_ij`` predicts any pair,
    including pairs left out of the fit.
    """
    from migravity.scenarios.params import balance

    w = np.asarray(weights, dtype=float)
    r, c = np.asarray(rows, dtype=float), np.asarray(cols, dtype=float)
    if (w < 0).any() or (r < 0).any() or (c < 0).any():
        raise InputError("balance_factors: weights and margins must be >= 0")
    ri, cj = np.flatnonzero(r > 0), np.flatnonzero(c > 0)
    sub = w[np.ix_(ri, cj)]
    log_k = np.full(sub.shape, -np.inf)
    np.log(sub, out=log_k, where=sub > 0)
    a, b = balance(log_k, r[ri], c[cj], tol=1e-10)
    row_f, col_f = np.zeros(w.shape[0]), np.zeros(w.shape[1])
    row_f[ri], col_f[cj] = np.exp(a), np.exp(b)
    return row_f, col_f


def balanced(weights: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``weights`` balanced to the row and column totals (see :func:`balance_factors`)."""
    a, b = balance_factors(weights, rows, cols)
    return a[:, None] * b[None, :] * np.asarray(weights, dtype=float)


def gravity_kernel(coef: dict[str, float], distance: np.ndarray, border: np.ndarray) -> np.ndarray:
    """``d_ij^beta exp(gamma border_ij)`` (the pair part of the gravity model; the diagonal set to 0)."""
    k = np.asarray(distance, dtype=float) ** coef["beta_distance"] * np.exp(coef["gamma_border"] * np.asarray(border))
    if k.shape[0] == k.shape[1]:
        np.fill_diagonal(k, 0.0)
    return k


# ---- scorecard -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scorecard:
    """The backtest scorecard.

    Attributes
    ----------
    lines : pandas.DataFrame
        One row per (line, level, metric, benchmark): :data:`COLUMNS`.
    details : dict
        Per-line inputs and intermediate figures (rates window, fitted coefficients, per-region
        and per-year scores, identification checks).
    seconds : dict of str to float
        Wall time of each part.
    """

    lines: pd.DataFrame
    details: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        n, k = len(self.lines), int(self.lines["beats_benchmark"].sum()) if len(self.lines) else 0
        lines = []
        if len(self.lines):
            for (line, section), block in self.lines.groupby(["line", "section"], sort=True):
                won = int(block["beats_benchmark"].astype(bool).sum())
                lines.append(f"{line}. {section}: beats its benchmark on {won} of {len(block)} rows")
        return short_repr(f"<Scorecard: the model beats its benchmark on {k} of {n} rows "
                          f"(.summary() for the table)>", lines)

    def losses(self) -> pd.DataFrame:
        """The rows where the model does not beat its benchmark."""
        return self.lines[~self.lines["beats_benchmark"].astype(bool)]

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict (write with :func:`migravity.utils.jsonio.write_json`)."""
        rows = [{str(k): v for k, v in r.items()} for r in self.lines.to_dict(orient="records")]
        for r in rows:
            r["beats_benchmark"] = bool(r["beats_benchmark"])
        return {"lines": rows, "n_lines": len(rows), "n_beaten": int(self.lines["beats_benchmark"].sum()),
                "details": self.details, "seconds": dict(self.seconds)}

    def summary(self) -> str:
        """A plain-text table, one block per scorecard line, losses marked."""
        out = ["Backtest scorecard: the scenario model against naive benchmarks (England and Wales, 318 LADs)"]
        for (line, section), block in self.lines.groupby(["line", "section"], sort=False):
            out.append("")
            out.append(f"{line}. {section}")
            out.append(f"   {'predicted':<30}{'level':<10}{'metric':<27}{'model':>10}  {'benchmark':<40}"
                       f"{'bench':>10}  beats?")
            for r in block.itertuples(index=False):
                verdict = "yes" if r.beats_benchmark else "NO"
                model, bench = (("pass" if r.beats_benchmark else "fail"), "") if r.line == 4 else \
                    (_fmt(r.model), _fmt(r.benchmark_score))
                out.append(f"   {str(r.predicted)[:29]:<30}{str(r.level)[:9]:<10}{str(r.metric)[:26]:<27}"
                           f"{model:>10}  {str(r.benchmark)[:39]:<40}{bench:>10}  {verdict}")
        n, k = len(self.lines), int(self.lines["beats_benchmark"].sum())
        out += ["", f"The model beats its benchmark on {k} of {n} rows; it does NOT on {n - k}:"]
        for line, block in self.lines.groupby("line", sort=True):
            lost = int((~block["beats_benchmark"].astype(bool)).sum())
            out.append(f"   line {line}: loses {lost} of {len(block)} rows")
        if "line3" in self.details:
            out.append("")
            out.append("Note: the scenario model's baseline destination choice IS a persistence pivot (observed "
                       "flows re-balanced); line 3 scores the gravity core that the scenarios move.")
        if self.seconds:
            out.append(f"Computed in {self.seconds.get('total', float('nan')):.1f} s.")
        return "\n".join(out)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if isinstance(v, bool | np.bool_):
        return "pass" if v else "fail"
    x = float(v)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def _row(line: int, section: str, predicted: str, level: str, metric: str, better: Better, model: float,
         benchmark: str, bench: float) -> dict[str, Any]:
    beats = model < bench if better == "lower" else model > bench
    return {"line": line, "section": section, "predicted": predicted, "level": level, "metric": metric,
            "better": better, "model": float(model), "benchmark": benchmark, "benchmark_score": float(bench),
            "beats_benchmark": bool(beats)}


@dataclass(frozen=True)
class ValidationData:
    """What the scorecard reads, in zone order."""

    codes: tuple[str, ...]
    regions: tuple[str, ...]                # region code per zone
    region_names: dict[str, str]
    flows: dict[str, np.ndarray]            # "2011", "2021" -> (n, n)
    distance: np.ndarray
    border: np.ndarray
    stocks: dict[str, np.ndarray]           # load_skills variables used by the hindcast
    components: Any                         # xarray.Dataset of load_components
    move_rate_high: float


def load_validation_data(zones: ZoneSet, data_dir: DataDir = None, *,
                         identification: IdentificationData | None = None) -> ValidationData:
    """Load the flows, distances, Census stocks and components of change the scorecard needs.

    ``identification`` (already loaded identification data for the same zones) supplies the flows,
    distances and borders without reading them again.
    """
    from migravity.geodata.demography import load_components
    from migravity.geodata.skills import load_skills
    from migravity.scenarios.params import ASSUMED_DEFAULTS

    if identification is None:
        from migravity.geodata import contiguity_matrix, distance_matrix, load_flows

        flows = {p: load_flows(f"migration{p}", zones, data_dir).to_numpy().astype(float) for p in ("2011", "2021")}
        distance = distance_matrix(zones).to_numpy().astype(float)
        border = contiguity_matrix(zones).to_numpy().astype(float)
    else:
        if tuple(identification.codes) != tuple(zones.codes):
            raise ConfigError("identification", f"{identification.n} zones", f"give the data loaded for {zones}")
        flows, distance, border = dict(identification.flows), identification.distance, identification.border
    skills = load_skills(zones, data_dir)
    need = sorted({v for t in HINDCAST_TARGETS.values() for v in t} | {"workers_2021", "level4_base_2021"})
    stocks = {v: skills[v].to_numpy().astype(float) for v in need}
    comp = load_components(zones, data_dir)
    names = dict(zip(zones.region_codes, zones.region_names, strict=True))
    return ValidationData(tuple(zones.codes), tuple(zones.region_codes), names, flows, distance, border, stocks, comp,
                          float(ASSUMED_DEFAULTS["move_rate_high"][0]))


def move_rates(components: Any, window: tuple[int, int] = HINDCAST_WINDOW) -> np.ndarray:
    """Mean annual internal out-migration rate per LAD over ``window`` (years of change, both included).

    The mean over the years of ``internal_out / population`` (start-of-year population).
    """
    years = list(range(int(window[0]), int(window[1]) + 1))
    have = set(int(y) for y in components.year.to_numpy())
    if window[0] > window[1] or not set(years) <= have or max(years) > 2020:
        raise ConfigError("window", window, "give two years of change between 2002 and 2020, first <= last")
    sub = components.sel(year=years)
    return (sub.internal_out / sub.population).mean("year").to_numpy().astype(float)


def hindcast_line(data: ValidationData, rate: np.ndarray, choice: np.ndarray,
                  steps: int = HINDCAST_STEPS) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Line 1: the 2011 -> 2021 hindcast of LAD (and region) counts against the benchmarks."""
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {"window": list(HINDCAST_WINDOW), "steps": steps, "move_rate_high": data.move_rate_high,
                               "mean_move_rate": float(np.mean(rate)), "targets": {}}
    labels = sorted(set(data.regions))
    section = "Hindcast 2011 -> 2021 of LAD counts (national total given)"
    for target, (v11, v21, base11) in HINDCAST_TARGETS.items():
        s11, obs = data.stocks[v11], data.stocks[v21]
        other = np.maximum(data.stocks[base11] - s11, 0.0)
        seg = np.stack([s11, other])
        rates = segment_rates(rate, seg, [data.move_rate_high, 1.0])
        path = hindcast(seg, rates, choice, steps)
        model = path[-1, 0] * obs.sum() / path[-1, 0].sum()
        trend = s11 * obs.sum() / s11.sum()
        predicted = TARGET_NAMES[target]
        per_level: dict[str, dict[str, dict[str, float]]] = {}
        for level, agg in (("LAD", lambda x: x), ("region", lambda x: group_sum(x, np.array(data.regions), labels))):
            o, m, t, b = agg(obs), agg(model), agg(trend), agg(s11)
            scores = {
                "model": {"mape": mape(o, m), "share_rmse": share_rmse(o, m),
                          "growth_corr": growth_correlation(b, o, m)},
                "no_change": {"mape": mape(o, b), "share_rmse": share_rmse(o, b), "growth_corr": 0.0},
                "national_trend": {"mape": mape(o, t), "share_rmse": share_rmse(o, t), "growth_corr": 0.0},
            }
            per_level[level] = scores
            for bench, bname in (("no_change", "no change (2011 counts)"),
                                 ("national_trend", "national trend (2011 shares x 2021 total)")):
                rows.append(_row(1, section, predicted, level, "MAPE of counts %", "lower", scores["model"]["mape"],
                                 bname, scores[bench]["mape"]))
            rows.append(_row(1, section, predicted, level, "RMSE of shares (pts)", "lower",
                             scores["model"]["share_rmse"], "national trend / no change in shares",
                             scores["national_trend"]["share_rmse"]))
            rows.append(_row(1, section, predicted, level, "corr. of growth rates", "higher",
                             scores["model"]["growth_corr"], "national trend (one growth rate: 0)", 0.0))
        details["targets"][target] = {
            "stock_2011": float(s11.sum()), "stock_2021": float(obs.sum()), "scores": per_level,
            "observed_growth_sd": float(np.std(obs / s11 - 1.0)), "model_growth_sd": float(np.std(model / s11 - 1.0)),
            "regions": {data.region_names[lab]: {
                "observed_growth": float(ro / rb - 1.0), "model_growth": float(rm / rb - 1.0),
                "national_growth": float(obs.sum() / s11.sum() - 1.0)}
                for lab, ro, rm, rb in zip(labels, *(group_sum(x, np.array(data.regions), labels)
                                                     for x in (obs, model, s11)), strict=True)},
        }
    return rows, details


def net_migration_line(data: ValidationData, rate: np.ndarray, choice: np.ndarray,
                       years: tuple[int, int] = NET_YEARS) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Line 2: net internal migration per LAD and region and year against the mid-year-estimate components."""
    comp = data.components
    yrs = list(range(int(years[0]), int(years[1]) + 1))
    pop = comp.population.sel(year=yrs).transpose("year", "lad").to_numpy().astype(float)
    obs = comp.internal_net.sel(year=yrs).transpose("year", "lad").to_numpy().astype(float)
    last = comp.internal_net.sel(year=PERSISTENCE_YEAR).to_numpy().astype(float)
    model = net_internal(pop, rate, choice)
    persist = np.broadcast_to(last, obs.shape)
    labels = sorted(set(data.regions))
    section = f"Net internal migration per year, mid-{yrs[0] - 1} -> mid-{yrs[-1]} (mid-year estimates)"
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {"years": yrs, "persistence_year": PERSISTENCE_YEAR, "scores": {}, "by_year": {}}
    for level, agg in (("LAD", lambda x: x), ("region", lambda x: group_sum(x, np.array(data.regions), labels))):
        o, m, p = agg(obs), agg(model), agg(persist)
        z = np.zeros_like(o)
        sc = {"model": {"rmse": rmse(o, m), "corr": correlation(o, m)},
              "zero": {"rmse": rmse(o, z), "corr": 0.0},
              "persistence": {"rmse": rmse(o, p), "corr": correlation(o, p)}}
        details["scores"][level] = sc
        details["by_year"][level] = {str(y): {"model_rmse": rmse(o[k], m[k]), "persistence_rmse": rmse(o[k], p[k]),
                                              "zero_rmse": rmse(o[k], z[k]), "model_corr": correlation(o[k], m[k])}
                                     for k, y in enumerate(yrs)}
        for bench, bname in (("zero", "zero net migration"),
                             ("persistence", f"persistence (year to mid-{PERSISTENCE_YEAR})")):
            rows.append(_row(2, section, "net internal migration", level, "RMSE (persons/yr)", "lower",
                             sc["model"]["rmse"], bname, sc[bench]["rmse"]))
            rows.append(_row(2, section, "net internal migration", level, "correlation", "higher",
                             sc["model"]["corr"], bname + (" (none: 0)" if bench == "zero" else ""), sc[bench]["corr"]))
    return rows, details


def _od_scores(y: np.ndarray, mu: np.ndarray) -> dict[str, float]:
    from migravity.engine.fitstats import cpc, srmse

    return {"cpc": cpc(y, mu), "srmse": srmse(y, mu)}


def od_line(data: ValidationData, *, seed: int = DEFAULT_SEED, holdout: float = HOLDOUT_SHARE,
            data_dir: DataDir = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Line 3: origin-destination fit of the gravity core on held-out flows, against persistence."""
    from migravity.analysis.ladder import out_of_sample

    if not 0.0 < holdout < 1.0:
        raise ConfigError("holdout", holdout, "give a share strictly between 0 and 1 (default 0.2)")
    f11, f21 = data.flows["2011"].copy(), data.flows["2021"].copy()
    n = f21.shape[0]
    off = ~np.eye(n, dtype=bool)
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {"seed": int(seed), "holdout": holdout}

    # (a) random held-out pairs
    rng = np.random.default_rng(seed)
    oi, dj = np.nonzero(off)
    pick = rng.permutation(oi.size)[: round(holdout * oi.size)]
    held = np.zeros((n, n), dtype=bool)
    held[oi[pick], dj[pick]] = True
    train = off & ~held
    coef = gravity_fit(f21, data.distance, data.border, train)
    kern = gravity_kernel(coef, data.distance, data.border)
    t21 = np.where(train, f21, 0.0)
    # the fit's fixed effects are the balancing factors on the kept pairs; they predict the held-out pairs
    row_f, col_f = balance_factors(np.where(train, kern, 0.0), t21.sum(axis=1), t21.sum(axis=0))
    pred_all = row_f[:, None] * col_f[None, :] * kern
    y = f21[held]
    scaled = f11[held] * t21.sum() / np.where(train, f11, 0.0).sum()
    filled = np.where(off, np.where(f11 > 0, f11, ZERO_WEIGHT * pred_all), 0.0)
    r_row, r_col = balance_factors(np.where(train, filled, 0.0), t21.sum(axis=1), t21.sum(axis=0))
    rebalanced = (r_row[:, None] * r_col[None, :] * filled)[held]
    sa = {"model": _od_scores(y, pred_all[held]), "persistence": _od_scores(y, scaled),
          "persistence_rebalanced": _od_scores(y, rebalanced)}
    details["a"] = {"n_held_out": int(held.sum()), "held_out_flow": float(y.sum()), "coefficients": coef, "scores": sa}
    sec_a = f"OD fit (a): {int(holdout * 100)}% random held-out Census 2021 pairs (seed {seed})"
    for bench, bname in (("persistence", "persistence (2011 x total ratio)"),
                         ("persistence_rebalanced", "persistence re-balanced")):
        rows.append(_row(3, sec_a, "held-out pair flows", "pairs", "CPC", "higher", sa["model"]["cpc"], bname,
                         sa[bench]["cpc"]))
        rows.append(_row(3, sec_a, "held-out pair flows", "pairs", "SRMSE", "lower", sa["model"]["srmse"], bname,
                         sa[bench]["srmse"]))

    # (b) leave one region out, margins given
    regions = np.array(data.regions)
    labels = sorted(set(data.regions))
    ys, ms, ps = [], [], []
    per_region: dict[str, dict[str, Any]] = {}
    sec_b = "OD fit (b): leave-one-region-out destination choice (2021 margins given)"
    for lab in labels:
        inside = regions == lab
        mask = off & ~inside[:, None]
        cb = gravity_fit(f21, data.distance, data.border, mask)
        k = gravity_kernel(cb, data.distance, data.border)[inside]
        obs = np.where(off[inside], f21[inside], 0.0)
        r_tot, c_tot = obs.sum(axis=1), obs.sum(axis=0)
        pred = balanced(np.where(off[inside], k, 0.0), r_tot, c_tot)
        base = np.where(off[inside], np.where(f11[inside] > 0, f11[inside], ZERO_WEIGHT * pred), 0.0)
        pers = balanced(base, r_tot, c_tot)
        sel = off[inside]
        ys.append(obs[sel])
        ms.append(pred[sel])
        ps.append(pers[sel])
        sm, sp = _od_scores(obs[sel], pred[sel]), _od_scores(obs[sel], pers[sel])
        per_region[lab] = {"name": data.region_names[lab], "coefficients": cb, "model": sm, "persistence": sp}
        rows.append(_row(3, sec_b, f"origins in {data.region_names[lab]}", "pairs", "CPC", "higher", sm["cpc"],
                         "persistence (2011, margins given)", sp["cpc"]))
    y_all, m_all, p_all = np.concatenate(ys), np.concatenate(ms), np.concatenate(ps)
    sb = {"model": _od_scores(y_all, m_all), "persistence": _od_scores(y_all, p_all)}
    details["b"] = {"regions": per_region, "pooled": sb}
    for metric, better in (("cpc", "higher"), ("srmse", "lower")):
        rows.append(_row(3, sec_b, "all regions pooled", "pairs", metric.upper(), better,  # type: ignore[arg-type]
                         sb["model"][metric], "persistence (2011, margins given)", sb["persistence"][metric]))

    # (c) calibrated on 2011, predicting 2021 (reused), beside both persistence benchmarks
    table = _ladder_like_table(data)
    oos = out_of_sample(data_dir, table=table)
    sc = oos.scores
    y21 = np.where(off, f21, 0.0)
    c11 = oos.coefficients_2011
    k11 = gravity_kernel({"beta_distance": float(c11.get("log(distance_km)", coef["beta_distance"])),
                          "gamma_border": float(c11.get("border", coef["gamma_border"]))}, data.distance, data.border)
    y11 = np.where(off, f11, 0.0)
    fit11 = balanced(np.where(off, k11, 0.0), y11.sum(axis=1), y11.sum(axis=0))
    base = np.where(off, np.where(f11 > 0, f11, ZERO_WEIGHT * fit11), 0.0)
    reb_c = balanced(base, y21.sum(axis=1), y21.sum(axis=0))
    sc_c = {"model": {"cpc": float(sc["cpc"].iloc[0]), "srmse": float(sc["srmse"].iloc[0])},
            "in_sample_2021": {"cpc": float(sc["cpc"].iloc[1]), "srmse": float(sc["srmse"].iloc[1])},
            "persistence": {"cpc": float(sc["cpc"].iloc[2]), "srmse": float(sc["srmse"].iloc[2])},
            "persistence_rebalanced": _od_scores(y21[off], reb_c[off])}
    details["c"] = {"coefficients_2011": oos.coefficients_2011, "coefficients_2021": oos.coefficients_2021,
                    "scores": sc_c}
    sec_c = "OD fit (c): calibrated on Census 2011, predicting Census 2021 (2021 margins given)"
    for bench, bname in (("persistence", "persistence (2011 x total ratio)"),
                         ("persistence_rebalanced", "persistence re-balanced")):
        for metric, better in (("cpc", "higher"), ("srmse", "lower")):
            rows.append(_row(3, sec_c, "all 2021 pair flows", "pairs", metric.upper(), better,  # type: ignore[arg-type]
                             sc_c["model"][metric], bname, sc_c[bench][metric]))
    return rows, details


def _ladder_like_table(data: ValidationData) -> pd.DataFrame:
    """The two periods' off-diagonal pairs as :func:`~migravity.analysis.ladder.out_of_sample` reads them."""
    n = len(data.codes)
    oi, dj = np.nonzero(~np.eye(n, dtype=bool))
    codes = np.array(data.codes)
    parts = [pd.DataFrame({"origin": codes[oi], "destination": codes[dj], "flow": data.flows[p][oi, dj],
                           "distance_km": data.distance[oi, dj], "border": data.border[oi, dj], "period": p})
             for p in ("2011", "2021")]
    return pd.concat(parts, ignore_index=True)


def identification_line(report: IdentificationReport) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Line 4: the identification checks per parameter, pass/fail (1 = pass, 0 = fail)."""
    from migravity.analysis.identification import CHANGE_TERMS, PRICE_TERMS, STABILITY_SE

    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    section = "Identification checks (change design 2011 -> 2021)"

    def add(parameter: str, check: str, passes: bool, value: float, threshold: float, detail: str) -> None:
        checks.append({"parameter": parameter, "check": check, "passes": bool(passes), "value": float(value),
                       "threshold": float(threshold), "detail": detail})
        rows.append({"line": 4, "section": section, "predicted": parameter, "level": "parameter", "metric": check,
                     "better": "higher", "model": 1.0 if passes else 0.0, "benchmark": detail,
                     "benchmark_score": 1.0, "beats_benchmark": bool(passes)})

    term_param = {"wfh_x_access": "delta_wfh_access", "wfh_x_price": "delta_wfh_price"}
    for key, fails in report.placebo_fails.items():
        exposure, term = key.split(":")
        add(term_param.get(term, term), "placebo: x-section, " + ("WFH" if exposure == "wfh_share_2021" else "tele"),
            not fails, float(fails), 0.0, "no same-sign p<0.05 effect on 2011 flows")
    change = report.change
    two_way = change[change["cluster"] == "origin+destination"]
    for table, terms, control_spec in ((two_way, CHANGE_TERMS, "price_sorting"), (report.price, PRICE_TERMS,
                                                                                   "price_sorting")):
        for term, param in terms.items():
            main = table[(table["spec"] == "main") & (table["term"] == term)].iloc[0]
            ctrl = table[(table["spec"] == control_spec) & (table["term"] == term)].iloc[0]
            moved = abs(float(ctrl["estimate"]) - float(main["estimate"])) / float(main["std_error"])
            same = np.sign(ctrl["estimate"]) == np.sign(main["estimate"])
            add(param, "price-sorting stability", bool(same and moved <= STABILITY_SE), moved, STABILITY_SE,
                f"same sign, moves <= {STABILITY_SE:g} SE")
    loro = report.loro
    for design, terms, table in (("change", CHANGE_TERMS, two_way), ("price", PRICE_TERMS, report.price)):
        for term, param in terms.items():
            main = float(table[(table["spec"] == "main") & (table["term"] == term)].iloc[0]["estimate"])
            est = loro[(loro["design"] == design) & (loro["term"] == term)]["estimate"].to_numpy(dtype=float)
            flips = int(np.sum(np.sign(est) != np.sign(main)))
            add(param, "leave-one-region-out sign", flips == 0, flips, 0.0,
                f"same sign in all {est.size} regions")
    decisions = {k: {"status": d.status, "value": d.value, "std_error": d.std_error, "reason": d.reason}
                 for k, d in report.decisions.items()}
    return rows, {"checks": checks, "decisions": decisions, "cross_section_fails": report.cross_section_fails}


def validate(zones: ZoneSet, data_dir: DataDir = None, *, seed: int = DEFAULT_SEED, holdout: float = HOLDOUT_SHARE,
             identification: bool = True, reporter: Reporter = SILENT, data: IdentificationData | None = None,
             report: IdentificationReport | None = None) -> Scorecard:
    """Compute the backtest scorecard (module docs) on the real data of ``zones``.

    Parameters
    ----------
    zones : ZoneSet
        England and Wales LADs (``load_zones("2023", "EW")``).
    data_dir : path-like, optional
        Data directory.
    seed : int
        Seed of the random held-out pairs of line 3(a).
    holdout : float
        Share of pairs held out in line 3(a).
    identification : bool
        Run the identification analysis for line 4 (about 30 s); ``False`` leaves line 4 out.
    reporter : Reporter
        Progress sink.
    data : IdentificationData, optional
        The identification data of ``zones`` already loaded (flows, distances, borders): not read again.
    report : IdentificationReport, optional
        The identification report already computed for ``zones`` (line 4): not computed again.

    Returns
    -------
    Scorecard
    """
    outside = sorted({c[0] for c in zones.codes} - {"E", "W"})
    if outside:
        raise ConfigError("zones", str(zones), "give England and Wales zones (load_zones(\"2023\", \"EW\"))")
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    with reporter.progress("loading the data"):
        id_data = data
        if identification and id_data is None and report is None:
            from migravity.analysis.identification_data import load_identification_data

            id_data = load_identification_data(zones, data_dir)
        vdata = load_validation_data(zones, data_dir, identification=id_data)
    seconds["load"] = time.perf_counter() - t0
    rate = move_rates(vdata.components)
    choice = choice_from_flows(vdata.flows["2011"])
    t = time.perf_counter()
    with reporter.progress("hindcast 2011 -> 2021 and net migration"):
        r1, d1 = hindcast_line(vdata, rate, choice)
        r2, d2 = net_migration_line(vdata, rate, choice)
    rows += r1 + r2
    details["line1"], details["line2"] = d1, d2
    seconds["lines_1_2"] = time.perf_counter() - t
    t = time.perf_counter()
    with reporter.progress("origin-destination fit on held-out flows"):
        r3, d3 = od_line(vdata, seed=seed, holdout=holdout, data_dir=data_dir)
    rows += r3
    details["line3"] = d3
    seconds["line_3"] = time.perf_counter() - t
    if identification:
        from migravity.analysis.identification import identify

        t = time.perf_counter()
        if report is None:
            report = identify(zones, data_dir, reporter=reporter, data=id_data)
        r4, d4 = identification_line(report)
        rows += r4
        details["line4"] = d4
        seconds["line_4"] = time.perf_counter() - t
    details["notes"] = {
        "pivot": "the scenario model's baseline destination choice is a persistence pivot (the observed pattern "
                 "re-balanced); line 3 scores the gravity core that scenarios move, not the baseline",
        "move_rates": f"mean of internal_out / population over the years of change ending mid-{HINDCAST_WINDOW[0]} "
                      f"... mid-{HINDCAST_WINDOW[1]} (mid-{HINDCAST_WINDOW[0] - 1} -> mid-{HINDCAST_WINDOW[1]}); "
                      "gross internal flows of LADs merged since count moves between their old districts and "
                      "moves to Scotland and Northern Ireland",
        "national_trend": "every hindcast method is given the observed 2021 national total",
        "hsl_bases": "HSL 2011: residents 16-74 in work; 2021: residents 16+ in work (NS-SEC 1-2)",
    }
    seconds["total"] = time.perf_counter() - t0
    return Scorecard(pd.DataFrame(rows, columns=list(COLUMNS)), details, seconds)
