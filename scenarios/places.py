"""A run aggregated to places: combined authorities, regions or user groups of LADs.

For a run directory (:class:`~migravity.scenarios.rundir.RunDir`) and a
:class:`~migravity.geodata.places.Grouping`:

- :func:`aggregate`: per group, high-skilled workers at year 0, at the final year in the baseline
  and the scenario, and the change (scenario - paired baseline), each with its mean and 5-95%
  interval. Intervals are quantiles of the **per-draw group sums** (``hs_stock_draws`` /
  ``baseline_hs_stock_draws`` of ``results.nc``), never sums of LAD quantiles.
- :func:`group_flows`: final-year high-skilled mover flows (means over the draws) between groups,
  LADs in no group forming ``OTHER``; net migration of each group with each partner.
- :func:`place_profile`: one place on one page (JSON-ready): the above, its top partner LADs and
  places, its WFH mix and, when attributes are given, its house prices and Census WFH share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from migravity.errors import RunDirError
from migravity.scenarios.rundir import HIGH_PREFIX, QUANTILES

if TYPE_CHECKING:
    import xarray as xr

    from migravity.geodata.places import Grouping
    from migravity.scenarios.rundir import RunDir

__all__ = ["OTHER", "aggregate", "aggregate_places", "group_flows", "group_masks", "place_profile"]

#: Partner label of the LADs in no group.
OTHER: Final = "(rest of the study area)"
DRAW_VARS: Final = ("hs_stock_draws", "baseline_hs_stock_draws")


def group_masks(lads: Sequence[str], grouping: Grouping) -> tuple[list[str], np.ndarray]:
    """Group names and a (groups, LADs) 0/1 membership matrix over ``lads`` (the run's order).

    Raises
    ------
    RunDirError
        A group member is not a LAD of the run.
    """
    pos = {c: i for i, c in enumerate(lads)}
    names = grouping.names
    mask = np.zeros((len(names), len(lads)))
    for g, name in enumerate(names):
        for lad in grouping.members[name]:
            if lad not in pos:
                from pathlib import Path

                raise RunDirError(Path(lad), f"LAD of group {name!r} is not a zone of the run")
            mask[g, pos[lad]] = 1.0
    return names, mask


def _draws(run: RunDir, scenario: str) -> tuple[np.ndarray, np.ndarray]:
    ds = run.results
    for v in DRAW_VARS:
        if v not in ds.data_vars:
            raise RunDirError(run.path, f"results.nc has no per-draw variable {v!r} (written by migravity 0.x "
                                        "before places); run the scenarios again to aggregate to places")
    sc = ds["hs_stock_draws"].sel(scenario=scenario).transpose("draw", "lad").to_numpy().astype(np.float64)
    bs = ds["baseline_hs_stock_draws"].sel(scenario=scenario).transpose("draw", "lad").to_numpy().astype(np.float64)
    return sc, bs


def _hs_year0(run: RunDir, scenario: str) -> np.ndarray:
    var = run.results["stock_mean"].sel(scenario=scenario).isel(year=0)
    high = [s for s in map(str, var["segment"].to_numpy()) if s.startswith(HIGH_PREFIX)]
    return np.asarray(var.sel(segment=high).sum("segment").transpose("lad").to_numpy(), dtype=np.float64)


def _stats(prefix: str, arr: np.ndarray, qs: Sequence[float]) -> dict[str, np.ndarray]:
    """Mean and quantiles over axis 0 (draws)."""
    out = {f"{prefix}_mean": arr.mean(axis=0)}
    for q, v in zip(qs, np.quantile(arr, list(qs), axis=0), strict=True):
        out[f"{prefix}_q{round(q * 100):02d}"] = v
    return out


def aggregate(run: RunDir, grouping: Grouping, scenario: str | None = None,
              quantiles: Sequence[float] = QUANTILES) -> pd.DataFrame:
    """High-skilled workers per group: year 0, final year (baseline, scenario) and the change, with intervals.

    Parameters
    ----------
    run : RunDir
        An opened run directory.
    grouping : Grouping
        The groups (zone codes of the run).
    scenario : str, optional
        Scenario of the run (default :meth:`RunDir.scenario`).
    quantiles : sequence of float
        Quantiles over the draws (default 5%, 50%, 95%).

    Returns
    -------
    pandas.DataFrame
        Index ``group``; columns ``code``, ``n_lads``, ``initial`` (year 0), then ``baseline_*``,
        ``scenario_*`` and ``change_*`` (``_mean``, ``_qNN``) from the per-draw sums over each
        group's LADs, and ``pct_change_mean`` (100 * mean change / mean baseline).

    Raises
    ------
    RunDirError
        The run holds no per-draw values (written before places existed).
    """
    scenario = run.scenario(scenario)
    lads = [str(c) for c in run.results["lad"].to_numpy()]
    names, mask = group_masks(lads, grouping)
    sc, bs = _draws(run, scenario)
    qs = list(quantiles)
    cols: dict[str, Any] = {"code": [grouping.codes.get(n, n) for n in names],
                            "n_lads": mask.sum(axis=1).astype(int),
                            "initial": mask @ _hs_year0(run, scenario)}
    cols |= _stats("baseline", bs @ mask.T, qs)
    cols |= _stats("scenario", sc @ mask.T, qs)
    cols |= _stats("change", (sc - bs) @ mask.T, qs)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["pct_change_mean"] = 100.0 * cols["change_mean"] / cols["baseline_mean"]
    return pd.DataFrame(cols, index=pd.Index(names, name="group"))


#: :func:`aggregate` under the name :mod:`migravity.scenarios` exports it by.
aggregate_places = aggregate


def _flows(run: RunDir, scenario: str) -> dict[str, np.ndarray]:
    mats = run.flow_matrices(scenario)
    want = {"scenario": "hs_flows", "baseline": "baseline_hs_flows"}
    out = {}
    for key, name in want.items():
        if name not in mats:
            raise RunDirError(run.path, f"results.nc has no {name!r} flow matrix")
        out[key] = np.asarray(mats[name].transpose("origin", "destination").to_numpy(), dtype=np.float64)
    return out


def group_flows(run: RunDir, grouping: Grouping, scenario: str | None = None) -> pd.DataFrame:
    """Final-year high-skilled mover flows between groups (means over the draws), tidy.

    Parameters
    ----------
    run : RunDir
        An opened run directory (flows on ``origin`` x ``destination`` in the run's LAD order).
    grouping : Grouping
        The groups; LADs in no group form the partner :data:`OTHER`.
    scenario : str, optional
        Scenario of the run.

    Returns
    -------
    pandas.DataFrame
        One row per (place, partner), partner != place: ``place``, ``partner``, and for
        ``scenario`` and ``baseline``: ``*_in`` (movers from partner to place), ``*_out`` (place to
        partner), ``*_net`` (in - out); ``change_net`` (scenario - baseline). Within-group moves
        are left out.
    """
    scenario = run.scenario(scenario)
    lads = [str(c) for c in run.results["lad"].to_numpy()]
    names, mask = group_masks(lads, grouping)
    rest = 1.0 - mask.sum(axis=0)
    labels = list(names)
    if rest.any():
        mask = np.vstack([mask, rest])
        labels.append(OTHER)
    agg = {k: mask @ f @ mask.T for k, f in _flows(run, scenario).items()}  # (G, G): from row to column
    rows = []
    for g, place in enumerate(labels):
        for h, partner in enumerate(labels):
            if g == h:
                continue
            row: dict[str, Any] = {"place": place, "partner": partner}
            for key, m in agg.items():
                row[f"{key}_in"], row[f"{key}_out"] = float(m[h, g]), float(m[g, h])
                row[f"{key}_net"] = float(m[h, g] - m[g, h])
            row["change_net"] = row["scenario_net"] - row["baseline_net"]
            rows.append(row)
    return pd.DataFrame(rows)


def _interval(row: pd.Series, prefix: str) -> dict[str, float]:
    return {k: float(row[f"{prefix}_{k}"]) for k in ("mean", "q05", "q50", "q95") if f"{prefix}_{k}" in row}


def _wfh_mix(run: RunDir, scenario: str, mask: np.ndarray) -> dict[str, Any]:
    ds = run.results
    seg = [str(s) for s in ds["segment"].to_numpy()]
    classes = ([str(c) for c in ds["wfh_class"].to_numpy()] if "wfh_class" in ds.coords
               else [s[len(HIGH_PREFIX):] if s.startswith(HIGH_PREFIX) else s for s in seg])
    days: list[Any] = ds["commute_days"].to_numpy().tolist() if "commute_days" in ds.coords else [None] * len(seg)
    high = [i for i, s in enumerate(seg) if s.startswith(HIGH_PREFIX)]
    out: dict[str, Any] = {"classes": [classes[i] for i in high],
                           "commute_days_per_week": [None if days[i] is None else float(days[i]) for i in high]}
    # year 0 of the baseline: a scenario may shift the WFH classes from year 0 on
    for label, var, year in (("year0", "baseline_stock_mean", 0), ("baseline_final", "baseline_stock_mean", -1),
                             ("scenario_final", "stock_mean", -1)):
        arr = ds[var].sel(scenario=scenario).isel(year=year).transpose("segment", "lad").to_numpy()
        counts = arr[high] @ mask
        out[f"share_{label}"] = (counts / counts.sum()).tolist()
    return out


def _attribute_summary(attributes: xr.Dataset, members: Sequence[str]) -> dict[str, Any]:
    sub = attributes.sel(lad=list(members))
    out: dict[str, Any] = {}
    workers = sub["workers"].to_numpy().astype(float) if "workers" in sub else None
    if workers is not None and "wfh_workers" in sub:
        out["census2021_wfh_share"] = float(sub["wfh_workers"].to_numpy().sum() / workers.sum())
    for var in ("house_price", "affordability"):
        if var not in sub:
            continue
        vals = sub[var].to_numpy().astype(float)
        ok = np.isfinite(vals)
        if not ok.any():
            continue
        w = workers[ok] if workers is not None else np.ones(int(ok.sum()))
        out[var] = {"workers_weighted_mean_of_lad_medians": float(np.average(vals[ok], weights=w)),
                    "lad_min": float(vals[ok].min()), "lad_max": float(vals[ok].max()),
                    "units": str(sub[var].attrs.get("units", "")), "period": str(sub[var].attrs.get("period", ""))}
    return out


def place_profile(run: RunDir, grouping: Grouping, name: str, scenario: str | None = None, *, top: int = 5,
                  attributes: xr.Dataset | None = None) -> dict[str, Any]:
    """One place's profile for a run, JSON-ready.

    Parameters
    ----------
    run : RunDir
        An opened run directory.
    grouping : Grouping
        The grouping holding the place.
    name : str
        The place (case-insensitive; see :meth:`Grouping.resolve`).
    scenario : str, optional
        Scenario of the run (default: the first that is not ``baseline``).
    top : int
        How many partner LADs and places to list.
    attributes : xarray.Dataset, optional
        LAD attributes (:func:`migravity.geodata.attributes.load_attributes`) for house prices
        and the Census WFH share.

    Returns
    -------
    dict
        ``place`` (name, code, kind, source, vintage, members), ``run`` (scenario, years, draws),
        ``high_skilled`` (year 0, baseline and scenario at the final year and the change, each mean
        and 5/50/95% quantiles of the per-draw group sums), ``members`` (per LAD: name, baseline
        and change), ``partners`` (net migration with the other places of the grouping),
        ``top_origins`` / ``top_destinations`` (partner LADs outside the place by final-year
        high-skilled movers in the scenario, with the baseline and the change), ``wfh_mix`` (shares
        of the place's high-skilled workers by WFH class: baseline year 0, baseline and scenario at
        the final year) and,
        given attributes, ``housing_and_wfh``.

    Raises
    ------
    ConfigError
        Unknown place or scenario.
    """
    scenario = run.scenario(scenario)
    place = grouping.resolve(name)
    ds = run.results
    lads = [str(c) for c in ds["lad"].to_numpy()]
    lad_names = ([str(n) for n in ds["lad_name"].to_numpy()] if "lad_name" in ds.coords else lads)
    table = aggregate(run, grouping, scenario)
    row = table.loc[place]
    members = list(grouping.members[place])
    inside = np.isin(lads, members)
    mask = inside.astype(float)

    lad_table = aggregate(run, _single(grouping, members), scenario)
    member_rows = [{"code": c, "name": lad_names[lads.index(c)], "initial": float(lad_table.loc[c, "initial"]),
                    "baseline_final": float(lad_table.loc[c, "baseline_mean"]),
                    "change": _interval(lad_table.loc[c], "change")} for c in members]

    flows = _flows(run, scenario)
    into = {k: f[:, inside].sum(axis=1) for k, f in flows.items()}  # from each LAD into the place
    out_of = {k: f[inside, :].sum(axis=0) for k, f in flows.items()}  # from the place to each LAD

    def ranked(d: dict[str, np.ndarray]) -> list[dict[str, Any]]:
        order = [i for i in np.argsort(-d["scenario"], kind="stable") if not inside[i]][:top]
        return [{"code": lads[i], "name": lad_names[i], "scenario": float(d["scenario"][i]),
                 "baseline": float(d["baseline"][i]), "change": float(d["scenario"][i] - d["baseline"][i])}
                for i in order]

    gf = group_flows(run, grouping, scenario)
    gf = gf[gf.place == place].sort_values("scenario_net")
    partners = [{"partner": str(r.partner), "scenario_net": float(r.scenario_net),
                 "baseline_net": float(r.baseline_net), "change_net": float(r.change_net),
                 "scenario_in": float(r.scenario_in), "scenario_out": float(r.scenario_out)}
                for r in gf.itertuples()]
    total = {k: float(into[k][~inside].sum()) for k in into}
    total_out = {k: float(out_of[k][~inside].sum()) for k in out_of}
    out: dict[str, Any] = {
        "place": {"name": place, "code": grouping.codes.get(place, place), "kind": grouping.kind,
                  "source": grouping.source, "vintage": grouping.vintage, "n_lads": len(members)},
        "run": {"path": str(run.path), "scenario": scenario, "years": run.years, "draws": run.draws,
                "zone_vintage": run.zone_vintage, "area": run.area},
        "high_skilled": {"initial": float(row["initial"]), "baseline_final": _interval(row, "baseline"),
                         "scenario_final": _interval(row, "scenario"), "change": _interval(row, "change"),
                         "pct_change_mean": float(row["pct_change_mean"])},
        "members": member_rows,
        "movers_final_year": {"in_scenario": total["scenario"], "in_baseline": total["baseline"],
                              "out_scenario": total_out["scenario"], "out_baseline": total_out["baseline"],
                              "net_scenario": total["scenario"] - total_out["scenario"],
                              "net_baseline": total["baseline"] - total_out["baseline"]},
        "partners": partners,
        "top_origins": ranked(into),
        "top_destinations": ranked(out_of),
        "wfh_mix": _wfh_mix(run, scenario, mask),
    }
    if attributes is not None:
        out["housing_and_wfh"] = _attribute_summary(attributes, members)
    return out


def _single(grouping: Grouping, members: Sequence[str]) -> Grouping:
    from migravity.geodata.places import Grouping as _Grouping

    return _Grouping("user", {c: (c,) for c in members}, {c: c for c in members}, source=grouping.source,
                     vintage=grouping.vintage)
