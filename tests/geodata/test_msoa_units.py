"""MSOA geometry helpers without data: population-weighted centroids, point placement, fast contiguity.

Each against a slow, obviously correct reference on small synthetic inputs.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box

from migravity.geodata.msoa import assign_points, weighted_centroids
from migravity.geodata.spatial import contiguity_matrix, contiguity_pairs
from migravity.geodata.zones import BNG, ZoneSet


def _reference_centroids(xy: np.ndarray, w: np.ndarray, g: np.ndarray, n: int) -> np.ndarray:
    out = np.full((n, 2), np.nan)
    for k in range(n):
        pts, ws = xy[g == k], w[g == k]
        if len(pts) == 0:
            continue
        if ws.sum() > 0:
            out[k] = [sum(p[0] * wt for p, wt in zip(pts, ws, strict=True)) / ws.sum(),
                      sum(p[1] * wt for p, wt in zip(pts, ws, strict=True)) / ws.sum()]
        else:
            out[k] = pts.mean(axis=0)
    return out


def test_weighted_centroids_hand_example() -> None:
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [5.0, 5.0], [7.0, 1.0]])
    w = np.array([1.0, 3.0, 0.0, 0.0, 0.0])
    g = np.array([0, 0, 0, 1, 1])
    c, how = weighted_centroids(xy, w, g, 3)
    np.testing.assert_allclose(c[0], [7.5, 0.0])       # (0*1 + 10*3) / 4
    np.testing.assert_allclose(c[1], [6.0, 3.0])       # zero weight: the plain mean
    assert np.isnan(c[2]).all()
    assert how.tolist() == [0, 1, 2]


@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_weighted_centroids_match_reference(m: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1e5, (m, 2))
    w = rng.integers(0, 50, m).astype(float)
    g = rng.integers(0, n, m)
    c, _ = weighted_centroids(xy, w, g, n)
    np.testing.assert_allclose(c, _reference_centroids(xy, w, g, n), rtol=1e-12, equal_nan=True)


def test_assign_points_inside_edge_and_nearest() -> None:
    polys = [box(0, 0, 10, 10), box(10, 0, 20, 10), box(100, 100, 110, 110)]
    xy = np.array([[5, 5], [15, 5], [10, 5], [25, 5], [104, 99]], dtype=float)
    pos, outside = assign_points(xy, polys)
    assert pos.tolist() == [0, 1, 0, 1, 2]  # the shared edge goes to the lowest position
    assert outside.tolist() == [False, False, False, True, True]


def _grid_zones(gaps: dict[tuple[int, int], float], island: bool = True) -> ZoneSet:
    """A 4 x 4 grid of 1 km squares; square (r, c) shrunk on its right by ``gaps[(r, c)]`` metres;
    plus an island 5 km off the grid."""
    geoms, codes = [], []
    for r, c in itertools.product(range(4), range(4)):
        shrink = gaps.get((r, c), 0.0)
        geoms.append(box(c * 1000.0, r * 1000.0, (c + 1) * 1000.0 - shrink, (r + 1) * 1000.0))
        codes.append(f"E02{len(codes):06d}")
    if island:
        geoms.append(box(9000.0, 0.0, 9500.0, 500.0))
        codes.append(f"E02{len(codes):06d}")
    n = len(codes)
    series = gpd.GeoSeries(geoms, index=pd.Index(codes, name="msoa"), crs=BNG)
    return ZoneSet(vintage="2021", area="EW", codes=tuple(codes), names=tuple(codes), region_codes=("E12000007",) * n,
                   region_names=("London",) * n, nations=("England",) * n, geometry=series, level="msoa")


@pytest.mark.parametrize("tolerance", [0.0, 50.0, 150.0])
def test_contiguity_matches_slow_reference(tolerance: float) -> None:
    zones = _grid_zones({(0, 0): 30.0, (1, 1): 100.0, (2, 2): 200.0})
    geoms = zones.geometry.to_numpy()
    n = len(zones)
    ref = np.zeros((n, n), dtype=np.int8)
    for i, j in itertools.combinations(range(n), 2):
        if geoms[i].distance(geoms[j]) <= tolerance:
            ref[i, j] = ref[j, i] = 1
    w = contiguity_matrix(zones, tolerance).to_numpy()
    np.testing.assert_array_equal(w, ref)
    i, j = contiguity_pairs(zones, tolerance)
    assert (i < j).all() and len(set(zip(i.tolist(), j.tolist(), strict=True))) == len(i) == int(ref.sum()) // 2
    assert w[-1].sum() == 0  # the island has no neighbour
