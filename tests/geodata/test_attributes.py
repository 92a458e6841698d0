"""Zone attributes on the real data: completeness, known totals, quintiles and the harmonisation record."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from migravity.geodata.harmonise import code_map
from migravity.geodata.readers import load
from migravity.geodata.zones import ZoneSet

NUMERIC = ("population", "house_price", "affordability", "weekly_pay", "gdhi_per_head", "qual_l3plus",
           "workers", "wfh_workers", "jobs", "pop_census2021", "share_under20", "share_20_64",
           "share_65plus", "share_20_34", "wfh_share", "imd_score", "imd_quintile")


def _reports(ds: xr.Dataset) -> dict[str, dict]:
    return {r["dataset"]: r for r in json.loads(ds.attrs["harmonisation"])}


@pytest.mark.realdata  # its fixture comes through request.getfixturevalue
@pytest.mark.parametrize("which", ["attrs23", "attrs21"])
def test_no_missing_values(which: str, request: pytest.FixtureRequest) -> None:
    """Every numeric variable is finite for every zone, and carries source/units attributes."""
    ds = request.getfixturevalue(which)
    n = 318 if which == "attrs23" else 331
    assert ds.sizes["lad"] == n
    for var in NUMERIC:
        values = ds[var].to_numpy().astype(float)
        assert np.isfinite(values).all(), (var, ds.lad.values[~np.isfinite(values)])
        assert "units" in ds[var].attrs, var
    for var in ("population", "house_price", "weekly_pay", "workers", "jobs"):
        assert (ds[var] > 0).all(), var


def test_population_total(attrs23: xr.Dataset) -> None:
    """The 318 zones hold the mid-2023 E&W population (sum of LAD rows of the MYE file, about 61.0 m)."""
    mye = load("population_mye")
    m = mye[(mye.date == "2023") & mye.code.str[:3].isin(["E06", "E07", "E08", "E09", "W06"])]
    assert len(m) == 318
    total = attrs23.population.sum().item()
    assert total == pytest.approx(m.value.sum())
    assert total == pytest.approx(61.0e6, rel=0.01)
    national = mye[(mye.date == "2023") & mye.code.isin(["E92000001", "W92000004"])].value.sum()
    assert total == pytest.approx(national, rel=1e-6)


def test_age_shares(attrs23: xr.Dataset, attrs21: xr.Dataset) -> None:
    """The three broad age shares partition the population of every zone."""
    for ds in (attrs23, attrs21):
        total = ds.share_under20 + ds.share_20_64 + ds.share_65plus
        assert float(abs(total - 1).max()) < 0.02
        for var in ("share_under20", "share_20_64", "share_65plus", "share_20_34"):
            assert ((ds[var] > 0) & (ds[var] < 1)).all(), var


def test_imd_quintiles(attrs23: xr.Dataset) -> None:
    """Quintiles 1..5 within each nation with (nearly) equal counts; 1 is the most deprived."""
    q = attrs23.imd_quintile.to_series()
    nation = attrs23.nation.to_series()
    for name, n, sizes in (("England", 296, {59, 60}), ("Wales", 22, {4, 5})):
        counts = q[nation == name].value_counts()
        assert sorted(counts.index) == [1, 2, 3, 4, 5]
        assert counts.sum() == n and set(counts) <= sizes, counts
        score = attrs23.imd_score.to_series()[nation == name]
        assert score[q[nation == name] == 1].min() >= score[q[nation == name] == 5].max()


def test_wfh_and_gse(attrs23: xr.Dataset) -> None:
    """WFH shares lie in (0, 1) and gse flags exactly London, South East and East of England."""
    assert ((attrs23.wfh_share > 0) & (attrs23.wfh_share < 1)).all()
    np.testing.assert_allclose(attrs23.wfh_share, attrs23.wfh_workers / attrs23.workers)
    gse_regions = set(attrs23.region.values[attrs23.gse.values])
    assert gse_regions == {"E12000006", "E12000007", "E12000008"}
    assert not attrs23.gse.values[~np.isin(attrs23.region.values, list(gse_regions))].any()
    assert attrs23.attrs["zone_vintage"] == "2023" and attrs23.attrs["area"] == "EW"


def test_harmonisation_report_2023(attrs23: xr.Dataset) -> None:
    """The record lists the 2023 mergers for Census ages, 2025 renames for affordability, the Scilly fill."""
    reps = _reports(attrs23)
    merged = reps["census2021_age"]["merged"]
    assert set(merged) == {"E06000063", "E06000064", "E06000065", "E06000066"}
    assert sorted(merged["E06000063"]) == ["E07000026", "E07000028", "E07000029"]
    assert sorted(merged["E06000064"]) == ["E07000027", "E07000030", "E07000031"]
    assert sorted(merged["E06000065"]) == [f"E07000{i}" for i in range(163, 170)]
    assert sorted(merged["E06000066"]) == ["E07000187", "E07000188", "E07000189", "E07000246"]
    assert reps["affordability"]["renamed"] == {"E08000038": "E08000016", "E08000039": "E08000019"}
    assert "E06000053" in reps["qualifications"]["filled"]
    assert "qual_l3plus" in reps["qualifications"]["filled"]["E06000053"]
    assert all(not r["unmatched"] for r in reps.values())


def test_merged_values_2023(attrs23: xr.Dataset, attrs21: xr.Dataset) -> None:
    """Counts of a merged zone are the sums of its parts; a merged rate lies within its parts' range."""
    parts = ["E07000026", "E07000028", "E07000029"]
    for var in ("pop_census2021", "workers", "wfh_workers", "jobs"):
        assert attrs23[var].sel(lad="E06000063").item() == pytest.approx(attrs21[var].sel(lad=parts).sum().item())
    hp = attrs21.house_price.sel(lad=parts)  # 2023-code source split back: parent value copied
    assert np.allclose(hp, attrs23.house_price.sel(lad="E06000063").item())


def test_population_split_to_2021(attrs21: xr.Dataset, attrs23: xr.Dataset) -> None:
    """The 17 pre-2023 districts share their parent's population exactly (apportioned by Census 2021)."""
    cm = code_map("2021", "2023")
    assert len(cm.mapping) == 17
    for parent in sorted(set(cm.mapping.values())):
        kids = [k for k, v in cm.mapping.items() if v == parent]
        assert attrs21.population.sel(lad=kids).sum().item() == pytest.approx(
            attrs23.population.sel(lad=parent).item())
    assert attrs21.population.sum().item() == pytest.approx(attrs23.population.sum().item())
    reps = _reports(attrs21)
    assert set(reps["population_mye"]["split"]) == set(cm.mapping.values())


def test_zone_coordinates(attrs23: xr.Dataset, zones23: ZoneSet) -> None:
    """The Dataset is indexed by the zone codes with name, region and nation coordinates."""
    assert list(attrs23.lad.values) == list(zones23.codes)
    assert list(attrs23.region.values) == list(zones23.region_codes)
    assert list(attrs23.name.values) == list(zones23.names)
    for c in ("global", "economic", "demographic"):
        values = attrs23[f"cluster_{c}"].values
        assert set(values) <= {"", "A", "B", "C", "D"}, c
        assert (values == "").sum() <= 2, c  # ONS leaves City of London and Isles of Scilly unassigned
