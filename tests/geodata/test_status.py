"""``migravity.geodata.status``: present, missing and corrupted datasets, and row counts."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from migravity.geodata.registry import DATASETS, REGISTRY
from migravity.geodata.status import DatasetStatus, count_rows, dataset_status, sha256_file


def test_real_data_directory(data_dir: Path) -> None:
    status = dataset_status(data_dir)
    assert [s.name for s in status] == [d.name for d in DATASETS]
    by_name = {s.name: s for s in status}
    assert all(s.status == "present" for s in status), [s for s in status if s.status != "present"]
    assert by_name["odmg01ew"].rows == 96_468
    assert by_name["lad_boundaries_2024"].rows == 361
    assert by_name["lad_boundaries_2021"].rows == 374
    for s, d in zip(status, DATASETS, strict=True):
        assert s.path == data_dir / d.filename
        assert (s.vintage, s.coverage) == (d.vintage, d.coverage)
        assert isinstance(s.rows, int) and s.rows > 0


def test_default_data_dir_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRAVITY_DATA", str(tmp_path))
    assert dataset_status()[0].path == tmp_path / DATASETS[0].filename


def test_empty_directory_all_missing(tmp_path: Path) -> None:
    status = dataset_status(tmp_path)
    assert len(status) == len(DATASETS)
    assert {(s.status, s.rows) for s in status} == {("missing", None)}


def test_checksum_mismatch_still_counts_rows(data_dir: Path, tmp_path: Path) -> None:
    ds = REGISTRY["la_clusters"]
    target = tmp_path / ds.filename
    target.parent.mkdir(parents=True)
    target.write_bytes((data_dir / ds.filename).read_bytes() + b"E06999999,Nowhere,x,y\n")
    by_name = {s.name: s for s in dataset_status(tmp_path)}
    assert by_name["la_clusters"].status == "checksum mismatch"
    assert by_name["la_clusters"].rows == 361 + 1


def test_as_dict_is_json(data_dir: Path) -> None:
    s = dataset_status(data_dir)[0]
    d = s.as_dict()
    assert d == {
        "name": s.name, "status": s.status, "rows": s.rows, "vintage": s.vintage,
        "coverage": s.coverage, "path": str(s.path),
    }
    assert json.loads(json.dumps(d)) == d
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.rows = 0  # type: ignore[misc]


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"abc" * 1_000_000)
    assert sha256_file(p) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


CSV_TEXT = (
    'code,name,value\r\n'
    'E1,"Bristol, City of",1\r\n'
    'E2,"Two\nlines",2\r\n'
    '\r\n'
    'E3,"Say ""hi""",3\r\n'
)


def test_count_rows_csv_quoted_fields(tmp_path: Path) -> None:
    plain = tmp_path / "t.csv"
    plain.write_bytes(CSV_TEXT.encode())
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(CSV_TEXT.encode()))
    assert count_rows(plain) == 3
    assert count_rows(packed) == 3
    header_only = tmp_path / "h.csv"
    header_only.write_text("a,b\n")
    assert count_rows(header_only) == 0


def test_count_rows_geojson(tmp_path: Path) -> None:
    feature = {"type": "Feature", "properties": {"code": "E1"},
               "geometry": {"type": "Point", "coordinates": [0.0, 51.0]}}
    p = tmp_path / "t.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [feature] * 3}))
    assert count_rows(p) == 3


def test_count_rows_unreadable(tmp_path: Path) -> None:
    bad_gz = tmp_path / "bad.csv.gz"
    bad_gz.write_bytes(b"not gzip at all")
    bad_json = tmp_path / "bad.geojson"
    bad_json.write_text("{not json")
    other = tmp_path / "x.parquet"
    other.write_bytes(b"PAR1")
    assert count_rows(bad_gz) is None
    assert count_rows(bad_json) is None
    assert count_rows(other) is None


def test_status_is_a_frozen_dataclass() -> None:
    assert dataclasses.is_dataclass(DatasetStatus)
    assert [f.name for f in dataclasses.fields(DatasetStatus)] == [
        "name", "status", "rows", "vintage", "coverage", "path",
    ]
