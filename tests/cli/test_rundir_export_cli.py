"""Run directories read back, and ``migravity export`` to every format on a small real run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cli_helpers
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import xarray as xr

from migravity.cli.export import register
from migravity.errors import ConfigError, InputError
from migravity.outputs.column_docs import undocumented
from migravity.scenarios.rundir import MANIFEST_FILE, NETCDF_ENGINE, RESULTS_FILE, RunDirError, open_run, seal

pytestmark = pytest.mark.realdata

N_ZONES = 318
TOP_K = 50


@pytest.fixture(scope="module")
def run_dir(sample_run_dir: Path) -> Path:
    """The shared small real run (see conftest)."""
    return sample_run_dir


@pytest.fixture(scope="module")
def results(run_dir: Path) -> xr.Dataset:
    with xr.open_dataset(run_dir / "results.nc", engine="scipy") as ds:
        return ds.load()


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run ``migravity ARGS`` with the export and plot commands (see ``tests/cli_helpers.py``)."""
    return cli_helpers.invoke(args, monkeypatch, register)


def _median_change(results: xr.Dataset, codes: pd.Series) -> np.ndarray:
    da = results["hs_change"].sel(scenario="wfh_uptake", quantile=0.5)
    return da.sel(lad=list(codes)).to_numpy()


# --- the reader ---------------------------------------------------------------------------------------


def test_open_run_reads_manifest_and_results(run_dir: Path) -> None:
    run = open_run(run_dir)
    assert run.scenarios == ["baseline", "wfh_uptake"]
    assert run.scenario() == "wfh_uptake"
    assert (run.zone_vintage, run.area, run.years, run.draws) == ("2023", "EW", 3, 10)
    assert run.zones().codes == tuple(str(c) for c in run.results["lad"].to_numpy())


def test_zone_values_reduce_final_year_high_skilled(run_dir: Path, results: xr.Dataset) -> None:
    run = open_run(run_dir)
    values = run.zone_values("wfh_uptake")
    assert len(values) == N_ZONES
    high = [s for s in results["segment"].to_numpy() if str(s).startswith("high_")]
    expected = results["stock_mean"].sel(scenario="wfh_uptake", segment=high).isel(year=-1).sum("segment")
    np.testing.assert_allclose(values["hs_stock_mean"], expected.to_numpy())
    np.testing.assert_allclose(values["change_hs_stock_mean"],
                               values["hs_stock_mean"] - values["baseline_hs_stock_mean"])
    for q in ("q05", "q50", "q95"):
        assert f"hs_change_{q}" in values and f"hs_stock_{q}" in values
    assert not any(c.startswith("change_hs_stock_q") for c in values)  # no difference of quantiles
    assert {"gse", "imd_quintile"} <= set(values.columns)


def test_flow_matrices_scenario_baseline_change(run_dir: Path, results: xr.Dataset) -> None:
    flows = open_run(run_dir).flow_matrices("wfh_uptake")
    assert list(flows) == ["hs_flows", "baseline_hs_flows", "change_hs_flows"]
    np.testing.assert_allclose(flows["hs_flows"], results["hs_flows"].sel(scenario="wfh_uptake"))
    np.testing.assert_allclose(flows["change_hs_flows"], flows["hs_flows"] - flows["baseline_hs_flows"])


def test_unknown_scenario_lists_the_run_s(run_dir: Path) -> None:
    with pytest.raises(ConfigError, match="baseline, wfh_uptake"):
        open_run(run_dir).scenario("nope")


@pytest.mark.parametrize("remove", [None, "manifest.json", "results.nc"])
def test_missing_run_directory_or_file(tmp_path: Path, run_dir: Path, remove: str | None) -> None:
    target = tmp_path / "run"
    if remove is not None:
        target.mkdir()
        for name in ("manifest.json", "results.nc"):
            if name != remove:
                (target / name).write_bytes((run_dir / name).read_bytes())
    with pytest.raises(RunDirError) as exc:
        open_run(target)
    assert isinstance(exc.value, InputError)
    assert str(target / (remove or "")).rstrip("/") in str(exc.value)
    assert "migravity run" in str(exc.value)


def test_malformed_manifest(tmp_path: Path, run_dir: Path) -> None:
    (tmp_path / "results.nc").write_bytes((run_dir / "results.nc").read_bytes())
    (tmp_path / "manifest.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(InputError, match=r"manifest\.json"):
        open_run(tmp_path)


# --- migravity export ---------------------------------------------------------------------------------


def _check_zones(layer: gpd.GeoDataFrame, results: xr.Dataset, epsg: int) -> None:
    assert len(layer) == N_ZONES
    assert layer.crs.to_epsg() == epsg
    assert layer.geometry.is_valid.all() and not layer.geometry.is_empty.any()
    np.testing.assert_allclose(layer["hs_change_q50"], _median_change(results, layer["code"]), rtol=1e-9)
    for col in ("hs_change_q05", "hs_change_q95", "hs_stock_q50", "baseline_hs_stock_q50", "change_hs_stock_mean"):
        assert col in layer.columns


def _check_flows(layer: gpd.GeoDataFrame, results: xr.Dataset, epsg: int) -> None:
    assert len(layer) == TOP_K
    assert layer.crs.to_epsg() == epsg
    assert {"origin", "destination", "hs_flows", "baseline_hs_flows", "change_hs_flows"} <= set(layer.columns)
    full = results["hs_flows"].sel(scenario="wfh_uptake").to_numpy().copy()
    np.fill_diagonal(full, np.nan)
    assert layer["hs_flows"].min() >= np.sort(full[np.isfinite(full)])[-TOP_K] - 1e-9
    expected = results["hs_flows"].sel(scenario="wfh_uptake").to_series()
    got = layer.set_index(["origin", "destination"])["hs_flows"]
    np.testing.assert_allclose(got.to_numpy(), expected.loc[got.index].to_numpy())
    np.testing.assert_allclose(layer["change_hs_flows"], layer["hs_flows"] - layer["baseline_hs_flows"])


def test_export_gpkg(run_dir: Path, results: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run.gpkg"
    assert invoke(["export", str(run_dir), "--format", "gpkg", "--out", str(out), "--top-k", str(TOP_K)],
                  monkeypatch) == 0
    assert sorted(name for name, _ in pyogrio.list_layers(out)) == [
        "centroids", "flows", "layer_styles", "net_flows", "zones"]
    _check_zones(gpd.read_file(out, layer="zones"), results, 27700)
    centroids = gpd.read_file(out, layer="centroids")
    assert len(centroids) == N_ZONES and (centroids.geom_type == "Point").all()
    _check_flows(gpd.read_file(out, layer="flows"), results, 27700)


def test_export_parquet(run_dir: Path, results: xr.Dataset, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "parquet"
    args = ["export", str(run_dir), "--format", "parquet", "--out", str(out), "--top-k", str(TOP_K),
            "--scenario", "wfh_uptake"]
    assert invoke(args, monkeypatch) == 0
    assert sorted(p.name for p in out.iterdir()) == ["centroids.parquet", "flows.parquet", "net_flows.parquet",
                                                     "zones.parquet"]
    _check_zones(gpd.read_parquet(out / "zones.parquet"), results, 27700)
    _check_flows(gpd.read_parquet(out / "flows.parquet"), results, 27700)
    net = gpd.read_parquet(out / "net_flows.parquet")
    full = results["hs_flows"].sel(scenario="wfh_uptake").to_series()
    reverse = full.loc[list(zip(net.destination, net.origin, strict=True))].to_numpy()
    forward = full.loc[list(zip(net.origin, net.destination, strict=True))].to_numpy()
    assert len(net) == TOP_K and (net["net_hs_flows"] > 0).all()
    np.testing.assert_allclose(net["net_hs_flows"], forward - reverse, rtol=1e-9)


def test_export_geojson(run_dir: Path, results: xr.Dataset, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "geojson"
    assert invoke(["export", str(run_dir), "--format", "geojson", "--out", str(out), "--top-k", str(TOP_K),
                   "--geodesic"], monkeypatch) == 0
    zones = gpd.read_file(out / "zones.geojson")
    _check_zones(zones, results, 4326)
    docs = json.loads((out / "zones.columns.json").read_text(encoding="utf-8"))
    assert set(docs) == set(zones.columns) - {"geometry"}
    undoc = undocumented(docs)
    assert not undoc, undoc  # every column of a real run is described
    assert zones.total_bounds[0] > -7 and zones.total_bounds[2] < 2.5  # longitudes of England and Wales
    flows = gpd.read_file(out / "flows.geojson")
    _check_flows(flows, results, 4326)
    assert (flows.geometry.apply(lambda g: len(g.coords)) > 2).all()  # geodesic lines are densified


def test_export_flowmap(run_dir: Path, results: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "flowmap"
    assert invoke(["export", str(run_dir), "--format", "flowmap", "--out", str(out), "--top-k", str(TOP_K)],
                  monkeypatch) == 0
    locations = pd.read_csv(out / "locations.csv")
    flows = pd.read_csv(out / "flows.csv")
    assert list(locations.columns) == ["id", "name", "lat", "lon"] and len(locations) == N_ZONES
    assert list(flows.columns) == ["origin", "dest", "count"] and len(flows) == TOP_K
    expected = results["hs_flows"].sel(scenario="wfh_uptake").to_series()
    np.testing.assert_allclose(flows["count"], expected.loc[list(zip(flows.origin, flows.dest, strict=True))])


@pytest.mark.parametrize(("fmt", "every"), [("gpkg", ["--all-scenarios"]), ("parquet", ["--scenario", "all"])])
def test_export_all_scenarios(run_dir: Path, results: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              fmt: str, every: list[str]) -> None:
    """``--all-scenarios`` (or ``--scenario all``): one output per scenario in the --out directory."""
    out = tmp_path / "all"
    assert invoke(["export", str(run_dir), "--format", fmt, "--out", str(out), "--top-k", str(TOP_K), *every],
                  monkeypatch) == 0
    if fmt == "gpkg":
        assert sorted(p.name for p in out.iterdir()) == ["baseline.gpkg", "wfh_uptake.gpkg"]
        assert sorted(name for name, _ in pyogrio.list_layers(out / "wfh_uptake.gpkg")) == [
            "centroids", "flows", "layer_styles", "net_flows", "zones"]
        _check_zones(gpd.read_file(out / "wfh_uptake.gpkg", layer="zones"), results, 27700)
        _check_flows(gpd.read_file(out / "wfh_uptake.gpkg", layer="flows"), results, 27700)
        base = gpd.read_file(out / "baseline.gpkg", layer="flows")
    else:
        assert sorted(p.name for p in out.iterdir()) == ["baseline", "wfh_uptake"]
        _check_zones(gpd.read_parquet(out / "wfh_uptake" / "zones.parquet"), results, 27700)
        base = gpd.read_parquet(out / "baseline" / "flows.parquet")
    np.testing.assert_allclose(base["change_hs_flows"], 0.0)  # the baseline against itself


@pytest.mark.parametrize("every", [["--all-scenarios"], ["--scenario", "all"]])
def test_export_all_scenarios_needs_a_directory(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                every: list[str]) -> None:
    out = tmp_path / "file.gpkg"
    out.write_text("x")
    assert invoke(["export", str(run_dir), "--format", "gpkg", "--out", str(out), *every], monkeypatch) == 2
    assert out.read_text() == "x"


def test_export_scenario_and_all_scenarios_conflict(run_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x"
    assert invoke(["export", str(run_dir), "--format", "parquet", "--out", str(out), "--all-scenarios",
                   "--scenario", "baseline"], monkeypatch) == 2
    assert "--all-scenarios" in capsys.readouterr().err and not out.exists()


@pytest.fixture(scope="module")
def run_with_all(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample run with its ``wfh_uptake`` scenario renamed ``all`` (a legal scenario name)."""
    copy = tmp_path_factory.mktemp("named_all") / "run"
    shutil.copytree(run_dir, copy)
    with xr.open_dataset(copy / RESULTS_FILE, engine=NETCDF_ENGINE) as ds:
        ds = ds.load()
    ds = ds.assign_coords(scenario=["all" if s == "wfh_uptake" else str(s) for s in ds["scenario"].to_numpy()])
    (copy / RESULTS_FILE).unlink()
    ds.to_netcdf(copy / RESULTS_FILE, engine=NETCDF_ENGINE)
    manifest = json.loads((copy / MANIFEST_FILE).read_text(encoding="utf-8"))
    for sc in manifest["scenarios"]:
        sc["name"] = "all" if sc["name"] == "wfh_uptake" else sc["name"]
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    return seal(copy)


def test_export_scenario_named_all(run_with_all: Path, results: xr.Dataset, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A run holding a scenario named ``all``: ``--scenario all`` is that scenario, ``--all-scenarios`` every one."""
    assert open_run(run_with_all).scenarios == ["baseline", "all"]
    one = tmp_path / "one"
    assert invoke(["export", str(run_with_all), "--format", "parquet", "--out", str(one), "--top-k", str(TOP_K),
                   "--scenario", "all"], monkeypatch) == 0
    assert sorted(p.name for p in one.iterdir()) == ["centroids.parquet", "flows.parquet", "net_flows.parquet",
                                                     "zones.parquet"]
    _check_zones(gpd.read_parquet(one / "zones.parquet"), results, 27700)  # the renamed wfh_uptake
    every = tmp_path / "every"
    assert invoke(["export", str(run_with_all), "--format", "parquet", "--out", str(every), "--top-k", str(TOP_K),
                   "--all-scenarios"], monkeypatch) == 0
    assert sorted(p.name for p in every.iterdir()) == ["all", "baseline"]


def test_export_threshold_without_top_k(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "t.gpkg"
    assert invoke(["export", str(run_dir), "--format", "gpkg", "--out", str(out), "--top-k", "0",
                   "--threshold", "100"], monkeypatch) == 0
    flows = gpd.read_file(out, layer="flows")
    assert len(flows) > 0 and flows["hs_flows"].min() >= 100


def test_export_missing_run_dir_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no_run"
    assert invoke(["export", str(missing), "--format", "gpkg", "--out", str(tmp_path / "x.gpkg")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "migravity run" in err and len(err.strip().splitlines()) == 1


def test_export_unknown_format_exits_2(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(["export", str(run_dir), "--format", "shp", "--out", str(tmp_path / "x")], monkeypatch) == 2
    assert "--format" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_export_unknown_scenario_exits_2(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["export", str(run_dir), "--format", "gpkg", "--out", str(tmp_path / "x.gpkg"), "--scenario", "nope"]
    assert invoke(args, monkeypatch) == 2


def test_export_unwritable_path_exits_1(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory", encoding="utf-8")
    out = blocker / "run.gpkg"
    assert invoke(["export", str(run_dir), "--format", "gpkg", "--out", str(out)], monkeypatch) == 1
    err = capsys.readouterr().err.strip()
    assert str(out) in err and len(err.splitlines()) == 1
    assert blocker.read_text(encoding="utf-8") == "not a directory"


def test_manifest_is_what_export_reads(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in manifest["scenarios"]] == open_run(run_dir).scenarios


def test_export_refuses_a_changed_run(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A file changed after the run (or from another run): exit 2, one line naming it and saying re-run."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    with (copy / "summary.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    out = tmp_path / "gis"
    assert invoke(["export", str(copy), "--format", "parquet", "--out", str(out)], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "summary.csv: does not match manifest.json" in err and "re-run" in err
    assert not out.exists()


def test_export_region_by_name(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--region london`` (a name, any case) keeps London's zones and the flows between them."""
    out = tmp_path / "london.gpkg"
    assert invoke(["export", str(run_dir), "--format", "gpkg", "--out", str(out), "--top-k", "20",
                   "--region", "london"], monkeypatch) == 0
    zones = gpd.read_file(out, layer="zones")
    assert len(zones) == 33 and set(zones["region_code"]) == {"E12000007"}
    flows = gpd.read_file(out, layer="flows")
    assert len(flows) == 20
    assert flows.origin.str.startswith("E09").all() and flows.destination.str.startswith("E09").all()
    assert invoke(["export", str(run_dir), "--format", "gpkg", "--out", str(tmp_path / "two.gpkg"), "--top-k", "5",
                   "--region", "E12000007", "--region", "South East"], monkeypatch) == 0
    assert set(gpd.read_file(tmp_path / "two.gpkg", layer="zones")["region_name"]) == {"London", "South East"}


def test_export_unknown_region_exits_2(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(["export", str(run_dir), "--format", "gpkg", "--out", str(tmp_path / "x.gpkg"),
                   "--region", "Londn"], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Londn" in err and "South East" in err
    assert not (tmp_path / "x.gpkg").exists()
