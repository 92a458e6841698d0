"""Goodness-of-fit statistics of a fitted flow model (over the fitted pairs).

With ``y`` the observed and ``mu`` the fitted flows over the ``N`` fitted pairs:

``loglik``
    Full Poisson log-likelihood ``sum(y log mu - mu - log y!)`` (``log y!`` by the log-gamma
    function).
``loglik_null``
    The same for the intercept-only model on the same pairs (``mu = mean(y)``); with an offset
    ``o`` the intercept-plus-offset model (``mu = exp(c + o)``, ``c`` fitted), as statsmodels'
    ``llnull``.
``deviance``
    ``2 sum(y log(y / mu) - (y - mu))`` (``y log y = 0`` at ``y = 0``).
``aic``
    ``2 K - 2 loglik`` with ``K`` all estimated parameters including the fixed effects.
``bic``
    ``K log N - 2 loglik``.
``pseudo_r2``
    McFadden's ``1 - loglik / loglik_null``.
``srmse``
    Standardised root mean square error ``sqrt(mean((y - mu)^2)) / mean(y)``.
``cpc``
    Common part of commuters ``2 sum min(y, mu) / (sum y + sum mu)``.
``n_params``, ``n_obs``
    ``K`` and ``N``.

:func:`srmse` and :func:`cpc` give the last two for any paired flows (e.g. predictions out of
sample). The per-pair Sørensen similarity index :func:`ssi` is ``2 min(y, mu) / (y + mu)``,
defined as 1 where both are 0.
"""

from __future__ import annotations

import numpy as np

from migravity.engine._kernels_ppml import fit_sums


def fit_statistics_grid(
    y: np.ndarray, mu: np.ndarray, mask: np.ndarray, n_params: int, offset: np.ndarray | None = None,
) -> dict[str, float]:
    """The statistics of the module docstring over the pairs in ``mask`` of (n_o, n_d) arrays, in one pass.

    Parameters
    ----------
    y, mu : ndarray, shape (n_o, n_d)
        Observed and fitted flows.
    mask : ndarray of bool, shape (n_o, n_d)
        The fitted pairs.
    n_params : int
        ``K``, all estimated parameters including the fixed effects.
    offset : ndarray, shape (n_o, n_d), optional
        The model's offset: the null model is then the intercept plus the offset.

    Returns
    -------
    dict of str to float
    """
    n, sy, smu, sylm, syly, slg, sq, smin = fit_sums(y, mu, mask)
    out = _from_sums(n, sy, smu, sylm, syly, slg, sq, smin, n_params)
    if offset is not None:
        ll0 = _null_loglik_offset(y[mask], offset[mask], sy, slg)
        out["loglik_null"] = ll0
        out["pseudo_r2"] = 1.0 - out["loglik"] / ll0 if ll0 != 0 else float("nan")
    return out


def _null_loglik_offset(y: np.ndarray, o: np.ndarray, sy: float, slg: float) -> float:
    """Log-likelihood of ``mu = exp(c + o)`` with ``c = log(sum y / sum exp(o))`` (its MLE)."""
    if sy <= 0:
        return float(-slg)
    top = float(o.max())
    log_sum_exp = top + float(np.log(np.exp(o - top).sum()))
    return float(y.dot(o) + sy * (np.log(sy) - log_sum_exp) - sy - slg)


def _from_sums(n: float, sy: float, smu: float, sylm: float, syly: float, slg: float, sq: float, smin: float,
               n_params: int) -> dict[str, float]:
    """The statistics from the sums of ``y``, ``mu``, ``y log mu``, ``y log y``, ``log y!``,
    ``(y - mu)^2`` and ``min(y, mu)`` over ``n`` pairs."""
    n = int(n)
    ll = float(sylm - smu - slg)
    ybar = sy / n if n else float("nan")
    ll0 = float(sy * np.log(ybar) - n * ybar - slg) if ybar > 0 else float(-slg)
    dev = float(2.0 * (syly - sylm - (sy - smu)))
    return {
        "loglik": ll,
        "loglik_null": ll0,
        "deviance": dev,
        "aic": 2.0 * n_params - 2.0 * ll,
        "bic": n_params * np.log(n) - 2.0 * ll,
        "pseudo_r2": 1.0 - ll / ll0 if ll0 != 0 else float("nan"),
        "srmse": _srmse(sq, sy, n),
        "cpc": _cpc(smin, sy, smu),
        "n_params": float(n_params),
        "n_obs": float(n),
    }


def _srmse(sq: float, sy: float, n: int) -> float:
    """SRMSE from the sums of ``(y - mu)^2`` and ``y`` over ``n`` pairs."""
    ybar = sy / n if n else float("nan")
    return float(np.sqrt(sq / n) / ybar) if ybar > 0 else float("nan")


def _cpc(smin: float, sy: float, smu: float) -> float:
    """CPC from the sums of ``min(y, mu)``, ``y`` and ``mu``."""
    return float(2.0 * smin / (sy + smu))


def srmse(y: np.ndarray, mu: np.ndarray) -> float:
    """Standardised root mean square error ``sqrt(mean((y - mu)^2)) / mean(y)`` of paired flows.

    Parameters
    ----------
    y, mu : ndarray
        Observed and predicted flows over the same pairs.

    Returns
    -------
    float
        NaN when ``mean(y)`` is not positive.
    """
    y = np.asarray(y, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    return _srmse(float(((y - mu) ** 2).sum()), float(y.sum()), y.size)


def cpc(y: np.ndarray, mu: np.ndarray) -> float:
    """Common part of commuters ``2 sum min(y, mu) / (sum y + sum mu)`` of paired flows.

    Parameters
    ----------
    y, mu : ndarray
        Observed and predicted flows over the same pairs.

    Returns
    -------
    float
    """
    y = np.asarray(y, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    return _cpc(float(np.minimum(y, mu).sum()), float(y.sum()), float(mu.sum()))


def ssi(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Sørensen similarity per pair: ``2 min(y, mu) / (y + mu)``, 1 where both are 0."""
    y = np.asarray(y, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    den = y + mu
    out = np.ones(np.broadcast_shapes(y.shape, mu.shape))
    np.divide(2.0 * np.minimum(y, mu), den, out=out, where=den > 0)
    return out
