"""Doubly-constrained coefficients against pyfixest's ``fepois`` (two-way fixed effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyfixest as pf

from migravity.engine import calibrate, synthetic_od_table


def compare_with_fepois(table: pd.DataFrame, rtol: float = 1e-6) -> None:
    """Fit ``flow ~ log(distance_km) + border | origin + destination`` both ways and compare.

    ``table`` needs columns ``origin, destination, flow, distance_km, border``; point this at
    the real Census 2021 LAD table (``migravity.geodata.od_table``) once it exists.
    """
    t = table.assign(log_dist=np.log(table["distance_km"]))
    ref = pf.fepois("flow ~ log_dist + border | origin + destination", data=t, iwls_tol=1e-12)
    ours = calibrate(t, origin="origin", destination="destination", flow="flow",
                     cost="distance_km", terms=["border"], constraint="doubly")
    coef = ref.coef()
    np.testing.assert_allclose(ours.coefficients["log(distance_km)"], coef["log_dist"], rtol=rtol)
    np.testing.assert_allclose(ours.coefficients["border"], coef["border"], rtol=rtol)


def test_fepois_synthetic() -> None:
    compare_with_fepois(synthetic_od_table(60, np.random.default_rng(3)))
