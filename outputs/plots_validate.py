"""The chart of ``migravity validate``: the model's score beside its naive benchmark, one panel per line.

Same conventions as :mod:`migravity.outputs.plots` (a figure not registered with ``pyplot``, the
canvas picked from the file suffix, written atomically by :func:`~migravity.outputs.plots.save_figure`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from migravity.outputs.plots import add_caption, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from migravity.scenarios.validate import Scorecard

__all__ = ["scorecard_figure"]

MODEL_COLOR = "C0"
BENCH_COLOR = "#999999"
LOSS_COLOR = "#c0392b"


def _pairs(ax: Axes, labels: list[str], model: np.ndarray, bench: np.ndarray, beats: np.ndarray,
           title: str, xlabel: str) -> None:
    """Horizontal bar pairs: model (coloured; red edge where it loses) and benchmark (grey)."""
    y = np.arange(len(labels), dtype=float)
    ax.barh(y - 0.2, model, height=0.38, color=MODEL_COLOR, label="model",
            edgecolor=[LOSS_COLOR if not b else MODEL_COLOR for b in beats], linewidth=1.5)
    ax.barh(y + 0.2, bench, height=0.38, color=BENCH_COLOR, label="benchmark")
    for yy, b in zip(y, beats, strict=True):
        ax.text(1.0, yy, "beats" if b else "loses", transform=ax.get_yaxis_transform(), ha="left", va="center",
                fontsize=7, color="#2e7d32" if b else LOSS_COLOR)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _select(lines: pd.DataFrame, line: int, metric: str, benchmark_contains: str) -> pd.DataFrame:
    sel = (lines["line"] == line) & (lines["metric"] == metric) & \
        lines["benchmark"].astype(str).str.contains(benchmark_contains, regex=False)
    return lines[sel]


def scorecard_figure(card: Scorecard) -> Figure:
    """Four panels: hindcast share RMSE, net-migration RMSE, OD CPC, identification checks.

    Parameters
    ----------
    card : Scorecard
        The result of :func:`migravity.scenarios.validate.validate`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    lines = card.lines
    has_id = bool((lines["line"] == 4).any())
    fig = new_figure(11.0, 8.0)
    axes = fig.subplots(2, 2)

    h = _select(lines, 1, "RMSE of shares (pts)", "")
    _pairs(axes[0, 0], [f"{'HSL' if str(p).startswith('high') else 'level 4+'}, {lv}" for p, lv in
                        zip(h["predicted"], h["level"], strict=True)],
           h["model"].to_numpy(float), h["benchmark_score"].to_numpy(float), h["beats_benchmark"].to_numpy(bool),
           "1. Hindcast 2011 -> 2021: RMSE of shares vs no change in shares", "percentage points (lower is better)")

    net = lines[(lines["line"] == 2) & (lines["metric"] == "RMSE (persons/yr)")]
    zero = {lv: float(g["benchmark_score"].iloc[0]) for lv, g in
            net[net["benchmark"].astype(str).str.contains("zero", regex=False)].groupby("level")}
    denom = np.array([zero.get(lv, np.nan) for lv in net["level"]])
    _pairs(axes[0, 1], [f"{lv} vs {'zero' if 'zero' in str(b) else 'persistence'}" for lv, b in
                        zip(net["level"], net["benchmark"], strict=True)],
           net["model"].to_numpy(float) / denom, net["benchmark_score"].to_numpy(float) / denom,
           net["beats_benchmark"].to_numpy(bool), "2. Net internal migration per year, 2012-2020: RMSE",
           "RMSE / RMSE of zero net migration (lower is better)")

    od = lines[(lines["line"] == 3) & (lines["metric"] == "CPC")
               & ~lines["benchmark"].astype(str).str.contains("total ratio", regex=False)]
    od_labels = [("(a) held-out pairs" if "(a)" in str(s) else "(c) 2011 -> 2021" if "(c)" in str(s)
                  else f"(b) {str(p).removeprefix('origins in ')}") for s, p in
                 zip(od["section"], od["predicted"], strict=True)]
    _pairs(axes[1, 0], od_labels, od["model"].to_numpy(float), od["benchmark_score"].to_numpy(float),
           od["beats_benchmark"].to_numpy(bool), "3. OD fit: gravity core vs re-balanced persistence",
           "CPC (higher is better)")
    axes[1, 0].set_xlim(0.5, 1.0)

    ax = axes[1, 1]
    if has_id:
        ident = lines[lines["line"] == 4]
        params = list(dict.fromkeys(ident["predicted"]))
        checks = list(dict.fromkeys(ident["metric"]))
        grid = np.full((len(params), len(checks)), np.nan)
        for r in ident.itertuples(index=False):
            grid[params.index(r.predicted), checks.index(r.metric)] = 1.0 if r.beats_benchmark else 0.0
        from matplotlib.colors import ListedColormap

        ax.imshow(np.ma.masked_invalid(grid), cmap=ListedColormap([LOSS_COLOR, "#2e7d32"]), vmin=0, vmax=1,
                  aspect="auto")
        for i in range(len(params)):
            for j in range(len(checks)):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, "pass" if grid[i, j] else "fail", ha="center", va="center", fontsize=7,
                            color="white")
        ax.set_xticks(range(len(checks)), [c.replace(" (", "\n(") for c in checks], fontsize=6.5, rotation=30,
                      ha="right")
        ax.set_yticks(range(len(params)), params, fontsize=7)
        ax.set_title("4. Identification checks per parameter", fontsize=9, loc="left")
    else:
        ax.text(0.5, 0.5, "identification checks not run", ha="center", va="center", fontsize=9)
        ax.set_axis_off()
    axes[0, 0].legend(fontsize=7, frameon=False, loc="lower right")
    k, total = int(lines["beats_benchmark"].sum()), len(lines)
    fig.suptitle(f"migravity validate: the model beats its naive benchmark on {k} of {total} scorecard rows",
                 fontsize=11)
    add_caption(fig, "Red edge / 'loses': the model does not beat the benchmark. Line 3 scores the gravity core; "
                     "the scenario baseline itself is a persistence pivot.")
    return fig
