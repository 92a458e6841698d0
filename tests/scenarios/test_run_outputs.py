"""The run directory contract and the ``run`` command, on a synthetic study area."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import typer
import xarray as xr

from migravity.errors import ConfigError
from migravity.scenarios import rundir
from migravity.scenarios.run import gini, run_scenarios, settle, theil, write_run
from migravity.scenarios.simulate import SimulationOptions
from migravity.scenarios.spec import load_scenario


def _verdict(lo: float, hi: float) -> str:
    """What the verdict of a change with this 5-95% interval must be."""
    return "narrows" if hi < 0 else "widens" if lo > 0 else "unclear"


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
    inequality = table[table.metric.isin(["theil_lad", "theil_region", "gini_lad"])]
    assert list(inequality.verdict) == [_verdict(lo, hi) for lo, hi in zip(inequality.change_q05,
                                                                          inequality.change_q95, strict=True)]
    assert set(inequality[inequality.scenario == "baseline"].verdict) == {"unclear"}  # no change at all
    assert set(table[~table.index.isin(inequality.index)].verdict.fillna("")) == {""}
    man = json.loads((out / "manifest.json").read_text())
    assert man["draws"] == 8 and man["seed"] == 5 and man["years"] == 3
    assert tuple(man) == rundir.MANIFEST_KEYS and [f["name"] for f in man["files"]] == list(rundir.DATA_FILES)
    assert all(f == rundir.file_record(out / f["name"]) for f in man["files"])
    assert all(tuple(sc) == rundir.SCENARIO_KEYS for sc in man["scenarios"])
    assert sorted(p.name for p in out.iterdir()) == sorted(rundir.WRITTEN_FILES)
    status = {p["parameter"]: p["status"] for p in man["parameters"]}
    assert status["move_rate_high"] == status["anchor_strength"] == "assumed"
    assert status["beta_distance"] == "identified"
    assert all({"value", "std_error", "low", "high", "source", "reason"} <= set(p) for p in man["parameters"])
    assert man["specifications"][0]["name"] == ds.specification.values[0]
    assert {"spec_low", "spec_high"} <= set(table.columns)
    spec_rows = table[table.metric.isin(["gse_hs_share", "theil_lad", "london_leavers_gse_share"])]
    assert spec_rows[["spec_low", "spec_high"]].notna().all().all()
    assert (spec_rows.spec_low <= spec_rows.spec_high).all()
    assert table[~table.metric.isin(spec_rows.metric.unique())][["spec_low", "spec_high"]].isna().all().all()
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
    # run validates each scenario's codes and tables against the zones before calibrating
    import geopandas as gpd
    from shapely.geometry import box

    geometry = gpd.GeoSeries([box(400_000 + 5_000 * k, 300_000, 404_000 + 5_000 * k, 304_000)
                              for k in range(len(inputs.codes))], index=list(inputs.codes), crs=27700)
    zones = SimpleNamespace(codes=inputs.codes, names=inputs.names, region_codes=inputs.region_codes,
                            geometry=geometry)  # what the scenario checks and the report page read
    monkeypatch.setattr("migravity.geodata.load_zones", lambda *a, **k: zones)
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = AppState()  # not a terminal: no progress bars; --quiet would hide the table too

    cli.register(app)
    result = CliRunner().invoke(app, ["run", "baseline", "northern_housing_relief", "--out", str(tmp_path / "r"),
                                      "--draws", "4", "--years", "2", "--seed", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "High-skilled workers after 2 years" in result.output
    assert set(pd.read_csv(tmp_path / "r" / "summary.csv").scenario) == {"baseline", "northern_housing_relief"}
    assert (tmp_path / "r" / "manifest.json").is_file()
    assert (tmp_path / "r" / "report.html").is_file()  # the run's report page, beside the listed files
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
    assert heads["baseline"]["gini_lad"]["verdict"] == "unclear"
    for metric in ("theil_lad", "gini_lad"):
        h = heads["northern_housing_relief"][metric]
        assert h["verdict"] == _verdict(h["change_q05"], h["change_q95"])
        assert h["change_q05"] <= h["change_mean"] <= h["change_q95"]
    assert set(heads["northern_housing_relief"]["top_gain"]) >= {"code", "name", "change_mean"}


def test_run_directory_is_one_module():
    """The writer lives with the reader; ``scenarios.run`` only re-exports it."""
    from migravity.scenarios import run

    assert run.write_run is rundir.write_run and run.QUANTILES is rundir.QUANTILES
    assert run.NETCDF_ENGINE == rundir.NETCDF_ENGINE
    assert set(rundir.RUN_FILES) <= set(rundir.WRITTEN_FILES) and rundir.WRITTEN_FILES[-1] == rundir.MANIFEST_FILE


def test_written_run_reads_back(inputs, tmp_path):
    specs = [load_scenario(n) for n in ("baseline", "wfh_uptake")]
    run = run_scenarios(inputs, specs, draws=3, seed=1, years=2)
    back = rundir.open_run(write_run(run, tmp_path / "run"))
    assert back.scenarios == ["baseline", "wfh_uptake"] and back.scenario() == "wfh_uptake"
    assert (back.years, back.draws, back.zone_vintage, back.area) == (2, 3, "2023", "EW")
    values = back.zone_values("wfh_uptake")
    np.testing.assert_allclose(values["hs_change_q50"], np.quantile(
        [run.runs[1][0].stocks[d, -1, :8].sum(0) - run.runs[1][1].stocks[d, -1, :8].sum(0) for d in range(3)],
        0.5, axis=0))
    assert len(back.summary()) == len(run.summary())


def test_a_failed_write_leaves_no_partial_file(inputs, tmp_path, monkeypatch):
    run = run_scenarios(inputs, [load_scenario("baseline")], draws=2, seed=1, years=1)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        write_run(run, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []  # no run directory, no temporary, no lock


def test_options_and_keywords_are_the_same_run(inputs):
    specs = [load_scenario(n) for n in ("baseline", "london_squeeze")]
    a = run_scenarios(inputs, specs, draws=4, seed=9, years=2)
    b = run_scenarios(inputs, specs, SimulationOptions(years=2, draws=4, seed=9))
    c = run_scenarios(inputs, specs, SimulationOptions(years=7, draws=4, seed=1), years=2, seed=9)  # keywords win
    assert a.settings == b.settings == c.settings == {"years": 2, "draws": 4, "seed": 9}
    for x, y in ((a, b), (a, c)):
        for (s1, b1), (s2, b2) in zip(x.runs, y.runs, strict=True):
            np.testing.assert_array_equal(s1.stocks, s2.stocks)
            np.testing.assert_array_equal(b1.stocks, b2.stocks)


def test_options_override_the_scenarios_mode_and_feedback(inputs):
    specs = [load_scenario(n) for n in ("baseline", "london_squeeze")]
    run = run_scenarios(inputs, specs, draws=2, seed=1, years=2, mode="unconstrained", housing_feedback=0.5)
    for sim, base in run.runs:
        assert (sim.scenario.mode, sim.scenario.housing_feedback) == ("unconstrained", 0.5)
        assert (base.scenario.mode, base.scenario.housing_feedback) == ("unconstrained", 0.5)
    assert run.options is not None and run.options.mode == "unconstrained"
    plain = run_scenarios(inputs, specs, draws=2, seed=1, years=2)
    assert not np.array_equal(plain.runs[1][0].stocks, run.runs[1][0].stocks)


@pytest.mark.parametrize(("kwargs", "field", "fix"), [
    ({"years": 0}, "years", "between 1 and 100"),
    ({"draws": 100_001}, "draws", "between 1 and 100000"),
    ({"draws": True}, "draws", "between 1 and 100000"),
    ({"seed": -1}, "seed", "non-negative"),
    ({"seed": 1.5}, "seed", "non-negative"),
    ({"mode": "doubly"}, "mode", "'production', 'unconstrained'"),
    ({"housing_feedback": 11.0}, "housing_feedback", "between 0 and 10"),
    ({"n_chunks": 0}, "n_chunks", "at least 1"),
])
def test_simulation_options_are_validated(kwargs, field, fix):
    with pytest.raises(ConfigError) as exc:
        SimulationOptions(**kwargs)
    assert exc.value.field == field and fix in str(exc.value)
    with pytest.raises(ConfigError):
        SimulationOptions.of(None, **kwargs)


def test_simulation_options_are_frozen_and_normalised():
    from dataclasses import FrozenInstanceError

    opts = SimulationOptions(years=np.int64(3), draws=2)
    assert type(opts.years) is int and opts.settings == {"years": 3, "draws": 2, "seed": 0}
    with pytest.raises(FrozenInstanceError):
        opts.years = 4  # type: ignore[misc]
    assert SimulationOptions.of(opts, draws=None, seed=5) == SimulationOptions(years=3, draws=2, seed=5)
    with pytest.raises(ConfigError, match="use one of"):
        SimulationOptions.of(opts, yeras=3)


def test_progress_goes_to_the_reporter(inputs):
    from contextlib import contextmanager

    events: list[tuple[str, object]] = []

    class Recorder:
        def info(self, message: str) -> None:
            events.append(("info", message))

        @contextmanager
        def progress(self, description: str, total: float | None = None):
            events.append(("start", (description, total)))

            class Task:
                def advance(self, amount: float = 1) -> None:
                    events.append(("advance", amount))

                def update(self, **kwargs: object) -> None:
                    pass

            yield Task()

    specs = [load_scenario(n) for n in ("baseline", "wfh_uptake", "remote_surge")]
    run_scenarios(inputs, specs, draws=1, years=1, reporter=Recorder(), specifications=False)
    assert events == [("start", ("simulating", 3)), ("advance", 1), ("advance", 1), ("advance", 1)]
    events.clear()
    run = run_scenarios(inputs, specs, draws=1, years=1, reporter=Recorder())  # + each other specification
    n = 3 * len(run.specification_names)
    assert events == [("start", ("simulating", n))] + [("advance", 1)] * n
