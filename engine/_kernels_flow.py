"""Numba kernels for flow evaluation: ``exp`` of the linear predictor and Furness balancing.

Pure ``@njit(cache=True)`` functions over contiguous float64 arrays. They never raise;
balancing returns ``(iterations, converged, max_relative_margin_error)``.

Balancing modes are the integer values of :class:`migravity.engine.options.Margins` (the
Python layer passes ``int(margins)``): 0 none (one global factor so that the total matches when
``row_target`` sums to a positive number), 1 production (rows), 2 attraction (columns),
3 doubly (Furness/IPF on both).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Reassociation (vectorised sums) without the no-NaN/no-inf assumptions of full fastmath.
_FM = {"reassoc", "contract", "arcp"}


def _linear_predictor_py(x, beta, mask, has_mask, out):
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
def _chunks(n, n_chunks):
    bounds = np.empty(n_chunks + 1, dtype=np.int64)
    for c in range(n_chunks + 1):
        bounds[c] = (n * c) // n_chunks
    return bounds


def _row_col_sums_py(k_mat, a, b, rows, cols, n_threads):
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


def _furness_sweep_py(k_mat, row_target, a, b, cols, n_threads):
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
def _furness_sweep(k_mat, row_target, a, b, cols, n_threads):
    if n_threads <= 1 or k_mat.size < PARALLEL_MIN_PAIRS:
        _furness_sweep_ser(k_mat, row_target, a, b, cols, 1)
    else:
        _furness_sweep_par(k_mat, row_target, a, b, cols, n_threads)


@njit(cache=True)
def _row_col_sums(k_mat, a, b, rows, cols, n_threads):
    if n_threads <= 1 or k_mat.size < PARALLEL_MIN_PAIRS:
        _row_col_sums_ser(k_mat, a, b, rows, cols, 1)
    else:
        _row_col_sums_par(k_mat, a, b, rows, cols, n_threads)


#: Grids with at least this many pairs are evaluated on the mixed-precision path (float32 sweeps
#: with a float64 defect correction; see :func:`balance_mixed`). Module attribute so tests can lower it.
F32_MIN_PAIRS = 4_000_000

#: Column error at which the mixed path corrects its targets for the float32 rounding of K.
F32_SWITCH_TOL = 1e-6


@njit(cache=True, parallel=True, fastmath=_FM)
def _furness_sweep_blk(k_mat, row_target, a, b, cols, n_threads):
    """:func:`_furness_sweep_py` taking rows eight at a time (``b`` and the column buffer are read once per
    eight rows), threaded; for large grids (and float32 ``k_mat``; sums in float64)."""
    n_o, n_d = k_mat.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    buf = np.zeros((n_chunks, n_d))
    for c in prange(n_chunks):
        i = bounds[c]
        hi = bounds[c + 1]
        while i + 8 <= hi:
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
            for j in range(n_d):
                bj = b[j]
                s0 += k_mat[i, j] * bj
                s1 += k_mat[i + 1, j] * bj
                s2 += k_mat[i + 2, j] * bj
                s3 += k_mat[i + 3, j] * bj
                s4 += k_mat[i + 4, j] * bj
                s5 += k_mat[i + 5, j] * bj
                s6 += k_mat[i + 6, j] * bj
                s7 += k_mat[i + 7, j] * bj
            a0 = row_target[i] / s0 if s0 > 0.0 else 0.0
            a1 = row_target[i + 1] / s1 if s1 > 0.0 else 0.0
            a2 = row_target[i + 2] / s2 if s2 > 0.0 else 0.0
            a3 = row_target[i + 3] / s3 if s3 > 0.0 else 0.0
            a4 = row_target[i + 4] / s4 if s4 > 0.0 else 0.0
            a5 = row_target[i + 5] / s5 if s5 > 0.0 else 0.0
            a6 = row_target[i + 6] / s6 if s6 > 0.0 else 0.0
            a7 = row_target[i + 7] / s7 if s7 > 0.0 else 0.0
            a[i] = a0
            a[i + 1] = a1
            a[i + 2] = a2
            a[i + 3] = a3
            a[i + 4] = a4
            a[i + 5] = a5
            a[i + 6] = a6
            a[i + 7] = a7
            for j in range(n_d):
                buf[c, j] += ((a0 * k_mat[i, j] + a1 * k_mat[i + 1, j] + a2 * k_mat[i + 2, j]
                               + a3 * k_mat[i + 3, j]) + (a4 * k_mat[i + 4, j] + a5 * k_mat[i + 5, j]
                                                          + a6 * k_mat[i + 6, j] + a7 * k_mat[i + 7, j]))
            i += 8
        while i < hi:
            s = 0.0
            for j in range(n_d):
                s += k_mat[i, j] * b[j]
            ai = row_target[i] / s if s > 0.0 else 0.0
            a[i] = ai
            for j in range(n_d):
                buf[c, j] += ai * k_mat[i, j]
            i += 1
    for j in range(n_d):
        s = 0.0
        for c in range(n_chunks):
            s += buf[c, j]
        cols[j] = s


@njit(cache=True, parallel=True, fastmath=_FM)
def _defect(k_exact, k_mat, a, b, d_rows, d_cols, n_threads):
    """Margins of ``a_i (k_exact - k_mat)_ij b_j`` (the float32 rounding error of the balanced flows)."""
    n_o, n_d = k_mat.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    buf = np.zeros((n_chunks, n_d))
    for c in prange(n_chunks):
        for i in range(bounds[c], bounds[c + 1]):
            s = 0.0
            ai = a[i]
            for j in range(n_d):
                dij = k_exact[i, j] - np.float64(k_mat[i, j])
                s += dij * b[j]
                buf[c, j] += ai * dij
            d_rows[i] = ai * s
    for j in range(n_d):
        s = 0.0
        for c in range(n_chunks):
            s += buf[c, j]
        d_cols[j] = s * b[j]


@njit(cache=True, parallel=True, fastmath=_FM)
def scale_measure(k_mat, a, b, row_target, col_target, n_threads):
    """``K_ij <- a_i K_ij b_j`` in place; returns the largest relative margin error of the result."""
    n_o, n_d = k_mat.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    buf = np.zeros((n_chunks, n_d))
    row_err = np.zeros(n_chunks)
    for c in prange(n_chunks):
        e = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            s = 0.0
            ai = a[i]
            for j in range(n_d):
                v = k_mat[i, j] * (ai * b[j])
                k_mat[i, j] = v
                s += v
                buf[c, j] += v
            e = max(e, _rel_err(s, row_target[i]))
        row_err[c] = e
    err = 0.0
    for c in range(n_chunks):
        err = max(err, row_err[c])
    for j in range(n_d):
        s = 0.0
        for c in range(n_chunks):
            s += buf[c, j]
        err = max(err, _rel_err(s, col_target[j]))
    return err


@njit(cache=True)
def balance_mixed(k_exact, k32, row_target, col_target, a, b, tol, max_iter, n_threads,
                  switch_tol):
    """Doubly-constrained balancing of ``k_exact`` by float32 sweeps over its copy ``k32``.

    Returns ``(iterations, converged, error, usable)``: the error is that of the corrected float32
    margins; ``usable`` is False when ``a``/``b`` must not be applied (a column or row of ``k32``
    with target > 0 summed to 0). The caller scales and measures on ``k_exact``
    (:func:`scale_measure`) and falls back to :func:`balance` if that misses ``tol``.
    """
    it, conv, err, ok = _balance_doubly(k32, row_target, col_target, a, b, 0.5 * tol, max_iter, n_threads,
                                        k_exact, switch_tol, True)
    if unplaced_error(a, row_target) > 0.0:
        ok = False
    return it, conv, err, ok


@njit(cache=True)
def _rel_err(value, target):
    d = abs(value - target)
    return d / target if target > 0.0 else d


@njit(cache=True)
def factors_from_sums(sums, target, out):
    """The factors of one margin: ``out = target / sums`` (0 where a sum is 0).

    Returns the largest relative error left on that margin: that of the margins whose sum is
    0 (nothing to scale), the others being exact. Shared by :func:`balance` and the Dask backend.
    """
    err = 0.0
    for j in range(sums.shape[0]):
        out[j] = target[j] / sums[j] if sums[j] > 0.0 else 0.0
        if sums[j] == 0.0:
            err = max(err, _rel_err(0.0, target[j]))
    return err


@njit(cache=True)
def unplaced_error(factors, target):
    """1.0 if a margin with a positive target got the factor 0 (flow to place but no ``K``), else 0.0."""
    err = 0.0
    for i in range(target.shape[0]):
        if factors[i] == 0.0 and target[i] > 0.0:
            err = max(err, 1.0)
    return err


@njit(cache=True)
def column_error(b, cols, ct, active):
    """Error of the column margins ``b_j cols_j`` after a Furness sweep, and whether it can go on.

    Returns ``(err, feasible)``: the largest relative error against ``ct`` (absolute where the
    target is 0), and False if an active column (target > 0) summed to 0. Shared by
    :func:`balance` and the Dask backend's driver.
    """
    err = 0.0
    feasible = True
    for j in range(ct.shape[0]):
        err = max(err, _rel_err(b[j] * cols[j], ct[j]))
        if active[j] and not cols[j] > 0.0:
            feasible = False
    return err, feasible


@njit(cache=True)
def _solve_small(mat, rhs):
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


#: Memory (number of past updates) of the Anderson acceleration of Furness balancing.
ANDERSON_M = 5


@njit(cache=True)
def anderson_start(col_target, b, u, active):
    """Set up the Anderson-accelerated Furness iteration on the column factors ``b``.

    Fills ``active`` (columns with a positive target), resets ``b`` (0 for inactive columns, 1
    where not positive) and ``u = log b``; returns the work arrays ``(fg, hist, state)`` that
    :func:`anderson_update` carries from one sweep to the next.
    """
    n_d = col_target.shape[0]
    for j in range(n_d):
        active[j] = col_target[j] > 0.0
        if not active[j]:
            b[j] = 0.0
        elif not b[j] > 0.0:
            b[j] = 1.0
        u[j] = np.log(b[j]) if active[j] else 0.0
    fg = np.zeros((4, n_d))  # f, g, previous f, previous g
    hist = np.zeros((2, ANDERSON_M, n_d))  # differences of f and of g
    state = np.array([0.0, 0.0, np.inf])  # position, history length, previous error
    return fg, hist, state


@njit(cache=True)
def anderson_update(u, b, cols, ct, active, err, it, fg, hist, state):
    """One accelerated update of the column factors after a Furness sweep.

    The sweep set the row factors exactly and returned ``cols`` (column sums at the new row
    factors) with maximum relative column error ``err`` at iteration ``it``. The plain update is
    ``u <- g = log(ct / cols)``; Anderson acceleration (memory :data:`ANDERSON_M`, restarted
    whenever the error more than doubles) extrapolates from the last updates. Writes ``u`` and
    ``b = exp(u)`` in place. Shared by the in-memory kernel and the Dask backend's driver.
    """
    n_d = u.shape[0]
    m = hist.shape[1]
    f = fg[0]
    g = fg[1]
    f_old = fg[2]
    g_old = fg[3]
    df = hist[0]
    dg = hist[1]
    pos = int(state[0])
    n_hist = int(state[1])
    for j in range(n_d):
        if active[j]:
            g[j] = np.log(ct[j] / cols[j])
            f[j] = g[j] - u[j]
    if err > 2.0 * state[2]:
        n_hist = 0  # restart: the extrapolation went astray
    elif it > 1:
        for j in range(n_d):
            df[pos, j] = f[j] - f_old[j]
            dg[pos, j] = g[j] - g_old[j]
        pos = (pos + 1) % m
        n_hist = min(n_hist + 1, m)
    state[0] = pos
    state[1] = n_hist
    state[2] = err
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



@njit(cache=True)
def balance(k_mat, row_target, col_target, a, b, mode, tol, max_iter, n_threads):
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
        err = unplaced_error(a, row_target)
        return 1, err <= tol, err
    if mode == 2:
        a[:] = 1.0
        _row_col_sums(k_mat, a, b, rows, cols, n_threads)
        err = factors_from_sums(cols, col_target, b)
        return 1, err <= tol, err
    # doubly constrained: accelerated Furness
    it, conv, err, _ = _balance_doubly(k_mat, row_target, col_target, a, b, tol, max_iter, n_threads,
                                       k_mat, 0.0, False)
    return it, conv, err


@njit(cache=True)
def _balance_doubly(k_mat, row_target, col_target, a, b, tol, max_iter, n_threads, k_exact, switch_tol,
                    mixed):
    """Accelerated Furness (see :func:`balance`); returns ``(iterations, converged, error, feasible)``.

    With ``mixed``, ``k_mat`` is a float32 copy of ``k_exact`` (float64) and the sweeps run on it
    (half the memory traffic). Once the column error is within ``switch_tol`` the targets are
    corrected once by the margins of ``k_exact - k_mat`` at the current factors (defect
    correction), so that the factors then balance ``k_exact``, not its rounded copy, to second
    order; ``tol`` is then the error of the corrected float32 margins (the caller measures the
    float64 ones).
    """
    n_o, n_d = k_mat.shape
    cols = np.empty(n_d)
    rt = row_target.copy() if mixed else row_target
    ct = col_target.copy() if mixed else col_target
    corrected = not mixed
    u = np.zeros(n_d)
    active = np.empty(n_d, dtype=np.bool_)
    fg, hist, state = anderson_start(col_target, b, u, active)
    err = np.inf
    it = 0
    while it < max_iter:
        it += 1
        if mixed:
            _furness_sweep_blk(k_mat, rt, a, b, cols, n_threads)
        else:
            _furness_sweep(k_mat, rt, a, b, cols, n_threads)
        err, feasible = column_error(b, cols, ct, active)
        if not feasible:
            return it, False, err, False
        if not corrected and err <= switch_tol:
            corrected = True
            d_rows = np.empty(n_o)
            d_cols = np.empty(n_d)
            _defect(k_exact, k_mat, a, b, d_rows, d_cols, n_threads)
            for i in range(n_o):
                rt[i] -= d_rows[i]
            for j in range(n_d):
                ct[j] -= d_cols[j]
            err, _ = column_error(b, cols, ct, active)
        if corrected and err <= tol:
            return it, True, err, True
        anderson_update(u, b, cols, ct, active, err, it, fg, hist, state)
    # not converged: the error of the final state (rows exact, columns off)
    if mixed:
        _furness_sweep_blk(k_mat, rt, a, b, cols, n_threads)
    else:
        _furness_sweep(k_mat, rt, a, b, cols, n_threads)
    err, _ = column_error(b, cols, ct, active)
    return it, err <= tol and corrected, err, True


def _scale_inplace_py(k_mat, a, b):
    """``K_ij <- a_i K_ij b_j`` in place."""
    n_o, n_d = k_mat.shape
    for i in prange(n_o):
        ai = a[i]
        for j in range(n_d):
            k_mat[i, j] *= ai * b[j]


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


@njit(inline="always")
def _add_pair_term(val, a, code, c_log, c_lin):
    """``val`` plus one pair value's term (code 1 linear, 2 log, 3 both), and whether the value is
    usable (finite, and positive where logged); an unusable value counts as 1."""
    ok = np.isfinite(a) and (a > 0.0 or code == 1)
    if not ok:
        a = 1.0
    if code & 1:
        val += c_lin * a
    if code & 2:
        val += c_log * np.log(a)
    return val, ok


def _predictor_pass_py(out, arr1, code1, c_log1, c_lin1, arr2, code2, c_log2, c_lin2, u, v, mask,
                       has_mask, first, prelog, bad_rows):
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
                val, ok = _add_pair_term(val, arr1[i, j], code1, c_log1, c_lin1)
                if not ok and first_bad == 0:
                    first_bad = j + 1
            if code2 != 0:
                val, ok = _add_pair_term(val, arr2[i, j], code2, c_log2, c_lin2)
                if not ok and first_bad == 0:
                    first_bad = j + 1
            out[i, j] = val
        bad_rows[i] = first_bad


predictor_pass = njit(cache=True, parallel=True, fastmath=_FM)(_predictor_pass_py)
#: Serial build that releases the GIL: row blocks on Python threads, between NumPy's log and exp.
predictor_pass_block = njit(cache=True, nogil=True, fastmath=_FM)(_predictor_pass_py)


# Serial, GIL-releasing builds for the Dask backend: one block per call, on a worker thread
# (the worker's threads, not Numba's, give the parallelism).
#: ``a`` for a block of full rows, and its column sums (see :func:`_furness_sweep_py`).
furness_sweep_block = njit(cache=True, nogil=True, fastmath=_FM)(_furness_sweep_py)
#: Row sums ``K b`` and column sums ``a K`` of one block (see :func:`_row_col_sums_py`).
row_col_sums_block = njit(cache=True, nogil=True, fastmath=_FM)(_row_col_sums_py)
#: ``K_ij <- a_i K_ij b_j`` on one block (see :func:`_scale_inplace_py`).
scale_block = njit(cache=True, nogil=True)(_scale_inplace_py)
