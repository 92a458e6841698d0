"""Readers: malformed area codes, infinite counts, empty files, bad geometry/CRS, changed files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from migravity.errors import ChecksumError, MalformedDataError
from migravity.geodata import datadir
from migravity.geodata.readers import load, read_boundaries, read_odmg01ew, read_ts061

from .conftest import ODMG_HEADER, place

GOOD_ROWS = ("-8,Does not apply,E06000001,Hartlepool,83133\n"
             "E06000002,Middlesbrough,E06000001,Hartlepool,12\n")


@pytest.mark.parametrize(("code", "shown"), [
    ("e06000003", "'e06000003'"), (" E06000003", "' E06000003'"), ('"""E06000003"""', "'\"E06000003\"'"),
    ("", "is empty"), ("E0600003", "'E0600003'"), ("X06000003", "'X06000003'"),
])
def test_malformed_area_code_fails_naming_file_line_value(tmp_path: Path, code: str, shown: str) -> None:
    """Before: any code not starting with E/W was 'outside the study area' and vanished (exit 0). After: an error."""
    path = place(tmp_path, "odmg01ew", ODMG_HEADER + GOOD_ROWS + f"{code},Redcar,E06000001,Hartlepool,7\n")
    with pytest.raises(MalformedDataError) as e:
        read_odmg01ew(path)
    assert e.value.path == path and e.value.line == 4
    assert shown in str(e.value) and "line 4" in str(e.value) and "GSS" in str(e.value)


def test_documented_non_area_codes_still_accepted(tmp_path: Path) -> None:
    """-8 (non-movers) and 999999999 (abroad) are documented origins of ODMG01EW: kept."""
    path = place(tmp_path, "odmg01ew", ODMG_HEADER + GOOD_ROWS + "999999999,Abroad,E06000001,Hartlepool,7\n")
    df = read_odmg01ew(path)
    assert list(df.origin) == ["-8", "E06000002", "999999999"]


def test_destination_may_not_be_a_non_area_code(tmp_path: Path) -> None:
    """ODMG01EW destinations are usual residences: -8 there is an error."""
    path = place(tmp_path, "odmg01ew", ODMG_HEADER + GOOD_ROWS + "E06000002,x,-8,y,7\n")
    with pytest.raises(MalformedDataError, match="'-8'"):
        read_odmg01ew(path)


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity"])
def test_infinite_count_rejected_like_nan(tmp_path: Path, cell: str) -> None:
    """Before: inf counts passed the readers. After: an error naming the column and line."""
    path = place(tmp_path, "odmg01ew", ODMG_HEADER + GOOD_ROWS + f"E06000003,Redcar,E06000001,Hartlepool,{cell}\n")
    with pytest.raises(MalformedDataError, match="infinite") as e:
        read_odmg01ew(path)
    assert e.value.line == 4


@pytest.mark.parametrize(("text", "problem"), [("", "empty"), (ODMG_HEADER, "no data rows")])
def test_empty_and_header_only_files(tmp_path: Path, text: str, problem: str) -> None:
    """Before: an empty file crashed (EmptyDataError), a header-only one gave no flows. After: errors naming it."""
    path = place(tmp_path, "odmg01ew", text)
    with pytest.raises(MalformedDataError, match=problem) as e:
        load("odmg01ew", tmp_path)
    assert e.value.path == path and str(path) in str(e.value)


def test_census_table_code_with_space(tmp_path: Path) -> None:
    """The per-LAD Census tables refuse a padded code too."""
    from migravity.geodata.readers import CENSUS_COLUMNS

    cols = list(CENSUS_COLUMNS["read_ts061"])
    header = "lad21cd,lad21nm," + ",".join(cols) + "\n"
    row = ",".join(["10"] + ["1"] * 10 + ["0"])
    path = place(tmp_path, "census2021_ts061", header + f"E06000001,Hartlepool,{row}\nE06000002 ,Middlesbrough,{row}\n")
    with pytest.raises(MalformedDataError, match="'E06000002 '") as e:
        read_ts061(path)
    assert e.value.line == 3


# ---- boundaries ------------------------------------------------------------------------------------------

def _square(x0: float, y0: float, d: float):  # type: ignore[no-untyped-def]
    from shapely.geometry import Polygon

    return Polygon([(x0, y0), (x0 + d, y0), (x0 + d, y0 + d), (x0, y0 + d)])


def _write_boundaries(path: Path, geoms: list, crs: str) -> Path:  # type: ignore[type-arg]
    import geopandas as gpd

    codes = [f"E0600000{i + 1}" for i in range(len(geoms))]
    gdf = gpd.GeoDataFrame({"LAD23CD": codes, "LAD23NM": [f"Area {c}" for c in codes]}, geometry=geoms, crs=crs)
    gdf.to_file(path, driver="GeoJSON")
    return path


LONLAT = [_square(-1.6, 54.5, 0.1), _square(-1.2, 54.5, 0.1)]


def test_good_boundaries_load(tmp_path: Path) -> None:
    """Two squares in north-east England in lon/lat: accepted."""
    gdf = read_boundaries(_write_boundaries(tmp_path / "b.geojson", LONLAT, "EPSG:4326"))
    assert list(gdf.code) == ["E06000001", "E06000002"]


def test_swapped_lat_lon(tmp_path: Path) -> None:
    """Before: exit 0 with a wrong distance coefficient. After: one error naming the file and the CRS."""
    import shapely

    swapped = [shapely.transform(g, lambda c: c[:, ::-1]) for g in LONLAT]
    path = _write_boundaries(tmp_path / "b.geojson", swapped, "EPSG:4326")
    with pytest.raises(MalformedDataError, match="swapped") as e:
        read_boundaries(path)
    assert str(path) in str(e.value) and "EPSG:4326" in str(e.value)


def test_lonlat_labelled_british_national_grid(tmp_path: Path) -> None:
    """Before: 'border varies only by origin' deep in the model. After: the CRS is named."""
    path = _write_boundaries(tmp_path / "b.geojson", LONLAT, "EPSG:27700")
    with pytest.raises(MalformedDataError, match="EPSG:27700") as e:
        read_boundaries(path)
    assert "degrees" in str(e.value) and str(path) in str(e.value)


def test_metres_labelled_wgs84(tmp_path: Path) -> None:
    """Before: NaN distances. After: the CRS is named."""
    import geopandas as gpd

    bng = gpd.GeoSeries(LONLAT, crs="EPSG:4326").to_crs("EPSG:27700")
    path = tmp_path / "b.geojson"
    gdf = gpd.GeoDataFrame({"LAD23CD": ["E06000001", "E06000002"], "LAD23NM": ["a", "b"]},
                           geometry=list(bng), crs="EPSG:27700")
    gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(MalformedDataError, match="out of range for the geographic CRS EPSG:4326"):
        read_boundaries(path)


def test_self_intersecting_polygon(tmp_path: Path) -> None:
    """Before: a bow-tie polygon was accepted. After: named with shapely's reason."""
    from shapely.geometry import Polygon

    bowtie = Polygon([(-1.6, 54.5), (-1.5, 54.6), (-1.5, 54.5), (-1.6, 54.6)])
    path = _write_boundaries(tmp_path / "b.geojson", [LONLAT[0], bowtie], "EPSG:4326")
    with pytest.raises(MalformedDataError, match=r"E06000002 has an invalid geometry .*Self-intersection"):
        read_boundaries(path)


def test_boundaries_outside_the_uk(tmp_path: Path) -> None:
    """Coordinates valid for the CRS but nowhere near the UK are refused."""
    path = _write_boundaries(tmp_path / "b.geojson", [_square(10.0, 45.0, 0.1)], "EPSG:4326")
    with pytest.raises(MalformedDataError, match="outside the UK"):
        read_boundaries(path)


# ---- checksums -------------------------------------------------------------------------------------------

def test_changed_file_refused_unless_accepted(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a file differing from the registry was used silently. After: refused unless accepted, then recorded."""
    monkeypatch.delenv(datadir.ACCEPT_CHANGED_ENV, raising=False)
    monkeypatch.setattr(datadir, "_ACCEPTED", {})
    src = data_dir / "census2021" / "ts061_travel_to_work_lad21.csv"
    path = place(tmp_path, "census2021_ts061", src.read_bytes() + b"\n")  # one blank line more: parses the same
    with pytest.raises(ChecksumError) as e:
        load("census2021_ts061", tmp_path)
    assert e.value.dataset == "census2021_ts061" and str(path) in str(e.value)
    assert "--accept-changed-data" in str(e.value)
    assert datadir.changed_data_used() == {}
    monkeypatch.setenv(datadir.ACCEPT_CHANGED_ENV, "1")
    df = load("census2021_ts061", tmp_path)
    assert len(df) == 331 and np.isfinite(df.workers).all()
    used = datadir.changed_data_used()
    assert list(used) == ["census2021_ts061"] and used["census2021_ts061"]["path"] == str(path)


def test_real_file_with_a_lower_case_code(tmp_path: Path, data_dir: Path) -> None:
    """The real ODMG01EW with one origin code lower-cased: before, its movers vanished as 'outside the study
    area' (exit 0); after, the load fails naming the line and the value."""
    import gzip

    src = data_dir / "flows" / "ODMG01EW_LTLA.csv.gz"
    lines = gzip.decompress(src.read_bytes()).decode("utf-8-sig").splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if line.startswith("E06000001,") and i > 0)
    lines[k] = "e" + lines[k][1:]
    place(tmp_path, "odmg01ew", "".join(lines))
    with pytest.raises(MalformedDataError, match="'e06000001'") as e:
        load("odmg01ew", tmp_path)
    assert e.value.line == k + 1


def test_lookup_area_code_checked(tmp_path: Path) -> None:
    """A region lookup with a quoted-and-padded LAD code fails naming the line (other code columns are free)."""
    from migravity.geodata.readers import read_lookup

    path = place(tmp_path, "lookup_ltla23_region23",
                 "ltla23_name,ltla23_code,region23_name,region23_code\n"
                 "Hartlepool,E06000001,North East,E12000001\nMiddlesbrough,\" E06000002\",North East,E12000001\n")
    with pytest.raises(MalformedDataError, match="' E06000002'") as e:
        read_lookup(path)
    assert e.value.line == 3
