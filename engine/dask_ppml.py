"""Doubly-constrained PPML calibration on Dask: block-wise passes, driver-side solves.

The joint Newton solver of :func:`migravity.engine.ppml.newton_ppml` (two-way case) with the
(n_o, n_d) arrays split into (rows, columns) blocks that never meet in one process:

* the flows ``y``, the ``k`` regressor planes and the mask are Dask arrays (read from Zarr, or
  computed block by block, e.g. :func:`~migravity.engine.dask_flows.distance_blocks`);
* ``y`` is read in three passes only: its margins, ``X'y`` and ``sum y log y`` (first), the
  IRLS start (second), the sandwich and fit statistics (last). Within the Newton iterations the
  score is ``X'y - X'mu`` and the log-likelihood ``alpha'R + gamma'C + beta'X'y - sum mu``;
* each Newton iteration is one pass of the in-memory
  :func:`~migravity.engine._kernels_ppml.joint_pass` per block (``mu`` and its weighted margins,
  ``sum mu x x'``), whose ``mu`` blocks are persisted on the workers, then the fixed-effect
  solve on the driver: conjugate gradients on the pinned Schur system of
  :func:`~migravity.engine.projection.fe_solve`, each CG iteration one pass over the persisted
  ``mu`` blocks (:func:`~migravity.engine._kernels_ppml.fe_pass`) of which only vectors of
  length ``n_o``, ``n_d`` travel; then the ``k x k`` Newton step, step-halving and the
  convergence rule of the in-memory solver;
* after convergence, Furness polish of the margins on the blocks
  (:mod:`migravity.engine.dask_flows`) and one pass for the sandwich covariance
  (:func:`~migravity.engine._kernels_ppml.sandwich_parts`) and the fit statistics.

Memory: the persisted ``mu`` takes ``8 n_o n_d`` bytes over the cluster (its share on each
worker); a task holds one block of ``y``, of each regressor, of the mask and of ``mu``, so a
worker needs about ``8 (k + 3) rows cols`` bytes per running task on top of its share.

Differences from the in-memory fit: zones without flow are left out through the mask (the
in-memory fit drops them, with the same estimates); other separated pairs are not detected,
offsets and per-pair clusters are not supported; the grid must be one connected component.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from migravity.engine._kernels_ppml import fe_pass, fit_sums, joint_pass, sandwich_parts, xlogx_sum
from migravity.engine.dask_flows import _Blocks, _furness, block_shape
from migravity.engine.fitstats import _from_sums
from migravity.engine.options import STD_ERRS, check_chunks
from migravity.engine.ppml import (
    _CG_RTOL_LOOSE,
    _JOINT_MARGIN_TOL,
    _MAX_HALVINGS,
    _POLISH_MAX_ITER,
    _POLISH_TOL,
    _START_BAL_MAX_ITER,
    _START_BAL_TOL,
    NewtonFit,
    _collinear_terms,
    _not_converged,
)
from migravity.engine.vcov import sandwich
from migravity.errors import ConfigError, InputError, check_choice

#: CG tolerance of the tight fixed-effect solves (that of the in-memory solver).
CG_RTOL = 1e-11
#: CG iteration limit per fixed-effect solve.
MAX_CG = 1_000


# ----------------------------------------------------------------------------------------------
# block tasks (pure functions of NumPy blocks; run on the workers)


def _block_mask(mask: np.ndarray | None, shape: tuple[int, int], row_ok: np.ndarray, col_ok: np.ndarray) -> np.ndarray:
    """The fitted pairs of a block: the given mask and the zones with flow."""
    m = np.ones(shape, dtype=np.bool_) if mask is None else np.asarray(mask, dtype=np.bool_)
    return np.ascontiguousarray(m & row_ok[:, None] & col_ok[None, :])


def _stack(xs: tuple[np.ndarray, ...], shape: tuple[int, int]) -> np.ndarray:
    """The regressor planes of a block as one contiguous (k, rows, cols) stack."""
    out = np.empty((len(xs), *shape))
    for q, x in enumerate(xs):
        out[q] = x
    return out


def _totals_task(y: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
    """Row and column sums of ``y`` on the given mask, and the count of negative or non-finite values."""
    yy = np.asarray(y, dtype=np.float64)
    if mask is not None:
        yy = np.where(mask, yy, 0.0)
    bad = float(np.count_nonzero(~np.isfinite(yy) | (yy < 0)))
    yy = np.where(np.isfinite(yy), yy, 0.0)
    return yy.sum(axis=1), yy.sum(axis=0), bad


def _start_task(
    y: np.ndarray, mask: np.ndarray | None, row_ok: np.ndarray, col_ok: np.ndarray, ybar: float,
    *xs: np.ndarray,
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """The IRLS start pass of a block: ``mu = (y + ybar) / 2`` and its statistics, ``X'y`` and
    ``sum y log y``."""
    m = _block_mask(mask, y.shape, row_ok, col_ok)
    yy = np.ascontiguousarray(np.where(m, y, 0.0), dtype=np.float64)
    x = _stack(xs, y.shape)
    k = x.shape[0]
    mu = np.empty(y.shape)
    z = (np.zeros(y.shape[0]), np.zeros(y.shape[1]), np.zeros(k))
    rs, cs, hxx, bx, _, bo, bd = joint_pass(x, yy, m, *z, mu, 1, True, ybar)
    xty = np.array([float(np.einsum("ij,ij->", x[q], yy)) for q in range(k)])
    stats = (rs, cs, hxx, bx, bo, bd, xty, float(xlogx_sum(yy)))
    return mu, stats


def _joint_task(
    mask: np.ndarray | None, row_ok: np.ndarray, col_ok: np.ndarray, alpha: np.ndarray, gamma: np.ndarray,
    beta: np.ndarray, *xs: np.ndarray,
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """One block of the joint pass: ``mu`` and ``(rs, cs, hxx, X'mu, sum mu)`` (the in-memory kernel
    with ``y = 0``: its score is ``-X'mu`` and its log-likelihood ``-sum mu``)."""
    shape = (alpha.size, gamma.size)
    m = _block_mask(mask, shape, row_ok, col_ok)
    x = _stack(xs, shape)
    mu = np.empty(shape)
    rs, cs, hxx, grad, ll, _, _ = joint_pass(x, np.zeros(shape), m, alpha, gamma, beta, mu, 1)
    return mu, (rs, cs, hxx, -grad, -ll)


def _stats(pair: tuple[np.ndarray, tuple[Any, ...]]) -> tuple[Any, ...]:
    """The statistics of a persisted ``(mu, stats)`` pair."""
    return pair[1]


def _fused_task(
    pair: tuple[np.ndarray, Any], r_inv: np.ndarray, cvec: np.ndarray, wvec: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~migravity.engine._kernels_ppml.fe_pass` on a block of full rows."""
    mu = pair[0]
    m = cvec.shape[0]
    t = np.empty((m, mu.shape[0]))
    d = np.empty((m, mu.shape[1]))
    fe_pass(mu, r_inv, cvec, wvec, t, d, 1)
    return t, d


def _rowmul_task(pair: tuple[np.ndarray, Any], cvec: np.ndarray) -> np.ndarray:
    """``(M cvec')'`` of one block: partial row sums, (m, rows)."""
    mu = pair[0]
    return np.ascontiguousarray((mu @ cvec.T).T)


def _sum_rows(r_inv: np.ndarray, wvec: np.ndarray, *parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``t = r_inv * sum(parts)`` and ``wvec - t`` of a row of blocks."""
    t = r_inv[None, :] * np.sum(parts, axis=0)
    return t, np.ascontiguousarray(wvec - t)


def _colmul_task(pair: tuple[np.ndarray, Any], tw: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``M' w`` of one block, (m, cols)."""
    mu = pair[0]
    w = tw[1]
    return np.ascontiguousarray(w @ mu)


def _final_task(
    pair: tuple[np.ndarray, Any], y: np.ndarray, mask: np.ndarray | None, row_ok: np.ndarray, col_ok: np.ndarray,
    a: np.ndarray, b: np.ndarray, a_fe: np.ndarray, c_fe: np.ndarray, *xs: np.ndarray,
) -> tuple[Any, ...]:
    """The sandwich parts (scores per origin) and the fit sums of a block at the polished ``mu``."""
    mu = np.ascontiguousarray(pair[0] * a[:, None] * b[None, :])
    m = _block_mask(mask, mu.shape, row_ok, col_ok)
    yy = np.ascontiguousarray(np.where(m, y, 0.0), dtype=np.float64)
    x = _stack(xs, mu.shape)
    gid = np.arange(mu.shape[0], dtype=np.int64)[:, None]
    bread, meat, scores = sandwich_parts(x, yy, mu, m, np.ascontiguousarray(a_fe), np.ascontiguousarray(c_fe),
                                         False, gid, mu.shape[0], 1)
    return bread, meat, scores, np.array(fit_sums(yy, mu, m), dtype=np.float64)


def _scaled_block(pair: tuple[np.ndarray, Any], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a_i mu_ij b_j`` of one block (the fitted flows)."""
    return pair[0] * a[:, None] * b[None, :]


def _mu_of(pair: tuple[np.ndarray, Any]) -> np.ndarray:
    """The ``mu`` block of a persisted pair."""
    return pair[0]


# ----------------------------------------------------------------------------------------------
# the driver side


@dataclass
class _Grid:
    """The blocks of a calibration and the scheduler that runs their tasks."""

    y: Any  # object array of Delayed blocks
    xs: list[Any]
    mask: Any | None
    rb: np.ndarray
    cb: np.ndarray
    client: Any
    row_ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    col_ok: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    passes: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        """Blocks per column and per row of the grid."""
        return self.y.shape

    def compute(self, tasks: list[Any]) -> list[Any]:
        """Run ``tasks`` and bring their (small) results to the driver."""
        import dask

        self.passes += 1
        if self.client is not None:
            return list(self.client.compute(tasks, sync=True))
        return list(dask.compute(*tasks))

    def persist(self, tasks: list[Any]) -> list[Any]:
        """Run ``tasks`` and keep their results where they are (the workers' memory)."""
        import dask

        self.passes += 1
        if self.client is not None:
            return list(self.client.persist(tasks))
        return list(dask.persist(*tasks))

    def rows(self, p: int) -> slice:
        """Rows of the blocks in block-row ``p``."""
        return slice(int(self.rb[p]), int(self.rb[p + 1]))

    def cols(self, q: int) -> slice:
        """Columns of the blocks in block-column ``q``."""
        return slice(int(self.cb[q]), int(self.cb[q + 1]))

    def mask_block(self, p: int, q: int) -> Any:
        """The mask block ``(p, q)`` (None: all pairs)."""
        return None if self.mask is None else self.mask[p, q]


def _blocks_of(arr: Any, rc: int, cc: int, dtype: type) -> Any:
    """A NumPy or Dask (n_o, n_d) array as an object array of Delayed (rc, cc) blocks."""
    import dask.array as da

    if isinstance(arr, da.Array):
        darr = arr.astype(dtype).rechunk((rc, cc))
    else:
        darr = da.from_array(np.ascontiguousarray(arr, dtype=dtype), chunks=(rc, cc))
    return darr.to_delayed(optimize_graph=True)


class _FESolve:
    """The pinned two-way fixed-effect system of :func:`~migravity.engine.projection.fe_solve` at
    the persisted ``mu`` blocks, solved by Jacobi-preconditioned CG (one block pass per iteration)."""

    def __init__(self, grid: _Grid, mu: Any, r: np.ndarray, c: np.ndarray) -> None:
        self.grid = grid
        self.mu = mu
        self.r_inv = np.divide(1.0, r, out=np.zeros_like(r), where=r > 0)
        self.c = c
        self.empty = c <= 0
        self.diag = np.where(self.empty, 1.0, c + 1.0)
        self.cg_iterations = 0

    def _pass(self, cvec: np.ndarray, wvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``t = diag(r_inv) M cvec`` and ``d = M' (wvec - t)`` for ``m`` right-hand sides (rows)."""
        from dask import delayed

        g = self.grid
        n_p, n_q = g.shape
        m = cvec.shape[0]
        n_o, n_d = int(g.rb[-1]), int(g.cb[-1])
        t = np.empty((m, n_o))
        d = np.zeros((m, n_d))
        if n_q == 1:
            cv = delayed(np.ascontiguousarray(cvec), pure=True)
            res = g.compute([
                delayed(_fused_task, pure=True)(self.mu[p][0], self.r_inv[g.rows(p)], cv,
                                                np.ascontiguousarray(wvec[:, g.rows(p)]))
                for p in range(n_p)
            ])
            for p, (tp, dp) in enumerate(res):
                t[:, g.rows(p)] = tp
                d += dp
            return t, d
        c_parts = [delayed(np.ascontiguousarray(cvec[:, g.cols(q)]), pure=True) for q in range(n_q)]
        tws = [
            delayed(_sum_rows, pure=True)(
                self.r_inv[g.rows(p)], np.ascontiguousarray(wvec[:, g.rows(p)]),
                *[delayed(_rowmul_task, pure=True)(self.mu[p][q], c_parts[q]) for q in range(n_q)],
            )
            for p in range(n_p)
        ]
        cols = [delayed(_colmul_task, pure=True)(self.mu[p][q], tws[p]) for p in range(n_p) for q in range(n_q)]
        res = g.compute([*tws, *cols])
        for p in range(n_p):
            t[:, g.rows(p)] = res[p][0]
        for idx, dq in enumerate(res[n_p:]):
            d[:, g.cols(idx % n_q)] += dq
        return t, d

    def _operator(self, p: np.ndarray) -> np.ndarray:
        """The pinned Schur operator ``diag(C) - M' diag(1/R) M + e e'`` on ``p`` (m, n_d)."""
        _, d = self._pass(p, np.zeros((p.shape[0], self.r_inv.size)))
        d += self.c[None, :] * p + p.sum(axis=1)[:, None]
        d[:, self.empty] = p[:, self.empty]
        return d

    def solve(self, rhs_o: np.ndarray, rhs_d: np.ndarray, rtol: float,
              x0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Same as :func:`~migravity.engine.projection.fe_solve` (to CG tolerance ``rtol``); ``x0``
        (m, n_d), optional, starts CG (the last Newton iteration's destination solutions)."""
        m = rhs_o.shape[0]
        w = np.ascontiguousarray(rhs_o * self.r_inv[None, :])
        _, d = self._pass(np.zeros((m, self.c.size)), w)
        b = rhs_d - d
        b[:, self.empty] = 0.0
        sol = self._cg(b, rtol, x0)
        t, _ = self._pass(sol, np.zeros((m, self.r_inv.size)))
        return w - t, sol

    def _cg(self, b: np.ndarray, rtol: float, x0: np.ndarray | None = None) -> np.ndarray:
        bnorm = np.sqrt((b * b).sum(axis=1))
        x = b / self.diag[None, :]
        if x0 is not None:
            x = np.where(np.isfinite(x0), x0, x)
            x[:, self.empty] = 0.0
        res = b - self._operator(x)
        z = res / self.diag[None, :]
        p = z.copy()
        rz = (res * z).sum(axis=1)
        for _ in range(MAX_CG):
            rn = np.sqrt((res * res).sum(axis=1))
            if np.all(rn <= rtol * bnorm):
                break
            ap = self._operator(p)
            self.cg_iterations += 1
            pap = (p * ap).sum(axis=1)
            step = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
            x += step[:, None] * p
            res -= step[:, None] * ap
            z = res / self.diag[None, :]
            rz_new = (res * z).sum(axis=1)
            beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
            p = z + beta[:, None] * p
            rz = rz_new
        return x


def _sum_block_stats(grid: _Grid, stats: list[tuple[Any, ...]], k: int) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Row sums ``rs`` (k + 1, n_o), column sums ``cs`` (k + 1, n_d) and the other block statistics
    (summed over blocks), from per-block results in row-major block order."""
    n_q = grid.shape[1]
    rs = np.zeros((k + 1, int(grid.rb[-1])))
    cs = np.zeros((k + 1, int(grid.cb[-1])))
    rest: list[Any] = [None] * (len(stats[0]) - 2)
    for idx, st in enumerate(stats):
        p, q = divmod(idx, n_q)
        rs[:, grid.rows(p)] += st[0]
        cs[:, grid.cols(q)] += st[1]
        for s, v in enumerate(st[2:]):
            rest[s] = v if rest[s] is None else rest[s] + v
    return rs, cs, rest


@dataclass
class _State:
    """The outcome of the block-wise Newton iterations (driver side)."""

    fit: NewtonFit
    mu: list[list[Any]]
    n_obs: int
    n_rows: int
    n_cols: int
    cg_iterations: int
    passes: int


def _newton(grid: _Grid, k: int, tol: float, max_iter: int) -> _State:
    """The joint Newton iterations of ``_newton_doubly`` on the blocks of ``grid``."""
    from dask import delayed

    n_p, n_q = grid.shape
    # pass 1: margins of y
    tot_parts = grid.compute([
        delayed(_totals_task, pure=True)(grid.y[p, q], grid.mask_block(p, q)) for p in range(n_p) for q in range(n_q)
    ])
    row_t = np.zeros(int(grid.rb[-1]))
    col_t = np.zeros(int(grid.cb[-1]))
    bad = 0.0
    for idx, (r, c, nb) in enumerate(tot_parts):
        p, q = divmod(idx, n_q)
        row_t[grid.rows(p)] += r
        col_t[grid.cols(q)] += c
        bad += nb
    if bad:
        raise InputError(f"flows: {int(bad)} observed values are negative or not finite; fix or mask them")
    if row_t.sum() <= 0:
        raise InputError("all observed flows are zero: there is nothing to fit")
    grid.row_ok = row_t > 0
    grid.col_ok = col_t > 0
    ok_o, ok_d = grid.row_ok, grid.col_ok
    tot = float(row_t.sum())
    # pass 2: the IRLS start (and X'y, sum y log y, the pair count): needs the pair count first
    cnt_tasks = [
        delayed(_count_task, pure=True)(grid.mask_block(p, q), (int(grid.rb[p + 1] - grid.rb[p]),
                                        int(grid.cb[q + 1] - grid.cb[q])), ok_o[grid.rows(p)], ok_d[grid.cols(q)])
        for p in range(n_p) for q in range(n_q)
    ] if grid.mask is not None else []
    n_obs = int(sum(grid.compute(cnt_tasks))) if cnt_tasks else int(ok_o.sum()) * int(ok_d.sum())
    ybar = tot / max(n_obs, 1)
    start = grid.persist([
        delayed(_start_task, pure=True, nout=2)(grid.y[p, q], grid.mask_block(p, q), ok_o[grid.rows(p)],
                                                ok_d[grid.cols(q)], ybar, *[x[p, q] for x in grid.xs])
        for p in range(n_p) for q in range(n_q)
    ])
    st = grid.compute([delayed(_stats, pure=True)(t) for t in start])
    rs, cs, (hxx, bx, bo_d, xty, xlogx) = _start_sums(grid, st, k)
    bo, bd = bo_d
    mu = _as_grid(start, n_p, n_q)
    del start
    solver: _FESolve | None = _FESolve(grid, mu, rs[0], cs[0])
    assert solver is not None
    sol_o, sol_d = solver.solve(np.vstack([rs[1:], bo]), np.vstack([cs[1:], bd]), CG_RTOL)
    a_fe, c_fe = sol_o[:k], sol_d[:k]
    bread = hxx - rs[1:] @ a_fe.T - cs[1:] @ c_fe.T
    cg_total = solver.cg_iterations
    solver = None
    mu = []  # the start's blocks are not needed any more
    alpha = np.where(ok_o, np.log(np.where(ok_o, row_t, 1.0) / np.sqrt(tot)), -700.0)
    gamma = np.where(ok_d, np.log(np.where(ok_d, col_t, 1.0) / np.sqrt(tot)), -700.0)
    beta = np.zeros(k)
    try:
        beta_s = np.linalg.solve(0.5 * (bread + bread.T), bx - rs[1:] @ sol_o[k] - cs[1:] @ sol_d[k])
        alpha_s = sol_o[k] - a_fe.T @ beta_s
        gamma_s = sol_d[k] - c_fe.T @ beta_s
    except np.linalg.LinAlgError:
        beta_s = np.full(k, np.nan)
        alpha_s, gamma_s = alpha, gamma

    def joint(al: np.ndarray, ga: np.ndarray, be: np.ndarray) -> tuple[list[list[Any]], np.ndarray, np.ndarray,
                                                                        np.ndarray, np.ndarray, float]:
        pairs = grid.persist([
            delayed(_joint_task, pure=True, nout=2)(grid.mask_block(p, q), ok_o[grid.rows(p)], ok_d[grid.cols(q)],
                                                    al[grid.rows(p)], ga[grid.cols(q)], be,
                                                    *[x[p, q] for x in grid.xs])
            for p in range(n_p) for q in range(n_q)
        ])
        sts = grid.compute([delayed(_stats, pure=True)(t) for t in pairs])
        r_s, c_s, (h, xmu, smu) = _sum_block_stats(grid, sts, k)
        g = xty - xmu
        ll_v = float(al[ok_o] @ row_t[ok_o] + ga[ok_d] @ col_t[ok_d] + be @ xty - smu)
        return _as_grid(pairs, n_p, n_q), r_s, c_s, h, g, ll_v

    if np.all(np.isfinite(beta_s)):
        mu, rs, cs, hxx, grad, ll = joint(alpha_s, gamma_s, beta_s)
    if np.all(np.isfinite(beta_s)) and np.isfinite(ll):
        alpha, gamma, beta = alpha_s, gamma_s, beta_s
    else:  # the IRLS start overflowed: start from the independence model
        mu, rs, cs, hxx, grad, ll = joint(alpha, gamma, beta)
    # the start's fixed effects to the margins (beta fixed), as the in-memory solver does
    a_s, b_s, _ = _furness(_MuBlocks(mu, grid), row_t, col_t, np.ones(row_t.size), np.ones(col_t.size),
                           _START_BAL_TOL, _START_BAL_MAX_ITER)
    if (np.all(a_s[ok_o] > 0) and np.all(b_s[ok_d] > 0)
            and np.all(np.isfinite(a_s[ok_o])) and np.all(np.isfinite(b_s[ok_d]))):
        alpha_b = np.where(ok_o, alpha + np.log(np.where(ok_o, a_s, 1.0)), alpha)
        gamma_b = np.where(ok_d, gamma + np.log(np.where(ok_d, b_s, 1.0)), gamma)
        new_start = joint(alpha_b, gamma_b, beta)
        if np.isfinite(new_start[5]) and new_start[5] >= ll:
            alpha, gamma = alpha_b, gamma_b
            mu, rs, cs, hxx, grad, ll = new_start
        del new_start
    dev_const = 2.0 * (xlogx - tot)
    dev = dev_const - 2.0 * ll
    messages: list[str] = []
    collinear: list[int] = []
    converged = False
    iterations = 0
    last_rel_dev = np.inf
    last_step = np.inf
    safe_r = np.where(row_t > 0, row_t, 1.0)
    safe_c = np.where(col_t > 0, col_t, 1.0)
    while True:
        g_a = np.where(ok_o, row_t - rs[0], 0.0)
        g_g = np.where(ok_d, col_t - cs[0], 0.0)
        margin_err = max(float(np.max(np.abs(g_a) / safe_r)), float(np.max(np.abs(g_g) / safe_c)))
        solver = _FESolve(grid, mu, rs[0], cs[0])
        rtol = _CG_RTOL_LOOSE if last_step > 1e-3 and iterations > 0 else CG_RTOL
        # warm start: the projections move little between iterations (the score system starts cold)
        x0 = np.vstack([sol_d[:k], np.full((1, sol_d.shape[1]), np.nan)])
        sol_o, sol_d = solver.solve(np.vstack([rs[1:], g_a]), np.vstack([cs[1:], g_g]), rtol, x0)
        cg_total += solver.cg_iterations
        a_fe, c_fe = sol_o[:k], sol_d[:k]
        p_o, p_d = sol_o[k], sol_d[k]
        bread = hxx - rs[1:] @ a_fe.T - cs[1:] @ c_fe.T
        bread = 0.5 * (bread + bread.T)
        if iterations == 0 and k > 0:
            collinear = _collinear_terms(bread, rs, cs, np.zeros((k, 1, 1)), np.zeros((1, 1)), 1,
                                         sq=np.diag(hxx).copy())
            if collinear:
                break
        step = np.linalg.solve(bread, grad - rs[1:] @ p_o - cs[1:] @ p_d) if k else np.zeros(0)
        d_a = p_o - a_fe.T @ step
        d_g = p_d - c_fe.T @ step
        size = float(np.max(np.abs(step))) if k else 0.0
        if not np.isfinite(size):
            messages.append("the Newton step is not finite (collinear terms or overflow)")
            break
        if margin_err <= _JOINT_MARGIN_TOL and (size <= tol or (last_rel_dev <= tol and last_step <= np.sqrt(tol))):
            converged = True
            break
        if iterations >= max_iter:
            break
        iterations += 1
        t = 1.0
        # release the blocks of mu before the trial's (at most one persisted mu on the cluster)
        mu = []
        solver = None
        new = None
        for _ in range(_MAX_HALVINGS):
            new = None
            new = joint(alpha + t * d_a, gamma + t * d_g, beta + t * step)
            if np.isfinite(new[5]) and new[5] >= ll - 1e-12 * (abs(ll) + 1.0):
                break
            t *= 0.5
        else:
            messages.append("step-halving failed to increase the log-likelihood")
            new = None
            mu = joint(alpha, gamma, beta)[0]  # back to the last accepted point
            break
        alpha = alpha + t * d_a
        gamma = gamma + t * d_g
        beta = beta + t * step
        mu, rs, cs, hxx, grad, ll_new = new
        dev_new = dev_const - 2.0 * ll_new
        last_rel_dev = abs(dev - dev_new) / max(abs(dev_new), 0.1)
        last_step = t * size
        ll, dev = ll_new, dev_new
    # polish the margins (beta fixed) by Furness sweeps over the persisted mu blocks
    a = np.ones(row_t.size)
    b = np.ones(col_t.size)
    blk = _MuBlocks(mu, grid)
    a, b, status = _furness(blk, row_t, col_t, a, b, _POLISH_TOL, _POLISH_MAX_ITER)
    if not status[1] and converged:
        messages.append(f"balancing stopped after {status[0]} sweeps with margin error {status[2]:.3g}")
    if not converged:
        messages.append(_not_converged(iterations, max_iter, last_step, last_rel_dev))
    fit = NewtonFit(
        beta=beta, mu=np.zeros((0, 0)), a=a, b=b, bread=bread, a_fe=a_fe, c_fe=c_fe, loglik_kernel=ll, deviance=dev,
        iterations=iterations, converged=converged, balance_iterations=int(status[0]),
        balance_error=float(status[2]), messages=messages, collinear=collinear,
    )
    return _State(fit, mu, n_obs, int(ok_o.sum()), int(ok_d.sum()), cg_total, grid.passes + blk.passes)


def _count_task(mask: np.ndarray | None, shape: tuple[int, int], row_ok: np.ndarray, col_ok: np.ndarray) -> int:
    """Fitted pairs of a block."""
    return int(np.count_nonzero(_block_mask(mask, shape, row_ok, col_ok)))


def _start_sums(grid: _Grid, st: list[tuple[Any, ...]], k: int) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Sum the start pass's block statistics: ``rs``, ``cs`` and
    ``[hxx, bx, (bo, bd), X'y, sum y log y]``."""
    n_q = grid.shape[1]
    n_o, n_d = int(grid.rb[-1]), int(grid.cb[-1])
    rs = np.zeros((k + 1, n_o))
    cs = np.zeros((k + 1, n_d))
    bo = np.zeros(n_o)
    bd = np.zeros(n_d)
    hxx = np.zeros((k, k))
    bx = np.zeros(k)
    xty = np.zeros(k)
    xlogx = 0.0
    for idx, s in enumerate(st):
        p, q = divmod(idx, n_q)
        rs[:, grid.rows(p)] += s[0]
        cs[:, grid.cols(q)] += s[1]
        hxx += s[2]
        bx += s[3]
        bo[grid.rows(p)] += s[4]
        bd[grid.cols(q)] += s[5]
        xty += s[6]
        xlogx += s[7]
    return rs, cs, [hxx, bx, (bo, bd), xty, xlogx]


def _as_grid(tasks: list[Any], n_p: int, n_q: int) -> list[list[Any]]:
    """Row-major block tasks as a list of block rows."""
    return [tasks[p * n_q:(p + 1) * n_q] for p in range(n_p)]


class _MuBlocks(_Blocks):
    """:class:`~migravity.engine.dask_flows._Blocks` over the persisted ``(mu, stats)`` pairs."""

    def __init__(self, mu: list[list[Any]], grid: _Grid) -> None:
        from dask import delayed

        blocks = np.empty((len(mu), len(mu[0])), dtype=object)
        for p, row in enumerate(mu):
            for q, pair in enumerate(row):
                blocks[p, q] = delayed(_mu_of, pure=True)(pair)
        self.blocks = blocks
        self.client = grid.client
        self.rb = grid.rb
        self.cb = grid.cb
        self.n_o, self.n_d = int(grid.rb[-1]), int(grid.cb[-1])
        self.passes = 0

    def _compute(self, tasks: list[Any]) -> list[Any]:
        self.passes += 1
        return super()._compute(tasks)


# ----------------------------------------------------------------------------------------------
# public functions


@dataclass(frozen=True)
class DaskCalibration:
    """Result of :func:`calibrate_dask`: the estimates, and the fitted flows as a lazy Dask array.

    Attributes
    ----------
    coefficients, std_errors : dict of str to float
        Slopes and their standard errors (``se``), keyed by term.
    vcov : pandas.DataFrame
        Their covariance.
    fit : dict of str to float
        Fit statistics (as :attr:`~migravity.engine.CalibrationResult.fit`).
    iterations : int
        Newton iterations.
    converged : bool
        Whether the convergence rule was met.
    deviance : float
        Poisson deviance at the solution (before the margin polish).
    n_pairs : int
        Pairs fitted.
    fitted : dask.array.Array
        ``mu`` (n_o, n_d), zero outside the fitted pairs, computed lazily from the persisted blocks.
    origin_factors, destination_factors : ndarray
        ``exp(alpha)`` and ``exp(gamma)`` up to the polish (``a``, ``b`` of the Furness polish).
    cg_iterations, passes : int
        Work done: CG iterations of the fixed-effect solves and block passes over the grid.
    messages : list of str
        Warnings of the solver.
    """

    coefficients: dict[str, float]
    std_errors: dict[str, float]
    vcov: pd.DataFrame
    fit: dict[str, float]
    iterations: int
    converged: bool
    deviance: float
    n_pairs: int
    fitted: Any = field(repr=False)
    origin_factors: np.ndarray = field(repr=False)
    destination_factors: np.ndarray = field(repr=False)
    cg_iterations: int = 0
    passes: int = 0
    messages: list[str] = field(default_factory=list)


def _grid_of(flows: Any, regressors: list[Any], mask: Any, chunks: int | tuple[int, int] | None,
             client: Any) -> _Grid:
    """Validate the arrays and cut them into blocks."""
    shape = tuple(int(s) for s in flows.shape)
    if len(shape) != 2:
        raise InputError(f"flows must be a 2-D (origins, destinations) array, not shape {shape}")
    for q, x in enumerate(regressors):
        if tuple(x.shape) != shape:
            raise InputError(f"regressor {q} has shape {tuple(x.shape)}, not the flows' {shape}")
    if mask is not None and tuple(mask.shape) != shape:
        raise InputError(f"mask has shape {tuple(mask.shape)}, not the flows' {shape}")
    if chunks is not None:
        check_chunks(chunks)
    rc, cc = block_shape(chunks, (shape[0], shape[1]), [flows, *regressors])
    y = _blocks_of(flows, rc, cc, np.float64)
    xs = [_blocks_of(x, rc, cc, np.float64) for x in regressors]
    m = None if mask is None else _blocks_of(mask, rc, cc, np.bool_)

    def bounds(n: int, c: int) -> np.ndarray:
        return np.concatenate([np.arange(0, n, c), [n]]).astype(np.int64)

    return _Grid(y, xs, m, bounds(shape[0], rc), bounds(shape[1], cc), client)


def calibrate_dask(
    flows: Any,
    regressors: Mapping[str, Any],
    *,
    mask: Any = None,
    se: str = "robust",
    tol: float = 1e-10,
    max_iter: int = 100,
    chunks: int | tuple[int, int] | None = None,
    client: Any = None,
) -> DaskCalibration:
    """Fit a doubly-constrained PPML gravity model to (n_o, n_d) arrays held as Dask blocks.

    ``log mu_ij = alpha_i + gamma_j + x_ij' beta`` with origin and destination effects, by the
    joint Newton iterations of the in-memory solver run as block passes (see the module
    docstring). Equal to ``calibrate_arrays(..., constraint="doubly")`` on the same data.

    Parameters
    ----------
    flows : array-like or dask.array.Array, shape (n_o, n_d)
        Observed flows (non-negative; values outside ``mask`` are ignored).
    regressors : mapping of str to array-like or dask.array.Array (n_o, n_d)
        The pair terms (e.g. ``{"log(cost)": log_d, "border": border}``).
    mask : array-like or dask.array.Array of bool, optional
        Pairs in the fit (default all; zones without flow are always left out).
    se : {"robust", "hc1", "cluster"}
        Standard errors; ``"cluster"`` clusters by origin.
    tol, max_iter : float, int
        Newton convergence tolerance and iteration limit (as :func:`~migravity.engine.calibrate`).
    chunks : int or (int, int), optional
        Block shape (rows, columns) or rows per block of full rows; default: the first Dask
        input's blocks, else full rows of about 8 million pairs.
    client : dask.distributed.Client, optional
        Cluster to run on (default: Dask's current scheduler).

    Returns
    -------
    DaskCalibration
    """
    from migravity.engine.options import _check_max_iter, _check_tol

    check_choice("se", se, STD_ERRS)
    _check_tol(tol)
    _check_max_iter(max_iter)
    names = list(regressors)
    if not names:
        raise ConfigError("regressors", "{}", "give at least one pair term")
    grid = _grid_of(flows, [regressors[n] for n in names], mask, chunks, client)
    try:
        state = _newton(grid, len(names), tol, max_iter)
    except np.linalg.LinAlgError as e:
        raise ConfigError(
            "regressors", names, f"the Newton system is singular ({e}): these terms are collinear, or separate "
            "zero flows in a combination with the fixed effects; drop one of them or the zero-flow pairs") from None
    fit = state.fit
    if fit.collinear:
        bad = [names[q] for q in fit.collinear]
        raise ConfigError("regressors", bad, "collinear with the fixed effects or with each other: drop one of them")
    return _finish(grid, state, names, se)


def _finish(grid: _Grid, state: _State, names: list[str], se: str) -> DaskCalibration:
    """The sandwich covariance and fit statistics (one pass with ``y``) and the lazy fitted flows."""
    import dask.array as da
    from dask import delayed

    fit = state.fit
    n_p, n_q = grid.shape
    k = len(names)
    tasks = [
        delayed(_final_task, pure=True)(
            state.mu[p][q], grid.y[p, q], grid.mask_block(p, q), grid.row_ok[grid.rows(p)], grid.col_ok[grid.cols(q)],
            fit.a[grid.rows(p)], fit.b[grid.cols(q)], fit.a_fe[:, grid.rows(p)], fit.c_fe[:, grid.cols(q)],
            *[x[p, q] for x in grid.xs],
        )
        for p in range(n_p) for q in range(n_q)
    ]
    res = grid.compute(tasks)
    bread = np.zeros((k, k))
    meat = np.zeros((k, k))
    scores = np.zeros((int(grid.rb[-1]), k))
    sums = np.zeros(8)
    for idx, (br, me, sc, fs) in enumerate(res):
        p, _ = divmod(idx, n_q)
        bread += br
        meat += me
        scores[grid.rows(p)] += sc
        sums += fs
    scores = scores[grid.row_ok]
    n_params = k + state.n_rows + state.n_cols - 1
    cov = sandwich(bread, meat, scores, se, state.n_obs, n_params)
    sev = np.sqrt(np.diag(cov))
    n_s, sy, smu, sylm, syly, slg, sq, smin = (float(s) for s in sums)
    stats = _from_sums(n_s, sy, smu, sylm, syly, slg, sq, smin, n_params)
    fitted_blocks = [[da.from_delayed(delayed(_scaled_block, pure=True)(state.mu[p][q], fit.a[grid.rows(p)],
                                                                        fit.b[grid.cols(q)]),
                                      shape=(int(grid.rb[p + 1] - grid.rb[p]), int(grid.cb[q + 1] - grid.cb[q])),
                                      dtype=np.float64)
                      for q in range(n_q)] for p in range(n_p)]
    return DaskCalibration(
        coefficients={n: float(c) for n, c in zip(names, fit.beta, strict=True)},
        std_errors={n: float(s) for n, s in zip(names, sev, strict=True)},
        vcov=pd.DataFrame(cov, index=names, columns=names),
        fit=stats,
        iterations=fit.iterations,
        converged=fit.converged,
        deviance=fit.deviance,
        n_pairs=state.n_obs,
        fitted=da.block(fitted_blocks),
        origin_factors=fit.a,
        destination_factors=fit.b,
        cg_iterations=state.cg_iterations,
        passes=state.passes + 1,
        messages=list(fit.messages),
    )


def newton_ppml_dask(
    y: np.ndarray, x: np.ndarray, mask: np.ndarray, *, tol: float = 1e-10, max_iter: int = 100,
    chunks: int | tuple[int, int] | None = None, client: Any = None,
) -> NewtonFit:
    """:func:`~migravity.engine.ppml.newton_ppml` (two-way case) on Dask blocks of in-memory arrays.

    The backend of ``calibrate_arrays(..., backend="dask")``: same inputs and result (``mu``
    gathered to the driver, which holds the arrays anyway); ``bread`` is the last iterate's.
    """
    grid = _grid_of(y, list(x), mask, chunks, client)
    state = _newton(grid, x.shape[0], tol, max_iter)
    fit = state.fit
    if not fit.collinear:
        import dask.array as da
        from dask import delayed

        n_p, n_q = grid.shape
        blocks = [[da.from_delayed(delayed(_scaled_block, pure=True)(state.mu[p][q], fit.a[grid.rows(p)],
                                                                     fit.b[grid.cols(q)]),
                                   shape=(int(grid.rb[p + 1] - grid.rb[p]), int(grid.cb[q + 1] - grid.cb[q])),
                                   dtype=np.float64) for q in range(n_q)] for p in range(n_p)]
        mu = grid.compute([da.block(blocks)])[0]
        fit = dataclasses.replace(fit, mu=np.ascontiguousarray(mu))
    return fit


__all__ = ["DaskCalibration", "calibrate_dask", "newton_ppml_dask"]
