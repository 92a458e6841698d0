"""Place groupings: TopoJSON decoding, combined-authority membership by overlay, regions and user groups."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import Polygon

from migravity.errors import ConfigError
from migravity.geodata.places import Grouping, cauth_grouping, read_user_groups, region_grouping
from migravity.geodata.readers import decode_topojson

WEST_MIDLANDS = {"Birmingham", "Coventry", "Dudley", "Sandwell", "Solihull", "Walsall", "Wolverhampton"}
GREATER_MANCHESTER = {"Bolton", "Bury", "Manchester", "Oldham", "Rochdale", "Salford", "Stockport", "Tameside",
                      "Trafford", "Wigan"}
SOUTH_YORKSHIRE = {"Barnsley", "Doncaster", "Rotherham", "Sheffield"}


def test_decode_topojson_delta_quantized() -> None:
    # two unit squares sharing an edge (arc 1, reversed in the second), quantized with scale 0.5
    topo = {
        "type": "Topology", "transform": {"scale": [0.5, 0.5], "translate": [10.0, 20.0]},
        "arcs": [[[0, 0], [0, 2], [2, 0]], [[2, 2], [0, -2]], [[2, 0], [-2, 0]], [[2, 2], [2, 0], [0, -2], [-2, 0]]],
        "objects": {"a": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0, 1, 2]], "properties": {"areacd": "X1"}},
            {"type": "MultiPolygon", "arcs": [[[3, ~1]]], "properties": {"areacd": "X2", "end": 2020}},
        ]}},
    }
    df = decode_topojson(topo)
    assert list(df.areacd) == ["X1", "X2"]
    assert df.geometry[0].equals(Polygon([(10, 20), (10, 21), (11, 21), (11, 20)]))
    assert df.geometry[1].area == pytest.approx(1.0)
    assert df.geometry[0].intersection(df.geometry[1]).area == pytest.approx(0.0)


def test_grouping_validates() -> None:
    with pytest.raises(ConfigError, match="one group only"):
        Grouping("user", {"a": ("E1",), "b": ("E1", "E2")})
    with pytest.raises(ConfigError, match="at least one LAD"):
        Grouping("user", {"a": ()})
    with pytest.raises(ConfigError, match="cauth, region, user"):
        Grouping("county", {"a": ("E1",)})
    g = Grouping("cauth", {"Sheffield City Region": ("E1",), "West Midlands": ("E2",)})
    assert g.resolve("  west MIDLANDS") == "West Midlands"
    assert g.resolve("South Yorkshire") == "Sheffield City Region"
    with pytest.raises(ConfigError, match="Sheffield City Region, West Midlands"):
        g.resolve("Glasgow")


@pytest.fixture(scope="module")
def cauth(zones23):  # type: ignore[no-untyped-def]
    return cauth_grouping(zones23)


def _names(zones, codes):  # type: ignore[no-untyped-def]
    names = dict(zip(zones.codes, zones.names, strict=True))
    return {names[c] for c in codes}


def test_known_combined_authorities(cauth, zones23) -> None:  # type: ignore[no-untyped-def]
    assert cauth.vintage == "2024"
    assert _names(zones23, cauth.members[cauth.resolve("West Midlands")]) == WEST_MIDLANDS
    assert _names(zones23, cauth.members[cauth.resolve("greater manchester")]) == GREATER_MANCHESTER
    sy = cauth.resolve("South Yorkshire")
    assert sy == "South Yorkshire" and cauth.codes[sy] == "E47000002"
    assert _names(zones23, cauth.members[sy]) == SOUTH_YORKSHIRE


@pytest.mark.parametrize("year", range(2014, 2026))
def test_every_authority_every_year(zones23, year: int) -> None:  # type: ignore[no-untyped-def]
    from migravity.geodata.readers import load

    areas = load("admin_boundaries_bsc")
    ca = areas[(areas.layer == "cauth") & areas.code.str.startswith("E47") & (areas.start <= year)
               & (areas.end >= year)]
    g = cauth_grouping(zones23, year)
    assert sorted(g.codes.values()) == sorted(ca.code)  # every authority of the year, each non-empty
    lads = [c for m in g.members.values() for c in m]
    assert len(lads) == len(set(lads))  # disjoint
    assert set(lads) <= set(zones23.codes)
    assert all(c.startswith("E") for c in lads)
    # the members tile the authority: their areas add up to the authority's (same BSC geometries)
    bng = areas.to_crs(27700)
    ltla = bng[(bng.layer == "ltla") & (bng.start <= 2024) & (bng.end >= 2024)].set_index("code")
    for name, members in g.members.items():
        ca_area = bng[(bng.layer == "cauth") & (bng.code == g.codes[name]) & (bng.start <= year)
                      & (bng.end >= year)].area.sum()
        assert ltla.loc[list(members)].area.sum() == pytest.approx(ca_area, rel=0.01), name


def test_cauth_year_checked(zones23) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="2014 to 2025"):
        cauth_grouping(zones23, 2030)


def test_cauth_on_2021_codes(zones21) -> None:  # type: ignore[no-untyped-def]
    g = cauth_grouping(zones21)
    assert g.vintage == "2022"
    assert _names(zones21, g.members["West Midlands"]) == WEST_MIDLANDS
    assert set(g.members) == {"Greater Manchester", "South Yorkshire", "West Yorkshire", "Liverpool City Region",
                              "North East", "North of Tyne", "Tees Valley", "West Midlands",
                              "Cambridgeshire and Peterborough", "West of England"}


def test_regions(zones23) -> None:  # type: ignore[no-untyped-def]
    g = region_grouping(zones23)
    assert g.resolve("west midlands") == "West Midlands"
    assert sum(len(m) for m in g.members.values()) == len(zones23)
    assert len(g.members) == 10


def test_user_groups(tmp_path: Path, zones23) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "g.csv"
    f.write_text("lad,group\nE08000025,Brum\nE08000026,Brum\nE08000019,Sheff\n")
    g = read_user_groups(f, zones23)
    assert g.members == {"Brum": ("E08000025", "E08000026"), "Sheff": ("E08000019",)}
    with pytest.raises(ConfigError, match="Brum, Sheff"):
        g.resolve("Glasgow")
    f.write_text("lad,group\nE08000025,Brum\nE08000025,Other\n")
    with pytest.raises(ConfigError, match=r"E08000025 in Brum and Other.*one group only"):
        read_user_groups(f, zones23)
    f.write_text("lad,group\nS12000049,Glasgow\n")
    with pytest.raises(ConfigError, match="not a LAD of the run"):
        read_user_groups(f, zones23)
    with pytest.raises(ConfigError, match="no such file"):
        read_user_groups(tmp_path / "missing.csv", zones23)
