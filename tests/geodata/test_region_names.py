"""Region names accepted wherever region codes are: one resolver (geodata.zones.resolve_region)."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from migravity.errors import ConfigError
from migravity.geodata.places import region_grouping
from migravity.geodata.zones import BNG, REGIONS, ZoneSet, resolve_region, zones_in_regions
from migravity.scenarios.spec import scenario_from_dict


def synthetic_zones() -> ZoneSet:
    """Two zones in the North East, two in London (10 km squares)."""
    codes = ("E06000001", "E06000002", "E09000001", "E09000002")
    geometry = gpd.GeoSeries([box(420000 + 10000 * i, 560000, 430000 + 10000 * i, 570000) for i in range(4)],
                             index=list(codes), crs=BNG)
    return ZoneSet(vintage="2023", area="EW", codes=codes, names=("A", "B", "C", "D"),
                   region_codes=("E12000001",) * 2 + ("E12000007",) * 2,
                   region_names=("North East",) * 2 + ("London",) * 2, nations=("E",) * 4, geometry=geometry)


@pytest.mark.parametrize(("value", "code"), [
    ("London", "E12000007"), ("london", "E12000007"), ("South East", "E12000008"), ("  south   EAST ", "E12000008"),
    ("E12000007", "E12000007"), ("e12000002", "E12000002"), ("Yorkshire and the Humber", "E12000003"),
    ("East", "E12000006"), ("Wales", "W92000004"),
])
def test_resolve_region(value: str, code: str) -> None:
    assert resolve_region(value) == code


def test_unknown_region_is_one_line_listing_names() -> None:
    with pytest.raises(ConfigError) as exc:
        resolve_region("Mordor", "--region")
    msg = str(exc.value)
    assert "\n" not in msg and "--region" in msg and "Mordor" in msg
    assert all(name in msg for name in REGIONS.values())


def test_scenario_file_regions_by_name() -> None:
    sc = scenario_from_dict({"house_prices": [{"pct": 5, "regions": ["London", "south east"]}],
                             "wfh": [{"class": "never", "factor": 0.5, "regions": ["North West"]}]}, name="t")
    assert sc.house_prices[0].regions == ("E12000007", "E12000008")
    assert sc.wfh[0].regions == ("E12000002",)
    with pytest.raises(ConfigError, match=r"house_prices\[0\]\.regions"):
        scenario_from_dict({"house_prices": [{"pct": 5, "regions": ["Londn"]}]}, name="t")


def test_zones_in_regions_and_place_by_code() -> None:
    zones = synthetic_zones()
    london = zones_in_regions(zones, ["london"])
    assert london.codes == ("E09000001", "E09000002") and len(london.geometry) == 2
    assert zones_in_regions(zones, ["London", "E12000001"]).codes == zones.codes
    with pytest.raises(ConfigError, match="North East, London"):
        zones_in_regions(zones, ["Wales"])
    grouping = region_grouping(zones)
    assert grouping.resolve("E12000007") == grouping.resolve("LONDON") == "London"
