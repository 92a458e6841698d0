"""The run's report page without a browser: self-contained HTML, every scenario, the tables, the attribution."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import cli_helpers
import numpy as np
import pytest
from report_fixtures import CHANGES, NAMES, SCENARIOS, synthetic_zones, write_synthetic_run

from migravity.cli.export import register
from migravity.errors import ConfigError
from migravity.outputs.report_page import ATTRIBUTION, REPORT_FILE, boundaries_geojson, write_report_page
from migravity.scenarios import rundir
from migravity.scenarios.rundir import RunDir, open_run


@pytest.fixture()
def synthetic(tmp_path: Path) -> RunDir:
    return write_synthetic_run(tmp_path / "run")


@pytest.fixture()
def page(synthetic: RunDir) -> str:
    return write_report_page(synthetic, zones=synthetic_zones()).read_text(encoding="utf-8")


def values(x: object) -> list[object]:
    """A plotly data array: a list, or a typed array ``{"dtype", "bdata"[, "shape"]}`` (base64)."""
    if isinstance(x, dict) and "bdata" in x:
        arr = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
        return arr.reshape([int(n) for n in str(x["shape"]).split(",")]).tolist() if "shape" in x else arr.tolist()
    assert isinstance(x, list)
    return x


def _json_block(page: str, block_id: str) -> object:
    m = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_page_is_self_contained(page: str) -> None:
    """plotly's bundle is inline; no script, stylesheet, font or image comes from the network."""
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs()[:2000] in page  # the embedded bundle
    assert not re.search(r"<script[^>]+src=", page, re.I)
    assert not re.search(r"<link[^>]+href=", page, re.I)
    assert not re.search(r"""src=["']?https?:""", page, re.I)
    assert "@import" not in page and "@font-face" not in page
    assert page.count('id="mg-geo"') == 1  # the boundaries embedded once


def test_every_scenario_and_its_data(page: str) -> None:
    data = _json_block(page, "mg-data")
    assert isinstance(data, dict)
    assert data["initial"] == "alpha"  # the first scenario that is not the baseline
    assert list(data["scenarios"]) == list(SCENARIOS)
    for sc in SCENARIOS:
        assert f'<option value="{sc}"' in page
        maps = data["scenarios"][sc]["map"]
        count = maps["count"]["data"][0]
        assert [round(z) for z in values(count["z"])] == [round(c) for c in CHANGES[sc]]
        assert [c[0] for c in values(count["customdata"])] == list(NAMES)  # hover: the LAD's name
        assert "5-95%" in count["hovertemplate"]
        pct = values(maps["pct"]["data"][0]["z"])
        assert pct[0] == pytest.approx(100 * CHANGES[sc][0] / 1000.0)  # percent of the LAD's baseline
        assert sc in data["scenarios"][sc]["regions"]["layout"]["title"]["text"]
        assert "error_x" in data["scenarios"][sc]["imd"]["data"][0]
        assert f'data-scenario="{sc}"' in page and f'data-row="{sc}"' in page


def test_geojson_is_wgs84_with_codes(page: str) -> None:
    geo = _json_block(page, "mg-geo")
    assert isinstance(geo, dict)
    assert [f["id"] for f in geo["features"]] == list(synthetic_zones().codes)
    lon, lat = geo["features"][0]["geometry"]["coordinates"][0][0]
    assert -3.0 < lon < 0.0 and 54.0 < lat < 56.0  # Northumberland-ish, longitude/latitude


def test_tables_and_attribution(page: str) -> None:
    for text in ATTRIBUTION:
        assert text.replace("©", "&copy;") in page or text in page
    assert "Open Government Licence v3.0" in page
    assert "Contains OS data © Crown copyright and database right" in page
    assert "beta_distance" in page and "identified" in page and "assumed" in page
    assert "[1.1, 1.5]" in page  # an assumed parameter's range
    assert "SE 0.03" in page
    assert "Scenario alpha &lt;for tests&gt;" in page  # descriptions escaped
    assert page.count("<td>reference</td>") >= 1  # the baseline row
    assert "narrows" in page
    # the flows tables: one per scenario, top pairs named
    assert page.count('<table class="flows">') == len(SCENARIOS) - 1  # the baseline's flows do not change
    assert "Alphaton" in page


def test_boundaries_simplified_and_rounded() -> None:
    geo = boundaries_geojson(synthetic_zones(), decimals=3)
    ring = geo["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and all(len(str(x).split(".")[-1]) <= 3 for pt in ring for x in pt)


def test_write_is_atomic_and_run_still_verifies(synthetic: RunDir) -> None:
    path = write_report_page(synthetic.path, zones=synthetic_zones())
    assert path == synthetic.path / REPORT_FILE
    assert sorted(p.name for p in synthetic.path.iterdir()) == sorted(
        ["manifest.json", "results.nc", "summary.csv", REPORT_FILE])  # no temporary left
    open_run(synthetic.path)  # the page is beside the manifest-listed files, not among them
    rundir._check_replaceable(synthetic.path)  # an earlier run with its page may be replaced
    (synthetic.path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError):
        rundir._check_replaceable(synthetic.path)


def test_missing_summary_column_is_named(synthetic: RunDir, tmp_path: Path) -> None:
    from migravity.errors import MalformedDataError

    table = synthetic.summary().drop(columns=["change_q95"])
    table.to_csv(synthetic.path / "summary.csv", index=False)
    with pytest.raises(MalformedDataError, match="change_q95"):
        write_report_page(open_run(rundir.seal(synthetic.path)), tmp_path / "x.html", zones=synthetic_zones())


@pytest.mark.realdata
def test_report_page_command(sample_run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``migravity report-page RUN`` (re)builds RUN/report.html; ``--out`` elsewhere; a bad --out: exit 2."""
    copy = tmp_path / "run"
    shutil.copytree(sample_run_dir, copy)
    (copy / REPORT_FILE).unlink(missing_ok=True)
    assert cli_helpers.invoke(["report-page", str(copy)], monkeypatch, register) == 0
    page = (copy / REPORT_FILE).read_text(encoding="utf-8")
    assert "wfh_uptake" in page and page.count('id="mg-geo"') == 1
    geo = _json_block(page, "mg-geo")
    assert isinstance(geo, dict) and len(geo["features"]) == 318
    assert (copy / REPORT_FILE).stat().st_size < 8e6
    open_run(copy)
    other = tmp_path / "elsewhere" / "page.html"
    assert cli_helpers.invoke(["report-page", str(copy), "--out", str(other)], monkeypatch, register) == 0
    assert other.is_file()
    assert cli_helpers.invoke(["report-page", str(copy), "--out", str(tmp_path / "p.png")], monkeypatch,
                              register) == 2
