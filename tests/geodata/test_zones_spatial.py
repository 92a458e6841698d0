"""Zone sets, distances and contiguity on the real ONS boundaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from migravity.errors import ConfigError
from migravity.geodata.spatial import centroids_m, contiguity_matrix, distance_matrix
from migravity.geodata.zones import GSE_REGIONS, ZoneSet, load_zones


@pytest.fixture(scope="module")
def border23(zones23: ZoneSet):
    """Contiguity on the 2023 England and Wales zones."""
    return contiguity_matrix(zones23)


@pytest.fixture(scope="module")
def dist23(zones23: ZoneSet):
    """Distances on the 2023 England and Wales zones."""
    return distance_matrix(zones23)


@pytest.mark.parametrize(("vintage", "area", "n"), [
    ("2023", "EW", 318), ("2021", "EW", 331), ("2023", "UK", 361), ("2021", "UK", 374),
    ("2023", "England", 296), ("2023", "Wales", 22), ("2021", "GB", 363),
])
def test_zone_counts(vintage: str, area: str, n: int, data_dir: Path) -> None:
    """Each study area has the official number of LADs, sorted, unique, in BNG, with a region each."""
    z = load_zones(vintage, area, data_dir)
    assert len(z) == n
    assert list(z.codes) == sorted(set(z.codes))
    assert z.geometry.crs.to_epsg() == 27700
    assert list(z.geometry.index) == list(z.codes)
    assert all(isinstance(r, str) and r for r in z.region_codes)
    assert all(isinstance(r, str) and r for r in z.region_names)
    assert len(z.names) == len(z.nations) == len(z.region_codes) == n


def test_zone_regions_and_nations(zones23: ZoneSet) -> None:
    """Wales zones sit in region W92000004; English ones in one of the nine E12 regions."""
    for code, region, nation in zip(zones23.codes, zones23.region_codes, zones23.nations, strict=True):
        if code.startswith("W"):
            assert region == "W92000004" and nation == "Wales"
        else:
            assert region.startswith("E12") and nation == "England"
    assert len({r for r in zones23.region_codes if r.startswith("E12")}) == 9
    gse = zones23.gse
    assert gse.dtype == bool
    assert {r for r, g in zip(zones23.region_codes, gse, strict=True) if g} == set(GSE_REGIONS)
    assert zones23.position("E06000023") == zones23.codes.index("E06000023")
    with pytest.raises(KeyError, match="E99999999"):
        zones23.position("E99999999")
    frame = zones23.frame()
    assert len(frame) == 318 and frame.crs.to_epsg() == 27700
    assert list(zones23.index) == list(zones23.codes) and zones23.index.name == "lad"


def test_vintage_2021_has_pre_merger_districts(zones21: ZoneSet, zones23: ZoneSet) -> None:
    """2021 codes hold the 17 districts merged in 2023; 2023 codes hold their 4 unitary successors."""
    old = {"E07000026", "E07000027", "E07000028", "E07000029", "E07000030", "E07000031",
           *(f"E07000{i}" for i in range(163, 170)), "E07000187", "E07000188", "E07000189", "E07000246"}
    new = {"E06000063", "E06000064", "E06000065", "E06000066"}
    assert old <= set(zones21.codes) and not old & set(zones23.codes)
    assert new <= set(zones23.codes) and not new & set(zones21.codes)
    assert set(zones21.codes) - old == set(zones23.codes) - new


@pytest.mark.parametrize(("field", "kwargs"), [("vintage", {"vintage": "2022"}), ("area", {"area": "Europe"})])
def test_load_zones_bad_choice(field: str, kwargs: dict, data_dir: Path) -> None:
    """An unknown vintage or area raises ConfigError naming the field and the allowed values."""
    with pytest.raises(ConfigError) as e:
        load_zones(data_dir=data_dir, **kwargs)
    assert e.value.field == field
    msg = str(e.value)
    assert field in msg and "use one of" in msg
    assert ("'2023'" in msg and "'2021'" in msg) if field == "vintage" else ("'EW'" in msg and "'UK'" in msg)


def test_contiguity_known_pairs(border23) -> None:
    """Bristol borders South Gloucestershire; islands have no land neighbour."""
    assert border23.sel(origin="E06000023", destination="E06000025").item() == 1
    assert border23.sel(origin="E06000046").sum().item() == 0  # Isle of Wight
    assert border23.sel(origin="E06000053").sum().item() == 0  # Isles of Scilly
    assert border23.sel(origin="E09000001", destination="E09000033").item() == 1  # City / Westminster


def test_contiguity_structure(border23, zones23: ZoneSet) -> None:
    """The matrix is symmetric 0/1 with a zero diagonal; only the three islands lack a neighbour."""
    w = border23.to_numpy()
    assert w.shape == (318, 318) and w.dtype == np.int8
    assert set(np.unique(w)) == {0, 1}
    assert (w == w.T).all()
    assert (np.diag(w) == 0).all()
    lonely = [zones23.codes[i] for i in np.flatnonzero(w.sum(axis=1) == 0)]
    assert lonely == ["E06000046", "E06000053", "W06000001"]
    assert list(border23.origin.values) == list(zones23.codes)


def test_distance_manchester_birmingham(dist23) -> None:
    """Manchester to Birmingham centroids are about 110 km apart."""
    d = dist23.sel(origin="E08000003", destination="E08000025").item()
    assert d == pytest.approx(110.0, rel=0.05)
    assert dist23.attrs["units"] == "km"


def test_distance_structure(dist23, zones23: ZoneSet) -> None:
    """Distances are symmetric and positive; the diagonal is the mean distance within a disc of equal area."""
    d = dist23.to_numpy()
    assert (d == d.T).all()
    assert (d > 0).all()
    area_km2 = zones23.geometry.area.to_numpy() / 1e6
    np.testing.assert_allclose(np.diag(d), 128 / (45 * np.pi) * np.sqrt(area_km2 / np.pi), rtol=1e-12)
    xy = centroids_m(zones23)
    assert xy.shape == (318, 2)
    assert (xy[:, 0] > 0).all() and (xy[:, 0] < 700_000).all() and (xy[:, 1] > 0).all()
    i, j = zones23.position("E06000023"), zones23.position("E08000003")
    assert d[i, j] == pytest.approx(np.hypot(*(xy[i] - xy[j])) / 1000)
