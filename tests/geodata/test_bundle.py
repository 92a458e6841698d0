"""The shipped data bundle: provenance, resolution order, integrity, and equality with the raw files.

The data-free tests use the bundle in the package (no data directory at all: ``MIGRAVITY_DATA`` unset and
an empty per-user cache); the real-data ones compare it with the raw files of ``../shared/data``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cli_helpers
import pandas as pd
import pytest
import shapely

from migravity.errors import DataMissingError, MalformedDataError
from migravity.geodata import bundle, datadir
from migravity.geodata.bundle import BUNDLE_PATH, BUNDLED, bundle_manifest, read_bundled
from migravity.geodata.readers import load
from migravity.geodata.registry import REGISTRY


@pytest.fixture
def no_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No explicit data directory and an empty per-user cache: what a fresh machine has."""
    monkeypatch.delenv("MIGRAVITY_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datadir, "_USED", {})
    return tmp_path


def test_manifest_provenance_and_attribution() -> None:
    m = bundle_manifest()
    assert m is not None and m["version"] == bundle.BUNDLE_VERSION and m["format"] == bundle.FORMAT
    assert list(m["datasets"]) == list(BUNDLED)
    text = " ".join(m["attribution"])
    assert "Open Government Licence v3.0" in text and "Contains OS data © Crown copyright and database right" in text
    for name, entry in m["datasets"].items():
        src, ds = entry["source"], REGISTRY[name]
        assert src["file_sha256"] == ds.sha256 and src["file"] == ds.filename
        assert src["publisher"] and src["landing_page"].startswith("https://") and src["bytes_from"]
        assert src["licence"].startswith("Open Government Licence v3.0") and src["vintage"] == ds.vintage
        assert entry["rows"] > 0 and len(entry["sha256"]) == 64
    assert m["datasets"]["admin_boundaries_bsc"]["subset"]  # a declared subset, never a silent one
    assert BUNDLE_PATH.stat().st_size < 5e6  # a few MB in the wheel


def test_zip_is_deterministic_container() -> None:
    """No build time, no machine detail: fixed dates, sorted members after the manifest."""
    with zipfile.ZipFile(BUNDLE_PATH) as zf:
        infos = zf.infolist()
    assert infos[0].filename == "manifest.json"
    assert [i.filename for i in infos[1:]] == sorted(i.filename for i in infos[1:])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert all(i.compress_type == zipfile.ZIP_LZMA for i in infos)


def test_default_resolution_uses_bundle(no_data_dir: Path) -> None:
    assert datadir.data_source("odmg01ew") == datadir.BUNDLE
    df = load("odmg01ew")
    assert list(df.columns) == ["origin", "destination", "count"] and len(df) == 96_468
    assert datadir.data_sources_used() == {"odmg01ew": f"bundle {bundle.BUNDLE_VERSION}"}
    zones = load("lad_boundaries_2024")
    assert zones.crs.to_epsg() == 4326 and zones.geometry.is_valid.all() and len(zones) == 361


def test_cache_raw_file_wins_over_bundle(no_data_dir: Path) -> None:
    """A raw file in the per-user cache (``data fetch``) is used where present, and recorded."""
    ds = REGISTRY["wimd2019"]
    cache = datadir.resolve_data_dir()
    assert str(cache).startswith(str(no_data_dir))
    target = cache / ds.filename
    target.parent.mkdir(parents=True)
    target.write_text("not the registered file\n")
    assert datadir.data_source("wimd2019") == target
    with pytest.raises((MalformedDataError, Exception)):
        load("wimd2019")  # the raw file is read (and refused), never silently replaced by the bundle


def test_explicit_data_dir_never_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRAVITY_DATA", str(tmp_path))
    with pytest.raises(DataMissingError) as info:
        load("odmg01ew")
    message = str(info.value)
    assert str(tmp_path) in message and "bundle" in message and "\n" not in message
    with pytest.raises(DataMissingError):
        load("odmg01ew", tmp_path / "other")


def test_dataset_outside_bundle_is_missing(no_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset the bundle does not carry (the MSOA files, say) is missing, with how to get it."""
    assert not bundle.bundled("no_such_dataset")
    monkeypatch.setattr(bundle, "bundled", lambda name, path=BUNDLE_PATH: name != "simd2020")
    with pytest.raises(DataMissingError, match="simd2020"):
        load("simd2020")


def test_corrupt_member_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bundle.zip"
    with zipfile.ZipFile(BUNDLE_PATH) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_LZMA) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "wimd2019.csv":
                data = data.replace(b"W06000001", b"W06000099", 1)
            dst.writestr(info, data)
    with pytest.raises(MalformedDataError, match=r"wimd2019.*corrupt"):
        read_bundled("wimd2019", bad)
    assert len(read_bundled("la_clusters", bad)) == 361  # the intact members still read


def test_not_a_bundle(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(MalformedDataError, match="not a readable migravity data bundle"):
        read_bundled("wimd2019", junk)


def test_read_returns_copies(no_data_dir: Path) -> None:
    a = read_bundled("wimd2019")
    a.iloc[0, 0] = "changed"
    assert read_bundled("wimd2019").iloc[0, 0] != "changed"


def test_status_says_bundle(no_data_dir: Path) -> None:
    from migravity.geodata.status import dataset_status, source_summary

    rows = {r.name: r for r in dataset_status()}
    assert rows["odmg01ew"].status == "bundle" and rows["odmg01ew"].path == BUNDLE_PATH
    assert rows["odmg01ew"].rows == 96_468
    assert all(r.status == "bundle" for r in rows.values() if r.name in BUNDLED)
    assert "shipped bundle" in source_summary() and bundle.BUNDLE_VERSION in source_summary()
    assert "no bundle fallback" in source_summary(no_data_dir)


def test_cli_status_and_facts_on_bundle(no_data_dir: Path) -> None:
    """With no data directory the CLI runs on the bundle and says so."""
    env = {"MIGRAVITY_DATA": None, "XDG_CACHE_HOME": str(no_data_dir / "cache")}
    res = cli_helpers.run(["data", "status"], env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("data: the shipped bundle") and " bundle " in res.stdout
    res = cli_helpers.run(["data", "facts", "--json", "-"], env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["wfh_by_region"]["regions"]["England and Wales"]["workers"] == 27_773_528


def test_cli_fetch_lists_manual_files_once(no_data_dir: Path) -> None:
    env = {"MIGRAVITY_DATA": None, "XDG_CACHE_HOME": str(no_data_dir / "cache")}
    res = cli_helpers.run(["data", "fetch", "commute2011", "simd2020"], env=env)
    assert res.returncode == 0, res.stderr
    assert "no address serves the exact bytes of these 2 files" in res.stdout
    assert "the shipped bundle covers 2" in res.stdout
    assert REGISTRY["commute2011"].landing_page in res.stdout


def test_cli_bundle_needs_raw_directory(no_data_dir: Path) -> None:
    res = cli_helpers.run(["data", "bundle"], env={"MIGRAVITY_DATA": None, "XDG_CACHE_HOME": str(no_data_dir)})
    assert res.returncode == 2 and "--data-dir" in res.stderr


# ---- against the raw files ----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundle_equals_raw_reader_output(name: str, data_dir: Path) -> None:
    """Every frame, cell for cell and vertex for vertex, as the reader returns it from the raw file."""
    raw = load(name, data_dir)
    got = read_bundled(name)
    if name == "admin_boundaries_bsc":
        raw = raw[raw.layer.isin(bundle._TOPO_OBJECTS)].reset_index(drop=True)
    assert type(got) is type(raw)
    if hasattr(raw, "geometry"):
        assert got.crs == raw.crs and got.geometry.name == raw.geometry.name
        assert [shapely.to_wkb(g) for g in got.geometry] == [shapely.to_wkb(g) for g in raw.geometry]
        raw, got = pd.DataFrame(raw.drop(columns=raw.geometry.name)), pd.DataFrame(got.drop(columns="geometry"))
    pd.testing.assert_frame_equal(got, raw, check_exact=True)


def test_rebuild_equals_shipped(data_dir: Path, tmp_path: Path) -> None:
    """``data bundle --out`` from the raw files gives the shipped bundle's members (deterministic build)."""
    out = tmp_path / "rebuilt.zip"
    res = cli_helpers.run(["-q", "--data-dir", str(data_dir), "data", "bundle", "--out", str(out)])
    assert res.returncode == 0, res.stderr
    assert bundle._zip_contents(out) == bundle._zip_contents(BUNDLE_PATH)
