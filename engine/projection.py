"""Weighted projection of regressors on the origin/destination fixed-effect space.

For the profile (concentrated) Newton step and the sandwich variance of PPML, each regressor
``x_q`` is replaced by its residual ``xt_q = x_q - a_i - c_j`` from the ``mu``-weighted least
squares fit of ``x_q`` on the fixed effects. With ``R``, ``C`` the margins of the (masked)
``mu`` matrix ``M`` and ``r_q``, ``s_q`` those of ``mu * x_q``, the normal equations are
``diag(R) a + M c = r_q`` and ``M' a + diag(C) c = s_q``. Eliminating ``a`` leaves the
``n_d x n_d`` Schur system ``(diag(C) - M' diag(1/R) M) c = s_q - M' (r_q / R)``; it is
singular by one constant per connected component of the observed pairs, which is pinned by
adding ``e e'`` for each component's indicator ``e`` (the right-hand side is orthogonal to
``e``, so this picks the solution with ``e'c = 0``). Cost: one symmetric rank-``n_o`` update
(BLAS ``dsyrk``) and one Cholesky factorisation, O(n^3), shared by all regressors.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dsyrk

#: Fixed-effect spaces: -1 none, 0 a single constant, 1 origins, 2 destinations, 3 both.
FE_NONE, FE_CONST, FE_ORIGIN, FE_DEST, FE_BOTH = -1, 0, 1, 2, 3


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den > 0)
    return out


def fe_projection(
    mu: np.ndarray,
    rs: np.ndarray,
    cs: np.ndarray,
    fe: int,
    dest_components: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of the ``mu``-weighted projection of each regressor on the fixed effects.

    Parameters
    ----------
    mu : ndarray, shape (n_o, n_d)
        Weights, zero outside the fitted pairs.
    rs, cs : ndarray, shapes (k + 1, n_o) and (k + 1, n_d)
        Row and column sums of ``mu`` (index 0) and of ``mu * x_q`` (index ``q + 1``), as
        returned by :func:`migravity.engine._kernels_ppml.weighted_margins`.
    fe : int
        The fixed-effect space (``FE_*`` constants of this module).
    dest_components : list of ndarray, optional
        Destination indices of each connected component of the observed pairs (two-way case);
        default: one component.

    Returns
    -------
    a_fe, c_fe : ndarray, shapes (k, n_o) and (k, n_d)
        ``xt_q = x_q - a_fe[q, i] - c_fe[q, j]``.
    """
    k = rs.shape[0] - 1
    n_o, n_d = mu.shape
    a_fe = np.zeros((k, n_o))
    c_fe = np.zeros((k, n_d))
    if fe == FE_NONE or k == 0:
        return a_fe, c_fe
    if fe == FE_CONST:
        tot = rs[0].sum()
        a_fe[:] = (rs[1:].sum(axis=1) / tot)[:, None]
        return a_fe, c_fe
    if fe == FE_ORIGIN:
        return _safe_div(rs[1:], rs[0][None, :]), c_fe
    if fe == FE_DEST:
        return a_fe, _safe_div(cs[1:], cs[0][None, :])
    r, c = rs[0], cs[0]
    inv_sqrt_r = _safe_div(np.ones(n_o), np.sqrt(r))
    scaled = mu * inv_sqrt_r[:, None]  # M diag-scaled by 1/sqrt(R): (n_o, n_d), C order
    # dsyrk on the Fortran view scaled.T (n_d, n_o) gives -(M' diag(1/R) M), upper triangle.
    schur = dsyrk(-1.0, scaled.T, trans=0, lower=0)
    del scaled
    schur[np.diag_indices(n_d)] += c
    if dest_components is None or len(dest_components) <= 1:
        schur += 1.0
    else:
        for comp in dest_components:
            schur[np.ix_(comp, comp)] += 1.0
    # destinations with no weight at all (not in the fit) keep a unit diagonal
    empty = c <= 0
    if empty.any():
        schur[empty, :] = 0.0
        schur[:, empty] = 0.0
        schur[empty, empty] = 1.0
    rhs = cs[1:].T - mu.T @ _safe_div(rs[1:], r[None, :]).T  # (n_d, k)
    rhs[empty] = 0.0
    factor = scipy.linalg.cho_factor(schur, lower=False, overwrite_a=True, check_finite=False)
    c_fe = scipy.linalg.cho_solve(factor, rhs, check_finite=False).T.copy()
    a_fe = _safe_div(rs[1:] - (mu @ c_fe.T).T, r[None, :])
    return a_fe, c_fe
