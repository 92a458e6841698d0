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
from migravity.scenarios.anchoring import ORIGIN_BLOCK, WorkplaceSource, anchor_terms
from migravity.scenarios.params import ModelParameters
from migravity.scenarios.segments import (
    COMMUTE_DAYS,
    N_CLASSES,
    SEGMENTS,
    SKILLS,
    WFH_CLASSES,
    derive_segment_shares,
    read_segment_table,
    segment_intensity,
    segment_skill,
)
from migravity.scenarios.spec import (
    MAX_DRAWS,
    MAX_YEARS,
    MIGRATION_PATTERNS,
    MODES,
    MigrationPattern,
    Mode,
    Scenario,
    percent_vector,
)
from migravity.utils.reprs import short_repr

if TYPE_CHECKING:
    from migravity.analysis.evidence import ScenarioEvidence
    from migravity.geodata.zones import ZoneSet
    from migravity.scenarios.baseline import OpenBaseline

N_GROUPS = len(SKILLS)  # skill groups: 0 = high, 1 = other


@dataclass(frozen=True, eq=False)
class PatternInputs:
    """A migration pattern other than the baseline's: move rates, target choice and pivot constants.

    Attributes
    ----------
    name : str
        One of :data:`~migravity.scenarios.spec.MIGRATION_PATTERNS`.
    move_rate : ndarray, shape (n,)
        Inter-LAD out-migrants / population per origin.
    pivot_choice : ndarray, shape (n, n)
        The destination choice the pattern reproduces (see :func:`pivot_choice`).
    pair_constant : ndarray, shape (2, n, n)
        Its pivot constants (:func:`pivot_constants`).
    """

    name: str
    move_rate: np.ndarray
    pivot_choice: np.ndarray
    pair_constant: np.ndarray


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
        Out-migration rate per origin of the migration pattern in use (``pattern``): pre-COVID internal
        out-migration / population, or Census 2021 inter-LAD out-migrants / usual residents.
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
    workplace : ndarray, shape (n, n), optional
        ``pi_ik``: each origin's workplace distribution (rows summing to 1, intra-zone included) for
        workplace anchoring (:mod:`migravity.scenarios.anchoring`); None = no anchoring.
    workplace_source : str
        Where ``workplace`` comes from (recorded in the run).
    pattern : str
        Name of the migration pattern held by ``move_rate``, ``pivot_choice`` and ``pair_constant``
        (the baseline's; :data:`~migravity.scenarios.spec.MIGRATION_PATTERNS`).
    patterns : tuple of PatternInputs
        The other migration patterns a scenario can choose (``migration_pattern``).
    open_baseline : OpenBaseline, optional
        The exogenous baseline path's data (:mod:`migravity.scenarios.baseline`); None = a closed
        population of the year-0 workers.
    zones : ZoneSet, optional
        The zones themselves (with their boundaries), written into the run directory so that it needs
        no data directory to be drawn or exported (:mod:`migravity.scenarios.rundir`).
    level : {"lad", "msoa"}
        The zones' level (:mod:`migravity.scenarios.msoa` for MSOA inputs).
    parents : tuple of str
        MSOA level: the parent LAD (2021 code) of each zone; ``()`` at LAD level.
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
    workplace: np.ndarray | None = None
    workplace_source: str = ""
    zone_vintage: str = "2023"
    area: str = "EW"
    pattern: str = "census2021"
    patterns: tuple[PatternInputs, ...] = ()
    open_baseline: OpenBaseline | None = None
    zones: ZoneSet | None = None
    level: str = "lad"
    parents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.codes)
        check_choice("level", self.level, ("lad", "msoa"))
        if self.level == "msoa" and len(self.parents) != n:
            raise ConfigError("parents", len(self.parents), f"give the parent LAD of each of the {n} MSOAs")
        check_choice("pattern", self.pattern, MIGRATION_PATTERNS)
        for pat in self.patterns:
            check_choice("patterns", pat.name, MIGRATION_PATTERNS)
            if np.shape(pat.move_rate) != (n,) or np.shape(pat.pair_constant) != (N_GROUPS, n, n):
                raise ConfigError(f"patterns[{pat.name}]", np.shape(pat.pair_constant),
                                  f"give move rates of shape ({n},) and pair constants of shape (2, {n}, {n})")
        if self.open_baseline is not None and self.open_baseline.population.shape[1] != n:
            raise ConfigError("open_baseline", self.open_baseline.population.shape,
                              f"give a baseline path over the {n} zones")
        if self.dest_constant is None:
            object.__setattr__(self, "dest_constant", np.zeros(n))
        if self.pair_constant is None:
            object.__setattr__(self, "pair_constant", np.zeros((N_GROUPS, n, n)))
        if np.asarray(self.pair_constant).shape != (N_GROUPS, n, n):
            raise ConfigError("pair_constant", np.asarray(self.pair_constant).shape,
                              f"give an array of shape (2, {n}, {n})")
        if self.workplace is not None and (np.shape(self.workplace) != (n, n) or np.any(self.workplace < 0)
                                           or not np.allclose(np.sum(self.workplace, axis=1), 1.0)):
            raise ConfigError("workplace", np.shape(self.workplace),
                              f"give non-negative shares of shape ({n}, {n}) with rows summing to 1")
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

    def __repr__(self) -> str:
        return short_repr(f"<ModelInputs: {self.n} {self.level.upper()}s ({self.area}, "
                          f"{self.zone_vintage} boundaries); "
                          f"{float(np.sum(self.workers)):,.0f} workers; migration pattern {self.pattern}>",
                          [f"baseline population: {'open' if self.open_baseline is not None else 'closed'}; "
                           f"workplace anchoring: {self.workplace_source or 'none'}",
                           f"parameters: {repr(self.params).splitlines()[0]}"])

    @property
    def pattern_names(self) -> tuple[str, ...]:
        """The baseline's migration pattern and the alternatives, in order."""
        return (self.pattern, *(p.name for p in self.patterns))

    def with_pattern(self, name: str | None) -> ModelInputs:
        """These inputs with migration pattern ``name`` as the one in use (None or the current: unchanged)."""
        if name is None or name == self.pattern:
            return self
        for k, pat in enumerate(self.patterns):
            if pat.name == name:
                current = PatternInputs(self.pattern, self.move_rate,
                                        self.pivot_choice if self.pivot_choice is not None else np.zeros((self.n,) * 2),
                                        np.asarray(self.pair_constant))
                others = (*self.patterns[:k], current, *self.patterns[k + 1:])
                out = replace(self, pattern=pat.name, move_rate=pat.move_rate, pivot_choice=pat.pivot_choice,
                              pair_constant=pat.pair_constant, patterns=others)
                cache = self.__dict__.get("_anchor_cache")  # the same anchor terms (scenarios.simulate.class_anchor)
                if cache is not None:
                    object.__setattr__(out, "_anchor_cache", cache)
                return out
        raise ConfigError("migration_pattern", name, "use one of " + ", ".join(self.pattern_names)
                          + " (the patterns prepared for this run)")


def prepare_inputs(zones: ZoneSet, *, data_dir: DataDir = None, params: ModelParameters | None = None,
                   evidence: ScenarioEvidence | None = None,
                   workplace_source: WorkplaceSource | None = "commute2011",
                   migration_pattern: MigrationPattern = "precovid", open_population: bool = True) -> ModelInputs:
    """Load the real data for ``zones`` and calibrate the parameters (unless given).

    Parameters
    ----------
    zones : migravity.geodata.ZoneSet
        Study area, e.g. ``load_zones("2023", "EW")``.
    data_dir : path-like, optional
        Data directory.
    params : ModelParameters, optional
        Parameters already calibrated on these zones.
    evidence : ScenarioEvidence, optional
        The scenario parameters' evidence (default: the identification from change,
        :func:`migravity.analysis.identification.identify`; see
        :func:`migravity.scenarios.params.calibrate_parameters`). Ignored when ``params`` is given.
    workplace_source : {"commute2011", "commute2021"} or None
        Travel-to-work flows of workplace anchoring (default the pre-COVID Census 2011 matrix);
        None switches anchoring off.
    migration_pattern : {"precovid", "census2021"}
        The baseline's migration pattern (default the pre-COVID one,
        :func:`migravity.scenarios.baseline.precovid_pattern`); the other is prepared as an
        alternative for scenarios that choose it (``migration_pattern`` of a scenario file).
    open_population : bool
        Open-population baseline following the country (default,
        :mod:`migravity.scenarios.baseline`); False: the closed population of the Census 2021 workers.

    Notes
    -----
    MSOA zones (``load_zones("2021", area, level="msoa")``): the rules of :mod:`migravity.scenarios.msoa`
    (LAD elasticities with an MSOA stage-1 fit, Census 2021 MSOA commuting for the anchoring whatever
    ``workplace_source`` names, the LAD baseline and pre-COVID pattern disaggregated).
    """
    from migravity.geodata import contiguity_matrix, distance_matrix, load_attributes, load_flows
    from migravity.geodata.skills import load_skills
    from migravity.scenarios.params import calibrate_parameters

    msoa = zones.level == "msoa"
    check_choice("migration_pattern", migration_pattern, MIGRATION_PATTERNS)
    if msoa:
        from migravity.scenarios import msoa as ms

        if workplace_source == "commute2011":
            workplace_source = "commute2021"  # Census 2011 commuting is LAD-only (scenarios.msoa docs)
        attrs = load_attributes(zones, data_dir)
        skills = ms.msoa_skills(attrs)
        attrs = attrs.assign(workers=skills["workers_2021"], wfh_share=skills["wfh_share_2021"],
                             pop_census2021=attrs["population"])
        params = params if params is not None else ms.calibrate_msoa_parameters(zones, attrs, data_dir,
                                                                                evidence=evidence)
    else:
        skills = load_skills(zones, data_dir)
        # Census 2021 TS061 workers and their share working mainly at or from home replace ODWP01EW's
        # (whose category 1 also holds "no fixed place"), for the segments and the calibrated WFH interactions.
        attrs = load_attributes(zones, data_dir).assign(
            workers=skills["workers_2021"], wfh_workers=skills["wfh_2021"], wfh_share=skills["wfh_share_2021"])
        params = params if params is not None else calibrate_parameters(zones, attrs, data_dir, evidence=evidence)
    if len(params.job_access) != len(zones):
        raise ConfigError("params", f"{len(params.job_access)} zones",
                          f"give parameters calibrated on these {len(zones)} zones")
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
        zone_vintage=zones.vintage, area=zones.area, zones=zones, level=zones.level,
        parents=tuple(zones.parents) if msoa else ())
    # workplace anchoring: each origin's travel-to-work shares pi_ik
    if workplace_source is not None:
        from migravity.scenarios.anchoring import SOURCE_LABELS, workplace_shares

        inputs = replace(inputs, workplace=workplace_shares(zones, workplace_source, data_dir),
                         workplace_source=SOURCE_LABELS[workplace_source])
    from migravity.scenarios.baseline import load_open_baseline, precovid_pattern

    if msoa:
        from migravity.geodata import load_zones

        lad_zones = load_zones("2021", zones.area, data_dir)
        lad_flows, _ = precovid_pattern(lad_zones, data_dir)
        pre_flows = ms.distribute_pattern(lad_flows, tuple(lad_zones.codes), zones.parents, mig, pop)
        pre_rate = np.clip(pre_flows.sum(axis=1) / pop, 0.0, 1.0)
    else:
        pre_flows, pre_rate = precovid_pattern(zones, data_dir)
    flows = {"census2021": (move_rate, mig), "precovid": (pre_rate, pre_flows)}
    patterns = []
    if inputs.n >= LARGE_ZONES:
        class_anchor(inputs)  # once, row by row, kept on inputs and shared with its copies below
    for name in MIGRATION_PATTERNS:
        rate, f = flows[name]
        pat = share_anchor(inputs, replace(inputs, move_rate=rate, pattern=name))
        target = pivot_choice(pat, f)
        pat = share_anchor(inputs, replace(pat, pivot_choice=target))
        patterns.append(PatternInputs(name, rate, target, pivot_constants(pat)))
    main = next(p for p in patterns if p.name == migration_pattern)
    source = inputs
    inputs = share_anchor(source, replace(inputs, pattern=main.name, move_rate=main.move_rate,
                                          pivot_choice=main.pivot_choice, pair_constant=main.pair_constant,
                                          patterns=tuple(p for p in patterns if p is not main)))
    if open_population and msoa:
        lad_base = load_open_baseline(lad_zones, data_dir)
        inputs = replace(inputs, open_baseline=ms.disaggregate_baseline(lad_base, tuple(lad_zones.codes),
                                                                         zones.parents, pop))
    elif open_population:
        inputs = replace(inputs, open_baseline=load_open_baseline(zones, data_dir, skills=skills))
    return share_anchor(source, inputs)


def segment_group() -> np.ndarray:
    """Skill group of each segment: 0 = high-skilled, 1 = other (index of ``pair_constant``)."""
    return np.ascontiguousarray(segment_skill(), dtype=np.int64)


def segment_class() -> np.ndarray:
    """WFH class of each segment (index into :data:`~migravity.scenarios.segments.WFH_CLASSES`)."""
    return np.tile(np.arange(N_CLASSES), len(SKILLS))


def pair_layers() -> np.ndarray:
    """The kernels' pair layer of each segment: its own (see :func:`segment_pair_factors`)."""
    return np.arange(len(SEGMENTS), dtype=np.int64)


#: Zone groups of the per-draw flows: London (region E12000007), the rest of the GSE, the rest.
LONDON_REGION = "E12000007"
N_ZONE_GROUPS = 3


def zone_groups(inputs: ModelInputs) -> np.ndarray:
    """0 = London, 1 = rest of the Greater South East, 2 = the rest of the study area (int64, (n,))."""
    london = np.asarray(inputs.region_codes) == LONDON_REGION
    return np.ascontiguousarray(np.where(london, 0, np.where(inputs.gse, 1, 2)), dtype=np.int64)


def london_leavers_gse_share(group_flows: np.ndarray) -> np.ndarray:
    """Share of London's high-skilled leavers (to LADs outside London) who stay in the GSE, per draw.

    ``group_flows`` (D, 3, 3) from :attr:`Simulation.group_flows`; NaN where no one leaves London.
    """
    stay, away = group_flows[..., 0, 1], group_flows[..., 0, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(stay + away > 0, stay / (stay + away), np.nan)


def segment_move_rates(inputs: ModelInputs, p: dict[str, np.ndarray], stock0: np.ndarray) -> np.ndarray:
    r"""Annual move rate per draw, segment and origin (D, 16, n).

    ``m_si = s m_i r_s / sum_s' w_s'i r_s'`` with ``r_s = exp(log(move_rate_high) [s high] +
    move_rate_wfh g_s)``, ``g_s`` the WFH intensity, ``w_si`` the year-0 segment shares of ``stock0``
    (the baseline's, so a scenario that moves workers to more WFH moves fewer of them), ``m_i`` the
    pattern's rate (``inputs.move_rate``) and ``s`` ``move_rate_scale``: each origin's total out-migration is the
    pattern's rate at year 0 while the high-skilled move more and WFH workers less. Clipped to [0, 1].
    """
    high = (segment_skill() == 0).astype(float)
    r = np.exp(np.log(p["move_rate_high"])[:, None] * high[None, :]
               + p["move_rate_wfh"][:, None] * segment_intensity()[None, :])  # (D, 16)
    den = r @ _mix_weights(np.asarray(stock0, float))  # (D, n)
    m = (p["move_rate_scale"][:, None, None] * inputs.move_rate[None, None, :]) * r[:, :, None] / den[:, None, :]
    return np.ascontiguousarray(np.clip(m, 0.0, 1.0))


def class_anchor(inputs: ModelInputs, strength: float | None = None, *, rowwise: bool | None = None) -> np.ndarray:
    """The workplace anchor term ``a_cij`` of each WFH class (8, n, n).

    See :func:`~migravity.scenarios.anchoring.anchor_terms`.

    ``strength`` defaults to the point ``anchor_strength``; zeros when ``inputs.workplace`` is None.
    ``rowwise`` (default: for :data:`LARGE_ZONES` zones or more) computes it origin by origin in
    float32 storage and keeps it on ``inputs`` (one entry, the last strength), so the pivot
    constants and the pair factors of a large study area share one computation.
    """
    strength = float(inputs.params.mean["anchor_strength"]) if strength is None else float(strength)
    days = np.array([COMMUTE_DAYS[c] for c in WFH_CLASSES])
    if not (inputs.n >= LARGE_ZONES if rowwise is None else rowwise):
        return anchor_terms(inputs.workplace, inputs.log_dist, inputs.params.beta_commute, strength, days)
    key = (strength, float(inputs.params.beta_commute), id(inputs.workplace), id(inputs.log_dist))
    cache = inputs.__dict__.get("_anchor_cache")
    if cache is None or cache[0] != key:
        dt = np.float32 if inputs.n >= LARGE_ZONES else np.float64
        cache = (key, anchor_terms(inputs.workplace, inputs.log_dist, inputs.params.beta_commute, strength, days,
                                   rowwise=True, dtype=dt))
        object.__setattr__(inputs, "_anchor_cache", cache)
    return cache[1]


def share_anchor(source: ModelInputs, target: ModelInputs) -> ModelInputs:
    """``target`` holding ``source``'s cached anchor terms (:func:`class_anchor`), when it has the same data."""
    cache = source.__dict__.get("_anchor_cache")
    if cache is not None and target is not source and "_anchor_cache" not in target.__dict__:
        object.__setattr__(target, "_anchor_cache", cache)
    return target


#: Study areas of at least this many zones (MSOA scale) hold the pair factors and the kernels' deterrence
#: in float32 (relative error ~6e-8 per factor, sums in float64) and use :data:`LARGE_CHUNKS` work chunks.
LARGE_ZONES = 2000
#: Work chunks per batch for large study areas: each chunk holds an (n, n) flow matrix.
LARGE_CHUNKS = 2


def segment_pair_factors(inputs: ModelInputs, strength: float | None = None,
                         dtype: np.dtype[Any] | type | None = None) -> np.ndarray:
    """``exp(kappa_g(s)ij + a_c(s)ij)`` (16, n, n): a segment's pivot (its skill group's) times its class's anchor.

    Built one WFH class at a time (no (16, n, n) float64 temporaries). ``dtype`` defaults to float64,
    float32 for study areas of :data:`LARGE_ZONES` zones or more (whose anchor terms come from
    :func:`class_anchor`'s row-wise cache).
    """
    n = inputs.n
    dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float32 if n >= LARGE_ZONES else np.float64)
    strength = float(inputs.params.mean["anchor_strength"]) if strength is None else float(strength)
    days = np.array([COMMUTE_DAYS[c] for c in WFH_CLASSES])
    kappa = np.asarray(inputs.pair_constant, dtype=float)
    group, cls = segment_group(), segment_class()
    out = np.empty((len(SEGMENTS), n, n), dtype=dt)
    large = class_anchor(inputs, strength) if n >= LARGE_ZONES else None
    for c in range(N_CLASSES):
        a = (large[c] if large is not None else
             anchor_terms(inputs.workplace, inputs.log_dist, inputs.params.beta_commute, strength, days[c:c + 1])[0])
        for s in np.flatnonzero(cls == c):
            np.exp(kappa[group[s]] + a, out=out[s])
    return out


def _point_model(inputs: ModelInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """At the point values: log pair part (n, n; -inf on the diagonal), segment log weights (16, n),
    year-0 movers by segment (16, n) and the anchor term by segment (16, n, n)."""
    p = {k: np.array([v]) for k, v in inputs.params.mean.items()}
    log_k = p["beta_distance"][0] * inputs.log_dist + p["gamma_border"][0] * inputs.border
    np.fill_diagonal(log_k, -np.inf)
    static, _ = segment_weights(inputs, p, inputs.log_pay)
    stock = (inputs.workers[:, None] * inputs.shares).T
    movers = segment_move_rates(inputs, p, stock)[0] * stock
    anchor = class_anchor(inputs, float(p["anchor_strength"][0]))[segment_class()]
    return log_k, static[0], movers, anchor


def _point_parts(inputs: ModelInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`_point_model`, but the anchor term by WFH class (8, n, n) (:func:`class_anchor`, row-wise)."""
    p = {k: np.array([v]) for k, v in inputs.params.mean.items()}
    log_k = p["beta_distance"][0] * inputs.log_dist + p["gamma_border"][0] * inputs.border
    static, _ = segment_weights(inputs, p, inputs.log_pay)
    stock = (inputs.workers[:, None] * inputs.shares).T
    movers = segment_move_rates(inputs, p, stock)[0] * stock
    anchor = class_anchor(inputs, float(p["anchor_strength"][0]), rowwise=True)
    return (np.ascontiguousarray(log_k), np.ascontiguousarray(static[0]), movers,
            np.ascontiguousarray(anchor))


def _use_rowwise(inputs: ModelInputs, rowwise: bool | None, block: int) -> bool:
    """Whether to use the row-wise kernels (default: for :data:`LARGE_ZONES` zones or more); checks ``block``."""
    _check_int("block", block, 1, None)
    return inputs.n >= LARGE_ZONES if rowwise is None else bool(rowwise)


def _softmax_rows(u: np.ndarray) -> np.ndarray:
    e = np.exp(u - u.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _mix_weights(stock: np.ndarray) -> np.ndarray:
    """Each segment's share of its group's (or the given segments') stock per origin; uniform where empty."""
    tot = stock.sum(axis=0)
    return np.divide(stock, tot, out=np.full_like(stock, 1.0 / len(stock)), where=tot > 0)


def pivot_choice(inputs: ModelInputs, flows: np.ndarray, zero_weight: float = 1e-3, *,
                 rowwise: bool | None = None, block: int = ORIGIN_BLOCK) -> np.ndarray:
    """The destination choice the baseline reproduces: the observed shares ``F_ij / O_i``, zeros filled.

    A pair with no observed movers (17% of the 2021 pairs, mostly small origins and distant pairs)
    would need an infinite negative constant, so it takes ``zero_weight`` times the (unpivoted)
    model's all-worker choice share at the point estimates, ``sum_s w_si p_sij``, and each row is
    rescaled to sum to 1. With the default 0.001 the filled pairs hold 0.002% of all movers (the
    model's full share would be 1.9%: up to 39% of a small origin's movers) and the year-1 inflows
    stay within 0.1% of the observed ones. Origins without observed movers take the model's row.

    ``rowwise`` (default: for :data:`LARGE_ZONES` zones or more) computes the model's shares origin by
    origin (:func:`~migravity.scenarios._kernels_pivot.model_choice`, ``block`` origins per call) instead
    of on (16, n, n) arrays.
    """
    f = np.array(flows, float)
    np.fill_diagonal(f, 0.0)
    if _use_rowwise(inputs, rowwise, block):
        from migravity.scenarios._kernels_pivot import model_choice

        log_k, static, movers, anchor = _point_parts(inputs)
        model = np.empty((inputs.n, inputs.n))
        cls, w = np.ascontiguousarray(segment_class(), dtype=np.int64), np.ascontiguousarray(_mix_weights(movers))
        for lo in range(0, inputs.n, block):
            model_choice(log_k, anchor, cls, static, w, lo, model[lo:lo + block])
    else:
        log_k, static, movers, anchor = _point_model(inputs)
        model = np.einsum("si,sij->ij", _mix_weights(movers),
                          _softmax_rows(log_k[None] + anchor + static[:, None, :]))
    out = f.sum(axis=1, keepdims=True)
    obs = np.divide(f, out, out=np.zeros_like(f), where=out > 0)
    filled = np.where(out > 0, np.where(f > 0, obs, zero_weight * model), model)
    np.fill_diagonal(filled, 0.0)
    return filled / filled.sum(axis=1, keepdims=True)


def pivot_constants(inputs: ModelInputs, tol: float = 1e-12, max_iter: int = 20_000, *,
                    rowwise: bool | None = None, block: int = ORIGIN_BLOCK) -> np.ndarray:
    """Pair constants ``kappa_gij`` that make each skill group's year-1 baseline choice equal ``inputs.pivot_choice``.

    For each skill group ``g`` and origin ``i``, at the point values (draw 0) and the baseline's
    year-0 movers' mix ``w_si = M_si / M_gi`` (``M_si = m_si S_si``, the segment move rates of
    :func:`segment_move_rates`): ``sum_{s in g} w_si p_sij(kappa) = pivot_choice_ij``, with
    ``p_sij`` the logit of ``log K_ij + kappa_gij + a_c(s)ij + log W_sj`` over ``j != i``
    (``a`` the workplace anchor term, :func:`class_anchor`). Solved by the
    contraction ``kappa <- kappa + log(target / predicted)`` (the BLP inversion, per origin). The
    within-group differences between WFH classes (``log W_sj``) are kept; ``kappa`` absorbs the pair
    and destination parts, the residual misfit of the model and the aggregation over segments.
    Returns zeros (no pivot) when ``inputs.pivot_choice`` is None; raises
    :class:`~migravity.errors.ConvergenceError` when the contraction does not reach ``tol`` in ``max_iter`` steps.

    ``rowwise`` (default: for :data:`LARGE_ZONES` zones or more) solves each origin on its own
    (:func:`~migravity.scenarios._kernels_pivot.pivot_group`; each origin stops when its own step is
    below ``tol``, where the dense form runs every origin until all are; ``block`` origins per call)
    with the anchor terms of :func:`class_anchor`: no (16, n, n) array is held.
    """
    n = inputs.n
    if inputs.pivot_choice is None:
        return np.zeros((N_GROUPS, n, n))
    target = np.asarray(inputs.pivot_choice, float)
    off = ~np.eye(n, dtype=bool)
    if np.any(target[off] <= 0) or not np.allclose(target.sum(axis=1), 1.0, atol=1e-10):
        raise ConfigError("pivot_choice", "rows", "give positive off-diagonal shares summing to 1 per origin")
    log_t = np.where(off, np.log(np.where(off, target, 1.0)), 0.0)
    if _use_rowwise(inputs, rowwise, block):
        return _pivot_constants_rowwise(inputs, log_t, tol, max_iter, block)
    log_k, static, movers, anchor = _point_model(inputs)
    group = segment_group()
    kappa = np.zeros((N_GROUPS, n, n))
    for g in range(N_GROUPS):
        segs = group == g
        weights = _mix_weights(movers[segs])[:, :, None]  # (Sg, n, 1)
        base = log_k[None] + anchor[segs] + static[segs][:, None, :]  # (Sg, n, n)
        kap = (log_t - np.where(off, log_k, 0.0) - static[segs].mean(axis=0)[None, :]
               - np.where(off, anchor[segs].mean(axis=0), 0.0))
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


def _pivot_constants_rowwise(inputs: ModelInputs, log_t: np.ndarray, tol: float, max_iter: int,
                             block: int) -> np.ndarray:
    """:func:`pivot_constants` origin by origin (the numba kernel, per skill group)."""
    from migravity.scenarios._kernels_pivot import pivot_group

    n = inputs.n
    log_k, static, movers, anchor = _point_parts(inputs)
    group, cls = segment_group(), np.ascontiguousarray(segment_class(), dtype=np.int64)
    kappa = np.zeros((N_GROUPS, n, n))
    iters = np.zeros(n, dtype=np.int64)
    last = np.zeros(n)
    for g in range(N_GROUPS):
        segs = group == g
        weights = np.ascontiguousarray(_mix_weights(movers[segs]))
        cls_g, static_g = np.ascontiguousarray(cls[segs]), np.ascontiguousarray(static[segs])
        for lo in range(0, n, block):
            hi = min(n, lo + block)
            pivot_group(log_k, anchor, cls_g, static_g, weights, log_t, float(tol), int(max_iter), lo,
                        kappa[g, lo:hi], iters[lo:hi], last[lo:hi])
        if not np.all(last < tol):
            raise ConvergenceError(f"pivot_constants: no convergence for skill group {g} after {max_iter} iterations "
                                   f"(largest log step {float(np.max(last)):.3g}, tol {tol:g})")
        kap = kappa[g]  # diagonal 0: the mean over the pairs off it without a copy
        kap -= kap.sum() / (n * n - n)
        np.fill_diagonal(kap, 0.0)
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


def year0_stock(inputs: ModelInputs, scenario: Scenario) -> np.ndarray:
    """Year-0 stocks (16, n) before the scenario's WFH changes (its segment table, if any, applied)."""
    shares = inputs.shares
    if scenario.segment_table is not None:
        shares = read_segment_table(scenario.segment_table, inputs.codes)
    return np.ascontiguousarray((inputs.workers[:, None] * shares).T)


def initial_state(inputs: ModelInputs, scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The scenario's year-0 stocks (16, n), log house prices (n,) and log weekly pay (n,)."""
    stock = apply_wfh(year0_stock(inputs, scenario), scenario, inputs)
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
#: Draws per kernel call: the interval at which Ctrl-C and SIGTERM are seen during a Monte Carlo.
BATCH_DRAWS = 32
#: Work chunks per kernel call (a fixed number, so results do not depend on the thread count).
CHUNKS_PER_BATCH = 16


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
        Work chunks per batch of :data:`BATCH_DRAWS` draws (default :data:`CHUNKS_PER_BATCH`, or
        :data:`LARGE_CHUNKS` for :data:`LARGE_ZONES` zones or more; a fixed number: results are
        bit-for-bit the same for any thread count); only the last bits of the summed final-year flows
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
        Final-year high-skilled mover flows, mean over draws (empty, (0, 0), in the other
        specifications' runs of :attr:`~migravity.scenarios.run.RunResult.spec_runs`).
    options : SimulationOptions, optional
        The options it was simulated with.
    group_flows : ndarray, shape (draws, 3, 3), optional
        Final-year high-skilled mover flows between London, the rest of the GSE and the rest
        (:func:`zone_groups`), per draw.
    net_internal : ndarray, shape (draws, years, 2, n), optional
        Net internal migration of the simulation's own migration step by year: high-skilled
        workers (0) and the others (1). For the open-population baseline: the model's internal
        migration on the baseline path.
    path : ndarray, shape (years + 1, 2, n), optional
        The exogenous baseline totals of the open population by skill group (high-skilled, other)
        and LAD (None: closed population).
    """

    scenario: Scenario
    stocks: np.ndarray
    hs_flows: np.ndarray
    options: SimulationOptions | None = None
    group_flows: np.ndarray | None = None
    net_internal: np.ndarray | None = None
    path: np.ndarray | None = None

    def __repr__(self) -> str:
        draws, steps, segs, n = self.stocks.shape
        return short_repr(f"<Simulation {self.scenario.name!r}: {draws} draws, {steps - 1} years, {segs} segments, "
                          f"{n} LADs; {'open' if self.path is not None else 'closed'} population>",
                          [f"final-year workers (mean over draws): {self.stocks[:, -1].sum(axis=(1, 2)).mean():,.0f}",
                           f"final-year high-skilled movers between LADs: {self.hs_flows.sum():,.0f}"])

    def london_leavers_gse_share(self) -> np.ndarray:
        """Per draw: share of London's high-skilled leavers who stay in the GSE (final year)."""
        if self.group_flows is None:
            raise ConfigError("group_flows", None, "simulate with migravity.scenarios.simulate.simulate")
        return london_leavers_gse_share(self.group_flows)


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
    own = inputs.with_pattern(scenario.migration_pattern)  # the scenario's migration pattern
    open_population = inputs.open_baseline is not None
    stock0, log_price0, log_pay = initial_state(inputs, scenario)
    p = draw_parameters(inputs, scenario, draws, opts.seed)
    static, theta_h = segment_weights(inputs, p, log_pay)
    unconstrained = scenario.mode == "unconstrained"
    if unconstrained or open_population:
        base_static, _ = segment_weights(inputs, p, inputs.log_pay)
    else:
        base_static = static
    stock_b = year0_stock(inputs, scenario)
    move = segment_move_rates(own, p, stock_b)
    base_move = move if own is inputs else segment_move_rates(inputs, p, stock_b)
    if inputs.open_baseline is not None:
        from migravity.scenarios.baseline import group_path

        path = group_path(inputs.open_baseline, stock_b, years)
    else:
        path = np.zeros((1, N_GROUPS, inputs.n))
    stocks = np.empty((draws, years + 1, len(SEGMENTS), inputs.n))
    flow_sum: np.ndarray | None = None
    group_flows = np.empty((draws, N_ZONE_GROUPS, N_ZONE_GROUPS))
    net = np.empty((draws, years, 2, inputs.n))
    mask = segment_skill() == 0
    # anchor_strength is held at its point value in the draws (params.HELD_AT_POINT)
    strength = float(p["anchor_strength"][0])
    pair = _cached_pair_factors(own, strength)
    base_pair = pair if own is inputs else _cached_pair_factors(inputs, strength)
    beta, gamma = np.ascontiguousarray(p["beta_distance"]), np.ascontiguousarray(p["gamma_border"])
    common = (np.ascontiguousarray(inputs.log_dist, dtype=pair.dtype),
              np.ascontiguousarray(inputs.border, dtype=pair.dtype))
    # Draws run in batches of BATCH_DRAWS, so Ctrl-C / SIGTERM (raised in Python between kernel calls)
    # stops a long Monte Carlo within about a second; each batch splits into a number of chunks that
    # does not depend on the thread count, so the summed flows (and every per-draw output, computed by
    # one thread in a fixed order) are bit-for-bit the same whatever NUMBA_NUM_THREADS is.
    chunks = opts.n_chunks or min(draws, BATCH_DRAWS, CHUNKS_PER_BATCH if inputs.n < LARGE_ZONES else LARGE_CHUNKS)
    chunk_flows = np.empty((chunks, inputs.n, inputs.n))  # one buffer for every batch: (n, n) arrays are large
    for lo in range(0, draws, BATCH_DRAWS):
        hi = min(draws, lo + BATCH_DRAWS)
        flows = chunk_flows if opts.n_chunks else chunk_flows[:min(chunks, hi - lo)]
        part = slice(lo, hi)
        # one draw in the batch: its years' steps on two threads instead (bit for bit the same)
        kernel = K.simulate_draws_split if flows.shape[0] == 1 and numba.get_num_threads() > 1 else K.simulate_draws
        status = kernel(
            stock0, move[part], base_move[part], *common,
            pair, base_pair, base_pair is pair, pair_layers(), beta[part], gamma[part], static[part],
            base_static[part], theta_h[part], np.ascontiguousarray(log_price0 - inputs.log_price),
            np.zeros(inputs.n), float(scenario.housing_feedback), unconstrained, mask, zone_groups(inputs), stock_b,
            path, segment_group(), open_population, stocks[part], flows, group_flows[part], net[part])
        if status != K.OK:
            raise MigravityError(f"scenario {scenario.name!r}: the simulation produced a non-finite or negative "
                                 "stock; lower housing_feedback or the perturbations")
        if flow_sum is None:  # the first batch's flows, without a copy when they are one chunk
            flow_sum = flows[0] if len(flows) == 1 and hi == draws else flows.sum(axis=0)
        else:
            flow_sum += flows.sum(axis=0)
    assert flow_sum is not None  # draws >= 1
    flow_sum /= draws
    return Simulation(scenario, stocks, flow_sum, opts, group_flows, net,
                      path if open_population else None)


def _cached_pair_factors(inputs: ModelInputs, strength: float) -> np.ndarray:
    """:func:`segment_pair_factors`, kept on ``inputs`` for study areas of :data:`LARGE_ZONES` zones or more.

    One entry (the last anchor strength): a run's scenarios, baselines and specifications share it.
    """
    if inputs.n < LARGE_ZONES:
        return segment_pair_factors(inputs, strength)
    cache = inputs.__dict__.get("_pair_cache")
    if cache is None or cache[0] != float(strength):
        cache = (float(strength), segment_pair_factors(inputs, strength))
        object.__setattr__(inputs, "_pair_cache", cache)
    return cache[1]


def pair_factor(inputs: ModelInputs) -> np.ndarray:
    """The kernels' pair factors at the point ``anchor_strength`` (16, n, n): see :func:`segment_pair_factors`."""
    return segment_pair_factors(inputs)


def baseline_of(scenario: Scenario) -> Scenario:
    """The baseline paired with ``scenario``: its settings and parameters, no perturbation."""
    return replace(scenario, name="baseline", description="baseline", wfh=(), house_prices=(), earnings=(),
                   source="derived", raw={}, migration_pattern=None)
