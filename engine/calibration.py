"""``calibrate`` and ``calibrate_arrays``: fit a spatial-interaction model by PPML.

Validation, drop detection and result wrapping around the profile Newton solver of
:mod:`migravity.engine.ppml`. The constrained forms' fixed effects are concentrated out by
balancing (never dummy columns); see that module for the algorithm.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from migravity.engine._kernels_ppml import sandwich_parts
from migravity.engine.design import Design, design_from_arrays, design_from_table
from migravity.engine.fitstats import fit_statistics_grid
from migravity.engine.options import (
    Backend,
    CalibrationOptions,
    Constraint,
    Deterrence,
    Margins,
    StdErr,
    resolve_options,
)
from migravity.engine.ppml import NewtonFit, n_threads, newton_ppml
from migravity.engine.result import CalibrationResult
from migravity.engine.separation import Drops, find_drops
from migravity.engine.vcov import sandwich
from migravity.errors import ConfigError, ConvergenceError, InputError


def calibrate(
    table: pd.DataFrame,
    *,
    origin: str,
    destination: str,
    flow: str,
    cost: str | None = None,
    deterrence: Deterrence | None = None,
    constraint: Constraint | None = None,
    terms: Sequence[str] = (),
    offset: str | Sequence[float] | np.ndarray | pd.Series | None = None,
    se: StdErr | None = None,
    cluster: str | Sequence[Any] | pd.Series | None = None,
    mask_diagonal: bool | None = None,
    tol: float | None = None,
    max_iter: int | None = None,
    strict: bool | None = None,
    options: CalibrationOptions | None = None,
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
    deterrence : {"power", "exponential", "tanner"}, optional
        Form of the distance deterrence (default ``"power"``).
    constraint : {"none", "production", "attraction", "doubly"}, optional
        Unconstrained gravity (one intercept), origin totals kept (origin effects),
        destination totals kept (destination effects) or both (default ``"doubly"``).
    terms : sequence of str
        Further columns, or ``"log(column)"``. Origin attributes are collinear with origin
        effects (production/doubly) and destination attributes with destination effects.
    offset : str or array-like, optional
        An exposure entering the linear predictor with coefficient fixed at 1: a column of log
        exposures (e.g. ``"log_pop_o"``), ``"log(column)"`` to take the log of a column of
        exposures, or values aligned with the table's rows (a Series on its index). With the
        origin population as exposure the unconstrained model is a model of migration *rates*.
        An offset that varies only by origin (destination) is absorbed by origin (destination)
        effects and then changes nothing. Fit statistics use the intercept-plus-offset model
        as the null model (as statsmodels' ``llnull``).
    se : {"robust", "hc1", "cluster"}, optional
        Standard errors (default ``"robust"``); see :mod:`migravity.engine.vcov`.
    cluster : str or sequence or pandas.Series, optional
        For ``se="cluster"``: a column of the table (group per pair), or group labels per
        origin (a Series indexed by origin label, or a sequence in sorted-origin order).
        Default: cluster by origin.
    mask_diagonal : bool, optional
        Leave out pairs whose origin and destination labels are equal (default False).
    tol, max_iter : float, int, optional
        Newton convergence tolerance (max absolute step in the coefficients; default 1e-10) and
        limit (default 100).
    strict : bool, optional
        Raise :class:`~migravity.errors.ConvergenceError` if the fit does not converge
        (default False).
    options : CalibrationOptions, optional
        The options above (``deterrence`` to ``strict``) as one validated object; keywords
        given as well override its fields.

    Returns
    -------
    CalibrationResult
    """
    t0 = time.perf_counter()
    opts = resolve_options(
        CalibrationOptions, options, constraint=constraint, deterrence=deterrence, se=se, cluster=cluster,
        mask_diagonal=mask_diagonal, tol=tol, max_iter=max_iter, strict=strict,
    )
    if isinstance(terms, str):
        terms = (terms,)
    if isinstance(opts.cluster, str) and opts.cluster not in table.columns:
        raise ConfigError("cluster", opts.cluster, f"no such column; the table has {list(table.columns)}")
    design = design_from_table(
        table,
        origin=origin,
        destination=destination,
        flow=flow,
        cost=cost,
        deterrence=opts.deterrence,
        terms=list(terms),
        offset=offset,
    )
    spec = {
        "origin": origin,
        "destination": destination,
        "flow": flow,
        "cost": cost,
        "terms": list(terms),
        "offset": offset if offset is None or isinstance(offset, str) else "<array>",
    }
    return _fit(_FitJob(design, opts, t0, table=table, index=table.index, spec=spec))


def calibrate_arrays(
    flows: np.ndarray,
    *,
    cost: np.ndarray | None = None,
    pair_terms: Mapping[str, np.ndarray] | None = None,
    origin_terms: Mapping[str, np.ndarray] | None = None,
    destination_terms: Mapping[str, np.ndarray] | None = None,
    mask: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    deterrence: Deterrence | None = None,
    constraint: Constraint | None = None,
    se: StdErr | None = None,
    cluster: Sequence[Any] | np.ndarray | None = None,
    origin_labels: Sequence[Any] | None = None,
    destination_labels: Sequence[Any] | None = None,
    mask_diagonal: bool | None = None,
    tol: float | None = None,
    max_iter: int | None = None,
    strict: bool | None = None,
    options: CalibrationOptions | None = None,
    backend: Backend | None = None,
    chunks: int | tuple[int, int] | None = None,
    client: Any = None,
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
    offset : ndarray, shape (n_o, n_d), optional
        Log exposure entering the linear predictor with coefficient 1 (see :func:`calibrate`).
    deterrence, constraint, se, mask_diagonal, tol, max_iter, strict, options
        As for :func:`calibrate`.
    cluster : sequence, optional
        Group label per origin (for ``se="cluster"``; default: each origin its own group),
        or an (n_o, n_d) array of group labels per pair.
    origin_labels, destination_labels : sequence, optional
        Labels of rows and columns (default ``0..n-1``).
    backend, chunks, client
        ``backend="dask"`` (or giving ``chunks``/``client``) runs the doubly-constrained Newton
        iterations in blocks on Dask (:func:`migravity.engine.dask_ppml.newton_ppml_dask`); for
        grids too large for one machine use :func:`migravity.engine.dask_ppml.calibrate_dask`.

    Returns
    -------
    CalibrationResult
    """
    t0 = time.perf_counter()
    opts = resolve_options(
        CalibrationOptions, options, constraint=constraint, deterrence=deterrence, se=se, cluster=cluster,
        mask_diagonal=mask_diagonal, tol=tol, max_iter=max_iter, strict=strict, backend=backend, chunks=chunks,
        client=client,
    )
    design = design_from_arrays(
        flows,
        cost=cost,
        deterrence=opts.deterrence,
        pair_terms=pair_terms or {},
        origin_terms=origin_terms or {},
        destination_terms=destination_terms or {},
        mask=mask,
        origin_labels=origin_labels,
        destination_labels=destination_labels,
        offset=offset,
    )
    return _fit(_FitJob(design, opts, t0))


@dataclass(frozen=True)
class _FitJob:
    """One calibration to run: the design, the options and what the result carries along."""

    design: Design
    options: CalibrationOptions
    started: float
    table: pd.DataFrame | None = None
    index: pd.Index | None = None
    spec: dict[str, Any] | None = None


@dataclass(frozen=True)
class _FitGrid:
    """The part of the design that is fitted: the rows, columns, pairs and terms left after drops.

    ``y``, ``x`` and ``mask`` are the design's own arrays (no copies) when the fit keeps every
    zone, pair and term (``whole``, the usual case).
    """

    y: np.ndarray
    x: np.ndarray
    mask: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    kept: list[int]
    drops: Drops
    whole: bool
    sub: Any
    offset: np.ndarray | None = None


@dataclass(frozen=True)
class _Estimates:
    """Coefficients, their standard errors and covariance, keyed by term."""

    coefficients: dict[str, float]
    std_errors: dict[str, float]
    vcov: pd.DataFrame
    n_obs: int
    n_params: int


def _mask_diagonal(design: Design) -> None:
    """Leave out (in place) the pairs whose origin and destination labels are equal."""
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


def _fit(job: _FitJob) -> CalibrationResult:
    """Fit the model of ``job`` and wrap the result."""
    design, opts = job.design, job.options
    if opts.mask_diagonal:
        _mask_diagonal(design)
    gid = _cluster_ids(design, opts.cluster, job.table)
    _check_fixed_effect_terms(design, opts.constraint)
    _check_has_flows(design)
    grid = _fit_grid(design, opts.margins)
    kept_names = [design.names[q] for q in grid.kept]
    comps = _components(grid.mask) if opts.margins == Margins.BOTH else None
    try:
        fit = _newton(grid, opts, comps)
    except np.linalg.LinAlgError as e:
        raise ConfigError(
            "terms", kept_names,
            f"the Newton system is singular ({e}): these terms are collinear, or separate zero flows in a "
            "combination with the fixed effects, on the pairs fitted; drop one of them or the zero-flow pairs "
            "they single out") from None
    _check_collinear(fit, kept_names, opts.constraint)
    est = _estimates(grid, fit, gid, opts, design.names, kept_names, 1 if comps is None else len(comps))
    saturation = _saturation_warning(est) or _near_singular_warning(fit, kept_names)
    stats = fit_statistics_grid(grid.y, fit.mu, grid.mask, est.n_params, offset=grid.offset)
    fitted, observed = _full_grids(design, grid, fit)
    return CalibrationResult(
        coefficients=est.coefficients,
        std_errors=est.std_errors,
        vcov=est.vcov,
        fit=stats,
        n_pairs=est.n_obs,
        iterations=fit.iterations,
        converged=fit.converged,
        seconds=time.perf_counter() - job.started,
        constraint=opts.constraint,
        deterrence=opts.deterrence,
        se=opts.se,
        message=_outcome(fit, opts.strict),
        warnings=list(grid.drops.messages) + list(fit.messages) + saturation,
        dropped=grid.drops.as_dict(),
        fitted_values=fitted,
        observed_values=observed,
        origin_labels=design.origin_labels,
        destination_labels=design.destination_labels,
        balancing={
            "iterations": float(fit.balance_iterations),
            "max_error": float(fit.balance_error),
        },
        cost_names=design.cost_names,
        spec=job.spec,
        _rows=design.row_codes,
        _cols=design.col_codes,
        _index=job.index,
    )


def _newton(grid: _FitGrid, opts: CalibrationOptions, comps: list[np.ndarray] | None) -> NewtonFit:
    """The Newton fit of ``grid``, in memory or on Dask (``opts.use_dask``)."""
    if not opts.use_dask:
        return newton_ppml(grid.y, grid.x, grid.mask, opts.margins, tol=opts.tol, max_iter=opts.max_iter,
                           dest_components=comps, offset=grid.offset)
    if grid.offset is not None or comps is not None:
        raise ConfigError("backend", "dask", "the Dask calibration takes no offset and needs one connected "
                          'grid of pairs: use backend="numpy"')
    from migravity.engine.dask_ppml import newton_ppml_dask

    return newton_ppml_dask(grid.y, grid.x, grid.mask, tol=opts.tol, max_iter=opts.max_iter, chunks=opts.chunks,
                            client=opts.client)


def _check_fixed_effect_terms(design: Design, constraint: str) -> None:
    """Raise if a term varies only by origin (destination) in a model with origin (destination) effects."""
    margins = Margins.of(constraint)
    for q, kind in enumerate(design.kinds):
        if kind == "origin" and Margins.ORIGIN in margins:
            raise ConfigError(
                "terms", design.names[q],
                f"it varies only by origin, so it is collinear with the origin effects of a "
                f"{constraint}-constrained model: use constraint='attraction' or 'none', drop it, "
                "or interact it with a pair variable",
            )
        if kind == "destination" and Margins.DESTINATION in margins:
            raise ConfigError(
                "terms", design.names[q],
                f"it varies only by destination, so it is collinear with the destination effects "
                f"of a {constraint}-constrained model: use constraint='production' or 'none', "
                "drop it, or interact it with a pair variable",
            )


def _check_has_flows(design: Design) -> None:
    """Raise if there are no observed pairs, or no flow on them."""
    if not design.mask.any():
        raise InputError("no observed pairs to fit")
    if not design.y.sum() > 0:  # y is zero outside the mask (no masked copy of a large grid)
        raise InputError("all observed flows are zero: there is nothing to fit")


def _fit_grid(design: Design, margins: Margins) -> _FitGrid:
    """Drop what cannot be fitted (:func:`~migravity.engine.separation.find_drops`) and cut the
    arrays down to the rows, columns and terms left."""
    mask_fit, kept, drops = find_drops(
        design.y, design.x, design.mask, design.names, margins,
        design.origin_labels, design.destination_labels,
    )
    rows = np.flatnonzero(mask_fit.any(axis=1))
    cols = np.flatnonzero(mask_fit.any(axis=0))
    n_o_all, n_d_all = design.mask.shape
    whole = len(rows) == n_o_all and len(cols) == n_d_all
    # no copies of the dense arrays when the fit keeps every zone, pair and term (the usual case)
    off = design.offset
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
        xc = np.ascontiguousarray(design.x[np.ix_(np.asarray(kept, dtype=np.intp), rows, cols)])
        off = None if off is None else np.ascontiguousarray(off[sub])
    return _FitGrid(yc, xc, maskc, rows, cols, kept, drops, whole, sub, off)


def _check_collinear(fit: NewtonFit, kept_names: list[str], constraint: str) -> None:
    """Raise if the solver found terms collinear with the fixed effects or with each other."""
    if fit.collinear:
        bad = [kept_names[q] for q in fit.collinear]
        raise ConfigError(
            "terms", bad,
            "collinear with the fixed effects"
            + (" (the intercept)" if constraint == "none" else f" of the {constraint}-constrained model")
            + " or with each other: drop one of them",
        )


def _n_fixed_effects(margins: Margins, n_rows: int, n_cols: int, n_comp: int) -> int:
    """Fixed effects of the equivalent dummy-variable design: the intercept, one per origin
    and/or destination (less one per connected component when both)."""
    if margins == Margins.NONE:
        return 1
    if margins == Margins.BOTH:
        return n_rows + n_cols - n_comp
    return n_rows if margins == Margins.ORIGIN else n_cols


def _cluster_codes(gid: np.ndarray, grid: _FitGrid) -> tuple[np.ndarray, int]:
    """Cluster codes ``0..G-1`` of the fitted grid (per pair, or per origin) and ``G``."""
    per_pair = gid.shape[1] > 1
    g = gid[grid.rows][:, grid.cols] if per_pair else gid[grid.rows]
    codes, uniq = pd.factorize(g[grid.mask].ravel() if per_pair else g.ravel())
    g_codes = np.zeros(g.shape, dtype=np.int64)
    if per_pair:
        g_codes[grid.mask] = codes
    else:
        g_codes[:, 0] = codes
    return g_codes, len(uniq)


def _estimates(
    grid: _FitGrid, fit: NewtonFit, gid: np.ndarray, opts: CalibrationOptions, names: tuple[str, ...],
    kept_names: list[str], n_comp: int,
) -> _Estimates:
    """Coefficients with their sandwich covariance (NaN for the terms dropped)."""
    margins = opts.margins
    n_obs = int(grid.mask.sum())
    k = len(grid.kept)
    n_params = k + _n_fixed_effects(margins, len(grid.rows), len(grid.cols), n_comp)
    g_codes, n_groups = _cluster_codes(gid, grid)
    nt = n_threads()
    if margins == Margins.NONE:
        z = np.zeros((k, len(grid.rows)))
        bread, meat, scores = sandwich_parts(
            grid.x, grid.y, fit.mu, grid.mask, z, np.zeros((k, len(grid.cols))), True, g_codes, n_groups, nt
        )
        coef_names = ["intercept", *kept_names]
        coefs = np.concatenate([[np.log(fit.a[0])], fit.beta])
    else:
        bread, meat, scores = sandwich_parts(
            grid.x, grid.y, fit.mu, grid.mask, fit.a_fe, fit.c_fe, False, g_codes, n_groups, nt
        )
        coef_names = kept_names
        coefs = fit.beta
    cov = sandwich(bread, meat, scores, opts.se, n_obs, n_params) if len(coefs) else np.zeros((0, 0))
    sev = np.sqrt(np.diag(cov))
    all_names = (["intercept"] if margins == Margins.NONE else []) + list(names)
    coefficients = {n: float("nan") for n in all_names}
    std_errors = {n: float("nan") for n in all_names}
    for n, c, s in zip(coef_names, coefs, sev, strict=True):
        coefficients[n] = float(c)
        std_errors[n] = float(s)
    vcov = pd.DataFrame(cov, index=coef_names, columns=coef_names)
    return _Estimates(coefficients, std_errors, vcov, n_obs, n_params)


def _saturation_warning(est: _Estimates) -> list[str]:
    """For a saturated fit (pairs <= parameters): blank the standard errors in place and say why.

    With as many parameters as fitted pairs the residuals are zero and the small-sample factor
    ``N / (N - K)`` is infinite or negative: the sandwich is meaningless (it used to give
    ``z = -2.7e10 ***``).
    """
    if est.n_obs > est.n_params:
        return []
    for name in est.std_errors:
        est.std_errors[name] = float("nan")
    est.vcov.loc[:, :] = np.nan
    return [f"saturated model: {est.n_obs} fitted pairs for {est.n_params} parameters (fixed effects included); "
            "the coefficients fit the data exactly and their standard errors are undefined (NaN): "
            "use fewer terms or more pairs"]


#: Condition number of the scaled Hessian of the terms above which a fit is warned near-singular (the
#: collinearity screen refuses from about 1e10: smallest eigenvalue of the correlation form below 1e-10).
NEAR_SINGULAR_COND = 1e7


def _near_singular_warning(fit: NewtonFit, kept_names: list[str]) -> list[str]:
    """Warn when the Hessian of the terms (fixed effects concentrated out) is near-singular.

    Scaled to unit diagonal first, so units do not matter; above :data:`NEAR_SINGULAR_COND` the
    coefficients of the terms with the largest weights in the weakest direction are named.
    """
    bread = np.asarray(fit.bread, dtype=float)
    if bread.ndim != 2 or bread.shape[0] < 2 or not np.isfinite(bread).all():
        return []
    d = np.sqrt(np.abs(np.diag(bread)))
    if (d == 0).any():
        return []
    r = bread / np.outer(d, d)
    vals, vecs = np.linalg.eigh(0.5 * (r + r.T))
    lo, hi = float(np.abs(vals).min()), float(np.abs(vals).max())
    cond = hi / lo if lo > 0 else float("inf")
    if cond <= NEAR_SINGULAR_COND:
        return []
    weak = vecs[:, int(np.argmin(np.abs(vals)))]
    names = [kept_names[q] for q in np.argsort(-np.abs(weak))[:3] if abs(weak[q]) > 0.1]
    return [f"near-singular fit: the scaled Hessian of the terms has condition number {cond:.3g}; terms {names} "
            "are nearly collinear (or nearly separate zero flows), so their coefficients and standard errors "
            "are unreliable: drop or combine one of them"]


def _full_grids(design: Design, grid: _FitGrid, fit: NewtonFit) -> tuple[np.ndarray, np.ndarray]:
    """Fitted and observed flows on the full grid: fitted 0 where dropped, both NaN where the pair
    is absent. In place where possible (the fit's ``mu`` and the design's ``y`` are not used after)."""
    absent = ~design.mask
    if grid.whole:
        full = fit.mu  # already 0 outside the fitted pairs
        np.copyto(full, np.nan, where=absent)
    else:
        full = np.where(design.mask, 0.0, np.nan)
        full[grid.sub] = np.where(grid.mask, fit.mu, full[grid.sub])
    obs = design.y
    np.copyto(obs, np.nan, where=absent)
    return full, obs


def _outcome(fit: NewtonFit, strict: bool) -> str:
    """How the fit ended, in words; raise :class:`ConvergenceError` if it did not converge and ``strict``."""
    if fit.converged:
        return f"converged in {fit.iterations} Newton iterations"
    message = fit.messages[-1] if fit.messages else "did not converge"
    if strict:
        raise ConvergenceError(message + "; raise max_iter or loosen tol (strict=True)")
    return message
