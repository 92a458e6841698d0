"""Bad data directories and files: missing, ragged, negative or NaN counts, duplicates, no CRS."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from migravity.errors import DataMissingError, HarmonisationError, InputError, MalformedDataError
from migravity.geodata.readers import load, read_boundaries
from migravity.geodata.registry import REGISTRY
from migravity.geodata.zones import load_zones

ODMG_HEADER = ("Migrant LTLA one year ago code,Migrant LTLA one year ago label,"
               "Lower tier local authorities code,Lower tier local authorities label,Count\n")


def _place(data_dir: Path, dataset: str, text: str | None = None, source: Path | None = None) -> Path:
    """Write ``text`` (gzipped if the registered name ends in .gz) or copy ``source`` under the registered name."""
    path = data_dir / REGISTRY[dataset].filename
    path.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copyfile(source, path)
    elif path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text or "")
    else:
        path.write_text(text or "", encoding="utf-8")
    return path


def test_missing_file(tmp_path: Path) -> None:
    """A missing file raises DataMissingError naming the dataset, the expected path and the fetch command."""
    with pytest.raises(DataMissingError) as e:
        load("odmg01ew", tmp_path)
    expected = tmp_path / REGISTRY["odmg01ew"].filename
    assert e.value.dataset == "odmg01ew" and e.value.path == expected
    msg = str(e.value)
    assert "'odmg01ew'" in msg and str(expected) in msg
    assert "migravity" in msg and "data fetch odmg01ew" in msg
    assert isinstance(e.value, InputError)


def test_missing_lookup_for_zones(tmp_path: Path, data_dir: Path) -> None:
    """Boundaries without their region lookup: the error names the lookup dataset."""
    _place(tmp_path, "lad_boundaries_2024", source=data_dir / REGISTRY["lad_boundaries_2024"].filename)
    with pytest.raises(DataMissingError, match="lookup_ltla23_region23"):
        load_zones("2023", "EW", tmp_path)


def test_ragged_csv(tmp_path: Path) -> None:
    """A row with too many fields raises MalformedDataError with the file and the line."""
    body = ODMG_HEADER + "-8,Does not apply,E06000001,Hartlepool,83133\nE06000002,x,E06000001,y,5,EXTRA\n"
    path = _place(tmp_path, "odmg01ew", body)
    with pytest.raises(MalformedDataError) as e:
        load("odmg01ew", tmp_path)
    assert e.value.path == path and e.value.line == 3
    assert str(path) in str(e.value) and "line 3" in str(e.value)


def test_missing_column(tmp_path: Path) -> None:
    """A file without a required column names the missing column."""
    _place(tmp_path, "odmg01ew", "origin,destination,Count\nE06000001,E06000002,4\n")
    with pytest.raises(MalformedDataError, match="missing column"):
        load("odmg01ew", tmp_path)


@pytest.mark.parametrize(("cell", "problem"), [("-5", "negative"), ("", "empty"), ("many", "non-numeric")])
def test_bad_counts(tmp_path: Path, cell: str, problem: str) -> None:
    """Negative, missing or non-numeric counts raise naming the column and the line."""
    body = (ODMG_HEADER + "-8,Does not apply,E06000001,Hartlepool,83133\n"
            "E06000002,Middlesbrough,E06000001,Hartlepool,12\n"
            f"E06000003,Redcar,E06000001,Hartlepool,{cell}\n")
    path = _place(tmp_path, "odmg01ew", body)
    with pytest.raises(MalformedDataError) as e:
        load("odmg01ew", tmp_path)
    assert e.value.line == 4 and e.value.path == path
    msg = str(e.value)
    assert "'Count'" in msg and problem in msg and "line 4" in msg


def test_duplicate_od_pair(tmp_path: Path) -> None:
    """A repeated origin-destination pair is refused."""
    body = (ODMG_HEADER + "E06000002,a,E06000001,b,12\n" + "E06000003,a,E06000001,b,1\n"
            + "E06000002,a,E06000001,b,3\n")
    _place(tmp_path, "odmg01ew", body)
    with pytest.raises(MalformedDataError, match="duplicate key") as e:
        load("odmg01ew", tmp_path)
    assert e.value.line == 4


def test_duplicate_imd_code(tmp_path: Path) -> None:
    """A deprivation file listing one LAD twice is refused, naming the code and line."""
    _place(tmp_path, "imd2019_england_ltla23", "ltla23_code,Score\nE06000001,35.0\nE06000002,40.1\nE06000001,9\n")
    with pytest.raises(MalformedDataError, match="E06000001") as e:
        load("imd2019_england_ltla23", tmp_path)
    assert e.value.line == 4


def test_duplicate_region_lookup(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A region lookup listing one LAD twice is refused when building zones."""
    monkeypatch.setenv("MIGRAVITY_ACCEPT_CHANGED_DATA", "1")  # an edited registered file, on purpose
    _place(tmp_path, "lad_boundaries_2024", source=data_dir / REGISTRY["lad_boundaries_2024"].filename)
    real = (data_dir / REGISTRY["lookup_ltla23_region23"].filename).read_text(encoding="utf-8").splitlines()
    _place(tmp_path, "lookup_ltla23_region23", "\n".join([*real, real[1].replace("North East", "London")]) + "\n")
    with pytest.raises(MalformedDataError, match="E06000001") as e:
        load_zones("2023", "EW", tmp_path)
    assert e.value.line == len(real) + 1


def test_region_lookup_missing_a_lad(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An English LAD absent from the region lookup is a HarmonisationError naming it."""
    monkeypatch.setenv("MIGRAVITY_ACCEPT_CHANGED_DATA", "1")  # an edited registered file, on purpose
    _place(tmp_path, "lad_boundaries_2024", source=data_dir / REGISTRY["lad_boundaries_2024"].filename)
    real = (data_dir / REGISTRY["lookup_ltla23_region23"].filename).read_text(encoding="utf-8").splitlines()
    _place(tmp_path, "lookup_ltla23_region23", "\n".join(r for r in real if ",E06000001," not in r) + "\n")
    with pytest.raises(HarmonisationError, match="E06000001"):
        load_zones("2023", "EW", tmp_path)


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_boundaries_without_crs(tmp_path: Path) -> None:
    """A vector file without a CRS is refused (no guessing of coordinates)."""
    import geopandas as gpd
    from shapely.geometry import box

    gdf = gpd.GeoDataFrame({"LAD23CD": ["E06000001"], "LAD23NM": ["Hartlepool"]}, geometry=[box(0, 0, 1, 1)])
    path = tmp_path / "no_crs.shp"
    gdf.to_file(path)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(MalformedDataError, match="no CRS") as e:
        read_boundaries(path)
    assert e.value.path == path


def test_boundaries_without_code_columns(tmp_path: Path) -> None:
    """A vector file without LADyyCD/LADyyNM columns is refused."""
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"code": ["E06000001"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:27700").to_file(path)
    with pytest.raises(MalformedDataError, match="LADyyCD"):
        read_boundaries(path)


def test_unreadable_vector_file(tmp_path: Path) -> None:
    """A file that is not a vector dataset raises MalformedDataError, not a library error."""
    path = _place(tmp_path, "lad_boundaries_2024", "this is not geojson")
    with pytest.raises(MalformedDataError, match="cannot read vector file"):
        load("lad_boundaries_2024", tmp_path)
    assert path.is_file()
