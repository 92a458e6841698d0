"""GIS export: layers, GeoPackage / GeoParquet / GeoJSON / flowmap.blue writers, atomicity, errors."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import xarray as xr

from migravity.errors import ConfigError, ExportError, MigravityError
from migravity.geodata.attributes import load_attributes
from migravity.geodata.flows import load_flows
from migravity.geodata.spatial import distance_matrix
from migravity.geodata.zones import load_zones
from migravity.outputs.export import (
    centroids_layer,
    export,
    flows_layer,
    write_flowmap,
    write_layers,
    zones_layer,
)

pytestmark = pytest.mark.realdata

TOP_K = 50
UK_LON, UK_LAT = (-8.7, 2.0), (49.8, 61.0)


@pytest.fixture(scope="module")
def zones(data_dir):
    return load_zones("2023", "EW")


@pytest.fixture(scope="module")
def attrs(zones):
    return load_attributes(zones)


@pytest.fixture(scope="module")
def flows(zones):
    return load_flows("migration2021", zones)


def _pairs(df: pd.DataFrame, origin: str = "origin", dest: str = "destination") -> list[tuple[str, str]]:
    return list(zip(df[origin], df[dest], strict=True))


def _expected_top(flows: xr.DataArray, k: int) -> pd.Series:
    s = flows.to_series()
    s = s[s.index.get_level_values(0) != s.index.get_level_values(1)]
    return s.sort_values(ascending=False, kind="stable").head(k)


def _dir_listing(path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


# --------------------------------------------------------------------------------------------- layers


def test_zones_layer_columns_and_values(zones, attrs):
    layer = zones_layer(zones, attrs)
    assert len(layer) == 318 and layer.code.is_unique
    assert list(layer.columns[:5]) == ["code", "name", "region_code", "region_name", "nation"]
    assert layer.crs.to_epsg() == 27700 and layer.is_valid.all()
    np.testing.assert_array_equal(layer.set_index("code").population.reindex(attrs.lad.values),
                                  attrs.population.values)


def test_extra_dims_flatten_to_named_columns(zones):
    data = np.arange(len(zones) * 2, dtype=float).reshape(-1, 2)
    ds = xr.Dataset({"hs_change": (("lad", "quantile"), data)},
                    coords={"lad": list(zones.codes), "quantile": [0.05, 0.95]})
    ds["by_scen"] = (("scenario", "lad"), data.T)
    ds = ds.assign_coords(scenario=["low", "high"])
    layer = zones_layer(zones, ds)
    assert {"hs_change_q05", "hs_change_q95", "by_scen_low", "by_scen_high"} <= set(layer.columns)
    np.testing.assert_array_equal(layer.hs_change_q95, data[:, 1])
    np.testing.assert_array_equal(layer.by_scen_low, data[:, 0])


def test_dataframe_values_and_missing_zone(zones):
    df = pd.DataFrame({"x": np.arange(len(zones), dtype=float)}, index=list(zones.codes))
    layer = centroids_layer(zones, df.iloc[::-1])
    np.testing.assert_array_equal(layer.x, np.arange(len(zones)))
    with pytest.raises(ConfigError, match=zones.codes[3]):
        zones_layer(zones, df.drop(index=zones.codes[3]))


def test_dataset_missing_zone_is_refused(zones, attrs):
    with pytest.raises(ConfigError, match=f"1 zone.*{zones.codes[0]}"):
        zones_layer(zones, attrs.isel(lad=slice(1, None)))


def test_centroids_layer_points(zones):
    cen = centroids_layer(zones)
    assert (cen.geom_type == "Point").all() and cen.crs.to_epsg() == 27700
    rep = centroids_layer(zones, points="representative")
    assert rep.within(gpd.GeoSeries(zones.geometry.to_numpy(), crs=27700)).all()


def test_flows_layer_selects_on_arrays(zones, flows):
    fitted = flows * 0.5
    layer = flows_layer(zones, {"observed": flows, "fitted": fitted}, top_k=TOP_K)
    top = _expected_top(flows, TOP_K)
    assert len(layer) == TOP_K and layer.is_valid.all() and layer.crs.to_epsg() == 27700
    assert set(_pairs(layer)) == set(top.index)
    np.testing.assert_array_equal(layer.observed, top.to_numpy())
    np.testing.assert_allclose(layer.fitted, top.to_numpy() * 0.5)
    dist = distance_matrix(zones)
    for o, d, km in layer[["origin", "destination", "distance_km"]].head(5).itertuples(index=False):
        assert km == pytest.approx(float(dist.sel(origin=o, destination=d)))

    thr = flows_layer(zones, {"observed": flows}, threshold=1000)
    assert len(thr) == int(((flows >= 1000) & ~np.eye(len(zones), dtype=bool)).sum())
    assert (thr.observed >= 1000).all()

    by_fitted = flows_layer(zones, {"observed": flows, "fitted": -flows}, top_k=3, rank_by="fitted")
    assert (by_fitted.fitted <= 0).all()
    with pytest.raises(ConfigError, match="rank_by"):
        flows_layer(zones, {"observed": flows}, top_k=3, rank_by="nope")
    with pytest.raises(ConfigError, match="top_k"):
        flows_layer(zones, {"observed": flows}, top_k=0)


def test_geodesic_lines(zones, flows):
    layer = flows_layer(zones, {"observed": flows}, top_k=10, geodesic=True)
    assert layer.crs.to_epsg() == 4326 and layer.is_valid.all()
    assert (layer.geometry.count_coordinates() > 2).all()
    xmin, ymin, xmax, ymax = layer.total_bounds
    assert UK_LON[0] < xmin < xmax < UK_LON[1] and UK_LAT[0] < ymin < ymax < UK_LAT[1]


# --------------------------------------------------------------------------------------------- formats


@pytest.fixture(scope="module")
def layers(zones, attrs, flows):
    return {"zones": zones_layer(zones, attrs), "centroids": centroids_layer(zones, attrs),
            "flows": flows_layer(zones, {"observed": flows, "fitted": flows * 0.9}, top_k=TOP_K)}


def _check_read_back(read: dict[str, gpd.GeoDataFrame], layers, epsg: int) -> None:
    assert set(read) == {"zones", "centroids", "flows"}
    assert len(read["zones"]) == len(read["centroids"]) == 318 and len(read["flows"]) == TOP_K
    for name, gdf in read.items():
        assert gdf.crs.to_epsg() == epsg, name
        assert gdf.is_valid.all(), name
    z = read["zones"].set_index("code")
    assert z.index.is_unique
    src = layers["zones"].set_index("code")
    np.testing.assert_allclose(z.population.reindex(src.index), src.population)
    assert (z.name.reindex(src.index) == src.name).all()
    f = read["flows"].set_index(["origin", "destination"]).observed
    expected = layers["flows"].set_index(["origin", "destination"]).observed
    pd.testing.assert_series_equal(f.reindex(expected.index), expected, check_dtype=False)


def test_gpkg_three_layers_in_one_file(tmp_path, layers):
    target = tmp_path / "out.gpkg"
    assert write_layers(layers, target, "gpkg") == [target]
    assert sorted(pyogrio.list_layers(target)[:, 0]) == ["centroids", "flows", "layer_styles", "zones"]
    read = {n: gpd.read_file(target, layer=n) for n in layers}
    _check_read_back(read, layers, 27700)
    assert _dir_listing(tmp_path) == ["out.gpkg"]


def test_parquet_one_file_per_layer(tmp_path, layers):
    files = write_layers(layers, tmp_path / "pq", "parquet")
    assert [f.name for f in files] == ["zones.parquet", "centroids.parquet", "flows.parquet"]
    read = {f.stem: gpd.read_parquet(f) for f in files}
    _check_read_back(read, layers, 27700)
    single = write_layers({"zones": layers["zones"]}, tmp_path / "only.parquet", "parquet")
    assert single == [tmp_path / "only.parquet"] and len(gpd.read_parquet(single[0])) == 318


def test_geojson_is_wgs84(tmp_path, layers):
    files = write_layers(layers, tmp_path / "gj", "geojson")
    assert [f.name for f in files if f.name.endswith(".columns.json")] == [
        "zones.columns.json", "centroids.columns.json", "flows.columns.json"]
    read = {f.stem: gpd.read_file(f) for f in files if f.suffix == ".geojson"}
    _check_read_back(read, layers, 4326)
    xmin, ymin, xmax, ymax = read["zones"].total_bounds
    assert UK_LON[0] < xmin < xmax < UK_LON[1] and UK_LAT[0] < ymin < ymax < UK_LAT[1]
    with pytest.raises(ConfigError, match="crs"):
        write_layers(layers, tmp_path / "gj2", "geojson", crs=27700)


def test_flowmap_csv_pair(tmp_path, zones, flows):
    files = write_flowmap(zones, flows, tmp_path / "fm", top_k=TOP_K)
    assert [f.name for f in files] == ["locations.csv", "flows.csv"]
    loc, fl = (pd.read_csv(f) for f in files)
    assert list(loc.columns) == ["id", "name", "lat", "lon"] and len(loc) == 318
    assert loc.lat.between(*UK_LAT).all() and loc.lon.between(*UK_LON).all()
    assert list(fl.columns) == ["origin", "dest", "count"] and len(fl) == TOP_K
    top = _expected_top(flows, TOP_K)
    assert set(_pairs(fl, dest="dest")) == set(top.index)
    np.testing.assert_array_equal(fl["count"], top.to_numpy())
    assert (fl.origin != fl.dest).all() and (fl["count"] > 0).all()
    everything = pd.read_csv(write_flowmap(zones, flows, tmp_path / "all")[1])
    assert len(everything) == int(((flows > 0) & ~np.eye(len(zones), dtype=bool)).sum())


def test_export_convenience(tmp_path, zones, attrs, flows):
    for fmt, path in [("gpkg", tmp_path / "e.gpkg"), ("parquet", tmp_path / "p"), ("geojson", tmp_path / "g"),
                      ("flowmap", tmp_path / "f")]:
        files = export(path, format=fmt, zones=zones, values=attrs, flows=flows, top_k=10)
        assert files and all(f.is_file() for f in files), fmt
    assert sorted(pyogrio.list_layers(tmp_path / "e.gpkg")[:, 0]) == [
        "centroids", "flows", "layer_styles", "net_flows", "zones"]
    with pytest.raises(ConfigError, match="format"):
        export(tmp_path / "x", format="shp", zones=zones)


# --------------------------------------------------------------------------------------------- atomicity


def test_gpkg_failure_leaves_existing_file_untouched(tmp_path, layers, monkeypatch):
    target = tmp_path / "out.gpkg"
    write_layers({"zones": layers["zones"]}, target, "gpkg")
    before = target.read_bytes()
    real = gpd.GeoDataFrame.to_file
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(kwargs.get("layer"))
        if len(calls) > 1:
            raise OSError("disk full (simulated)")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", failing)
    with pytest.raises(ExportError, match=re.escape("out.gpkg")):
        write_layers(layers, target, "gpkg")
    assert calls == ["zones", "centroids"]
    assert target.read_bytes() == before
    assert _dir_listing(tmp_path) == ["out.gpkg"]


def test_parquet_failure_leaves_existing_file_untouched(tmp_path, layers, monkeypatch):
    target = tmp_path / "zones.parquet"
    write_layers({"zones": layers["centroids"]}, target, "parquet")
    before = target.read_bytes()

    def failing(self, path, *args, **kwargs):
        path.write_bytes(b"half a file")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", failing)
    with pytest.raises(ExportError, match=re.escape("zones.parquet")):
        write_layers({"zones": layers["zones"]}, target, "parquet")
    assert target.read_bytes() == before
    assert _dir_listing(tmp_path) == ["zones.parquet"]


def test_bad_column_writes_nothing(tmp_path, layers):
    target = tmp_path / "out.gpkg"
    write_layers({"zones": layers["zones"]}, target, "gpkg")
    before = target.read_bytes()
    bad = layers["flows"].rename(columns={"fitted": "fitted value"})
    with pytest.raises(ConfigError, match="fitted value"):
        write_layers({"zones": layers["zones"], "flows": bad}, target, "gpkg")
    assert target.read_bytes() == before
    assert _dir_listing(tmp_path) == ["out.gpkg"]


# --------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["1zones", "zones-2023", "", "z" * 64, "zönes"])
def test_bad_layer_name(tmp_path, layers, name):
    with pytest.raises(ConfigError, match="layer name"):
        write_layers({name: layers["zones"]}, tmp_path / "x.gpkg", "gpkg")


@pytest.mark.parametrize("column", ["has space", "a" * 64, "Code", "fid", "x.y"])
def test_bad_column_name(tmp_path, layers, column):
    bad = layers["centroids"][["code", "geometry"]].assign(**{column: 1.0})
    with pytest.raises(ConfigError, match="column") as info:
        write_layers({"centroids": bad}, tmp_path / "x.gpkg", "gpkg")
    assert column in str(info.value)
    assert not (tmp_path / "x.gpkg").exists()


def test_unknown_format(tmp_path, layers):
    with pytest.raises(ConfigError, match="format"):
        write_layers(layers, tmp_path / "x", "shapefile")


def test_several_layers_need_a_directory(tmp_path, layers):
    with pytest.raises(ConfigError, match="directory"):
        write_layers(layers, tmp_path / "x.geojson", "geojson")


@pytest.mark.parametrize("fmt", ["gpkg", "parquet", "geojson", "flowmap"])
def test_unwritable_path(tmp_path, zones, flows, fmt):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    target = blocker / ("out.gpkg" if fmt == "gpkg" else "out")
    with pytest.raises(MigravityError, match="a_file"):
        export(target, format=fmt, zones=zones, flows=flows, top_k=5)
    assert blocker.read_text() == "not a directory"


# ------------------------------------------------------------------------ several files, one unit


def _files(path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.mark.parametrize("error", [OSError("disk full (simulated)"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_a_failed_multi_file_export_leaves_the_earlier_set(tmp_path, layers, monkeypatch, error):
    """The second layer fails after the first was written: every earlier file is kept, no temporary left."""
    out = tmp_path / "gis"
    write_layers({"zones": layers["centroids"], "centroids": layers["centroids"]}, out, "parquet")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = _files(out)
    original, calls = gpd.GeoDataFrame.to_parquet, []

    def second_fails(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise error
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", second_fails)
    with pytest.raises(ExportError if isinstance(error, OSError) else KeyboardInterrupt):
        write_layers({"zones": layers["zones"], "centroids": layers["zones"]}, out, "parquet")
    assert _files(out) == before
    assert _dir_listing(tmp_path) == ["gis"]


def test_a_failed_flowmap_export_leaves_the_earlier_pair(tmp_path, zones, flows, monkeypatch):
    out = tmp_path / "fm"
    write_flowmap(zones, flows, out, top_k=TOP_K)
    with (out / "locations.csv").open("a", encoding="utf-8") as fh:  # an earlier export of other zones
        fh.write("X99999999,Elsewhere,51.0,-1.0\n")
    before = _files(out)
    original = pd.DataFrame.to_csv
    calls = []

    def second_fails(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", second_fails)
    with pytest.raises(KeyboardInterrupt):
        write_flowmap(zones, flows * 2, out)
    assert _files(out) == before and _dir_listing(tmp_path) == ["fm"]


def test_a_second_export_into_the_same_directory_is_refused(tmp_path, layers):
    import os

    out = tmp_path / "gis"
    (tmp_path / ".gis.lock").write_text(f"{os.getppid()}\n", encoding="ascii")
    with pytest.raises(ConfigError, match=rf"process {os.getppid()} is writing it"):
        write_layers({"zones": layers["zones"], "centroids": layers["centroids"]}, out, "geojson")
    assert not out.exists()
