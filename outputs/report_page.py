"""A run's report page: one self-contained, interactive HTML file (``report.html``) that works offline.

:func:`write_report_page` writes it from a run directory (:func:`migravity.scenarios.rundir.open_run`)
and the run's zones; ``migravity run`` writes it into every run directory and ``migravity
report-page RUN_DIR`` (re)builds it. The page holds:

* a **scenario selector**: switching scenario redraws the map and the charts and shows that
  scenario's tables;
* an interactive **choropleth** of the scenario's change in high-skilled workers by LAD (final
  year, scenario minus its paired baseline, mean over the draws), with a toggle between counts and
  percent of the LAD's baseline (the per-capita view, in which large authorities do not dominate);
  hover shows the LAD's name, the value and its 5-95% interval over the draws;
* the **headline table** of every scenario (GSE share of high-skilled workers and its change in
  points with the interval and the specification range, the change in the Theil index across LADs
  with its verdict, the share of London's high-skilled leavers who stay in the Greater South East);
* bar charts of the change **by region** and **by deprivation (IMD) quintile** with 5-95% error
  bars (from ``summary.csv``);
* the **largest changes in high-skilled mover flows** (the top :data:`TOP_FLOWS` origin-destination
  pairs by absolute change, final year, from ``results.nc``);
* the **assumptions and parameter sources** (the manifest's parameter table: identified or
  assumed, value, standard error or range, source) and the specifications;
* the **data attribution** (:data:`ATTRIBUTION`).

Self-contained: plotly's JavaScript bundle (shipped inside the ``plotly`` wheel) is embedded inline
(as ``include_plotlyjs=True`` does), the LAD boundaries once, simplified (:data:`SIMPLIFY_M` metres
in British National Grid) and converted to WGS84 GeoJSON; no CDN, no web fonts, no request of any
kind. The figures are built and validated by plotly in Python; a short script switches them. The
file is about 5.5 MB for six scenarios, of which 4.8 MB is plotly's bundle.

Reading the run needs only the columns and variables named here; extra ones are ignored.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from migravity.errors import MalformedDataError
from migravity.scenarios.rundir import DERIVED_FILES, RunDir, open_run
from migravity.utils.atomic import atomic_write_text

if TYPE_CHECKING:
    from migravity.geodata.datadir import DataDir
    from migravity.geodata.zones import ZoneSet

__all__ = [
    "ATTRIBUTION",
    "REPORT_FILE",
    "SIMPLIFY_M",
    "TOP_FLOWS",
    "boundaries_geojson",
    "build_report_page",
    "write_report_page",
]

#: File name of the page in a run directory (one of the run directory's derived files).
REPORT_FILE = DERIVED_FILES[0]
#: Simplification tolerance of the boundaries (metres, British National Grid).
SIMPLIFY_M = 400.0
#: Decimal places kept in the WGS84 coordinates (4: about 10 m).
COORD_DECIMALS = 4
#: Origin-destination pairs listed in the flows table.
TOP_FLOWS = 15
#: The data attribution printed on the page (each line one paragraph).
ATTRIBUTION: tuple[str, ...] = (
    "Contains public sector information licensed under the Open Government Licence v3.0.",
    "Contains OS data © Crown copyright and database right 2024 (local authority district boundaries: "
    "Office for National Statistics, Open Geography Portal).",
    "Census 2011 and Census 2021 data: Office for National Statistics (ONS), National Records of Scotland and "
    "Northern Ireland Statistics and Research Agency; source: ONS. Index of Multiple Deprivation 2019: Ministry "
    "of Housing, Communities and Local Government; Welsh Index of Multiple Deprivation 2019: Welsh Government.",
)
_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover",
           "modeBarButtonsToRemove": ["toImage"]}
_HS = "hs_stock"


# --- data from the run ----------------------------------------------------------------------------------


def _rows(table: pd.DataFrame, scenario: str, level: str, metric: str = _HS) -> pd.DataFrame:
    sel = (table["scenario"] == scenario) & (table["level"] == level) & (table["metric"] == metric)
    return table[sel]


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A float column, NaN where the table lacks it (older or newer summaries)."""
    if name in frame.columns:
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    return np.full(len(frame), np.nan)


def _check_summary(run: RunDir, table: pd.DataFrame) -> None:
    need = {"scenario", "metric", "level", "code", "name", "baseline_mean", "change_mean", "change_q05",
            "change_q95"}
    missing = need - set(table.columns)
    if missing:
        raise MalformedDataError(run.path / "summary.csv", "missing column(s) " + ", ".join(sorted(missing)) +
                                 "; re-run `migravity run ... --out DIR`")


def boundaries_geojson(zones: ZoneSet, codes: Sequence[str] | None = None, tolerance_m: float = SIMPLIFY_M,
                       decimals: int = COORD_DECIMALS) -> dict[str, Any]:
    """The zones' boundaries as a compact WGS84 GeoJSON FeatureCollection (feature ``id`` = zone code).

    Simplified in British National Grid (topology preserved), reprojected to EPSG:4326, coordinates
    rounded, exterior rings clockwise (the winding the map's spherical renderer expects).

    Parameters
    ----------
    zones : ZoneSet
        The zones (polygons in British National Grid).
    codes : sequence of str, optional
        Keep only these zones (default all).
    tolerance_m : float
        Simplification tolerance in metres.
    decimals : int
        Decimal places of longitude and latitude.

    Returns
    -------
    dict
        JSON-ready; each feature has ``id`` and ``properties.name``.
    """
    import shapely
    from shapely.geometry import mapping
    from shapely.geometry.polygon import orient

    geom = zones.geometry
    names = dict(zip(zones.codes, zones.names, strict=True))
    if codes is not None:
        geom = geom.loc[[c for c in codes if c in geom.index]]
    wgs = geom.simplify(tolerance_m, preserve_topology=True).to_crs(4326)
    grid = 10.0 ** -decimals
    features = []
    for code, g in wgs.items():
        g = shapely.set_precision(g, grid)
        parts = [orient(p, sign=-1.0) for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon" and not p.is_empty]
        if not parts:
            continue
        shape = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        features.append({"type": "Feature", "id": str(code), "properties": {"name": names.get(str(code), "")},
                         "geometry": _rounded(mapping(shape), decimals)})
    return {"type": "FeatureCollection", "features": features}


def _rounded(obj: Any, decimals: int) -> Any:
    if isinstance(obj, float):
        return round(obj, decimals)
    if isinstance(obj, list | tuple):
        return [_rounded(x, decimals) for x in obj]
    if isinstance(obj, dict):
        return {k: _rounded(v, decimals) for k, v in obj.items()}
    return obj


def _map_figures(table: pd.DataFrame, scenario: str, years: int | None) -> dict[str, Any]:
    """The map figure of one scenario, counts and percent (without the GeoJSON, added by the page)."""
    import plotly.graph_objects as go

    lad = _rows(table, scenario, "lad")
    codes = lad["code"].astype(str).to_numpy()
    names = lad["name"].astype(str).to_numpy()
    base = _col(lad, "baseline_mean")
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(base > 0, 100.0 / base, np.nan)
    yr = f"year {years}" if years is not None else "final year"
    out: dict[str, Any] = {}
    for unit, factor, fmt, title in (
        ("count", np.ones_like(base), "+,.0f", "high-skilled workers"),
        ("pct", scale, "+.2f", "% of the LAD's baseline"),
    ):
        z = _col(lad, "change_mean") * factor
        lo, hi = _col(lad, "change_q05") * factor, _col(lad, "change_q95") * factor
        finite = np.abs(z[np.isfinite(z)])
        zmax = float(np.quantile(finite, 0.98)) if finite.size else 1.0
        zmax = zmax if zmax > 0 else 1.0
        suffix = "%" if unit == "pct" else ""
        trace = go.Choropleth(
            locations=codes, z=np.round(z, 3), featureidkey="id", locationmode="geojson-id",
            customdata=np.column_stack([names, np.round(lo, 3), np.round(hi, 3)]),
            hovertemplate=(f"<b>%{{customdata[0]}}</b><br>change %{{z:{fmt}}}{suffix}<br>5-95%: "
                           f"[%{{customdata[1]:{fmt}}}{suffix}, %{{customdata[2]:{fmt}}}{suffix}]<extra></extra>"),
            colorscale="RdBu", zmid=0.0, zmin=-zmax, zmax=zmax, marker_line_width=0.3,
            marker_line_color="#777777", colorbar={"title": {"text": title, "side": "right"}, "tickformat": fmt},
        )
        fig = go.Figure(trace)
        label = "counts" if unit == "count" else "percent of baseline"
        fig.update_layout(
            title={"text": f"{scenario}: change in high-skilled workers by LAD, {yr}, vs baseline ({label})"},
            geo={"fitbounds": "locations", "visible": False, "projection": {"type": "mercator"}},
            margin={"l": 0, "r": 0, "t": 48, "b": 0}, height=720,
        )
        out[unit] = json.loads(fig.to_json())
    return out


def _bar_figure(table: pd.DataFrame, scenario: str, level: str, title: str) -> dict[str, Any]:
    """Horizontal bars: the change in high-skilled workers by group, with 5-95% error bars."""
    import plotly.graph_objects as go

    rows = _rows(table, scenario, level)
    mean, lo, hi = _col(rows, "change_mean"), _col(rows, "change_q05"), _col(rows, "change_q95")
    names = rows["name"].astype(str).tolist()
    colours = ["#2166ac" if m >= 0 else "#b2182b" for m in np.nan_to_num(mean)]
    fig = go.Figure(go.Bar(
        y=names, x=np.round(mean, 1), orientation="h", marker_color=colours,
        error_x={"type": "data", "symmetric": False, "array": np.round(np.maximum(hi - mean, 0), 1),
                 "arrayminus": np.round(np.maximum(mean - lo, 0), 1), "color": "#333333"},
        customdata=np.column_stack([np.round(lo, 1), np.round(hi, 1)]) if len(rows) else None,
        hovertemplate="<b>%{y}</b><br>change %{x:+,.0f}<br>5-95%: [%{customdata[0]:+,.0f}, "
                      "%{customdata[1]:+,.0f}]<extra></extra>",
    ))
    fig.update_layout(title={"text": f"{scenario}: {title}"}, height=max(260, 34 * len(names) + 110),
                      margin={"l": 10, "r": 20, "t": 48, "b": 40}, xaxis={"title": {"text": "change in high-skilled "
                      "workers (mean, 5-95% interval)"}, "zeroline": True, "tickformat": "+,.0f"},
                      yaxis={"autorange": "reversed", "automargin": True})
    return json.loads(fig.to_json())


def _flows_frame(run: RunDir, scenario: str, names: dict[str, str], top: int = TOP_FLOWS) -> pd.DataFrame:
    """The ``top`` origin-destination pairs whose high-skilled mover flow changes most (absolute)."""
    flows = run.flow_matrices(scenario)
    change = next((k for k in flows if k.startswith("change_")), None)
    cols = ["origin", "destination", "baseline", "scenario", "change", "pct"]
    if change is None:
        return pd.DataFrame(columns=cols)
    x = change.removeprefix("change_")
    d = flows[change]
    values = d.to_numpy().astype(float)
    orig = [str(c) for c in d["origin"].to_numpy()]
    dest = [str(c) for c in d["destination"].to_numpy()]
    flat = np.nan_to_num(np.abs(values), nan=0.0).ravel()
    k = min(top, int((flat > 0).sum()))
    order = np.argsort(-flat, kind="stable")[:k]
    i, j = np.unravel_index(order, values.shape)
    scen = flows[x].to_numpy()[i, j] if x in flows else np.full(k, np.nan)
    base = flows[f"baseline_{x}"].to_numpy()[i, j] if f"baseline_{x}" in flows else np.full(k, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base > 0, 100.0 * values[i, j] / base, np.nan)
    return pd.DataFrame({"origin": [names.get(orig[a], orig[a]) for a in i],
                         "destination": [names.get(dest[b], dest[b]) for b in j],
                         "baseline": base, "scenario": scen, "change": values[i, j], "pct": pct}, columns=cols)


# --- HTML -------------------------------------------------------------------------------------------------


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: Any, fmt: str, scale: float = 1.0) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return "—" if not np.isfinite(v) else format(v * scale, fmt)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "", attrs: Sequence[str] = ()) -> str:
    """An HTML table; cells are already-escaped strings, ``attrs`` per row (e.g. ``data-row="x"``)."""
    out = [f'<table class="{cls}"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for n, row in enumerate(rows):
        extra = f" {attrs[n]}" if n < len(attrs) else ""
        out.append(f"<tr{extra}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _headline_table(table: pd.DataFrame, scenarios: Sequence[str], years: int | None) -> str:
    nat = table[table["level"] == "national"].set_index(["scenario", "metric"])
    rows, attrs = [], []

    def get(sc: str, metric: str, field: str) -> Any:
        key = (sc, metric)
        if key not in nat.index or field not in nat.columns:
            return np.nan
        return nat.loc[key, field]

    for sc in scenarios:
        ref = sc == "baseline"
        g = lambda f, m="gse_hs_share", s=sc: get(s, m, f)  # noqa: E731
        share = (f"{_num(g('scenario_mean'), '.2f', 100)}% [{_num(g('scenario_q05'), '.2f', 100)}, "
                 f"{_num(g('scenario_q95'), '.2f', 100)}]")
        if ref:
            change = spec = theil = tspec = "reference"
            verdict = "—"
        else:
            change = (f"{_num(g('change_mean'), '+.2f', 100)} [{_num(g('change_q05'), '+.2f', 100)}, "
                      f"{_num(g('change_q95'), '+.2f', 100)}]")
            spec = f"{_num(g('spec_low'), '+.2f', 100)} to {_num(g('spec_high'), '+.2f', 100)}"
            t = lambda f, s=sc: get(s, "theil_lad", f)  # noqa: E731
            theil = (f"{_num(t('change_mean'), '+.2f', 1000)} [{_num(t('change_q05'), '+.2f', 1000)}, "
                     f"{_num(t('change_q95'), '+.2f', 1000)}]")
            tspec = f"{_num(t('spec_low'), '+.2f', 1000)} to {_num(t('spec_high'), '+.2f', 1000)}"
            v = get(sc, "theil_lad", "verdict")
            verdict = _e(v) if isinstance(v, str) else "—"
        ll = lambda f, s=sc: get(s, "london_leavers_gse_share", f)  # noqa: E731
        leavers = (f"{_num(ll('scenario_mean'), '.1f', 100)}% [{_num(ll('scenario_q05'), '.1f', 100)}, "
                   f"{_num(ll('scenario_q95'), '.1f', 100)}]")
        if not ref:
            leavers += f"; change {_num(ll('change_mean'), '+.2f', 100)} pts"
        rows.append([f"<b>{_e(sc)}</b>", share, change, spec, theil, tspec, verdict, leavers])
        attrs.append(f'data-row="{_e(sc)}"')
    yr = f"year {years}" if years is not None else "final year"
    head = ["scenario", f"GSE share of high-skilled ({yr}) [5%, 95%]", "change vs baseline, points [5%, 95%]",
            "specification range, points", "Theil across LADs ×1000, change [5%, 95%]", "specification range",
            "inequality (Theil)", "London high-skilled leavers staying in the GSE"]
    return _table(head, rows, "headline", attrs)


def _flows_table(frame: pd.DataFrame) -> str:
    rows = [[_e(r.origin), _e(r.destination), _num(r.baseline, ",.0f"), _num(r.scenario, ",.0f"),
             _num(r.change, "+,.0f"), _num(r.pct, "+.1f") + ("%" if np.isfinite(r.pct) else "")]
            for r in frame.itertuples(index=False)]
    if not rows:
        return "<p>The run holds no flows, or none changes.</p>"
    return _table(["origin", "destination", "baseline movers", "scenario movers", "change", "change, %"], rows,
                  "flows")


def _parameters_table(params: Sequence[dict[str, Any]]) -> str:
    rows = []
    for p in params:
        se = p.get("std_error")
        status = str(p.get("status", ""))
        if status == "identified" and se is not None:
            spread = f"SE {_num(se, '.3g')}"
        else:
            spread = f"[{_num(p.get('low'), '.4g')}, {_num(p.get('high'), '.4g')}]"
        name = f"<code>{_e(p.get('parameter', ''))}</code>"
        if p.get("description"):
            name += f"<br><small>{_e(p['description'])}</small>"
        rows.append([name, _e(status), _num(p.get("value"), ".4g"), spread, _e(p.get("source") or ""),
                     _e(p.get("reason") or "")])
    return _table(["parameter", "status", "value", "SE / range", "source", "reason"], rows, "params")


def _specifications(specs: Sequence[dict[str, Any]]) -> str:
    items = "".join(f"<li><code>{_e(s.get('name', ''))}</code>: {_e(s.get('description', ''))}</li>" for s in specs)
    return f"<ul>{items}</ul>" if items else ""


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#1d3557;color:#fff;padding:14px 24px}header h1{margin:0;font-size:1.4em}
header p{margin:4px 0 0;font-size:.9em;opacity:.9}
main{max-width:1280px;margin:0 auto;padding:12px 24px}section{background:#fff;border:1px solid #ddd;
border-radius:6px;padding:10px 16px;margin:14px 0}h2{font-size:1.15em;margin:6px 0 10px}
.controls{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid #ddd;padding:8px 24px;
display:flex;gap:24px;align-items:center;flex-wrap:wrap}select{font-size:1em;padding:3px}
table{border-collapse:collapse;font-size:.86em;width:100%}th,td{border-bottom:1px solid #e4e4e4;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f0f0f0}tr.selected td{background:#fff3c4}
.flows td:nth-child(n+3){text-align:right;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px}@media(max-width:900px){.charts{grid-template-columns:1fr}}
small{color:#555}.note{font-size:.85em;color:#444}footer{font-size:.8em;color:#444;padding:8px 24px 24px}
"""

_JS = """
(function () {
  var D = JSON.parse(document.getElementById('mg-data').textContent);
  var GEO = JSON.parse(document.getElementById('mg-geo').textContent);
  var CFG = D.config, state = {scenario: D.initial, unit: 'count'};
  // The map draws only the embedded LAD boundaries; plotly would fetch its world base map from a CDN,
  // so an empty one is registered under the names it looks up (the base-map layers are hidden anyway).
  var EMPTY = {type: 'GeometryCollection', geometries: []}, BASE = {type: 'Topology', arcs: [], objects: {}};
  ['land', 'ocean', 'lakes', 'rivers', 'coastlines', 'countries', 'subunits'].forEach(function (k) {
    BASE.objects[k] = EMPTY; });
  window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};
  ['world_110m', 'world_50m', 'europe_110m', 'europe_50m'].forEach(function (k) {
    window.PlotlyGeoAssets.topojson[k] = BASE; });
  function draw(id, fig) { return Plotly.react(id, fig.data, fig.layout, CFG); }
  function show() {
    var s = D.scenarios[state.scenario], m = s.map[state.unit];
    m.data[0].geojson = GEO;
    draw('mg-map', m); draw('mg-regions', s.regions); draw('mg-imd', s.imd);
    document.querySelectorAll('[data-scenario]').forEach(function (el) {
      el.hidden = el.getAttribute('data-scenario') !== state.scenario; });
    document.querySelectorAll('tr[data-row]').forEach(function (el) {
      el.classList.toggle('selected', el.getAttribute('data-row') === state.scenario); });
    document.body.setAttribute('data-shown', state.scenario + ':' + state.unit);
  }
  document.getElementById('mg-scenario').addEventListener('change', function (e) {
    state.scenario = e.target.value; show(); });
  document.querySelectorAll('input[name="mg-unit"]').forEach(function (el) {
    el.addEventListener('change', function (e) { state.unit = e.target.value; show(); }); });
  show();
})();
"""


def _script_json(obj: Any) -> str:
    """JSON safe inside a ``<script>`` element."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _clean(obj: Any) -> Any:
    """Replace NaN and infinities (not JSON) by ``None``, recursively."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, list):
        return [_clean(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    return obj


def build_report_page(run: RunDir, zones: ZoneSet) -> str:
    """The report page of a run as HTML text (see the module docs).

    Parameters
    ----------
    run : RunDir
        The run (:func:`migravity.scenarios.rundir.open_run`).
    zones : ZoneSet
        Its zones (boundaries and names).

    Returns
    -------
    str
        A complete HTML document.

    Raises
    ------
    MalformedDataError
        ``summary.csv`` lacks a column the page needs.
    """
    from plotly.offline import get_plotlyjs

    table = run.summary()
    _check_summary(run, table)
    table = table.assign(scenario=table["scenario"].astype(str), code=table["code"].astype(str))
    scenarios = run.scenarios
    initial = run.scenario()
    years = run.years
    man = run.manifest
    lad_codes = table.loc[table["level"] == "lad", "code"].unique().tolist()
    geo = boundaries_geojson(zones, lad_codes)
    names = dict(zip(zones.codes, zones.names, strict=True))
    per: dict[str, Any] = {}
    flow_blocks = []
    for sc in scenarios:
        per[sc] = {"map": _map_figures(table, sc, years),
                   "regions": _bar_figure(table, sc, "region", "change by region"),
                   "imd": _bar_figure(table, sc, "imd_quintile", "change by IMD 2019 quintile")}
        hidden = "" if sc == initial else " hidden"
        flow_blocks.append(f'<div data-scenario="{_e(sc)}"{hidden}><h3>{_e(sc)}</h3>'
                           f"{_flows_table(_flows_frame(run, sc, names))}</div>")
    data = _clean({"initial": initial, "config": _CONFIG, "scenarios": per})
    options = "".join(f'<option value="{_e(s)}"{" selected" if s == initial else ""}>{_e(s)}</option>'
                      for s in scenarios)
    desc = {str(s.get("name")): str(s.get("description") or "") for s in man.get("scenarios", [])
            if isinstance(s, dict)}
    desc_blocks = "".join(f'<p class="note" data-scenario="{_e(s)}"{"" if s == initial else " hidden"}>'
                          f"<b>{_e(s)}</b>: {_e(desc.get(s, ''))}</p>" for s in scenarios)
    draws, seed = man.get("draws", run.draws), man.get("seed", "?")
    info = (f"migravity {_e(man.get('version', '?'))} · created {_e(man.get('created', '?'))} · "
            f"{_e(man.get('zones', len(lad_codes)))} LADs ({_e(run.zone_vintage)} codes, {_e(run.area)}) · "
            f"{_e(years)} years · {_e(draws)} draws · seed {_e(seed)}")
    attribution = "".join(f"<p>{_e(a)}</p>" for a in ATTRIBUTION)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>migravity run report: {_e(run.path.name)}</title><style>{_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body>
<header><h1>High-skilled workers, working from home and housing costs: run report</h1><p>{info}</p></header>
<div class="controls"><label>Scenario <select id="mg-scenario">{options}</select></label>
<span>Map values: <label><input type="radio" name="mg-unit" value="count" checked> counts</label>
<label><input type="radio" name="mg-unit" value="pct"> percent of the LAD's baseline</label></span></div>
<main>
<section>{desc_blocks}<p class="note">Every change is the scenario minus its paired baseline (same draws) in the
final year; intervals are the 5th and 95th percentiles over the Monte Carlo draws; the specification range is
the point result under each specification of the evidence.</p></section>
<section><h2>Change in high-skilled workers by local authority district</h2><div id="mg-map"></div>
<p class="note">Hover a district for its name, the mean change and its 5-95% interval. Percent of the LAD's
baseline divides by the LAD's high-skilled workers in the baseline's final year, so large authorities do not
dominate. Colours are clipped at the 98th percentile of the absolute change.</p></section>
<section><h2>Headline figures</h2>{_headline_table(table, scenarios, years)}
<p class="note">GSE: Greater South East (London, South East, East of England). Theil: index of high-skilled
shares across LADs; "narrows" when the 5-95% interval of its change is below zero.</p></section>
<section><h2>By region and by deprivation</h2><div class="charts"><div id="mg-regions"></div>
<div id="mg-imd"></div></div></section>
<section><h2>Largest changes in high-skilled mover flows (top {TOP_FLOWS} origin-destination pairs)</h2>
{"".join(flow_blocks)}<p class="note">Final-year movers between LADs, mean over the draws.</p></section>
<section><h2>Assumptions and parameter sources</h2>
<p class="note">Identified parameters are estimated (standard error from clustered covariance) and drawn
jointly normal; assumed ones are drawn uniformly over their range.</p>
{_parameters_table(man.get("parameters", []))}
<h3>Specifications</h3>{_specifications(man.get("specifications", []))}</section>
</main>
<footer><h2>Data attribution</h2>{attribution}</footer>
<script type="application/json" id="mg-geo">{_script_json(geo)}</script>
<script type="application/json" id="mg-data">{_script_json(data)}</script>
<script type="text/javascript">{_JS}</script>
</body></html>
"""


def write_report_page(run: RunDir | str | os.PathLike[str], path: str | os.PathLike[str] | None = None, *,
                      zones: ZoneSet | None = None, data_dir: DataDir = None) -> Path:
    """Write a run's report page, atomically (see the module docs).

    Parameters
    ----------
    run : RunDir or path-like
        The run, or its directory (opened and verified with :func:`open_run`).
    path : path-like, optional
        The HTML file (default ``RUN_DIR/report.html``).
    zones : ZoneSet, optional
        The run's zones (default :meth:`RunDir.zones`, from ``data_dir``).
    data_dir : path-like, optional
        Data directory for the zones.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if not isinstance(run, RunDir):
        run = open_run(run)
    if zones is None:
        zones = run.zones(data_dir)
    target = Path(path) if path is not None else run.path / REPORT_FILE
    atomic_write_text(target, build_report_page(run, zones))
    return target
