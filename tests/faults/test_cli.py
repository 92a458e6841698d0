"""Options, output paths, seeds and memory needs checked before any data loading; exit codes; strict JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migravity.cli import main

HEADER = "origin,destination,flow,distance_km\n"
ROWS = "A,B,5,10\nA,C,3,20\nB,A,4,10\nB,C,0,15\nC,A,2,20\nC,B,6,15\n"


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main(args)
    return int(e.value.code), capsys.readouterr().err


@pytest.fixture
def empty_data(tmp_path: Path) -> Path:
    """A data directory with no files: any command that loads data before validating fails on a dataset."""
    d = tmp_path / "empty_data"
    d.mkdir()
    return d


def _run(empty_data: Path, *args: str) -> list[str]:
    return ["--data-dir", str(empty_data), "run", "baseline", *args]


def test_seed_above_netcdf_limit_refused_up_front(empty_data: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Before: --seed 2147483648 ran the whole simulation, then the netCDF write failed. After: exit 2 at once."""
    rc, err = _cli(_run(empty_data, "--seed", "2147483648", "--out", str(tmp_path / "r")), capsys)
    assert rc == 2 and "--seed=2147483648" in err and "2147483647" in err and "dataset" not in err


def test_seed_in_a_scenario_file_checked(tmp_path: Path) -> None:
    """The same limit for ``seed`` in a scenario file."""
    from migravity.errors import ConfigError
    from migravity.scenarios.spec import load_scenario

    f = tmp_path / "s.toml"
    f.write_text("seed = 4294967296\n")
    with pytest.raises(ConfigError, match="seed"):
        load_scenario(f)


def test_memory_estimate_refuses_draws_years(empty_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: --draws 100000 --years 100 (383 GiB) started. After: refused with the number, before loading data."""
    monkeypatch.setenv("MIGRAVITY_MEMORY_LIMIT", "64G")
    rc, err = _cli(_run(empty_data, "--draws", "100000", "--years", "100", "--out", str(tmp_path / "r")), capsys)
    assert rc == 2 and "382.9 GiB" in err and "64.0 GiB available" in err and "dataset" not in err


def test_memory_estimate_passes_a_normal_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default 200 draws x 10 years fit easily (a few MiB)."""
    from migravity.cli.scenarios import check_run_memory
    from migravity.scenarios.spec import load_scenario

    monkeypatch.setenv("MIGRAVITY_MEMORY_LIMIT", "1G")
    check_run_memory([load_scenario("baseline"), load_scenario("wfh_uptake")], None, None, "2023", "EW")


@pytest.mark.parametrize("where", ["under_file", "at_file"])
def test_run_out_under_or_at_a_file(empty_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    where: str) -> None:
    """Before: traceback after the computation. After: exit 2 before any data loading."""
    f = tmp_path / "afile"
    f.write_text("x")
    out = f / "run" if where == "under_file" else f
    rc, err = _cli(_run(empty_data, "--out", str(out)), capsys)
    assert rc == 2 and "--out" in err and "is a file" in err and "dataset" not in err


def test_run_json_at_a_directory(empty_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json naming a directory: exit 2 before any work."""
    rc, err = _cli(_run(empty_data, "--out", str(tmp_path / "r"), "--json", str(tmp_path)), capsys)
    assert rc == 2 and "--json" in err and "is a directory" in err


def test_run_bad_vintage_before_loading(empty_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad --vintage is named before the missing data would be."""
    rc, err = _cli(_run(empty_data, "--vintage", "2019", "--out", str(tmp_path / "r")), capsys)
    assert rc == 2 and "--vintage" in err


def test_empty_data_dir_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: --data-dir '' meant the current directory. After: exit 2."""
    rc, err = _cli(["--data-dir", "", "data", "status"], capsys)
    assert rc == 2 and "--data-dir" in err


def test_debug_keeps_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: --debug turned exit 2 into 1 (re-raised). After: traceback shown and exit 2."""
    rc, err = _cli(["--debug", "calibrate", "--table", str(tmp_path / "missing.csv")], capsys)
    assert rc == 2 and "Traceback" in err and err.rstrip().splitlines()[-1].startswith("migravity: error:")


def test_calibrate_json_at_directory_before_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json at a directory is refused before the table is read (the table here is missing too)."""
    rc, err = _cli(["calibrate", "--table", str(tmp_path / "missing.csv"), "--json", str(tmp_path)], capsys)
    assert rc == 2 and "--json" in err and "is a directory" in err


def test_calibrate_json_is_strict_with_warnings_and_drops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: bare NaN in the JSON, no warnings/convergence/drops. After: null, and all of them present."""
    path = tmp_path / "od.csv"
    # 'far' is 1 only on a zero-flow pair: separated, its coefficient NaN
    path.write_text("origin,destination,flow,distance_km,far\n"
                    "A,B,5,10,0\nA,C,3,20,0\nB,A,4,10,0\nB,C,0,15,1\nC,A,2,20,0\nC,B,6,15,0\nA,D,7,12,0\nD,A,1,30,0\n")
    out = tmp_path / "res.json"
    rc, err = _cli(["calibrate", "--table", str(path), "--cost", "distance_km", "--term", "far", "--constraint",
                    "none", "--json", str(out)], capsys)
    assert rc == 0, err
    text = out.read_text()

    def no_nan(token: str) -> float:
        raise AssertionError(f"non-strict JSON token {token}")

    payload = json.loads(text, parse_constant=no_nan)
    assert payload["coefficients"]["far"] is None and payload["std_errors"]["far"] is None
    assert payload["dropped"]["terms"] == ["far"] and payload["dropped"]["pairs"] == [["B", "C"]]
    assert payload["converged"] is True and payload["iterations"] >= 1
    assert any("separates" in w for w in payload["warnings"])
    assert payload["changed_data"] == {}


def test_export_over_the_runs_own_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: export --format gpkg --out RUN/summary.csv overwrote the run's file. After: exit 2."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.csv").write_text("kept\n")
    for out in (run / "summary.csv", run / "results.nc", run):
        fmt = "gpkg" if out != run else "parquet"
        rc, err = _cli(["export", str(run), "--format", fmt, "--out", str(out)], capsys)
        assert (rc == 2 and "--out" in err and "of the run" in err) or "the run directory" in err
    assert (run / "summary.csv").read_text() == "kept\n"


def test_scenario_tables_checked_before_calibration(tmp_path: Path, data_dir: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a bad table in the second scenario failed after calibration (5-12 s) and the first scenario's run.
    After: exit 2 naming the table, and calibration never starts."""
    from migravity.scenarios import simulate

    def no_calibration(*args: object, **kwargs: object) -> None:
        raise AssertionError("calibration started before the scenarios were validated")

    monkeypatch.setattr(simulate, "prepare_inputs", no_calibration)
    (tmp_path / "prices.csv").write_text("lad,pct\nE06000001,-10\nE06000001,5\n")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[house_prices]]\ntable = "prices.csv"\n')
    rc, err = _cli(["--data-dir", str(data_dir), "run", "wfh_uptake", str(bad), "--out", str(tmp_path / "r")], capsys)
    assert rc == 2 and "prices.csv" in err and "duplicate key" in err and "line 3" in err
    assert not (tmp_path / "r").exists()


def test_duplicate_scenario_names_before_loading(empty_data: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Two scenarios with one name: refused before any data is loaded (it used to wait for the calibration)."""
    rc, err = _cli(["--data-dir", str(empty_data), "run", "wfh_uptake", "wfh_uptake", "--out", str(tmp_path / "r")],
                   capsys)
    assert rc == 2 and "distinct name" in err and "dataset" not in err
