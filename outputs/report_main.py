"""The main job's report page: ``migravity report --html PATH``, one self-contained HTML file that works offline.

:func:`write_main_report_page` writes what the main job (``migravity report``) computes:

* the two **stylised facts**: inter-LAD migrants between deprivation (IMD 2019) quintiles of the
  origin and of the destination as a heatmap (``mg-facts-imd``), and the share of workers working
  mainly at or from home by region as a bar chart (``mg-facts-wfh``);
* the **model ladder** (M1-M4) beside the published Table 1: ours and the paper's coefficient of
  each sending quintile with their 95% intervals (``mg-ladder``) and the side-by-side table;
* the **out-of-sample test** (calibrate on Census 2011, predict Census 2021): CPC and SRMSE of each
  model (``mg-oos``) and the coefficients of both years;
* the **data attribution** (:data:`migravity.outputs.report_page.ATTRIBUTION`) and the **sources**:
  every registered dataset with its publisher, licence and official page.

Self-contained as the run report page (:mod:`migravity.outputs.report_page`, whose building blocks it
reuses): plotly's JavaScript is embedded inline, no CDN and no other request; the page is written
atomically. It is built from the main job's JSON payload (``report --json``) and the two facts tables,
so it can be rebuilt from them without the data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from migravity.outputs.report_page import _CONFIG, _CSS, ATTRIBUTION, _clean, _e, _num, _script_json, _table
from migravity.utils.atomic import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FIGURE_IDS", "build_main_report_page", "write_main_report_page"]

#: The ids of the page's figure elements, in page order.
FIGURE_IDS: tuple[str, ...] = ("mg-facts-imd", "mg-facts-wfh", "mg-ladder", "mg-oos")


def _fig(fig: Any) -> dict[str, Any]:
    return json.loads(fig.to_json())


def _imd_figure(mat: pd.DataFrame) -> dict[str, Any]:
    import plotly.graph_objects as go

    z = mat.to_numpy(dtype=float)
    rows = [f"origin Q{r}" for r in mat.index]
    cols = [f"destination Q{c}" for c in mat.columns]
    fig = go.Figure(go.Heatmap(z=z, x=cols, y=rows, colorscale="Blues", text=[[f"{v:,.0f}" for v in r] for r in z],
                               texttemplate="%{text}", hovertemplate="%{y} → %{x}: %{z:,.0f} migrants<extra></extra>",
                               colorbar={"title": {"text": "migrants"}, "tickformat": ",.0f"}))
    fig.update_layout(title={"text": "Inter-LAD migrants, England, Census 2021, by IMD 2019 quintile "
                             "(Q1 = most deprived)"}, yaxis={"autorange": "reversed"}, height=460,
                      margin={"l": 10, "r": 10, "t": 48, "b": 40})
    return _fig(fig)


def _wfh_figure(wfh: pd.DataFrame) -> dict[str, Any]:
    import plotly.graph_objects as go

    share = 100.0 * wfh["share"].to_numpy(dtype=float)
    names = [str(i) for i in wfh.index]
    order = np.argsort(share, kind="stable")
    fig = go.Figure(go.Bar(x=np.round(share[order], 2), y=[names[i] for i in order], orientation="h",
                           marker_color="#2166ac", hovertemplate="<b>%{y}</b><br>%{x:.1f}% of workers<extra></extra>"))
    fig.update_layout(title={"text": "Working mainly at or from home, Census 2021, by region of residence"},
                      xaxis={"title": {"text": "share of workers, %"}, "tickformat": ".0f"},
                      yaxis={"automargin": True}, height=max(300, 30 * len(names) + 110),
                      margin={"l": 10, "r": 20, "t": 48, "b": 40})
    return _fig(fig)


def _ladder_figure(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Ours against the paper's coefficients, one panel row per model, 95% intervals."""
    import plotly.graph_objects as go

    fig = go.Figure()
    labels = [f"{r.get('model')} {r.get('label')}" for r in records]
    for key, name, colour in (("ours", "ours", "#d62728"), ("paper", "published Table 1", "#1f77b4")):
        b = np.array([float(r.get(key, np.nan)) for r in records])
        se = np.array([float(r.get(f"{key}_se", np.nan)) for r in records])
        fig.add_trace(go.Scatter(x=np.round(b, 4), y=labels, mode="markers", name=name, marker_color=colour,
                                 error_x={"type": "data", "array": np.round(1.96 * se, 4), "color": colour},
                                 hovertemplate="%{y}: %{x:+.3f}<extra>" + name + "</extra>"))
    fig.update_layout(title={"text": "Model ladder: sending-quintile coefficients, ours and published "
                             "(95% intervals)"}, yaxis={"autorange": "reversed", "automargin": True},
                      xaxis={"title": {"text": "coefficient (log rate ratio)"}, "zeroline": True, "tickformat": "+.2f"},
                      height=max(320, 26 * len(labels) + 120), margin={"l": 10, "r": 20, "t": 48, "b": 40})
    return _fig(fig)


def _oos_figure(scores: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    models = list(scores)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("CPC (higher is better)", "SRMSE (lower is better)"))
    for col, key in ((1, "cpc"), (2, "srmse")):
        vals = [float(scores[m].get(key, np.nan)) for m in models]
        fig.add_trace(go.Bar(x=models, y=np.round(vals, 4), name=key.upper(), showlegend=False,
                             marker_color="#2166ac" if key == "cpc" else "#b2182b",
                             hovertemplate="%{x}: %{y:.3f}<extra>" + key.upper() + "</extra>"), row=1, col=col)
    fig.update_layout(title={"text": "Out of sample: calibrated on Census 2011, predicting Census 2021"},
                      height=380, margin={"l": 10, "r": 20, "t": 70, "b": 40})
    return _fig(fig)


def _comparison_table(records: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for r in records:
        ours = f"{_num(r.get('ours'), '+.3f')}{_e(r.get('ours_stars', ''))} ({_num(r.get('ours_se'), '.3f')})"
        paper = f"{_num(r.get('paper'), '+.3f')}{_e(r.get('paper_stars', ''))} ({_num(r.get('paper_se'), '.3f')})"
        rows.append([_e(r.get("model", "")), _e(r.get("label", "")), ours, paper,
                     _num(r.get("diff_in_our_se"), "+.1f"), "yes" if r.get("same_sign") else "no"])
    if not rows:
        return "<p>No published counterpart for this typology.</p>"
    return _table(["model", "sending quintile", "ours (SE)", "published (SE)", "(ours − published) / our SE",
                   "same sign"], rows, "ladder")


def _oos_table(oos: Mapping[str, Any]) -> str:
    scores = oos.get("scores", {}) or {}
    rows = [[_e(m), _num(s.get("cpc"), ".3f"), _num(s.get("srmse"), ".3f")] for m, s in scores.items()]
    table = _table(["model", "CPC", "SRMSE"], rows, "oos")
    coef = []
    for year in ("2011", "2021"):
        c = oos.get(f"coefficients_{year}", {}) or {}
        coef.append(f"{year}: " + ", ".join(f"{_e(k)} {_num(v, '.4f')}" for k, v in c.items()))
    return table + "<p class=\"note\">Coefficients " + "; ".join(coef) + ".</p>"


def _sources() -> str:
    from migravity.geodata.registry import DATASETS

    rows = [[f"<code>{_e(d.name)}</code>", _e(d.title), _e(d.publisher), _e(d.licence),
             f'<a href="{_e(d.landing_page)}">{_e(d.landing_page)}</a>'] for d in DATASETS]
    return _table(["dataset", "title", "publisher", "licence", "official page"], rows, "sources")


def build_main_report_page(payload: Mapping[str, Any], deprivation_flows: pd.DataFrame | None = None,
                           wfh_by_region: pd.DataFrame | None = None, *, title_note: str = "") -> str:
    """The main job's report page as HTML text (see the module docs).

    Parameters
    ----------
    payload : mapping
        The main job's JSON payload (``migravity report --json``): the ladder (``paper_comparison``,
        ``design``, ``paper``, ``n_pairs``) and ``out_of_sample``.
    deprivation_flows : pandas.DataFrame, optional
        :func:`migravity.analysis.facts.deprivation_flow_matrix` (origin quintiles x destination quintiles).
    wfh_by_region : pandas.DataFrame, optional
        :func:`migravity.analysis.facts.wfh_share_by_region` (column ``share``, index region).
    title_note : str
        A line under the title (e.g. the data directory and version).

    Returns
    -------
    str
        A complete HTML document.
    """
    from plotly.offline import get_plotlyjs

    records = list(payload.get("paper_comparison", []) or [])
    oos = payload.get("out_of_sample", {}) or {}
    figures: dict[str, Any] = {"mg-ladder": _ladder_figure(records), "mg-oos": _oos_figure(oos.get("scores", {}) or {})}
    if deprivation_flows is not None:
        figures["mg-facts-imd"] = _imd_figure(deprivation_flows)
    if wfh_by_region is not None:
        figures["mg-facts-wfh"] = _wfh_figure(wfh_by_region)
    data = _clean({"config": _CONFIG, "figures": figures})
    facts_note = ""
    if deprivation_flows is not None and deprivation_flows.shape[1] > 1:
        q1 = deprivation_flows.iloc[0]
        facts_note = (f"<p class=\"note\">The most deprived quintile sends {q1.iloc[0] / q1.iloc[-1]:.1f}× as many "
                      "migrants to other most-deprived LADs as to the least deprived.</p>")
    attribution = "".join(f"<p>{_e(a)}</p>" for a in ATTRIBUTION)
    js = ("(function(){var D=JSON.parse(document.getElementById('mg-data').textContent);"
          "Object.keys(D.figures).forEach(function(id){var f=D.figures[id];"
          "Plotly.newPlot(id,f.data,f.layout,D.config);});})();")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>migravity main job report</title><style>{_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body>
<header><h1>Internal migration of England and Wales: stylised facts, model ladder, out-of-sample test</h1>
<p>{_e(title_note)}</p></header>
<main>
<section><h2>Stylised facts</h2><div class="charts"><div id="mg-facts-imd"></div><div id="mg-facts-wfh"></div></div>
{facts_note}</section>
<section><h2>Model ladder beside the published Table 1</h2>
<p class="note">{_e(payload.get("design", ""))}; {_e(payload.get("n_pairs", "?"))} LA pairs. Published: {_e(
        payload.get("paper", ""))}.</p><div id="mg-ladder"></div>{_comparison_table(records)}</section>
<section><h2>Out-of-sample test</h2><div id="mg-oos"></div>{_oos_table(oos)}</section>
</main>
<footer><h2>Data attribution</h2>{attribution}<h2>Sources</h2>{_sources()}</footer>
<script type="application/json" id="mg-data">{_script_json(data)}</script>
<script type="text/javascript">{js}</script>
</body></html>
"""


def write_main_report_page(path: str | os.PathLike[str], payload: Mapping[str, Any],
                           deprivation_flows: pd.DataFrame | None = None, wfh_by_region: pd.DataFrame | None = None,
                           *, title_note: str = "") -> Path:
    """Write the main job's report page atomically (see :func:`build_main_report_page`).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    target = Path(path)
    atomic_write_text(target, build_main_report_page(payload, deprivation_flows, wfh_by_region,
                                                     title_note=title_note))
    return target
