"""Kernel of the segment fit: iterative proportional fitting of (n, 2, 8) counts to three margin sets.

Pure vectorised numpy over contiguous arrays (n is a few hundred LADs, each sweep is a handful of
array operations); returns its status (sweeps, converged, largest relative margin error) instead
of raising. Validation and wrapping are in :mod:`migravity.scenarios.segments`.
"""

from __future__ import annotations

import numpy as np


def margin_errors(counts: np.ndarray, skill: np.ndarray, home: np.ndarray, wfh: np.ndarray,
                  away: np.ndarray, targets: np.ndarray) -> float:
    """Largest relative error of the three margins of ``counts`` (n, 2, 8)."""
    e_skill = np.abs(counts.sum(axis=2) - skill) / skill
    e_home = np.abs(counts[:, :, home].sum(axis=(1, 2)) - wfh) / wfh
    e_away = np.abs(counts[:, :, ~home].sum(axis=(1, 2)) - away) / away
    e_nat = np.abs(counts.sum(axis=0) - targets) / targets
    return float(max(e_skill.max(), e_home.max(), e_away.max(), e_nat.max()))


def ipf_segments(seed: np.ndarray, skill: np.ndarray, home: np.ndarray, wfh: np.ndarray, away: np.ndarray,
                 targets: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, int, bool, float]:
    """Fit ``N`` (n, 2, 8) from ``seed`` so that its row sums over classes are ``skill`` (n, 2), its
    mainly-home (``home`` mask, (8,)) and other cells sum per LAD to ``wfh`` and ``away`` (n,), and its
    sums over LADs are ``targets`` (2, 8). Returns ``(N, sweeps, converged, max_rel_error)``."""
    n = np.array(seed, dtype=float, copy=True)
    err = margin_errors(n, skill, home, wfh, away, targets)
    it = 0
    while err > tol and it < max_iter:
        n *= (skill / n.sum(axis=2))[:, :, None]
        f_home = wfh / n[:, :, home].sum(axis=(1, 2))
        f_away = away / n[:, :, ~home].sum(axis=(1, 2))
        n *= np.where(home[None, None, :], f_home[:, None, None], f_away[:, None, None])
        n *= (targets / n.sum(axis=0))[None, :, :]
        it += 1
        err = margin_errors(n, skill, home, wfh, away, targets)
    return n, it, bool(err <= tol), err
