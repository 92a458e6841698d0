"""Poisson PPML with high-dimensional fixed effects concentrated out, and clustered inference.

:func:`fepois` fits ``E[y | x] = exp(x'b + offset + a_1[f_1] + ... + a_G[f_G])`` on a long table
(one row per observation), e.g. the structural-gravity panel with origin x period,
destination x period and pair effects. The fixed effects are never built as dummies.

Algorithm
---------
Iteratively re-weighted least squares for the Poisson likelihood with the fixed effects
partialled out at every step (Correia, Guimaraes & Zylkin 2020, ``ppmlhdfe``; pyfixest's
``fepois``):

1. Start from ``mu = (y + mean(y)) / 2``, ``eta = log(mu)``.
2. Working outcome ``z = eta - offset + (y - mu) / mu``, weights ``w = mu``.
3. Demean ``[z, X]`` on all G fixed-effect dimensions with weights ``w`` by alternating
   projections (:func:`migravity.engine._kernels_hdfe.demean`, tolerance ``fe_tol``), giving
   ``z~, X~`` (Frisch-Waugh-Lovell).
4. ``b = (X~' W X~)^-1 X~' W z~``; the weighted residual ``e = z~ - X~ b`` gives the new linear
   predictor ``eta = z - e + offset`` and ``mu = exp(eta)``.
5. Stop when the deviance changes by less than ``tol`` relative, ``|D - D_prev| / (0.1 + |D|)``
   (fixest's and pyfixest's criterion); else go to 2.

After convergence ``X`` is demeaned once more with the final weights ``mu`` for the covariance.

Observations that cannot be fitted are removed first, repeatedly until none is left (the
result's ``n_dropped`` and ``drop_reasons`` say how many and why):

* **singletons** (``drop_singletons=True``, pyfixest's default ``fixef_rm="singleton"``): an
  observation alone in a fixed-effect group is fitted exactly by its own effect and carries no
  information on ``b``;
* **separation** (pyfixest's default ``separation_check=["fe"]``): every observation of a
  fixed-effect group whose outcomes are all zero; its effect would be ``-inf``.

pyfixest drops singletons, then separated groups once; here the two repeat until nothing
changes (as ppmlhdfe does). The counts agree unless dropping a separated group leaves a new
singleton behind.

Covariance
----------
With ``H = X~' diag(mu) X~`` (bread) and scores ``s_i = x~_i (y_i - mu_i)``, every estimator is
``V = c H^-1 M H^-1`` with pyfixest's default small-sample corrections
(``ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min")``, which mimic fixest):

* ``df_k = k + sum_g K_g - (G - 1)``: slopes plus fixed-effect levels, less one per dimension
  after the first (``K_g`` levels of dimension ``g`` on the estimation sample);
* ``se="hc1"`` (pyfixest ``"hetero"``): ``M = sum_i s_i s_i'``, ``c = N / (N - df_k)``;
* ``se="cluster"`` with one variable ``a`` (``CRV1``): ``M_a = sum_g S_g S_g'`` (``S_g`` the
  summed scores of cluster ``g``), ``c = (N - 1) / (N - df_k) * G_a / (G_a - 1)``;
* two variables ``a, b`` (Cameron, Gelbach & Miller 2011; pyfixest ``{"CRV1": "a+b"}``):
  ``V = c (V_a + V_b - V_ab)`` where ``ab`` is the intersection (clusters of pairs of values)
  and every term uses the same ``G = min(G_a, G_b)``: ``c = (N - 1)/(N - df_k) * G/(G - 1)``.

For clustered errors ``df_k`` is "nonnested": a fixed-effect dimension nested in a cluster
variable (every one of its groups lies in one cluster of ``a``, ``b`` or ``ab``) is not counted,
apart from one parameter: ``df_k = k + sum_g K_g - (G - 1) - sum_{g nested} K_g + n_nested``.

The two-way matrix need not be positive semi-definite. As pyfixest, it is returned unchanged
(no eigenvalue clipping); a negative variance gives a NaN standard error and a message in
``PanelResult.messages``.

Inference uses the normal distribution (z statistics, :func:`migravity.engine.inference.p_value`),
as ppmlhdfe does; pyfixest's p-values use Student's t with ``G - 1`` (clustered) or
``N - df_k`` degrees of freedom, so its p-values and intervals are slightly wider.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import pandas as pd

from migravity.engine import _kernels_hdfe as _k
from migravity.engine.inference import p_value as _p_value
from migravity.errors import ConfigError, ConvergenceError, InputError

__all__ = ["PanelResult", "fepois"]

#: A regressor whose demeaned norm is below this fraction of its norm is collinear with the effects.
COLLINEAR_TOL = 1e-9

SEType = Literal["hc1", "cluster"]


@dataclass(frozen=True)
class PanelResult:
    """What :func:`fepois` returns (read-only).

    Attributes
    ----------
    coef, se : pandas.Series
        Slopes and their standard errors, indexed by term.
    vcov : pandas.DataFrame
        Covariance matrix of the slopes.
    n_obs : int
        Observations in the fit.
    n_dropped : int
        Rows of ``data`` left out (see ``drop_reasons``).
    drop_reasons : dict of str to int
        ``{"singleton": ..., "separation": ...}``: rows left out for each reason.
    n_clusters : dict of str to int
        Clusters of each cluster variable on the estimation sample (empty for ``"hc1"``).
    converged : bool
        Whether IRLS met ``tol``.
    iterations : int
        IRLS iterations.
    deviance : float
        Poisson deviance of the fit.
    pseudo_r2 : float
        McFadden's ``1 - logL / logL_0`` with ``logL_0`` the constant-mean model (as pyfixest).
    fitted : numpy.ndarray
        Fitted means aligned with the rows of ``data``; NaN for rows left out.
    se_type : str
        ``"hc1"``, ``"cluster"`` (one-way) or ``"cluster2"`` (two-way).
    df_k : int
        Parameter count of the small-sample correction (see :mod:`migravity.engine.hdfe`).
    messages : tuple of str
        What was dropped, non-convergence and covariance warnings, in words.
    """

    coef: pd.Series
    se: pd.Series
    vcov: pd.DataFrame
    n_obs: int
    n_dropped: int
    drop_reasons: dict[str, int]
    n_clusters: dict[str, int]
    converged: bool
    iterations: int
    deviance: float
    pseudo_r2: float
    fitted: np.ndarray = field(repr=False)
    se_type: str
    df_k: int
    messages: tuple[str, ...] = ()

    @property
    def z(self) -> pd.Series:
        """z statistics ``coef / se``."""
        return (self.coef / self.se).rename("z")

    @property
    def p_value(self) -> pd.Series:
        """Two-sided normal p-values (:func:`migravity.engine.inference.p_value`)."""
        return self.z.map(_p_value).rename("p_value")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Normal confidence intervals ``coef -+ q se`` with ``q`` the ``(1 + level) / 2`` quantile.

        Parameters
        ----------
        level : float
            Coverage, strictly between 0 and 1.

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_low, ci_high`` indexed by term.
        """
        if not 0.0 < level < 1.0:
            raise ConfigError("level", level, "use a coverage strictly between 0 and 1, e.g. 0.95")
        q = NormalDist().inv_cdf(0.5 + level / 2.0)
        return pd.DataFrame({"ci_low": self.coef - q * self.se, "ci_high": self.coef + q * self.se})

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table: ``term, estimate, std_error, z, p_value, ci_low, ci_high``.

        Parameters
        ----------
        level : float
            Coverage of the confidence interval.

        Returns
        -------
        pandas.DataFrame
            One row per term.
        """
        ci = self.conf_int(level)
        return pd.DataFrame({
            "term": list(self.coef.index),
            "estimate": self.coef.to_numpy(),
            "std_error": self.se.to_numpy(),
            "z": self.z.to_numpy(),
            "p_value": self.p_value.to_numpy(),
            "ci_low": ci["ci_low"].to_numpy(),
            "ci_high": ci["ci_high"].to_numpy(),
        })

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (no fitted values; NaN and infinities as ``None``)."""

        def num(v: float) -> float | None:
            v = float(v)
            return v if math.isfinite(v) else None

        terms = [str(t) for t in self.coef.index]
        return {
            "terms": terms,
            "coef": [num(v) for v in self.coef],
            "se": [num(v) for v in self.se],
            "vcov": [[num(v) for v in row] for row in self.vcov.to_numpy()],
            "p_value": [num(v) for v in self.p_value],
            "n_obs": int(self.n_obs),
            "n_dropped": int(self.n_dropped),
            "drop_reasons": {k: int(v) for k, v in self.drop_reasons.items()},
            "n_clusters": {str(k): int(v) for k, v in self.n_clusters.items()},
            "converged": bool(self.converged),
            "iterations": int(self.iterations),
            "deviance": num(self.deviance),
            "pseudo_r2": num(self.pseudo_r2),
            "se_type": self.se_type,
            "df_k": int(self.df_k),
            "messages": list(self.messages),
        }


def _column(data: pd.DataFrame, field_name: str, col: str) -> pd.Series:
    if col not in data.columns:
        raise ConfigError(field_name, col, f"name a column of data (it has {list(data.columns)[:12]})")
    return data[col]


def _numeric(data: pd.DataFrame, field_name: str, col: str) -> np.ndarray:
    s = _column(data, field_name, col)
    try:
        v = np.ascontiguousarray(s.to_numpy(dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise InputError(f"column {col!r} ({field_name}) is not numeric: convert it to numbers") from exc
    bad = ~np.isfinite(v)
    if bad.any():
        raise InputError(
            f"column {col!r} ({field_name}) has {int(bad.sum())} missing or infinite value(s), "
            f"e.g. at row {data.index[np.flatnonzero(bad)[0]]!r}: drop or fill those rows first"
        )
    return v


def _codes(data: pd.DataFrame, field_name: str, col: str) -> np.ndarray:
    s = _column(data, field_name, col)
    codes, _ = pd.factorize(s, use_na_sentinel=True)
    if (codes < 0).any():
        raise InputError(
            f"column {col!r} ({field_name}) has {int((codes < 0).sum())} missing value(s): "
            "drop those rows or give them a group"
        )
    return codes.astype(np.int64)


def _compact(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber codes 0..m-1 (in order of first appearance); return them and m."""
    c, uniques = pd.factorize(codes)
    return np.ascontiguousarray(c, dtype=np.int64), len(uniques)


def _find_drops(y: np.ndarray, fe_codes: list[np.ndarray], drop_singletons: bool) -> tuple[np.ndarray, dict[str, int]]:
    """Rows kept after removing singletons and separated groups until none is left."""
    keep = np.ones(y.shape[0], dtype=bool)
    reasons = {"singleton": 0, "separation": 0}
    pos = (y > 0).astype(np.float64)
    changed = True
    while changed:
        changed = False
        if drop_singletons:
            single = True
            while single:
                single = False
                for c in fe_codes:
                    counts = np.bincount(c[keep], minlength=int(c.max()) + 1 if c.size else 0)
                    bad = keep & (counts[c] == 1)
                    if bad.any():
                        keep &= ~bad
                        reasons["singleton"] += int(bad.sum())
                        single = changed = True
        for c in fe_codes:
            m = int(c.max()) + 1 if c.size else 0
            counts = np.bincount(c[keep], minlength=m)
            npos = np.bincount(c[keep], weights=pos[keep], minlength=m)
            bad = keep & (counts[c] > 0) & (npos[c] == 0)
            if bad.any():
                keep &= ~bad
                reasons["separation"] += int(bad.sum())
                changed = True
    return keep, reasons


def _demean(x: np.ndarray, codes: np.ndarray, n_groups: np.ndarray, w: np.ndarray, tol: float,
            max_iter: int, messages: list[str], what: str) -> np.ndarray:
    out = np.empty_like(x)
    it, ok, change = _k.demean(x, codes, n_groups, w, tol, max_iter, out)
    if not ok and not any(m.startswith("demeaning") for m in messages):
        messages.append(
            f"demeaning {what} stopped after {it} sweeps with relative change {change:.3g} > fe_tol={tol:g} "
            "(reported once; raise fe_max_iter or loosen fe_tol)"
        )
    return out


def _check_collinear(xt: np.ndarray, x: np.ndarray, names: Sequence[str]) -> None:
    """Raise :class:`InputError` naming a regressor collinear with the fixed effects or the others."""
    for j, name in enumerate(names):
        norm = float(np.linalg.norm(x[:, j] - x[:, j].mean())) + float(abs(x[:, j].mean())) * math.sqrt(x.shape[0])
        if float(np.linalg.norm(xt[:, j])) <= COLLINEAR_TOL * max(norm, 1e-300):
            raise InputError(
                f"regressor {name!r} is collinear with the fixed effects (constant within their groups): "
                "drop it from x"
            )
    if xt.shape[1] > 1:
        r = np.linalg.qr(xt / np.linalg.norm(xt, axis=0), mode="r")
        d = np.abs(np.diag(r))
        for j in range(1, len(names)):
            if d[j] <= 1e-7:
                raise InputError(
                    f"regressor {names[j]!r} is collinear with the other regressors {list(names[:j])} "
                    "after partialling out the fixed effects: drop it from x"
                )


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2.0 * np.sum(term - (y - mu)))


def _ssc_df_k(k: int, k_fe: np.ndarray, nested: np.ndarray | None) -> int:
    """pyfixest's ``df_k`` (``k_fixef="nonnested"``); ``nested`` flags the dimensions nested in a cluster."""
    n_fe = len(k_fe)
    k_fe_adj = int(k_fe.sum()) - (n_fe - 1) if n_fe > 1 else int(k_fe.sum())
    if nested is None or not nested.any():
        return k + k_fe_adj
    return k + k_fe_adj - int(k_fe[nested].sum()) + int(nested.sum())


def fepois(
    data: pd.DataFrame,
    y: str,
    x: Sequence[str],
    fe: Sequence[str],
    *,
    offset: str | None = None,
    se: SEType = "cluster",
    cluster: Sequence[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
    fe_tol: float = 1e-12,
    fe_max_iter: int = 10_000,
    drop_singletons: bool = True,
    strict: bool = False,
) -> PanelResult:
    """Poisson PPML with G sets of fixed effects concentrated out (see :mod:`migravity.engine.hdfe`).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    y : str
        Column of the outcome (non-negative, finite).
    x : sequence of str
        Columns of the regressors (finite; not collinear with the fixed effects or each other).
    fe : sequence of str
        Columns whose values label the groups of each fixed-effect dimension (any hashable;
        build interactions such as origin x period as one column). At least one.
    offset : str, optional
        Column added to the linear predictor with coefficient 1 (e.g. log exposure).
    se : {"cluster", "hc1"}
        Clustered (CRV1; one- or two-way) or heteroskedasticity-robust (HC1) covariance.
    cluster : sequence of str, optional
        One or two cluster columns; required when ``se="cluster"``.
    tol : float
        IRLS stops when the deviance changes by less than this, relative.
    max_iter : int
        Most IRLS iterations.
    fe_tol : float
        Tolerance of the demeaning (alternating projections).
    fe_max_iter : int
        Most sweeps of one demeaning.
    drop_singletons : bool
        Drop observations alone in a fixed-effect group (pyfixest's default).
    strict : bool
        Raise :class:`~migravity.errors.ConvergenceError` if IRLS does not converge.

    Returns
    -------
    PanelResult

    Raises
    ------
    ConfigError
        A named column is missing, an option is invalid, or ``cluster`` is missing or too long.
    InputError
        Bad values (negative or missing outcome, non-finite regressor or offset, missing group
        labels), no observation left, or a regressor collinear with the fixed effects.
    ConvergenceError
        With ``strict=True``, when IRLS does not converge.
    """
    if not isinstance(data, pd.DataFrame):
        raise ConfigError("data", type(data).__name__, "pass a pandas DataFrame")
    if isinstance(x, str) or isinstance(fe, str):
        raise ConfigError("x" if isinstance(x, str) else "fe", x if isinstance(x, str) else fe,
                          "pass a list of column names")
    x = list(x)
    fe = list(fe)
    if not x:
        raise ConfigError("x", x, "name at least one regressor column")
    if not fe:
        raise ConfigError("fe", fe, "name at least one fixed-effect column")
    if se not in ("hc1", "cluster"):
        raise ConfigError("se", se, "use 'cluster' or 'hc1'")
    clusters: list[str] = []
    if se == "cluster":
        if cluster is None or isinstance(cluster, str) or not 1 <= len(list(cluster)) <= 2:
            raise ConfigError("cluster", cluster, "name one or two cluster columns, e.g. ['origin', 'destination']")
        clusters = list(cluster)
    for name, value in (("tol", tol), ("fe_tol", fe_tol)):
        if not (isinstance(value, int | float) and value > 0):
            raise ConfigError(name, value, "use a positive number")
    for name, value in (("max_iter", max_iter), ("fe_max_iter", fe_max_iter)):
        if not (isinstance(value, int) and value >= 1):
            raise ConfigError(name, value, "use a positive integer")

    yv = _numeric(data, "y", y)
    if (yv < 0).any():
        raise InputError(
            f"column {y!r} (y) has {int((yv < 0).sum())} negative value(s), e.g. {yv[yv < 0][0]!r}: "
            "a Poisson outcome must be >= 0"
        )
    xv = np.column_stack([_numeric(data, "x", c) for c in x]) if len(yv) else np.empty((0, len(x)))
    off = _numeric(data, "offset", offset) if offset is not None else np.zeros(len(yv))
    fe_all = [_codes(data, "fe", c) for c in fe]
    cl_all = [_codes(data, "cluster", c) for c in clusters]
    if len(yv) == 0:
        raise InputError("data has no rows: pass at least one observation")

    keep, reasons = _find_drops(yv, fe_all, drop_singletons)
    messages: list[str] = []
    for why, count in reasons.items():
        if count:
            what = ("alone in a fixed-effect group" if why == "singleton"
                    else "in a fixed-effect group whose outcomes are all zero (separated)")
            messages.append(f"{count} observation(s) {what} were left out of the fit")
    n = int(keep.sum())
    if n == 0:
        raise InputError(
            f"no observation is left after dropping {reasons}: every group of {fe} is all-zero or a singleton"
        )
    yk = np.ascontiguousarray(yv[keep])
    xk = np.ascontiguousarray(xv[keep])
    ok = np.ascontiguousarray(off[keep])
    compact = [_compact(c[keep]) for c in fe_all]
    codes = np.ascontiguousarray(np.vstack([c for c, _ in compact]))
    k_fe = np.array([m for _, m in compact], dtype=np.int64)

    xt0 = _demean(xk, codes, k_fe, np.ones(n), fe_tol, fe_max_iter, messages, "x")
    _check_collinear(xt0, xk, x)

    # IRLS (ppmlhdfe / pyfixest fepois)
    mu = (yk + yk.mean()) / 2.0
    eta = np.log(mu)
    last = _deviance(yk, mu)
    converged = False
    beta = np.zeros(len(x))
    it = 0
    zx = np.empty((n, len(x) + 1))
    zx[:, 1:] = xk
    while it < max_iter:
        it += 1
        zx[:, 0] = eta - ok + (yk - mu) / mu
        zxt = _demean(zx, codes, k_fe, mu, fe_tol, fe_max_iter, messages, f"the working outcome (iteration {it})")
        zt, xt = zxt[:, 0], zxt[:, 1:]
        wx = xt * mu[:, None]
        beta = np.linalg.solve(wx.T @ xt, wx.T @ zt)
        resid = zt - xt @ beta
        eta = zx[:, 0] - resid + ok
        mu = np.exp(eta)
        dev = _deviance(yk, mu)
        crit = abs(dev - last) / (0.1 + abs(last))
        last = dev
        if crit < tol:
            converged = True
            break
    if not converged:
        msg = f"IRLS did not converge in {max_iter} iterations (relative deviance change {crit:.3g} > tol={tol:g})"
        if strict:
            raise ConvergenceError(msg + "; raise max_iter or loosen tol (strict=True)")
        messages.append(msg)

    # covariance
    xt = _demean(np.ascontiguousarray(xk), codes, k_fe, mu, fe_tol, fe_max_iter, messages, "x (final)")
    bread = np.linalg.inv((xt * mu[:, None]).T @ xt)
    scores = np.ascontiguousarray(xt * (yk - mu)[:, None])
    k = len(x)
    n_clusters: dict[str, int] = {}
    if se == "hc1":
        df_k = _ssc_df_k(k, k_fe, None)
        v = (n / (n - df_k)) * (bread @ (scores.T @ scores) @ bread)
        se_type = "hc1"
    else:
        cl = [_compact(c[keep]) for c in cl_all]
        if len(cl) == 2:
            inter = _compact(cl[0][0] * np.int64(cl[1][1]) + cl[1][0])
            cl.append(inter)
        for name, (_, m) in zip(clusters, cl, strict=False):
            n_clusters[name] = m
        nested = np.array([
            fe[g] in clusters or any(_k.nested_in(codes[g], k_fe[g], c) for c, _ in cl) for g in range(len(fe))
        ])
        df_k = _ssc_df_k(k, k_fe, nested)
        g_min = min(n_clusters.values())
        if g_min < 2:
            messages.append(f"only {g_min} cluster: clustered standard errors are undefined (NaN)")
        factor = (n - 1) / (n - df_k) * (g_min / (g_min - 1) if g_min > 1 else math.nan)
        v = np.zeros((k, k))
        for sign, (c, m) in zip((1.0, 1.0, -1.0), cl, strict=False):
            v += sign * (bread @ _k.cluster_meat(scores, c, m) @ bread)
        v *= factor
        se_type = "cluster" if len(clusters) == 1 else "cluster2"
    v = 0.5 * (v + v.T)
    diag = np.diag(v)
    if (diag < 0).any():
        neg = [x[j] for j in np.flatnonzero(diag < 0)]
        messages.append(
            f"the two-way clustered covariance is not positive semi-definite (negative variance of {neg}); "
            "left unchanged as pyfixest does: their standard errors are NaN"
        )
    with np.errstate(invalid="ignore"):
        sev = np.sqrt(diag)

    from scipy.special import gammaln

    ll = float(np.sum(yk * np.log(mu) - mu - gammaln(yk + 1.0)))
    ybar = float(yk.mean())
    ll0 = float(np.sum(yk * np.log(ybar) - ybar - gammaln(yk + 1.0))) if ybar > 0 else math.nan
    fitted = np.full(len(yv), np.nan)
    fitted[keep] = mu
    return PanelResult(
        coef=pd.Series(beta, index=x, name="coef"),
        se=pd.Series(sev, index=x, name="se"),
        vcov=pd.DataFrame(v, index=x, columns=x),
        n_obs=n,
        n_dropped=int(len(yv) - n),
        drop_reasons=reasons,
        n_clusters=n_clusters,
        converged=converged,
        iterations=it,
        deviance=float(last),
        pseudo_r2=1.0 - ll / ll0 if ll0 else math.nan,
        fitted=fitted,
        se_type=se_type,
        df_k=int(df_k),
        messages=tuple(messages),
    )
