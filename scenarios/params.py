r"""Scenario parameters: built from the evidence (identified estimates with their covariance, assumed ranges).

The scenario model takes its parameters from a :class:`~migravity.analysis.evidence.ScenarioEvidence`:
every scenario parameter is either **identified** (an estimate with a clustered covariance ``vcov``,
drawn jointly normal in the Monte Carlo) or **assumed** (a point value and a uniform range). The
evidence also lists defensible **specifications** (the first is the main one); a run simulates the
main one with the full Monte Carlo and each other one at its point values (see
:func:`migravity.scenarios.run.run_scenarios`).

Scenario parameters (values on the scale the simulation uses; :data:`PARAMETERS`):

- ``beta_distance``, ``gamma_border``: pair terms (log distance, shared border);
- ``delta_wfh_access``, ``delta_wfh_price``: response of destination choice to the destination's
  log job accessibility / log house price per unit of (centred) WFH share of the mover's origin;
  the simulation applies them at a segment's WFH intensity mapped onto that scale;
- ``theta_price``: elasticity of destination choice to a change in the destination's log house price;
- ``theta_pay``: elasticity to a change in destination log weekly pay;
- assumed by the scenario model (:data:`ASSUMED_DEFAULTS`, with ranges and sources):
  ``move_rate_high``, ``move_rate_wfh`` (segment move rates), ``anchor_strength`` (workplace
  anchoring), ``high_skill_price_shift``, ``price_elasticity_cap``, ``move_rate_scale``; and
  ``theta_pay`` where the evidence does not identify it.

Until the identification module lands, :func:`evidence_from_cross_section` builds the evidence from
the two-stage cross-section calibration of Census 2021 (:func:`calibrate_parameters`):

- ``beta_commute`` (not a scenario parameter; it defines job accessibility
  ``A_j = sum_k jobs_k d_jk^beta_commute`` and the commuting deterrence of workplace anchoring):
  doubly-constrained PPML on the Census 2021 travel-to-work flows (ODWP01EW);
- stage 1: doubly-constrained PPML on the Census 2021 inter-LAD migration flows (ODMG01EW) with
  origin and destination effects: ``beta_distance``, ``gamma_border``, ``delta_wfh_access``,
  ``delta_wfh_price`` (robust covariance ``V1``), and the destination effects ``gamma_j``;
- stage 2: WLS of ``gamma_j`` on destination attributes (weights = observed inflows, HC1
  covariance ``V2``): ``theta_price`` (the other stage-2 coefficients, ``theta_access``,
  ``theta_pop``, ``theta_pay_level``, go to the evidence's ``notes``: no scenario changes their
  regressors); the residual ``u_j`` stays in the destination constant;
- ``vcov``: block-diagonal (``V1``, ``V2``; the generated-regressor covariance between the stages
  is ignored); robust, not clustered (the identification module replaces it);
- specifications: ``cross_section`` (main) and ``no_pay_control`` (stage 2 without the pay
  control: ``theta_price`` -0.28 instead of +0.07).

Monte Carlo (:meth:`ModelParameters.draw`): the identified parameters jointly normal
``N(value, vcov)``, the assumed ones uniform over ``[low, high]``, draw 0 the point values; every
draw uses the same stream layout (one normal per identified name of the evidence, one uniform per
parameter), so a scenario and its baseline see the same draws. ``anchor_strength`` is held at its
point value in the draws (the anchor term is a log-sum over workplaces for every pair, and the
pivot is solved with it); its range enters as two extra specifications (``anchor_low``,
``anchor_high``) instead.

A scenario's ``[parameters]`` table may override any parameter (:meth:`ModelParameters.with_assumed`):
a number fixes it, ``[low, high]`` gives a uniform range. An identified parameter forced this way
becomes assumed, and the table records it (status ``assumed``, source naming the estimate it replaced).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from migravity.analysis.evidence import ParameterDecision, ScenarioEvidence, Specification
from migravity.errors import ConfigError
from migravity.geodata.datadir import DataDir
from migravity.utils.reprs import decision_lines, estimate, short_repr

if TYPE_CHECKING:
    import xarray as xr

    from migravity.geodata.zones import ZoneSet

STAGE1_SOURCE = "calibrated (stage 1: Census 2021 ODMG01EW, doubly-constrained PPML, robust covariance)"
STAGE2_SOURCE = "calibrated (stage 2: WLS of destination effects, HC1 covariance)"
COMMUTE_SOURCE = "calibrated (Census 2021 ODWP01EW, doubly-constrained PPML)"
COMMUTE_2011_SOURCE = ("calibrated (Census 2011 WU03UK, doubly-constrained PPML; with the 2011 jobs it defines the job "
                       "accessibility of the identification and of the scenarios)")
ASSUMED_SOURCE = "assumed"
CALIBRATED_SOURCE = STAGE1_SOURCE  # backwards-compatible name
CROSS_SECTION_REASON = ("cross-section of the first COVID year (Census 2021); placeholder until the "
                        "identification module")

#: Stage-1 (pair) term -> parameter name.
STAGE1_TERMS: dict[str, str] = {
    "log(distance_km)": "beta_distance",
    "border": "gamma_border",
    "wfh_x_access": "delta_wfh_access",
    "wfh_x_price": "delta_wfh_price",
}
#: Stage-2 (destination) regressor -> name (only ``theta_price`` is a scenario parameter).
STAGE2_TERMS: dict[str, str] = {
    "log(house_price)": "theta_price",
    "log(job_access)": "theta_access",
    "log(pop_census2021)": "theta_pop",
    "log(weekly_pay)": "theta_pay_level",
}
MIGRATION_TERMS: dict[str, str] = {**STAGE1_TERMS, **STAGE2_TERMS}
STAGE1: tuple[str, ...] = tuple(STAGE1_TERMS.values())
STAGE2: tuple[str, ...] = tuple(STAGE2_TERMS.values())
#: Parameters the cross-section calibration identifies (its ``vcov`` order).
CALIBRATED: tuple[str, ...] = (*STAGE1, "theta_price")

#: Assumed parameters owned by the scenario model: point value, default uniform range, description, source.
ASSUMED_DEFAULTS: dict[str, tuple[float, tuple[float, float], str, str]] = {
    "theta_pay": (0.5, (0.25, 0.75), "elasticity of destination choice to a change in local weekly pay",
                  "assumed: the cross-section pay coefficient (-1.5, high-pay areas lost movers in the first "
                  "COVID year, r = 0.76 with prices) is not a credible response to a pay rise"),
    "high_skill_price_shift": (0.0, (-0.1, 0.1), "added to the high-skilled price-response elasticity",
                               "assumed: no skill breakdown of the flows"),
    "move_rate_scale": (1.0, (0.9, 1.1), "multiplier of the Census 2021 inter-LAD move rates",
                        "assumed: the year to March 2021 against other years (ONS internal migration)"),
    "price_elasticity_cap": (0.0, (0.0, 0.0), "upper bound of every segment's price-response elasticity "
                             "(0 = sign-restricted; 5 = unrestricted)",
                             "assumed: sign restriction, a price rise never attracts"),
    "move_rate_high": (1.3, (1.1, 1.5), "move rate of high-skilled workers relative to others at equal WFH",
                       "assumed: graduates and professionals are more mobile between areas (ONS 2024, "
                       "graduate mobility from LEO; research report)"),
    "move_rate_wfh": (-0.3, (-0.6, 0.0), "change in the log move rate per unit of WFH intensity",
                      "assumed: those who work from home move less than those who do not (research report)"),
    "anchor_strength": (0.5, (0.25, 1.0), "multiplier of the commuting deterrence a mover applies to the "
                        "commute from a candidate home to their workplace, per commuting day / 5",
                        "assumed: many long-distance movers change jobs, so the commuting deterrence binds "
                        "only part of them; held at its point value in the draws, its range is a "
                        "specification pair (anchor_low, anchor_high)"),
}
#: The scenario parameters (names on the scale the simulation uses).
PARAMETERS: tuple[str, ...] = ("beta_distance", "gamma_border", "delta_wfh_access", "delta_wfh_price",
                               "theta_price", "theta_pay", "high_skill_price_shift", "price_elasticity_cap",
                               "move_rate_scale", "move_rate_high", "move_rate_wfh", "anchor_strength")
#: Parameters a scenario's ``[parameters]`` table may set (any scenario parameter).
OVERRIDABLE: tuple[str, ...] = PARAMETERS
ASSUMED: tuple[str, ...] = tuple(ASSUMED_DEFAULTS)
#: Held at their point value in the Monte Carlo draws (their range enters as specifications).
HELD_AT_POINT: tuple[str, ...] = ("anchor_strength",)
ASSUMED_BOUNDS: dict[str, tuple[float, float]] = {
    "theta_pay": (-5.0, 5.0), "high_skill_price_shift": (-5.0, 5.0), "move_rate_scale": (0.0, 5.0),
    "price_elasticity_cap": (-5.0, 5.0), "move_rate_high": (0.1, 10.0), "move_rate_wfh": (-5.0, 5.0),
    "anchor_strength": (0.0, 5.0),
}
_DESCRIPTIONS = {
    "beta_distance": "log distance (km) between origin and destination",
    "gamma_border": "shared border",
    "delta_wfh_access": "origin WFH share (centred) x destination log job accessibility",
    "delta_wfh_price": "origin WFH share (centred) x destination log house price",
    "theta_price": "destination log median house price",
    **{k: v[2] for k, v in ASSUMED_DEFAULTS.items()},
}
STATUSES: tuple[str, ...] = ("identified", "assumed")


def assumed_decision(name: str, value: float, low: float, high: float, source: str, reason: str = ""
                     ) -> ParameterDecision:
    """The :class:`~migravity.analysis.evidence.ParameterDecision` of an assumed parameter (uniform on its range)."""
    return ParameterDecision(name, "assumed", float(value), float("nan"), float(low), float(high), source, reason)


def default_decisions() -> dict[str, ParameterDecision]:
    """The scenario model's own assumed parameters at their defaults (:data:`ASSUMED_DEFAULTS`)."""
    return {k: assumed_decision(k, v, lo, hi, src) for k, (v, (lo, hi), _, src) in ASSUMED_DEFAULTS.items()}


def _factor(vcov: np.ndarray) -> np.ndarray:
    """A square root ``L`` with ``L L' = vcov`` (Cholesky; eigen-decomposition when only semi-definite)."""
    if vcov.size == 0:
        return vcov
    try:
        return np.linalg.cholesky(vcov)
    except np.linalg.LinAlgError:
        val, vec = np.linalg.eigh(0.5 * (vcov + vcov.T))
        return vec * np.sqrt(np.clip(val, 0.0, None))[None, :]


@dataclass(frozen=True)
class ModelParameters:
    """The scenario parameters (from a :class:`ScenarioEvidence`) and the structural inputs of the model (immutable).

    Build with :meth:`from_evidence`, which completes the evidence with the scenario model's own
    assumed parameters (:data:`ASSUMED_DEFAULTS`) and adds the ``anchor_low``/``anchor_high``
    specifications.

    Attributes
    ----------
    decisions : dict of str to ParameterDecision
        Every scenario parameter (:data:`PARAMETERS`; more are kept but unused): status, value,
        standard error, range, source, reason.
    vcov : ndarray, shape (k, k)
        Covariance of ``identified_names`` (the evidence's; a parameter a scenario forced to an
        assumed value keeps its row, unused).
    identified_names : tuple of str
        The evidence's identified parameters, in ``vcov`` order.
    beta_commute, beta_commute_se : float
        Commuting deterrence (held at its estimate in the draws: its standard error is tiny).
    job_access : ndarray, shape (n,)
        ``A_j`` per LAD.
    wfh_national : float
        Worker-weighted national Census 2021 WFH share (the centre of the interactions).
    specifications : tuple of Specification
        The evidence's, the first the main one.
    fit : dict of str to float
        Fit statistics and notes of the evidence.
    gamma, residual : ndarray, shape (n,), optional
        Stage-1 destination effects (worker-weighted mean 0) and the stage-2 residual.
    commute_source : str
        Where ``beta_commute`` comes from (the parameter table's source).
    fit_flows : tuple of (ndarray, ndarray), optional
        The stage-1 gravity fit of the cross-section calibration (Census 2021 migration between the
        zones, doubly constrained, distance, border and the WFH interactions): its observed and fitted
        flows, each shape (n, n). Written into the run directory (``fit.nc``) for ``plot --kind fit``.
    """

    decisions: dict[str, ParameterDecision]
    vcov: np.ndarray
    identified_names: tuple[str, ...]
    beta_commute: float
    beta_commute_se: float
    job_access: np.ndarray
    wfh_national: float = 0.45
    specifications: tuple[Specification, ...] = ()
    fit: dict[str, float] = field(default_factory=dict)
    gamma: np.ndarray | None = None
    residual: np.ndarray | None = None
    commute_source: str = COMMUTE_SOURCE
    fit_flows: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        missing = [p for p in PARAMETERS if p not in self.decisions]
        if missing:
            raise ConfigError("parameters", missing, "give a decision for every parameter: " + ", ".join(PARAMETERS))
        v = np.asarray(self.vcov, float)
        k = len(self.identified_names)
        if v.shape != (k, k) or not np.allclose(v, v.T, rtol=1e-8, atol=1e-14):
            raise ConfigError("vcov", v.shape, f"give a symmetric ({k}, {k}) covariance of {self.identified_names}")
        if k and np.min(np.linalg.eigvalsh(0.5 * (v + v.T))) < -1e-10 * max(1.0, float(np.abs(v).max())):
            raise ConfigError("vcov", "eigenvalues", "give a positive semi-definite covariance")
        for name, d in self.decisions.items():
            if d.name != name:
                raise ConfigError(f"decisions.{name}", d.name, "key each decision by its own name")
            if d.status not in STATUSES:
                raise ConfigError(f"decisions.{name}.status", d.status, "use identified or assumed")
            if d.status == "identified" and name not in self.identified_names:
                raise ConfigError(f"decisions.{name}", "identified", "list it in identified_names with its vcov row")
            if d.status == "assumed":
                check_range(f"parameters.{name}", name, d.low, d.high)
        for n in self.identified_names:
            if n not in self.decisions:
                raise ConfigError("identified_names", n, "give a decision for every identified parameter")

    @classmethod
    def from_evidence(cls, evidence: ScenarioEvidence, *, beta_commute: float, beta_commute_se: float,
                      job_access: np.ndarray, wfh_national: float, gamma: np.ndarray | None = None,
                      residual: np.ndarray | None = None, fit: dict[str, float] | None = None,
                      commute_source: str = COMMUTE_SOURCE,
                      fit_flows: tuple[np.ndarray, np.ndarray] | None = None) -> ModelParameters:
        """Build the parameters from ``evidence``, completed with :func:`default_decisions` where it is silent.

        Parameters
        ----------
        evidence : ScenarioEvidence
            Identified and assumed parameters, covariance, specifications.
        beta_commute, beta_commute_se, job_access, wfh_national, gamma, residual, commute_source, fit_flows
            Structural inputs (see the class attributes).
        fit : dict, optional
            Fit statistics (the evidence's ``notes`` are added).

        Returns
        -------
        ModelParameters
        """
        decisions = {**default_decisions(), **evidence.decisions}
        specs = tuple(evidence.specifications)
        if not specs:
            specs = (Specification("main", "point values of the evidence", {}),)
        return cls(decisions, np.asarray(evidence.vcov, float), tuple(evidence.identified_names), float(beta_commute),
                   float(beta_commute_se), np.asarray(job_access, float), float(wfh_national), specs,
                   {**(fit or {}), **evidence.notes}, gamma, residual, commute_source, fit_flows)

    @property
    def mean(self) -> dict[str, float]:
        """Point value of every parameter."""
        return {k: d.value for k, d in self.decisions.items()}

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """``(low, high)`` of every parameter (identified: value -/+ 1.645 SE)."""
        return {k: (d.low, d.high) for k, d in self.decisions.items()}

    @property
    def status(self) -> dict[str, str]:
        """``identified`` or ``assumed`` per parameter."""
        return {k: d.status for k, d in self.decisions.items()}

    @property
    def std_errors(self) -> dict[str, float]:
        """Standard error per parameter (NaN when assumed)."""
        return {k: d.std_error for k, d in self.decisions.items()}

    def with_assumed(self, overrides: dict[str, float | tuple[float, float]]) -> ModelParameters:
        """A copy with parameters set by a scenario: a number fixes one, a pair gives its uniform range.

        Any parameter of :data:`OVERRIDABLE` may be set; an identified one becomes assumed and its
        source records the estimate it replaced.
        """
        if not overrides:
            return self
        decisions = dict(self.decisions)
        for name, value in overrides.items():
            if name not in OVERRIDABLE:
                raise ConfigError(f"parameters.{name}", value, "override one of " + ", ".join(OVERRIDABLE))
            lo, hi = value if isinstance(value, tuple) else (value, value)
            check_range(f"parameters.{name}", name, lo, hi)
            old = decisions[name]
            src = "assumed: set by the scenario's [parameters]"
            if old.status == "identified":
                src += f" (replaces the identified {old.value:.4g}, SE {old.std_error:.3g}: {old.source})"
            decisions[name] = assumed_decision(name, 0.5 * (lo + hi), lo, hi, src, "forced by the scenario")
        return replace(self, decisions=decisions)

    def with_values(self, values: dict[str, float]) -> ModelParameters:
        """A copy with the point values replaced (a specification's); statuses and ranges kept."""
        decisions = dict(self.decisions)
        for name, v in values.items():
            if name not in decisions:
                raise ConfigError(f"specification.{name}", v, "use one of " + ", ".join(sorted(decisions)))
            decisions[name] = replace(decisions[name], value=float(v))
        return replace(self, decisions=decisions)

    def __repr__(self) -> str:
        n_id = sum(d.status == "identified" for d in self.decisions.values())
        return short_repr(f"<ModelParameters: {len(self.decisions)} parameters ({n_id} identified), "
                          f"{len(self.specifications)} specification(s); beta_commute "
                          f"{estimate(self.beta_commute, self.beta_commute_se)}>", decision_lines(self.decisions))

    def all_specifications(self) -> tuple[Specification, ...]:
        """The evidence's specifications plus ``anchor_low``/``anchor_high`` (the anchor range, not drawn)."""
        out = list(self.specifications)
        a = self.decisions["anchor_strength"]
        if a.status == "assumed" and a.low < a.high:
            out += [Specification("anchor_low", "anchor_strength at the low end of its range",
                                  {"anchor_strength": a.low}),
                    Specification("anchor_high", "anchor_strength at the high end of its range",
                                  {"anchor_strength": a.high})]
        return tuple(out)

    def draw(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` Monte Carlo draws: identified jointly normal ``N(value, vcov)``, assumed uniform on ``[low, high]``.

        Draw 0 is the point values, so a one-draw run is the central case. The stream layout is
        fixed (``n x k`` standard normals for the ``k`` identified names of the evidence, then
        ``n`` uniforms per parameter in sorted-name order) whatever a scenario forces, so paired
        runs share their random numbers. :data:`HELD_AT_POINT` parameters stay at their value.
        """
        names = self.identified_names
        z = rng.standard_normal((n, len(names)))
        order = sorted(self.decisions)
        u = rng.uniform(size=(n, len(order)))
        centre = np.array([self.decisions[p].value for p in names])
        normal = centre[None, :] + z @ _factor(np.asarray(self.vcov, float)).T if names else np.zeros((n, 0))
        out: dict[str, np.ndarray] = {}
        for k, p in enumerate(order):
            d = self.decisions[p]
            if p in HELD_AT_POINT:
                v = np.full(n, d.value)
            elif d.status == "identified":
                v = normal[:, names.index(p)].copy()
            else:
                v = d.low + u[:, k] * (d.high - d.low)
            v[0] = d.value
            out[p] = v
        return out

    def table(self) -> pd.DataFrame:
        """The parameter table: parameter, value, std_error, low, high, status, source, reason, description."""
        rows = [{"parameter": "beta_commute", "value": self.beta_commute, "std_error": self.beta_commute_se,
                 "low": self.beta_commute - 1.645 * self.beta_commute_se,
                 "high": self.beta_commute + 1.645 * self.beta_commute_se, "status": "identified",
                 "source": self.commute_source, "reason": "held at its estimate in the draws (standard error tiny)",
                 "description": "commuting distance deterrence (job accessibility, workplace anchoring)"}]
        for p in (*PARAMETERS, *sorted(set(self.decisions) - set(PARAMETERS))):
            d = self.decisions[p]
            reason = d.reason
            if p in HELD_AT_POINT:
                reason = (reason + "; " if reason else "") + "held at its value in the draws; range as specifications"
            rows.append({"parameter": p, "value": d.value, "std_error": d.std_error, "low": d.low, "high": d.high,
                         "status": d.status, "source": d.source, "reason": reason,
                         "description": _DESCRIPTIONS.get(p, "")})
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




def _cross_section(zones: ZoneSet, attributes: xr.Dataset | None, data_dir: DataDir
                   ) -> tuple[ScenarioEvidence, dict[str, Any]]:
    """The two-stage cross-section calibration: its evidence and the structural inputs."""
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

    decisions: dict[str, ParameterDecision] = {}
    for k, p in enumerate(STAGE1):
        se = float(np.sqrt(v1[k, k]))
        decisions[p] = ParameterDecision(p, "identified", float(beta[k]), se, float(beta[k]) - 1.645 * se,
                                         float(beta[k]) + 1.645 * se, STAGE1_SOURCE, CROSS_SECTION_REASON)
    se_h = float(np.sqrt(v2[1, 1]))
    decisions["theta_price"] = ParameterDecision(
        "theta_price", "identified", float(theta[1]), se_h, float(theta[1]) - 1.645 * se_h,
        float(theta[1]) + 1.645 * se_h, STAGE2_SOURCE,
        CROSS_SECTION_REASON + "; not significant, the price-response cap applies")
    vcov = np.zeros((len(CALIBRATED), len(CALIBRATED)))
    vcov[:len(STAGE1), :len(STAGE1)] = v1
    vcov[-1, -1] = v2[1, 1]
    main = {p: decisions[p].value for p in CALIBRATED}
    specs = (Specification("cross_section", "two-stage cross-section, stage 2 with the pay control", main),
             Specification("no_pay_control", "stage 2 without the pay control (theta_price from the WLS on "
                           "price, access and population)", {**main, "theta_price": float(theta_nopay[1])}))
    notes = {f"stage1_{k}": float(v) for k, v in r1.fit.items() if isinstance(v, int | float | np.floating)}
    notes.update({"stage1_converged": float(r1.converged), "stage2_r2": r2, "stage2_intercept": float(theta[0]),
                  "stage2_weights_inflow": 1.0, "stage2_nopay_theta_price": float(theta_nopay[1]),
                  "stage2_nopay_theta_price_se": float(np.sqrt(v2_nopay[1, 1])), "stage2_nopay_r2": r2_nopay,
                  "commute_border": float(rc.coefficients["border"]),
                  "stage1_balance_iterations": float(balance_sweeps), "stage1_balance_max_error": balance_error})
    notes.update({f"stage1_coef_{t}": float(r1.coefficients[t]) for t in names1})
    for k, p in enumerate(STAGE2):
        notes[f"stage2_{p}"] = float(theta[k + 1])
        notes[f"stage2_{p}_se"] = float(np.sqrt(v2[k + 1, k + 1]))
    evidence = ScenarioEvidence(decisions, vcov, CALIBRATED, specs, notes)
    context = {"beta_commute": beta_c, "beta_commute_se": float(rc.std_errors["log(distance_km)"]),
               "job_access": access, "wfh_national": w_nat, "gamma": gamma, "residual": resid,
               "fit_flows": (np.where(off, mig, np.nan), np.where(off, np.asarray(r1.fitted_values, float), np.nan))}
    return evidence, context


def evidence_from_cross_section(zones: ZoneSet, attributes: xr.Dataset | None = None,
                                data_dir: DataDir = None) -> ScenarioEvidence:
    """The scenario evidence of the two-stage Census 2021 cross-section calibration (see the module docs).

    The design the scenarios used before the identification from change: it fails the 2011 placebo
    (see :mod:`migravity.analysis.identification`) and is kept only for comparison. Stage-1 and
    ``theta_price`` marked identified (robust covariance, not clustered), ``theta_pay`` left to the
    scenario model's assumption; two specifications (``cross_section``, ``no_pay_control``).

    Parameters
    ----------
    zones : migravity.geodata.ZoneSet
        The study area.
    attributes : xarray.Dataset, optional
        Its attributes (loaded if not given).
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    ScenarioEvidence
    """
    return _cross_section(zones, attributes, data_dir)[0]


def calibrate_parameters(zones: ZoneSet, attributes: xr.Dataset | None = None, data_dir: DataDir = None, *,
                         evidence: ScenarioEvidence | None = None) -> ModelParameters:
    """The scenario model's parameters on the real data of ``zones``.

    Runs the cross-section calibration for the structural inputs (destination effects) and takes
    the scenario parameters from ``evidence``. Default: the identification from change
    (:func:`migravity.analysis.identification.identify`: Census 2011 -> 2021 panel, two-way clustered;
    about 30 s), with job accessibility built as there (2011 jobs, Census 2011 commuting
    deterrence). Pass :func:`evidence_from_cross_section` for the old single cross-section.

    Parameters
    ----------
    zones : migravity.geodata.ZoneSet
        The study area.
    attributes : xarray.Dataset, optional
        Its attributes (loaded if not given).
    data_dir : path-like, optional
        Data directory.
    evidence : ScenarioEvidence, optional
        The identification step's evidence.

    Returns
    -------
    ModelParameters
    """
    own, ctx = _cross_section(zones, attributes, data_dir)
    fit = dict(own.notes)
    if evidence is None:
        from migravity.analysis.identification import identify
        from migravity.analysis.identification_data import load_identification_data

        data = load_identification_data(zones, data_dir)
        evidence = identify(zones, data_dir, data=data).evidence()
        # the identified WFH x access response is per unit of log A_j built from the 2011 jobs and the
        # Census 2011 commuting deterrence: the scenarios use the same accessibility
        ctx.update(beta_commute=data.beta_commute_2011, beta_commute_se=data.beta_commute_2011_se,
                   job_access=data.job_access("2011"), commute_source=COMMUTE_2011_SOURCE)
        fit.update({f"identification_{k}": v for k, v in evidence.notes.items()})
    return ModelParameters.from_evidence(evidence, fit=fit, **ctx)
