"""Sandwich covariance of the PPML slopes with the fixed effects partialled out.

With ``Xt`` the ``mu``-weighted residual of the regressors on the fixed-effect space
(Frisch-Waugh-Lovell), ``H = Xt' diag(mu) Xt`` and scores ``s_i = xt_i (y_i - mu_i)``:

* ``"robust"`` (HC0): ``V = H^-1 (sum_i s_i s_i') H^-1``, no small-sample factor. This is the
  slope block of the full dummy-variable sandwich (statsmodels ``cov_type="HC0"``).
* ``"hc1"``: HC0 times ``N / (N - K)`` (note: statsmodels' GLM ``cov_type="HC1"`` applies no
  factor at all, i.e. equals its HC0).
* ``"cluster"`` (CR1): ``H^-1 (sum_g S_g S_g') H^-1`` with ``S_g`` the sum of the scores in
  cluster ``g``, times ``G / (G - 1) * (N - 1) / (N - K)``, as statsmodels' ``cov_type="cluster"``
  with its default ``use_correction=True``.

``N`` is the number of fitted pairs, ``G`` the number of clusters and ``K`` the number of all
estimated parameters including the fixed effects (intercept + slopes for the unconstrained
model; slopes + origin effects + destination effects - 1 per connected component for the
doubly-constrained one), which is the column count of the equivalent dummy-variable design.
"""

from __future__ import annotations

import numpy as np


def sandwich(
    bread: np.ndarray,
    meat: np.ndarray,
    scores: np.ndarray,
    se: str,
    n_obs: int,
    n_params: int,
) -> np.ndarray:
    """Covariance matrix of the slopes (see the module docstring for the definitions)."""
    inv = np.linalg.inv(bread)
    dof = n_obs - n_params
    if se == "cluster":
        g = scores.shape[0]
        middle = scores.T @ scores
        factor = g / (g - 1.0) * (n_obs - 1.0) / dof if g > 1 and dof > 0 else np.nan
    else:
        middle = meat
        factor = (n_obs / dof if dof > 0 else np.nan) if se == "hc1" else 1.0
    v = inv @ middle @ inv
    return factor * 0.5 * (v + v.T)
