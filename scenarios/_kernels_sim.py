"""Numba kernels of the dynamic scenario simulation (pure functions over contiguous arrays).

Shapes: ``S`` segments, ``n`` zones, ``D`` Monte Carlo draws, ``T`` years, ``P`` pair-factor
layers (one per segment: the skill group's pivot times the WFH class's workplace anchor), ``R``
zone groups (for the per-draw group-to-group flows). Every kernel returns a status code: 0 =
success, 1 = a non-finite value or a negative stock appeared.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

OK = 0
BAD_VALUE = 1


@njit(cache=True)
def _deterrence_row(beta, gamma, log_dist, border, k_out, i):
    """Row ``i`` of :func:`_deterrence`."""
    for j in range(log_dist.shape[1]):
        k_out[i, j] = 0.0 if i == j else np.exp(beta * log_dist[i, j] + gamma * border[i, j])


@njit(cache=True)
def _deterrence(beta, gamma, log_dist, border, k_out):
    """``D_ij = d_ij^beta exp(gamma border_ij)`` off the diagonal, 0 on it (the pair factors multiply it on the fly)."""
    for i in range(log_dist.shape[0]):
        _deterrence_row(beta, gamma, log_dist, border, k_out, i)


@njit(cache=True, parallel=True)
def _deterrence_parallel(beta, gamma, log_dist, border, k_out):
    """:func:`_deterrence` with its rows on the threads (the same values)."""
    for i in prange(log_dist.shape[0]):
        _deterrence_row(beta, gamma, log_dist, border, k_out, i)


@njit(cache=True)
def _weights(static, theta_h, log_price, w_out):
    """``W_sj = exp(static_sj + theta_h_s log_price_j)``."""
    n_s, n = static.shape
    for s in range(n_s):
        for j in range(n):
            w_out[s, j] = np.exp(static[s, j] + theta_h[s] * log_price[j])


@njit(cache=True, fastmath=True)
def _dot3(a, b, c):
    """``sum_j a_j b_j c_j`` in float64, vectorised (fastmath: the summation order is the compiler's,
    the same on every call, so every denominator of the simulation is summed the same way)."""
    acc = 0.0
    for j in range(a.shape[0]):
        acc += np.float64(a[j] * b[j]) * c[j]
    return acc


@njit(cache=True)
def _denominators(k, pair, group, w, den_out):
    """``den_si = sum_j D_ij pair_p(s)ij W_sj`` (:func:`_dot3`)."""
    for s in range(w.shape[0]):
        _denominators_of(k, pair, group, w, den_out, s)


@njit(cache=True)
def _denominators_of(k, pair, group, w, den_out, s):
    """Segment ``s``'s row of :func:`_denominators`."""
    pg = pair[group[s]]
    for i in range(w.shape[1]):
        den_out[s, i] = _dot3(k[i], pg[i], w[s])


@njit(cache=True, parallel=True)
def _denominators_parallel(k, pair, group, w, den_out):
    """:func:`_denominators` with its segments on the threads (the same values)."""
    for s in prange(w.shape[0]):
        _denominators_of(k, pair, group, w, den_out, s)


@njit(cache=True)
def _year(stock, new, move_rate, k, pair, group, w, den, den0, unconstrained, flow_mask, flows, record, zone_group,
          group_flows):
    """One annual step for one draw: movers leave, destinations by the gravity shares; ``new`` = stocks after.

    ``move_rate`` (S, n) is per segment and origin. When ``record``, the masked segments' flows are
    added to ``flows`` (n, n) and, by zone group, to ``group_flows`` (R, R).
    """
    n_s, n = stock.shape
    for s in range(n_s):
        for i in range(n):
            new[s, i] = stock[s, i]
    for s in range(n_s):
        pg = pair[group[s]]
        for i in range(n):
            d = den[s, i]
            if d <= 0.0 or stock[s, i] <= 0.0:
                continue
            rate = move_rate[s, i]
            if unconstrained:
                rate = rate * (d / den0[s, i])  # exactly ``rate`` when d == den0 (the baseline)
                if rate > 1.0:
                    rate = 1.0
            movers = rate * stock[s, i]
            new[s, i] -= movers
            scale = movers / d
            rec = record and flow_mask[s]
            gi = zone_group[i]
            for j in range(n):
                f = scale * np.float64(k[i, j] * pg[i, j]) * w[s, j]
                new[s, j] += f
                if rec:
                    flows[i, j] += f
                    group_flows[gi, zone_group[j]] += f


@njit(cache=True)
def _fused_year(stock, new, move_rate, k, pair, group, w, den0, unconstrained, flow_mask, flows, record, zone_group,
                group_flows, open_population, base, new0, base_move_rate, base_pair, w0, den_b, part_of, part):
    """One annual step of the scenario (and, when ``open_population``, of the no-policy stocks) in one
    pass over the origins: each origin's deterrence row is read once for every segment and both steps,
    and the scenario's denominator ``den_si`` is summed just before its movers are spread.

    The same arithmetic, in the same order per element, as :func:`_denominators` then :func:`_year`
    for the scenario and :func:`_year` with the precomputed ``den_b`` for the no-policy step (bit for
    bit the same stocks and flows; only ``group_flows`` sums in another order). ``D_ij pair_ij`` is
    multiplied in the pair factors' precision (float32 at MSOA scale), the rest in float64.

    Only the segments ``s`` with ``part_of[s] == part`` are stepped (every segment when ``part`` is
    -1): each segment's stocks are its own, so parts can run on different threads
    (:func:`_fused_year_parts`), and a part's arithmetic is the same as in the whole step.
    """
    n_s, n = stock.shape
    for s in range(n_s):
        if part >= 0 and part_of[s] != part:
            continue
        for i in range(n):
            new[s, i] = stock[s, i]
            if open_population:
                new0[s, i] = base[s, i]
    for i in range(n):
        ki = k[i]
        gi = zone_group[i]
        for s in range(n_s):
            if part >= 0 and part_of[s] != part:
                continue
            pr = pair[group[s], i]
            ws = w[s]
            if stock[s, i] > 0.0:
                d = _dot3(ki, pr, ws)
                if d > 0.0:
                    rate = move_rate[s, i]
                    if unconstrained:
                        rate = rate * (d / den0[s, i])
                        if rate > 1.0:
                            rate = 1.0
                    movers = rate * stock[s, i]
                    new[s, i] -= movers
                    scale = movers / d
                    if record and flow_mask[s]:
                        for j in range(n):
                            f = scale * np.float64(ki[j] * pr[j]) * ws[j]
                            new[s, j] += f
                            flows[i, j] += f
                            group_flows[gi, zone_group[j]] += f
                    else:
                        for j in range(n):
                            new[s, j] += scale * np.float64(ki[j] * pr[j]) * ws[j]
            if open_population:
                d0 = den_b[s, i]
                if d0 > 0.0 and base[s, i] > 0.0:
                    movers = base_move_rate[s, i] * base[s, i]
                    new0[s, i] -= movers
                    scale = movers / d0
                    pb = base_pair[group[s], i]
                    wb = w0[s]
                    for j in range(n):
                        new0[s, j] += scale * np.float64(ki[j] * pb[j]) * wb[j]


@njit(cache=True, parallel=True)
def _fused_year_parts(stock, new, move_rate, k, pair, group, w, den0, unconstrained, flow_mask, flows, record,
                      zone_group, group_flows, open_population, base, new0, base_move_rate, base_pair, w0, den_b,
                      part_of, n_parts):
    """:func:`_fused_year` with its segments split into ``n_parts`` parts (``part_of``), one thread each.

    Every masked segment (``flow_mask``) must be in the same part: only they write ``flows`` and
    ``group_flows``. Bit for bit the same as the whole step.
    """
    for p in prange(n_parts):
        _fused_year(stock, new, move_rate, k, pair, group, w, den0, unconstrained, flow_mask, flows, record,
                    zone_group, group_flows, open_population, base, new0, base_move_rate, base_pair, w0, den_b,
                    part_of, p)


@njit(cache=True, parallel=True)
def simulate_draws(stock0, move_rate, base_move_rate, log_dist, border, pair, base_pair, same_pair, group, beta,
                   gamma, static, base_static, theta_h, log_price0, base_log_price0, feedback, unconstrained,
                   flow_mask, zone_group, base0, path, group_of, open_population, stocks_out, flows_out,
                   group_flows_out, net_out):
    """Simulate ``T`` years for each of ``D`` draws, in parallel over chunks of draws.

    Closed population (``open_population`` False): ``X(t+1) = M(X(t))``, the scenario's migration
    step ``M``. Open population: the no-policy stocks ``B`` (segments) evolve with the no-policy step
    ``M0`` of the same draw (``base_*`` weights, pair factors and move rates, production mode, no
    feedback) and the scenario's with ``M``, and every segment of skill group ``g`` in LAD ``i`` is
    then scaled by the group's non-migration growth factor ``G_gi(t) = P_gi(t+1) / M0(B(t))_gi``
    (``P = path``, the exogenous group totals)::

        B(t+1)_si = M0(B(t))_si G_gi(t),    X(t+1)_si = M(X(t))_si G_gi(t).

    The groups' totals of ``B`` follow ``path`` (to rounding), the non-migration components act as
    rates, and a scenario whose ``M`` is ``M0`` reproduces ``B`` bit for bit.

    Parameters
    ----------
    stock0 : (S, n)
        Initial stocks of the scenario.
    move_rate, base_move_rate : (D, S, n)
        Annual inter-LAD move rate per draw, segment and origin (scenario; no-policy step).
    log_dist, border : (n, n)
        Log distance and shared-border indicator.
    pair, base_pair : (P, n, n)
        Factor of the pair weights per layer, e.g. ``exp(kappa_gij + anchor_cij)`` per segment
        (ones = no pivot, no anchoring), of the scenario and of the no-policy step; float64, or
        float32 at MSOA scale (the deterrence is then computed in float32 too, sums in float64).
    same_pair : bool
        ``base_pair`` is ``pair`` (kept for the callers; the deterrence ``D`` is computed once per draw
        and multiplied by the layer's factor on the fly, so no (P, n, n) product is held).
    group : (S,) int
        Layer of ``pair`` each segment uses.
    beta, gamma : (D,)
        Distance deterrence and border effect per draw.
    static, base_static : (D, S, n)
        Destination log weights other than house prices (scenario; no-policy, also the
        unconstrained mode's reference).
    theta_h : (D, S)
        House-price elasticity per draw and segment.
    log_price0, base_log_price0 : (n,)
        Initial log house prices of the scenario and of the baseline.
    feedback : float
        Elasticity of log house prices to the net inflow rate (open population: to the net inflow
        rate beyond the baseline path's growth; 0 = no feedback).
    unconstrained : bool
        Movers per origin scale with the origin's attraction relative to the baseline's.
    flow_mask : (S,) bool
        Segments whose final-year flows are accumulated (and whose net migration is ``net_out[..., 0, :]``).
    zone_group : (n,) int
        Group of each zone (0 .. R - 1) for ``group_flows_out``.
    base0 : (S, n)
        Initial no-policy stocks (open population).
    path : (T + 1, G, n)
        The exogenous totals of each skill group (open population; any shape when closed).
    group_of : (S,) int
        Skill group (0 .. G - 1) of each segment.
    open_population : bool
        Open (the bracket added) or closed.
    stocks_out : (D, T + 1, S, n)
        Written: stocks by year (year 0 = ``stock0``).
    flows_out : (C, n, n)
        Written: final-year flows of the masked segments, summed over the draws of chunk ``c``.
    group_flows_out : (D, R, R)
        Written: final-year flows of the masked segments between zone groups, per draw.
    net_out : (D, T, 2, n)
        Written: net internal migration of the scenario's step ``M`` by year, of the masked
        segments (0) and of the others (1).

    Returns
    -------
    int
        0 on success, 1 if a non-finite or negative stock appeared.
    """
    n_chunks = flows_out.shape[0]
    status = np.zeros(n_chunks, dtype=np.int64)
    part_of = np.zeros(stock0.shape[0], dtype=np.int64)
    for c in prange(n_chunks):
        status[c] = _chunk(c, stock0, move_rate, base_move_rate, log_dist, border, pair, base_pair, group, beta,
                           gamma, static, base_static, theta_h, log_price0, base_log_price0, feedback, unconstrained,
                           flow_mask, zone_group, base0, path, group_of, open_population, stocks_out, flows_out,
                           group_flows_out, net_out, part_of, 0)
    return BAD_VALUE if status.max() > 0 else OK


@njit(cache=True)
def simulate_draws_split(stock0, move_rate, base_move_rate, log_dist, border, pair, base_pair, same_pair, group, beta,
                         gamma, static, base_static, theta_h, log_price0, base_log_price0, feedback, unconstrained,
                         flow_mask, zone_group, base0, path, group_of, open_population, stocks_out, flows_out,
                         group_flows_out, net_out):
    """:func:`simulate_draws` one draw at a time, each year's step on two threads (the masked
    segments on one, the others on the other: :func:`_fused_year_parts`).

    For fewer draws than threads (a one-draw run). The same arguments and, bit for bit, the same
    outputs as :func:`simulate_draws` with the same ``flows_out`` chunks: each segment's arithmetic
    is unchanged and the masked segments, the only ones that add to the flows, share one thread.
    """
    status = OK
    part_of = np.where(flow_mask, 0, 1).astype(np.int64)
    for c in range(flows_out.shape[0]):
        if _chunk(c, stock0, move_rate, base_move_rate, log_dist, border, pair, base_pair, group, beta, gamma,
                  static, base_static, theta_h, log_price0, base_log_price0, feedback, unconstrained, flow_mask,
                  zone_group, base0, path, group_of, open_population, stocks_out, flows_out, group_flows_out,
                  net_out, part_of, 2) != OK:
            status = BAD_VALUE
    return status


@njit(cache=True)
def _chunk(c, stock0, move_rate, base_move_rate, log_dist, border, pair, base_pair, group, beta, gamma, static,
           base_static, theta_h, log_price0, base_log_price0, feedback, unconstrained, flow_mask, zone_group, base0,
           path, group_of, open_population, stocks_out, flows_out, group_flows_out, net_out, part_of, n_parts):
    """Chunk ``c`` of the draws: each of its draws (:func:`_draw`), their final-year flows summed in
    ``flows_out[c]``. Returns the status."""
    n_draws = stocks_out.shape[0]
    n_chunks = flows_out.shape[0]
    flows = flows_out[c]
    flows[:, :] = 0.0
    status = OK
    for d in range(c * n_draws // n_chunks, (c + 1) * n_draws // n_chunks):
        if _draw(d, stock0, move_rate, base_move_rate, log_dist, border, pair, base_pair, group, beta, gamma,
                 static, base_static, theta_h, log_price0, base_log_price0, feedback, unconstrained, flow_mask,
                 zone_group, base0, path, group_of, open_population, stocks_out, flows, group_flows_out,
                 net_out, part_of, n_parts) != OK:
            status = BAD_VALUE
    return status


@njit(cache=True)
def _draw(d, stock0, move_rate, base_move_rate, log_dist, border, pair, base_pair, group, beta, gamma, static,
          base_static, theta_h, log_price0, base_log_price0, feedback, unconstrained, flow_mask, zone_group, base0,
          path, group_of, open_population, stocks_out, flows, group_flows_out, net_out, part_of, n_parts):
    """Draw ``d`` of :func:`simulate_draws`: its ``T`` years, final-year flows added to ``flows``.

    ``n_parts`` 0: each year's step in this thread; 2: on two threads by ``part_of``
    (:func:`_fused_year_parts`). Returns the status.
    """
    years = stocks_out.shape[1] - 1
    n_s, n = stock0.shape
    n_groups = path.shape[1]
    status = OK
    k = np.empty((n, n), dtype=pair.dtype)
    w = np.empty((n_s, n))
    w0 = np.empty((n_s, n))
    den0 = np.ones((n_s, n))
    den_b = np.empty((n_s, n))
    stock = np.empty((n_s, n))
    new = np.empty((n_s, n))
    new0 = np.empty((n_s, n))
    base = np.empty((n_s, n))
    log_price = np.empty(n)
    group_flows_out[d, :, :] = 0.0
    if n_parts > 0:
        _deterrence_parallel(beta[d], gamma[d], log_dist, border, k)
    else:
        _deterrence(beta[d], gamma[d], log_dist, border, k)
    if unconstrained:
        _weights(base_static[d], theta_h[d], base_log_price0, w)
        if n_parts > 0:
            _denominators_parallel(k, pair, group, w, den0)
        else:
            _denominators(k, pair, group, w, den0)
    if open_population:
        _weights(base_static[d], theta_h[d], base_log_price0, w0)
        if n_parts > 0:
            _denominators_parallel(k, base_pair, group, w0, den_b)
        else:
            _denominators(k, base_pair, group, w0, den_b)
    for j in range(n):
        log_price[j] = log_price0[j]
    for s in range(n_s):
        for i in range(n):
            stock[s, i] = stock0[s, i]
            stocks_out[d, 0, s, i] = stock0[s, i]
            base[s, i] = base0[s, i]
    for t in range(1, years + 1):
        _weights(static[d], theta_h[d], log_price, w)
        if n_parts > 0:
            _fused_year_parts(stock, new, move_rate[d], k, pair, group, w, den0, unconstrained, flow_mask, flows,
                              t == years, zone_group, group_flows_out[d], open_population, base, new0,
                              base_move_rate[d], base_pair, w0, den_b, part_of, n_parts)
        else:
            _fused_year(stock, new, move_rate[d], k, pair, group, w, den0, unconstrained, flow_mask, flows,
                        t == years, zone_group, group_flows_out[d], open_population, base, new0,
                        base_move_rate[d], base_pair, w0, den_b, part_of, -1)
        for i in range(n):
            net_out[d, t - 1, 0, i] = 0.0
            net_out[d, t - 1, 1, i] = 0.0
        for s in range(n_s):
            m = 0 if flow_mask[s] else 1
            for i in range(n):
                net_out[d, t - 1, m, i] += new[s, i] - stock[s, i]
        if open_population:
            for i in range(n):
                for g in range(n_groups):
                    tot0 = 0.0
                    for s in range(n_s):
                        if group_of[s] == g:
                            tot0 += new0[s, i]
                    rate = path[t, g, i] / tot0 if tot0 > 0.0 else 1.0
                    for s in range(n_s):
                        if group_of[s] == g:
                            new[s, i] = new[s, i] * rate
                            new0[s, i] = new0[s, i] * rate
        if feedback != 0.0:
            for j in range(n):
                tot_old = 0.0
                tot_new = 0.0
                b_old = 0.0
                b_new = 0.0
                for s in range(n_s):
                    tot_old += stock[s, j]
                    tot_new += new[s, j]
                    if open_population:
                        b_old += base[s, j]
                        b_new += new0[s, j]
                if tot_old > 0.0:
                    step = (tot_new - tot_old) / tot_old
                    if open_population and b_old > 0.0:
                        step = step - (b_new - b_old) / b_old
                    log_price[j] += feedback * step
        for s in range(n_s):
            for i in range(n):
                v = new[s, i]
                if not np.isfinite(v) or v < -1e-9 * (1.0 + stock[s, i]):
                    status = BAD_VALUE
                stock[s, i] = v
                stocks_out[d, t, s, i] = v
                if open_population:
                    base[s, i] = new0[s, i]
    return status


@njit(cache=True)
def one_year_flows(stock, move_rate, log_dist, border, pair, group, beta, gamma, static, base_static, theta_h,
                   log_price, base_log_price, unconstrained, flows_out):
    """Flows of one annual step for one draw, by segment: ``flows_out`` (S, n, n) is written.

    ``move_rate`` is (S, n); the other arguments as in :func:`simulate_draws` for one draw.
    """
    n_s, n = stock.shape
    k = np.empty((n, n), dtype=pair.dtype)
    w = np.empty((n_s, n))
    den = np.empty((n_s, n))
    den0 = np.ones((n_s, n))
    _deterrence(beta, gamma, log_dist, border, k)
    if unconstrained:
        _weights(base_static, theta_h, base_log_price, w)
        _denominators(k, pair, group, w, den0)
    _weights(static, theta_h, log_price, w)
    _denominators(k, pair, group, w, den)
    new = np.empty((n_s, n))
    mask = np.zeros(n_s, dtype=np.bool_)
    tmp = np.zeros((n, n))
    zone_group = np.zeros(n, dtype=np.int64)
    group_flows = np.zeros((1, 1))
    for s in range(n_s):
        mask[:] = False
        mask[s] = True
        tmp[:, :] = 0.0
        _year(stock, new, move_rate, k, pair, group, w, den, den0, unconstrained, mask, tmp, True, zone_group,
              group_flows)
        flows_out[s] = tmp
    return OK
