"""``calibrate`` and ``calibrate_arrays``: fit a spatial-interaction model by PPML.

Validation, drop detection and result wrapping around the profile Newton solver of
:mod:`migravity.engine.ppml`. The constrained forms' fixed effects are concentrated out by
balancing (never dummy columns); see that module for the algorithm.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from migravity.engine._kernels_ppml import sandwich_parts
from migravity.engine.design import Design, design_from_arrays, design_from_table
from migravity.engine.fitstats import fit_statistics_grid
from migravity.engine.options import (
    Constraint,
    Deterrence,
    StdErr,
    check_deterrence,
    check_se,
    constraint_code,
    normalise_constraint,
)
from migravity.engine.ppml import n_threads, newton_ppml
from migravity.engine.projection import FE_CONST
from migravity.engine.result import CalibrationResult
from migravity.engine.separation import find_drops
from migravity.engine.vcov import sandwich
from migravity.errors import ConfigError, ConvergenceError, InputError


def _check_numbers(tol: float, max_iter: int) -> None:
    if not (isinstance(tol, int | float) and 0 < tol < 1):
        raise ConfigError("tol", tol, "give a positive number below 1, e.g. 1e-10")
    if not (isinstance(max_iter, int | np.integer) and max_iter >= 1):
        raise ConfigError("max_iter", max_iter, "give a positive integer, e.g. 100")


def calibrate(
    table: pd.DataFrame,
    *,
    origin: str,
    destination: str,
    flow: str,
    cost: str | None = None,
    deterrence: Deterrence = "power",
    constraint: Constraint = "doubly",
    terms: Sequence[str] = (),
    se: StdErr = "robust",
    cluster: str | Sequence[Any] | pd.Series | None = None,
    mask_diagonal: bool = False,
    tol: float = 1e-10,
    max_iter: int = 100,
    strict: bool = False,
) -> CalibrationResult:
    """Fit a spatial-interaction model to a table of OD pairs by Poisson PPML.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per observed (origin, destination) pair; absent pairs are left out of the fit.
    origin, destination, flow : str
        Column names of the origin label, destination label and flow (count >= 0).
    cost : str, optional
        Column of the travel cost (e.g. distance); enters as ``log(cost)`` under ``"power"``
        deterrence, ``cost`` under ``"exponential"`` and both under ``"tanner"``.
    deterrence : {"power", "exponential", "tanner"}
        Form of the distance deterrence.
    constraint : {"none", "production", "attraction", "doubly"}
        Unconstrained gravity (one intercept), origin totals kept (origin effects),
        destination totals kept (destination effects) or both.
    terms : sequence of str
        Further columns, or ``"log(column)"``. Origin attributes are collinear with origin
        effects (production/doubly) and destination attributes with destination effects.
    se : {"robust", "hc1", "cluster"}
        Standard errors; see :mod:`migravity.engine.vcov`.
    cluster : str or sequence or pandas.Series, optional
        For ``se="cluster"``: a column of the table (group per pair), or group labels per
        origin (a Series indexed by origin label, or a sequence in sorted-origin order).
        Default: cluster by origin.
    mask_diagonal : bool
        Leave out pairs whose origin and destination labels are equal.
    tol, max_iter : float, int
        Newton convergence tolerance (max absolute step in the coefficients) and limit.
    strict : bool
        Raise :class:`~migravity.errors.ConvergenceError` if the fit does not converge.

    Returns
    -------
    CalibrationResult
    """
    t0 = time.perf_counter()
    cons = normalise_constraint(constraint)
    check_deterrence(deterrence)
    check_se(se)
    _check_numbers(tol, max_iter)
    if isinstance(terms, str):
        terms = (terms,)
    if cluster is not None and isinstance(cluster, str) and cluster not in table.columns:
        raise ConfigError("cluster", cluster, f"no such column; the table has {list(table.columns)}")
    design = design_from_table(
        table,
        origin=origin,
        destination=destination,
        flow=flow,
        cost=cost,
        deterrence=deterrence,
        terms=list(terms),
    )
    if mask_diagonal:
        _mask_diagonal(design)
    gid = _cluster_ids(design, cluster, table)
    spec = {
        "origin": origin,
        "destination": destination,
        "flow": flow,
        "cost": cost,
        "terms": list(terms),
    }
    return _fit(design, cons, deterrence, se, gid, tol, max_iter, strict, t0, table.index, spec)


def calibrate_arrays(
    flows: np.ndarray,
    *,
    cost: np.ndarray | None = None,
    pair_terms: Mapping[str, np.ndarray] | None = None,
    origin_terms: Mapping[str, np.ndarray] | None = None,
    destination_terms: Mapping[str, np.ndarray] | None = None,
    mask: np.ndarray | None = None,
    deterrence: Deterrence = "power",
    constraint: Constraint = "doubly",
    se: StdErr = "robust",
    cluster: Sequence[Any] | np.ndarray | None = None,
    origin_labels: Sequence[Any] | None = None,
    destination_labels: Sequence[Any] | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    strict: bool = False,
) -> CalibrationResult:
    """Fit a model to dense (n_o, n_d) arrays; same options and result as :func:`calibrate`.

    Parameters
    ----------
    flows : ndarray, shape (n_o, n_d)
        Observed flows (values outside ``mask`` are ignored).
    cost : ndarray, shape (n_o, n_d), optional
        Travel cost; its terms are named ``"log(cost)"`` and/or ``"cost"``.
    pair_terms, origin_terms, destination_terms : mapping of str to ndarray
        Pair variables (n_o, n_d), origin attributes (n_o,), destination attributes (n_d,).
    mask : ndarray of bool, shape (n_o, n_d), optional
        Observed pairs (default: all).
    cluster : sequence, optional
        Group label per origin (for ``se="cluster"``; default: each origin its own group),
        or an (n_o, n_d) array of group labels per pair.
    origin_labels, destination_labels : sequence, optional
        Labels of rows and columns (default ``0..n-1``).
    """
    t0 = time.perf_counter()
    cons = normalise_constraint(constraint)
    check_deterrence(deterrence)
    check_se(se)
    _check_numbers(tol, max_iter)
    design = design_from_arrays(
        flows,
        cost=cost,
        deterrence=deterrence,
        pair_terms=pair_terms or {},
        origin_terms=origin_terms or {},
        destination_terms=destination_terms or {},
        mask=mask,
        origin_labels=origin_labels,
        destination_labels=destination_labels,
    )
    gid = _cluster_ids(design, cluster, None)
    return _fit(design, cons, deterrence, se, gid, tol, max_iter, strict, t0, None, None)


def _mask_diagonal(design: Design) -> None:
    d_pos = {v: j for j, v in enumerate(design.destination_labels.tolist())}
    for i, lab in enumerate(design.origin_labels.tolist()):
        j = d_pos.get(lab)
        if j is not None:
            design.mask[i, j] = False
            design.y[i, j] = 0.0


def _cluster_ids(design: Design, cluster: Any, table: pd.DataFrame | None) -> np.ndarray:
    """Cluster code per pair, (n_o, n_d), or per origin, (n_o, 1)."""
    n_o, n_d = design.mask.shape
    if cluster is None:
        return np.arange(n_o, dtype=np.int64)[:, None]
    if isinstance(cluster, str) and table is not None:
        codes, _ = pd.factorize(table[cluster], use_na_sentinel=True)
        if (codes < 0).any():
            raise InputError(f"cluster column {cluster!r} has missing values: fill them")
        gid = np.zeros((n_o, n_d), dtype=np.int64)
        gid[design.row_codes, design.col_codes] = codes
        return gid
    if isinstance(cluster, pd.Series):
        missing = set(design.origin_labels.tolist()) - set(cluster.index.tolist())
        if missing:
            raise ConfigError("cluster", f"<Series of {len(cluster)}>",
                              f"give a group for every origin; missing {sorted(missing)[:5]}")
        labels = cluster.reindex(design.origin_labels).to_numpy()
    else:
        labels = np.asarray(cluster)
    if labels.shape == (n_o, n_d):
        codes, _ = pd.factorize(labels.ravel())
        return codes.reshape(n_o, n_d).astype(np.int64)
    if labels.shape != (n_o,):
        raise ConfigError(
            "cluster", f"<array of shape {labels.shape}>",
            f"give a column name, one group label per origin ({n_o}), or an (n_o, n_d) array",
        )
    codes, _ = pd.factorize(labels)
    return codes.astype(np.int64)[:, None]


def _components(mask: np.ndarray) -> list[np.ndarray] | None:
    """Destination indices per connected component of the bipartite graph of pairs."""
    n_o, n_d = mask.shape
    rows = mask.sum(axis=1)
    if rows.min() * 2 > n_d:  # every two origins share a destination: one component
        return None
    oi, dj = np.nonzero(mask)
    g = coo_matrix((np.ones(oi.size), (oi, n_o + dj)), shape=(n_o + n_d, n_o + n_d))
    n_comp, lab = connected_components(g, directed=False)
    if n_comp <= 1:
        return None
    dl = lab[n_o:]
    return [np.flatnonzero(dl == c) for c in np.unique(dl)]


def _fit(
    design: Design,
    constraint: str,
    deterrence: str,
    se: str,
    gid: np.ndarray,
    tol: float,
    max_iter: int,
    strict: bool,
    t0: float,
    index: pd.Index | None,
    spec: dict[str, Any] | None,
) -> CalibrationResult:
    mode = constraint_code(constraint)
    names = design.names
    for q, kind in enumerate(design.kinds):
        if kind == "origin" and mode in (1, 3):
            raise ConfigError(
                "terms", names[q],
                f"it varies only by origin, so it is collinear with the origin effects of a "
                f"{constraint}-constrained model: use constraint='attraction' or 'none', drop it, "
                "or interact it with a pair variable",
            )
        if kind == "destination" and mode in (2, 3):
            raise ConfigError(
                "terms", names[q],
                f"it varies only by destination, so it is collinear with the destination effects "
                f"of a {constraint}-constrained model: use constraint='production' or 'none', "
                "drop it, or interact it with a pair variable",
            )
    if not design.mask.any():
        raise InputError("no observed pairs to fit")
    if design.y[design.mask].sum() <= 0:
        raise InputError("all observed flows are zero: there is nothing to fit")
    mask_fit, kept, drops = find_drops(
        design.y, design.x, design.mask, names, mode,
        design.origin_labels, design.destination_labels,
    )
    rows = np.flatnonzero(mask_fit.any(axis=1))
    cols = np.flatnonzero(mask_fit.any(axis=0))
    n_o_all, n_d_all = design.mask.shape
    whole = len(rows) == n_o_all and len(cols) == n_d_all
    # no copies of the dense arrays when the fit keeps every zone, pair and term (the usual case)
    if whole:
        sub: Any = (slice(None), slice(None))
        maskc = mask_fit
        same = np.array_equal(mask_fit, design.mask)
        yc = design.y if same else np.where(maskc, design.y, 0.0)
        xc = design.x if len(kept) == design.x.shape[0] else np.ascontiguousarray(design.x[kept])
    else:
        sub = np.ix_(rows, cols)
        maskc = np.ascontiguousarray(mask_fit[sub])
        yc = np.ascontiguousarray(np.where(maskc, design.y[sub], 0.0))
        xc = np.ascontiguousarray(design.x[np.ix_(kept, rows, cols)])
    kept_names = [names[q] for q in kept]
    fe = FE_CONST if mode == 0 else mode
    comps = _components(maskc) if mode == 3 else None
    fit = newton_ppml(yc, xc, maskc, mode, fe, tol=tol, max_iter=max_iter, dest_components=comps)
    if fit.collinear:
        bad = [kept_names[q] for q in fit.collinear]
        raise ConfigError(
            "terms", bad,
            "collinear with the fixed effects"
            + (" (the intercept)" if mode == 0 else f" of the {constraint}-constrained model")
            + " or with each other: drop one of them",
        )
    # standard errors
    n_obs = int(maskc.sum())
    n_comp = 1 if comps is None else len(comps)
    k = len(kept)
    n_params = k + {0: 1, 1: len(rows), 2: len(cols), 3: len(rows) + len(cols) - n_comp}[mode]
    g = gid[rows][:, cols] if gid.shape[1] > 1 else gid[rows]
    codes, uniq = pd.factorize(g[maskc].ravel() if gid.shape[1] > 1 else g.ravel())
    g_codes = np.zeros(g.shape, dtype=np.int64)
    if gid.shape[1] > 1:
        g_codes[maskc] = codes
    else:
        g_codes[:, 0] = codes
    nt = n_threads()
    if mode == 0:
        z = np.zeros((k, len(rows)))
        bread, meat, scores = sandwich_parts(
            xc, yc, fit.mu, maskc, z, np.zeros((k, len(cols))), True, g_codes, len(uniq), nt
        )
        coef_names = ["intercept", *kept_names]
        coefs = np.concatenate([[np.log(fit.a[0])], fit.beta])
    else:
        bread, meat, scores = sandwich_parts(
            xc, yc, fit.mu, maskc, fit.a_fe, fit.c_fe, False, g_codes, len(uniq), nt
        )
        coef_names = kept_names
        coefs = fit.beta
    cov = sandwich(bread, meat, scores, se, n_obs, n_params) if len(coefs) else np.zeros((0, 0))
    vcov = pd.DataFrame(cov, index=coef_names, columns=coef_names)
    sev = np.sqrt(np.diag(cov))
    all_names = (["intercept"] if mode == 0 else []) + list(names)
    coefficients = {n: float("nan") for n in all_names}
    std_errors = {n: float("nan") for n in all_names}
    for n, c, s in zip(coef_names, coefs, sev, strict=True):
        coefficients[n] = float(c)
        std_errors[n] = float(s)
    stats = fit_statistics_grid(yc, fit.mu, maskc, n_params)
    # fitted flows on the full grid: 0 where dropped, NaN where the pair is absent; in place
    # (the fit's mu and the design's y are not used after this)
    absent = ~design.mask
    if whole:
        full = fit.mu  # already 0 outside the fitted pairs
        np.copyto(full, np.nan, where=absent)
    else:
        full = np.where(design.mask, 0.0, np.nan)
        full[sub] = np.where(maskc, fit.mu, full[sub])
    obs = design.y
    np.copyto(obs, np.nan, where=absent)
    del absent
    warnings = list(drops.messages) + list(fit.messages)
    if fit.converged:
        message = f"converged in {fit.iterations} Newton iterations"
    else:
        message = fit.messages[-1] if fit.messages else "did not converge"
        if strict:
            raise ConvergenceError(message + "; raise max_iter or loosen tol (strict=True)")
    return CalibrationResult(
        coefficients=coefficients,
        std_errors=std_errors,
        vcov=vcov,
        fit=stats,
        n_pairs=n_obs,
        iterations=fit.iterations,
        converged=fit.converged,
        seconds=time.perf_counter() - t0,
        constraint=constraint,
        deterrence=deterrence,
        se=se,
        message=message,
        warnings=warnings,
        dropped=drops.as_dict(),
        fitted_values=full,
        observed_values=obs,
        origin_labels=design.origin_labels,
        destination_labels=design.destination_labels,
        balancing={
            "iterations": float(fit.balance_iterations),
            "max_error": float(fit.balance_error),
        },
        cost_names=design.cost_names,
        spec=spec,
        _rows=design.row_codes,
        _cols=design.col_codes,
        _index=index,
    )
