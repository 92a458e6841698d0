"""Model parameters: calibrated on the real Census 2021 flows where the data identify them, assumed otherwise.

Calibrated (PPML, robust sandwich covariance):

- ``beta_commute``: power deterrence of commuting, doubly-constrained gravity on the Census 2021
  travel-to-work flows (ODWP01EW, inter-LAD pairs). It defines job accessibility
  ``A_j = sum_k jobs_k d_jk^beta_commute`` (``d_jj`` the intra-zone distance).
- ``beta_distance`` (``log distance``), ``gamma_border``, ``theta_price`` (``log house price``),
  ``theta_access`` (``log A``), ``theta_pop`` (``log population``), ``delta_wfh_access`` and
  ``delta_wfh_price`` (the origin's Census WFH share, centred on the national share, times the
  destination's ``log A`` and ``log house price``): production-constrained gravity on the Census
  2021 inter-LAD migration flows (ODMG01EW, 318 x 317 pairs on 2023 codes).

Assumed (uniform ranges, overridable in a scenario's ``[parameters]`` table):

- ``theta_pay``: elasticity of destination choice to a *change* in local weekly pay
  (``log(pay_j / pay_j^0)``); pay levels are not in the calibrated model (with them the price
  elasticity turns positive), so only earnings perturbations use it.
- ``high_skill_price_shift``: added to the high-skilled segments' house-price elasticity.
- ``move_rate_scale``: multiplies the Census 2021 move rates (1 = as observed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from migravity.errors import ConfigError

DataDir = str | os.PathLike[str] | None

CALIBRATED_SOURCE = "calibrated (Census 2021 ODMG01EW, PPML)"
COMMUTE_SOURCE = "calibrated (Census 2021 ODWP01EW, PPML)"
ASSUMED_SOURCE = "assumed"

#: Migration-model term -> parameter name.
MIGRATION_TERMS: dict[str, str] = {
    "log(distance_km)": "beta_distance",
    "border": "gamma_border",
    "log(d_house_price)": "theta_price",
    "log(d_job_access)": "theta_access",
    "log(d_pop_census2021)": "theta_pop",
    "wfh_x_access": "delta_wfh_access",
    "wfh_x_price": "delta_wfh_price",
}
CALIBRATED: tuple[str, ...] = tuple(MIGRATION_TERMS.values())

#: Assumed parameters: point value and default uniform range.
ASSUMED_DEFAULTS: dict[str, tuple[float, tuple[float, float], str]] = {
    "theta_pay": (0.5, (0.25, 0.75), "elasticity of destination choice to a change in local weekly pay"),
    "high_skill_price_shift": (0.0, (-0.1, 0.1), "added to the high-skilled house-price elasticity"),
    "move_rate_scale": (1.0, (0.9, 1.1), "multiplier of the Census 2021 inter-LAD move rates"),
}
ASSUMED: tuple[str, ...] = tuple(ASSUMED_DEFAULTS)
PARAMETERS: tuple[str, ...] = CALIBRATED + ASSUMED
ASSUMED_BOUNDS: dict[str, tuple[float, float]] = {
    "theta_pay": (-5.0, 5.0), "high_skill_price_shift": (-5.0, 5.0), "move_rate_scale": (0.0, 5.0),
}


@dataclass(frozen=True)
class ModelParameters:
    """Point values and uncertainty of the scenario model's parameters (immutable).

    Attributes
    ----------
    mean : dict of str to float
        Calibrated estimates (``CALIBRATED``) and assumed point values (``ASSUMED``).
    vcov : ndarray, shape (7, 7)
        Covariance of the calibrated estimates, in ``CALIBRATED`` order.
    ranges : dict of str to (float, float)
        Uniform ranges of the assumed parameters.
    beta_commute, beta_commute_se : float
        Commuting deterrence (held at its estimate in the draws: its standard error is tiny).
    job_access : ndarray, shape (n,)
        ``A_j`` per LAD.
    fit : dict of str to float
        Fit statistics of the migration calibration.
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

    def __post_init__(self) -> None:
        missing = [p for p in PARAMETERS if p not in self.mean]
        if missing:
            raise ConfigError("parameters", missing, "give a value for every parameter: " + ", ".join(PARAMETERS))
        v = np.asarray(self.vcov, float)
        if v.shape != (len(CALIBRATED), len(CALIBRATED)):
            raise ConfigError("vcov", v.shape, f"give a ({len(CALIBRATED)}, {len(CALIBRATED)}) covariance")
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
        return ModelParameters(mean, self.vcov, ranges, self.beta_commute, self.beta_commute_se,
                               self.job_access, self.wfh_national, self.std_errors, self.fit)

    def draw(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` Monte Carlo draws: calibrated ones multivariate normal, assumed ones uniform.

        Draw 0 is always the point estimate, so a one-draw run is the central case.
        """
        cal = rng.multivariate_normal([self.mean[p] for p in CALIBRATED], self.vcov, size=n, method="cholesky")
        cal[0] = [self.mean[p] for p in CALIBRATED]
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
        desc = {v: k for k, v in MIGRATION_TERMS.items()}
        for p in CALIBRATED:
            se = float(np.sqrt(self.vcov[CALIBRATED.index(p), CALIBRATED.index(p)]))
            rows.append({"parameter": p, "value": self.mean[p], "std_error": se,
                         "low": self.mean[p] - 1.645 * se, "high": self.mean[p] + 1.645 * se,
                         "source": CALIBRATED_SOURCE, "description": f"migration term {desc[p]}"})
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


def calibrate_parameters(zones, attributes=None, data_dir: DataDir = None) -> ModelParameters:
    """Calibrate the scenario model on the real Census 2021 flows of ``zones``.

    Parameters
    ----------
    zones : migravity.geodata.ZoneSet
        The study area.
    attributes : xarray.Dataset, optional
        Its attributes (loaded if not given).
    data_dir : path-like, optional
        Data directory.
    """
    from migravity.engine import calibrate
    from migravity.geodata import distance_matrix, load_attributes, od_table

    attributes = attributes if attributes is not None else load_attributes(zones, data_dir)
    commute = od_table(zones, kind="commute2021", attribute_vars=(), data_dir=data_dir)
    rc = calibrate(commute, origin="origin", destination="destination", flow="flow", cost="distance_km",
                   constraint="doubly", terms=("border",), se="robust")
    beta_c = float(rc.coefficients["log(distance_km)"])
    dist = distance_matrix(zones).to_numpy()
    access = job_accessibility(attributes["jobs"].to_numpy().astype(float), dist, beta_c)
    attrs = attributes.assign(job_access=("lad", access))
    table = od_table(zones, kind="migration2021", attributes=attrs, data_dir=data_dir,
                     attribute_vars=("house_price", "job_access", "pop_census2021", "wfh_share"))
    workers = attributes["workers"].to_numpy().astype(float)
    w_nat = float(np.average(attributes["wfh_share"].to_numpy().astype(float), weights=workers))
    centred = table["o_wfh_share"] - w_nat
    table["wfh_x_access"] = centred * np.log(table["d_job_access"])
    table["wfh_x_price"] = centred * np.log(table["d_house_price"])
    terms = tuple(t for t in MIGRATION_TERMS if t != "log(distance_km)")
    rm = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                   constraint="production", terms=terms, se="robust")
    mean = {MIGRATION_TERMS[t]: float(rm.coefficients[t]) for t in MIGRATION_TERMS}
    vcov = rm.vcov.loc[list(MIGRATION_TERMS), list(MIGRATION_TERMS)].to_numpy(float)
    for name, (value, _, _) in ASSUMED_DEFAULTS.items():
        mean[name] = value
    ranges = {name: rng_ for name, (_, rng_, _) in ASSUMED_DEFAULTS.items()}
    ses = {MIGRATION_TERMS[t]: float(rm.std_errors[t]) for t in MIGRATION_TERMS}
    return ModelParameters(mean, vcov, ranges, beta_c, float(rc.std_errors["log(distance_km)"]), access, w_nat, ses,
                           {k: float(v) for k, v in rm.fit.items() if isinstance(v, int | float)})
