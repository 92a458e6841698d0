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
from migravity.outputs.plots import PLOT_KINDS, describe, plot
from migravity.outputs.plots_charts import fit_flows
from migravity.scenarios.rundir import RunDir, open_run, seal

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


def test_fit_calibrates_when_the_run_has_no_fit(run: RunDir, zones: ZoneSet) -> None:
    obs, fitted, source, stats = fit_flows(run, zones)
    assert "calibrated here" in source and "not stored in the run" in source
    assert obs.shape == fitted.shape and len(obs) == len(zones) * (len(zones) - 1)
    assert 0.5 < stats["pseudo_r2"] <= 1 and stats["log(distance_km)"] < 0
    assert np.isclose(fitted.sum(), obs.sum(), rtol=1e-6)  # doubly constrained: totals kept


def test_fit_uses_stored_flows(run_dir: Path, zones: ZoneSet, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    with xr.open_dataset(copy / "results.nc", engine="scipy") as ds:
        ds = ds.load()
    base = ds["baseline_hs_flows"].isel(scenario=0, drop=True)
    ds["observed_flows"] = base
    ds["fitted_flows"] = base * 1.1
    (copy / "results.nc").unlink()
    ds.to_netcdf(copy / "results.nc", engine="scipy")
    seal(copy)
    obs, fitted, source, _ = fit_flows(open_run(copy), zones)
    assert "stored in the run" in source
    np.testing.assert_allclose(fitted, 1.1 * obs)
    check_png(plot(open_run(copy), "fit", tmp_path / "fit.png", zones=zones))


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
