"""Tick labels of the colour bars and chart axes: decimals from the tick spacing (no data needed)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from migravity.outputs.plots import format_tick, tick_decimals, tick_formatter


@pytest.mark.parametrize(("locs", "decimals"), [
    ([-0.5, -0.25, 0.0, 0.25, 0.5], 2),
    ([-0.2, -0.1, 0.0, 0.1, 0.2], 1),
    ([0, 500, 1000, 1500], 0),
    ([-2.5, 0, 2.5, 5.0], 1),
    ([0.001, 0.002, 0.003], 3),
    ([-40, -20, 0, 20, 40], 0),
])
def test_tick_decimals(locs: list[float], decimals: int) -> None:
    assert tick_decimals(locs) == decimals


def test_format_tick() -> None:
    assert format_tick(0.25, 2, signed=True) == "+0.25"
    assert format_tick(-0.25, 2, signed=True) == "-0.25"
    assert format_tick(0.0, 2, signed=True) == "0"
    assert format_tick(1500.0, 0, signed=True) == "+1,500"
    assert format_tick(1500.0, 0, signed=False) == "1,500"


def test_colour_bar_ticks_at_a_quarter_read_two_decimals() -> None:
    """The issue's case: a colour bar with ticks every 0.25 must read "+0.25", not "+0.2"."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import CenteredNorm

    fig = Figure()
    ax = fig.add_subplot()
    bar = fig.colorbar(ScalarMappable(norm=CenteredNorm(0.0, halfrange=0.5), cmap="RdBu"), ax=ax,
                       format=tick_formatter(signed=True))
    bar.set_ticks([-0.5, -0.25, 0.0, 0.25, 0.5])
    fig.canvas.draw()
    labels = [t.get_text() for t in bar.ax.get_yticklabels()]
    assert labels == ["-0.50", "-0.25", "0", "+0.25", "+0.50"]


def test_axis_ticks_follow_the_automatic_locator() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot(np.array([-0.3, 0.3]), [0, 1])
    ax.set_xlim(-0.3, 0.3)
    ax.xaxis.set_major_formatter(tick_formatter(signed=True))
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "+0.1" in labels or "+0.2" in labels
    assert all(lab.count(".") <= 1 for lab in labels) and "0" in labels
