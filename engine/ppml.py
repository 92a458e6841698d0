"""Profile Newton (IRLS) solver of Poisson PPML with origin/destination effects concentrated out.

Model: ``log mu_ij = alpha_i + gamma_j + x_ij' beta`` over the fitted pairs. For a given
``beta`` the maximum-likelihood fixed effects make the fitted margins equal the observed ones,
which is Furness balancing of ``K_ij = exp(x_ij' beta)`` (closed form for one-way effects, a
global factor for the intercept of the unconstrained model). The profile log-likelihood then
has gradient ``X'(y - mu)`` and Hessian ``-Xt' diag(mu) Xt`` with ``Xt`` the ``mu``-weighted
residual of ``X`` on the fixed effects (:mod:`migravity.engine.projection`). Each iteration
takes the Newton step with step-halving whenever the log-likelihood falls; balancing factors
are warm-started between iterations and balanced to a tolerance that tightens as ``beta``
converges. Convergence: ``max |step| <= tol``, or a relative deviance change below ``tol``
together with ``max |step| <= sqrt(tol)``. No dummy columns and no (pairs x k) design matrix
are formed; the regressors are a (k, n_o, n_d) stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from migravity.engine._kernels_flow import balance, linear_predictor, scale_inplace
from migravity.engine._kernels_ppml import sandwich_parts, score_and_loglik, weighted_margins
from migravity.engine.projection import FE_CONST, fe_projection

#: Balancing tolerance while beta is still far from converged, and its floor.
_BAL_TOL_LOOSE = 1e-6
_BAL_TOL_TIGHT = 1e-13
_BAL_MAX_ITER = 10_000
_MAX_HALVINGS = 40


@dataclass
class NewtonFit:
    """State of a finished PPML fit on dense arrays (internal)."""

    beta: np.ndarray
    mu: np.ndarray
    a: np.ndarray
    b: np.ndarray
    bread: np.ndarray
    a_fe: np.ndarray
    c_fe: np.ndarray
    loglik_kernel: float
    deviance: float
    iterations: int
    converged: bool
    balance_iterations: int
    balance_error: float
    messages: list[str] = field(default_factory=list)
    collinear: list[int] = field(default_factory=list)


def n_threads() -> int:
    """Threads the kernels split their work over (Numba's current setting)."""
    return int(numba.get_num_threads())


def expected_flows(
    x: np.ndarray,
    beta: np.ndarray,
    mask: np.ndarray,
    row_target: np.ndarray,
    col_target: np.ndarray,
    mode: int,
    a: np.ndarray,
    b: np.ndarray,
    tol: float,
    max_iter: int,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[int, bool, float]]:
    """``a_i b_j exp(x_ij' beta)`` balanced to the targets (``mode`` is the constraint code).

    ``a`` and ``b`` are used as the starting point and updated in place. Returns the flows
    (zero outside ``mask``) and the balancing status ``(iterations, converged, max_rel_error)``.
    """
    n_o, n_d = mask.shape
    if out is None:
        out = np.empty((n_o, n_d))
    linear_predictor(x, beta, mask, True, out)
    np.exp(out, out=out)
    status = balance(out, row_target, col_target, a, b, mode, tol, max_iter, n_threads())
    scale_inplace(out, a, b)
    return out, (int(status[0]), bool(status[1]), float(status[2]))


def newton_ppml(
    y: np.ndarray,
    x: np.ndarray,
    mask: np.ndarray,
    mode: int,
    fe: int,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    dest_components: list[np.ndarray] | None = None,
) -> NewtonFit:
    """Fit ``beta`` by profile Newton with the fixed effects concentrated out by balancing.

    Parameters
    ----------
    y : ndarray, shape (n_o, n_d)
        Flows, zero outside ``mask``.
    x : ndarray, shape (k, n_o, n_d)
        Regressors (values outside ``mask`` are ignored).
    mask : ndarray of bool, shape (n_o, n_d)
        Pairs in the fit.
    mode : int
        Balancing mode: 0 global factor (unconstrained intercept), 1 rows, 2 columns, 3 both.
    fe : int
        Fixed-effect space of the projection (:mod:`migravity.engine.projection`).
    tol, max_iter : float, int
        Convergence tolerance on the step and iteration limit.
    dest_components : list of ndarray, optional
        Destination indices of each connected component (two-way case).

    Returns
    -------
    NewtonFit
    """
    k, n_o, n_d = x.shape
    nt = n_threads()
    row_t = y.sum(axis=1)
    col_t = y.sum(axis=0)
    a = np.ones(n_o)
    b = np.ones(n_d)
    beta = np.zeros(k)
    mu = np.empty((n_o, n_d))
    messages: list[str] = []
    collinear: list[int] = []
    bal_tol = _BAL_TOL_LOOSE
    total_bal = 0
    bal_err = 0.0
    eval_tol = bal_tol

    def evaluate(beta_try: np.ndarray) -> tuple[np.ndarray, float, float, tuple[int, bool, float]]:
        nonlocal eval_tol
        eval_tol = bal_tol
        _, status = expected_flows(
            x, beta_try, mask, row_t, col_t, mode, a, b, bal_tol, _BAL_MAX_ITER, out=mu
        )
        grad, ll, dev = score_and_loglik(x, y, mu, mask, nt)
        if not (np.isfinite(ll) and status[1]):
            # a warm start gone astray (or an overflow): balance again from scratch
            a[:] = 1.0
            b[:] = 1.0
            _, status = expected_flows(
                x, beta_try, mask, row_t, col_t, mode, a, b, bal_tol, _BAL_MAX_ITER, out=mu
            )
            grad, ll, dev = score_and_loglik(x, y, mu, mask, nt)
        if not np.isfinite(ll):
            ll = -np.inf
        return grad, float(ll), float(dev), status

    grad, ll, dev, status = evaluate(beta)
    total_bal += status[0]
    bal_err = status[2]
    converged = False
    iterations = 0
    last_rel_dev = np.inf
    last_step = np.inf
    a_fe = np.zeros((k, n_o))
    c_fe = np.zeros((k, n_d))
    bread = np.zeros((k, k))
    gid = np.zeros((n_o, 1), dtype=np.int64)
    while True:
        rs, cs, _ = weighted_margins(x, mu, nt)
        a_fe, c_fe = fe_projection(mu, rs, cs, fe, dest_components)
        bread, _, _ = sandwich_parts(x, y, mu, mask, a_fe, c_fe, False, gid, 1, nt)
        if k == 0:
            converged = True
            break
        if iterations == 0:
            collinear = _collinear_terms(bread, rs, cs, x, mu, nt)
            if collinear:
                break
        step = np.linalg.solve(bread, grad)
        size = float(np.max(np.abs(step)))
        if not np.isfinite(size):
            messages.append("the Newton step is not finite (collinear terms or overflow)")
            break
        if size <= tol or (last_rel_dev <= tol and last_step <= np.sqrt(tol)):
            if eval_tol <= _BAL_TOL_TIGHT or mode in (0, 1, 2):
                converged = True
                break
        if iterations >= max_iter:
            break
        iterations += 1
        # balance only as tightly as the current step warrants; tight near convergence
        bal_tol = max(_BAL_TOL_TIGHT, min(_BAL_TOL_LOOSE, 1e-3 * size * size))
        if iterations > 8:
            bal_tol = _BAL_TOL_TIGHT
        t = 1.0
        for _ in range(_MAX_HALVINGS):
            new_beta = beta + t * step
            g_new, ll_new, dev_new, status = evaluate(new_beta)
            total_bal += status[0]
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * (abs(ll) + 1.0):
                break
            t *= 0.5
        else:
            messages.append("step-halving failed to increase the log-likelihood")
            beta = new_beta
            grad, ll, dev = g_new, ll_new, dev_new
            break
        bal_err = status[2]
        if not status[1]:
            messages.append(
                f"balancing stopped after {status[0]} sweeps with margin error {status[2]:.3g}"
            )
        last_rel_dev = abs(dev - dev_new) / max(abs(dev_new), 0.1)
        last_step = t * size
        beta, grad, ll, dev = new_beta, g_new, ll_new, dev_new
    if not converged:
        messages.append(
            f"PPML did not converge in {iterations} Newton iterations (max_iter={max_iter}); "
            f"last step {last_step:.3g}, relative deviance change {last_rel_dev:.3g}"
        )
    return NewtonFit(
        beta=beta,
        mu=mu,
        a=a,
        b=b,
        bread=bread,
        a_fe=a_fe,
        c_fe=c_fe,
        loglik_kernel=ll,
        deviance=dev,
        iterations=iterations,
        converged=converged,
        balance_iterations=total_bal,
        balance_error=bal_err,
        messages=messages,
        collinear=collinear,
    )


def _collinear_terms(
    bread: np.ndarray, rs: np.ndarray, cs: np.ndarray, x: np.ndarray, mu: np.ndarray, nt: int
) -> list[int]:
    """Terms (indices) with (almost) no variation left after partialling out the fixed effects.

    A term is flagged when its weighted residual variance is below 1e-9 of its weighted
    variance about the mean, or when it is a linear combination of the other terms.
    """
    _, _, sq = weighted_margins(x, mu, nt)
    tot = rs[0].sum()
    total_var = sq - rs[1:].sum(axis=1) ** 2 / tot
    diag = np.diag(bread)
    out = [q for q in range(len(diag)) if not diag[q] > 1e-9 * max(total_var[q], 1e-300)]
    if out or len(diag) < 2:
        return out
    scale = 1.0 / np.sqrt(diag)
    corr = bread * scale[:, None] * scale[None, :]
    w, v = np.linalg.eigh(corr)
    if w[0] < 1e-10:
        return [int(q) for q in np.flatnonzero(np.abs(v[:, 0]) > 1e-3)]
    return []


__all__ = ["FE_CONST", "NewtonFit", "expected_flows", "n_threads", "newton_ppml"]
