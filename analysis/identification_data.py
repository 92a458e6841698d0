"""The data of the identification analysis: a 2011/2021 panel of inter-LAD migration on one zone set.

Zones: the 318 LADs of England and Wales on 2023 codes (``load_zones("2023", "EW")``); the
Census 2011 (year to 27 March 2011, ``migration2011``) and Census 2021 (year to 21 March 2021,
``migration2021``) flows harmonised to them by :func:`migravity.geodata.load_flows`, off-diagonal
pairs only (318 x 317 = 100,806 per period).

Per LAD:

``teleworkability_2011``
    Share of the residents in work whose occupation can be done from home, from the Census 2011
    occupation mix (pre-determined: measured a decade before COVID), from
    :func:`migravity.geodata.skills.load_skills`.
``wfh_share_2021``, ``workers_2021``
    Census 2021 share of residents in work mainly working at or from home, and the residents in work.
``jobs_2011``, ``jobs_2021``
    Jobs by workplace (Census 2011 WU03UK / 2021 ODWP01EW: working in the district plus working at home).
``house_price``, ``weekly_pay``
    Dated to each period's flows (:func:`migravity.geodata.covariates.load_dated_covariates`):
    HPSSA median price, year to March of the census year; ASHE median weekly pay, April of it.

Job accessibility ``A_j = sum_k jobs_k d_jk^beta`` uses the commuting deterrence ``beta``
calibrated (doubly-constrained PPML, log distance and shared border, robust SE) on the Census 2011
commuting flows (WU03UK on 2011 census-merged districts, harmonised with ``code_map("2011cm", ...)``:
the districts recoded in 2013 renamed, the merged Westminster+City of London split by Census 2011
population).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from migravity.errors import DataError
from migravity.geodata.datadir import DataDir
from migravity.geodata.flows import commute2011_matrix
from migravity.geodata.zones import ZoneSet

PERIODS: tuple[str, str] = ("2011", "2021")
SKILL_VARS: tuple[str, ...] = ("teleworkability_2011", "wfh_share_2021", "workers_2021", "jobs_2011", "jobs_2021")



@dataclass(frozen=True)
class IdentificationData:
    """Everything the identification analysis reads, in zone order (arrays of length n or (n, n))."""

    codes: tuple[str, ...]
    region_codes: tuple[str, ...]
    region_names: tuple[str, ...]
    flows: dict[str, np.ndarray]            # period -> (n, n) flows (diagonal = within-LAD moves, unused)
    distance: np.ndarray                    # (n, n) km, intra-zone distance on the diagonal
    border: np.ndarray                      # (n, n) shared border 0/1
    skills: dict[str, np.ndarray]           # SKILL_VARS
    house_price: dict[str, np.ndarray]      # period -> GBP
    weekly_pay: dict[str, np.ndarray]       # period -> GBP per week
    beta_commute_2011: float
    beta_commute_2011_se: float
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of zones."""
        return len(self.codes)

    def job_access(self, jobs_year: str = "2011") -> np.ndarray:
        """``A_j = sum_k jobs_k d_jk^beta_commute_2011`` with the jobs of ``jobs_year``."""
        return (self.distance ** self.beta_commute_2011) @ self.skills[f"jobs_{jobs_year}"]


@dataclass(frozen=True)
class FirstStage:
    """``wfh_share_2021_i = a + b * teleworkability_2011_i`` (worker-weighted least squares across LADs)."""

    a: float
    b: float
    r2: float
    national_wfh: float          # worker-weighted mean WFH share (the centre of the WFH scale)
    national_tele: float         # worker-weighted mean teleworkability (the centre of the exposure)


def first_stage(tele: np.ndarray, wfh: np.ndarray, workers: np.ndarray) -> FirstStage:
    """Worker-weighted LS of the WFH share on teleworkability, with its weighted R^2 and centres."""
    x = np.column_stack([np.ones(len(tele)), tele])
    xw = x * workers[:, None]
    a, b = np.linalg.solve(x.T @ xw, xw.T @ wfh)
    resid = wfh - a - b * tele
    wbar = float(np.average(wfh, weights=workers))
    r2 = 1.0 - float(np.sum(workers * resid ** 2) / np.sum(workers * (wfh - wbar) ** 2))
    return FirstStage(float(a), float(b), r2, wbar, float(np.average(tele, weights=workers)))


def _frame_of(obj: Any, codes: tuple[str, ...]) -> pd.DataFrame:
    """A loader's result (xarray Dataset or DataFrame indexed by code) as a DataFrame in zone order."""
    frame = obj.to_dataframe() if hasattr(obj, "to_dataframe") else pd.DataFrame(obj)
    if "code" in frame.columns:
        frame = frame.set_index("code")
    return frame.reindex(list(codes))


def _check_complete(name: str, values: np.ndarray, codes: tuple[str, ...]) -> np.ndarray:
    bad = [c for c, v in zip(codes, values, strict=True) if not np.isfinite(v) or v < 0]
    if bad:
        raise DataError(f"{name}: no valid value for {len(bad)} zones ({', '.join(bad[:5])}); "
                        "check the source table covers every LAD of the zone set")
    return values


def _skills(zones: ZoneSet, data_dir: DataDir, sources: dict[str, str]) -> dict[str, np.ndarray]:
    from migravity.geodata.skills import load_skills

    sources["skills"] = "migravity.geodata.skills.load_skills (Census QS606EW, TS061, WU03UK, ODWP01EW)"
    frame = _frame_of(load_skills(zones, data_dir), zones.codes)
    return {v: _check_complete(v, frame[v].to_numpy(dtype=float), zones.codes) for v in SKILL_VARS}


def _dated(zones: ZoneSet, data_dir: DataDir, period: str, sources: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    from migravity.geodata.covariates import load_dated_covariates

    sources["covariates"] = "migravity.geodata.covariates.load_dated_covariates (HPSSA, ASHE)"
    frame = _frame_of(load_dated_covariates(zones, 2011 if period == "2011" else 2021, data_dir), zones.codes)
    return (_check_complete(f"house_price {period}", frame["house_price"].to_numpy(dtype=float), zones.codes),
            _check_complete(f"weekly_pay {period}", frame["weekly_pay"].to_numpy(dtype=float), zones.codes))


#: Census 2011 commuting on the zones (the geodata loader; kept under this name for the analysis).
commute2011 = commute2011_matrix


def commute_deterrence_2011(zones: ZoneSet, distance: np.ndarray, border: np.ndarray,
                            data_dir: DataDir = None) -> tuple[float, float, np.ndarray]:
    """Power deterrence of commuting on the Census 2011 flows (doubly constrained, border term, robust SE).

    Returns the coefficient of log distance, its standard error and the (n, n) commuting matrix.
    """
    from migravity.engine import calibrate_arrays

    mat = commute2011(zones, data_dir)
    off = ~np.eye(len(zones), dtype=bool)
    res = calibrate_arrays(mat, cost=distance, pair_terms={"border": border}, mask=off, constraint="doubly",
                           se="robust", strict=True)
    return float(res.coefficients["log(cost)"]), float(res.std_errors["log(cost)"]), mat


def load_identification_data(zones: ZoneSet, data_dir: DataDir = None) -> IdentificationData:
    """Load flows, exposures, dated covariates and the 2011 commuting deterrence for ``zones``."""
    from migravity.geodata import contiguity_matrix, distance_matrix, load_flows

    sources: dict[str, str] = {}
    flows = {p: load_flows(f"migration{p}", zones, data_dir).to_numpy().astype(float)
             for p in PERIODS}
    distance = distance_matrix(zones).to_numpy().astype(float)
    border = contiguity_matrix(zones).to_numpy().astype(float)
    skills = _skills(zones, data_dir, sources)
    hp, pay = {}, {}
    for p in PERIODS:
        hp[p], pay[p] = _dated(zones, data_dir, p, sources)
    beta, beta_se, _ = commute_deterrence_2011(zones, distance, border, data_dir)
    return IdentificationData(tuple(zones.codes), tuple(zones.region_codes), tuple(zones.region_names), flows,
                              distance, border, skills, hp, pay, beta, beta_se, sources)


def panel_frame(data: IdentificationData) -> pd.DataFrame:
    """Long panel of off-diagonal pairs: origin, destination (zone indices), period, flow, post and FE keys.

    ``origin_period`` and ``dest_period`` are ``zone * 2 + (period == 2021)``; ``pair`` is
    ``origin * n + destination`` (integer keys, cheap to group).
    """
    n = data.n
    oi, dj = np.nonzero(~np.eye(n, dtype=bool))
    parts = []
    for k, p in enumerate(PERIODS):
        parts.append(pd.DataFrame({"origin": oi, "destination": dj, "period": p,
                                   "flow": data.flows[p][oi, dj], "post": float(k)}))
    df = pd.concat(parts, ignore_index=True)
    post = df["post"].to_numpy().astype(np.int64)
    df["origin_period"] = df["origin"].to_numpy() * 2 + post
    df["dest_period"] = df["destination"].to_numpy() * 2 + post
    df["pair"] = df["origin"].to_numpy() * n + df["destination"].to_numpy()
    return df
