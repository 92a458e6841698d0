"""The dynamic simulation: segment stocks by LAD, updated year by year by gravity-model migration.

See :mod:`migravity.scenarios` for the equations. :func:`prepare_inputs` loads the real data and
calibrates the parameters once; :func:`simulate` runs one scenario over Monte Carlo draws of the
parameters (the numba kernel :func:`migravity.scenarios._kernels_sim.simulate_draws`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from migravity.errors import ConfigError, ConvergenceError, MigravityError, check_choice
from migravity.geodata.datadir import DataDir
from migravity.scenarios import _kernels_sim as K
from migravity.scenarios.params import ModelParameters
from migravity.scenarios.segments import (
    N_CLASSES,
    SEGMENTS,
    SKILLS,
    WFH_CLASSES,
    derive_segment_shares,
    read_segment_table,
    segment_intensity,
    segment_skill,
)
from migravity.scenarios.spec import MAX_DRAWS, MAX_YEARS, MODES, Mode, Scenario, percent_vector

if TYPE_CHECKING:
    from migravity.geodata.zones import ZoneSet

N_GROUPS = len(SKILLS)  # skill groups: 0 = high, 1 = other


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """Everything the simulation needs about the study area (immutable; arrays are not copied).

    Attributes
    ----------
    codes, names, region_codes, region_names : tuple of str
        One per LAD.
    gse : ndarray of bool
        LAD in the Greater South East.
    imd_quintile : ndarray
        IMD 2019 quintile (1 = most deprived, within nation).
    workers : ndarray
        Census 2021 residents in work (TS061): the initial stock of all segments.
    shares : ndarray, shape (n, 16)
        Segment shares of each LAD's workers, fitted by IPF so that each LAD's HSL and mainly-at-home
        counts are the Census 2021 ones (:func:`~migravity.scenarios.segments.fit_segments`).
    move_rate : ndarray
        Census 2021 inter-LAD out-migrants / usual residents, per origin.
    log_dist, border : ndarray, shape (n, n)
        Log distance (km) and shared-border indicator.
    log_access, log_pop, log_price, log_pay : ndarray
        Destination attributes: log job accessibility, log Census 2021 population, log median
        house price, log median weekly pay.
    params : ModelParameters
        Calibrated and assumed parameters.
    intensity_ratio, intensity_national : float
        ``wfh_national / intensity_national``: maps a segment's WFH intensity onto the Census
        WFH-share scale of the calibrated interactions; the national mean WFH intensity.
    dest_constant : ndarray
        ``c_j``: the stage-1 destination effect ``gamma_j`` (= stage-2 fitted part + residual ``u_j``).
        Held fixed in scenarios.
    pivot_choice : ndarray, shape (n, n), optional
        The destination choice the baseline reproduces from every origin: the observed Census 2021
        shares ``F_ij / O_i`` (pairs with no observed flow take the model's share; rows sum to 1,
        diagonal 0). See :func:`pivot_choice`.
    pair_constant : ndarray, shape (2, n, n)
        ``kappa_gij``: log pivot constant of each skill group ``g`` (high, other) and pair, added to the
        pair part so that each group's year-1 baseline choice from each origin is ``pivot_choice`` at
        the point estimates (:func:`pivot_constants`); zeros = no pivot. Held fixed in scenarios.
    """

    codes: tuple[str, ...]
    names: tuple[str, ...]
    region_codes: tuple[str, ...]
    region_names: tuple[str, ...]
    gse: np.ndarray
    imd_quintile: np.ndarray
    workers: np.ndarray
    shares: np.ndarray
    move_rate: np.ndarray
    log_dist: np.ndarray
    border: np.ndarray
    log_access: np.ndarray
    log_pop: np.ndarray
    log_price: np.ndarray
    log_pay: np.ndarray
    params: ModelParameters
    intensity_ratio: float
    intensity_national: float
    dest_constant: np.ndarray | None = None
    pivot_choice: np.ndarray | None = None
    pair_constant: np.ndarray | None = None
    zone_vintage: str = "2023"
    area: str = "EW"

    def __post_init__(self) -> None:
        n = len(self.codes)
        if self.dest_constant is None:
            object.__setattr__(self, "dest_constant", np.zeros(n))
        if self.pair_constant is None:
            object.__setattr__(self, "pair_constant", np.zeros((N_GROUPS, n, n)))
        if np.asarray(self.pair_constant).shape != (N_GROUPS, n, n):
            raise ConfigError("pair_constant", np.asarray(self.pair_constant).shape,
                              f"give an array of shape (2, {n}, {n})")
        if self.pivot_choice is not None and np.shape(self.pivot_choice) != (n, n):
            raise ConfigError("pivot_choice", np.shape(self.pivot_choice), f"give an array of shape ({n}, {n})")
        for name in ("gse", "imd_quintile", "workers", "move_rate", "log_access", "log_pop", "log_price", "log_pay",
                     "dest_constant"):
            a = getattr(self, name)
            if np.shape(a) != (n,):
                raise ConfigError(name, np.shape(a), f"give an array of shape ({n},)")
        for name in ("log_dist", "border"):
            if np.shape(getattr(self, name)) != (n, n):
                raise ConfigError(name, np.shape(getattr(self, name)), f"give an array of shape ({n}, {n})")
        if np.shape(self.shares) != (n, len(SEGMENTS)):
            raise ConfigError("shares", np.shape(self.shares), f"give an array of shape ({n}, {len(SEGMENTS)})")
        if np.any(self.move_rate < 0) or np.any(self.move_rate > 1):
            raise ConfigError("move_rate", float(self.move_rate.max()), "give rates between 0 and 1")

    @property
    def n(self) -> int:
        """Number of LADs."""
        return len(self.codes)


def prepare_inputs(zones: ZoneSet, *, data_dir: DataDir = None, params: ModelParameters | None = None) -> ModelInputs:
    """Load the real data for ``zones`` and calibrate the parameters (unless given).

    Parameters
    ----------
    zones : migravity.geodata.ZoneSet
        Study area, e.g. ``load_zones("2023", "EW")``.
    data_dir : path-like, optional
        Data directory.
    params : ModelParameters, optional
        Parameters already calibrated on these zones.
    """
    from migravity.geodata import contiguity_matrix, distance_matrix, load_attributes, load_flows
    from migravity.geodata.skills import load_skills
    from migravity.scenarios.params import calibrate_parameters

    skills = load_skills(zones, data_dir)
    # Census 2021 TS061 workers and their share working mainly at or from home replace ODWP01EW's
    # (whose category 1 also holds "no fixed place"), for the segments and the calibrated WFH interactions.
    attrs = load_attributes(zones, data_dir).assign(
        workers=skills["workers_2021"], wfh_workers=skills["wfh_2021"], wfh_share=skills["wfh_share_2021"])
    params = params if params is not None else calibrate_parameters(zones, attrs, data_dir)
    mig = load_flows("migration2021", zones, data_dir).to_numpy().astype(float)
    np.fill_diagonal(mig, 0.0)
    out = mig.sum(axis=1)
    pop = attrs["pop_census2021"].to_numpy().astype(float)
    workers = attrs["workers"].to_numpy().astype(float)
    shares = derive_segment_shares(skills)
    g = segment_intensity()
    g_nat = float((workers[:, None] * shares).sum(axis=0) @ g / workers.sum())
    move_rate = np.clip(out / pop, 0.0, 1.0)
    gamma = params.gamma if params.gamma is not None else np.zeros(len(workers))
    inputs = ModelInputs(
        codes=tuple(zones.codes), names=tuple(zones.names), region_codes=tuple(zones.region_codes),
        region_names=tuple(zones.region_names), gse=np.asarray(zones.gse, bool),
        imd_quintile=attrs["imd_quintile"].to_numpy().astype(float), workers=workers, shares=shares,
        move_rate=move_rate, log_dist=np.log(distance_matrix(zones).to_numpy().astype(float)),
        border=contiguity_matrix(zones).to_numpy().astype(float),
        log_access=np.log(params.job_access), log_pop=np.log(pop),
        log_price=np.log(attrs["house_price"].to_numpy().astype(float)),
        log_pay=np.log(attrs["weekly_pay"].to_numpy().astype(float)), params=params,
        intensity_ratio=params.wfh_national / g_nat, intensity_national=g_nat, dest_constant=gamma,
        zone_vintage=zones.vintage, area=zones.area)
    inputs = replace(inputs, pivot_choice=pivot_choice(inputs, mig))
    return replace(inputs, pair_constant=pivot_constants(inputs))


def segment_group() -> np.ndarray:
    """Skill group of each segment: 0 = high-skilled, 1 = other (index of ``pair_constant``)."""
    return np.ascontiguousarray(segment_skill(), dtype=np.int64)


def _point_model(inputs: ModelInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At the point estimates: log pair part (n, n; -inf on the diagonal), segment log weights (16, n), stocks."""
    p = {k: np.array([v]) for k, v in inputs.params.mean.items()}
    log_k = p["beta_distance"][0] * inputs.log_dist + p["gamma_border"][0] * inputs.border
    np.fill_diagonal(log_k, -np.inf)
    static, _ = segment_weights(inputs, p, inputs.log_pay)
    stock = (inputs.workers[:, None] * inputs.shares).T
    return log_k, static[0], stock


def _softmax_rows(u: np.ndarray) -> np.ndarray:
    e = np.exp(u - u.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _mix_weights(stock: np.ndarray) -> np.ndarray:
    """Each segment's share of its group's (or the given segments') stock per origin; uniform where empty."""
    tot = stock.sum(axis=0)
    return np.divide(stock, tot, out=np.full_like(stock, 1.0 / len(stock)), where=tot > 0)


def pivot_choice(inputs: ModelInputs, flows: np.ndarray, zero_weight: float = 1e-3) -> np.ndarray:
    """The destination choice the baseline reproduces: the observed shares ``F_ij / O_i``, zeros filled.

    A pair with no observed movers (17% of the 2021 pairs, mostly small origins and distant pairs)
    would need an infinite negative constant, so it takes ``zero_weight`` times the (unpivoted)
    model's all-worker choice share at the point estimates, ``sum_s w_si p_sij``, and each row is
    rescaled to sum to 1. With the default 0.001 the filled pairs hold 0.002% of all movers (the
    model's full share would be 1.9%: up to 39% of a small origin's movers) and the year-1 inflows
    stay within 0.1% of the observed ones. Origins without observed movers take the model's row.
    """
    f = np.array(flows, float)
    np.fill_diagonal(f, 0.0)
    log_k, static, stock = _point_model(inputs)
    model = np.einsum("si,sij->ij", _mix_weights(stock), _softmax_rows(log_k[None] + static[:, None, :]))
    out = f.sum(axis=1, keepdims=True)
    obs = np.divide(f, out, out=np.zeros_like(f), where=out > 0)
    filled = np.where(out > 0, np.where(f > 0, obs, zero_weight * model), model)
    np.fill_diagonal(filled, 0.0)
    return filled / filled.sum(axis=1, keepdims=True)


def pivot_constants(inputs: ModelInputs, tol: float = 1e-12, max_iter: int = 20_000) -> np.ndarray:
    """Pair constants ``kappa_gij`` that make each skill group's year-1 baseline choice equal ``inputs.pivot_choice``.

    For each skill group ``g`` and origin ``i``, at the point estimates (draw 0) and the baseline's
    year-0 segment mix ``w_si = S_si / S_gi`` (every segment of an origin moves at the same rate, so
    these are also the movers' weights): ``sum_{s in g} w_si p_sij(kappa) = pivot_choice_ij``, with
    ``p_sij`` the logit of ``log K_ij + kappa_gij + log W_sj`` over ``j != i``. Solved by the
    contraction ``kappa <- kappa + log(target / predicted)`` (the BLP inversion, per origin). The
    within-group differences between WFH classes (``log W_sj``) are kept; ``kappa`` absorbs the pair
    and destination parts, the residual misfit of the model and the aggregation over segments.
    Returns zeros (no pivot) when ``inputs.pivot_choice`` is None; raises
    :class:`~migravity.errors.ConvergenceError` when the contraction does not reach ``tol`` in ``max_iter`` steps.
    """
    n = inputs.n
    if inputs.pivot_choice is None:
        return np.zeros((N_GROUPS, n, n))
    target = np.asarray(inputs.pivot_choice, float)
    off = ~np.eye(n, dtype=bool)
    if np.any(target[off] <= 0) or not np.allclose(target.sum(axis=1), 1.0, atol=1e-10):
        raise ConfigError("pivot_choice", "rows", "give positive off-diagonal shares summing to 1 per origin")
    log_t = np.where(off, np.log(np.where(off, target, 1.0)), 0.0)
    log_k, static, stock = _point_model(inputs)
    group = segment_group()
    kappa = np.zeros((N_GROUPS, n, n))
    for g in range(N_GROUPS):
        segs = group == g
        weights = _mix_weights(stock[segs])[:, :, None]  # (Sg, n, 1)
        base = log_k[None] + static[segs][:, None, :]  # (Sg, n, n)
        kap = log_t - np.where(off, log_k, 0.0) - static[segs].mean(axis=0)[None, :]
        for _ in range(max_iter):
            pred = (weights * _softmax_rows(base + kap[None])).sum(axis=0)
            step = np.where(off, log_t - np.log(np.where(off, pred, 1.0)), 0.0)
            kap += step
            if np.max(np.abs(step)) < tol:
                break
        else:
            raise ConvergenceError(f"pivot_constants: no convergence for skill group {g} after {max_iter} iterations "
                                   f"(largest log step {float(np.max(np.abs(step))):.3g}, tol {tol:g})")
        kappa[g] = np.where(off, kap - kap[off.nonzero()].mean(), 0.0)
    return kappa


def apply_wfh(stock: np.ndarray, scenario: Scenario, inputs: ModelInputs) -> np.ndarray:
    """Reclassify workers between WFH classes within each LAD and skill group; returns a new (16, n) stock."""
    stock = stock.copy()
    regions = np.asarray(inputs.region_codes)
    for ch in scenario.wfh:
        if ch.lads:
            sel = np.isin(np.asarray(inputs.codes), ch.lads)
        elif ch.regions:
            sel = np.isin(regions, ch.regions)
        else:
            sel = np.ones(inputs.n, bool)
        x = WFH_CLASSES.index(ch.wfh_class)
        recv = np.array([WFH_CLASSES.index(c) for c in ch.receivers])
        for k in ((0, 1) if ch.skill == "all" else ((0,) if ch.skill == "high" else (1,))):
            block = stock[k * N_CLASSES:(k + 1) * N_CLASSES, sel]
            tot = block.sum(axis=0)
            p = np.divide(block, tot, out=np.zeros_like(block), where=tot > 0)
            new_x = p[x] * ch.factor if ch.factor is not None else np.full(p.shape[1], ch.share)
            delta = new_x - p[x]
            pool = p[recv].sum(axis=0)
            if np.any(new_x > 1 + 1e-12) or np.any(delta > pool + 1e-12):
                worst = float(np.max(new_x))
                raise ConfigError(f"{ch.key}.factor" if ch.factor is not None else f"{ch.key}.share",
                                  ch.factor if ch.factor is not None else ch.share,
                                  f"the new {ch.wfh_class} share reaches {worst:.3f}, more than the classes "
                                  f"{list(ch.receivers)} can give; shares must stay between 0 and 1")
            w = np.divide(p[recv], pool, out=np.full_like(p[recv], 1.0 / len(recv)), where=pool > 0)
            p[x] = new_x
            p[recv] = np.maximum(p[recv] - w * delta, 0.0)
            stock[k * N_CLASSES:(k + 1) * N_CLASSES, sel] = p * tot
    return stock


def initial_state(inputs: ModelInputs, scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scenario's year-0 stocks (16, n), log house prices (n,) and log weekly pay (n,)."""
    shares = inputs.shares
    if scenario.segment_table is not None:
        shares = read_segment_table(scenario.segment_table, inputs.codes)
    stock = np.ascontiguousarray((inputs.workers[:, None] * shares).T)
    stock = apply_wfh(stock, scenario, inputs)
    scenario.check_zones(inputs.codes, inputs.region_codes)
    hp = percent_vector(scenario.house_prices, inputs.codes, inputs.region_codes, inputs.gse)
    pay = percent_vector(scenario.earnings, inputs.codes, inputs.region_codes, inputs.gse)
    return stock, inputs.log_price + np.log(hp), inputs.log_pay + np.log(pay)


def draw_parameters(inputs: ModelInputs, scenario: Scenario, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Parameter draws for ``scenario`` (its ``[parameters]`` overrides applied).

    The random numbers depend only on ``seed`` and ``draws``, so every scenario of a run, and its
    baseline, sees the same draws (common random numbers). Draw 0 is the point estimate.
    """
    params = inputs.params.with_assumed(scenario.parameter_overrides())
    return params.draw(draws, np.random.default_rng(seed))


def segment_coefficients(inputs: ModelInputs, p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per draw and segment: weight on ``log A`` and on ``log H`` (deviations), price-response elasticity.

    With ``x_s = (w_nat / g_nat) (g_s - g_nat)`` the segment's WFH intensity ``g_s = 1 - days_s / 5``
    (:func:`~migravity.scenarios.segments.segment_intensity`) on the scale of the centred Census WFH
    share: ``min(delta_A, 0) x_s`` and ``delta_H x_s`` (the stage-1 interactions at the segment's intensity), and
    ``e_s = min(theta_H + delta_H x_s + shift [s high-skilled], cap)``. Shapes (D, 16).
    """
    x = inputs.intensity_ratio * (segment_intensity() - inputs.intensity_national)
    high = (segment_skill() == 0).astype(float)
    access = np.minimum(p["delta_wfh_access"], 0.0)[:, None] * x[None, :]
    price = p["delta_wfh_price"][:, None] * x[None, :]
    response = np.minimum(p["theta_price"][:, None] + price + p["high_skill_price_shift"][:, None] * high[None, :],
                          p["price_elasticity_cap"][:, None])
    return access, price, response


def segment_weights(inputs: ModelInputs, p: dict[str, np.ndarray], log_pay: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Destination log weights at baseline prices (D, 16, n) and price-response elasticities (D, 16).

    ``static_sj = c_j + min(delta_A, 0) x_s log A_j + delta_H x_s log H_j^0 + theta_pay log(Y_j / Y_j^0)``;
    the kernel adds ``e_s (log H_j(t) - log H_j^0)`` (see :func:`segment_coefficients`).
    """
    access, price, response = segment_coefficients(inputs, p)
    dpay = log_pay - inputs.log_pay
    common = np.asarray(inputs.dest_constant)[None, :] + p["theta_pay"][:, None] * dpay[None, :]
    static = (access[:, :, None] * inputs.log_access[None, None, :]
              + price[:, :, None] * inputs.log_price[None, None, :] + common[:, None, :])
    return np.ascontiguousarray(static), np.ascontiguousarray(response)


MAX_FEEDBACK = 10.0


def _check_int(name: str, value: Any, lo: int, hi: int | None) -> int:
    if not (isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
            and lo <= value and (hi is None or value <= hi)):
        fix = f"give an integer between {lo} and {hi}" if hi is not None else (
            "give a non-negative integer" if lo == 0 else f"give an integer of at least {lo}")
        raise ConfigError(name, value, fix)
    return int(value)


@dataclass(frozen=True)
class SimulationOptions:
    """How to simulate: annual steps, Monte Carlo draws and their seed, optional overrides (validated, immutable).

    Attributes
    ----------
    years : int
        Annual steps, 1 to 100.
    draws : int
        Monte Carlo draws of the parameters (draw 0 = point estimate), 1 to 100,000.
    seed : int
        Seed of the draws (non-negative).
    mode : {"production", "unconstrained"}, optional
        Overrides every scenario's ``mode`` (default: each scenario's own).
    housing_feedback : float, optional
        Overrides every scenario's ``housing_feedback``, 0 to 10 (default: each scenario's own).
    n_chunks : int, optional
        Work chunks over draws (default: 4 per numba thread, at most ``draws``); results do not
        depend on it.

    Raises
    ------
    ConfigError
        On construction, naming the field, the value and what is allowed.
    """

    years: int = 10
    draws: int = 1
    seed: int = 0
    mode: Mode | None = None
    housing_feedback: float | None = None
    n_chunks: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "draws", _check_int("draws", self.draws, 1, MAX_DRAWS))
        object.__setattr__(self, "years", _check_int("years", self.years, 1, MAX_YEARS))
        object.__setattr__(self, "seed", _check_int("seed", self.seed, 0, None))
        if self.mode is not None:
            check_choice("mode", self.mode, MODES)
        if self.housing_feedback is not None:
            fb = self.housing_feedback
            if not (isinstance(fb, int | float | np.floating) and not isinstance(fb, bool) and np.isfinite(fb)
                    and 0 <= fb <= MAX_FEEDBACK):
                raise ConfigError("housing_feedback", fb, f"give a number between 0 and {MAX_FEEDBACK:g}")
            object.__setattr__(self, "housing_feedback", float(fb))
        if self.n_chunks is not None:
            object.__setattr__(self, "n_chunks", _check_int("n_chunks", self.n_chunks, 1, None))

    @classmethod
    def of(cls, options: SimulationOptions | None = None, **overrides: Any) -> SimulationOptions:
        """``options`` (default: the defaults) with the overrides that are not None.

        Parameters
        ----------
        options : SimulationOptions, optional
            The starting point.
        **overrides
            Field values; ``None`` keeps the starting point's.

        Returns
        -------
        SimulationOptions
            Validated.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(unknown[0], overrides[unknown[0]], "use one of " + ", ".join(sorted(names)))
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(options, **given) if options is not None else cls(**given)

    @property
    def settings(self) -> dict[str, int]:
        """``{"years", "draws", "seed"}``: the run settings recorded with the results."""
        return {"years": self.years, "draws": self.draws, "seed": self.seed}

    def apply(self, scenario: Scenario) -> Scenario:
        """``scenario`` with this ``mode`` and ``housing_feedback`` where given (else unchanged)."""
        changes: dict[str, Any] = {}
        if self.mode is not None and self.mode != scenario.mode:
            changes["mode"] = self.mode
        if self.housing_feedback is not None and self.housing_feedback != scenario.housing_feedback:
            changes["housing_feedback"] = self.housing_feedback
        return replace(scenario, **changes) if changes else scenario


@dataclass(frozen=True, eq=False)
class Simulation:
    """The outcome of one scenario over all draws.

    Attributes
    ----------
    scenario : Scenario
        As simulated (the options' overrides applied).
    stocks : ndarray, shape (draws, years + 1, 16, n)
        Stocks by draw, year, segment and LAD.
    hs_flows : ndarray, shape (n, n)
        Final-year high-skilled mover flows, mean over draws.
    options : SimulationOptions, optional
        The options it was simulated with.
    """

    scenario: Scenario
    stocks: np.ndarray
    hs_flows: np.ndarray
    options: SimulationOptions | None = None


def simulate(inputs: ModelInputs, scenario: Scenario, options: SimulationOptions | None = None, *,
             draws: int | None = None, seed: int | None = None, years: int | None = None,
             n_chunks: int | None = None, mode: Mode | None = None,
             housing_feedback: float | None = None) -> Simulation:
    """Simulate ``scenario`` for ``years`` annual steps over ``draws`` parameter draws.

    Parameters
    ----------
    inputs : ModelInputs
        From :func:`prepare_inputs`.
    scenario : Scenario
        A validated scenario (its own years/draws/seed are ignored here; see
        :func:`migravity.scenarios.run.run_scenarios`).
    options : SimulationOptions, optional
        Years, draws, seed, overrides (default: ``SimulationOptions()``: 10 years, 1 draw, seed 0).
    draws, seed, years, n_chunks, mode, housing_feedback : optional
        Replace the field of ``options`` of the same name (see :class:`SimulationOptions`).

    Returns
    -------
    Simulation

    Raises
    ------
    ConfigError
        An option is out of range, or a scenario's change cannot be applied to the study area.
    MigravityError
        The simulation produced a non-finite or negative stock.
    """
    opts = SimulationOptions.of(options, draws=draws, seed=seed, years=years, n_chunks=n_chunks, mode=mode,
                                housing_feedback=housing_feedback)
    scenario = opts.apply(scenario)
    draws, years = opts.draws, opts.years
    stock0, log_price0, log_pay = initial_state(inputs, scenario)
    p = draw_parameters(inputs, scenario, draws, opts.seed)
    static, theta_h = segment_weights(inputs, p, log_pay)
    unconstrained = scenario.mode == "unconstrained"
    if unconstrained:
        base_static, _ = segment_weights(inputs, p, inputs.log_pay)
    else:
        base_static = static
    move = np.ascontiguousarray(np.clip(p["move_rate_scale"][:, None] * inputs.move_rate[None, :], 0.0, 1.0))
    chunks = opts.n_chunks or min(draws, 4 * numba.get_num_threads())
    stocks = np.empty((draws, years + 1, len(SEGMENTS), inputs.n))
    flows = np.empty((chunks, inputs.n, inputs.n))
    mask = segment_skill() == 0
    status = K.simulate_draws(
        stock0, move, np.ascontiguousarray(inputs.log_dist), np.ascontiguousarray(inputs.border),
        pair_factor(inputs), segment_group(), np.ascontiguousarray(p["beta_distance"]),
        np.ascontiguousarray(p["gamma_border"]), static, base_static,
        theta_h, np.ascontiguousarray(log_price0 - inputs.log_price), np.zeros(inputs.n),
        float(scenario.housing_feedback), unconstrained, mask, stocks, flows)
    if status != K.OK:
        raise MigravityError(f"scenario {scenario.name!r}: the simulation produced a non-finite or negative "
                             "stock; lower housing_feedback or the perturbations")
    return Simulation(scenario, stocks, flows.sum(axis=0) / draws, opts)


def pair_factor(inputs: ModelInputs) -> np.ndarray:
    """``exp(kappa_gij)`` (2, n, n), the kernels' pivot factor of the pair weights."""
    return np.ascontiguousarray(np.exp(np.asarray(inputs.pair_constant)))


def baseline_of(scenario: Scenario) -> Scenario:
    """The baseline paired with ``scenario``: its settings and parameters, no perturbation."""
    return replace(scenario, name="baseline", description="baseline", wfh=(), house_prices=(), earnings=(),
                   source="derived", raw={})
