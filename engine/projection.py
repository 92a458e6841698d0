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

Above ``ITERATIVE_MIN_N`` destinations :class:`FESolver` solves the same pinned Schur system by
conjugate gradients with the operator applied matrix-free (one pass over ``mu`` per iteration)
and a Jacobi (diagonal) preconditioner, warm-started from the previous solution: O(n^2) per
iteration instead of O(n^3) per factorisation and no ``n x n`` matrix in memory. On gravity
grids the weights couple every pair of zones and the preconditioned system is well conditioned
(26 iterations to a relative residual of 1e-10 on the 7,264-zone MSOA grid); a system that does
not converge in ``ITERATIVE_MAX_CG`` iterations falls back to the factorisation.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import scipy.linalg
from scipy.linalg.blas import dsyrk

from migravity.engine._kernels_ppml import cho_solve_upper, fe_pass, schur_diag
from migravity.engine.options import Margins

#: Schur systems smaller than this are also formed (dsyrk) on one BLAS thread.
SERIAL_BLAS_MAX_N = 1000
#: From this many destinations on, :class:`FESolver` solves by Jacobi-preconditioned CG.
ITERATIVE_MIN_N = 1000
#: Iteration limit of that CG (past it, the Schur factorisation takes over).
ITERATIVE_MAX_CG = 300


@functools.cache
def _openblas_set_threads_local() -> Callable[[int], int] | None:
    """SciPy's bundled OpenBLAS ``openblas_set_num_threads_local`` (thread-local, returns the old
    value), or ``None`` where SciPy links another BLAS."""
    try:
        pattern = os.path.join(os.path.dirname(scipy.__file__), os.pardir, "scipy.libs", "libscipy_openblas*.so*")
        paths = glob.glob(pattern)
        if not paths:
            return None
        fn = ctypes.CDLL(paths[0]).openblas_set_num_threads_local
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


@contextmanager
def _blas_threads(n: int, active: bool) -> Iterator[None]:
    """Run SciPy's BLAS on ``n`` threads in this block (this thread only; restored after).

    Small factorisations gain nothing from threads, and OpenBLAS's spinning threads make them
    many times slower when the cores are busy (other processes, or Numba's workers).
    """
    fn = _openblas_set_threads_local() if active else None
    if fn is None:
        yield
        return
    old = fn(n)
    try:
        yield
    finally:
        fn(old)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den > 0)
    return out


def fe_projection(
    mu: np.ndarray,
    rs: np.ndarray,
    cs: np.ndarray,
    margins: Margins,
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
    margins : Margins
        The margins of the model, whose fixed effects span the space: ``NONE`` its intercept
        (a single constant), ``ORIGIN`` origin effects, ``DESTINATION`` destination effects,
        ``BOTH`` both.
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
    if k == 0:
        return a_fe, c_fe
    if margins == Margins.NONE:
        tot = rs[0].sum()
        a_fe[:] = (rs[1:].sum(axis=1) / tot)[:, None]
        return a_fe, c_fe
    if margins == Margins.ORIGIN:
        return _safe_div(rs[1:], rs[0][None, :]), c_fe
    if margins == Margins.DESTINATION:
        return a_fe, _safe_div(cs[1:], cs[0][None, :])
    return fe_solve(mu, rs[0], cs[0], rs[1:], cs[1:], dest_components)


def schur_factor(
    mu: np.ndarray, r: np.ndarray, c: np.ndarray, dest_components: list[np.ndarray] | None = None
) -> tuple[tuple[np.ndarray, bool], np.ndarray]:
    """Cholesky factor of the pinned Schur system ``diag(C) - M' diag(1/R) M + sum e e'``.

    Returns ``(factor, empty)``: the ``scipy.linalg.cho_factor`` result and the mask of
    destinations without weight (they get a unit diagonal and a zero solution).
    """
    n_o, n_d = mu.shape
    inv_sqrt_r = _safe_div(np.ones(n_o), np.sqrt(r))
    scaled = mu * inv_sqrt_r[:, None]  # M diag-scaled by 1/sqrt(R): (n_o, n_d), C order
    serial = n_d < SERIAL_BLAS_MAX_N
    # dsyrk on the Fortran view scaled.T (n_d, n_o) gives -(M' diag(1/R) M), upper triangle.
    with _blas_threads(1, serial):
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
    # the factorisation synchronises its threads often: always on one thread (dsyrk above is a
    # single large product and keeps its threads on big systems)
    with _blas_threads(1, True):
        factor = scipy.linalg.cho_factor(schur, lower=False, overwrite_a=True, check_finite=False)
    return factor, empty


def fe_solve(
    mu: np.ndarray,
    r: np.ndarray,
    c: np.ndarray,
    rhs_o: np.ndarray,
    rhs_d: np.ndarray,
    dest_components: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve the two-way fixed-effect normal equations for several right-hand sides.

    ``diag(R) a + M c = rhs_o`` and ``M' a + diag(C) c = rhs_d`` (one row of ``rhs_o`` (m, n_o)
    and ``rhs_d`` (m, n_d) per system), with ``M = mu``, ``R``, ``C`` its margins; each
    component's free constant is pinned as described in the module docstring (the right-hand
    sides must sum to the same total over origins and over destinations within a component).

    Returns
    -------
    a, c : ndarray, shapes (m, n_o) and (m, n_d)
    """
    factor, empty = schur_factor(mu, r, c, dest_components)
    rhs = rhs_d.T - mu.T @ _safe_div(rhs_o, r[None, :]).T  # (n_d, m)
    rhs[empty] = 0.0
    c_sol = scipy.linalg.cho_solve(factor, rhs, check_finite=False).T.copy()
    a_sol = _safe_div(rhs_o - (mu @ c_sol.T).T, r[None, :])
    return a_sol, c_sol


def use_iterative(n_d: int) -> bool:
    """Whether :class:`FESolver` should solve by Jacobi-preconditioned CG at ``n_d`` destinations."""
    return n_d >= ITERATIVE_MIN_N


class FESolver:
    """Repeated two-way fixed-effect solves for a slowly changing ``mu`` (Newton iterations).

    The Schur factor of :func:`schur_factor` is kept between calls and, once ``mu`` has moved,
    serves as the preconditioner of conjugate gradients on the exact Schur system at the new
    ``mu`` (one pass over ``mu`` per iteration, :func:`~migravity.engine._kernels_ppml.fe_pass`).
    If ``mu`` changes by at most a factor ``e^d`` pair by pair, the preconditioned operator has
    its spectrum in ``[e^-d, e^d]``; the factor is rebuilt when the accumulated ``d`` exceeds
    ``max_drift``, when CG needed many iterations last time, or when CG does not converge.

    Parameters
    ----------
    dest_components : list of ndarray, optional
        As for :func:`fe_projection`.
    n_threads : int
        Threads of the kernels.
    rtol : float
        CG stops when every column's residual norm is below ``rtol`` times its right-hand side's.
    max_drift, tight_drift : float
        Largest accumulated drift at which the factor is still used for loose (``rtol`` given
        per call) and for tight (default ``rtol``) solves.
    max_cg : int
        CG iteration limit (past it, the factor is rebuilt and the system solved directly).
    iterative : bool
        Solve by Jacobi-preconditioned CG (no factorisation; see the module docstring), falling
        back to the factor-preconditioned path when it does not converge. The default, chosen by
        :func:`use_iterative`, is for the caller to pass.
    """

    def __init__(self, dest_components: list[np.ndarray] | None, n_threads: int, rtol: float = 1e-11,
                 max_drift: float = 3.0, max_cg: int = 30, tight_drift: float = 1e-2,
                 iterative: bool = False) -> None:
        self.iterative = iterative
        self.prev: np.ndarray | None = None
        self.n_jacobi_cg = 0
        self.comps = dest_components
        self.nt = n_threads
        self.rtol = rtol
        self.max_drift = max_drift
        self.max_cg = max_cg
        self.tight_drift = tight_drift
        self.factor: tuple[np.ndarray, bool] | None = None
        self.empty = np.zeros(0, dtype=bool)
        self.drift = np.inf
        self.last_cg = 0
        self.n_factor = 0
        self.n_cg = 0

    def _operator(self, mu: np.ndarray, r_inv: np.ndarray, c: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The pinned Schur operator on ``p`` (m, n_d)."""
        m = p.shape[0]
        t = np.empty((m, mu.shape[0]))
        d = np.empty_like(p)
        fe_pass(mu, r_inv, p, np.zeros((m, mu.shape[0])), t, d, self.nt)
        d += c[None, :] * p
        if self.comps is None or len(self.comps) <= 1:
            d += p.sum(axis=1)[:, None]
        else:
            for comp in self.comps:
                d[:, comp] += p[:, comp].sum(axis=1)[:, None]
        d[:, self.empty] = p[:, self.empty]
        return d

    def _precond(self, v: np.ndarray) -> np.ndarray:
        assert self.factor is not None
        return cho_solve_upper(self.factor[0], np.ascontiguousarray(v))

    def solve(
        self,
        mu: np.ndarray,
        r: np.ndarray,
        c: np.ndarray,
        rhs_o: np.ndarray,
        rhs_d: np.ndarray,
        drift: float = 0.0,
        rtol: float | np.ndarray | None = None,
        jacobi: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Same as :func:`fe_solve`; ``drift`` bounds ``max |log mu - log mu_previous|``.

        ``rtol`` overrides the CG tolerance for this call (a loose one serves inexact Newton
        steps far from the solution); on the iterative path it may be an array, one tolerance
        per right-hand side. ``jacobi`` solves this call by Jacobi-preconditioned CG even on the
        direct path (a loose one-off solve at a ``mu`` that later calls do not reuse: cheaper
        than a factorisation), falling back to the factorisation if it does not converge.
        """
        n_o, n_d = mu.shape
        m = rhs_o.shape[0]
        self.drift += drift
        r_inv = _safe_div(np.ones(n_o), r)
        w = np.ascontiguousarray(rhs_o * r_inv[None, :])  # (m, n_o)
        t = np.empty((m, n_o))
        d = np.empty((m, n_d))
        fe_pass(mu, r_inv, np.zeros((m, n_d)), w, t, d, self.nt)
        b = rhs_d - d
        sol = None
        if self.iterative or jacobi:
            sol = self._jacobi_cg(mu, r_inv, c, b, self.rtol if rtol is None else rtol)
            if sol is not None:
                if self.iterative:
                    self.prev = sol
                fe_pass(mu, r_inv, np.ascontiguousarray(sol), np.zeros((m, n_o)), t, d, self.nt)
                return w - t, sol
            self.iterative = False  # not converging: factorise from here on
        # a tight solve from a stale factor takes many CG iterations: rebuild it then
        max_drift = self.max_drift if rtol is not None else self.tight_drift
        if self.factor is not None and self.drift <= max_drift and self.last_cg <= self.max_cg // 2:
            b[:, self.empty] = 0.0
            sol = self._cg(mu, r_inv, c, b, self.rtol if rtol is None else float(np.min(rtol)))
        if sol is None:
            self.factor, self.empty = schur_factor(mu, r, c, self.comps)
            self.n_factor += 1
            self.drift = 0.0
            self.last_cg = 0
            b[:, self.empty] = 0.0
            sol = self._precond(b)
        fe_pass(mu, r_inv, np.ascontiguousarray(sol), np.zeros((m, n_o)), t, d, self.nt)
        return w - t, sol

    def _jacobi_cg(
        self, mu: np.ndarray, r_inv: np.ndarray, c: np.ndarray, b: np.ndarray, rtol: float | np.ndarray
    ) -> np.ndarray | None:
        """Jacobi-preconditioned CG on the pinned Schur system, each column warm-started from the
        previous solution where that has the smaller residual; ``None`` if not converged."""
        m, n_d = b.shape
        self.empty = c <= 0
        b = b.copy()
        b[:, self.empty] = 0.0
        diag = c - schur_diag(mu, r_inv, self.nt) + 1.0
        diag[self.empty] = 1.0
        inv_diag = 1.0 / np.maximum(diag, 1e-300)
        bnorm = np.sqrt((b * b).sum(axis=1))
        target = np.broadcast_to(np.asarray(rtol, dtype=np.float64), (m,)) * bnorm
        x = np.zeros((m, n_d))
        res = b.copy()
        if self.prev is not None and self.prev.shape == b.shape:
            x0 = self.prev.copy()
            x0[:, self.empty] = 0.0
            res0 = b - self._operator(mu, r_inv, c, x0)
            better = (res0 * res0).sum(axis=1) < bnorm * bnorm
            x[better] = x0[better]
            res[better] = res0[better]
        it = self._pcg(mu, r_inv, c, x, res, lambda v: v * inv_diag[None, :], target, ITERATIVE_MAX_CG)
        self.n_jacobi_cg += ITERATIVE_MAX_CG if it is None else it
        return None if it is None else x

    def _cg(
        self, mu: np.ndarray, r_inv: np.ndarray, c: np.ndarray, b: np.ndarray, rtol: float
    ) -> np.ndarray | None:
        bnorm = np.sqrt((b * b).sum(axis=1))
        x = self._precond(b)
        res = b - self._operator(mu, r_inv, c, x)
        it = self._pcg(mu, r_inv, c, x, res, self._precond, rtol * bnorm, self.max_cg)
        if it is None:
            self.n_cg += self.max_cg
            return None
        self.last_cg = it
        self.n_cg += it
        return x

    def _pcg(
        self, mu: np.ndarray, r_inv: np.ndarray, c: np.ndarray, x: np.ndarray, res: np.ndarray,
        precond: Callable[[np.ndarray], np.ndarray], target: np.ndarray, max_it: int,
    ) -> int | None:
        """Preconditioned CG on the pinned Schur system, one system per row, from ``x`` with residual
        ``res`` (both updated in place) until every row's residual norm is within ``target``: the
        iterations taken, or ``None`` when ``max_it`` are not enough."""
        z = precond(res)
        p = z.copy()
        rz = (res * z).sum(axis=1)
        for it in range(max_it + 1):
            rn = np.sqrt((res * res).sum(axis=1))
            if np.all(rn <= target):
                return it
            if it == max_it:
                break
            ap = self._operator(mu, r_inv, c, p)
            pap = (p * ap).sum(axis=1)
            alpha = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
            x += alpha[:, None] * p
            res -= alpha[:, None] * ap
            z = precond(res)
            rz_new = (res * z).sum(axis=1)
            beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
            p = z + beta[:, None] * p
            rz = rz_new
        return None
