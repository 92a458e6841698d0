"""``migravity plot``: the four kinds of figure on a small real run, as PNG and SVG, and its errors."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import cli_helpers
import numpy as np
import pytest
import xarray as xr
from matplotlib.image import imread

from migravity.cli.export import register
from migravity.errors import ConfigError
from migravity.geodata.zones import ZoneSet
from migravity.outputs.plots import PLOT_KINDS, describe, per_zone_values, plot
from migravity.outputs.plots_charts import fit_flows, group_workers
from migravity.scenarios.rundir import RunDir, load_run_zones, open_run, seal

pytestmark = pytest.mark.realdata

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def run_dir(sample_run_dir: Path) -> Path:
    """The shared small real run (see conftest)."""
    return sample_run_dir


@pytest.fixture(scope="module")
def run(run_dir: Path) -> RunDir:
    return open_run(run_dir)


@pytest.fixture(scope="module")
def zones(run: RunDir) -> ZoneSet:
    return run.zones()


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run ``migravity ARGS`` with the export and plot commands (see ``tests/cli_helpers.py``)."""
    return cli_helpers.invoke(args, monkeypatch, register)


def check_png(path: Path, min_kb: float = 20, min_colours: int = 50) -> np.ndarray:
    """A PNG that is not trivial: big enough, not blank, many colours."""
    assert path.stat().st_size > min_kb * 1024
    img = imread(path)
    assert img.ndim == 3 and img.shape[0] > 500 and img.shape[1] > 500
    assert float(img[..., :3].std()) > 0.01
    rgb = (img[..., :3] * 255).round().astype(np.uint32).reshape(-1, 3)
    assert len(np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])) > min_colours
    return img


def check_svg(path: Path, min_paths: int) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    assert len(root.findall(f".//{SVG_NS}path")) >= min_paths
    return root


@pytest.mark.parametrize("kind", PLOT_KINDS)
def test_plot_kinds_png(kind: str, run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "figs" / f"{kind}.png"  # the directory is created
    assert invoke(["plot", str(run_dir), "--kind", kind, "--out", str(out)], monkeypatch) == 0
    check_png(out)
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary file left


def test_choropleth_is_diverging_around_zero(run: RunDir, zones: ZoneSet, tmp_path: Path) -> None:
    img = check_png(plot(run, "choropleth", tmp_path / "c.png", zones=zones))
    rgb = img[..., :3]
    reddish = (rgb[..., 0] - rgb[..., 2]) > 0.25
    bluish = (rgb[..., 2] - rgb[..., 0]) > 0.25
    assert reddish.sum() > 500 and bluish.sum() > 500  # gains and losses both drawn


def test_choropleth_and_flows_svg(run: RunDir, zones: ZoneSet, tmp_path: Path) -> None:
    check_svg(plot(run, "choropleth", tmp_path / "c.svg", zones=zones), min_paths=len(zones))
    check_svg(plot(run, "flows", tmp_path / "f.svg", zones=zones, top_k=40), min_paths=len(zones) + 40)
    check_svg(plot(run, "regions", tmp_path / "r.svg"), min_paths=10)
    assert (tmp_path / "r.svg").stat().st_size > 10_000


def test_other_variables(run: RunDir, zones: ZoneSet, tmp_path: Path) -> None:
    check_png(plot(run, "choropleth", tmp_path / "p.png", zones=zones, variable="pct_change_hs_stock_mean"))
    check_png(plot(run, "choropleth", tmp_path / "s.png", zones=zones, variable="hs_stock"))  # -> hs_stock_q50
    check_png(plot(run, "flows", tmp_path / "d.png", zones=zones, variable="change_hs_flows", top_k=100))
    check_png(plot(run, "regions", tmp_path / "b.png", scenario="wfh_uptake"))


def test_unknown_variable_lists_choices(run: RunDir, zones: ZoneSet, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hs_change_q50"):
        plot(run, "choropleth", tmp_path / "x.png", zones=zones, variable="nope")
    with pytest.raises(ConfigError, match="hs_flows"):
        plot(run, "flows", tmp_path / "x.png", zones=zones, variable="nope")
    with pytest.raises(ConfigError, match="hs_stock"):
        plot(run, "regions", tmp_path / "x.png", variable="nope")
    assert not (tmp_path / "x.png").exists()


def test_fit_reads_the_runs_stored_fit(run: RunDir, zones: ZoneSet, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``plot --kind fit`` draws the calibration's own fit stored in the run (fit.nc): nothing is re-fitted."""
    import migravity.engine as engine
    from migravity.geodata import load_flows

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("plot --kind fit must not calibrate")

    monkeypatch.setattr(engine, "calibrate", refuse)
    monkeypatch.setattr(engine, "calibrate_arrays", refuse)
    obs, fitted, source, stats = fit_flows(run)
    assert "stage-1" in source and "WFH" in source
    n = len(zones)
    assert obs.shape == fitted.shape == (n * (n - 1),)
    mig = load_flows("migration2021", zones).to_numpy().astype(float)  # the observed flows are Census 2021's
    np.testing.assert_allclose(obs, mig[~np.eye(n, dtype=bool)])
    assert np.isclose(fitted.sum(), obs.sum(), rtol=1e-6)  # doubly constrained: totals kept
    assert 0.5 < stats["pseudo_r2"] <= 1 and stats["coef_log_cost"] < 0
    stored = run.stored_fit()
    assert stored is not None and stored.attrs["coef_log_cost"] == stats["coef_log_cost"]
    check_png(plot(run, "fit", tmp_path / "fit.png"))


def test_fit_of_a_run_without_a_stored_fit_is_refused(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "fit.nc").unlink()
    xr.Dataset(attrs={"available": 0}).to_netcdf(copy / "fit.nc", engine="scipy")
    seal(copy)
    with pytest.raises(ConfigError, match="re-run"):
        fit_flows(open_run(copy))


def test_choropleth_per_capita_and_percent_values(run: RunDir) -> None:
    """Per 1,000 workers of the zone (the run's zones.parquet) and percent of the zone's baseline."""
    table = run.zone_values()
    v = table["hs_change_q50"].to_numpy(float)
    workers = run.zone_workers()
    assert workers is not None and (workers > 0).all()
    per, units = per_zone_values(run, "hs_change_q50", v, table, "capita")
    np.testing.assert_allclose(per, 1000 * v / workers.reindex(table.index).to_numpy())
    assert units == "per 1,000 workers"
    pct, units = per_zone_values(run, "hs_change_q50", v, table, "percent")
    np.testing.assert_allclose(pct, 100 * v / table["baseline_hs_stock_mean"].to_numpy())
    assert units.startswith("%")
    same, _ = per_zone_values(run, "hs_change_q50", v, table, "count")
    np.testing.assert_array_equal(same, v)
    with pytest.raises(ConfigError, match="--per"):
        per_zone_values(run, "hs_stock_q50", table["hs_stock_q50"].to_numpy(float), table, "percent")
    # per capita is not dominated by the largest authorities: the rank of the zones changes
    assert np.argmax(np.abs(per)) != np.argmax(np.abs(v)) or np.corrcoef(np.abs(per), np.abs(v))[0, 1] < 0.99


def test_regions_group_workers_add_up(run: RunDir) -> None:
    groups = group_workers(run)
    total = float(run.zone_workers().sum())  # type: ignore[union-attr]
    assert np.isclose(sum(v for (lv, _), v in groups.items() if lv == "region"), total)
    assert np.isclose(sum(v for (lv, _), v in groups.items() if lv == "imd_quintile"), total)


@pytest.mark.parametrize("per", ["capita", "percent", "count"])
def test_choropleth_and_regions_per(per: str, run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in ("choropleth", "regions"):
        out = tmp_path / f"{kind}.png"
        assert invoke(["plot", str(run_dir), "--kind", kind, "--per", per, "--out", str(out)], monkeypatch) == 0
        check_png(out)


def test_plot_and_export_need_no_data_directory(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run directory holds its zones: with MIGRAVITY_DATA an empty folder, plot and export still work."""
    empty = tmp_path / "no_data"
    empty.mkdir()
    monkeypatch.setenv("MIGRAVITY_DATA", str(empty))
    zones = load_run_zones(run_dir)
    assert zones.codes == tuple(str(c) for c in open_run(run_dir).results["lad"].to_numpy())
    assert zones.geometry.crs.to_epsg() == 27700 and zones.geometry.is_valid.all()
    png = tmp_path / "map.png"
    assert invoke(["plot", str(run_dir), "--kind", "choropleth", "--out", str(png)], monkeypatch) == 0
    check_png(png)
    gpkg = tmp_path / "run.gpkg"
    assert invoke(["export", str(run_dir), "--format", "gpkg", "--out", str(gpkg), "--top-k", "50"], monkeypatch) == 0
    import geopandas as gpd

    layer = gpd.read_file(gpkg, layer="zones")
    assert len(layer) == len(zones) and layer.crs.to_epsg() == 27700


def test_describe() -> None:
    assert describe("hs_change_q50", 20) == "change in high-skilled workers vs baseline (median of 20 draws)"
    assert describe("hs_change_q05") == "change in high-skilled workers vs baseline (5th percentile of the draws)"
    assert describe("pct_change_hs_stock_mean").startswith("% change in high-skilled workers vs baseline")
    assert describe("baseline_hs_stock_q95", 10) == "baseline: high-skilled workers (95th percentile of 10 draws)"
    assert describe("some_thing") == "some thing"


# --- errors -------------------------------------------------------------------------------------------


def test_plot_missing_run_dir_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing_here"
    assert invoke(["plot", str(missing), "--kind", "choropleth", "--out", str(tmp_path / "x.png")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "migravity run" in err


@pytest.mark.parametrize(("args", "where"), [
    (["--kind", "pie"], "--kind"),
    (["--kind", "choropleth", "--variable", "nope"], "--variable"),
    (["--kind", "choropleth", "--scenario", "nope"], "--scenario"),
])
def test_plot_bad_options_exit_2(args: list[str], where: str, run_dir: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.png"
    assert invoke(["plot", str(run_dir), *args, "--out", str(out)], monkeypatch) == 2
    assert where in capsys.readouterr().err
    assert not out.exists()


def test_plot_bad_suffix_exits_2(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke(["plot", str(run_dir), "--kind", "regions", "--out", str(tmp_path / "x.jpg")], monkeypatch) == 2


def test_plot_unwritable_path_exits_1(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("keep me", encoding="utf-8")
    out = blocker / "map.png"
    assert invoke(["plot", str(run_dir), "--kind", "regions", "--out", str(out)], monkeypatch) == 1
    err = capsys.readouterr().err.strip()
    assert str(out) in err and len(err.splitlines()) == 1
    assert blocker.read_text(encoding="utf-8") == "keep me"
