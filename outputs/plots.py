"""Static maps and charts of a run directory: choropleth, flow map, region/quintile dots, model fit.

Figures are built on :class:`matplotlib.figure.Figure` directly (no ``pyplot``, no global
backend: saving picks the Agg, SVG or PDF canvas from the file suffix) and written atomically.

Kinds (:func:`plot`)
--------------------
``"choropleth"`` (:func:`choropleth_figure`)
    One zone-value column (default ``hs_change_q50``: the median change in high-skilled workers
    in the final year, scenario minus baseline). Signed values (or any ``change`` column) use a
    diverging palette centred on zero; the colour scale is clipped at the 98th percentile of the
    absolute values (the colour bar says so with pointed ends). London is repeated in an inset.
``"flows"`` (:func:`flows_figure`)
    The ``top_k`` largest flows of one flow matrix (default the scenario's high-skilled mover
    flows) as lines between zone centroids over the zone outlines; width and colour by flow. Lines
    bend to their right, so the flows A->B and B->A are drawn apart. A signed matrix (``change_*``)
    ranks by absolute value and is coloured on a diverging palette.
``"regions"`` (:func:`regions_figure`, in :mod:`migravity.outputs.plots_charts`)
    Dot chart of the change by region and by IMD quintile with the 90% interval, from
    ``summary.csv``.
``"fit"`` (:func:`fit_figure`, in :mod:`migravity.outputs.plots_charts`)
    Observed against fitted flows on log-log axes: the run's own calibration fit, stored in the run
    directory (``fit.nc``); nothing is re-fitted.

The choropleth and the regions chart show changes per 1,000 workers by default (``per``), so the
largest authorities and London do not dominate; ``percent`` of the baseline and ``count`` are the
other choices. Colour-bar and axis ticks take their decimals from the tick spacing
(:func:`tick_formatter`): ticks at 0.25 read ``+0.25``. Zones come from the run directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from migravity.errors import ConfigError, ExportError, check_choice
from migravity.outputs._paths import refuse_file_parent
from migravity.scenarios.rundir import RunDir

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from migravity.geodata.datadir import DataDir
    from migravity.geodata.zones import ZoneSet

__all__ = [
    "IMAGE_FORMATS",
    "PER_CHOICES",
    "PLOT_KINDS",
    "check_image_path",
    "choropleth_figure",
    "describe",
    "flows_figure",
    "format_tick",
    "per_zone_values",
    "plot",
    "save_figure",
    "tick_decimals",
    "tick_formatter",
]

PLOT_KINDS: tuple[str, ...] = ("choropleth", "flows", "regions", "fit")
#: What the choropleth and the regions chart show (``--per``): per 1,000 workers (default), percent of the
#: baseline, or counts.
PER_CHOICES: tuple[str, ...] = ("capita", "percent", "count")
DEFAULT_PER = "capita"
#: Workers per ``capita`` unit.
PER_WORKERS = 1000.0
#: File suffix -> matplotlib format.
IMAGE_FORMATS: dict[str, str] = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DEFAULT_ZONE_VARIABLE = "hs_change_q50"
DEFAULT_TOP_K = 200
DPI = 150
LONDON = "E12000007"
CREDIT = "Boundaries: ONS, contains OS data © Crown copyright and database right."
_BASE_NAMES = {
    "hs_change": "change in high-skilled workers vs baseline",
    "hs_stock": "high-skilled workers",
    "hs_stock_mean": "high-skilled workers",
    "hs_flows": "high-skilled movers",
    "gse": "Greater South East (1 = yes)",
    "imd_quintile": "IMD 2019 quintile (1 = most deprived)",
}


def describe(column: str, draws: int | None = None) -> str:
    """A readable description of a zone-value or flow column (for titles and axis labels).

    Parameters
    ----------
    column : str
        Column name, e.g. ``hs_change_q50`` or ``change_hs_stock_mean``.
    draws : int, optional
        Number of draws, quoted in the statistic.

    Returns
    -------
    str
    """
    stem, stat = column, ""
    of = f" of {draws} draws" if draws else " of the draws"
    m = re.fullmatch(r"(.+)_q(\d+(?:p\d+)?)", column)
    if m:
        stem, q = m.group(1), float(m.group(2).replace("p", "."))
        stat = f"median{of}" if q == 50 else f"{q:g}th percentile{of}"
    elif column.endswith("_mean"):
        stem, stat = column[: -len("_mean")], f"mean{of}"
    prefix = ""
    for pre, words in (("pct_change_", "% change in "), ("change_", "change in "), ("baseline_", "baseline: ")):
        if stem.startswith(pre):
            prefix, stem = words, stem[len(pre):]
            break
    base = _BASE_NAMES.get(stem, stem.replace("_", " "))
    text = f"{prefix}{base}" + (" vs baseline" if prefix.endswith("change in ") else "")
    return f"{text} ({stat})" if stat else text


def check_image_path(out: str | os.PathLike[str]) -> str:
    """Check an image path before any work: known suffix, no file where a directory should be.

    Parameters
    ----------
    out : path-like
        The image file.

    Returns
    -------
    str
        The matplotlib format (``png``, ``svg`` or ``pdf``).

    Raises
    ------
    ConfigError
        Unknown suffix.
    ExportError
        A parent of ``out`` is a file, or ``out`` is a directory.
    """
    out = Path(out)
    fmt = IMAGE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ConfigError("--out", str(out), "give a file name ending in " + ", ".join(IMAGE_FORMATS))
    if out.is_dir():
        raise ExportError(out, "is a directory")
    refuse_file_parent(out)
    return fmt


def save_figure(fig: Figure, out: str | os.PathLike[str]) -> Path:
    """Write ``fig`` to ``out`` atomically, in the format its suffix names.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    out : path-like
        ``.png``, ``.svg`` or ``.pdf`` file; its directory is created if needed.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ConfigError
        Unknown suffix.
    ExportError
        The file cannot be written; the message names it.
    """
    from migravity.utils.atomic import atomic_path

    out = Path(out)
    fmt = check_image_path(out)
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=_metadata(fmt))
    except OSError as exc:
        raise ExportError(out, f"{type(exc).__name__}: {exc.strerror or exc}") from exc
    return out


def _metadata(fmt: str) -> dict[str, Any]:
    # Reproducible files: no creation date in SVG / PDF.
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}


def new_figure(width: float, height: float) -> Figure:
    """A figure not registered with ``pyplot`` (no global state), white background."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, facecolor="white", layout="constrained")


def add_caption(fig: Figure, text: str) -> None:
    """Small grey text at the foot of ``fig``, with room kept for it by the constrained layout."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine

    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine | TightLayoutEngine):
        engine.set(rect=(0.0, 0.025, 1.0, 0.975))
    fig.text(0.01, 0.004, text, fontsize=6.5, color="#555555", ha="left", va="bottom")


def run_caption(run: RunDir, scenario: str | None = None) -> str:
    """One line describing the run, for the foot of a figure."""
    parts = [f"run {run.path.name}"]
    if scenario:
        parts.append(f"scenario {scenario}")
    if run.years is not None:
        parts.append(f"{run.years} years")
    if run.draws is not None:
        parts.append(f"{run.draws} draws")
    parts.append(f"{run.zone_vintage} LADs ({run.area})")
    return ", ".join(parts)


# --- maps ---------------------------------------------------------------------------------------------


def zone_paths(geometry: Any) -> list[Any]:
    """One matplotlib ``Path`` per zone polygon or multipolygon (holes kept).

    Parameters
    ----------
    geometry : geopandas.GeoSeries or sequence of shapely geometries
        Polygons in a projected CRS.

    Returns
    -------
    list of matplotlib.path.Path
    """
    import shapely
    from matplotlib.path import Path as MPath
    from shapely.geometry.polygon import orient

    out = []
    for geom in geometry:
        parts = [] if geom is None or geom.is_empty else shapely.get_parts(geom)
        rings = []
        for poly in parts:
            poly = orient(poly, 1.0)  # exterior counter-clockwise, holes clockwise: non-zero fill keeps holes
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords)
                codes = np.full(len(xy), MPath.LINETO, dtype=MPath.code_type)
                codes[0], codes[-1] = MPath.MOVETO, MPath.CLOSEPOLY
                rings.append(MPath(xy, codes))
        out.append(MPath.make_compound_path(*rings) if rings else MPath(np.zeros((0, 2))))
    return out


def _map_axes(ax: Axes) -> None:
    ax.set_aspect("equal")
    ax.set_axis_off()


def _outline(ax: Axes, paths: list[Any], face: Any = "#eeeeee", edge: str = "#b0b0b0", lw: float = 0.3,
             **kw: Any) -> Any:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch

    coll = PatchCollection([PathPatch(p) for p in paths], facecolors=face, edgecolors=edge, linewidths=lw, **kw)
    ax.add_collection(coll)
    ax.autoscale_view()
    return coll


def _zone_column(run: RunDir, scenario: str, variable: str | None) -> tuple[str, np.ndarray, Any]:
    """The chosen column of the zone values, its values in run order and the value table."""
    values = run.zone_values(scenario)
    numeric = [c for c in values.columns
               if isinstance(values[c].dtype, np.dtype) and np.issubdtype(values[c].dtype, np.number)]
    name = variable or DEFAULT_ZONE_VARIABLE
    if name not in numeric:
        for suffix in ("_q50", "_mean"):  # a variable name without its statistic: the median, else the mean
            if f"{name}{suffix}" in numeric:
                name = f"{name}{suffix}"
                break
    if name not in numeric:
        raise ConfigError("--variable", variable if variable is not None else name,
                          "use one of the run's zone values: " + ", ".join(numeric))
    return name, values[name].to_numpy(dtype=float), values


def _norm(values: np.ndarray, diverging: bool) -> tuple[Any, str]:
    """Colour normalisation and colour-bar ``extend`` (clipped at the 98th percentile)."""
    from matplotlib.colors import CenteredNorm, Normalize

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Normalize(0.0, 1.0), "neither"
    if diverging:
        half = float(np.percentile(np.abs(finite), 98)) or float(np.abs(finite).max()) or 1.0
        clipped = np.abs(finite).max() > half * (1 + 1e-9)
        return CenteredNorm(0.0, halfrange=half), "both" if clipped else "neither"
    lo, hi = float(finite.min()), float(np.percentile(finite, 98))
    if hi <= lo:
        hi = lo + 1.0
    return Normalize(lo, hi), "max" if finite.max() > hi * (1 + 1e-9) else "neither"


def tick_decimals(locs: Any, max_decimals: int = 6) -> int:
    """The fewest decimal places that write every tick location exactly (``0.25`` steps -> 2).

    Parameters
    ----------
    locs : array-like
        Tick locations.
    max_decimals : int
        Upper bound.

    Returns
    -------
    int
    """
    x = np.asarray(locs, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return 0
    steps = np.diff(np.unique(x))
    scale = float(steps.min()) if steps.size else max(float(np.abs(x).max()), 1.0)
    for d in range(max_decimals + 1):
        if np.all(np.abs(x - np.round(x, d)) <= 1e-6 * scale):
            return d
    return max_decimals


def tick_formatter(signed: bool) -> Any:
    """A matplotlib tick formatter choosing its decimals from the tick spacing (:func:`tick_decimals`).

    Thousands separators; with ``signed`` a ``+`` on positive ticks (zero is ``0``). Ticks at
    ``-0.25, 0, 0.25`` read ``-0.25``, ``0``, ``+0.25``; at ``0, 500, 1000`` read ``0``, ``+500``, ``+1,000``.

    Parameters
    ----------
    signed : bool
        Put ``+`` on positive ticks.

    Returns
    -------
    matplotlib.ticker.Formatter
    """
    from matplotlib.ticker import Formatter

    class SpacingFormatter(Formatter):
        decimals: int | None = None

        def format_ticks(self, values: Any) -> list[str]:
            self.decimals = tick_decimals(values)
            return [format_tick(float(v), self.decimals, signed) for v in values]

        def __call__(self, x: float, pos: int | None = None) -> str:
            return format_tick(x, self.decimals if self.decimals is not None else tick_decimals([x]), signed)

    return SpacingFormatter()


def format_tick(x: float, decimals: int, signed: bool) -> str:
    """One tick label: ``decimals`` places, thousands separators, ``+`` on positive values when ``signed``."""
    text = f"{x:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return "0"
    return f"+{text}" if signed and x > 0 else text


def _number_format(values: np.ndarray) -> Any:
    signed = bool(np.nanmin(values) < 0) if np.isfinite(values).any() else False
    return tick_formatter(signed)


def _baseline_column(name: str, table: Any) -> str | None:
    """The baseline level a change column is a change of (``hs_change_q50`` -> ``baseline_hs_stock_mean``)."""
    if name.startswith("hs_change"):
        cand = "baseline_hs_stock_mean"
    elif name.startswith("change_"):
        cand = "baseline_" + name.removeprefix("change_")
    else:
        return None
    return cand if cand in table.columns else None


def per_zone_values(run: RunDir, name: str, values: np.ndarray, table: Any, per: str) -> tuple[np.ndarray, str]:
    """Zone values per 1,000 workers, in percent of the baseline, or as counts (``per``).

    Parameters
    ----------
    run : RunDir
        The run (its workers per zone, :meth:`RunDir.zone_workers`).
    name : str
        The zone-value column.
    values : numpy.ndarray
        Its values, in the order of ``table``'s index.
    table : pandas.DataFrame
        The zone values (:meth:`RunDir.zone_values`), for the baseline of ``percent``.
    per : {"capita", "percent", "count"}
        ``capita``: ``1000 * value / workers`` (Census 2021 residents in work of the zone);
        ``percent``: ``100 * change / baseline`` (change columns only); ``count``: as they are.
        Columns that are not counts (``pct_*``, zone coordinates) are returned as they are.

    Returns
    -------
    values : numpy.ndarray
    units : str
        The units, for the colour-bar label.

    Raises
    ------
    ConfigError
        Unknown ``per``; ``percent`` of a column that is not a change; no workers in the run.
    """
    check_choice("--per", per, PER_CHOICES)
    if name.startswith("pct_"):
        return values, "%"
    if name in run.results.coords:
        return values, ""
    if per == "count":
        return values, run.units
    if per == "percent":
        base_col = _baseline_column(name, table)
        if base_col is None:
            raise ConfigError("--per", per, f"percent of the baseline is for changes; {name} is not one: "
                              "use --per capita or --per count")
        base = table[base_col].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(base > 0, 100.0 * values / base, np.nan), f"% of the baseline ({describe(base_col)})"
    workers = run.zone_workers()
    if workers is None:
        raise ConfigError("--per", per, f"the run {run.path} records no workers per zone: use --per count")
    w = workers.reindex(table.index).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w > 0, PER_WORKERS * values / w, np.nan), f"per {PER_WORKERS:,.0f} workers"


def choropleth_figure(run: RunDir, zones: ZoneSet, scenario: str | None = None,
                      variable: str | None = None, per: str = DEFAULT_PER) -> Figure:
    """Map one zone value of one scenario (see the module docs).

    Parameters
    ----------
    run : RunDir
        The run.
    zones : ZoneSet
        The run's zones (:meth:`RunDir.zones`).
    scenario : str, optional
        Scenario (default: the first that is not the baseline).
    variable : str, optional
        A zone-value column (:meth:`RunDir.zone_values`), or a variable name whose median (else
        mean) column is taken. Default ``hs_change_q50``.
    per : {"capita", "percent", "count"}
        Per 1,000 workers of the zone (default, so that large authorities do not dominate), percent of
        the zone's baseline, or counts (:func:`per_zone_values`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ConfigError
        Unknown scenario, variable or ``per`` (the choices are listed).
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable

    scenario = run.scenario(scenario)
    name, values_run, table = _zone_column(run, scenario, variable)
    values_run, units = per_zone_values(run, name, values_run, table, per)
    pos = table.index.get_indexer(list(zones.codes))
    if (pos < 0).any():
        missing = [c for c, p in zip(zones.codes, pos, strict=True) if p < 0]
        raise ConfigError("zones", f"{len(missing)} zone(s) not in the run, e.g. {missing[0]}",
                          "load the zones of the run's manifest (RunDir.zones())")
    values = values_run[pos]
    finite = values[np.isfinite(values)]
    diverging = "change" in name or (finite.size > 0 and finite.min() < 0 < finite.max())
    norm, extend = _norm(values, diverging)
    cmap = colormaps["RdBu" if diverging else "viridis"].with_extremes(bad="#d9d9d9")

    fig = new_figure(8.0, 8.6)
    ax = fig.add_subplot()
    _map_axes(ax)
    paths = zone_paths(zones.geometry)
    faces = cmap(norm(np.ma.masked_invalid(values)))
    _outline(ax, paths, face=faces, edge="white", lw=0.25)
    label = describe(name, run.draws)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.55, pad=0.01, extend=extend,
                 format=_number_format(values), label=_bar_label(name, units, run.draws))
    london = np.asarray(zones.region_codes) == LONDON
    if london.sum() > 1:
        inset = ax.inset_axes((0.66, 0.62, 0.36, 0.36))
        _map_axes(inset)
        _outline(inset, [p for p, keep in zip(paths, london, strict=True) if keep], face=faces[london],
                 edge="white", lw=0.4)
        inset.set_title("London", fontsize=9)
        _frame(ax, zones.geometry[london].total_bounds)
        for spine in inset.spines.values():
            spine.set_visible(True)
            spine.set_edgecolor("#555555")
    when = f"after {run.years} years" if run.years is not None else "final year"
    title = f"{label[0].upper()}{label[1:]}"
    ax.set_title(f"{title}{', ' + units if units and units != run.units else ''}\nscenario {scenario}, {when}",
                 fontsize=11)
    add_caption(fig, f"{run_caption(run)}. {CREDIT}")
    return fig


def flows_figure(run: RunDir, zones: ZoneSet, scenario: str | None = None, variable: str | None = None,
                 top_k: int = DEFAULT_TOP_K) -> Figure:
    """Map the largest flows of one flow matrix (see the module docs).

    Parameters
    ----------
    run : RunDir
        The run.
    zones : ZoneSet
        The run's zones.
    scenario : str, optional
        Scenario (default: the first that is not the baseline).
    variable : str, optional
        A flow matrix of :meth:`RunDir.flow_matrices` (default: the first, the scenario's flows).
    top_k : int
        Number of flows drawn.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ConfigError
        Unknown scenario or variable, a run without flows, or a bad ``top_k``.
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    from migravity.outputs.export_layers import check_filters, flows_layer, zone_points

    check_filters(top_k, None)
    scenario = run.scenario(scenario)
    mats = run.flow_matrices(scenario)
    if not mats:
        raise ConfigError("--kind", "flows", f"the run {run.path} holds no origin-destination flows")
    name = variable or next(iter(mats))
    if name not in mats:
        raise ConfigError("--variable", name, "use one of the run's flows: " + ", ".join(mats))
    da = mats[name]
    signed = bool(np.nanmin(da.to_numpy()) < 0)
    layer = flows_layer(zones, {"rank": abs(da), "value": da}, top_k=top_k)
    layer = layer[np.isfinite(layer["value"]) & (layer["rank"] > 0)]
    xy = zone_points(zones)
    pos = {c: i for i, c in enumerate(zones.codes)}
    o = np.array([pos[c] for c in layer["origin"]], dtype=int)
    d = np.array([pos[c] for c in layer["destination"]], dtype=int)
    v = layer["value"].to_numpy(dtype=float)
    mag = np.abs(v)
    vmax = float(mag.max()) if mag.size else 1.0

    fig = new_figure(8.0, 8.6)
    ax = fig.add_subplot()
    _map_axes(ax)
    paths = zone_paths(zones.geometry)
    _outline(ax, paths)
    if signed:
        from matplotlib.colors import CenteredNorm

        norm: Any = CenteredNorm(0.0, halfrange=vmax or 1.0)
        cmap = colormaps["RdBu"]
    else:
        norm = Normalize(0.0, vmax or 1.0)
        cmap = colormaps["plasma_r"].resampled(256)
    widths = 0.3 + 5.2 * (mag / (vmax or 1.0))
    order = np.argsort(mag, kind="stable")  # the largest on top
    _curved_lines(ax, xy[o[order]], xy[d[order]], cmap(norm(v[order])), widths[order])
    london = np.asarray(zones.region_codes) == LONDON
    inner = london[o[order]] & london[d[order]]
    if london.sum() > 1 and inner.any():  # flows within London overlap on the national map: repeat them
        inset = ax.inset_axes((0.66, 0.5, 0.36, 0.36))
        _map_axes(inset)
        _outline(inset, [p for p, keep in zip(paths, london, strict=True) if keep])
        sel = order[inner]
        _curved_lines(inset, xy[o[sel]], xy[d[sel]], cmap(norm(v[sel])), widths[sel])
        inset.set_title("Flows within London", fontsize=8.5)
        _frame(ax, zones.geometry[london].total_bounds)
        for spine in inset.spines.values():
            spine.set_visible(True)
            spine.set_edgecolor("#555555")
    from matplotlib.cm import ScalarMappable

    label = describe(name, run.draws)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.55, pad=0.01, format=_number_format(v),
                 label=_bar_label(name, "movers per year", run.draws))
    if vmax > 0:
        handles = []
        for frac in (1.0, 0.5, 0.2):
            val = _round_nice(vmax * frac)
            handles.append(Line2D([], [], color="#444444", lw=0.3 + 5.2 * val / vmax, label=f"{val:,.0f}"))
        ax.legend(handles=handles, title="movers per year" + (" (|change|)" if signed else ""), loc="upper right",
                  frameon=False, fontsize=8, title_fontsize=8)
    when = f"year {run.years}" if run.years is not None else "final year"
    ax.set_title(f"The {len(v)} largest flows: {label}\nscenario {scenario}, {when}; lines bend to their right "
                 "(origin to destination)", fontsize=10.5)
    add_caption(fig, f"{run_caption(run)}. {CREDIT}")
    return fig


def _bar_label(name: str, units: str, draws: int | None) -> str:
    """Colour-bar label: the units and the statistic (the title says what is mapped)."""
    text = describe(name, draws)
    stat = text[text.rindex("(") + 1:-1] if text.endswith(")") else ""
    change = "scenario - baseline" if "change" in name else ""
    parts = [p for p in (units, change, stat) if p]
    return ", ".join(parts) if parts else text


def _frame(ax: Axes, bounds: np.ndarray, pad: float = 2000.0) -> None:
    """A grey rectangle around ``bounds`` (minx, miny, maxx, maxy) on a map."""
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = (float(b) for b in bounds)
    ax.add_patch(Rectangle((x0 - pad, y0 - pad), x1 - x0 + 2 * pad, y1 - y0 + 2 * pad, fill=False,
                           edgecolor="#555555", lw=0.8))


def _round_nice(x: float) -> float:
    if x <= 0:
        return x
    exp = 10 ** np.floor(np.log10(x))
    return float(max(1.0, np.floor(x / exp) * exp))


def _curved_lines(ax: Axes, start: np.ndarray, end: np.ndarray, colors: np.ndarray, widths: np.ndarray,
                  bend: float = 0.15) -> None:
    """Quadratic Bézier lines from ``start`` to ``end`` bending to their right."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    delta = end - start
    control = (start + end) / 2 + bend * np.column_stack([delta[:, 1], -delta[:, 0]])
    codes = [MPath.MOVETO, MPath.CURVE3, MPath.CURVE3]
    patches = [PathPatch(MPath(np.array([s, c, e]), codes)) for s, c, e in zip(start, control, end, strict=True)]
    ax.add_collection(PatchCollection(patches, facecolors="none", edgecolors=colors, linewidths=widths,
                                      capstyle="round", alpha=0.85))


# --- dispatch -----------------------------------------------------------------------------------------


def plot(run: RunDir, kind: str, out: str | os.PathLike[str], *, scenario: str | None = None,
         variable: str | None = None, zones: ZoneSet | None = None, top_k: int = DEFAULT_TOP_K,
         data_dir: DataDir = None, per: str = DEFAULT_PER) -> Path:
    """Draw one kind of figure of a run and write it to ``out`` (PNG, SVG or PDF by suffix).

    Parameters
    ----------
    run : RunDir
        The run (:func:`migravity.scenarios.rundir.open_run`).
    kind : {"choropleth", "flows", "regions", "fit"}
        See the module docs.
    out : path-like
        Image file.
    scenario : str, optional
        Scenario (``choropleth``, ``flows``; ``regions`` shows every scenario but the baseline
        unless one is named).
    variable : str, optional
        Zone-value column (``choropleth``), flow matrix (``flows``), summary metric
        (``regions``, default ``hs_stock``); ignored by ``fit``.
    zones : ZoneSet, optional
        The run's zones (default: those stored in the run directory, :meth:`RunDir.zones`).
    top_k : int
        Flows drawn by ``flows``.
    data_dir : path-like, optional
        Data directory, only for the zones of a run written before run directories held them.
    per : {"capita", "percent", "count"}
        ``choropleth`` and ``regions``: per 1,000 workers (default), percent of the baseline, or counts.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from migravity.outputs.plots_charts import fit_figure, regions_figure

    check_choice("kind", kind, PLOT_KINDS)
    check_choice("--per", per, PER_CHOICES)
    check_image_path(out)
    if kind == "regions":
        fig = regions_figure(run, scenario, variable, per)
    elif kind == "fit":
        fig = fit_figure(run)
    else:
        zones = zones if zones is not None else run.zones(data_dir)
        if kind == "choropleth":
            fig = choropleth_figure(run, zones, scenario, variable, per)
        else:
            fig = flows_figure(run, zones, scenario, variable, top_k)
    return save_figure(fig, out)
