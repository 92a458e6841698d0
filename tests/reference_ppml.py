"""Slow, obviously-correct NumPy references for the engine tests.

``ppml_dummies``: plain IRLS of a Poisson GLM on an explicit design with dummy columns for the
fixed effects. ``furness_loop``: textbook Furness balancing with Python loops.
"""

from __future__ import annotations

import numpy as np


def dummy_design(
    x: np.ndarray, oi: np.ndarray, dj: np.ndarray, n_o: int, n_d: int, constraint: str
) -> tuple[np.ndarray, int]:
    """Columns: slopes ``x`` (N, k), then a constant or origin/destination dummies.

    Returns the design and the number of slope columns. For the doubly-constrained model the
    first destination dummy is left out (identification).
    """
    n = x.shape[0]
    cols = [x]
    if constraint == "none":
        cols.append(np.ones((n, 1)))
    if constraint in ("production", "doubly"):
        cols.append(np.eye(n_o)[oi])
    if constraint == "attraction":
        cols.append(np.eye(n_d)[dj])
    if constraint == "doubly":
        cols.append(np.eye(n_d)[dj][:, 1:])
    return np.hstack(cols), x.shape[1]


def ppml_dummies(y: np.ndarray, design: np.ndarray, tol: float = 1e-13, max_iter: int = 200) -> np.ndarray:
    """Poisson MLE by IRLS on an explicit design; returns all coefficients."""
    beta = np.zeros(design.shape[1])
    beta_lsq = np.linalg.lstsq(design, np.log(y + 0.5), rcond=None)[0]
    beta[:] = beta_lsq
    for _ in range(max_iter):
        eta = design @ beta
        mu = np.exp(eta)
        z = eta + (y - mu) / mu
        w = mu
        xtw = design.T * w
        new = np.linalg.solve(xtw @ design, xtw @ z)
        if np.max(np.abs(new - beta)) < tol:
            return new
        beta = new
    return beta


def furness_loop(k: np.ndarray, row_t: np.ndarray, col_t: np.ndarray, tol: float = 1e-12,
                 max_iter: int = 100_000) -> np.ndarray:
    """Balance ``k`` to the margins by alternating row and column scaling (plain loops)."""
    f = k.astype(float).copy()
    n_o, n_d = f.shape
    for _ in range(max_iter):
        for i in range(n_o):
            s = f[i].sum()
            if s > 0:
                f[i] *= row_t[i] / s
        for j in range(n_d):
            s = f[:, j].sum()
            if s > 0:
                f[:, j] *= col_t[j] / s
        err = np.max(np.abs(f.sum(axis=1) - row_t) / np.maximum(row_t, 1e-300))
        if err < tol:
            break
    return f
