"""Numba kernels of the pivot and anchoring terms, row by row (origin by origin).

The dense forms (:func:`migravity.scenarios.anchoring.anchor_terms`,
:func:`migravity.scenarios.simulate.pivot_choice` and :func:`~migravity.scenarios.simulate.pivot_constants`
for a small study area) hold (segments, n, n) float64 arrays; at MSOA scale (n = 7,264) these are
about 7 GiB each. These kernels work on one origin at a time (a few (n,) or (S, n) buffers per
thread, in parallel over origins), read the per-class anchor terms from a (C, n, n) array that may
be float32, and accumulate in float64. They return a status instead of raising.

Shapes: ``n`` zones, ``C`` WFH classes, ``S`` segments (or the ``Sg`` segments of one skill group).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def anchor_exp(log_dist, b, e_out, shift_out):
    """``E[k, j] = exp(b L_jk - shift_j)`` with ``shift_j = max_k b L_jk``, for :func:`anchor_rows`.

    Parameters
    ----------
    log_dist : (n, n) float64
        ``L``.
    b : float
        ``strength (days / 5) beta_commute`` of the class.
    e_out : (n, n) float32 or float64
        Written: ``E`` (note the transposition).
    shift_out : (n,) float64
        Written: ``shift``.

    Returns
    -------
    int
        0.
    """
    n = log_dist.shape[0]
    for j in prange(n):
        m = -np.inf
        for k in range(n):
            v = b * log_dist[j, k]
            if v > m:
                m = v
        shift_out[j] = m
    for k in prange(n):
        for j in range(n):
            e_out[k, j] = np.exp(b * log_dist[j, k] - shift_out[j])
    return 0


@njit(cache=True, parallel=True)
def anchor_rows(pi, e, shift, lo, out):
    """One WFH class's anchor term ``a_ij = log sum_k pi_ik exp(b L_jk)`` for origins ``lo .. lo + len(out)``.

    Each origin's row is the sum of the rows ``E[k]`` (:func:`anchor_exp`) of its workplaces
    (``pi_ik > 0``; zero shares are skipped: commuting matrices are sparse at MSOA scale) weighted
    by ``pi_ik``, in float64, plus ``shift``. A row ``j`` no workplace reaches gets ``log 0 = -inf``,
    as in the dense form.

    Parameters
    ----------
    pi : (n, n) float64
        Workplace shares ``pi_ik``.
    e, shift : (n, n), (n,)
        From :func:`anchor_exp`.
    lo : int
        First origin of the block.
    out : (B, n) float32 or float64
        Written: rows ``lo .. lo + B - 1`` of ``a``.

    Returns
    -------
    int
        0.
    """
    n = e.shape[0]
    for r in prange(out.shape[0]):
        i = lo + r
        acc = np.zeros(n)
        for k in range(n):
            p = pi[i, k]
            if p != 0.0:
                ek = e[k]
                for j in range(n):
                    acc[j] += p * ek[j]
        for j in range(n):
            out[r, j] = np.log(acc[j]) + shift[j]
    return 0


@njit(cache=True, parallel=True)
def model_choice(log_k, anchor, cls, static, weights, lo, out):
    """The model's all-worker choice ``out_ij = sum_s w_si p_sij`` for origins ``lo .. lo + len(out)``.

    ``p_sij`` is the logit over ``j != i`` of ``log_k_ij + anchor[cls_s]_ij + static_sj``; the
    diagonal of ``out`` is 0.

    Parameters
    ----------
    log_k : (n, n) float64
        Log pair part (its diagonal is not read).
    anchor : (C, n, n) float32 or float64
        Anchor term of each class.
    cls : (S,) int64
        Class of each segment.
    static : (S, n) float64
        Segment log weights of the destinations.
    weights : (S, n) float64
        Each origin's mix over the segments (columns summing to 1).
    lo : int
        First origin of the block.
    out : (B, n) float64
        Written: rows ``lo .. lo + B - 1``.

    Returns
    -------
    int
        0.
    """
    n = log_k.shape[0]
    n_s = static.shape[0]
    for r in prange(out.shape[0]):
        i = lo + r
        row = np.empty(n)
        for j in range(n):
            out[r, j] = 0.0
        for s in range(n_s):
            a = anchor[cls[s], i]
            m = -np.inf
            for j in range(n):
                if j != i:
                    v = log_k[i, j] + np.float64(a[j]) + static[s, j]
                    row[j] = v
                    if v > m:
                        m = v
            tot = 0.0
            for j in range(n):
                if j != i:
                    row[j] = np.exp(row[j] - m)
                    tot += row[j]
            c = weights[s, i] / tot
            for j in range(n):
                if j != i:
                    out[r, j] += c * row[j]
    return 0


@njit(cache=True, parallel=True)
def pivot_group(log_k, anchor, cls, static, weights, log_t, tol, max_iter, lo, kappa_out, iters_out, step_out):
    """Pivot constants of one skill group for origins ``lo .. lo + len(kappa_out)`` (the BLP contraction).

    For origin ``i``: ``kappa_ij <- kappa_ij + log t_ij - log sum_s w_si p_sij(kappa)`` over
    ``j != i``, with ``p_sij`` the logit of ``log_k_ij + anchor[cls_s]_ij + static_sj + kappa_ij``,
    from ``kappa_ij = log t_ij - log_k_ij - mean_s static_sj - mean_s anchor[cls_s]_ij``, until the
    largest ``|step|`` of the row is below ``tol`` (or ``max_iter`` steps). The logit is factored as
    ``exp(base_sj - max base_s) exp(kappa_j - max kappa)`` (``base`` exponentiated once per origin).
    ``kappa_out`` is left unnormalised (diagonal 0).

    Parameters
    ----------
    log_k : (n, n) float64
        Log pair part (its diagonal is not read).
    anchor : (C, n, n) float32 or float64
        Anchor term of each class.
    cls : (Sg,) int64
        Class of each segment of the group.
    static : (Sg, n) float64
        The group's segment log weights.
    weights : (Sg, n) float64
        Each origin's movers' mix over the group's segments.
    log_t : (n, n) float64
        Log target choice (its diagonal is not read).
    tol : float
        Largest log step at convergence.
    max_iter : int
        Most steps per origin.
    lo : int
        First origin of the block.
    kappa_out : (B, n) float64
        Written: rows ``lo .. lo + B - 1``.
    iters_out : (B,) int64
        Written: steps taken per origin.
    step_out : (B,) float64
        Written: the last largest ``|step|`` per origin (converged where below ``tol``).

    Returns
    -------
    tuple of (int, bool)
        The most steps of any origin, and whether every origin converged.
    """
    n = log_k.shape[0]
    n_s = static.shape[0]
    n_b = kappa_out.shape[0]
    for r in prange(n_b):
        i = lo + r
        e = np.empty((n, n_s))
        ek = np.empty(n)
        den = np.empty(n_s)
        c = np.empty(n_s)
        kap = kappa_out[r]
        for j in range(n):
            if j == i:
                kap[j] = 0.0
                continue
            sa = 0.0
            ss = 0.0
            for s in range(n_s):
                sa += np.float64(anchor[cls[s], i, j])
                ss += static[s, j]
            kap[j] = log_t[i, j] - log_k[i, j] - ss / n_s - sa / n_s
        for s in range(n_s):
            a = anchor[cls[s], i]
            m = -np.inf
            for j in range(n):
                if j != i:
                    v = log_k[i, j] + np.float64(a[j]) + static[s, j]
                    e[j, s] = v
                    if v > m:
                        m = v
            for j in range(n):
                e[j, s] = np.exp(e[j, s] - m) if j != i else 0.0
        it = 0
        worst = np.inf
        while it < max_iter:
            m = -np.inf
            for j in range(n):
                if j != i and kap[j] > m:
                    m = kap[j]
            for s in range(n_s):
                den[s] = 0.0
            for j in range(n):
                x = np.exp(kap[j] - m) if j != i else 0.0
                ek[j] = x
                for s in range(n_s):
                    den[s] += e[j, s] * x
            for s in range(n_s):
                c[s] = weights[s, i] / den[s]
            worst = 0.0
            for j in range(n):
                if j == i:
                    continue
                pred = 0.0
                for s in range(n_s):
                    pred += c[s] * e[j, s]
                step = log_t[i, j] - np.log(pred * ek[j])
                kap[j] += step
                if not abs(step) <= worst:  # also catches NaN
                    worst = abs(step) if step == step else np.inf
            it += 1
            if worst < tol:
                break
        iters_out[r] = it
        step_out[r] = worst
    most = 0
    ok = True
    for r in range(n_b):
        if iters_out[r] > most:
            most = iters_out[r]
        if not step_out[r] < tol:
            ok = False
    return most, ok
