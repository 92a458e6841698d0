"""Numba kernels of the design checks: classify a term as pair, origin-only or destination-only, and
test whether a term is constant over a set of cells (separation screening).

Pure ``@njit(cache=True)`` functions over contiguous arrays; the Python layer is
:mod:`migravity.engine.design` and :mod:`migravity.engine.separation`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def kind_code(xq, mask):
    """One pass of :func:`migravity.engine.design._kind`: 1 origin, 2 destination, 0 pair (spread <= 1e-12 * scale)."""
    n_o, n_d = xq.shape
    col_hi = np.full(n_d, -np.inf)
    col_lo = np.full(n_d, np.inf)
    row_spread = 0.0
    scale = 1.0
    for i in range(n_o):
        hi = -np.inf
        lo = np.inf
        for j in range(n_d):
            if mask[i, j]:
                v = xq[i, j]
                hi = max(hi, v)
                lo = min(lo, v)
                col_hi[j] = max(col_hi[j], v)
                col_lo[j] = min(col_lo[j], v)
        if hi >= lo:
            row_spread = max(row_spread, hi - lo)
            scale = max(scale, abs(hi), abs(lo))
    if row_spread <= 1e-12 * scale:
        return 1
    for j in range(n_d):
        if col_hi[j] >= col_lo[j] and not col_hi[j] - col_lo[j] <= 1e-12 * scale:
            return 0
    return 2


@njit(cache=True)
def constant_on(xq, sel):
    """Whether ``xq`` is constant (to 1e-12 relative) over ``sel``, compared with its first value
    there in C order (no copy of the selection)."""
    n_o, n_d = xq.shape
    found = False
    v = 0.0
    eps = 0.0
    for i in range(n_o):
        for j in range(n_d):
            if sel[i, j]:
                if not found:
                    found = True
                    v = xq[i, j]
                    eps = 1e-12 * max(1.0, abs(v))
                elif not abs(xq[i, j] - v) <= eps:
                    return False
    return found


@njit(cache=True)
def fill_layer(src, mask, take_log, out):
    """``out = log(src)`` (``take_log``) or ``src`` on ``mask``, 0 elsewhere, in one pass.

    Returns ``(n_nonfinite, n_nonpositive)`` among the masked cells of ``src`` (the caller raises
    with the details; ``out`` is then not to be used).
    """
    n_o, n_d = src.shape
    n_bad = 0
    n_neg = 0
    for i in range(n_o):
        for j in range(n_d):
            if mask[i, j]:
                v = src[i, j]
                if not np.isfinite(v):
                    n_bad += 1
                    out[i, j] = 0.0
                elif take_log:
                    if v <= 0.0:
                        n_neg += 1
                        out[i, j] = 0.0
                    else:
                        out[i, j] = np.log(v)
                else:
                    out[i, j] = v
            else:
                out[i, j] = 0.0
    return n_bad, n_neg


@njit(cache=True)
def centred_gram(x, kept, sel):
    """Gram matrix of the terms ``x[kept]`` over ``sel``, each centred on its mean there and scaled
    by its largest absolute deviation (1 where that is 0), in two branch-free passes without copies.

    Returns ``(gram, finite)``; ``finite`` is False (and ``gram`` not to be used) when a sum over
    the selected values is not finite (a NaN or infinite value there, or an overflow).
    """
    k = kept.shape[0]
    n_o, n_d = sel.shape
    total = np.zeros(k)
    hi = np.full(k, -np.inf)
    lo = np.full(k, np.inf)
    count = 0
    for i in range(n_o):
        c = 0
        for j in range(n_d):
            c += 1 if sel[i, j] else 0
        count += c
        for p in range(k):
            xp = x[kept[p], i]
            s = 0.0
            h = -np.inf
            m = np.inf
            for j in range(n_d):
                v = xp[j]
                sj = sel[i, j]
                s += v if sj else 0.0
                h = max(h, v if sj else -np.inf)
                m = min(m, v if sj else np.inf)
            total[p] += s
            hi[p] = max(hi[p], h)
            lo[p] = min(lo[p], m)
    gram = np.zeros((k, k))
    for p in range(k):
        if not (np.isfinite(total[p]) and np.isfinite(hi[p] - lo[p])):
            return gram, False
    mean = total / max(count, 1)
    scale = np.ones(k)
    for p in range(k):
        s = max(hi[p] - mean[p], mean[p] - lo[p])
        if s > 0.0:
            scale[p] = s
    z = np.empty((k, n_d))
    for i in range(n_o):
        for p in range(k):
            xp = x[kept[p], i]
            mp = mean[p]
            inv = 1.0 / scale[p]
            for j in range(n_d):
                z[p, j] = (xp[j] - mp) * inv if sel[i, j] else 0.0
        for p in range(k):
            for q in range(p, k):
                g = 0.0
                for j in range(n_d):
                    g += z[p, j] * z[q, j]
                gram[p, q] += g
    for p in range(k):
        for q in range(p):
            gram[p, q] = gram[q, p]
    return gram, True
