"""The two stylised facts and the calibration pair table, on the real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from migravity.analysis.facts import deprivation_flow_matrix, wfh_share_by_region
from migravity.geodata.flows import load_flows
from migravity.geodata.odtable import DEFAULT_PAIR_ATTRIBUTES, od_table
from migravity.geodata.zones import ZoneSet, load_zones

pytestmark = pytest.mark.realdata  # the fixtures read the default data directory


@pytest.fixture(scope="module")
def deprivation() -> pd.DataFrame:
    """Fact 1: migrants by IMD quintile of origin and destination."""
    return deprivation_flow_matrix()


@pytest.fixture(scope="module")
def wfh() -> pd.DataFrame:
    """Fact 2: working from home by region."""
    return wfh_share_by_region()


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """The default pair table (Census 2021 migration on 2021 codes, E&W)."""
    return od_table()


def test_deprivation_matrix(deprivation: pd.DataFrame) -> None:
    """5x5, totals England's inter-LAD migrants, and the most deprived send ~4x more to their like."""
    assert deprivation.shape == (5, 5)
    assert list(deprivation.index) == [1, 2, 3, 4, 5] and list(deprivation.columns) == [1, 2, 3, 4, 5]
    f = load_flows("migration2021", load_zones("2023", "England")).to_numpy()
    assert deprivation.to_numpy().sum() == pytest.approx(f.sum() - np.trace(f))
    assert (deprivation.to_numpy() > 0).all()
    ratio = deprivation.loc[1, 1] / deprivation.loc[1, 5]
    assert 3.5 < ratio < 5
    # like-to-like flows dominate at both extremes
    assert deprivation.loc[5, 5] == deprivation.loc[5].max()
    assert deprivation.loc[1, 1] == deprivation.loc[1].max()


def test_wfh_by_region(wfh: pd.DataFrame) -> None:
    """London works from home more than the rest of E&W; the E&W total is 27,773,528 workers."""
    assert wfh.loc["England and Wales", "workers"] == 27_773_528
    assert wfh.loc["London", "share"] > wfh.loc["Rest of England and Wales", "share"]
    assert wfh.loc["Greater South East", "share"] > wfh.loc["Rest of England and Wales", "share"]
    regions = wfh.drop(index=["Greater South East", "Rest of England and Wales", "England and Wales"])
    assert len(regions) == 10 and "Wales" in regions.index
    assert regions.workers.sum() == wfh.loc["England and Wales", "workers"]
    assert regions.share.idxmax() == "London"
    assert ((wfh.share > 0) & (wfh.share < 1)).all()
    gse_workers = wfh.loc[["London", "South East", "East of England"], "workers"].sum()
    assert wfh.loc["Greater South East", "workers"] == gse_workers


def test_od_table_default(table: pd.DataFrame) -> None:
    """331*330 inter-zone pairs, no NaN, 0/1 border, positive distances, 2,752,607 movers."""
    assert len(table) == 331 * 330 == 109_230
    assert not table.isna().any().any()
    assert set(table.border.unique()) == {0, 1}
    assert (table.distance_km > 0).all()
    assert table.flow.sum() == 2_752_607
    assert (table.origin != table.destination).all()
    assert not table.duplicated(["origin", "destination"]).any()
    expected = ["origin", "destination", "flow", "distance_km", "border",
                *(f"{e}_{v}" for v in DEFAULT_PAIR_ATTRIBUTES for e in ("o", "d"))]
    assert list(table.columns) == expected
    row = table[(table.origin == "E06000023") & (table.destination == "E06000025")].iloc[0]
    assert row.flow == 6_253 and row.border == 1


def test_od_table_from_loaded_inputs(zones21: ZoneSet, mig21_on21: xr.DataArray, attrs21: xr.Dataset,
                                     table: pd.DataFrame) -> None:
    """Passing loaded flows and attributes gives the same table; the diagonal can be kept."""
    full = od_table(zones21, flows=mig21_on21, attributes=attrs21, include_diagonal=True)
    assert len(full) == 331 * 331
    assert full.flow.sum() == mig21_on21.to_numpy().sum()
    inter = full[full.origin != full.destination].reset_index(drop=True)
    pd.testing.assert_frame_equal(inter, table.reset_index(drop=True))
    bare = od_table(zones21, flows=mig21_on21, attribute_vars=())
    assert list(bare.columns) == ["origin", "destination", "flow", "distance_km", "border"]
