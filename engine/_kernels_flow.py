"""Numba kernels for flow evaluation: ``exp`` of the linear predictor and Furness balancing.

Pure ``@njit(cache=True)`` functions over contiguous float64 arrays. They never raise;
balancing returns ``(iterations, converged, max_relative_margin_error)``.

Balancing modes (integer codes, see :mod:`migravity.engine.options`): 0 none (one global
factor so that the total matches when ``row_target`` sums to a positive number), 1 production
(rows), 2 attraction (columns), 3 doubly (Furness/IPF on both).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Reassociation (vectorised sums) without the no-NaN/no-inf assumptions of full fastmath.
_FM = {"reassoc", "contract", "arcp"}


def _linear_predictor_py(x, beta, mask, has_mask, out):  # pragma: no cover - jitted
    """``out[i, j] = sum_k beta[k] * x[k, i, j]`` where ``mask`` (or everywhere), else -inf.

    ``x`` is (k, n_o, n_d); ``mask`` is (n_o, n_d) bool, ignored unless ``has_mask``. The caller
    takes ``numpy.exp`` in place (NumPy's exp is SIMD-vectorised; Numba's scalar one is not),
    which turns the masked-out pairs into exact zeros.
    """
    k, n_o, n_d = x.shape
    for i in prange(n_o):
        for j in range(n_d):
            out[i, j] = 0.0
        for q in range(k):
            bq = beta[q]
            for j in range(n_d):
                out[i, j] += bq * x[q, i, j]
        if has_mask:
            for j in range(n_d):
                if not mask[i, j]:
                    out[i, j] = -np.inf


@njit(cache=True)
def _chunks(n, n_chunks):  # pragma: no cover - jitted
    bounds = np.empty(n_chunks + 1, dtype=np.int64)
    for c in range(n_chunks + 1):
        bounds[c] = (n * c) // n_chunks
    return bounds


def _row_col_sums_py(k_mat, a, b, rows, cols, n_threads):  # pragma: no cover - jitted
    """rows[i] = sum_j K_ij b_j ; cols[j] = sum_i a_i K_ij (per-thread column buffers)."""
    n_o, n_d = k_mat.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    buf = np.zeros((n_chunks, n_d))
    for c in prange(n_chunks):
        for i in range(bounds[c], bounds[c + 1]):
            s = 0.0
            ai = a[i]
            for j in range(n_d):
                kij = k_mat[i, j]
                s += kij * b[j]
                buf[c, j] += ai * kij
            rows[i] = s
    for j in range(n_d):
        s = 0.0
        for c in range(n_chunks):
            s += buf[c, j]
        cols[j] = s


def _furness_sweep_py(k_mat, row_target, a, b, cols, n_threads):  # pragma: no cover - jitted
    """One fused sweep: set a_i from row sums with current b, accumulate column sums with new a."""
    n_o, n_d = k_mat.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    buf = np.zeros((n_chunks, n_d))
    for c in prange(n_chunks):
        for i in range(bounds[c], bounds[c + 1]):
            s = 0.0
            for j in range(n_d):
                s += k_mat[i, j] * b[j]
            ai = row_target[i] / s if s > 0.0 else 0.0
            a[i] = ai
            if ai != 0.0:
                for j in range(n_d):
                    buf[c, j] += ai * k_mat[i, j]
    for j in range(n_d):
        s = 0.0
        for c in range(n_chunks):
            s += buf[c, j]
        cols[j] = s


# Each sweep is compiled twice: threaded, and serial for small grids where waking threads
# costs more than the sweep (``prange`` is ``range`` in the serial build).
_furness_sweep_par = njit(cache=True, parallel=True, fastmath=_FM)(_furness_sweep_py)
_furness_sweep_ser = njit(cache=True, fastmath=_FM)(_furness_sweep_py)
_row_col_sums_par = njit(cache=True, parallel=True, fastmath=_FM)(_row_col_sums_py)
_row_col_sums_ser = njit(cache=True, fastmath=_FM)(_row_col_sums_py)

#: Grids with fewer pairs than this are balanced on one thread.
PARALLEL_MIN_PAIRS = 400_000


@njit(cache=True)
def _furness_sweep(k_mat, row_target, a, b, cols, n_threads):  # pragma: no cover - jitted
    if n_threads <= 1 or k_mat.size < PARALLEL_MIN_PAIRS:
        _furness_sweep_ser(k_mat, row_target, a, b, cols, 1)
    else:
        _furness_sweep_par(k_mat, row_target, a, b, cols, n_threads)


@njit(cache=True)
def _row_col_sums(k_mat, a, b, rows, cols, n_threads):  # pragma: no cover - jitted
    if n_threads <= 1 or k_mat.size < PARALLEL_MIN_PAIRS:
        _row_col_sums_ser(k_mat, a, b, rows, cols, 1)
    else:
        _row_col_sums_par(k_mat, a, b, rows, cols, n_threads)


@njit(cache=True)
def _rel_err(value, target):  # pragma: no cover - jitted
    d = abs(value - target)
    return d / target if target > 0.0 else d


@njit(cache=True)
def _solve_small(mat, rhs):  # pragma: no cover - jitted
    """Solve a small symmetric positive-definite system by Gaussian elimination (no pivoting)."""
    n = rhs.shape[0]
    a = mat.copy()
    x = rhs.copy()
    for p in range(n):
        piv = a[p, p]
        for r in range(p + 1, n):
            f = a[r, p] / piv
            for c in range(p, n):
                a[r, c] -= f * a[p, c]
            x[r] -= f * x[p]
    for p in range(n - 1, -1, -1):
        s = x[p]
        for c in range(p + 1, n):
            s -= a[p, c] * x[c]
        x[p] = s / a[p, p]
    return x


@njit(cache=True)
def balance(k_mat, row_target, col_target, a, b, mode, tol, max_iter, n_threads):  # pragma: no cover
    """Find factors ``a`` (rows) and ``b`` (columns) so that ``a_i b_j K_ij`` has the target margins.

    ``a`` and ``b`` are updated in place; ``b`` is the starting point (warm start) of the
    doubly-constrained iteration. Returns ``(iterations, converged, max_relative_margin_error)``;
    the error is the largest ``|margin - target| / target`` over the balanced margins (absolute
    where the target is 0). A row (column) whose K is all zero gets the factor 0.

    The doubly-constrained case is Furness (Sinkhorn) iteration written as a fixed point of
    ``u = log b``: one fused sweep sets the row factors exactly and returns the column sums, the
    plain update is ``u <- log(col_target / col_sums)``, and Anderson acceleration (memory 5,
    restarted whenever the error grows) extrapolates from the last updates. On return the rows
    are exact and the columns within ``tol``.
    """
    n_o, n_d = k_mat.shape
    rows = np.empty(n_o)
    cols = np.empty(n_d)
    if mode == 0:
        a[:] = 1.0
        b[:] = 1.0
        _row_col_sums(k_mat, a, b, rows, cols, n_threads)
        tot = rows.sum()
        target = row_target.sum()
        f = target / tot if tot > 0.0 else 0.0
        a[:] = f
        err = _rel_err(f * tot, target)
        return 1, err <= tol, err
    if mode == 1:
        b[:] = 1.0
        _furness_sweep(k_mat, row_target, a, b, cols, n_threads)
        err = 0.0
        for i in range(n_o):
            if a[i] == 0.0 and row_target[i] > 0.0:
                err = max(err, 1.0)
        return 1, err <= tol, err
    if mode == 2:
        a[:] = 1.0
        _row_col_sums(k_mat, a, b, rows, cols, n_threads)
        err = 0.0
        for j in range(n_d):
            b[j] = col_target[j] / cols[j] if cols[j] > 0.0 else 0.0
            if cols[j] == 0.0:
                err = max(err, _rel_err(0.0, col_target[j]))
        return 1, err <= tol, err
    # doubly constrained: accelerated Furness
    m = 5
    df = np.zeros((m, n_d))
    dg = np.zeros((m, n_d))
    f_old = np.zeros(n_d)
    g_old = np.zeros(n_d)
    f = np.zeros(n_d)
    g = np.zeros(n_d)
    u = np.zeros(n_d)
    active = np.empty(n_d, dtype=np.bool_)
    for j in range(n_d):
        active[j] = col_target[j] > 0.0
        if not active[j]:
            b[j] = 0.0
        elif not b[j] > 0.0:
            b[j] = 1.0
        u[j] = np.log(b[j]) if active[j] else 0.0
    n_hist = 0
    pos = 0
    prev_err = np.inf
    err = np.inf
    it = 0
    while it < max_iter:
        it += 1
        _furness_sweep(k_mat, row_target, a, b, cols, n_threads)
        err = 0.0
        feasible = True
        for j in range(n_d):
            err = max(err, _rel_err(b[j] * cols[j], col_target[j]))
            if active[j] and not cols[j] > 0.0:
                feasible = False
        if err <= tol or not feasible:
            return it, err <= tol, err
        for j in range(n_d):
            if active[j]:
                g[j] = np.log(col_target[j] / cols[j])
                f[j] = g[j] - u[j]
        if err > 2.0 * prev_err:
            n_hist = 0  # restart: the extrapolation went astray
        elif it > 1:
            for j in range(n_d):
                df[pos, j] = f[j] - f_old[j]
                dg[pos, j] = g[j] - g_old[j]
            pos = (pos + 1) % m
            n_hist = min(n_hist + 1, m)
        prev_err = err
        for j in range(n_d):
            f_old[j] = f[j]
            g_old[j] = g[j]
        if n_hist > 0:
            gram = np.empty((n_hist, n_hist))
            rhs = np.empty(n_hist)
            for p in range(n_hist):
                for q in range(p, n_hist):
                    s = 0.0
                    for j in range(n_d):
                        s += df[p, j] * df[q, j]
                    gram[p, q] = s
                    gram[q, p] = s
                s = 0.0
                for j in range(n_d):
                    s += df[p, j] * f[j]
                rhs[p] = s
            tr = 0.0
            for p in range(n_hist):
                tr += gram[p, p]
            for p in range(n_hist):
                gram[p, p] += 1e-10 * tr + 1e-300
            gamma = _solve_small(gram, rhs)
            for j in range(n_d):
                if active[j]:
                    v = g[j]
                    for p in range(n_hist):
                        v -= gamma[p] * dg[p, j]
                    u[j] = v
        else:
            for j in range(n_d):
                u[j] = g[j]
        for j in range(n_d):
            b[j] = np.exp(u[j]) if active[j] else 0.0
    # not converged: the error of the final state (rows exact, columns off)
    _furness_sweep(k_mat, row_target, a, b, cols, n_threads)
    err = 0.0
    for j in range(n_d):
        err = max(err, _rel_err(b[j] * cols[j], col_target[j]))
    return it, err <= tol, err


def _scale_inplace_py(k_mat, a, b):  # pragma: no cover - jitted
    """``K_ij <- a_i K_ij b_j`` in place."""
    n_o, n_d = k_mat.shape
    for i in prange(n_o):
        ai = a[i]
        for j in range(n_d):
            k_mat[i, j] *= ai * b[j]


@njit(cache=True, parallel=True, fastmath=_FM)
def axpy_inplace(out, coef, term):  # pragma: no cover - jitted
    """``out += coef * term`` over (n_o, n_d) arrays."""
    n_o, n_d = out.shape
    for i in prange(n_o):
        for j in range(n_d):
            out[i, j] += coef * term[i, j]


@njit(cache=True, parallel=True)
def add_outer_and_mask(out, u, v, mask, has_mask):  # pragma: no cover - jitted
    """``out[i, j] += u[i] + v[j]``; then ``-inf`` outside ``mask`` (if ``has_mask``)."""
    n_o, n_d = out.shape
    for i in prange(n_o):
        ui = u[i]
        for j in range(n_d):
            if has_mask and not mask[i, j]:
                out[i, j] = -np.inf
            else:
                out[i, j] += ui + v[j]


_scale_par = njit(cache=True, parallel=True)(_scale_inplace_py)
_scale_ser = njit(cache=True)(_scale_inplace_py)
_lp_par = njit(cache=True, parallel=True, fastmath=_FM)(_linear_predictor_py)
_lp_ser = njit(cache=True, fastmath=_FM)(_linear_predictor_py)


def scale_inplace(k_mat, a, b):
    """``K_ij <- a_i K_ij b_j`` in place (threaded build for large grids)."""
    (_scale_par if k_mat.size >= PARALLEL_MIN_PAIRS else _scale_ser)(k_mat, a, b)


def linear_predictor(x, beta, mask, has_mask, out):
    """See :func:`_linear_predictor_py` (threaded build for large grids)."""
    fn = _lp_par if out.size >= PARALLEL_MIN_PAIRS else _lp_ser
    fn(x, beta, mask, has_mask, out)


def _predictor_pass_py(out, arr1, code1, c_log1, c_lin1, arr2, code2, c_log2, c_lin2, u, v, mask,
                       has_mask, first, prelog, bad_rows):  # pragma: no cover - jitted
    """One fused pass of the linear predictor over up to two pair arrays.

    ``val = (u_i + v_j if first else out_ij) + t1 + t2`` with ``t = c_log * log(arr) + c_lin * arr``
    for an array of (deterrence) code 1 (linear), 2 (log) or 3 (both, Tanner), nothing for code 0;
    ``-inf`` outside ``mask`` (the caller takes NumPy's SIMD ``exp`` in place, which is faster than
    Numba's scalar one and turns those pairs into exact zeros). Validation is fused:
    ``bad_rows[i]`` gets ``1 + j`` of the first pair in row ``i`` (inside ``mask``) whose value is
    not finite, or not positive where it is logged; 0 if none. With ``prelog`` (first pass of a
    logged ``arr1`` only) ``out`` already holds ``log(arr1)`` (NumPy's SIMD log, several times
    faster than Numba's scalar one), which is read instead and validated for finiteness (a
    finite log means a finite positive value).
    """
    n_o, n_d = out.shape
    for i in prange(n_o):
        ui = u[i]
        first_bad = 0
        for j in range(n_d):
            if has_mask and not mask[i, j]:
                out[i, j] = -np.inf
                continue
            val = ui + v[j] if first else out[i, j]
            if prelog:
                la = out[i, j]
                if np.isfinite(la):
                    val += c_log1 * la
                    if code1 & 1:
                        val += c_lin1 * arr1[i, j]
                elif first_bad == 0:
                    first_bad = j + 1
            elif code1 != 0:
                a = arr1[i, j]
                if not (np.isfinite(a) and (a > 0.0 or code1 == 1)):
                    if first_bad == 0:
                        first_bad = j + 1
                    a = 1.0
                if code1 & 1:
                    val += c_lin1 * a
                if code1 & 2:
                    val += c_log1 * np.log(a)
            if code2 != 0:
                a = arr2[i, j]
                if not (np.isfinite(a) and (a > 0.0 or code2 == 1)):
                    if first_bad == 0:
                        first_bad = j + 1
                    a = 1.0
                if code2 & 1:
                    val += c_lin2 * a
                if code2 & 2:
                    val += c_log2 * np.log(a)
            out[i, j] = val
        bad_rows[i] = first_bad


predictor_pass = njit(cache=True, parallel=True, fastmath=_FM)(_predictor_pass_py)
