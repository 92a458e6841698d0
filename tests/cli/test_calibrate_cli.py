"""``migravity calibrate`` on a table file: text table, JSON output, exit code 2 on bad input."""

from __future__ import annotations

import json

import pytest

from migravity.cli import main


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(args)
    return int(e.value.code)


def test_calibrate_csv_json(small_table, tmp_path, capsys):
    path = tmp_path / "od.csv"
    small_table.to_csv(path, index=False)
    out = tmp_path / "res.json"
    rc = _run(["calibrate", "--table", str(path), "--origin", "origin", "--destination",
               "destination", "--flow", "flow", "--cost", "distance_km", "--term", "border",
               "--json", str(out)])
    assert rc == 0
    assert "log(distance_km)" in capsys.readouterr().out
    payload = json.loads(out.read_text())
    assert {"coefficients", "std_errors", "fit", "n_pairs", "seconds", "converged", "iterations", "message",
            "warnings", "dropped", "changed_data"} <= set(payload)
    assert payload["n_pairs"] == len(small_table)


def test_calibrate_parquet(small_table, tmp_path, capsys):
    path = tmp_path / "od.parquet"
    small_table.to_parquet(path)
    rc = _run(["calibrate", "--table", str(path), "--cost", "distance_km", "--constraint",
               "production", "--se", "cluster"])
    assert rc == 0
    assert "clustered" in capsys.readouterr().out


def test_bad_constraint_exit_2(small_table, tmp_path, capsys):
    path = tmp_path / "od.csv"
    small_table.to_csv(path, index=False)
    rc = _run(["calibrate", "--table", str(path), "--cost", "distance_km", "--constraint", "both"])
    assert rc == 2
    assert "constraint" in capsys.readouterr().err
