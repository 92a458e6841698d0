"""Run scenarios and write the run directory: ``results.nc``, ``summary.csv``/``.parquet``, ``manifest.json``.

The run directory contract (read by the GIS export and plot commands):

- ``results.nc`` (xarray; netCDF3 written by scipy, strings as char arrays): dims ``scenario``,
  ``quantile``, ``year``, ``segment``, ``lad``, ``origin``, ``destination``. Variables:
  ``stock_mean`` / ``baseline_stock_mean`` (scenario, year, segment, lad; mean over draws),
  ``stock`` / ``baseline_stock`` (scenario, quantile, year, segment, lad), ``hs_change``
  (scenario, quantile, lad: final-year high-skilled stock, scenario - baseline), ``gse_share``,
  ``theil``, ``gini``, ``baseline_gse_share``, ``baseline_theil``, ``baseline_gini`` (scenario,
  quantile, year), ``hs_flows`` /
  ``baseline_hs_flows`` (scenario, origin, destination: final-year high-skilled mover flows, mean
  over draws).
- ``summary.csv`` and ``summary.parquet``: the tidy headline table (:func:`summary_table`).
- ``manifest.json``: version, created, zone vintage and area, scenarios, seed, draws, years,
  quantiles, the parameter table.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from migravity.errors import ConfigError
from migravity.scenarios.segments import COMMUTE_DAYS, N_CLASSES, SEGMENTS, SKILLS, WFH_CLASSES
from migravity.scenarios.simulate import ModelInputs, Simulation, baseline_of, simulate
from migravity.scenarios.spec import Scenario

NETCDF_ENGINE = "scipy"  # netCDF3 via scipy: no HDF5 library needed
QUANTILES: tuple[float, ...] = (0.05, 0.5, 0.95)
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
    """Scenarios run side by side with their paired baselines."""

    inputs: ModelInputs
    runs: tuple[tuple[Simulation, Simulation], ...]  # (scenario, baseline) pairs
    settings: dict[str, int]

    def dataset(self, quantiles: Sequence[float] = QUANTILES) -> xr.Dataset:
        """The results as an xarray Dataset (see the module docs)."""
        return results_dataset(self, quantiles)

    def summary(self, quantiles: Sequence[float] = QUANTILES) -> pd.DataFrame:
        """The tidy headline table (see :func:`summary_table`)."""
        return summary_table(self, quantiles)


def run_scenarios(inputs: ModelInputs, scenarios: Sequence[Scenario], *, years: int | None = None,
                  draws: int | None = None, seed: int | None = None, progress=None) -> RunResult:
    """Simulate each scenario and its baseline with the same parameter draws.

    Baselines with identical settings (mode, feedback, parameters, segment table) are shared.
    """
    names = [s.name for s in scenarios]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError("scenario", sorted(dup)[0], "give each scenario a distinct name")
    settings = settle(scenarios, years=years, draws=draws, seed=seed)
    cache: dict[Scenario, Simulation] = {}
    runs = []
    for sc in scenarios:
        base = baseline_of(sc)
        if base not in cache:
            cache[base] = simulate(inputs, base, **settings)
        sim = cache[base] if sc.is_zero else simulate(inputs, sc, **settings)
        runs.append((sim, cache[base]))
        if progress is not None:
            progress.advance(1)
    return RunResult(inputs, tuple(runs), settings)


def _q(x: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    return np.quantile(x, quantiles, axis=0)


def results_dataset(run: RunResult, quantiles: Sequence[float] = QUANTILES) -> xr.Dataset:
    """Build the ``results.nc`` Dataset of a run."""
    inp = run.inputs
    qs = list(quantiles)
    sims = [r[0] for r in run.runs]
    bases = [r[1] for r in run.runs]

    def stack(fn, items):
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
        "hs_flows": (("scenario", "origin", "destination"), stack(lambda s: s.hs_flows, sims)),
        "baseline_hs_flows": (("scenario", "origin", "destination"), stack(lambda s: s.hs_flows, bases)),
    }
    for prefix, items in (("", sims), ("baseline_", bases)):
        gse = stack(lambda s: _q(_hs(s.stocks)[..., inp.gse].sum(-1) / _hs(s.stocks).sum(-1), qs), items)
        th = stack(lambda s: _q(theil(_hs(s.stocks), s.stocks.sum(axis=-2)), qs), items)
        gi = stack(lambda s: _q(gini(_hs(s.stocks), s.stocks.sum(axis=-2)), qs), items)
        data[f"{prefix}gse_share"] = (("scenario", "quantile", "year"), gse)
        data[f"{prefix}theil"] = (("scenario", "quantile", "year"), th)
        data[f"{prefix}gini"] = (("scenario", "quantile", "year"), gi)
    codes = list(inp.codes)
    ds = xr.Dataset(data, coords={
        "scenario": [s.scenario.name for s in sims], "quantile": qs, "year": np.arange(run.settings["years"] + 1),
        "segment": list(SEGMENTS), "lad": codes, "origin": codes, "destination": codes,
        "lad_name": ("lad", list(inp.names)), "region": ("lad", list(inp.region_codes)),
        "region_name": ("lad", list(inp.region_names)), "gse": ("lad", inp.gse.astype(np.int8)),
        "imd_quintile": ("lad", inp.imd_quintile),
        "skill": ("segment", [k for k in SKILLS for _ in WFH_CLASSES]),
        "wfh_class": ("segment", [c for _ in SKILLS for c in WFH_CLASSES]),
        "commute_days": ("segment", [COMMUTE_DAYS[c] for _ in SKILLS for c in WFH_CLASSES]),
    })
    ds.attrs.update({"zone_vintage": inp.zone_vintage, "area": inp.area, "units": "workers",
                     **{k: int(v) for k, v in run.settings.items()}})
    return ds


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
    out += [("lad", c, n, np.arange(inp.n) == i) for i, (c, n) in enumerate(zip(inp.codes, inp.names, strict=True))]
    return out


def summary_table(run: RunResult, quantiles: Sequence[float] = QUANTILES) -> pd.DataFrame:
    """The tidy headline table: one row per scenario, metric and geography.

    Metrics: ``hs_stock`` (high-skilled workers in the final year) for the study area, GSE vs the
    rest, regions, IMD quintiles and LADs; ``gse_hs_share`` (share of high-skilled workers in the
    GSE), ``theil_lad`` and ``theil_region`` (Theil index of high-skilled workers relative to all
    workers, across LADs / regions), ``gini_lad`` (the Gini index of the same, across LADs).
    Columns: ``initial`` (year 0, scenario), ``baseline_*`` and ``scenario_*`` (final year: mean
    and quantiles over draws), ``change_*`` (scenario - baseline, per draw) and ``verdict`` for the
    inequality indices (narrows / widens / unclear: whether the
    change's interval excludes 0).
    """
    inp = run.inputs
    qs = list(quantiles)
    groups = _groups(inp)
    masks = np.stack([g[3] for g in groups]).astype(float)  # (G, n)
    rc = np.asarray(inp.region_codes)
    regions = sorted(set(inp.region_codes))
    rmask = np.stack([rc == r for r in regions]).astype(float)
    rows = []
    for sim, base in run.runs:
        vals = {}
        for label, s in (("scenario", sim), ("baseline", base)):
            hs = _hs(s.stocks[:, -1])  # (D, n)
            allw = s.stocks[:, -1].sum(axis=1)
            vals[label] = {
                "hs_stock": hs @ masks.T,
                "gse_hs_share": (hs[:, inp.gse].sum(-1) / hs.sum(-1))[:, None],
                "theil_lad": theil(hs, allw)[:, None],
                "theil_region": theil(hs @ rmask.T, allw @ rmask.T)[:, None],
                "gini_lad": gini(hs, allw)[:, None],
            }
        hs0 = _hs(sim.stocks[0, 0])
        initial = {"hs_stock": masks @ hs0, "gse_hs_share": [hs0[inp.gse].sum() / hs0.sum()],
                   "theil_lad": [theil(hs0, sim.stocks[0, 0].sum(0))],
                   "theil_region": [theil(rmask @ hs0, rmask @ sim.stocks[0, 0].sum(0))],
                   "gini_lad": [gini(hs0, sim.stocks[0, 0].sum(0))]}
        for metric in ("gse_hs_share", "theil_lad", "theil_region", "gini_lad", "hs_stock"):
            b, s = vals["baseline"][metric], vals["scenario"][metric]
            labels = ([(g[0], g[1], g[2]) for g in groups] if metric == "hs_stock"
                      else [("national", groups[0][1], groups[0][2])])
            for k, (level, code, name) in enumerate(labels):
                row = {"scenario": sim.scenario.name, "metric": metric, "level": level, "code": code, "name": name,
                       "initial": float(initial[metric][k])}
                for label, arr in (("baseline", b[:, k]), ("scenario", s[:, k]), ("change", s[:, k] - b[:, k])):
                    row[f"{label}_mean"] = float(arr.mean())
                    for q, v in zip(qs, np.quantile(arr, qs), strict=True):
                        row[f"{label}_q{round(q * 100):02d}"] = float(v)
                if metric.startswith(("theil", "gini")):
                    lo, hi = np.quantile(s[:, k] - b[:, k], [qs[0], qs[-1]])
                    row["verdict"] = "narrows" if hi < 0 else "widens" if lo > 0 else "unclear"
                else:
                    row["verdict"] = ""
                rows.append(row)
    return pd.DataFrame(rows)


def manifest(run: RunResult, quantiles: Sequence[float] = QUANTILES) -> dict:
    """The run's ``manifest.json`` payload."""
    from migravity.utils.version import __version__

    inp = run.inputs
    return {
        "version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "zone_vintage": inp.zone_vintage, "area": inp.area, "zones": inp.n,
        "scenarios": [{"name": s.scenario.name, "description": s.scenario.description, "source": s.scenario.source,
                       "mode": s.scenario.mode, "housing_feedback": s.scenario.housing_feedback,
                       "spec": s.scenario.raw} for s, _ in run.runs],
        **{k: int(v) for k, v in run.settings.items()},
        "quantiles": list(quantiles),
        "segments": list(SEGMENTS),
        "commute_days": COMMUTE_DAYS,
        "parameters": inp.params.table().replace({np.nan: None}).to_dict(orient="records"),
        "files": ["results.nc", "summary.csv", "summary.parquet", "manifest.json"],
    }


def write_run(run: RunResult, out_dir: str | os.PathLike[str], quantiles: Sequence[float] = QUANTILES) -> Path:
    """Write the run directory atomically, file by file (``manifest.json`` last)."""
    from migravity.utils.atomic import atomic_write
    from migravity.utils.jsonio import write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ds = results_dataset(run, quantiles)
    atomic_write(out / "results.nc", lambda p: ds.to_netcdf(p, engine=NETCDF_ENGINE))
    table = summary_table(run, quantiles)
    atomic_write(out / "summary.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(out / "summary.parquet", lambda p: table.to_parquet(p, index=False))
    write_json(out / "manifest.json", manifest(run, quantiles))
    return out
