"""The research's model ladder and the out-of-sample test, on the real Census LAD flows.

Model ladder (unconstrained PPML, Census 2021 inter-LAD migration within England, 2023 codes,
296 zones, 87,320 pairs; area type = IMD 2019 quintile of the sending LAD, reference = quintile 1,
the most deprived):

- **M1** area type only: dummies for origin quintiles 2-5.
- **M2** + ``log(distance_km)`` and ``border`` (shared border).
- **M3** + demographic structure of the sending LAD: ``log(o_population)``, ``o_share_20_34`` and
  ``o_share_65plus``; with ``log(d_population)`` as the destination's mass.
- **M4** + relative economic conditions of receiving vs sending LAD: ``log(hp_ratio)`` (median house
  price, destination / origin) and ``log(pay_ratio)`` (median weekly pay, destination / origin).

Out of sample: the doubly-constrained gravity model (``log(distance_km)`` + ``border``) is
calibrated on Census 2011 migration (harmonised to 2023 codes, England and Wales), then predicts the
Census 2021 flows given the 2021 origin and destination totals. Reported beside the in-sample fit on
2021 and a persistence benchmark (2011 flows rescaled to the 2021 total).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DataDir = str | os.PathLike[str] | None

LADDER_ATTRIBUTES = ("population", "share_20_34", "share_65plus", "house_price", "weekly_pay", "imd_quintile")

LADDER: dict[str, dict[str, Any]] = {
    "M1": {"cost": None, "terms": ["o_q2", "o_q3", "o_q4", "o_q5"]},
    "M2": {"cost": "distance_km", "terms": ["o_q2", "o_q3", "o_q4", "o_q5", "border"]},
    "M3": {"cost": "distance_km", "terms": ["o_q2", "o_q3", "o_q4", "o_q5", "border", "log(o_population)",
                                            "log(d_population)", "o_share_20_34", "o_share_65plus"]},
    "M4": {"cost": "distance_km", "terms": ["o_q2", "o_q3", "o_q4", "o_q5", "border", "log(o_population)",
                                            "log(d_population)", "o_share_20_34", "o_share_65plus",
                                            "log(hp_ratio)", "log(pay_ratio)"]},
}


def ladder_table(data_dir: DataDir = None) -> pd.DataFrame:
    """The pair table of the ladder: England, 2023 codes, inter-LAD pairs with the derived columns."""
    from migravity.geodata import load_zones, od_table

    zones = load_zones("2023", "England", data_dir)
    table = od_table(zones, kind="migration2021", attribute_vars=LADDER_ATTRIBUTES, data_dir=data_dir)
    for q in (2, 3, 4, 5):
        table[f"o_q{q}"] = (table["o_imd_quintile"] == q).astype(float)
    table["hp_ratio"] = table["d_house_price"] / table["o_house_price"]
    table["pay_ratio"] = table["d_weekly_pay"] / table["o_weekly_pay"]
    return table


@dataclass(frozen=True)
class LadderResult:
    """The fitted ladder: one calibration result per model, in order."""

    results: dict[str, Any]
    n_pairs: int

    def table(self) -> str:
        """A paper-style regression table: coefficient, robust SE in brackets, stars."""
        return regression_table(self.results)


def fit_ladder(data_dir: DataDir = None, table: pd.DataFrame | None = None) -> LadderResult:
    """Fit M1-M4 (unconstrained PPML, robust SEs) on the England Census 2021 flows."""
    from migravity.engine import calibrate

    table = ladder_table(data_dir) if table is None else table
    results = {}
    for name, spec in LADDER.items():
        results[name] = calibrate(
            table, origin="origin", destination="destination", flow="flow", cost=spec["cost"],
            deterrence="power", constraint="none", terms=tuple(spec["terms"]), se="robust",
        )
    return LadderResult(results, len(table))


def regression_table(results: dict[str, Any]) -> str:
    """Format several fitted models side by side: coefficient with stars, robust SE below."""
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
    lines.append(f"Robust (HC0) standard errors in brackets. {STARS_LEGEND}.")
    return "\n".join(lines)


@dataclass(frozen=True)
class OutOfSample:
    """Out-of-sample figures: calibrated on Census 2011, predicting Census 2021."""

    coefficients_2011: dict[str, float]
    coefficients_2021: dict[str, float]
    scores: pd.DataFrame  # rows: model; columns: cpc, srmse


def out_of_sample(data_dir: DataDir = None) -> OutOfSample:
    """Calibrate on Census 2011 migration, predict Census 2021 (E&W, 2023 codes, inter-LAD pairs)."""
    from migravity.engine import CalibrationOptions, calibrate
    from migravity.engine.fitstats import cpc, srmse
    from migravity.geodata import load_zones, od_table

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
