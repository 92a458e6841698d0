"""Numba kernels of the PPML (Poisson pseudo-maximum-likelihood) calibration.

Pure ``@njit(cache=True)`` functions over contiguous float64 arrays. The regressors are a
(k, n_o, n_d) stack ``x``; ``mu`` is zero outside the fitted pairs (the caller builds it so),
``mask`` is the (n_o, n_d) bool array of fitted pairs. Sums run in parallel over chunks of
origins with per-chunk buffers, reduced after the ``prange``. Kernels never raise.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_FM = {"reassoc", "contract", "arcp"}


@njit(cache=True)
def _chunks(n, n_chunks):  # pragma: no cover - jitted
    bounds = np.empty(n_chunks + 1, dtype=np.int64)
    for c in range(n_chunks + 1):
        bounds[c] = (n * c) // n_chunks
    return bounds


def _score_and_loglik_py(x, y, mu, mask, n_threads):  # pragma: no cover - jitted
    """Gradient and Poisson likelihood pieces over the fitted pairs.

    Returns ``(grad, ll, dev)``: ``grad[q] = sum x_q (y - mu)``,
    ``ll = sum (y log mu - mu)`` (no ``-log y!``; ``-inf`` when some ``mu = 0 < y``) and
    ``dev = 2 sum (y log(y / mu) - (y - mu))``.
    """
    k, n_o, n_d = x.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    g = np.zeros((n_chunks, k))
    ll = np.zeros(n_chunks)
    dev = np.zeros(n_chunks)
    for c in prange(n_chunks):
        for i in range(bounds[c], bounds[c + 1]):
            s_ll = 0.0
            s_dev = 0.0
            for j in range(n_d):
                if mask[i, j]:
                    yij = y[i, j]
                    m = mu[i, j]
                    if yij > 0.0:
                        if m > 0.0:
                            lm = np.log(m)
                            s_ll += yij * lm - m
                            s_dev += yij * (np.log(yij) - lm) - (yij - m)
                        else:
                            s_ll = -np.inf
                            s_dev = np.inf
                    else:
                        s_ll -= m
                        s_dev += m
            ll[c] += s_ll
            dev[c] += s_dev
            for q in range(k):
                s = 0.0
                for j in range(n_d):
                    s += x[q, i, j] * (y[i, j] - mu[i, j])
                g[c, q] += s
    grad = np.zeros(k)
    for c in range(n_chunks):
        for q in range(k):
            grad[q] += g[c, q]
    return grad, ll.sum(), 2.0 * dev.sum()


def _weighted_margins_py(x, mu, n_threads):  # pragma: no cover - jitted
    """Margins of ``mu`` and of ``mu * x_q``: the right-hand sides of the fixed-effect projection.

    Returns ``(rs, cs, sq)``: ``rs[0] = sum_j mu_ij``, ``rs[q + 1] = sum_j mu_ij x_qij``
    (shape (k + 1, n_o)); ``cs`` the same over origins (shape (k + 1, n_d)); and
    ``sq[q] = sum mu x_q**2``.
    """
    k, n_o, n_d = x.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    rs = np.zeros((k + 1, n_o))
    buf = np.zeros((n_chunks, k + 1, n_d))
    sqb = np.zeros((n_chunks, k))
    for c in prange(n_chunks):
        for i in range(bounds[c], bounds[c + 1]):
            s = 0.0
            for j in range(n_d):
                m = mu[i, j]
                s += m
                buf[c, 0, j] += m
            rs[0, i] = s
            for q in range(k):
                s = 0.0
                s2 = 0.0
                for j in range(n_d):
                    v = mu[i, j] * x[q, i, j]
                    s += v
                    s2 += v * x[q, i, j]
                    buf[c, q + 1, j] += v
                rs[q + 1, i] = s
                sqb[c, q] += s2
    cs = np.zeros((k + 1, n_d))
    for c in range(n_chunks):
        for q in range(k + 1):
            for j in range(n_d):
                cs[q, j] += buf[c, q, j]
    sq = np.zeros(k)
    for c in range(n_chunks):
        for q in range(k):
            sq[q] += sqb[c, q]
    return rs, cs, sq


def _sandwich_parts_py(x, y, mu, mask, a_fe, c_fe, add_const, gid, n_groups, n_threads):  # pragma: no cover
    """Bread, meat and cluster scores of the PPML sandwich with the fixed effects partialled out.

    The residualised regressor is ``xt_q = x_q - a_fe[q, i] - c_fe[q, j]`` (``a_fe`` (k, n_o) and
    ``c_fe`` (k, n_d) are the coefficients of the mu-weighted projection of ``x_q`` on the
    fixed effects). With ``add_const`` a column of ones is prepended (not residualised; pass
    zero projections), giving k + 1 columns. ``gid`` holds the cluster of each pair, either
    (n_o, n_d) or (n_o, 1) for a grouping of origins, with codes in ``0..n_groups-1``.

    Returns ``(bread, meat, scores)``: ``bread = sum mu xt xt'``,
    ``meat = sum (y - mu)**2 xt xt'`` and ``scores[g] = sum_{pairs in g} xt (y - mu)``.
    """
    k, n_o, n_d = x.shape
    ke = k + 1 if add_const else k
    off = 1 if add_const else 0
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    hb = np.zeros((n_chunks, ke, ke))
    mb = np.zeros((n_chunks, ke, ke))
    sb = np.zeros((n_chunks, n_groups, ke))
    per_pair = gid.shape[1] == n_d and n_d != 1
    for c in prange(n_chunks):
        xt = np.empty(ke)
        for i in range(bounds[c], bounds[c + 1]):
            for j in range(n_d):
                if not mask[i, j]:
                    continue
                m = mu[i, j]
                r = y[i, j] - m
                if add_const:
                    xt[0] = 1.0
                for q in range(k):
                    xt[q + off] = x[q, i, j] - a_fe[q, i] - c_fe[q, j]
                g = gid[i, j] if per_pair else gid[i, 0]
                r2 = r * r
                for p in range(ke):
                    vp = xt[p]
                    sb[c, g, p] += vp * r
                    for q in range(p, ke):
                        w = vp * xt[q]
                        hb[c, p, q] += m * w
                        mb[c, p, q] += r2 * w
    bread = np.zeros((ke, ke))
    meat = np.zeros((ke, ke))
    scores = np.zeros((n_groups, ke))
    for c in range(n_chunks):
        for p in range(ke):
            for q in range(p, ke):
                bread[p, q] += hb[c, p, q]
                meat[p, q] += mb[c, p, q]
        for g in range(n_groups):
            for p in range(ke):
                scores[g, p] += sb[c, g, p]
    for p in range(ke):
        for q in range(p):
            bread[p, q] = bread[q, p]
            meat[p, q] = meat[q, p]
    return bread, meat, scores


#: Grids with fewer pairs than this run the serial builds (waking threads costs more).
PARALLEL_MIN_PAIRS = 400_000

_score_par = njit(cache=True, parallel=True, fastmath=_FM)(_score_and_loglik_py)
_score_ser = njit(cache=True, fastmath=_FM)(_score_and_loglik_py)
_margins_par = njit(cache=True, parallel=True, fastmath=_FM)(_weighted_margins_py)
_margins_ser = njit(cache=True, fastmath=_FM)(_weighted_margins_py)
_sandwich_par = njit(cache=True, parallel=True, fastmath=_FM)(_sandwich_parts_py)
_sandwich_ser = njit(cache=True, fastmath=_FM)(_sandwich_parts_py)


def _parallel(arr, n_threads):
    return n_threads > 1 and arr.size >= PARALLEL_MIN_PAIRS


def score_and_loglik(x, y, mu, mask, n_threads):
    """Dispatch to the threaded or serial build of :func:`_score_and_loglik_py`."""
    if _parallel(mu, n_threads):
        return _score_par(x, y, mu, mask, n_threads)
    return _score_ser(x, y, mu, mask, 1)


def weighted_margins(x, mu, n_threads):
    """Dispatch to the threaded or serial build of :func:`_weighted_margins_py`."""
    if _parallel(mu, n_threads):
        return _margins_par(x, mu, n_threads)
    return _margins_ser(x, mu, 1)


def sandwich_parts(x, y, mu, mask, a_fe, c_fe, add_const, gid, n_groups, n_threads):
    """Dispatch to the threaded or serial build of :func:`_sandwich_parts_py`."""
    fn = _sandwich_par if _parallel(mu, n_threads) else _sandwich_ser
    return fn(x, y, mu, mask, a_fe, c_fe, add_const, gid, n_groups,
              n_threads if fn is _sandwich_par else 1)
