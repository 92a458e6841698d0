"""Numba kernels of the high-dimensional fixed-effects Poisson fit (:mod:`migravity.engine.hdfe`).

Pure ``@njit(cache=True)`` functions over contiguous arrays; they never raise and report status
instead. Fixed effects come as ``codes``, a C-contiguous ``(G, n)`` int64 array whose row ``g``
holds the group (``0 .. n_groups[g] - 1``) of every observation in the ``g``-th fixed-effect
dimension.

Weighted demeaning is the method of alternating projections (MAP; Gaure 2013, as in ``lfe``,
``reghdfe``/``ppmlhdfe`` and pyfixest's Numba demeaner): one sweep subtracts, in turn for each
dimension ``g``, the ``w``-weighted group means of the current residual (the orthogonal
projection onto that dimension's dummies in the ``w`` inner product). Sweeps repeat until the
largest mean subtracted in a sweep, relative to the column's scale, falls below ``tol``. Every
column is swept in the same pass over the data (one read of the codes per sweep). With one
dimension a single sweep is exact.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def group_sums(codes, n_groups, w, x, out):
    """``out[j, c] = sum over i in group j of w[i] * x[i, c]`` for one dimension's ``codes`` (n,).

    ``out`` is a zeroed ``(n_groups, k)`` float64 array; ``x`` is ``(n, k)``.
    """
    n, k = x.shape
    for i in range(n):
        j = codes[i]
        wi = w[i]
        for c in range(k):
            out[j, c] += wi * x[i, c]
    return n_groups


@njit(cache=True)
def group_weights(codes, n_groups, w, out):
    """``out[j] = sum of w over group j`` for one dimension's ``codes`` (``out`` zeroed, (n_groups,))."""
    for i in range(codes.shape[0]):
        out[codes[i]] += w[i]
    return n_groups


@njit(cache=True)
def demean(x, codes, n_groups, w, tol, max_iter, out):
    """Residuals of the columns of ``x`` (n, k) on G sets of fixed effects, ``w``-weighted (MAP).

    Parameters
    ----------
    x : (n, k) float64, C-contiguous
        The columns to demean (left untouched).
    codes : (G, n) int64, C-contiguous
        Group of every observation in each fixed-effect dimension.
    n_groups : (G,) int64
        Number of groups of each dimension.
    w : (n,) float64
        Positive weights.
    tol : float
        Stop when the largest group mean subtracted in a sweep is below
        ``tol * max(1, max |x[:, c]|)`` for every column ``c``.
    max_iter : int
        Most sweeps.
    out : (n, k) float64, C-contiguous
        Receives the residuals.

    Returns
    -------
    (iterations, converged, max_change) : (int, bool, float)
        Sweeps done, whether ``tol`` was met and the last sweep's largest relative change.
    """
    n, k = x.shape
    n_dim = codes.shape[0]
    for i in range(n):
        for c in range(k):
            out[i, c] = x[i, c]
    scale = np.ones(k)
    for i in range(n):
        for c in range(k):
            a = abs(x[i, c])
            if a > scale[c]:
                scale[c] = a
    if k == 0 or n == 0:
        return 0, True, 0.0
    max_groups = 0
    for g in range(n_dim):
        if n_groups[g] > max_groups:
            max_groups = n_groups[g]
    wsum = np.zeros((n_dim, max_groups))
    for g in range(n_dim):
        for i in range(n):
            wsum[g, codes[g, i]] += w[i]
    sums = np.zeros((max_groups, k))
    change = np.inf
    it = 0
    while it < max_iter:
        it += 1
        change = 0.0
        for g in range(n_dim):
            ng = n_groups[g]
            for j in range(ng):
                for c in range(k):
                    sums[j, c] = 0.0
            for i in range(n):
                j = codes[g, i]
                wi = w[i]
                for c in range(k):
                    sums[j, c] += wi * out[i, c]
            for j in range(ng):
                ws = wsum[g, j]
                for c in range(k):
                    m = sums[j, c] / ws if ws > 0.0 else 0.0
                    sums[j, c] = m
                    r = abs(m) / scale[c]
                    if r > change:
                        change = r
            for i in range(n):
                j = codes[g, i]
                for c in range(k):
                    out[i, c] -= sums[j, c]
        if n_dim == 1 or change < tol:
            return it, True, change
    return it, False, change


@njit(cache=True)
def cluster_meat(scores, codes, n_clusters):
    """``sum over clusters of S_g S_g'`` with ``S_g`` the sum of the rows of ``scores`` (n, k) in cluster g."""
    n, k = scores.shape
    s = np.zeros((n_clusters, k))
    for i in range(n):
        j = codes[i]
        for c in range(k):
            s[j, c] += scores[i, c]
    meat = np.zeros((k, k))
    for j in range(n_clusters):
        for a in range(k):
            for b in range(k):
                meat[a, b] += s[j, a] * s[j, b]
    return meat


@njit(cache=True)
def nested_in(fe_codes, n_fe_groups, cl_codes):
    """Whether every group of ``fe_codes`` lies within a single cluster of ``cl_codes`` (both (n,))."""
    first = np.full(n_fe_groups, -1, dtype=np.int64)
    for i in range(fe_codes.shape[0]):
        j = fe_codes[i]
        c = cl_codes[i]
        if first[j] < 0:
            first[j] = c
        elif first[j] != c:
            return False
    return True
