"""Charts of a run (no map): results by region and deprivation quintile, observed vs fitted flows.

See :mod:`migravity.outputs.plots` for the figure conventions; these build on the same helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from migravity.errors import ConfigError, MalformedDataError, check_choice
from migravity.outputs.plots import (
    DEFAULT_PER,
    PER_CHOICES,
    PER_WORKERS,
    add_caption,
    new_figure,
    run_caption,
    tick_formatter,
)
from migravity.scenarios.rundir import RunDir

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_METRIC", "fit_figure", "fit_flows", "group_workers", "regions_figure"]

DEFAULT_METRIC = "hs_stock"
#: summary.csv levels shown by the regions chart, with their panel titles.
LEVELS = {"region": "By region", "imd_quintile": "By deprivation (IMD 2019 quintile, within nation)"}
_STATS = ("change_q50", "change_q05", "change_q95")
_MARKERS = "osD^v<>ph"


def group_workers(run: RunDir) -> dict[tuple[str, str], float]:
    """Workers of every region and IMD quintile of the run, keyed ``(level, code)`` as in ``summary.csv``.

    Sums of the zones' workers (:meth:`RunDir.zone_workers`) over the zone coordinates ``region`` and
    ``imd_quintile`` of ``results.nc`` (quintile ``q`` is coded ``Q<q>``).

    Parameters
    ----------
    run : RunDir
        The run.

    Returns
    -------
    dict of (str, str) to float
        Empty when the run records no workers.
    """
    workers = run.zone_workers()
    if workers is None:
        return {}
    codes = [str(c) for c in run.results["lad"].to_numpy()]
    w = workers.reindex(codes).to_numpy(dtype=float)
    out: dict[tuple[str, str], float] = {}
    if "region" in run.results.coords:
        for r, x in zip((str(v) for v in run.results["region"].to_numpy()), w, strict=True):
            out[("region", r)] = out.get(("region", r), 0.0) + float(x)
    if "imd_quintile" in run.results.coords:
        for q, x in zip(run.results["imd_quintile"].to_numpy(), w, strict=True):
            if np.isfinite(float(q)):
                key = ("imd_quintile", f"Q{int(q)}")
                out[key] = out.get(key, 0.0) + float(x)
    return out


def _scaled(run: RunDir, rows: pd.DataFrame, per: str) -> tuple[pd.DataFrame, str]:
    """The rows' ``change_*`` statistics per 1,000 workers of the group, in percent of its baseline, or counts."""
    if per == "count":
        return rows, run.units
    if per == "percent":
        if "baseline_mean" not in rows.columns:
            raise MalformedDataError(run.path / "summary.csv", "no baseline_mean column for --per percent")
        denom = rows["baseline_mean"].to_numpy(dtype=float) / 100.0
        units = "% of the baseline"
    else:
        groups = group_workers(run)
        if not groups:
            raise ConfigError("--per", per, f"the run {run.path} records no workers per zone: use --per count")
        denom = np.array([groups.get((str(lv), str(c)), np.nan) for lv, c in zip(rows.level, rows.code, strict=True)],
                         dtype=float) / PER_WORKERS
        units = f"per {PER_WORKERS:,.0f} workers"
    rows = rows.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in _STATS:
            rows[c] = np.where(denom > 0, rows[c].to_numpy(dtype=float) / denom, np.nan)
    return rows, units


def regions_figure(run: RunDir, scenario: str | None = None, variable: str | None = None,
                   per: str = DEFAULT_PER) -> Figure:
    """Dot chart of the change by region and by IMD quintile, with 90% intervals, from ``summary.csv``.

    Parameters
    ----------
    run : RunDir
        The run.
    scenario : str, optional
        One scenario; default every scenario but ``baseline`` (all of them if that leaves none).
    variable : str, optional
        The summary ``metric`` (default ``hs_stock``: high-skilled workers in the final year).
    per : {"capita", "percent", "count"}
        Changes per 1,000 workers of the region or quintile (default), in percent of its baseline, or
        counts on a symmetric-log axis (linear near zero), so that London does not squash the others.

    Returns
    -------
    matplotlib.figure.Figure
        Dots at the median change (scenario - baseline, per draw), bars from the 5th to the 95th
        percentile; one colour and marker per scenario.

    Raises
    ------
    ConfigError
        Unknown scenario or metric (the choices are listed).
    MalformedDataError
        ``summary.csv`` lacks the columns needed.
    """
    check_choice("--per", per, PER_CHOICES)
    table = run.summary()
    need = {"scenario", "metric", "level", "code", "name", *_STATS}
    missing = need - set(table.columns)
    if missing:
        raise MalformedDataError(run.path / "summary.csv", "missing column(s) " + ", ".join(sorted(missing)))
    rows = table[table.level.isin(list(LEVELS))]
    metrics = list(dict.fromkeys(rows.metric))
    metric = variable or DEFAULT_METRIC
    if metric not in metrics:
        raise ConfigError("--variable", metric, "use a summary metric with regional rows: " + ", ".join(metrics))
    if scenario is not None:
        scenarios = [run.scenario(scenario)]
    else:
        scenarios = [s for s in run.scenarios if s != "baseline"] or run.scenarios
    rows = rows[(rows.metric == metric) & rows.scenario.isin(scenarios)]
    rows, units = _scaled(run, rows, per)

    counts = [rows[(rows.level == lev) & (rows.scenario == scenarios[0])].shape[0] for lev in LEVELS]
    fig = new_figure(8.0, 1.6 + 0.32 * sum(counts) + 0.25 * len(scenarios))
    axes = fig.subplots(len(LEVELS), 1, sharex=True, height_ratios=[max(c, 1) for c in counts])
    colors = [f"C{i}" for i in range(10)]
    offsets = (np.arange(len(scenarios)) - (len(scenarios) - 1) / 2) * (0.6 / max(len(scenarios), 1))
    for ax, (level, panel) in zip(axes, LEVELS.items(), strict=True):
        sub = rows[rows.level == level]
        codes = sorted(set(sub.code.astype(str)))
        y = {c: i for i, c in enumerate(codes)}
        names = dict(zip(sub.code.astype(str), sub.name, strict=False))
        order = [_quintile_label(c) if level == "imd_quintile" else str(names[c]) for c in codes]
        for k, sc in enumerate(scenarios):
            s = sub[sub.scenario == sc]
            ys = np.array([y[c] for c in s.code.astype(str)], dtype=float) + offsets[k]
            mid, lo, hi = (s[c].to_numpy(dtype=float) for c in _STATS)
            ax.errorbar(mid, ys, xerr=[mid - lo, hi - mid], fmt=_MARKERS[k % len(_MARKERS)], color=colors[k % 10],
                        ms=5, lw=1.4, capsize=2.5, label=sc)
        ax.axvline(0.0, color="#777777", lw=0.8, zorder=0)
        ax.set_yticks(range(len(order)), order, fontsize=8.5)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.set_title(panel, fontsize=10, loc="left")
        ax.grid(axis="x", color="#e5e5e5", lw=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if per == "count":  # London's change is many times the others': linear near zero, logarithmic beyond
        mags = np.abs(rows["change_q50"].to_numpy(dtype=float))
        mags = mags[np.isfinite(mags) & (mags > 0)]
        linthresh = float(np.median(mags)) if mags.size else 1.0
        for ax in axes:
            ax.set_xscale("symlog", linthresh=max(linthresh, 1e-9), linscale=1.0)
    axes[-1].xaxis.set_major_formatter(tick_formatter(signed=True))
    draws = f"{run.draws} draws" if run.draws else "the draws"
    what = "high-skilled workers" if metric == DEFAULT_METRIC else metric.replace("_", " ")
    scale = "; symmetric log scale" if per == "count" else ""
    axes[-1].set_xlabel(f"Change in {what} vs baseline ({units}{scale})\ndot: median, bar: 5th-95th percentile of "
                        f"{draws}", fontsize=9)
    axes[0].legend(title="scenario", fontsize=8, title_fontsize=8, loc="best", frameon=False)
    when = f"after {run.years} years" if run.years is not None else "in the final year"
    fig.suptitle(f"Change in {what} {when}, scenario minus baseline", fontsize=11)
    add_caption(fig, run_caption(run))
    return fig


def _quintile_label(code: str) -> str:
    """``Q1`` -> ``Q1 (most deprived)``, ``Q5`` -> ``Q5 (least deprived)``, others as they are."""
    return {"Q1": "Q1 (most deprived)", "Q5": "Q5 (least deprived)"}.get(code, code)


def fit_flows(run: RunDir) -> tuple[np.ndarray, np.ndarray, str, dict[str, float]]:
    """Observed and fitted inter-zone flows of the run's own calibration, stored in the run (``fit.nc``).

    Nothing is re-fitted: the flows are those of the gravity fit the run's parameters came from
    (:meth:`RunDir.stored_fit`).

    Parameters
    ----------
    run : RunDir
        The run.

    Returns
    -------
    observed, fitted : numpy.ndarray
        One entry per origin-destination pair (the diagonal left out).
    source : str
        The model, in words (for the title).
    fit : dict of str to float
        Fit statistics and coefficients recorded with the fit (``pseudo_r2``, ``srmse``, ``cpc``,
        ``coef_<term>``...).

    Raises
    ------
    ConfigError
        The run stores no fit (written before run directories held one, or with parameters given by
        hand): re-run it.
    """
    ds = run.stored_fit()
    if ds is None:
        raise ConfigError("--kind", "fit", f"the run {run.path} stores no calibration fit (fit.nc): re-run "
                          "`migravity run ... --out DIR` to record it")
    obs = ds["observed"].transpose("origin", "destination").to_numpy().astype(float)
    fit = ds["fitted"].transpose("origin", "destination").to_numpy().astype(float)
    off = ~np.eye(obs.shape[0], dtype=bool)
    stats = {str(k): float(v) for k, v in ds.attrs.items()
             if k in _FIT_STATS or str(k).startswith("coef_")}
    source = str(ds.attrs.get("model", "the run's calibration fit"))
    return obs[off], fit[off], source, stats


_FIT_STATS = ("pseudo_r2", "srmse", "cpc")
_FIT_NAMES = {"pseudo_r2": "pseudo-R²", "srmse": "SRMSE", "cpc": "CPC", "coef_log_cost": "distance exponent",
              "coef_border": "shared border", "coef_wfh_x_access": "WFH × access", "coef_wfh_x_price": "WFH × price"}


def fit_figure(run: RunDir) -> Figure:
    """Observed against fitted flows of the run's calibration on log-log axes (hexagonal bins), with the 1:1 line.

    Parameters
    ----------
    run : RunDir
        The run (its stored fit, :func:`fit_flows`).

    Returns
    -------
    matplotlib.figure.Figure
        Pairs with a zero observed or fitted flow cannot be drawn on log axes; their number is
        given on the chart.
    """
    from matplotlib.colors import LogNorm

    obs, fit, source, stats = fit_flows(run)
    n_zones = round((1 + float(np.sqrt(1 + 4 * len(obs)))) / 2)
    ok = np.isfinite(obs) & np.isfinite(fit) & (obs > 0) & (fit > 0)
    fig = new_figure(7.2, 7.4)
    ax = fig.add_subplot()
    hb = ax.hexbin(obs[ok], fit[ok], xscale="log", yscale="log", gridsize=70, mincnt=1, cmap="viridis",
                   norm=LogNorm(), linewidths=0.1)
    lo = float(min(obs[ok].min(), fit[ok].min())) if ok.any() else 0.1
    hi = float(max(obs[ok].max(), fit[ok].max())) if ok.any() else 10.0
    ax.plot([lo, hi], [lo, hi], color="#d62728", lw=1.2, label="1:1 (fitted = observed)")
    ax.set_xlim(lo / 1.3, hi * 1.3)
    ax.set_ylim(lo / 1.3, hi * 1.3)
    ax.set_aspect("equal")
    ax.set_xlabel("Observed flow (people, Census 2021, year to March 2021)")
    ax.set_ylabel("Fitted flow (people)")
    fig.colorbar(hb, ax=ax, shrink=0.7, label="Origin-destination pairs per hexagon")
    lines = [f"{int(ok.sum()):,} pairs drawn; {int((~ok).sum()):,} with a zero flow left out"]
    lines += [f"{_FIT_NAMES.get(k, k)}: {v:.3f}" for k, v in stats.items()]
    ax.text(0.03, 0.97, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=8.5,
            bbox={"facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9})
    ax.legend(loc="lower right", fontsize=8.5, frameon=False)
    ax.set_title(f"Observed vs fitted migration flows between the run's {n_zones} zones\n{_wrap(source)}",
                 fontsize=9.5)
    add_caption(fig, run_caption(run))
    return fig



def _wrap(text: str, width: int = 95) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
