"""The run directory contract and the ``run`` command, on a synthetic study area."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
import xarray as xr

from migravity.errors import ConfigError
from migravity.scenarios.run import gini, run_scenarios, settle, theil, write_run
from migravity.scenarios.spec import load_scenario


def test_run_directory_contract(inputs, tmp_path):
    specs = [load_scenario(n) for n in ("baseline", "remote_surge", "combined")]
    run = run_scenarios(inputs, specs, draws=8, seed=5, years=3)
    out = write_run(run, tmp_path / "run")
    ds = xr.open_dataset(out / "results.nc")
    assert {"scenario", "quantile", "year", "segment", "lad", "origin", "destination"} <= set(ds.dims)
    assert list(ds.scenario.values) == ["baseline", "remote_surge", "combined"]
    np.testing.assert_array_equal(ds.hs_change.sel(scenario="baseline").values, 0.0)
    assert ds.sizes["year"] == 4
    table = pd.read_parquet(out / "summary.parquet")
    csv = pd.read_csv(out / "summary.csv")
    assert len(table) == len(csv)
    assert {"gse_hs_share", "theil_lad", "theil_region", "gini_lad", "hs_stock"} <= set(table.metric)
    assert {"national", "gse", "region", "imd_quintile", "lad"} <= set(table.level)
    q = table[table.metric == "gse_hs_share"]
    assert (q.change_q05 <= q.change_q50).all() and (q.change_q50 <= q.change_q95).all()
    man = json.loads((out / "manifest.json").read_text())
    assert man["draws"] == 8 and man["seed"] == 5 and man["years"] == 3
    sources = {p["source"] for p in man["parameters"]}
    assert "assumed" in sources and any(s.startswith("calibrated") for s in sources)
    assert not list(out.glob(".*part*"))


def test_settings_precedence():
    a, b = load_scenario("baseline"), load_scenario("wfh_uptake")
    assert settle([a, b]) == {"years": 10, "draws": 200, "seed": 2021}
    assert settle([a], years=3)["years"] == 3
    from dataclasses import replace

    with pytest.raises(ConfigError, match="pass --years"):
        settle([replace(a, years=4), replace(b, years=5)])


def test_theil_index():
    w = np.array([10.0, 20.0, 30.0])
    assert theil(w * 0.3, w) == pytest.approx(0.0)
    assert theil(np.array([5.0, 0.0, 0.0]), w) == pytest.approx(np.log(6.0))


def test_gini_index():
    w = np.array([10.0, 20.0, 30.0])
    assert gini(w * 0.3, w) == pytest.approx(0.0, abs=1e-12)
    assert gini(np.array([5.0, 0.0, 0.0]), w) == pytest.approx(5.0 / 6.0)
    # equals the worker-weighted mean absolute difference of shares / (2 x mean share), batched
    rng = np.random.default_rng(4)
    workers = rng.uniform(1, 100, (3, 25))
    hs = workers * rng.uniform(0.1, 0.6, (3, 25))
    r = hs / workers
    ww = workers / workers.sum(-1, keepdims=True)
    ref = (ww[:, :, None] * ww[:, None, :] * np.abs(r[:, :, None] - r[:, None, :])).sum((1, 2)) / (
        2 * hs.sum(-1) / workers.sum(-1))
    np.testing.assert_allclose(gini(hs, workers), ref, rtol=1e-12)


def test_run_command(inputs, tmp_path, monkeypatch):

    from typer.testing import CliRunner

    from migravity.cli import scenarios as cli
    from migravity.cli.console import AppState
    from migravity.scenarios import simulate

    monkeypatch.setattr(simulate, "prepare_inputs", lambda zones, **kw: inputs)
    monkeypatch.setattr("migravity.geodata.load_zones", lambda *a, **k: None)
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = AppState(quiet=True)

    cli.register(app)
    result = CliRunner().invoke(app, ["run", "baseline", "northern_housing_relief", "--out", str(tmp_path / "r"),
                                      "--draws", "4", "--years", "2", "--seed", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "High-skilled workers after 2 years" in result.output
    assert set(pd.read_csv(tmp_path / "r" / "summary.csv").scenario) == {"baseline", "northern_housing_relief"}
    assert (tmp_path / "r" / "manifest.json").is_file()
    # --json -: only the JSON headline on stdout
    result = CliRunner().invoke(app, ["run", "baseline", "northern_housing_relief", "--out", str(tmp_path / "j"),
                                      "--draws", "4", "--years", "2", "--seed", "1", "--json", "-"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["settings"] == {"years": 2, "draws": 4, "seed": 1}
    heads = {h["scenario"]: h for h in payload["scenarios"]}
    assert set(heads) == {"baseline", "northern_housing_relief"}
    assert heads["baseline"]["gse_hs_share"]["change_mean"] == 0.0
    assert heads["northern_housing_relief"]["gini_lad"]["verdict"] in {"narrows", "widens", "unclear"}
    assert set(heads["northern_housing_relief"]["top_gain"]) >= {"code", "name", "change_mean"}
