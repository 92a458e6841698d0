"""Profile Newton (IRLS) solver of Poisson PPML with origin/destination effects concentrated out.

Model: ``log mu_ij = alpha_i + gamma_j + x_ij' beta [+ o_ij]`` over the fitted pairs, with an
optional offset ``o_ij`` (a log exposure, coefficient fixed at 1). For a given
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
from migravity.engine._kernels_ppml import (
    joint_pass,
    sandwich_parts,
    score_and_loglik,
    weighted_margins,
    xlogx_sum,
)
from migravity.engine.options import Margins
from migravity.engine.projection import SERIAL_BLAS_MAX_N, FESolver, fe_projection, use_iterative

#: Balancing tolerance while beta is still far from converged, and its floor.
_BAL_TOL_LOOSE = 1e-6
_BAL_TOL_TIGHT = 1e-13
_BAL_MAX_ITER = 10_000
_MAX_HALVINGS = 40


def _balancing_stopped(status: tuple[int, bool, float]) -> str:
    """The message of a balancing that ran out of sweeps."""
    return f"balancing stopped after {status[0]} sweeps with margin error {status[2]:.3g}"


def _not_converged(iterations: int, max_iter: int, last_step: float, last_rel_dev: float) -> str:
    """The message of a fit that ran out of Newton iterations."""
    return (f"PPML did not converge in {iterations} Newton iterations (max_iter={max_iter}); "
            f"last step {last_step:.3g}, relative deviance change {last_rel_dev:.3g}")


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
    margins: Margins,
    a: np.ndarray,
    b: np.ndarray,
    tol: float,
    max_iter: int,
    out: np.ndarray | None = None,
    offset: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[int, bool, float]]:
    """``a_i b_j exp(x_ij' beta + o_ij)`` balanced to the target ``margins``.

    ``a`` and ``b`` are used as the starting point and updated in place; ``offset`` (the
    ``o_ij``, finite, (n_o, n_d)) is optional. Returns the flows (zero outside ``mask``) and the
    balancing status ``(iterations, converged, max_rel_error)``.
    """
    n_o, n_d = mask.shape
    if out is None:
        out = np.empty((n_o, n_d))
    linear_predictor(x, beta, mask, True, out)
    if offset is not None:
        out += offset  # -inf outside the mask stays -inf
    np.exp(out, out=out)
    status = balance(out, row_target, col_target, a, b, int(margins), tol, max_iter, n_threads())
    scale_inplace(out, a, b)
    return out, (int(status[0]), bool(status[1]), float(status[2]))


def newton_ppml(
    y: np.ndarray,
    x: np.ndarray,
    mask: np.ndarray,
    margins: Margins,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    dest_components: list[np.ndarray] | None = None,
    offset: np.ndarray | None = None,
    iterative: bool | None = None,
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
    margins : Margins
        The fixed effects: ``NONE`` the intercept (a global factor), ``ORIGIN`` origin effects
        (row factors), ``DESTINATION`` destination effects (column factors), ``BOTH`` both
        (solved jointly by :func:`_newton_doubly`).
    tol, max_iter : float, int
        Convergence tolerance on the step and iteration limit.
    dest_components : list of ndarray, optional
        Destination indices of each connected component (two-way case).
    offset : ndarray, shape (n_o, n_d), optional
        Log exposure entering the linear predictor with coefficient 1 (finite on ``mask``).
    iterative : bool, optional
        Two-way case: solve the fixed-effect systems by preconditioned CG (True) or by the
        Schur factorisation (False); default by size
        (:func:`~migravity.engine.projection.use_iterative`).

    Returns
    -------
    NewtonFit
    """
    if margins == Margins.BOTH:
        return _newton_doubly(y, x, mask, tol, max_iter, dest_components, offset, iterative)
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

    def evaluate(beta_try: np.ndarray) -> tuple[np.ndarray, float, float, tuple[int, bool, float]]:
        _, status = expected_flows(
            x, beta_try, mask, row_t, col_t, margins, a, b, bal_tol, _BAL_MAX_ITER, out=mu, offset=offset
        )
        grad, ll, dev = score_and_loglik(x, y, mu, mask, nt)
        if not (np.isfinite(ll) and status[1]):
            # a warm start gone astray (or an overflow): balance again from scratch
            a[:] = 1.0
            b[:] = 1.0
            _, status = expected_flows(
                x, beta_try, mask, row_t, col_t, margins, a, b, bal_tol, _BAL_MAX_ITER, out=mu, offset=offset
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
        a_fe, c_fe = fe_projection(mu, rs, cs, margins, dest_components)
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
            converged = True  # one-way effects are balanced exactly, whatever the tolerance
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
            messages.append(_balancing_stopped(status))
        last_rel_dev = abs(dev - dev_new) / max(abs(dev_new), 0.1)
        last_step = t * size
        beta, grad, ll, dev = new_beta, g_new, ll_new, dev_new
    if not converged:
        messages.append(_not_converged(iterations, max_iter, last_step, last_rel_dev))
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


#: Relative margin error the joint Newton iterate must reach before it may stop.
_JOINT_MARGIN_TOL = 1e-8
#: Final Furness polish of the two-way margins.
_POLISH_TOL = 1e-12
_POLISH_MAX_ITER = 1_000
#: CG tolerance of the fixed-effect solves while the beta steps are still large.
_CG_RTOL_LOOSE = 1e-6
#: Iterative path: the fixed-effect score is solved to this times the last beta step (relative).
_CG_STEP_FACTOR = 1e-2
#: Drift up to which the stale Schur factor serves the tight solves on small grids.
_TIGHT_DRIFT_SMALL = 0.2


def _newton_doubly(
    y: np.ndarray,
    x: np.ndarray,
    mask: np.ndarray,
    tol: float,
    max_iter: int,
    dest_components: list[np.ndarray] | None,
    offset: np.ndarray | None = None,
    iterative: bool | None = None,
) -> NewtonFit:
    """Joint Newton on ``(alpha, gamma, beta)`` of the doubly-constrained model.

    ``log mu_ij = alpha_i + gamma_j + x_ij' beta [+ o_ij]``. Each iteration makes one pass over the pairs
    (:func:`~migravity.engine._kernels_ppml.joint_pass`: ``mu``, its margins, ``sum mu x x'``,
    the score and the log-likelihood), then solves the Newton system by eliminating the fixed
    effects: one Schur factorisation (:func:`~migravity.engine.projection.fe_solve`) serves the
    ``k`` projection right-hand sides and the fixed-effect score, the ``k x k`` reduced system
    gives the ``beta`` step and back-substitution the fixed-effect steps. Step-halving keeps the
    log-likelihood from falling. Stops on ``max |beta step| <= tol`` (or a relative deviance
    change below ``tol`` with a step below ``sqrt(tol)``) once the margins are within
    ``_JOINT_MARGIN_TOL``; a few Furness sweeps then put the margins at ``_POLISH_TOL``.
    ``iterative`` forces the fixed-effect solves to be iterative (True) or direct (False);
    default: by size (:func:`~migravity.engine.projection.use_iterative`).
    """
    k, n_o, n_d = x.shape
    nt = n_threads()
    row_t = y.sum(axis=1)
    col_t = y.sum(axis=0)
    tot = row_t.sum()
    with np.errstate(divide="ignore"):
        alpha = np.log(row_t / np.sqrt(tot))
        gamma = np.log(col_t / np.sqrt(tot))
    alpha[~np.isfinite(alpha)] = -700.0
    gamma[~np.isfinite(gamma)] = -700.0
    beta = np.zeros(k)
    mu = np.empty((n_o, n_d))
    messages: list[str] = []
    collinear: list[int] = []
    dev_const = 2.0 * (xlogx_sum(y) - tot)
    # on small grids a Schur factorisation costs about ten CG iterations: let CG with the
    # stale factor serve the tight solves for longer
    small = n_d < SERIAL_BLAS_MAX_N
    solver = FESolver(dest_components, nt, tight_drift=_TIGHT_DRIFT_SMALL if small else 1e-2,
                      iterative=use_iterative(n_d) if iterative is None else iterative)
    start = _irls_start(x, y, mask, mu, solver, tot, nt, offset)
    # the start's fixed effects balanced to the margins (its mu by one predictor pass and exp)
    balanced = None
    if np.all(np.isfinite(start[2])):
        _start_mu(x, mask, *start, mu, offset)
        balanced = _balanced_start(mu, row_t, col_t, start[0], start[1], nt)
    new = None
    if balanced is not None:
        new = joint_pass(x, y, mask, *balanced, start[2], mu, nt, offset=offset)
    if balanced is not None and new is not None and np.isfinite(new[4]):
        alpha, gamma = balanced
        beta = start[2]
        rs, cs, hxx, grad, ll = new[:5]
    else:  # not balanced (an overflow): the IRLS start itself, else the independence model
        rs, cs, hxx, grad, ll, _, _ = joint_pass(x, y, mask, *start, mu, nt, offset=offset)
        if np.isfinite(ll):
            alpha, gamma, beta = start
        else:
            rs, cs, hxx, grad, ll, _, _ = joint_pass(x, y, mask, alpha, gamma, beta, mu, nt, offset=offset)
    dev = dev_const - 2.0 * ll
    converged = False
    iterations = 0
    last_rel_dev = np.inf
    last_step = np.inf
    safe_r = np.where(row_t > 0, row_t, 1.0)
    safe_c = np.where(col_t > 0, col_t, 1.0)
    x_hi = np.array([float(x[q].max()) for q in range(k)])
    x_lo = np.array([float(x[q].min()) for q in range(k)])
    drift = np.inf
    # the collinearity screen of the first iteration wants an exact bread: solve it tightly
    first = True
    while True:
        g_a = row_t - rs[0]
        g_g = col_t - cs[0]
        margin_err = max(float(np.max(np.abs(g_a) / safe_r)), float(np.max(np.abs(g_g) / safe_c)))
        sol_o, sol_d = solver.solve(mu, rs[0], cs[0], np.vstack([rs[1:], g_a]),
                                    np.vstack([cs[1:], g_g]), drift, _cg_rtol(solver, k, last_step, first))
        first = False
        a_fe, c_fe = sol_o[:k], sol_d[:k]
        p_o, p_d = sol_o[k], sol_d[k]
        bread = hxx - _mm(rs[1:], a_fe) - _mm(cs[1:], c_fe)
        bread = 0.5 * (bread + bread.T)
        if iterations == 0 and k > 0:
            # the first solve is direct (exact), so this bread is the sandwich one up to rounding;
            # screen with margins 1000 times the thresholds, and decide on the exact bread (one
            # more pass) only when the screen is not clear
            sq = np.diag(hxx).copy()
            if _collinear_terms(bread, rs, cs, x, mu, nt, 1e-6, 1e-7, sq):
                gid = np.zeros((n_o, 1), dtype=np.int64)
                exact, _, _ = sandwich_parts(x, y, mu, mask, a_fe, c_fe, False, gid, 1, nt)
                collinear = _collinear_terms(exact, rs, cs, x, mu, nt)
                if collinear:
                    break
        step = np.linalg.solve(bread, grad - _mv(rs[1:], p_o) - _mv(cs[1:], p_d)) if k else np.zeros(0)
        d_a = p_o - _mv(a_fe.T, step)
        d_g = p_d - _mv(c_fe.T, step)
        size = float(np.max(np.abs(step))) if k else 0.0
        if not np.isfinite(size):
            messages.append("the Newton step is not finite (collinear terms or overflow)")
            break
        if margin_err <= _JOINT_MARGIN_TOL and (
            size <= tol or (last_rel_dev <= tol and last_step <= np.sqrt(tol))
        ):
            converged = True
            break
        if iterations >= max_iter:
            break
        iterations += 1
        t = 1.0
        for _ in range(_MAX_HALVINGS):
            new = joint_pass(x, y, mask, alpha + t * d_a, gamma + t * d_g, beta + t * step, mu, nt,
                             offset=offset)
            if np.isfinite(new[4]) and new[4] >= ll - 1e-12 * (abs(ll) + 1.0):
                break
            t *= 0.5
        else:
            messages.append("step-halving failed to increase the log-likelihood")
            joint_pass(x, y, mask, alpha, gamma, beta, mu, nt, offset=offset)  # back to the last accepted point
            break
        alpha += t * d_a
        gamma += t * d_g
        beta = beta + t * step
        if small:  # signed bound (tighter: fewer refactorisations)
            drift = t * _eta_change(d_a, d_g, step, x_hi, x_lo)
        else:
            drift = t * (float(np.max(np.abs(d_a))) + float(np.max(np.abs(d_g)))
                         + float(np.abs(step).dot(np.maximum(x_hi, -x_lo))))
        rs, cs, hxx, grad, ll_new = new[:5]
        dev_new = dev_const - 2.0 * ll_new
        last_rel_dev = abs(dev - dev_new) / max(abs(dev_new), 0.1)
        last_step = t * size
        ll, dev = ll_new, dev_new
    # polish the margins (beta fixed); the projection of the last iterate serves the sandwich
    # (the polish moves mu by about the margin error, far below what the SEs resolve)
    a = np.ones(n_o)
    b = np.ones(n_d)
    status = balance(mu, row_t, col_t, a, b, int(Margins.BOTH), _POLISH_TOL, _POLISH_MAX_ITER, nt)
    scale_inplace(mu, a, b)
    if not status[1] and converged:
        messages.append(_balancing_stopped(status))
    if not converged:
        messages.append(_not_converged(iterations, max_iter, last_step, last_rel_dev))
    return NewtonFit(
        beta=beta,
        mu=mu,
        a=a,
        b=b,
        bread=np.zeros((k, k)),
        a_fe=a_fe,
        c_fe=c_fe,
        loglik_kernel=ll,
        deviance=dev,
        iterations=iterations,
        converged=converged,
        balance_iterations=int(status[0]),
        balance_error=float(status[2]),
        messages=messages,
        collinear=collinear,
    )


#: Furness sweeps of the start's fixed effects (beta fixed) and the margin error they stop at.
_START_BAL_MAX_ITER = 50
_START_BAL_TOL = 1e-4


def _start_mu(
    x: np.ndarray, mask: np.ndarray, alpha: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mu: np.ndarray,
    offset: np.ndarray | None,
) -> None:
    """``mu = exp(alpha_i + gamma_j + x_ij' beta [+ o_ij])`` on ``mask``, 0 elsewhere, in place."""
    linear_predictor(x, beta, mask, True, mu)  # -inf outside the mask
    mu += alpha[:, None]
    mu += gamma[None, :]
    if offset is not None:
        mu += offset
    with np.errstate(over="ignore", invalid="ignore"):
        np.exp(mu, out=mu)
    if offset is not None:  # whatever the offset holds outside the mask
        np.copyto(mu, 0.0, where=~mask)


def _balanced_start(
    mu: np.ndarray, row_t: np.ndarray, col_t: np.ndarray, alpha: np.ndarray, gamma: np.ndarray, nt: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The start's fixed effects moved to the margins by a few Furness sweeps (``beta`` fixed).

    The joint Newton step of a fixed effect far from its margin, ``(y - mu) / mu`` in the log,
    is at least -1: from ``mu`` many times the margin it closes the gap by a factor ``e`` per
    iteration. Balancing (the exact maximum of the log-likelihood over the fixed effects at the
    start's ``beta``) removes that gap first, and Newton converges quadratically from there.
    ``mu`` is left as it was (scaled by the factors); returns ``None`` when a factor is not usable.
    """
    a = np.ones(mu.shape[0])
    b = np.ones(mu.shape[1])
    balance(mu, row_t, col_t, a, b, int(Margins.BOTH), _START_BAL_TOL, _START_BAL_MAX_ITER, nt)
    fitted_r = row_t > 0
    fitted_c = col_t > 0
    if not (np.all(a[fitted_r] > 0) and np.all(b[fitted_c] > 0)
            and np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None
    new_a = alpha.copy()
    new_g = gamma.copy()
    new_a[fitted_r] += np.log(a[fitted_r])
    new_g[fitted_c] += np.log(b[fitted_c])
    return new_a, new_g


def _cg_rtol(solver: FESolver, k: int, last_step: float, first: bool) -> float | np.ndarray | None:
    """CG tolerances of a Newton iteration's fixed-effect solve (``None``: the solver's tight one).

    Direct path: loose while the steps are large. Iterative path: the ``k`` projections tight from
    the first iteration on (its bread screens for collinear terms, the last one's gives the SEs;
    warm-started, they cost few iterations), loose only while the steps are large; the
    fixed-effect score's solve (the Newton step of the effects) to a relative accuracy tied to the
    last step (an inexact Newton step, between ``_CG_RTOL_TIGHT`` and ``_CG_RTOL_LOOSE``).
    """
    if not solver.iterative:
        return _CG_RTOL_LOOSE if last_step > 1e-3 else None
    reg = _CG_RTOL_LOOSE if last_step > 1e-3 and not first else solver.rtol
    score = min(_CG_RTOL_LOOSE, max(solver.rtol, _CG_STEP_FACTOR * last_step))
    return np.array([reg] * k + [score])


def _eta_change(
    d_a: np.ndarray, d_g: np.ndarray, step: np.ndarray, x_hi: np.ndarray, x_lo: np.ndarray
) -> float:
    """Bound on ``max |d_a_i + d_g_j + x_ij' step|`` (signed: the free constant shifted between
    ``d_a`` and ``d_g`` cancels); ``x_hi``, ``x_lo`` bound each regressor."""
    sx_hi = np.maximum(step * x_hi, step * x_lo)
    sx_lo = np.minimum(step * x_hi, step * x_lo)
    hi = float(d_a.max(initial=0.0)) + float(d_g.max(initial=0.0)) + float(sx_hi.sum())
    lo = float(d_a.min(initial=0.0)) + float(d_g.min(initial=0.0)) + float(sx_lo.sum())
    return max(hi, -lo)


# Small products without BLAS: a threaded BLAS call here would leave its pool spinning while
# the Schur factorisation (SciPy's own BLAS) or the Numba kernels run, which on a small
# machine slows them many times over.
def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` for thin (k, n) arrays."""
    return np.einsum("qi,si->qs", a, b)


def _mv(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``a @ v``."""
    return np.einsum("ij,j->i", a, v)


def _irls_start(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, mu: np.ndarray, solver: FESolver, tot: float,
    nt: int, offset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(alpha, gamma, beta)`` of the first IRLS step from ``mu = (y + mean y) / 2``.

    The weighted least-squares fit of the working response ``log mu - o + (y - mu) / mu`` with
    weights ``mu``, solved by the same fixed-effect elimination as the Newton steps (ppmlhdfe's
    start; far better than ``beta = 0``, from which the first Newton step overshoots).
    Returns zeros-like non-finite values when the system is singular (the caller falls back).
    """
    k, n_o, n_d = x.shape
    ybar = tot / max(int(np.count_nonzero(mask)), 1)
    zero = (np.zeros(n_o), np.zeros(n_d), np.zeros(k))
    rs, cs, hxx, bx, _, bo, bd = joint_pass(x, y, mask, *zero, mu, nt, True, ybar, offset=offset)
    # a loose solve at a mu no later solve is near: by Jacobi-preconditioned CG (no factorisation)
    sol_o, sol_d = solver.solve(mu, rs[0], cs[0], np.vstack([rs[1:], bo]), np.vstack([cs[1:], bd]),
                                np.inf, _CG_RTOL_LOOSE, jacobi=True)
    a_fe, c_fe = sol_o[:k], sol_d[:k]
    bread = hxx - _mm(rs[1:], a_fe) - _mm(cs[1:], c_fe)
    try:
        beta = np.linalg.solve(0.5 * (bread + bread.T), bx - _mv(rs[1:], sol_o[k]) - _mv(cs[1:], sol_d[k]))
    except np.linalg.LinAlgError:
        return np.full(n_o, np.nan), np.full(n_d, np.nan), np.full(k, np.nan)
    return sol_o[k] - _mv(a_fe.T, beta), sol_d[k] - _mv(c_fe.T, beta), beta


def _collinear_terms(
    bread: np.ndarray, rs: np.ndarray, cs: np.ndarray, x: np.ndarray, mu: np.ndarray, nt: int,
    var_tol: float = 1e-9, eig_tol: float = 1e-10, sq: np.ndarray | None = None,
) -> list[int]:
    """Terms (indices) with (almost) no variation left after partialling out the fixed effects.

    A term is flagged when its weighted residual variance is below ``var_tol`` (1e-9) of its
    weighted variance about the mean, or when it is a linear combination of the other terms
    (smallest eigenvalue of the correlation form of ``bread`` below ``eig_tol``). ``sq``, the
    sums ``sum mu x_q**2``, is computed (one pass) when not given.
    """
    if sq is None:
        _, _, sq = weighted_margins(x, mu, nt)
    tot = rs[0].sum()
    total_var = sq - rs[1:].sum(axis=1) ** 2 / tot
    diag = np.diag(bread)
    out = [q for q in range(len(diag)) if not diag[q] > var_tol * max(total_var[q], 1e-300)]
    if out or len(diag) < 2:
        return out
    scale = 1.0 / np.sqrt(diag)
    corr = bread * scale[:, None] * scale[None, :]
    w, v = np.linalg.eigh(corr)
    if w[0] < eig_tol:
        return [int(q) for q in np.flatnonzero(np.abs(v[:, 0]) > 1e-3)]
    return []


__all__ = ["NewtonFit", "expected_flows", "n_threads", "newton_ppml"]
