"""Run scenarios side by side with their paired baselines, and build the results and the headline table.

:func:`run_scenarios` runs them; :func:`results_dataset` and :func:`summary_table` build what a run
directory holds. The run directory's format, its writer and its reader live in
:mod:`migravity.scenarios.rundir` (:func:`write_run` and :data:`QUANTILES` are re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from migravity.analysis.evidence import Specification
from migravity.errors import ConfigError
from migravity.scenarios.rundir import NETCDF_ENGINE, QUANTILES, manifest, write_run
from migravity.scenarios.segments import COMMUTE_DAYS, N_CLASSES, SEGMENTS, SKILLS, WFH_CLASSES
from migravity.scenarios.simulate import (
    ModelInputs,
    Simulation,
    SimulationOptions,
    baseline_of,
    pivot_constants,
    share_anchor,
    simulate,
)
from migravity.scenarios.spec import Mode, Scenario
from migravity.utils.metadata import annotate
from migravity.utils.progress import SILENT, Reporter
from migravity.utils.reprs import short_repr

__all__ = [
    "DEFAULTS", "NETCDF_ENGINE", "QUANTILES", "SKILL_GROUPS", "RunResult", "SimulationOptions", "decomposition",
    "gini", "london_net_internal", "manifest", "results_dataset", "run_options", "run_scenarios", "settle",
    "spec_inputs", "summary_table", "theil", "write_run",
]

#: Headline metrics with a specification range (``spec_low``/``spec_high`` in the summary): the
#: change (scenario - baseline) of the GSE share and of the Theil index, and the scenario's value
#: of the London-leavers GSE share.
SPEC_METRICS: tuple[str, ...] = ("gse_hs_share", "theil_lad", "london_leavers_gse_share")
#: The per-specification values in ``results.nc`` (``spec_headline``).
SPEC_HEADLINES: tuple[str, ...] = ("gse_hs_share_change", "theil_lad_change", "london_leavers_gse_share",
                                   "baseline_london_leavers_gse_share")

DEFAULTS = {"years": 10, "draws": 200, "seed": 2021}


def theil(hs: np.ndarray, workers: np.ndarray) -> np.ndarray:
    """Theil index of high-skilled workers across zones relative to all workers (last axis = zones).

    ``T = sum_i (H_i / H) ln((H_i / H) / (W_i / W))``: 0 when every zone has the national high-skilled
    share; larger when high-skilled workers are more concentrated.
    """
    s = hs / hs.sum(axis=-1, keepdims=True)
    w = workers / workers.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(s > 0, s * np.log(s / w), 0.0)
    return terms.sum(axis=-1)


def gini(hs: np.ndarray, workers: np.ndarray) -> np.ndarray:
    """Gini index of high-skilled workers across zones relative to all workers (last axis = zones).

    Twice the area between the diagonal and the concentration (Lorenz) curve of high-skilled
    workers against all workers, zones ordered by their high-skilled share ``H_i / W_i``:
    ``G = 1 - sum_k (W_k - W_{k-1}) (H_k + H_{k-1})`` over cumulative shares. 0 when every zone
    has the national share; towards 1 as high-skilled workers gather in zones with few workers.
    """
    hs = np.asarray(hs, dtype=np.float64)
    workers = np.asarray(workers, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(workers > 0, hs / workers, np.inf)
    order = np.argsort(ratio, axis=-1, kind="stable")
    h = np.take_along_axis(hs, order, axis=-1)
    w = np.take_along_axis(np.broadcast_to(workers, hs.shape), order, axis=-1)
    ch = np.cumsum(h, axis=-1) / h.sum(axis=-1, keepdims=True)
    cw = np.cumsum(w, axis=-1) / w.sum(axis=-1, keepdims=True)
    zero = np.zeros((*ch.shape[:-1], 1))
    ch_prev = np.concatenate([zero, ch[..., :-1]], axis=-1)
    cw_prev = np.concatenate([zero, cw[..., :-1]], axis=-1)
    return 1.0 - ((cw - cw_prev) * (ch + ch_prev)).sum(axis=-1)


def _hs(stocks: np.ndarray) -> np.ndarray:
    return stocks[..., :N_CLASSES, :].sum(axis=-2)


#: Skill groups of the decomposition variables (``skill_group`` of ``results.nc``).
SKILL_GROUPS: tuple[str, ...] = ("high", "other")


def decomposition(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative change since year 0 split into internal migration and the other components.

    Returns ``(internal, other)``, each (draws, years + 1, 2, n) by skill group (high-skilled,
    other): ``internal`` the running sum of the simulation's own net internal migration
    (:attr:`Simulation.net_internal`), ``other = stock(t) - stock(0) - internal`` (the open
    population's non-migration components ``M(X(t)) (G(t) - 1)``: natural change, international
    migration, entry to and exit from work, moves into HSL; zero, up to rounding, in a closed
    population). Scenario minus baseline: the difference of ``internal`` is the change in internal
    migration; the difference of ``other`` is the non-migration rates applied to the
    migration-induced difference of the stocks (second order). The year-0 WFH reclassification
    moves workers between classes within a skill group, so it leaves both skill-group totals as
    they are.
    """
    if sim.net_internal is None:
        raise ConfigError("net_internal", None, "simulate with migravity.scenarios.simulate.simulate")
    d, t1 = sim.stocks.shape[:2]
    internal = np.zeros((d, t1, 2, sim.stocks.shape[-1]))
    internal[:, 1:] = np.cumsum(sim.net_internal, axis=1)
    groups = np.stack([_hs(sim.stocks), sim.stocks[..., N_CLASSES:, :].sum(axis=-2)], axis=2)
    return internal, groups - groups[:, :1] - internal


def london_net_internal(run: RunResult) -> list[dict[str, Any]]:
    """Per scenario, per year: London's net internal migration (mean over draws) of the scenario and its baseline.

    ``hsl`` and ``workers`` come from the simulations (the model's migration step; for the
    baseline, on the baseline path). ``persons`` (open population only): the scenario's migration
    pattern (move rates and the pivot choice) applied to the baseline population path, i.e. before
    WFH, price and pay changes (``baseline_persons``: the baseline's pattern), for comparison with the
    mid-year estimates
    (``precovid_mean``: London's mean net internal migration, mid-2014 -> mid-2019).
    """
    from migravity.scenarios.baseline import population_accounts
    from migravity.scenarios.simulate import LONDON_REGION

    inp = run.inputs
    lon = np.asarray(inp.region_codes) == LONDON_REGION
    years = run.settings["years"]
    out = []
    for sim, base in run.runs:
        entry: dict[str, Any] = {"scenario": sim.scenario.name, "year": list(range(1, years + 1))}
        for label, s in (("", sim), ("baseline_", base)):
            if s.net_internal is None:
                continue
            net = s.net_internal[..., lon].sum(-1).mean(axis=0)  # (years, 2)
            entry[f"{label}hsl"] = [float(v) for v in net[:, 0]]
            entry[f"{label}workers"] = [float(v) for v in net.sum(axis=1)]
        if inp.open_baseline is not None:
            for label, name in (("", sim.scenario.migration_pattern), ("baseline_", None)):
                pat = inp.with_pattern(name)
                if pat.pivot_choice is not None:
                    acc = population_accounts(inp.open_baseline, pat.move_rate, pat.pivot_choice, years)
                    entry[f"{label}persons"] = [float(v) for v in acc["net_internal"][:, lon].sum(-1)]
                    entry[f"{label}migration_pattern"] = pat.pattern
            entry["precovid_mean"] = float(inp.open_baseline.precovid_net[lon].sum())
        out.append(entry)
    return out


def settle(scenarios: Sequence[Scenario], *, years: int | None = None, draws: int | None = None,
           seed: int | None = None) -> dict[str, int]:
    """Run settings: the arguments, else the scenario files' common values, else the defaults."""
    out: dict[str, int] = {}
    for key, given in (("years", years), ("draws", draws), ("seed", seed)):
        if given is not None:
            out[key] = given
            continue
        values = {getattr(s, key) for s in scenarios} - {None}
        if len(values) > 1:
            raise ConfigError(key, sorted(values), f"the scenarios disagree; pass --{key} to choose one")
        out[key] = values.pop() if values else DEFAULTS[key]
    return out


@dataclass(frozen=True, eq=False)
class RunResult:
    """Scenarios run side by side with their paired baselines.

    Attributes
    ----------
    inputs : ModelInputs
        The study area and parameters.
    runs : tuple of (Simulation, Simulation)
        ``(scenario, baseline)`` pairs, in the order the scenarios were given.
    settings : dict of str to int
        ``years``, ``draws`` and ``seed`` (recorded in the run directory).
    options : SimulationOptions, optional
        The options every simulation of the run used.
    spec_runs : tuple of (Specification, tuple of (Simulation, Simulation))
        Every other specification of the evidence (and the anchor-strength pair) at its point
        values: one draw, the same seed, the pivot re-solved; the pairs in the order of ``runs``.
        Only their headline values are read (:meth:`spec_headline`: stocks and group flows), so
        their ``hs_flows`` are not kept (empty ``(0, 0)`` arrays): at MSOA scale each would be an
        (n, n) float64 array of 0.4 GiB.
    """

    inputs: ModelInputs
    runs: tuple[tuple[Simulation, Simulation], ...]  # (scenario, baseline) pairs
    settings: dict[str, int]
    options: SimulationOptions | None = None
    spec_runs: tuple[tuple[Specification, tuple[tuple[Simulation, Simulation], ...]], ...] = ()

    @property
    def specification_names(self) -> list[str]:
        """The main specification (the Monte Carlo's draw 0) and the others, in order."""
        specs = self.inputs.params.specifications
        main = specs[0].name if specs else "main"
        return [main, *(sp.name for sp, _ in self.spec_runs)]

    def spec_headline(self) -> np.ndarray:
        """Point values by scenario, specification (:attr:`specification_names`), :data:`SPEC_HEADLINES`."""
        out = np.empty((len(self.runs), len(self.spec_runs) + 1, len(SPEC_HEADLINES)))
        sets = [self.runs, *(pairs for _, pairs in self.spec_runs)]
        for k, pairs in enumerate(sets):
            for i, (sim, base) in enumerate(pairs):
                out[i, k] = [v[0] for v in headline_values(self.inputs, sim, base)]
        return out
    def __repr__(self) -> str:
        inp, st = self.inputs, self.settings
        lines = []
        for sim, base in self.runs:
            hs_s, hs_b = _hs(sim.stocks[:, -1]), _hs(base.stocks[:, -1])
            change = 100.0 * (hs_s[:, inp.gse].sum(-1) / hs_s.sum(-1) - hs_b[:, inp.gse].sum(-1) / hs_b.sum(-1))
            lo, mid, hi = np.quantile(change, [0.05, 0.5, 0.95])
            lines.append(f"{sim.scenario.name}: GSE high-skilled share {mid:+.3f} pp [{lo:+.3f}, {hi:+.3f}] "
                         f"vs baseline in year {st.get('years')}")
        lines.append(f"specifications: {', '.join(self.specification_names)}")
        return short_repr(f"<RunResult: {len(self.runs)} scenario(s), {inp.n} LADs ({inp.area}, {inp.zone_vintage}); "
                          f"{st.get('years')} years, {st.get('draws')} draws, seed {st.get('seed')}>", lines)

    def dataset(self, quantiles: Sequence[float] = QUANTILES) -> xr.Dataset:
        """The results as an xarray Dataset (see :mod:`migravity.scenarios.rundir`)."""
        return results_dataset(self, quantiles)

    def summary(self, quantiles: Sequence[float] = QUANTILES) -> pd.DataFrame:
        """The tidy headline table (see :func:`summary_table`)."""
        return summary_table(self, quantiles)


def run_options(scenarios: Sequence[Scenario], options: SimulationOptions | None = None, *,
                years: int | None = None, draws: int | None = None, seed: int | None = None,
                mode: Mode | None = None, housing_feedback: float | None = None) -> SimulationOptions:
    """The options of a run: the keywords, else ``options``, else the scenario files' common values, else defaults.

    Parameters
    ----------
    scenarios : sequence of Scenario
        The scenarios of the run (their ``years``, ``draws`` and ``seed``).
    options : SimulationOptions, optional
        Explicit options: its years, draws and seed win over the scenario files'.
    years, draws, seed, mode, housing_feedback : optional
        Explicit values, winning over ``options``.

    Returns
    -------
    SimulationOptions

    Raises
    ------
    ConfigError
        The scenarios disagree on a setting that no argument chooses, or a value is out of range.
    """
    given = {"years": years, "draws": draws, "seed": seed}
    if options is not None:
        given = {k: v if v is not None else getattr(options, k) for k, v in given.items()}
    settings = settle(scenarios, **given)
    years_, draws_, seed_ = settings["years"], settings["draws"], settings["seed"]
    base = (replace(options, years=years_, draws=draws_, seed=seed_) if options is not None
            else SimulationOptions(years=years_, draws=draws_, seed=seed_))
    return SimulationOptions.of(base, mode=mode, housing_feedback=housing_feedback)


def spec_inputs(inputs: ModelInputs, spec: Specification) -> ModelInputs:
    """``inputs`` with the point values of ``spec`` and the pivot constants re-solved at them (every pattern)."""
    params = inputs.params.with_values(spec.values)
    out = share_anchor(inputs, replace(inputs, params=params))  # re-used when the anchor strength is the same
    if inputs.pivot_choice is not None:
        out = share_anchor(out, replace(out, pair_constant=pivot_constants(out)))
    patterns = []
    for pat in out.patterns:
        alt = out.with_pattern(pat.name)
        patterns.append(replace(pat, pair_constant=pivot_constants(alt)))
    return share_anchor(out, replace(out, patterns=tuple(patterns)))


#: The ``hs_flows`` of a specification's simulations (not kept: :attr:`RunResult.spec_runs`).
_NO_FLOWS = np.zeros((0, 0))
_NO_FLOWS.flags.writeable = False


def headline_values(inputs: ModelInputs, sim: Simulation, base: Simulation) -> tuple[np.ndarray, ...]:
    """Per draw (final year): GSE-share change, Theil change, London-leavers GSE share of scenario and baseline."""
    out = []
    hs_s, hs_b = _hs(sim.stocks[:, -1]), _hs(base.stocks[:, -1])
    gse_s = hs_s[:, inputs.gse].sum(-1) / hs_s.sum(-1)
    gse_b = hs_b[:, inputs.gse].sum(-1) / hs_b.sum(-1)
    out.append(gse_s - gse_b)
    agg = lad_matrix(inputs)
    out.append(theil(_to_lad(hs_s, agg), _to_lad(sim.stocks[:, -1].sum(axis=1), agg))
               - theil(_to_lad(hs_b, agg), _to_lad(base.stocks[:, -1].sum(axis=1), agg)))
    out.append(sim.london_leavers_gse_share())
    out.append(base.london_leavers_gse_share())
    return tuple(out)


def run_scenarios(inputs: ModelInputs, scenarios: Sequence[Scenario], options: SimulationOptions | None = None, *,
                  years: int | None = None, draws: int | None = None, seed: int | None = None,
                  mode: Mode | None = None, housing_feedback: float | None = None,
                  reporter: Reporter = SILENT, specifications: bool = True) -> RunResult:
    """Simulate each scenario and its baseline with the same parameter draws.

    Baselines with identical settings (mode, feedback, parameters, segment table) are shared. The
    main specification runs the full Monte Carlo; every other specification
    (:meth:`~migravity.scenarios.params.ModelParameters.all_specifications`) runs each scenario and
    its baseline at its point values (one draw, the same seed, pivot re-solved: :func:`spec_inputs`),
    which gives the summary's ``spec_low``/``spec_high``.

    Parameters
    ----------
    inputs : ModelInputs
        From :func:`migravity.scenarios.simulate.prepare_inputs`.
    scenarios : sequence of Scenario
        Distinct names.
    options : SimulationOptions, optional
        Years, draws, seed and overrides of the run (see :func:`run_options` for the precedence).
    years, draws, seed, mode, housing_feedback : optional
        Replace the field of ``options`` of the same name.
    reporter : Reporter
        Receives the progress (one unit per scenario); default silent.
    specifications : bool
        Also run the other specifications (default True).

    Returns
    -------
    RunResult
    """
    names = [s.name for s in scenarios]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError("scenario", sorted(dup)[0], "give each scenario a distinct name")
    opts = run_options(scenarios, options, years=years, draws=draws, seed=seed, mode=mode,
                       housing_feedback=housing_feedback)
    specs = inputs.params.all_specifications()[1:] if specifications else ()

    def pairs(inp: ModelInputs, o: SimulationOptions, task: Any,
              keep_flows: bool = True) -> tuple[tuple[Simulation, Simulation], ...]:
        cache: dict[Scenario, Simulation] = {}
        runs = []

        def sim_of(sc: Scenario) -> Simulation:
            out = simulate(inp, sc, o)
            return out if keep_flows else replace(out, hs_flows=_NO_FLOWS)

        for sc in scenarios:
            sc = o.apply(sc)
            base = baseline_of(sc)
            if base not in cache:
                cache[base] = sim_of(base)
            sim = cache[base] if sc.is_zero else sim_of(sc)
            runs.append((sim, cache[base]))
            task.advance(1)
        return tuple(runs)

    with reporter.progress("simulating", total=len(scenarios) * (1 + len(specs))) as task:
        main = pairs(inputs, opts, task)
        # the main run's cached pair factors (large study areas: (16, n, n) float32) are not needed by the
        # specifications, which build their own: free them before
        inputs.__dict__.pop("_pair_cache", None)
        one = replace(opts, draws=1)
        spec_runs = tuple((sp, pairs(spec_inputs(inputs, sp), one, task, keep_flows=False)) for sp in specs)
    return RunResult(inputs, main, opts.settings, opts, spec_runs)


def _q(x: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    return np.quantile(x, quantiles, axis=0)


def _nanq(x: np.ndarray, quantiles: Sequence[float] | np.ndarray) -> np.ndarray:
    """Quantiles ignoring NaN (all NaN: NaN, quietly)."""
    x = np.asarray(x, float)
    if np.all(np.isnan(x)):
        return np.full(len(quantiles), np.nan)
    return np.nanquantile(x, quantiles)


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, float)
    return float(np.nanmean(x)) if np.any(~np.isnan(x)) else float("nan")


def results_dataset(run: RunResult, quantiles: Sequence[float] = QUANTILES) -> xr.Dataset:
    """Build the ``results.nc`` Dataset of a run."""
    inp = run.inputs
    qs = list(quantiles)
    sims = [r[0] for r in run.runs]
    bases = [r[1] for r in run.runs]

    def stack(fn: Callable[[Any], np.ndarray], items: list[Any]) -> np.ndarray:
        return np.stack([fn(s) for s in items])

    d_seg = ("scenario", "year", "segment", "lad")
    d_q = ("scenario", "quantile", "year", "segment", "lad")
    data = {
        "stock_mean": (d_seg, stack(lambda s: s.stocks.mean(axis=0), sims)),
        "baseline_stock_mean": (d_seg, stack(lambda s: s.stocks.mean(axis=0), bases)),
        "stock": (d_q, stack(lambda s: _q(s.stocks, qs), sims)),
        "baseline_stock": (d_q, stack(lambda s: _q(s.stocks, qs), bases)),
        "hs_change": (("scenario", "quantile", "lad"),
                      np.stack([_q(_hs(s.stocks[:, -1]) - _hs(b.stocks[:, -1]), qs) for s, b in run.runs])),
        # per draw (float32): sums over any group of LADs and their intervals are computed from these
        "hs_stock_draws": (("scenario", "draw", "lad"),
                           stack(lambda s: _hs(s.stocks[:, -1]).astype(np.float32), sims)),
        "baseline_hs_stock_draws": (("scenario", "draw", "lad"),
                                    stack(lambda s: _hs(s.stocks[:, -1]).astype(np.float32), bases)),
        "hs_flows": (("scenario", "origin", "destination"), stack(lambda s: s.hs_flows, sims)),
        "baseline_hs_flows": (("scenario", "origin", "destination"), stack(lambda s: s.hs_flows, bases)),
    }
    agg = lad_matrix(inp)
    for prefix, items in (("", sims), ("baseline_", bases)):
        gse = stack(lambda s: _q(_hs(s.stocks)[..., inp.gse].sum(-1) / _hs(s.stocks).sum(-1), qs), items)
        th = stack(lambda s: _q(theil(_to_lad(_hs(s.stocks), agg), _to_lad(s.stocks.sum(axis=-2), agg)), qs), items)
        gi = stack(lambda s: _q(gini(_to_lad(_hs(s.stocks), agg), _to_lad(s.stocks.sum(axis=-2), agg)), qs), items)
        data[f"{prefix}gse_share"] = (("scenario", "quantile", "year"), gse)
        data[f"{prefix}theil"] = (("scenario", "quantile", "year"), th)
        data[f"{prefix}gini"] = (("scenario", "quantile", "year"), gi)
    qq = np.asarray(qs)
    for k, prefix in ((2, ""), (3, "baseline_")):
        vals = [headline_values(inp, s, b)[k] for s, b in run.runs]
        data[f"{prefix}london_leavers_gse_share"] = (("scenario", "quantile"), np.stack([_nanq(v, qq) for v in vals]))
        data[f"{prefix}london_leavers_gse_share_mean"] = (("scenario",), np.array([_nanmean(v) for v in vals]))
    data["spec_headline"] = (("scenario", "specification", "headline"), run.spec_headline())
    d_dec = ("scenario", "year", "skill_group", "lad")
    for prefix, items in (("", sims), ("baseline_", bases)):
        parts = [decomposition(s) for s in items]
        data[f"{prefix}net_internal"] = (d_dec, np.stack([p[0].mean(axis=0) for p in parts]))
        data[f"{prefix}other_change"] = (d_dec, np.stack([p[1].mean(axis=0) for p in parts]))
    codes = list(inp.codes)
    ds = xr.Dataset(data, coords={
        "specification": run.specification_names, "headline": list(SPEC_HEADLINES),
        "scenario": [s.scenario.name for s in sims], "quantile": qs, "year": np.arange(run.settings["years"] + 1),
        "draw": np.arange(run.settings["draws"]),
        "segment": list(SEGMENTS), "skill_group": list(SKILL_GROUPS), "lad": codes, "origin": codes,
        "destination": codes,
        "lad_name": ("lad", list(inp.names)), "region": ("lad", list(inp.region_codes)),
        "region_name": ("lad", list(inp.region_names)), "gse": ("lad", inp.gse.astype(np.int8)),
        "imd_quintile": ("lad", inp.imd_quintile),
        "skill": ("segment", [k for k in SKILLS for _ in WFH_CLASSES]),
        "wfh_class": ("segment", [c for _ in SKILLS for c in WFH_CLASSES]),
        "commute_days": ("segment", [COMMUTE_DAYS[c] for _ in SKILLS for c in WFH_CLASSES]),
    })
    if inp.level == "msoa":
        ds = ds.assign_coords(parent_lad=("lad", list(inp.parents)))
    ds.attrs.update({"zone_vintage": inp.zone_vintage, "area": inp.area, "units": "workers", "level": inp.level,
                     "baseline_pattern": inp.pattern,
                     "population": "open (baseline path follows the country)" if inp.open_baseline is not None
                     else "closed (Census 2021 workers)",
                     **{k: int(v) for k, v in run.settings.items()}})
    names = ", ".join(str(s) for s in ds["scenario"].to_numpy())
    return annotate(ds, vintage=str(inp.zone_vintage),
                    title=f"migravity scenario run: {names}, each with its paired baseline",
                    source=f"migravity spatial-interaction simulation of high-skilled workers, {inp.area} local "
                           f"authority districts ({inp.zone_vintage} boundaries); ONS Census and migration data")


_QUINTILE_NOTE = {1: " (most deprived)", 5: " (least deprived)"}


def _groups(inp: ModelInputs) -> list[tuple[str, str, str, np.ndarray]]:
    """(level, code, name, boolean LAD mask) for every reported geography."""
    out = [("national", "EW" if inp.area == "EW" else inp.area, "study area", np.ones(inp.n, bool))]
    out += [("gse", "GSE", "Greater South East", inp.gse), ("gse", "REST", "Rest of the study area", ~inp.gse)]
    regions = dict(zip(inp.region_codes, inp.region_names, strict=True))
    rc = np.asarray(inp.region_codes)
    out += [("region", r, regions[r], rc == r) for r in sorted(regions)]
    out += [("imd_quintile", f"Q{q}", f"IMD quintile {q}{_QUINTILE_NOTE.get(q, '')}", inp.imd_quintile == q)
            for q in range(1, 6)]
    zone_level = "msoa" if inp.level == "msoa" else "lad"
    out += [(zone_level, c, n, np.arange(inp.n) == i)
            for i, (c, n) in enumerate(zip(inp.codes, inp.names, strict=True))]
    if inp.level == "msoa":  # the parent LADs (2021 codes): the MSOA results summed
        parents = np.asarray(inp.parents)
        out += [("lad", c, c, parents == c) for c in sorted(set(inp.parents))]
    return out


def lad_matrix(inp: ModelInputs) -> np.ndarray | None:
    """MSOA inputs: the (L, n) 0/1 matrix summing zones to their parent LADs (sorted codes); None at LAD level."""
    if inp.level != "msoa":
        return None
    from migravity.scenarios.msoa import aggregation_matrix

    return aggregation_matrix(inp.parents)[0]


def _to_lad(x: np.ndarray, agg: np.ndarray | None) -> np.ndarray:
    """``x`` (..., n) summed to LADs when ``agg`` is given (MSOA runs: the indices are across LADs)."""
    return x if agg is None else x @ agg.T


def summary_table(run: RunResult, quantiles: Sequence[float] = QUANTILES) -> pd.DataFrame:
    """The tidy headline table: one row per scenario, metric and geography.

    Metrics: ``hs_stock`` (high-skilled workers in the final year) for the study area, GSE vs the
    rest, regions, IMD quintiles and LADs; ``gse_hs_share`` (share of high-skilled workers in the
    GSE), ``theil_lad`` and ``theil_region`` (Theil index of high-skilled workers relative to all
    workers, across LADs / regions), ``gini_lad`` (the Gini index of the same, across LADs).
    MSOA runs: ``hs_*`` rows at level ``msoa`` per zone and at level ``lad`` per parent LAD (the MSOAs
    summed); ``theil_lad`` and ``gini_lad`` are across the parent LADs (comparable with a LAD run).
    ``hs_net_internal`` and ``hs_other_change`` (same geographies as ``hs_stock``): the change of
    the high-skilled stock over the run split into the simulation's own net internal migration and
    the other components (:func:`decomposition`); a scenario's ``change_*`` of ``hs_net_internal``
    is its change in internal migration, that of ``hs_other_change`` the non-migration rates
    applied to the migration-induced difference (second order).
    ``london_leavers_gse_share`` (national level): of London's high-skilled leavers in the final
    year (movers from London LADs to LADs outside London), the share who stay in the Greater South
    East (``initial``: NaN, a flow).
    Columns: ``initial`` (year 0, scenario), ``baseline_*`` and ``scenario_*`` (final year: mean
    and quantiles over draws), ``change_*`` (scenario - baseline, per draw) and ``verdict`` for the
    inequality indices (narrows / widens / unclear: whether the
    change's interval excludes 0). ``spec_low``/``spec_high`` (rows of :data:`SPEC_METRICS`, NaN
    elsewhere): the range over the specifications' point values (the main one's draw 0 included) of
    the change for ``gse_hs_share`` and ``theil_lad``, of the scenario's value for
    ``london_leavers_gse_share``: the specification uncertainty beside the sampling interval.
    """
    inp = run.inputs
    qs = list(quantiles)
    groups = _groups(inp)
    masks = np.stack([g[3] for g in groups]).astype(float)  # (G, n)
    rc = np.asarray(inp.region_codes)
    regions = sorted(set(inp.region_codes))
    rmask = np.stack([rc == r for r in regions]).astype(float)
    rows = []
    spec = run.spec_headline()  # (S, P, 4)
    spec_col = {"gse_hs_share": 0, "theil_lad": 1, "london_leavers_gse_share": 2}
    agg = lad_matrix(inp)
    for n_sc, (sim, base) in enumerate(run.runs):
        vals = {}
        for label, s in (("scenario", sim), ("baseline", base)):
            hs = _hs(s.stocks[:, -1])  # (D, n)
            allw = s.stocks[:, -1].sum(axis=1)
            internal, other = decomposition(s)
            vals[label] = {
                "hs_stock": hs @ masks.T,
                "hs_net_internal": internal[:, -1, 0] @ masks.T,
                "hs_other_change": other[:, -1, 0] @ masks.T,
                "gse_hs_share": (hs[:, inp.gse].sum(-1) / hs.sum(-1))[:, None],
                "theil_lad": theil(_to_lad(hs, agg), _to_lad(allw, agg))[:, None],
                "theil_region": theil(hs @ rmask.T, allw @ rmask.T)[:, None],
                "gini_lad": gini(_to_lad(hs, agg), _to_lad(allw, agg))[:, None],
                "london_leavers_gse_share": s.london_leavers_gse_share()[:, None],
            }
        hs0 = _hs(sim.stocks[0, 0])
        zeros = np.zeros(len(groups))
        initial = {"hs_stock": masks @ hs0, "hs_net_internal": zeros, "hs_other_change": zeros,
                   "gse_hs_share": [hs0[inp.gse].sum() / hs0.sum()],
                   "theil_lad": [theil(_to_lad(hs0, agg), _to_lad(sim.stocks[0, 0].sum(0), agg))],
                   "theil_region": [theil(rmask @ hs0, rmask @ sim.stocks[0, 0].sum(0))],
                   "gini_lad": [gini(_to_lad(hs0, agg), _to_lad(sim.stocks[0, 0].sum(0), agg))],
                   "london_leavers_gse_share": [np.nan]}
        for metric in ("gse_hs_share", "theil_lad", "theil_region", "gini_lad", "london_leavers_gse_share",
                       "hs_stock", "hs_net_internal", "hs_other_change"):
            b, s = vals["baseline"][metric], vals["scenario"][metric]
            labels = ([(g[0], g[1], g[2]) for g in groups] if metric.startswith("hs_")
                      else [("national", groups[0][1], groups[0][2])])
            for k, (level, code, name) in enumerate(labels):
                row = {"scenario": sim.scenario.name, "metric": metric, "level": level, "code": code, "name": name,
                       "initial": float(initial[metric][k])}
                for label, arr in (("baseline", b[:, k]), ("scenario", s[:, k]), ("change", s[:, k] - b[:, k])):
                    row[f"{label}_mean"] = _nanmean(arr)
                    for q, v in zip(qs, _nanq(arr, qs), strict=True):
                        row[f"{label}_q{round(q * 100):02d}"] = float(v)
                if metric in spec_col:
                    col = spec[n_sc, :, spec_col[metric]]
                    row["spec_low"], row["spec_high"] = (float(np.nanmin(col)), float(np.nanmax(col))) \
                        if np.any(~np.isnan(col)) else (np.nan, np.nan)
                else:
                    row["spec_low"] = row["spec_high"] = np.nan
                if metric.startswith(("theil", "gini")):
                    lo, hi = np.quantile(s[:, k] - b[:, k], [qs[0], qs[-1]])
                    row["verdict"] = "narrows" if hi < 0 else "widens" if lo > 0 else "unclear"
                else:
                    row["verdict"] = ""
                rows.append(row)
    return pd.DataFrame(rows)
