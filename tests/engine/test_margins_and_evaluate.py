"""Margins of fitted and evaluated flows; evaluate_flows against a loop Furness reference."""

from __future__ import annotations

import numpy as np
import pytest
from reference_ppml import furness_loop

from migravity.engine import calibrate, calibrate_arrays, evaluate_flows


def _fit(t, constraint):
    return calibrate(t, origin="origin", destination="destination", flow="flow",
                     cost="distance_km", terms=["border"], constraint=constraint)


@pytest.mark.parametrize("constraint", ["production", "attraction", "doubly"])
def test_fitted_margins(small_table, constraint):
    r = _fit(small_table, constraint)
    y = np.nan_to_num(r.observed.to_numpy())
    mu = np.nan_to_num(r.fitted.to_numpy())
    if constraint in ("production", "doubly"):
        np.testing.assert_allclose(mu.sum(1), y.sum(1), rtol=1e-9)
    if constraint in ("attraction", "doubly"):
        np.testing.assert_allclose(mu.sum(0), y.sum(0), rtol=1e-9)


def test_evaluate_doubly_matches_loop_furness():
    rng = np.random.default_rng(1)
    n = 25
    cost = rng.uniform(1, 100, (n, n))
    border = (rng.uniform(size=(n, n)) < 0.2).astype(float)
    o = rng.uniform(10, 100, n)
    d = rng.uniform(10, 100, n)
    d *= o.sum() / d.sum()
    flows = evaluate_flows({"log(cost)": -1.3, "border": 0.4}, cost=cost,
                           pair_terms={"border": border}, constraint="doubly",
                           origin_totals=o, destination_totals=d)
    assert flows.attrs["converged"] and flows.attrs["max_error"] < 1e-10
    np.testing.assert_allclose(flows.sum("destination"), o, rtol=1e-9)
    np.testing.assert_allclose(flows.sum("origin"), d, rtol=1e-9)
    ref = furness_loop(np.exp(-1.3 * np.log(cost) + 0.4 * border), o, d, tol=1e-13)
    np.testing.assert_allclose(flows.to_numpy(), ref, rtol=1e-8)


def test_evaluate_other_constraints_and_result_params(small_table):
    r = _fit(small_table, "none")
    n = len(r.fitted.origin)
    cost = np.nan_to_num(small_table.pivot(index="origin", columns="destination",
                                           values="distance_km").to_numpy(), nan=1.0)
    border = np.nan_to_num(small_table.pivot(index="origin", columns="destination",
                                             values="border").to_numpy())
    mask = ~np.eye(n, dtype=bool)
    flows = evaluate_flows(r, cost=cost, pair_terms={"border": border}, mask=mask)
    np.testing.assert_allclose(flows.to_numpy()[mask], np.nan_to_num(r.fitted.to_numpy())[mask],
                               rtol=1e-9)
    o = np.arange(1.0, n + 1)
    coefs = {"log(cost)": r.coefficients["log(distance_km)"], "border": r.coefficients["border"]}
    prod = evaluate_flows(coefs, cost=cost, pair_terms={"border": border}, mask=mask,
                          constraint="production", origin_totals=o)
    np.testing.assert_allclose(prod.sum("destination"), o, rtol=1e-12)
    att = evaluate_flows(coefs, cost=cost, pair_terms={"border": border}, mask=mask,
                         constraint="attraction", destination_totals=o)
    np.testing.assert_allclose(att.sum("origin"), o, rtol=1e-12)


def test_predict_new_table(small_table):
    r = _fit(small_table, "doubly")
    np.testing.assert_allclose(r.predict(small_table), r.predict(), rtol=1e-7)


def test_arrays_api_matches_table(small_table):
    r = _fit(small_table, "doubly")
    pivot = small_table.pivot(index="origin", columns="destination")
    mask = pivot["flow"].notna().to_numpy()
    ra = calibrate_arrays(pivot["flow"].fillna(0).to_numpy(),
                          cost=pivot["distance_km"].fillna(1).to_numpy(),
                          pair_terms={"border": pivot["border"].fillna(0).to_numpy()},
                          mask=mask, constraint="doubly")
    np.testing.assert_allclose(ra.coefficients["log(cost)"], r.coefficients["log(distance_km)"],
                               rtol=1e-9)
    np.testing.assert_allclose(ra.std_errors["border"], r.std_errors["border"], rtol=1e-9)
