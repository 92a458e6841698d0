"""Worker segments: skill group x working-from-home (WFH) frequency class, and their local counts.

Sixteen segments: two skill groups (``high`` = high-skilled workers, HSL: NS-SEC classes 1-2,
managerial, administrative and professional occupations; ``other``) times eight WFH classes. The
research survey (2022-24; high-skilled 8,264 of 18,422 workers) gives the national class shares;
the ``other`` shares are derived from ``all = h * high + (1 - h) * other`` with ``h = 8264 / 18422``.

Local counts by iterative proportional fitting (:func:`fit_segments`)
--------------------------------------------------------------------
The (n, 2, 8) counts ``N[i, k, c]`` are fitted, starting from ``S_ik p_kc`` (survey distributions),
to three sets of margins at once:

(a) skill: ``sum_c N[i, k, c]`` = the LAD's Census 2021 HSL count and other workers
    (:func:`migravity.geodata.skills.load_skills`: ``hsl_2021``, ``workers_2021 - hsl_2021``);
(b) WFH: ``sum_k sum_{c in H} N[i, k, c]`` = the LAD's Census 2021 count working mainly at or from
    home (TS061 ``wfh_2021``), with the "mainly at home" classes ``H`` = :data:`HOME_CLASSES`
    (3 days, 4 days a week, always: home on a majority of the working week); the complement
    ``c not in H`` gets ``workers - wfh``;
(c) national: ``sum_i N[i, k, c] = T_kc``, the survey's class distribution within each skill
    group, reconciled with the Census (:func:`national_targets`).

Reconciling the survey (2022-24, after the pandemic) with the Census (21 March 2021, a lockdown:
31.2% mainly at home against the survey's 22.7%): the survey's *within* distributions are kept,
over the mainly-home classes ``p_kc / p_kH`` and over the others ``p_kc / (1 - p_kH)``; the national
mainly-home share of each skill group ``m_k`` is set so that (i) the two groups together match the
Census total, ``h m_high + (1 - h) m_other = W`` (``h``, ``W``: Census HSL and WFH shares of
workers), and (ii) the survey's odds ratio between the groups is kept,
``logit m_high - logit m_other = logit p_high,H - logit p_other,H``. Then
``T_kc = S_k m_k p_kc / p_kH`` for ``c in H`` and ``S_k (1 - m_k) p_kc / (1 - p_kH)`` otherwise,
which makes (c) consistent with (a) and (b) nationally, and IPF converges to all three (to 1e-10
relative by default). The fit keeps the survey's class detail nationally, and lets each LAD's HSL
and WFH counts be exactly the Census ones.

A user's own table (CSV with columns ``lad``, ``segment``, ``share``) replaces the derivation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from migravity.errors import ConfigError, ConvergenceError, MalformedDataError

if TYPE_CHECKING:
    import xarray as xr

    from migravity.geodata.datadir import DataDir
    from migravity.geodata.skills import HslBase
    from migravity.geodata.zones import ZoneSet

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

#: The 16 segments (skill x WFH class, from ``high_never`` to ``other_variable``) in the order of the arrays.
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


#: The "mainly at or from home" classes: home on a majority (3 or more) of the 5 working days.
HOME_CLASSES: tuple[str, ...] = ("3day", "4day", "always")


def home_mask(home_classes: tuple[str, ...] = HOME_CLASSES) -> np.ndarray:
    """Boolean (8,) mask of the mainly-at-home classes in :data:`WFH_CLASSES` order."""
    bad = [c for c in home_classes if c not in WFH_CLASSES]
    if bad or not home_classes:
        raise ConfigError("home_classes", bad or home_classes, "use a non-empty subset of " + ", ".join(WFH_CLASSES))
    return np.array([c in home_classes for c in WFH_CLASSES])


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def national_targets(hsl: float, workers: float, wfh: float, *, shares: np.ndarray | None = None,
                     home_classes: tuple[str, ...] = HOME_CLASSES) -> np.ndarray:
    """National class totals ``T_kc`` (2, 8) consistent with the Census HSL and WFH totals (module docs).

    Parameters
    ----------
    hsl, workers, wfh : float
        National HSL workers, all workers and workers mainly at home (Census).
    shares : ndarray (2, 8), optional
        Survey class shares by skill group (default :func:`national_shares`).
    home_classes : tuple of str
        The mainly-at-home classes.

    Returns
    -------
    ndarray, shape (2, 8)
        Row ``k`` sums to the group's workers; the ``home_classes`` columns sum to ``wfh``.
    """
    p = national_shares() if shares is None else np.asarray(shares, float)
    home = home_mask(home_classes)
    h, w = hsl / workers, wfh / workers
    if not (0 < h < 1 and 0 < w < 1):
        raise ConfigError("national HSL and WFH shares", (h, w), "give shares strictly between 0 and 1")
    p_home = p[:, home].sum(axis=1)
    log_or = _logit(float(p_home[0])) - _logit(float(p_home[1]))
    lo, hi = -50.0, 50.0  # bisection on logit m_other: the mix is increasing in it
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        m_o = 1.0 / (1.0 + np.exp(-mid))
        m_h = 1.0 / (1.0 + np.exp(-(mid + log_or)))
        if h * m_h + (1 - h) * m_o > w:
            hi = mid
        else:
            lo = mid
    x = 0.5 * (lo + hi)
    m = np.array([1.0 / (1.0 + np.exp(-(x + log_or))), 1.0 / (1.0 + np.exp(-x))])
    within = np.where(home[None, :], p / p_home[:, None], p / (1.0 - p_home[:, None]))
    mass = np.where(home[None, :], m[:, None], 1.0 - m[:, None])
    totals = np.array([hsl, workers - hsl])
    return totals[:, None] * mass * within


@dataclass(frozen=True)
class FitStatus:
    """Outcome of :func:`fit_segments`: iterations, convergence, and the largest relative margin error."""

    iterations: int
    converged: bool
    max_rel_error: float
    targets: np.ndarray  # (2, 8) national class totals fitted


def fit_segments(hsl: np.ndarray, workers: np.ndarray, wfh: np.ndarray, *,
                 shares: np.ndarray | None = None, home_classes: tuple[str, ...] = HOME_CLASSES,
                 tol: float = 1e-10, max_iter: int = 10_000, strict: bool = True) -> tuple[np.ndarray, FitStatus]:
    """Segment counts of each LAD fitted by IPF to the skill, WFH and national margins (module docs).

    Parameters
    ----------
    hsl, workers, wfh : ndarray, shape (n,)
        HSL workers, all workers and workers mainly at home per LAD (``0 < hsl < workers``,
        ``0 < wfh < workers``).
    shares : ndarray (2, 8), optional
        Survey class shares by skill group (default :func:`national_shares`).
    home_classes : tuple of str
        The mainly-at-home classes (margin (b)).
    tol : float
        Largest relative error of any margin at convergence.
    max_iter : int
        Most IPF sweeps.
    strict : bool
        Raise :class:`~migravity.errors.ConvergenceError` when ``tol`` is not reached.

    Returns
    -------
    counts : ndarray, shape (n, 16)
        Workers by LAD and segment (:data:`SEGMENTS` order).
    FitStatus
        Sweeps, convergence, the largest relative margin error and the national targets.
    """
    from migravity.scenarios._kernels_segments import ipf_segments

    hsl, workers, wfh = (np.ascontiguousarray(a, dtype=float) for a in (hsl, workers, wfh))
    n = len(workers)
    for name, a in (("hsl", hsl), ("wfh", wfh)):
        if a.shape != (n,):
            raise ConfigError(name, a.shape, f"give an array of shape ({n},) like workers")
        if not np.all(np.isfinite(a)) or np.any(a <= 0) or np.any(a >= workers):
            i = int(np.argmax(~np.isfinite(a) | (a <= 0) | (a >= workers)))
            raise ConfigError(f"{name}[{i}]", float(a[i]),
                              f"give a count strictly between 0 and workers ({workers[i]:g})")
    p = national_shares() if shares is None else np.asarray(shares, float)
    if p.shape != (2, N_CLASSES) or np.any(p <= 0):
        raise ConfigError("shares", p.shape, f"give positive class shares of shape (2, {N_CLASSES})")
    p = p / p.sum(axis=1, keepdims=True)
    home = home_mask(home_classes)
    targets = national_targets(float(hsl.sum()), float(workers.sum()), float(wfh.sum()), shares=p,
                               home_classes=home_classes)
    skill = np.column_stack([hsl, workers - hsl])
    seed = skill[:, :, None] * p[None, :, :]
    counts, iters, converged, err = ipf_segments(seed, skill, home, wfh, workers - wfh, targets, tol, max_iter)
    status = FitStatus(int(iters), bool(converged), float(err), targets)
    if strict and not converged:
        raise ConvergenceError(f"fit_segments: IPF did not converge in {max_iter} sweeps (largest relative margin "
                               f"error {err:.3g}, tol {tol:g}); check that hsl and wfh are consistent with workers")
    return counts.reshape(n, N_SEGMENTS), status


def derive_segment_shares(skills: xr.Dataset, **options: Any) -> np.ndarray:
    """Shares of each LAD's workers by segment, shape (n, 16), rows summing to 1.

    Parameters
    ----------
    skills : xarray.Dataset
        From :func:`migravity.geodata.skills.load_skills`: ``hsl_2021``, ``workers_2021``, ``wfh_2021``.
    **options
        Passed to :func:`fit_segments`.
    """
    workers = skills["workers_2021"].to_numpy().astype(float)
    counts, _ = fit_segments(skills["hsl_2021"].to_numpy().astype(float), workers,
                             skills["wfh_2021"].to_numpy().astype(float), **options)
    return counts / workers[:, None]


def segment_counts(zones: ZoneSet, data_dir: DataDir = None, *, hsl_base: HslBase = "nssec",
                   **options: Any) -> tuple[np.ndarray, FitStatus]:
    """Census 2021 workers of each zone by segment, (n, 16), fitted by :func:`fit_segments` on the real data.

    Parameters
    ----------
    zones : migravity.geodata.ZoneSet
        The study area.
    data_dir : path-like, optional
        The data directory.
    hsl_base : {"nssec", "occupation"}
        The HSL measure (:func:`migravity.geodata.skills.load_skills`).
    **options
        Passed to :func:`fit_segments`.
    """
    from migravity.geodata.skills import load_skills

    sk = load_skills(zones, data_dir, hsl_base=hsl_base)
    return fit_segments(sk["hsl_2021"].to_numpy().astype(float), sk["workers_2021"].to_numpy().astype(float),
                        sk["wfh_2021"].to_numpy().astype(float), **options)


def read_segment_table(path: str | os.PathLike[str], codes: tuple[str, ...]) -> np.ndarray:
    """Read a user's segment table (CSV: ``lad``, ``segment``, ``share``) into an (n, 16) array.

    Every LAD of the study area needs all 16 segments; shares per LAD must be in [0, 1] and sum
    to 1 (within 1e-6; they are then renormalised).
    """
    from migravity.utils.tables import read_user_table

    # parse failures, empty cells, text shares and a (lad, segment) given twice: errors naming file and line
    df = read_user_table(path, "segment_table", columns=["lad", "segment", "share"], numeric=["share"],
                         codes=["lad", "segment"], key=["lad", "segment"], dtype={"lad": str, "segment": str})
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
