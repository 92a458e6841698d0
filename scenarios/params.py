r"""Model parameters of the two-stage structural gravity model: calibrated where the data identify them.

Commuting (PPML, robust sandwich covariance):

- ``beta_commute``: power deterrence of commuting, doubly-constrained gravity on the Census 2021
  travel-to-work flows (ODWP01EW, inter-LAD pairs). It defines job accessibility
  ``A_j = sum_k jobs_k d_jk^beta_commute`` (``d_jj`` the intra-zone distance).

Stage 1 (pair level; doubly-constrained PPML on the Census 2021 inter-LAD migration flows,
ODMG01EW, 318 x 317 off-diagonal pairs on 2023 codes, origin and destination fixed effects,
robust covariance ``V1``):

- ``beta_distance`` (``log distance``), ``gamma_border`` (shared border);
- ``delta_wfh_access`` and ``delta_wfh_price``: the origin's Census WFH share (centred on the
  national share) times the destination's ``log A`` and ``log house price``. With both sets of
  fixed effects these are identified only from how destination choice differs *within* each
  destination across origins of different WFH shares.
- The destination fixed effects ``gamma_j`` (normalised to a worker-weighted mean of 0).

Stage 2 (destination level; WLS of ``gamma_j`` on destination attributes, weights = observed
inflows ``D_j``, heteroskedasticity-robust HC1 covariance ``V2``):

- ``theta_price`` (``log median house price``), ``theta_access`` (``log A``), ``theta_pop``
  (``log population``), ``theta_pay_level`` (``log median weekly pay``, a control: see below);
- the residual ``u_j = gamma_j - X_j theta`` (amenities, universities, ... : everything the
  attributes miss) is kept as part of the destination constant.

Assumed (uniform ranges, overridable in a scenario's ``[parameters]`` table):

- ``theta_pay``: elasticity of destination choice to a *change* in local weekly pay. The stage-2
  pay coefficient (``theta_pay_level``) is negative (high-pay areas lost movers in the year to
  March 2021 and pay is collinear with prices, r = 0.76): it is not a credible response to a pay
  rise, so pay perturbations use this assumed value.
- ``high_skill_price_shift``: added to the high-skilled segments' price-response elasticity.
- ``move_rate_scale``: multiplies the Census 2021 move rates (1 = as observed).
- ``price_elasticity_cap``: upper bound of every segment's price-response elasticity (default 0:
  sign-restricted, a price rise never makes a destination more attractive). The unrestricted
  stage-2 estimate is positive (+0.07, not significant) and the never-WFH segments' elasticity
  ``theta_price + delta_wfh_price x_s`` would be about +0.6; set the cap to 5 to switch the
  restriction off.

The Monte Carlo draws stage-1 coefficients from ``N(beta, V1)`` and stage-2 coefficients from
``N(theta, V2)`` *independently* (the covariance is block-diagonal: the stage-2 sampling error
given ``gamma`` dominates, the generated-regressor covariance between the stages is ignored), the
assumed ones uniformly over their ranges; draw 0 is the point estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from migravity.errors import ConfigError
from migravity.geodata.datadir import DataDir

if TYPE_CHECKING:
    import xarray as xr

    from migravity.geodata.zones import ZoneSet

STAGE1_SOURCE = "calibrated (stage 1: Census 2021 ODMG01EW, doubly-constrained PPML)"
STAGE2_SOURCE = "calibrated (stage 2: WLS of destination effects)"
COMMUTE_SOURCE = "calibrated (Census 2021 ODWP01EW, doubly-constrained PPML)"
ASSUMED_SOURCE = "assumed"
CALIBRATED_SOURCE = STAGE1_SOURCE  # backwards-compatible name

#: Stage-1 (pair) term -> parameter name.
STAGE1_TERMS: dict[str, str] = {
    "log(distance_km)": "beta_distance",
    "border": "gamma_border",
    "wfh_x_access": "delta_wfh_access",
    "wfh_x_price": "delta_wfh_price",
}
#: Stage-2 (destination) regressor -> parameter name.
STAGE2_TERMS: dict[str, str] = {
    "log(house_price)": "theta_price",
    "log(job_access)": "theta_access",
    "log(pop_census2021)": "theta_pop",
    "log(weekly_pay)": "theta_pay_level",
}
MIGRATION_TERMS: dict[str, str] = {**STAGE1_TERMS, **STAGE2_TERMS}
STAGE1: tuple[str, ...] = tuple(STAGE1_TERMS.values())
STAGE2: tuple[str, ...] = tuple(STAGE2_TERMS.values())
CALIBRATED: tuple[str, ...] = STAGE1 + STAGE2

#: Assumed parameters: point value, default uniform range, description.
ASSUMED_DEFAULTS: dict[str, tuple[float, tuple[float, float], str]] = {
    "theta_pay": (0.5, (0.25, 0.75), "elasticity of destination choice to a change in local weekly pay"),
    "high_skill_price_shift": (0.0, (-0.1, 0.1), "added to the high-skilled price-response elasticity"),
    "move_rate_scale": (1.0, (0.9, 1.1), "multiplier of the Census 2021 inter-LAD move rates"),
    "price_elasticity_cap": (0.0, (0.0, 0.0), "upper bound of every segment's price-response elasticity "
                             "(0 = sign-restricted; 5 = unrestricted)"),
}
ASSUMED: tuple[str, ...] = tuple(ASSUMED_DEFAULTS)
PARAMETERS: tuple[str, ...] = CALIBRATED + ASSUMED
ASSUMED_BOUNDS: dict[str, tuple[float, float]] = {
    "theta_pay": (-5.0, 5.0), "high_skill_price_shift": (-5.0, 5.0), "move_rate_scale": (0.0, 5.0),
    "price_elasticity_cap": (-5.0, 5.0),
}
_DESCRIPTIONS = {
    "beta_distance": "log distance (km) between origin and destination",
    "gamma_border": "shared border",
    "delta_wfh_access": "origin WFH share (centred) x destination log job accessibility",
    "delta_wfh_price": "origin WFH share (centred) x destination log house price",
    "theta_price": "destination log median house price",
    "theta_access": "destination log job accessibility (absorbed in the constant; no scenario changes it)",
    "theta_pop": "destination log population (absorbed in the constant)",
    "theta_pay_level": "destination log weekly pay (control; pay changes use the assumed theta_pay)",
}


@dataclass(frozen=True)
class ModelParameters:
    """Point values and uncertainty of the scenario model's parameters (immutable).

    Attributes
    ----------
    mean : dict of str to float
        Calibrated estimates (``CALIBRATED``: stage 1 then stage 2) and assumed point values.
    vcov : ndarray, shape (8, 8)
        Covariance of the calibrated estimates in ``CALIBRATED`` order: block-diagonal
        (``V1`` for stage 1, ``V2`` for stage 2; the stages are drawn independently).
    ranges : dict of str to (float, float)
        Uniform ranges of the assumed parameters.
    beta_commute, beta_commute_se : float
        Commuting deterrence (held at its estimate in the draws: its standard error is tiny).
    job_access : ndarray, shape (n,)
        ``A_j`` per LAD.
    wfh_national : float
        Worker-weighted national Census 2021 WFH share (the centre of the interactions).
    gamma : ndarray, shape (n,), optional
        Stage-1 destination fixed effects (worker-weighted mean 0).
    residual : ndarray, shape (n,), optional
        Stage-2 residual ``u_j = gamma_j - X_j theta`` (intercept included in ``X``).
    fit : dict of str to float
        Fit statistics of both stages.
    """

    mean: dict[str, float]
    vcov: np.ndarray
    ranges: dict[str, tuple[float, float]]
    beta_commute: float
    beta_commute_se: float
    job_access: np.ndarray
    wfh_national: float = 0.45
    std_errors: dict[str, float] = field(default_factory=dict)
    fit: dict[str, float] = field(default_factory=dict)
    gamma: np.ndarray | None = None
    residual: np.ndarray | None = None

    def __post_init__(self) -> None:
        missing = [p for p in PARAMETERS if p not in self.mean]
        if missing:
            raise ConfigError("parameters", missing, "give a value for every parameter: " + ", ".join(PARAMETERS))
        v = np.asarray(self.vcov, float)
        if v.shape != (len(CALIBRATED), len(CALIBRATED)):
            raise ConfigError("vcov", v.shape, f"give a ({len(CALIBRATED)}, {len(CALIBRATED)}) covariance")
        if np.any(v[:len(STAGE1), len(STAGE1):] != 0):
            raise ConfigError("vcov", "off-diagonal block", "give a block-diagonal covariance (stages independent)")
        for name, (lo, hi) in self.ranges.items():
            check_range(f"parameters.{name}", name, lo, hi)

    def with_assumed(self, overrides: dict[str, float | tuple[float, float]]) -> ModelParameters:
        """A copy with assumed parameters replaced: a number fixes one, a pair gives its uniform range."""
        mean, ranges = dict(self.mean), dict(self.ranges)
        for name, value in overrides.items():
            if name not in ASSUMED:
                raise ConfigError(f"parameters.{name}", value, "override one of " + ", ".join(ASSUMED))
            if isinstance(value, tuple):
                check_range(f"parameters.{name}", name, *value)
                ranges[name] = value
                mean[name] = 0.5 * (value[0] + value[1])
            else:
                check_range(f"parameters.{name}", name, value, value)
                ranges[name] = (value, value)
                mean[name] = float(value)
        return replace(self, mean=mean, ranges=ranges)

    def draw(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` Monte Carlo draws: stage 1 and stage 2 normal (independent blocks), assumed ones uniform.

        Draw 0 is always the point estimate, so a one-draw run is the central case.
        """
        centre = [self.mean[p] for p in CALIBRATED]
        cal = rng.multivariate_normal(centre, self.vcov, size=n, method="cholesky")
        cal[0] = centre
        out = {p: cal[:, k].copy() for k, p in enumerate(CALIBRATED)}
        for p in ASSUMED:
            lo, hi = self.ranges[p]
            v = rng.uniform(lo, hi, size=n)
            v[0] = self.mean[p]
            out[p] = v
        return out

    def table(self) -> pd.DataFrame:
        """The parameter table: parameter, value, std_error, low, high, source, description."""
        rows = [{"parameter": "beta_commute", "value": self.beta_commute, "std_error": self.beta_commute_se,
                 "low": np.nan, "high": np.nan, "source": COMMUTE_SOURCE,
                 "description": "commuting distance deterrence (defines job accessibility)"}]
        for p in CALIBRATED:
            se = float(np.sqrt(self.vcov[CALIBRATED.index(p), CALIBRATED.index(p)]))
            rows.append({"parameter": p, "value": self.mean[p], "std_error": se,
                         "low": self.mean[p] - 1.645 * se, "high": self.mean[p] + 1.645 * se,
                         "source": STAGE1_SOURCE if p in STAGE1 else STAGE2_SOURCE,
                         "description": _DESCRIPTIONS[p]})
        for p in ASSUMED:
            lo, hi = self.ranges[p]
            rows.append({"parameter": p, "value": self.mean[p], "std_error": np.nan, "low": lo, "high": hi,
                         "source": ASSUMED_SOURCE, "description": ASSUMED_DEFAULTS[p][2]})
        return pd.DataFrame(rows)


def check_range(field_name: str, name: str, lo: float, hi: float) -> None:
    """Raise :class:`ConfigError` unless ``lo <= hi`` lie within the parameter's allowed bounds."""
    blo, bhi = ASSUMED_BOUNDS.get(name, (-np.inf, np.inf))
    for v in (lo, hi):
        if not isinstance(v, int | float) or isinstance(v, bool) or not np.isfinite(v) or not blo <= v <= bhi:
            raise ConfigError(field_name, v, f"give a number between {blo} and {bhi}")
    if lo > hi:
        raise ConfigError(field_name, [lo, hi], "give [low, high] with low <= high")


def job_accessibility(jobs: np.ndarray, distance: np.ndarray, beta: float) -> np.ndarray:
    """``A_j = sum_k jobs_k d_jk^beta`` (the diagonal of ``distance`` is the intra-zone distance)."""
    return (distance ** beta) @ jobs


def balance(log_k: np.ndarray, rows: np.ndarray, cols: np.ndarray, tol: float = 1e-12,
            max_iter: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Doubly-constrained balancing (Furness): ``a_i, b_j`` with ``exp(a_i + b_j + log_k_ij)`` summing to the margins.

    Runs the engine's balancing kernel (:func:`migravity.engine.balancing.balance_factors`).
    The factors are determined up to a constant (``a + c``, ``b - c``): normalise ``b`` as needed.

    Parameters
    ----------
    log_k : ndarray, shape (n, n)
        Log pair part; ``-inf`` where a pair is excluded (the diagonal).
    rows, cols : ndarray, shape (n,)
        Target origin and destination totals (the same sum).
    tol : float
        Largest relative margin error accepted.
    max_iter : int
        Sweep limit.

    Returns
    -------
    a, b : ndarray, shape (n,)
        The log factors; ``b`` is the destination fixed effect of a doubly-constrained PPML with
        these coefficients (whose first-order conditions are exactly these margins).

    Raises
    ------
    ConvergenceError
        The margins are not matched within ``tol`` after ``max_iter`` sweeps.
    """
    return balance_status(log_k, rows, cols, tol, max_iter)[:2]


def balance_status(log_k: np.ndarray, rows: np.ndarray, cols: np.ndarray, tol: float = 1e-12,
                   max_iter: int = 10_000) -> tuple[np.ndarray, np.ndarray, int, float]:
    """:func:`balance` with its status: log factors ``a``, ``b``, sweeps and largest relative margin error.

    Raises :class:`~migravity.errors.ConvergenceError` when the balancing does not converge.
    """
    from migravity.engine.balancing import balance_factors

    shift = log_k[np.isfinite(log_k)].max()  # K scaled to a largest entry of 1; a takes the shift back
    k = np.exp(log_k - shift)
    res = balance_factors(k, rows, cols, constraint="doubly", tol=tol, max_iter=max_iter, strict=True)
    with np.errstate(divide="ignore"):
        return np.log(res.row_factors) - shift, np.log(res.col_factors), res.iterations, res.max_error


def wls_hc1(y: np.ndarray, x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Weighted least squares with an intercept (first coefficient): coefficients, HC1 covariance, residuals, R^2."""
    n = len(y)
    xm = np.column_stack([np.ones(n), x])
    sw = np.sqrt(weights / weights.mean())
    xw, yw = xm * sw[:, None], y * sw
    bread = np.linalg.inv(xw.T @ xw)
    coef = bread @ xw.T @ yw
    ew = yw - xw @ coef
    vcov = bread @ (xw.T * ew ** 2) @ xw @ bread * n / (n - xm.shape[1])
    ybar = np.average(y, weights=weights)
    r2 = 1.0 - float(np.sum(ew ** 2) / np.sum((sw * (y - ybar)) ** 2))
    return coef, vcov, y - xm @ coef, r2


def calibrate_parameters(
    zones: ZoneSet, attributes: xr.Dataset | None = None, data_dir: DataDir = None) -> ModelParameters:
    """Calibrate the two-stage scenario model on the real Census 2021 flows of ``zones``.

    Parameters
    ----------
    zones : migravity.geodata.ZoneSet
        The study area.
    attributes : xarray.Dataset, optional
        Its attributes (loaded if not given).
    data_dir : path-like, optional
        Data directory.
    """
    from migravity.engine import calibrate, calibrate_arrays
    from migravity.geodata import contiguity_matrix, distance_matrix, load_attributes, load_flows, od_table

    attributes = attributes if attributes is not None else load_attributes(zones, data_dir)
    commute = od_table(zones, kind="commute2021", attribute_vars=(), data_dir=data_dir)
    rc = calibrate(commute, origin="origin", destination="destination", flow="flow", cost="distance_km",
                   constraint="doubly", terms=("border",), se="robust", strict=True)
    beta_c = float(rc.coefficients["log(distance_km)"])
    dist = distance_matrix(zones).to_numpy().astype(float)
    border = contiguity_matrix(zones).to_numpy().astype(float)
    access = job_accessibility(attributes["jobs"].to_numpy().astype(float), dist, beta_c)

    def attr(name: str) -> np.ndarray:
        return attributes[name].to_numpy().astype(float)

    workers = attr("workers")
    w_nat = float(np.average(attr("wfh_share"), weights=workers))
    centred = (attr("wfh_share") - w_nat)[:, None]
    log_a, log_h = np.log(access), np.log(attr("house_price"))
    mig = load_flows("migration2021", zones, data_dir).to_numpy().astype(float)
    off = ~np.eye(len(workers), dtype=bool)
    pair = {"border": border, "wfh_x_access": centred * log_a[None, :], "wfh_x_price": centred * log_h[None, :]}
    r1 = calibrate_arrays(mig, cost=dist, pair_terms=pair, mask=off, constraint="doubly", se="robust",
                          strict=True)
    names1 = ["log(cost)", "border", "wfh_x_access", "wfh_x_price"]
    beta = np.array([r1.coefficients[t] for t in names1])
    v1 = r1.vcov.loc[names1, names1].to_numpy(float)
    # Stage-1 destination effects: balance the pair part to the observed margins (the PPML FOCs).
    log_k = beta[0] * np.log(dist) + sum(b * pair[t] for b, t in zip(beta[1:], names1[1:], strict=True))
    log_k = np.where(off, log_k, -np.inf)
    flows = np.where(off, mig, 0.0)
    _, gamma, balance_sweeps, balance_error = balance_status(log_k, flows.sum(axis=1), flows.sum(axis=0))
    gamma = gamma - np.average(gamma, weights=workers)
    # Stage 2: WLS of gamma_j on destination attributes, weights = observed inflows.
    inflow = flows.sum(axis=0)
    x = np.column_stack([log_h, log_a, np.log(attr("pop_census2021")), np.log(attr("weekly_pay"))])
    theta, v2, resid, r2 = wls_hc1(gamma, x, inflow)
    theta_nopay, v2_nopay, _, r2_nopay = wls_hc1(gamma, x[:, :3], inflow)  # reported: no pay control

    mean = {p: float(b) for p, b in zip(STAGE1, beta, strict=True)}
    mean.update({p: float(t) for p, t in zip(STAGE2, theta[1:], strict=True)})
    vcov = np.zeros((len(CALIBRATED), len(CALIBRATED)))
    vcov[:len(STAGE1), :len(STAGE1)] = v1
    vcov[len(STAGE1):, len(STAGE1):] = v2[1:, 1:]
    for name, (value, _, _) in ASSUMED_DEFAULTS.items():
        mean[name] = value
    ranges = {name: rng_ for name, (_, rng_, _) in ASSUMED_DEFAULTS.items()}
    ses = {p: float(np.sqrt(vcov[k, k])) for k, p in enumerate(CALIBRATED)}
    fit = {f"stage1_{k}": float(v) for k, v in r1.fit.items() if isinstance(v, int | float | np.floating)}
    fit.update({"stage1_converged": float(r1.converged), "stage2_r2": r2, "stage2_intercept": float(theta[0]),
                "stage2_weights_inflow": 1.0, "stage2_nopay_theta_price": float(theta_nopay[1]),
                "stage2_nopay_theta_price_se": float(np.sqrt(v2_nopay[1, 1])), "stage2_nopay_r2": r2_nopay,
                "commute_border": float(rc.coefficients["border"]),
                "stage1_balance_iterations": float(balance_sweeps), "stage1_balance_max_error": balance_error})
    return ModelParameters(mean, vcov, ranges, beta_c, float(rc.std_errors["log(distance_km)"]), access, w_nat,
                           ses, fit, gamma, resid)
