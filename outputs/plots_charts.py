"""Charts of a run (no map): results by region and deprivation quintile, observed vs fitted flows.

See :mod:`migravity.outputs.plots` for the figure conventions; these build on the same helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from migravity.errors import ConfigError, MalformedDataError
from migravity.outputs.plots import add_caption, new_figure, run_caption
from migravity.scenarios.rundir import RunDir

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from migravity.geodata.datadir import DataDir
    from migravity.geodata.zones import ZoneSet

__all__ = ["DEFAULT_METRIC", "fit_figure", "fit_flows", "regions_figure"]

DEFAULT_METRIC = "hs_stock"
#: summary.csv levels shown by the regions chart, with their panel titles.
LEVELS = {"region": "By region", "imd_quintile": "By deprivation (IMD 2019 quintile, within nation)"}
_STATS = ("change_q50", "change_q05", "change_q95")
_MARKERS = "osD^v<>ph"


def regions_figure(run: RunDir, scenario: str | None = None, variable: str | None = None) -> Figure:
    """Dot chart of the change by region and by IMD quintile, with 90% intervals, from ``summary.csv``.

    Parameters
    ----------
    run : RunDir
        The run.
    scenario : str, optional
        One scenario; default every scenario but ``baseline`` (all of them if that leaves none).
    variable : str, optional
        The summary ``metric`` (default ``hs_stock``: high-skilled workers in the final year).

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
    from matplotlib.ticker import StrMethodFormatter

    axes[-1].xaxis.set_major_formatter(StrMethodFormatter("{x:+,.0f}"))
    draws = f"{run.draws} draws" if run.draws else "the draws"
    what = "high-skilled workers" if metric == DEFAULT_METRIC else metric.replace("_", " ")
    axes[-1].set_xlabel(f"Change in {what} vs baseline ({run.units})\ndot: median, bar: 5th-95th percentile of "
                        f"{draws}", fontsize=9)
    axes[0].legend(title="scenario", fontsize=8, title_fontsize=8, loc="best", frameon=False)
    when = f"after {run.years} years" if run.years is not None else "in the final year"
    fig.suptitle(f"Change in {what} {when}, scenario minus baseline", fontsize=11)
    add_caption(fig, run_caption(run))
    return fig


def _quintile_label(code: str) -> str:
    """``Q1`` -> ``Q1 (most deprived)``, ``Q5`` -> ``Q5 (least deprived)``, others as they are."""
    return {"Q1": "Q1 (most deprived)", "Q5": "Q5 (least deprived)"}.get(code, code)


def _stored_fit(run: RunDir) -> tuple[np.ndarray, np.ndarray] | None:
    """Observed and fitted flows stored in the run (variables named ``observed*`` / ``fitted*``), if any."""
    found: dict[str, Any] = {}
    for name in run.results.data_vars:
        var = run.results[name]
        if {"origin", "destination"} <= set(var.dims) and var.ndim == 2:
            for key in ("observed", "fitted"):
                if str(name).startswith(key) and key not in found:
                    found[key] = var.transpose("origin", "destination").to_numpy()
    if len(found) < 2:
        return None
    obs, fit = np.asarray(found["observed"], float), np.asarray(found["fitted"], float)
    off = ~np.eye(obs.shape[0], dtype=bool)
    return obs[off], fit[off]


def fit_flows(run: RunDir, zones: ZoneSet, data_dir: DataDir = None
              ) -> tuple[np.ndarray, np.ndarray, str, dict[str, float]]:
    """Observed and fitted inter-zone flows: from the run, else calibrated here on Census 2021 flows.

    Parameters
    ----------
    run : RunDir
        The run.
    zones : ZoneSet
        The run's zones.
    data_dir : path-like, optional
        Data directory (for the Census flows).

    Returns
    -------
    observed, fitted : numpy.ndarray
        One entry per origin-destination pair (the diagonal left out).
    source : str
        Where the flows come from, in words (for the title; may hold a line break).
    fit : dict of str to float
        Fit statistics (``pseudo_r2``, ``srmse``, ``cpc``; empty when read from the run) and the
        distance coefficient ``log(distance_km)`` when calibrated here.

    Notes
    -----
    Without stored flows the default model is calibrated: Census 2021 migration between the run's
    zones (:func:`migravity.geodata.od_table`), doubly constrained, power distance deterrence and a
    shared-border term (:func:`migravity.engine.calibrate`).
    """
    stored = _stored_fit(run)
    if stored is not None:
        return stored[0], stored[1], "observed and fitted flows stored in the run", {}
    from migravity.engine import calibrate
    from migravity.geodata import od_table

    table = od_table(zones, kind="migration2021", attribute_vars=(), data_dir=data_dir)
    res = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                    terms=["border"])
    fitted = res.predict().to_numpy(dtype=float)
    stats: dict[str, float] = {k: float(res.fit[k]) for k in ("pseudo_r2", "srmse", "cpc") if k in res.fit}
    stats.update({k: float(v) for k, v in res.coefficients.items()})
    source = ("Census 2021 migration, calibrated here (not stored in the run):\n"
              "doubly constrained, power distance deterrence, shared border")
    return table["flow"].to_numpy(dtype=float), fitted, source, stats


def fit_figure(run: RunDir, zones: ZoneSet, data_dir: DataDir = None) -> Figure:
    """Observed against fitted flows on log-log axes (hexagonal bins), with the 1:1 line.

    Parameters
    ----------
    run : RunDir
        The run.
    zones : ZoneSet
        The run's zones.
    data_dir : path-like, optional
        Data directory.

    Returns
    -------
    matplotlib.figure.Figure
        Pairs with a zero observed or fitted flow cannot be drawn on log axes; their number is
        given on the chart.
    """
    from matplotlib.colors import LogNorm

    obs, fit, source, stats = fit_flows(run, zones, data_dir)
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
    names = {"pseudo_r2": "pseudo-R²", "srmse": "SRMSE", "cpc": "CPC", "log(distance_km)": "distance exponent",
             "border": "shared border"}
    lines += [f"{names.get(k, k)}: {v:.3f}" for k, v in stats.items()]
    ax.text(0.03, 0.97, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=8.5,
            bbox={"facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9})
    ax.legend(loc="lower right", fontsize=8.5, frameon=False)
    ax.set_title(f"Observed vs fitted migration flows between the run's {len(zones)} zones\n{source}", fontsize=10)
    add_caption(fig, run_caption(run))
    return fig

