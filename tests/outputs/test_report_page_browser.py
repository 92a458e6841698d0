"""The report page in a real headless browser (Debian's ``chromium`` and ``chromium-driver``, via selenium).

With the network off (no proxy, every host name unresolvable, DevTools offline emulation): the page
loads from a ``file://`` URL, logs no console error and requests nothing from the network; the map
(one SVG path per LAD) and both charts render; a screenshot is not blank; switching scenario changes
the map's data, its title and the flows table shown, and the percent toggle changes the colour bar.

Skipped, saying why, when no chromium binary, chromedriver or selenium is found (``.ci/run`` installs
them). ``MIGRAVITY_REPORT_SCREENSHOT=FILE`` also saves the real run's screenshot there (the README's
``docs/img/report_page.png``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from report_fixtures import SCENARIOS, synthetic_zones, write_synthetic_run

from migravity.outputs.report_page import write_report_page

pytestmark = pytest.mark.browser

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
WIDTH, HEIGHT = 1280, 1600


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no chromium binary found (Debian: apt-get install chromium chromium-driver)")
    if CHROMEDRIVER is None:
        pytest.skip("no chromedriver found (Debian: apt-get install chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},{HEIGHT}", "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND",
                "--disable-background-networking", "--disable-component-update", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        drv.execute_cdp_cmd("Network.enable", {})
        drv.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                 "downloadThroughput": -1, "uploadThroughput": -1})
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module", params=["synthetic", pytest.param("real", marks=pytest.mark.realdata)])
def page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The report page of the synthetic run, and of the small real run (``sample_run_dir``)."""
    if request.param == "synthetic":
        run = write_synthetic_run(tmp_path_factory.mktemp("synthetic") / "run")
        return "synthetic", write_report_page(run, zones=synthetic_zones())
    run_dir: Path = request.getfixturevalue("sample_run_dir")
    out = tmp_path_factory.mktemp("real") / "report.html"
    return "real", write_report_page(run_dir, out)


def _wait_shown(drv: Any, expected: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, 60).until(lambda d: d.execute_script(
        "var m = document.querySelectorAll('#mg-map path.choroplethlocation').length;"
        "return document.body.getAttribute('data-shown') === arguments[0] && m > 0;", expected))


def _map_state(drv: Any) -> dict[str, Any]:
    return dict(drv.execute_script("""
        var g = document.getElementById('mg-map');
        var t = document.querySelector('#mg-map .gtitle');
        var cb = document.querySelector('#mg-map .cbtitle');
        var shown = Array.from(document.querySelectorAll('[data-scenario]')).filter(function (e) {
            return !e.hidden; }).map(function (e) { return e.getAttribute('data-scenario'); });
        var fills = Array.from(document.querySelectorAll('#mg-map path.choroplethlocation')).map(function (p) {
            return window.getComputedStyle(p).fill; });
        return {z: Array.from(g._fullData[0].z), fills: fills, title: t ? t.textContent : '',
                colorbar: cb ? cb.textContent : '',
                locations: document.querySelectorAll('#mg-map path.choroplethlocation').length, shown: shown,
                regions: document.querySelectorAll('#mg-regions svg .bars path').length,
                imd: document.querySelectorAll('#mg-imd svg .bars path').length,
                errorbars: document.querySelectorAll('#mg-regions svg .errorbar').length};
    """))


def _non_white(png: bytes) -> float:
    import io

    from matplotlib.image import imread

    img = imread(io.BytesIO(png), format="png")[..., :3]
    return float((img.min(axis=-1) < 0.95).mean())


def _save_small(png: bytes, out: Path) -> None:
    """Save a screenshot as a small palette PNG (for the README)."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(out, optimize=True)


def test_page_in_headless_chromium(driver: Any, page: tuple[str, Path], tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import Select

    kind, path = page
    assert path.stat().st_size < 8e6
    driver.get_log("browser")  # drop earlier pages' entries
    driver.get(path.resolve().as_uri())
    initial = str(driver.execute_script("return document.getElementById('mg-scenario').value"))
    _wait_shown(driver, f"{initial}:count")
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == [], errors
    requested = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })")
    assert [u for u in requested if not str(u).startswith(("file:", "data:", "blob:"))] == []

    first = _map_state(driver)
    n_zones = len(synthetic_zones()) if kind == "synthetic" else 318
    assert first["locations"] == n_zones
    assert first["regions"] > 0 and first["imd"] > 0 and first["errorbars"] > 0
    assert initial in first["title"] and first["shown"] == [initial] * 2  # description and flows table
    png = driver.get_screenshot_as_png()
    (tmp_path / f"{kind}.png").write_bytes(png)
    assert _non_white(png) > 0.05
    if kind == "real" and os.environ.get("MIGRAVITY_REPORT_SCREENSHOT"):
        _save_small(png, Path(os.environ["MIGRAVITY_REPORT_SCREENSHOT"]))

    names = [str(o.get_attribute("value")) for o in Select(driver.find_element("id", "mg-scenario")).options]
    if kind == "synthetic":
        assert names == list(SCENARIOS)
    other = next((n for n in names if n not in (initial, "baseline")), "baseline")  # another, else the baseline
    Select(driver.find_element("id", "mg-scenario")).select_by_value(other)
    _wait_shown(driver, f"{other}:count")
    second = _map_state(driver)
    assert other in second["title"] and initial not in second["title"]
    assert second["shown"] == [other] * 2
    assert len(first["z"]) == len(second["z"]) == n_zones and not np.allclose(first["z"], second["z"])
    assert first["fills"] != second["fills"]  # the map redrawn in other colours
    assert driver.execute_script("return document.querySelector('tr.selected').getAttribute('data-row')") == other

    driver.find_element("css selector", 'input[name="mg-unit"][value="pct"]').click()
    _wait_shown(driver, f"{other}:pct")
    third = _map_state(driver)
    assert "%" in third["colorbar"] and third["colorbar"] != second["colorbar"]
    assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []
