"""MSOA zones, flows, attributes and calibration on the real Census 2021 data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

from migravity.errors import ConfigError
from migravity.geodata.flows import load_flows
from migravity.geodata.readers import load
from migravity.geodata.spatial import contiguity_pairs, distance_matrix
from migravity.geodata.zones import ZoneSet, load_zones, zones_in_regions

#: The MSOA migration table's total (UK movers; PROVENANCE.md of flows/).
MIGRATION_TOTAL = 5_948_430


def _to_lad(f: np.ndarray, msoa_zones: ZoneSet, zones21: ZoneSet) -> np.ndarray:
    """Sum an MSOA x MSOA matrix to LAD 2021 pairs: ``P F P'`` with ``P`` the one-hot parent matrix."""
    p = pd.Index(zones21.codes).get_indexer(list(msoa_zones.parents))
    assert (p >= 0).all()
    onehot = np.zeros((len(zones21), len(msoa_zones)))
    onehot[p, np.arange(len(msoa_zones))] = 1.0
    return onehot @ f @ onehot.T


def test_msoa_zone_set(msoa_zones: ZoneSet, data_dir: Path) -> None:
    z = msoa_zones
    assert len(z) == 7264 and z.level == "msoa" and z.vintage == "2021"
    assert all(c[:3] in ("E02", "W02") for c in z.codes) and list(z.codes) == sorted(z.codes)
    assert len(set(z.parents)) == 331 and all(p[:3] in ("E06", "E07", "E08", "E09", "W06") for p in z.parents)
    assert sum(c.startswith("W02") for c in z.codes) == 408
    assert z.geometry.crs.to_epsg() == 27700 and z.geometry.is_valid.all()
    assert z.index.name == "msoa"
    assert z.land_area_km2 is not None and 150_000 < z.land_area_km2.sum() < 152_000
    lad21 = set(load_zones("2021", "EW", data_dir).codes)
    assert set(z.parents) == lad21
    assert z.region_names[z.position("E02000001")] == "London"


def test_msoa_centroids_inside_or_near(msoa_zones: ZoneSet) -> None:
    """Population-weighted centroids: nearly all inside their polygon, none more than 2.5 km outside."""
    assert msoa_zones.centroids is not None and msoa_zones.centroids.shape == (7264, 2)
    geoms = msoa_zones.geometry.to_numpy()
    pts = shapely.points(msoa_zones.centroids)
    inside = shapely.contains(geoms, pts)
    assert inside.mean() > 0.95
    assert shapely.distance(geoms, pts).max() < 2500.0


def test_msoa_distances_use_weighted_centroids(msoa_zones: ZoneSet) -> None:
    sub = zones_in_regions(msoa_zones, ["North East"])
    d = distance_matrix(sub).to_numpy()
    xy = sub.centroids / 1000.0
    np.testing.assert_allclose(d[0, 1], np.hypot(*(xy[0] - xy[1])))
    assert np.allclose(d, d.T) and (np.diag(d) > 0).all()


def test_msoa_contiguity(msoa_zones: ZoneSet) -> None:
    z = msoa_zones
    i, j = contiguity_pairs(z)
    assert (i < j).all() and len(i) > 15_000
    nbrs: dict[int, set[int]] = {k: set() for k in range(len(z))}
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        nbrs[a].add(b)
        nbrs[b].add(a)
    parents = np.asarray(z.parents)
    scilly = [k for k in range(len(z)) if parents[k] == "E06000053"]
    assert len(scilly) == 1 and not nbrs[scilly[0]]  # Isles of Scilly: one MSOA, no neighbour
    wight = {k for k in range(len(z)) if parents[k] == "E06000046"}
    assert wight and all(nbrs[k] <= wight for k in wight)  # Isle of Wight: no neighbour across the Solent
    lonely = [z.codes[k] for k in range(len(z)) if not nbrs[k]]
    assert len(lonely) <= 3, lonely


def test_msoa_migration_totals(msoa_migration: xr.DataArray) -> None:
    f = msoa_migration
    assert f.shape == (7264, 7264) and f.dtype == np.float64
    rep = json.loads(f.attrs["harmonisation"])
    outside = sum(rep["outside"].values())
    assert float(f.sum()) + outside == MIGRATION_TOTAL
    assert float(f.sum()) == 5_912_888
    assert all(k.split(":")[1][:3] in ("S02", "N09") for k in rep["outside"])


def test_msoa_migration_aggregates_to_lad(msoa_zones: ZoneSet, msoa_migration: xr.DataArray,
                                          mig21_on21: xr.DataArray, zones21: ZoneSet) -> None:
    """Summed to LAD 2021 pairs the MSOA flows match the LTLA table (independent perturbation)."""
    agg = _to_lad(msoa_migration.to_numpy(), msoa_zones, zones21)
    lad = mig21_on21.to_numpy()
    r = np.corrcoef(agg.ravel(), lad.ravel())[0, 1]
    assert r >= 0.9999, r
    assert abs(agg.sum() - lad.sum()) / lad.sum() < 1e-3  # 5,912,888 vs 5,913,273


@pytest.mark.slow
def test_msoa_commuting(msoa_zones: ZoneSet, data_dir: Path, zones21: ZoneSet) -> None:
    f = load_flows("commute2021", msoa_zones, data_dir)
    rep = json.loads(f.attrs["harmonisation"])
    assert rep["excluded"]["mainly at or from home, or no fixed place (111111111)"] == 12_586_827
    raw = load("odwp01ew_msoa", data_dir)
    assert float(f.sum()) + sum(rep["outside"].values()) + sum(rep["excluded"].values()) == raw["count"].sum()
    lad = load_flows("commute2021", zones21, data_dir).to_numpy()
    agg2 = _to_lad(f.to_numpy(), msoa_zones, zones21)
    assert np.corrcoef(agg2.ravel(), lad.ravel())[0, 1] >= 0.9999


def test_msoa_refusals(data_dir: Path, msoa_zones: ZoneSet) -> None:
    with pytest.raises(ConfigError, match="2021 codes only"):
        load_zones("2023", "EW", data_dir, level="msoa")
    with pytest.raises(ConfigError, match="England and Wales only"):
        load_zones("2021", "GB", data_dir, level="msoa")
    with pytest.raises(ConfigError, match="level"):
        load_zones("2021", "EW", data_dir, level="lsoa")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="migration2021 and commute2021"):
        load_flows("migration2011", msoa_zones, data_dir)


@pytest.mark.slow
def test_msoa_attributes(msoa_zones: ZoneSet, data_dir: Path) -> None:
    from migravity.geodata.attributes import load_attributes

    a = load_attributes(msoa_zones, data_dir)
    assert a.sizes["msoa"] == 7264
    assert float(a.workers_2021.sum()) == 27_773_759  # the OA total (census2021/PROVENANCE.md)
    assert float(a.population.sum()) == 58_990_211
    assert abs(float(a.wfh_2021.sum() / a.workers_2021.sum()) - 0.3122) < 1e-3
    assert 0 < float(a.wfh_share_2021.min()) and float(a.wfh_share_2021.max()) < 1
    for var in ("house_price", "weekly_pay", "imd_score"):
        assert a[var].attrs["level"] == "parent LAD" and np.isfinite(a[var]).all()
        # constant within each LAD
        assert (a[var].to_series().groupby(a.lad.to_numpy()).nunique() == 1).all()
    assert a.workers_2021.attrs["level"] == "msoa"


def test_msoa_calibration_subset_close_to_lad(msoa_zones: ZoneSet, msoa_migration: xr.DataArray,
                                              mig21_on21: xr.DataArray, zones21: ZoneSet) -> None:
    """The default model on the MSOAs of one region (seconds) against the LAD fit: finite, the distance
    elasticity of the same sign and order (finer zones see more short moves: a steeper decay)."""
    from migravity.engine import calibrate_arrays
    from migravity.geodata.spatial import contiguity_matrix

    sub = zones_in_regions(msoa_zones, ["North East"])
    idx = [msoa_zones.position(c) for c in sub.codes]
    flows = msoa_migration.to_numpy()[np.ix_(idx, idx)]
    mask = ~np.eye(len(sub), dtype=bool)
    res = calibrate_arrays(flows, cost=distance_matrix(sub).to_numpy(),
                           pair_terms={"border": contiguity_matrix(sub).to_numpy().astype(float)}, mask=mask)
    lad = calibrate_arrays(mig21_on21.to_numpy(), cost=distance_matrix(zones21).to_numpy(),
                           pair_terms={"border": contiguity_matrix(zones21).to_numpy().astype(float)},
                           mask=~np.eye(len(zones21), dtype=bool))
    assert res.converged and all(np.isfinite(v) for v in res.coefficients.values())
    b, b_lad = res.coefficients["log(cost)"], lad.coefficients["log(cost)"]
    assert b < 0 and b_lad < 0 and 0.5 < b / b_lad < 3.0
    assert abs(res.coefficients["border"]) < 2.0
