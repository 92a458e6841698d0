"""Balancing factors of a given kernel matrix, with the balancing status: the engine's Furness, by itself.

:func:`evaluate_flows` builds the kernel ``K = exp(linear predictor)`` from coefficients and
returns the balanced flows. Callers that already hold ``K`` and want the factors themselves
(``a_i``, ``b_j`` with ``a_i b_j K_ij`` on the target margins: the origin and destination fixed
effects of a constrained gravity model) call :func:`balance_factors`, which runs the same Numba
kernel (:func:`migravity.engine._kernels_flow.balance`: accelerated Furness for the doubly
constraint) and says whether it converged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from migravity.engine._kernels_flow import balance
from migravity.engine.options import Constraint, Margins, normalise_constraint
from migravity.engine.ppml import n_threads
from migravity.errors import ConfigError, ConvergenceError, InputError

__all__ = ["BalanceResult", "balance_factors"]


@dataclass(frozen=True, eq=False)
class BalanceResult:
    """Balancing factors and status (immutable).

    Attributes
    ----------
    row_factors : ndarray, shape (n_o,)
        ``a_i`` (0 for a row whose kernel is all zero).
    col_factors : ndarray, shape (n_d,)
        ``b_j`` (0 for a column whose kernel is all zero). With the doubly constraint the pair
        ``(a c, b / c)`` balances as well for any ``c > 0``: normalise as the application needs.
    constraint : str
        The constraint balanced to.
    iterations : int
        Balancing sweeps.
    converged : bool
        Whether the largest relative margin error is within ``tol``.
    max_error : float
        Largest ``|margin - target| / target`` over the balanced margins (absolute where the
        target is 0).
    """

    row_factors: np.ndarray
    col_factors: np.ndarray
    constraint: str
    iterations: int
    converged: bool
    max_error: float


def balance_factors(
    kernel: np.ndarray,
    row_totals: np.ndarray | None = None,
    col_totals: np.ndarray | None = None,
    *,
    constraint: Constraint = "doubly",
    tol: float = 1e-10,
    max_iter: int = 10_000,
    strict: bool = True,
) -> BalanceResult:
    """Factors ``a`` (rows) and ``b`` (columns) so that ``a_i b_j K_ij`` has the target margins.

    Parameters
    ----------
    kernel : array_like, shape (n_o, n_d)
        ``K``: finite and non-negative; 0 marks a pair that carries no flow (e.g. the diagonal).
    row_totals, col_totals : array_like, optional
        Target margins, shapes ``(n_o,)`` and ``(n_d,)``, finite and non-negative: the rows for
        the production and doubly constraints (also the total for ``"none"``), the columns for the
        attraction and doubly constraints. Doubly-constrained targets must have the same sum.
    constraint : {"doubly", "production", "attraction", "none"}
        The margins to match (``"none"``: one global factor so that the total matches).
    tol : float
        Largest relative margin error accepted.
    max_iter : int
        Sweep limit (doubly constraint).
    strict : bool
        Raise :class:`~migravity.errors.ConvergenceError` when the balancing does not converge
        (default); with ``False`` the status is only recorded in the result.

    Returns
    -------
    BalanceResult

    Raises
    ------
    InputError
        ``kernel`` or a target has the wrong shape, a negative or non-finite value.
    ConfigError
        A constraint's targets are missing, or doubly-constrained targets differ in sum.
    ConvergenceError
        With ``strict``, the balancing did not reach ``tol`` in ``max_iter`` sweeps.
    """
    name = normalise_constraint(constraint)
    margins = Margins.of(name)
    k = np.ascontiguousarray(kernel, dtype=np.float64)
    if k.ndim != 2:
        raise InputError(f"kernel must be a 2-D array, got shape {k.shape}")
    if not (np.all(np.isfinite(k)) and np.all(k >= 0)):
        raise InputError("kernel must be finite and non-negative (0 where a pair carries no flow)")
    if not (isinstance(tol, float | int) and tol > 0):
        raise ConfigError("tol", tol, "give a positive tolerance")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise ConfigError("max_iter", max_iter, "give a positive number of sweeps")
    n_o, n_d = k.shape
    need_rows = margins == Margins.NONE or Margins.ORIGIN in margins
    need_cols = Margins.DESTINATION in margins
    rows = _target(row_totals, n_o, "row_totals", name, need_rows)
    cols = _target(col_totals, n_d, "col_totals", name, need_cols)
    if margins == Margins.BOTH and abs(rows.sum() - cols.sum()) > 1e-9 * max(rows.sum(), cols.sum()):
        raise ConfigError("col_totals", f"sum {cols.sum():.12g}",
                          f"doubly-constrained totals must have the same sum as row_totals ({rows.sum():.12g})")
    a, b = np.ones(n_o), np.ones(n_d)
    it, conv, err = balance(k, rows, cols, a, b, int(margins), float(tol), int(max_iter), n_threads())
    result = BalanceResult(a, b, name, int(it), bool(conv), float(err))
    if strict and not result.converged:
        raise ConvergenceError(
            f"{name} balancing did not converge: largest relative margin error {result.max_error:.3g} after "
            f"{result.iterations} sweeps (tol {tol:g}); raise max_iter or loosen tol")
    return result


def _target(values: np.ndarray | None, n: int, field: str, constraint: str, needed: bool) -> np.ndarray:
    if values is None:
        if needed:
            raise ConfigError(field, None, f"a {constraint}-constrained balancing needs them")
        return np.zeros(n)
    arr = np.ascontiguousarray(values, dtype=np.float64).ravel()
    if arr.shape != (n,):
        raise InputError(f"{field} has {arr.size} entries, expected {n}")
    if not (np.all(np.isfinite(arr)) and np.all(arr >= 0)):
        raise InputError(f"{field} must be finite and non-negative")
    return arr
