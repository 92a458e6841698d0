"""Worker segments: skill group x working-from-home (WFH) frequency class, and their local shares.

Sixteen segments: two skill groups (``high`` = management and professional occupations, ``other``)
times eight WFH classes. National class shares come from the research survey (high-skilled
8,264 of 18,422 workers); the ``other`` shares are derived from
``all = h * high + (1 - h) * other`` with ``h = 8264 / 18422``.

Local shares (see :func:`derive_segment_shares`):

1. High-skilled share of a LAD's workers: ``logit(h_i) = a + b_q z(qual_l3plus_i) + b_p z(log weekly_pay_i)``
   (``z``: standardised across LADs, worker-weighted), ``a`` solved so that the worker-weighted
   national share equals ``h``. ``b_q = b_p = 0.5`` are assumptions.
2. WFH classes within each skill group: an exponential tilt of the national class distribution
   by WFH intensity ``g_c = 1 - days_c / 5``, ``pi_kci ∝ pi_kc exp(tau_i g_c)``, with one ``tau_i``
   per LAD solved so that the LAD's mean WFH intensity (both skill groups) equals the national mean
   times the LAD's Census 2021 WFH share relative to the national one.

A user's own table (CSV with columns ``lad``, ``segment``, ``share``) replaces the derivation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from migravity.errors import ConfigError, MalformedDataError

if TYPE_CHECKING:
    import xarray as xr

Skill = Literal["high", "other"]
SKILLS: tuple[str, ...] = ("high", "other")

#: The WFH frequency classes, in order.
WFH_CLASSES: tuple[str, ...] = ("never", "monthly", "1day", "2day", "3day", "4day", "always", "variable")
WFH_CLASS_LABELS: dict[str, str] = {
    "never": "never", "monthly": "1-4 days a month", "1day": "1 day a week", "2day": "2 days a week",
    "3day": "3 days a week", "4day": "4 days a week", "always": "always", "variable": "variable",
}
#: Commuting days per week of each class (1-4 days a month = 0.6 days WFH a week; variable = 2.5).
COMMUTE_DAYS: dict[str, float] = {
    "never": 5.0, "monthly": 4.4, "1day": 4.0, "2day": 3.0, "3day": 2.0, "4day": 1.0, "always": 0.0,
    "variable": 2.5,
}
#: National class shares (%) of high-skilled workers and of all workers (research survey).
NATIONAL_HIGH: tuple[float, ...] = (29.1, 9.6, 5.4, 10.0, 11.0, 8.3, 15.1, 11.4)
NATIONAL_ALL: tuple[float, ...] = (52.6, 6.5, 3.6, 6.3, 6.7, 5.3, 10.7, 8.3)
SURVEY_HIGH, SURVEY_ALL = 8264, 18422
#: National high-skilled share of workers.
HIGH_SHARE: float = SURVEY_HIGH / SURVEY_ALL

#: Working days in a week: a class commuting this many days has WFH intensity 0.
WORK_DAYS: float = 5.0

SEGMENTS: tuple[str, ...] = tuple(f"{k}_{c}" for k in SKILLS for c in WFH_CLASSES)
N_CLASSES = len(WFH_CLASSES)
N_SEGMENTS = len(SEGMENTS)


def national_shares() -> np.ndarray:
    """National WFH class shares by skill group, shape (2, 8), rows ``high`` and ``other``, each summing to 1.

    The ``other`` row is ``(all - h * high) / (1 - h)``; it is checked to be non-negative.
    """
    high = np.asarray(NATIONAL_HIGH) / 100.0
    high = high / high.sum()  # the published shares sum to 99.9 / 100 after rounding
    allw = np.asarray(NATIONAL_ALL) / 100.0
    allw = allw / allw.sum()
    other = (allw - HIGH_SHARE * high) / (1.0 - HIGH_SHARE)
    if np.any(other < 0):  # pragma: no cover - a property of the published figures
        raise ValueError(f"derived other-worker shares are negative: {other}")
    return np.vstack([high, other / other.sum()])


def segment_days() -> np.ndarray:
    """Commuting days per week of each of the 16 segments."""
    return np.array([COMMUTE_DAYS[c] for _ in SKILLS for c in WFH_CLASSES])


def wfh_intensity(days: float | np.ndarray) -> np.ndarray:
    """WFH intensity ``g = 1 - days / 5``: the share of the working week worked from home.

    Parameters
    ----------
    days : float or array_like
        Commuting days per week (0 to :data:`WORK_DAYS`).

    Returns
    -------
    ndarray
        0 for a worker who commutes every day, 1 for one who always works from home.
    """
    return 1.0 - np.asarray(days, dtype=float) / WORK_DAYS


def class_intensity() -> np.ndarray:
    """WFH intensity ``g_c`` of each of the 8 WFH classes (:data:`WFH_CLASSES` order)."""
    return wfh_intensity(np.array([COMMUTE_DAYS[c] for c in WFH_CLASSES]))


def segment_intensity() -> np.ndarray:
    """WFH intensity ``g_s`` of each of the 16 segments (:data:`SEGMENTS` order)."""
    return wfh_intensity(segment_days())


def segment_skill() -> np.ndarray:
    """Skill index per segment: 0 = high, 1 = other."""
    return np.repeat(np.arange(len(SKILLS)), N_CLASSES)


def _zscore(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    m = np.average(x, weights=w)
    s = np.sqrt(np.average((x - m) ** 2, weights=w))
    return (x - m) / s if s > 0 else np.zeros_like(x)


def _bisect(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, iters: int = 80) -> np.ndarray:
    """Vectorised bisection for increasing ``f``."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        up = f(mid) > 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    return 0.5 * (lo + hi)


def high_skill_shares(qual: np.ndarray, pay: np.ndarray, workers: np.ndarray, *,
                      b_qual: float = 0.5, b_pay: float = 0.5, national: float = HIGH_SHARE) -> np.ndarray:
    """High-skilled share of each LAD's workers: logistic tilt of the national share (see module docs)."""
    tilt = b_qual * _zscore(qual, workers) + b_pay * _zscore(np.log(pay), workers)

    def excess(a: np.ndarray) -> np.ndarray:
        return np.array([np.average(1 / (1 + np.exp(-(float(a[0]) + tilt))), weights=workers) - national])

    a = _bisect(excess, np.array([-20.0]), np.array([20.0]))[0]
    return 1.0 / (1.0 + np.exp(-(a + tilt)))


def class_shares(high: np.ndarray, wfh_share: np.ndarray, workers: np.ndarray) -> np.ndarray:
    """WFH class shares per LAD and skill group, shape (n, 2, 8): tilt by the local Census WFH share."""
    nat = national_shares()
    g = class_intensity()
    w_nat = np.average(wfh_share, weights=workers)
    mix_nat = HIGH_SHARE * nat[0] + (1 - HIGH_SHARE) * nat[1]
    target = np.clip(float(mix_nat @ g) * wfh_share / w_nat, 0.01, 0.99)

    def tilted(tau: np.ndarray) -> np.ndarray:
        t = nat[None, :, :] * np.exp(tau[:, None, None] * g[None, None, :])
        return t / t.sum(axis=2, keepdims=True)

    def excess(tau: np.ndarray) -> np.ndarray:
        t = tilted(tau)
        mix = high[:, None] * t[:, 0, :] + (1 - high[:, None]) * t[:, 1, :]
        return mix @ g - target

    n = len(high)
    tau = _bisect(excess, np.full(n, -40.0), np.full(n, 40.0))
    return tilted(tau)


def derive_segment_shares(attributes: xr.Dataset, *, b_qual: float = 0.5, b_pay: float = 0.5) -> np.ndarray:
    """Shares of each LAD's workers by segment, shape (n, 16), rows summing to 1.

    Parameters
    ----------
    attributes : xarray.Dataset
        From :func:`migravity.geodata.load_attributes`: ``qual_l3plus``, ``weekly_pay``,
        ``wfh_share``, ``workers``.
    b_qual, b_pay : float
        Slopes of the logistic tilt of the high-skilled share (assumed).
    """
    workers = attributes["workers"].to_numpy().astype(float)
    high = high_skill_shares(attributes["qual_l3plus"].to_numpy().astype(float),
                             attributes["weekly_pay"].to_numpy().astype(float), workers,
                             b_qual=b_qual, b_pay=b_pay)
    cls = class_shares(high, attributes["wfh_share"].to_numpy().astype(float), workers)
    out = np.concatenate([high[:, None] * cls[:, 0, :], (1 - high[:, None]) * cls[:, 1, :]], axis=1)
    return out / out.sum(axis=1, keepdims=True)


def read_segment_table(path: str | os.PathLike[str], codes: tuple[str, ...]) -> np.ndarray:
    """Read a user's segment table (CSV: ``lad``, ``segment``, ``share``) into an (n, 16) array.

    Every LAD of the study area needs all 16 segments; shares per LAD must be in [0, 1] and sum
    to 1 (within 1e-6; they are then renormalised).
    """
    try:
        df = pd.read_csv(path, dtype={"lad": str, "segment": str})
    except (OSError, ValueError) as exc:
        raise MalformedDataError(Path(path), f"cannot read the segment table: {exc}") from exc
    missing = {"lad", "segment", "share"} - set(df.columns)
    if missing:
        raise MalformedDataError(Path(path), f"missing columns {sorted(missing)}; need lad, segment, share")
    bad_seg = sorted(set(df.segment) - set(SEGMENTS))
    if bad_seg:
        raise ConfigError("segment_table.segment", bad_seg[0], "use one of " + ", ".join(SEGMENTS))
    bad_lad = sorted(set(df.lad) - set(codes))
    if bad_lad:
        raise ConfigError("segment_table.lad", bad_lad[0], "use LAD codes of the study area, e.g. " + codes[0])
    share = pd.to_numeric(df.share, errors="coerce")
    if share.isna().any() or (share < 0).any() or (share > 1).any():
        bad = df.share[share.isna() | (share < 0) | (share > 1)].iloc[0]
        raise ConfigError("segment_table.share", bad, "give shares between 0 and 1")
    table = df.assign(share=share).pivot_table(index="lad", columns="segment", values="share", aggfunc="sum")
    table = table.reindex(index=list(codes), columns=list(SEGMENTS))
    if table.isna().any().any():
        lad = table.index[table.isna().any(axis=1)][0]
        raise MalformedDataError(Path(path), f"LAD {lad} lacks some of the 16 segments ({', '.join(SEGMENTS)})")
    arr = table.to_numpy(float)
    sums = arr.sum(axis=1)
    if np.any(np.abs(sums - 1) > 1e-6):
        i = int(np.argmax(np.abs(sums - 1)))
        raise ConfigError(f"segment_table.share[{codes[i]}]", float(sums[i]), "shares of a LAD must sum to 1")
    return arr / sums[:, None]
