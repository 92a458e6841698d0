"""``migravity report --html``: the main job's self-contained, offline report page."""

from __future__ import annotations

import re
from pathlib import Path

import cli_helpers
import numpy as np
import pandas as pd
import pytest

from migravity.outputs.report_main import FIGURE_IDS, build_main_report_page, write_main_report_page
from migravity.outputs.report_page import ATTRIBUTION

SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc\s*=", re.IGNORECASE)
REMOTE = re.compile(r"<(?:script|link|img|iframe)[^>]*(?:src|href)\s*=\s*[\"']?https?:", re.IGNORECASE)


def _check_page(text: str) -> None:
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert not SCRIPT_SRC.search(text), "every script is inline"
    assert not REMOTE.search(text), "no remote resource"
    assert "Plotly.newPlot" in text and len(text) > 3_000_000  # plotly's bundle embedded
    for fid in FIGURE_IDS:
        assert f'<div id="{fid}"></div>' in text
    assert "Open Government Licence v3.0" in text
    assert "Contains OS data © Crown copyright and database right" in text
    for line in ATTRIBUTION:
        assert line.replace("'", "&#x27;") in text or line in text


def _payload() -> dict:
    comparison = [{"model": m, "term": f"q{q}", "label": f"Q{q}", "ours": 0.1 * q, "ours_se": 0.02,
                   "ours_stars": "***", "paper": 0.09 * q, "paper_se": 0.03, "paper_stars": "**",
                   "diff_in_our_se": 0.5, "same_sign": True} for m in ("M1", "M2") for q in (2, 3)]
    return {"design": "synthetic ladder", "n_pairs": 100, "paper": "A paper (2024)", "paper_comparison": comparison,
            "out_of_sample": {"scores": {"2011 model": {"cpc": 0.71, "srmse": 1.2},
                                         "2021 model": {"cpc": 0.73, "srmse": 1.1}},
                              "coefficients_2011": {"log(distance_km)": -1.5}, "coefficients_2021": {"border": 0.4}}}


def test_page_from_a_payload(tmp_path: Path) -> None:
    """Built from the main job's JSON and the facts tables alone (no data directory)."""
    mat = pd.DataFrame(np.arange(1, 26, dtype=float).reshape(5, 5) * 1000, index=range(1, 6), columns=range(1, 6))
    wfh = pd.DataFrame({"workers": [100.0, 200.0], "wfh": [30.0, 50.0], "share": [0.3, 0.25]},
                       index=["London", "Wales"])
    out = write_main_report_page(tmp_path / "main.html", _payload(), mat, wfh, title_note="note")
    text = out.read_text(encoding="utf-8")
    _check_page(text)
    assert "synthetic ladder" in text and "2011 model" in text and "lad_boundaries_2024" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.html"]  # atomic: no temporary left


def test_page_without_facts_still_has_every_section() -> None:
    text = build_main_report_page(_payload())
    assert "mg-ladder" in text and "mg-oos" in text and not SCRIPT_SRC.search(text)


def test_html_option_is_checked_before_any_work(tmp_path: Path) -> None:
    res = cli_helpers.run(["report", "--html", str(tmp_path / "page.txt")])
    assert res.returncode == 2 and "--html" in res.stderr


@pytest.mark.realdata
def test_main_job_writes_the_page(main_job: cli_helpers.MainJob) -> None:
    assert main_job.returncode == 0, main_job.stderr
    assert main_job.html is not None and main_job.html.is_file()
    text = main_job.html.read_text(encoding="utf-8")
    _check_page(text)
    assert "Census 2021" in text and "published Table 1" in text
