"""Numba kernels of the PPML (Poisson pseudo-maximum-likelihood) calibration.

Pure ``@njit(cache=True)`` functions over contiguous float64 arrays. The regressors are a
(k, n_o, n_d) stack ``x``; ``mu`` is zero outside the fitted pairs (the caller builds it so),
``mask`` is the (n_o, n_d) bool array of fitted pairs. Sums run in parallel over chunks of
origins with per-chunk buffers, reduced after the ``prange``. Kernels never raise.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit, prange

_FM = {"reassoc", "contract", "arcp"}


@njit(cache=True)
def _chunks(n, n_chunks):
    bounds = np.empty(n_chunks + 1, dtype=np.int64)
    for c in range(n_chunks + 1):
        bounds[c] = (n * c) // n_chunks
    return bounds


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_ROUND_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer kept in the low bits


@njit(cache=True, fastmath={"contract"})
def exp_row(eta, out, buf, n):
    """``out[:n] = exp(eta[:n])`` in loops the compiler vectorises (within about 1 ulp of ``np.exp``).

    ``exp(e) = 2**k exp(r)`` with ``k = round(e / ln 2)`` and ``r = e - k ln 2`` (two-part
    ``ln 2``), ``|r| <= ln(2) / 2``; ``exp(r)`` by its degree-13 Taylor polynomial, ``2**k`` built
    from the exponent bits in ``buf`` (float64 scratch of at least ``n``). Arguments outside
    ``[-708, 709]`` (and NaN) fall back to ``np.exp``. No reassociation here: it would fold the
    two-part reduction.
    """
    ib = buf.view(np.int64)
    for j in range(n):
        e = min(max(eta[j], -708.0), 709.0)
        kd = e * _LOG2E + _ROUND_SHIFT
        buf[j] = kd
        k = kd - _ROUND_SHIFT
        r = (e - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        out[j] = p * r + 1.0
    for j in range(n):
        ib[j] = (ib[j] + 1023) << 52
    for j in range(n):
        out[j] = out[j] * buf[j]
    for j in range(n):
        e = eta[j]
        if not (e >= -708.0 and e <= 709.0):
            out[j] = np.exp(e)


def _score_and_loglik_py(x, y, mu, mask, n_threads):
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


def _weighted_margins_py(x, mu, n_threads):
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


def _sandwich_parts_py(x, y, mu, mask, a_fe, c_fe, add_const, gid, n_groups, n_threads):
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
        # row-wise and branch-free: the residualised terms, mu and the residual of a row in
        # contiguous buffers (0 outside the mask), then each sum in its own vectorisable loop
        xt = np.empty((ke, n_d))
        mr = np.empty(n_d)
        rr = np.empty(n_d)
        r2 = np.empty(n_d)
        for i in range(bounds[c], bounds[c + 1]):
            for j in range(n_d):
                mk = mask[i, j]
                m = mu[i, j] if mk else 0.0
                r = y[i, j] - m if mk else 0.0
                mr[j] = m
                rr[j] = r
                r2[j] = r * r
            if add_const:
                for j in range(n_d):
                    xt[0, j] = 1.0 if mask[i, j] else 0.0
            for q in range(k):
                aq = a_fe[q, i]
                for j in range(n_d):
                    xt[q + off, j] = x[q, i, j] - aq - c_fe[q, j] if mask[i, j] else 0.0
            for p in range(ke):
                if per_pair:
                    for j in range(n_d):
                        if mask[i, j]:
                            sb[c, gid[i, j], p] += xt[p, j] * rr[j]
                else:
                    s = 0.0
                    for j in range(n_d):
                        s += xt[p, j] * rr[j]
                    sb[c, gid[i, 0], p] += s
                for q in range(p, ke):
                    sh = 0.0
                    sm = 0.0
                    for j in range(n_d):
                        v = xt[p, j] * xt[q, j]
                        sh += mr[j] * v
                        sm += r2[j] * v
                    hb[c, p, q] += sh
                    mb[c, p, q] += sm
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


def _joint_pass_py(x, y, mask, alpha, gamma, beta, mu, start, ybar, off, has_off, n_threads):
    """``mu = exp(alpha_i + gamma_j + x_ij' beta [+ off_ij])`` on ``mask`` (0 elsewhere) and its statistics.

    One pass for an iteration of the joint Newton solver of the two-way model. Returns
    ``(rs, cs, hxx, grad, ll, res_o, res_d)``: ``rs`` (k + 1, n_o) and ``cs`` (k + 1, n_d) are the row
    and column sums of ``mu`` (index 0) and of ``mu * x_q`` (index ``q + 1``);
    ``hxx = sum mu x x'``; ``grad = sum x (y - mu)``; ``ll = sum (y eta - mu)`` with
    ``eta = log mu`` (one vectorised ``exp`` per pair, :func:`exp_row`, no ``log``; the deviance is
    ``2 (sum y log y - sum y - ll)``); ``res_o``/``res_d`` are the row/column sums of
    ``y - mu`` (the fixed-effect scores).

    With ``start`` the pass instead prepares the first IRLS step from ``mu = (y + ybar) / 2``
    (as ppmlhdfe starts): ``mu`` is set so, and ``grad``, ``res_o``, ``res_d`` hold the sums of
    ``x w z``, ``w z`` with the working response ``w z = mu log mu + y - mu``; ``ll`` is 0.

    With ``has_off`` the (n_o, n_d) offset ``off`` enters the linear predictor with coefficient 1
    (and is taken off the working response of the start: ``w z = mu (log mu - off) + y - mu``);
    without it ``off`` is not read (a (1, 1) placeholder will do).
    """
    k, n_o, n_d = x.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    rs = np.zeros((k + 1, n_o))
    buf = np.zeros((n_chunks, k + 1, n_d))
    hb = np.zeros((n_chunks, k, k))
    gb = np.zeros((n_chunks, k))
    llb = np.zeros(n_chunks)
    res_o = np.zeros(n_o)
    rbuf = np.zeros((n_chunks, n_d))
    for c in prange(n_chunks):
        # row-wise: the linear predictor, then mu and the residual, then each sum in its own
        # contiguous (vectorisable) loop over the row, which stays in L1
        eta = np.empty(n_d)
        ex = np.empty(n_d)
        scratch = np.empty(n_d)
        res = np.empty(n_d)
        w = np.empty(n_d)
        for i in range(bounds[c], bounds[c + 1]):
            ai = alpha[i]
            s_ll = 0.0
            if not start:
                for j in range(n_d):
                    eta[j] = ai + gamma[j]
                if has_off:
                    for j in range(n_d):
                        eta[j] += off[i, j]
                for q in range(k):
                    bq = beta[q]
                    for j in range(n_d):
                        eta[j] += bq * x[q, i, j]
                exp_row(eta, ex, scratch, n_d)
                # branch-free (vectorised) selection of the fitted pairs
                for j in range(n_d):
                    mk = mask[i, j]
                    yij = y[i, j]
                    m = ex[j] if mk else 0.0
                    mu[i, j] = m
                    res[j] = yij - m if mk else 0.0
                    s_ll += yij * eta[j] - m if mk else 0.0
            else:
                for j in range(n_d):
                    if not mask[i, j]:
                        mu[i, j] = 0.0
                        res[j] = 0.0
                        continue
                    yij = y[i, j]
                    m = 0.5 * (yij + ybar)
                    mu[i, j] = m
                    lm = np.log(m) - off[i, j] if has_off else np.log(m)
                    res[j] = m * lm + yij - m
            llb[c] += s_ll
            s0 = 0.0
            sr = 0.0
            for j in range(n_d):
                m = mu[i, j]
                s0 += m
                buf[c, 0, j] += m
                sr += res[j]
                rbuf[c, j] += res[j]
            rs[0, i] = s0
            res_o[i] = sr
            for q in range(k):
                sw = 0.0
                sg = 0.0
                for j in range(n_d):
                    xq = x[q, i, j]
                    wq = mu[i, j] * xq
                    w[j] = wq
                    sw += wq
                    buf[c, q + 1, j] += wq
                    sg += xq * res[j]
                rs[q + 1, i] = sw
                gb[c, q] += sg
                for p in range(q, k):
                    sh = 0.0
                    for j in range(n_d):
                        sh += w[j] * x[p, i, j]
                    hb[c, q, p] += sh
    res_d = np.zeros(n_d)
    for c in range(n_chunks):
        for j in range(n_d):
            res_d[j] += rbuf[c, j]
    cs = np.zeros((k + 1, n_d))
    hxx = np.zeros((k, k))
    grad = np.zeros(k)
    for c in range(n_chunks):
        for q in range(k + 1):
            for j in range(n_d):
                cs[q, j] += buf[c, q, j]
        for q in range(k):
            grad[q] += gb[c, q]
            for p in range(q, k):
                hxx[q, p] += hb[c, q, p]
    for q in range(k):
        for p in range(q):
            hxx[q, p] = hxx[p, q]
    return rs, cs, hxx, grad, llb.sum(), res_o, res_d


def _fe_pass_py(mu, r_inv, cvec, wvec, t_out, d_out, n_threads):
    """One pass over ``M = mu`` for the fixed-effect solves, ``m`` right-hand sides at once.

    ``t_out = (diag(r_inv) M cvec')'`` (m, n_o) and ``d_out = (M' (wvec - t_out)')'`` (m, n_d),
    with ``cvec`` (m, n_d) and ``wvec`` (m, n_o) (one right-hand side per row, so that the
    inner loops run over contiguous memory). With ``wvec = 0`` this is ``-M' diag(1/R) M c``
    (the off-diagonal part of the Schur operator); with ``cvec = 0`` it is ``M' w``.
    """
    n_o, n_d = mu.shape
    m = cvec.shape[0]
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    buf = np.zeros((n_chunks, m, n_d))
    for c in prange(n_chunks):
        for i in range(bounds[c], bounds[c + 1]):
            for q in range(m):
                acc = 0.0
                for j in range(n_d):
                    acc += mu[i, j] * cvec[q, j]
                t = r_inv[i] * acc
                t_out[q, i] = t
                coef = wvec[q, i] - t
                if coef != 0.0:
                    for j in range(n_d):
                        buf[c, q, j] += mu[i, j] * coef
    for q in range(m):
        for j in range(n_d):
            s = 0.0
            for c in range(n_chunks):
                s += buf[c, q, j]
            d_out[q, j] = s


def _schur_diag_py(mu, r_inv, n_threads):
    """``sum_i mu_ij**2 r_inv_i`` per column ``j``: the diagonal of ``M' diag(r_inv) M`` (n_d,)."""
    n_o, n_d = mu.shape
    n_chunks = min(n_threads, max(n_o, 1))
    bounds = _chunks(n_o, n_chunks)
    buf = np.zeros((n_chunks, n_d))
    for c in prange(n_chunks):
        for i in range(bounds[c], bounds[c + 1]):
            ri = r_inv[i]
            for j in range(n_d):
                v = mu[i, j]
                buf[c, j] += v * v * ri
    out = np.zeros(n_d)
    for c in range(n_chunks):
        for j in range(n_d):
            out[j] += buf[c, j]
    return out


#: Grids with fewer pairs than this run the serial builds (waking threads costs more).
PARALLEL_MIN_PAIRS = 400_000
JOINT_PARALLEL_MIN_PAIRS = PARALLEL_MIN_PAIRS

_score_par = njit(cache=True, parallel=True, fastmath=_FM)(_score_and_loglik_py)
_score_ser = njit(cache=True, fastmath=_FM)(_score_and_loglik_py)
_margins_par = njit(cache=True, parallel=True, fastmath=_FM)(_weighted_margins_py)
_margins_ser = njit(cache=True, fastmath=_FM)(_weighted_margins_py)
_sandwich_par = njit(cache=True, parallel=True, fastmath=_FM)(_sandwich_parts_py)
_sandwich_ser = njit(cache=True, fastmath=_FM)(_sandwich_parts_py)
_joint_par = njit(cache=True, parallel=True, fastmath=_FM)(_joint_pass_py)
_joint_ser = njit(cache=True, fastmath=_FM)(_joint_pass_py)
_fe_pass_par = njit(cache=True, parallel=True, fastmath=_FM)(_fe_pass_py)
_fe_pass_ser = njit(cache=True, fastmath=_FM)(_fe_pass_py)
_schur_diag_par = njit(cache=True, parallel=True, fastmath=_FM)(_schur_diag_py)
_schur_diag_ser = njit(cache=True, fastmath=_FM)(_schur_diag_py)


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


_NO_OFFSET = np.zeros((1, 1))


def joint_pass(x, y, mask, alpha, gamma, beta, mu, n_threads, start=False, ybar=0.0, offset=None):
    """Dispatch to the threaded or serial build of :func:`_joint_pass_py`.

    ``offset`` is an (n_o, n_d) array of log exposures (coefficient 1), or None.
    ``JOINT_PARALLEL_MIN_PAIRS`` is kept at the common threshold: a lower one (50,000) was
    measured many times slower at 331 zones when run beside pyfixest (threads of the two
    packages competing for 2 cores).
    """
    off = _NO_OFFSET if offset is None else offset
    has_off = offset is not None
    if n_threads > 1 and mu.size >= JOINT_PARALLEL_MIN_PAIRS:
        return _joint_par(x, y, mask, alpha, gamma, beta, mu, start, ybar, off, has_off, n_threads)
    return _joint_ser(x, y, mask, alpha, gamma, beta, mu, start, ybar, off, has_off, 1)


def _xlogx_sum_py(y, xlogx_table):
    """``sum y log y`` over a 2-D array (``0 log 0 = 0``); ``xlogx_table[c] = c log c`` serves
    integer values below its length (the same values as computing them, without the ``log``)."""
    n_o, n_d = y.shape
    n_tab = xlogx_table.shape[0]
    s = 0.0
    for i in prange(n_o):
        t = 0.0
        for j in range(n_d):
            v = y[i, j]
            if v > 0.0:
                if v < n_tab and v == math.floor(v):
                    t += xlogx_table[int(v)]
                else:
                    t += v * np.log(v)
        s += t
    return s


_xlogx_par = njit(cache=True, parallel=True, fastmath=_FM)(_xlogx_sum_py)
_xlogx_ser = njit(cache=True, fastmath=_FM)(_xlogx_sum_py)


def xlogx_sum(y):
    """Dispatch to the threaded or serial build of :func:`_xlogx_sum_py`.

    Small grids stay serial: a parallel region leaves the OpenMP workers spinning, which slows
    the rest of a small fit (one core's sibling busy) by a fifth or more.
    """
    return (_xlogx_par if y.size >= PARALLEL_MIN_PAIRS else _xlogx_ser)(y, xlogx_table())


def fe_pass(mu, r_inv, cvec, wvec, t_out, d_out, n_threads):
    """Dispatch to the threaded or serial build of :func:`_fe_pass_py` (arrays (m, n))."""
    if _parallel(mu, n_threads):
        _fe_pass_par(mu, r_inv, cvec, wvec, t_out, d_out, n_threads)
    else:
        _fe_pass_ser(mu, r_inv, cvec, wvec, t_out, d_out, 1)


def schur_diag(mu, r_inv, n_threads):
    """Dispatch to the threaded or serial build of :func:`_schur_diag_py`."""
    if _parallel(mu, n_threads):
        return _schur_diag_par(mu, r_inv, n_threads)
    return _schur_diag_ser(mu, r_inv, 1)


@njit(cache=True, fastmath=_FM)
def cho_solve_upper(u, b):
    """Solve ``U'U x = b`` for each row of ``b`` (m, n), ``U`` the upper Cholesky factor.

    ``u`` is the factor as LAPACK leaves it in Fortran order (only its upper triangle is read);
    column ``p`` of ``U``, ``u[:p, p]``, is contiguous. A serial kernel (two sweeps over the
    factor), so that it never competes for the cores with threads still spinning after a
    parallel region.
    """
    m, n = b.shape
    x = b.copy()
    for q in range(m):
        # forward: U' z = b, row p of U' is column p of U
        for p in range(n):
            s = x[q, p]
            for r in range(p):
                s -= u[r, p] * x[q, r]
            x[q, p] = s / u[p, p]
        # backward: U x = z, by columns of U
        for p in range(n - 1, -1, -1):
            xp = x[q, p] / u[p, p]
            x[q, p] = xp
            for r in range(p):
                x[q, r] -= u[r, p] * xp
    return x


def _fit_sums_py(y, mu, mask, lgamma_table):
    """Sums over the pairs in ``mask`` for the fit statistics, in one pass without temporaries.

    ``lgamma_table[0, c] = lgamma(c + 1)`` and ``lgamma_table[1, c] = c log c`` serve integer
    flows below its length (the same values as computing them, at a fraction of the cost).
    Returns ``(n, sum y, sum mu, sum y log mu, sum y log y, sum lgamma(y + 1), sum (y - mu)**2,
    sum min(y, mu))`` (``0 log 0 = 0``;
    ``y log 0 = -inf`` for ``y > 0``).
    """
    n_o, n_d = y.shape
    n = 0
    sy = 0.0
    smu = 0.0
    sylm = 0.0
    syly = 0.0
    slg = 0.0
    sq = 0.0
    smin = 0.0
    for i in prange(n_o):
        for j in range(n_d):
            if not mask[i, j]:
                continue
            yi = y[i, j]
            m = mu[i, j]
            n += 1
            sy += yi
            smu += m
            if yi > 0.0:
                sylm += yi * np.log(m) if m > 0.0 else -np.inf
                if yi < lgamma_table.shape[1] and yi == math.floor(yi):
                    slg += lgamma_table[0, int(yi)]
                    syly += lgamma_table[1, int(yi)]
                else:
                    slg += math.lgamma(yi + 1.0)
                    syly += yi * np.log(yi)
            d = yi - m
            sq += d * d
            smin += min(yi, m)
    return n, sy, smu, sylm, syly, slg, sq, smin


_fit_sums_par = njit(cache=True, parallel=True, fastmath=_FM)(_fit_sums_py)
_fit_sums_ser = njit(cache=True, fastmath=_FM)(_fit_sums_py)


@njit(cache=True)
def _lgamma_table(n):
    out = np.empty(n)
    for c in range(n):
        out[c] = math.lgamma(c + 1.0)
    return out


@njit(cache=True, fastmath=_FM)
def _xlogx_table(n):
    out = np.zeros(n)
    for c in range(1, n):
        v = float(c)
        out[c] = v * np.log(v)
    return out


_LGAMMA_N = 1 << 16


@functools.cache
def lgamma_table() -> np.ndarray:
    """``lgamma(c + 1)`` (row 0) and ``c log c`` (row 1) for ``c < 65536`` (built once)."""
    return np.ascontiguousarray(np.stack([_lgamma_table(_LGAMMA_N), xlogx_table()]))


@functools.cache
def xlogx_table() -> np.ndarray:
    """``c log c`` for ``c < 65536`` (``0 log 0 = 0``; built once)."""
    return _xlogx_table(_LGAMMA_N)


def fit_sums(y, mu, mask):
    """Dispatch to the threaded or serial build of :func:`_fit_sums_py` (serial on small grids)."""
    return (_fit_sums_par if y.size >= PARALLEL_MIN_PAIRS else _fit_sums_ser)(y, mu, mask, lgamma_table())
