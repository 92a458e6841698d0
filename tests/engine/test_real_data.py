"""The engine on the real Census LAD data: pyfixest agreement, margins, out of sample, the main job.

The model ladder has its own tests: ``tests/analysis/test_ladder.py``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from migravity.engine import calibrate
from migravity.geodata import od_table

if TYPE_CHECKING:
    from cli_helpers import MainJob

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def lad_table(data_dir: Path) -> pd.DataFrame:
    """Census 2021 inter-LAD migration, 331 zones on 2021 codes, with distance and border."""
    return od_table(attribute_vars=(), data_dir=data_dir)


@pytest.fixture(scope="module")
def lad_fit(lad_table: pd.DataFrame):
    """Doubly-constrained PPML: log distance + border."""
    return calibrate(lad_table, origin="origin", destination="destination", flow="flow",
                     cost="distance_km", terms=["border"], constraint="doubly")


def test_real_table_shape(lad_table: pd.DataFrame) -> None:
    """331 x 330 pairs carrying the 2,752,607 inter-LAD moves."""
    assert len(lad_table) == 109_230
    assert lad_table["flow"].sum() == 2_752_607


def test_matches_pyfixest_on_real_lad_data(lad_table: pd.DataFrame, lad_fit) -> None:
    """Coefficients equal pyfixest fepois (origin + destination fixed effects) to 1e-6 relative."""
    t = lad_table.assign(log_dist=np.log(lad_table["distance_km"]))
    ref = pf.fepois("flow ~ log_dist + border | origin + destination", data=t, iwls_tol=1e-12)
    coef = ref.coef()
    np.testing.assert_allclose(lad_fit.coefficients["log(distance_km)"], coef["log_dist"], rtol=1e-6)
    np.testing.assert_allclose(lad_fit.coefficients["border"], coef["border"], rtol=1e-6)
    assert lad_fit.converged
    assert lad_fit.coefficients["log(distance_km)"] < 0 < lad_fit.coefficients["border"]


def test_real_doubly_constrained_margins(lad_table: pd.DataFrame, lad_fit) -> None:
    """Fitted flows reproduce every origin's and destination's observed total to 1e-9 relative."""
    fitted = lad_fit.predict()
    frame = lad_table.assign(fitted=fitted.to_numpy())
    for end in ("origin", "destination"):
        sums = frame.groupby(end)[["flow", "fitted"]].sum()
        np.testing.assert_allclose(sums["fitted"], sums["flow"], rtol=1e-9)


def test_out_of_sample(main_job: MainJob) -> None:
    """Calibrated on Census 2011, the model predicts Census 2021 about as well as in sample (the main job's)."""
    assert "out_of_sample" in main_job.returned, main_job.stderr
    oos = main_job.returned["out_of_sample"]
    scores = oos.scores
    assert scores.shape == (3, 2)
    assert ((scores["cpc"] > 0.5) & (scores["cpc"] < 1)).all()
    assert abs(scores["cpc"].iloc[0] - scores["cpc"].iloc[1]) < 0.05
    assert oos.coefficients_2011["log(distance_km)"] < 0


def test_report_cli_main_job(main_job: MainJob) -> None:
    """`migravity report` (the README's main job) runs end to end on the real data and writes JSON."""
    assert main_job.returncode == 0, main_job.stderr
    assert "Model ladder" in main_job.stdout and "Out of sample" in main_job.stdout
    assert "migravity datasets" in main_job.stdout and "Census 2021" in main_job.stdout  # status and facts
    payload = main_job.payload
    assert set(payload["ladder"]) == {"M1", "M2", "M3", "M4"}
    assert payload["ladder"]["M4"]["n_pairs"] == 2 * 318 * 317  # pooled Census 2011 and 2021, E&W, 2023 codes
    assert payload["options"]["period"] == "pooled" and len(payload["paper_comparison"]) == 16
    assert payload["out_of_sample"]["coefficients_2011"] == main_job.returned["out_of_sample"].coefficients_2011
