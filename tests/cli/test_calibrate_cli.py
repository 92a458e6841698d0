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


def test_calibrate_export_observed_fitted(data_dir, tmp_path, capsys):
    """``calibrate --export``: GIS layers of observed, fitted flows and Pearson residuals on real LAD zones."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    codes = [f"E0900000{i}" for i in range(1, 8)]  # seven London boroughs (2021 and 2023 codes)
    rng = np.random.default_rng(2)
    rows = [{"origin": o, "destination": d, "flow": float(rng.integers(5, 500)), "distance_km": 1.0 + abs(i - j)}
            for i, o in enumerate(codes) for j, d in enumerate(codes) if i != j]
    path = tmp_path / "od.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out = tmp_path / "fit.gpkg"
    rc = _run(["--data-dir", str(data_dir), "calibrate", "--table", str(path), "--cost", "distance_km",
               "--export", str(out), "--export-top-k", "10"])
    assert rc == 0, capsys.readouterr().err
    flows = gpd.read_file(out, layer="flows")
    assert len(flows) == 10 and {"observed", "fitted", "residual_pearson"} <= set(flows.columns)
    np.testing.assert_allclose(flows.residual_pearson, (flows.observed - flows.fitted) / np.sqrt(flows.fitted))
    assert len(gpd.read_file(out, layer="zones")) == len(codes)
    assert _run(["calibrate", "--table", str(path), "--cost", "distance_km", "--export", str(tmp_path / "x"),
                 "--export-format", "shp"]) == 2
