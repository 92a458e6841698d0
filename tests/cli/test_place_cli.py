"""``migravity place``: one place's profile from a small real run."""

from __future__ import annotations

import json
from pathlib import Path

import cli_helpers
import pytest

pytestmark = pytest.mark.realdata


def _place(*args: str) -> cli_helpers.CliResult:
    return cli_helpers.run(["place", *args])


def test_place_json_and_text(sample_run_dir: Path) -> None:
    res = _place("west midlands", str(sample_run_dir), "--json", "-", "--no-attributes")
    assert res.returncode == 0, res.stderr
    p = json.loads(res.stdout)
    assert p["place"]["code"] == "E47000007" and p["place"]["kind"] == "cauth"
    assert {m["name"] for m in p["members"]} == {"Birmingham", "Coventry", "Dudley", "Sandwell", "Solihull",
                                                 "Walsall", "Wolverhampton"}
    assert p["run"]["scenario"] == "wfh_uptake"
    ch = p["high_skilled"]["change"]
    assert ch["q05"] <= ch["mean"] <= ch["q95"]
    text = _place("South Yorkshire", str(sample_run_dir))
    assert text.returncode == 0, text.stderr
    assert "Sheffield" in text.stdout and "change vs baseline" in text.stdout and "median house price" in text.stdout


def test_region_kind(sample_run_dir: Path) -> None:
    res = _place("West Midlands", str(sample_run_dir), "--kind", "region", "--json", "-", "--no-attributes")
    assert res.returncode == 0, res.stderr
    p = json.loads(res.stdout)
    assert p["place"]["kind"] == "region" and p["place"]["code"] == "E12000005" and p["place"]["n_lads"] > 7
    by_code = _place("e12000005", str(sample_run_dir), "--kind", "region", "--json", "-", "--no-attributes")
    assert by_code.returncode == 0, by_code.stderr
    assert json.loads(by_code.stdout)["place"]["name"] == "West Midlands"


def test_errors(sample_run_dir: Path, tmp_path: Path) -> None:
    res = _place("Glasgow", str(sample_run_dir))
    assert res.returncode == 2 and "West Midlands" in res.stderr and "Greater Manchester" in res.stderr
    res = _place("West Midlands", str(sample_run_dir), "--kind", "county")
    assert res.returncode == 2 and "'cauth', 'region', 'user'" in res.stderr
    f = tmp_path / "groups.csv"
    f.write_text("lad,group\nE08000025,Brum\nE08000025,Other\n")
    res = _place("Brum", str(sample_run_dir), "--groups", str(f))
    assert res.returncode == 2 and "one group only" in res.stderr
    f.write_text("lad,group\nE08000025,Brum\nE08000026,Brum\n")
    res = _place("brum", str(sample_run_dir), "--groups", str(f), "--json", "-", "--no-attributes")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["place"]["n_lads"] == 2


def test_places_table(sample_run_dir: Path) -> None:
    res = cli_helpers.run(["--quiet", "places", str(sample_run_dir), "--json", "-"])
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    rows = {r["group"]: r for r in payload["places"]}
    assert payload["kind"] == "cauth" and "South Yorkshire" in rows
    one = json.loads(_place("West Midlands", str(sample_run_dir), "--json", "-", "--no-attributes").stdout)
    assert rows["West Midlands"]["change_mean"] == pytest.approx(one["high_skilled"]["change"]["mean"])
    assert rows["West Midlands"]["change_mean"] == pytest.approx(sum(m["change"]["mean"] for m in one["members"]))
    text = cli_helpers.run(["places", str(sample_run_dir), "--kind", "region"])
    assert text.returncode == 0 and "North East" in text.stdout
