"""GIS conveniences on synthetic zones: QGIS styles, column docs, net flow lines."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from report_fixtures import CODES, synthetic_zones

from migravity.outputs.column_docs import COLUMN_DOCS, column_doc, undocumented
from migravity.outputs.export import export, net_flows_layer
from migravity.outputs.gis_styles import RDBU, default_style, polygon_qml, symmetric_breaks

N = len(CODES)


@pytest.fixture(scope="module")
def zones():
    return synthetic_zones()


def _matrix(values: np.ndarray, name: str) -> xr.DataArray:
    return xr.DataArray(values, dims=("origin", "destination"), coords={"origin": list(CODES),
                        "destination": list(CODES)}, name=name)


@pytest.fixture(scope="module")
def flows() -> dict[str, xr.DataArray]:
    rng = np.random.default_rng(3)
    scen = rng.integers(1, 100, size=(N, N)).astype(float)
    base = rng.integers(1, 100, size=(N, N)).astype(float)
    return {"hs_flows": _matrix(scen, "hs_flows"), "baseline_hs_flows": _matrix(base, "baseline_hs_flows"),
            "change_hs_flows": _matrix(scen - base, "change_hs_flows")}


@pytest.fixture(scope="module")
def values() -> pd.DataFrame:
    return pd.DataFrame({"hs_change_q50": [120.0, 30.0, -100.0, -50.0], "hs_stock_mean": [1e3, 2e3, 5e3, 4e3],
                         "change_hs_stock_mean": [1.0, 2.0, -3.0, 0.0]}, index=list(CODES))


# --------------------------------------------------------------------------------------------- net flows


def test_net_flows_direction_and_values(zones, flows):
    layer = net_flows_layer(zones, flows)
    f = flows["hs_flows"].to_numpy()
    assert len(layer) == int(np.sum(np.triu(f - f.T, 1) != 0))  # one line per pair with a net flow
    pos = {c: i for i, c in enumerate(CODES)}
    for row in layer.itertuples():
        i, j = pos[row.origin], pos[row.destination]
        assert row.net_hs_flows == f[i, j] - f[j, i] > 0  # drawn from the larger to the smaller side
        b = flows["baseline_hs_flows"].to_numpy()
        assert row.net_baseline_hs_flows == b[i, j] - b[j, i]
        assert row.net_change_hs_flows == pytest.approx(row.net_hs_flows - row.net_baseline_hs_flows)
        start, end = np.asarray(row.geometry.coords)[[0, -1]]
        np.testing.assert_allclose(start, zones.geometry.iloc[i].centroid.coords[0])
        np.testing.assert_allclose(end, zones.geometry.iloc[j].centroid.coords[0])
    assert layer.net_hs_flows.is_monotonic_decreasing


def test_net_flows_filters_apply_to_the_net_value(zones):
    f = np.zeros((N, N))
    f[0, 1], f[1, 0] = 100.0, 90.0  # gross large, net 10
    f[2, 3], f[3, 2] = 5.0, 30.0  # net 25 from 3 to 2
    f[0, 2] = 12.0
    layer = net_flows_layer(zones, {"flow": _matrix(f, "flow")}, top_k=2)
    assert list(zip(layer.origin, layer.destination, layer.net_flow, strict=True)) == [
        (CODES[3], CODES[2], 25.0), (CODES[0], CODES[2], 12.0)]
    thr = net_flows_layer(zones, {"flow": _matrix(f, "flow")}, threshold=11)
    assert set(thr.net_flow) == {25.0, 12.0}
    assert net_flows_layer(zones, {"flow": _matrix(f + f.T, "flow")}) is None  # symmetric: no net flow


# --------------------------------------------------------------------------------------------- styles


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60))
def test_symmetric_breaks(values):
    edges = symmetric_breaks(values)
    assert len(edges) == 2 * 3 + 1 and edges[3] == 0.0
    np.testing.assert_array_equal(edges, -edges[::-1])
    assert np.all(np.diff(edges) > 0)
    assert edges[0] <= min(values) and max(values) <= edges[-1]


def test_zone_style_is_diverging_and_centred(zones, values):
    qml = polygon_qml("hs_change_q50", values["hs_change_q50"])
    root = ET.fromstring(qml.split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol" and renderer.get("attr") == "hs_change_q50"
    ranges = renderer.findall("ranges/range")
    lowers = np.array([float(r.get("lower")) for r in ranges])
    uppers = np.array([float(r.get("upper")) for r in ranges])
    edges = np.append(lowers, uppers[-1])
    np.testing.assert_array_equal(edges, -edges[::-1])
    assert 0.0 in edges and edges[0] <= -120 and edges[-1] >= 120
    colours = [s.find("layer/Option/Option[@name='color']").get("value") for s in renderer.findall("symbols/symbol")]
    assert colours == [f"{c},255" for c in RDBU]  # red (loss) below zero, blue (gain) above
    assert qml == polygon_qml("hs_change_q50", values["hs_change_q50"])  # deterministic


def _gpkg(zones, flows, values, tmp_path):
    target = tmp_path / "out.gpkg"
    export(target, format="gpkg", zones=zones, values=values, flows=flows)
    return target


def test_gpkg_layer_styles_and_data_columns(zones, flows, values, tmp_path):
    target = _gpkg(zones, flows, values, tmp_path)
    assert sorted(pyogrio.list_layers(target)[:, 0]) == ["centroids", "flows", "layer_styles", "net_flows", "zones"]
    with sqlite3.connect(target) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
        assert cols == ["id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
                        "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time"]
        styles = {r[0]: r[1:] for r in con.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles")}
        contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
        docs = {(t, c): (title, d) for t, c, title, d in con.execute(
            "SELECT table_name, column_name, title, description FROM gpkg_data_columns")}
        ext = {(r[0], r[1]) for r in con.execute("SELECT table_name, extension_name FROM gpkg_extensions")}
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert set(styles) == {"zones", "centroids", "flows", "net_flows"}
    assert contents["layer_styles"] == "attributes" and contents["zones"] == "features"
    assert {("gpkg_data_columns", "gpkg_schema"), ("gpkg_data_column_constraints", "gpkg_schema")} <= ext
    geom, qml, default = styles["zones"]
    assert default == 1 and geom == "geom"
    zone_renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert zone_renderer.get("attr") == "hs_change_q50"
    flow_renderer = ET.fromstring(styles["flows"][1].split("\n", 1)[1]).find("renderer-v2")
    assert flow_renderer.get("attr") == "hs_flows" and flow_renderer.get("graduatedMethod") == "GraduatedSize"
    widths = [float(s.find("layer/Option/Option[@name='line_width']").get("value"))
              for s in flow_renderer.findall("symbols/symbol")]
    assert widths == sorted(widths) and len(set(widths)) == len(widths)
    net_renderer = ET.fromstring(styles["net_flows"][1].split("\n", 1)[1]).find("renderer-v2")
    assert net_renderer.get("attr") == "net_hs_flows"
    for layer in ("zones", "centroids", "flows", "net_flows"):
        names = [c for c in gpd.read_file(target, layer=layer).columns if c != "geometry"]
        assert {c for (t, c) in docs if t == layer} == set(names), layer
    assert docs[("flows", "distance_km")][1].endswith("(km)")
    assert "scenario minus baseline" in docs[("zones", "change_hs_stock_mean")][1]
    # still readable as a GeoPackage, and a rewrite replaces (not duplicates) the styles
    export(target, format="gpkg", zones=zones, values=values, flows=flows)
    with sqlite3.connect(target) as con:
        assert con.execute("SELECT COUNT(*) FROM layer_styles").fetchone()[0] == 4


def test_parquet_and_geojson_carry_column_docs(zones, flows, values, tmp_path):
    files = export(tmp_path / "pq", format="parquet", zones=zones, values=values, flows=flows)
    schema = pq.read_schema(tmp_path / "pq" / "zones.parquet")
    assert schema.field("hs_change_q50").metadata[b"units"] == b"workers"
    assert b"geo" in schema.metadata and b"migravity:columns" in schema.metadata
    assert len(gpd.read_parquet(files[0])) == N
    files = export(tmp_path / "gj", format="geojson", zones=zones, values=values, flows=flows)
    sidecar = tmp_path / "gj" / "net_flows.columns.json"
    assert sidecar in files
    doc = json.loads(sidecar.read_text(encoding="utf-8"))
    assert set(doc) == {"origin", "destination", "origin_name", "destination_name", "distance_km", "net_hs_flows",
                        "net_baseline_hs_flows", "net_change_hs_flows"}
    assert doc["net_hs_flows"]["units"] == "workers per year"


def test_column_doc_rules():
    assert column_doc("hs_change_q05").description.endswith("5% quantile over the draws")
    assert column_doc("hs_stock_q97p5").title.endswith("(97.5% quantile)")
    assert column_doc("pct_change_hs_stock_mean").units == "percent"
    assert column_doc("baseline_hs_flows").units == "workers per year"
    assert undocumented(["code", "hs_change_q50", "mystery", "geometry"]) == ["mystery"]
    assert all(d.description for d in COLUMN_DOCS.values())


def test_default_style_without_change_column(zones):
    title, description = default_style(zones.frame())
    assert "singleSymbol" in title and "plain" in description


# --------------------------------------------------------------------------------------------- calibration


def _od_table(rng: np.random.Generator, codes, xy) -> pd.DataFrame:
    rows = []
    for i, o in enumerate(codes):
        for j, d in enumerate(codes):
            if i != j:
                km = float(np.hypot(*(np.asarray(xy[i]) - np.asarray(xy[j])))) / 1000.0
                rows.append({"origin": o, "destination": d, "distance_km": km,
                             "flow": float(rng.poisson(500.0 / km))})
    return pd.DataFrame(rows)


def test_export_calibration_observed_fitted_residual(zones, tmp_path):
    from migravity.engine import calibrate
    from migravity.outputs.export_calibration import export_calibration

    xy = [g.centroid.coords[0] for g in zones.geometry]
    table = _od_table(np.random.default_rng(5), CODES, xy)
    result = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km")
    target = tmp_path / "fit.gpkg"
    export_calibration(target, result, zones, top_k=5)
    flows = gpd.read_file(target, layer="flows")
    assert len(flows) == 5 and flows.observed.is_monotonic_decreasing
    fitted = result.fitted.to_series()
    observed = table.set_index(["origin", "destination"]).flow
    for row in flows.itertuples():
        assert row.observed == observed[(row.origin, row.destination)]
        assert row.fitted == pytest.approx(fitted[(row.origin, row.destination)])
        assert row.residual_pearson == pytest.approx((row.observed - row.fitted) / np.sqrt(row.fitted))
    zl = gpd.read_file(target, layer="zones").set_index("code")
    np.testing.assert_allclose(zl.observed_out.reindex(list(CODES)),
                               observed.groupby(level=0).sum().reindex(list(CODES)))
    np.testing.assert_allclose(zl.fitted_in.sum(), fitted.sum())
    net = gpd.read_file(target, layer="net_flows")
    assert (net.net_observed > 0).all()
    with sqlite3.connect(target) as con:
        assert "residual" in con.execute("SELECT description FROM gpkg_data_columns WHERE table_name='flows' "
                                         "AND column_name='residual_pearson'").fetchone()[0].lower()


def test_export_calibration_refuses_non_zone_labels(zones, tmp_path):
    from migravity.engine import calibrate
    from migravity.errors import ConfigError
    from migravity.outputs.export_calibration import export_calibration

    xy = [(0.0, 0.0), (10000.0, 0.0), (0.0, 15000.0), (9000.0, 9000.0)]
    table = _od_table(np.random.default_rng(1), ["a", "b", "c", "d"], xy)
    result = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km")
    with pytest.raises(ConfigError, match="calibration labels"):
        export_calibration(tmp_path / "x.gpkg", result, zones)
    assert not (tmp_path / "x.gpkg").exists()
