"""Coefficients, robust/clustered SEs and likelihood statistics against statsmodels' GLM with
dummy fixed effects, and against the NumPy IRLS reference, for every constraint and deterrence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from reference_ppml import dummy_design, ppml_dummies

from migravity.engine import calibrate

CONSTRAINTS = ["none", "production", "attraction", "doubly"]
DETERRENCES = ["power", "exponential", "tanner"]


def _sm_fit(t: pd.DataFrame, constraint: str, deterrence: str, cov_type: str, groups=None):
    cost = {"power": ["log_dist"], "exponential": ["distance_km"],
            "tanner": ["log_dist", "distance_km"]}[deterrence]
    x = t[[*cost, "border"]].to_numpy(dtype=float)
    oi, _ = pd.factorize(t["origin"], sort=True)
    dj, _ = pd.factorize(t["destination"], sort=True)
    design, k = dummy_design(x, oi, dj, oi.max() + 1, dj.max() + 1, constraint)
    kw = {"cov_kwds": {"groups": groups}} if groups is not None else {}
    res = sm.GLM(t["flow"].to_numpy(), design, family=sm.families.Poisson()).fit(
        tol=1e-13, cov_type=cov_type, **kw
    )
    return res, design, k


def _names(deterrence: str) -> list[str]:
    return {"power": ["log(distance_km)"], "exponential": ["distance_km"],
            "tanner": ["log(distance_km)", "distance_km"]}[deterrence] + ["border"]


@pytest.mark.parametrize("deterrence", DETERRENCES)
@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_coefficients_and_hc0(small_table, constraint, deterrence):
    t = small_table
    ours = calibrate(t, origin="origin", destination="destination", flow="flow",
                     cost="distance_km", deterrence=deterrence, constraint=constraint,
                     terms=["border"], se="robust")
    assert ours.converged
    res, design, k = _sm_fit(t, constraint, deterrence, "HC0")
    names = _names(deterrence)
    for q, n in enumerate(names):
        np.testing.assert_allclose(ours.coefficients[n], res.params[q], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours.std_errors[n], res.bse[q], rtol=1e-7)
    if constraint == "none":
        np.testing.assert_allclose(ours.coefficients["intercept"], res.params[k], rtol=1e-8)
        np.testing.assert_allclose(ours.std_errors["intercept"], res.bse[k], rtol=1e-7)
    np.testing.assert_allclose(ours.fit["loglik"], res.llf, rtol=1e-10)
    np.testing.assert_allclose(ours.fit["deviance"], res.deviance, rtol=1e-7)
    np.testing.assert_allclose(ours.fit["aic"], res.aic, rtol=1e-10)
    ref = ppml_dummies(t["flow"].to_numpy(dtype=float), design)
    np.testing.assert_allclose(
        [ours.coefficients[n] for n in names], ref[:k], rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(ours.predict().to_numpy(), res.fittedvalues, rtol=1e-8)


@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_cluster_and_hc1(small_table, constraint):
    t = small_table
    oi, _ = pd.factorize(t["origin"], sort=True)
    res, _, _ = _sm_fit(t, constraint, "power", "cluster", groups=oi)
    ours = calibrate(t, origin="origin", destination="destination", flow="flow",
                     cost="distance_km", constraint=constraint, terms=["border"], se="cluster")
    np.testing.assert_allclose(
        [ours.std_errors["log(distance_km)"], ours.std_errors["border"]], res.bse[:2], rtol=1e-7
    )
    # a coarser grouping of origins given per pair as a column
    t2 = t.assign(region=[int(o[1:]) % 4 for o in t["origin"]])
    res2, _, _ = _sm_fit(t2, constraint, "power", "cluster", groups=t2["region"].to_numpy())
    ours2 = calibrate(t2, origin="origin", destination="destination", flow="flow",
                      cost="distance_km", constraint=constraint, terms=["border"], se="cluster",
                      cluster="region")
    np.testing.assert_allclose(
        [ours2.std_errors["log(distance_km)"], ours2.std_errors["border"]], res2.bse[:2],
        rtol=1e-7,
    )
    # statsmodels' GLM "HC1" applies no factor (GLM results have no cov_HC1); ours is
    # HC0 * N / (N - K) with K all parameters, the column count of the dummy design
    res3, design, _ = _sm_fit(t, constraint, "power", "HC0")
    ours3 = calibrate(t, origin="origin", destination="destination", flow="flow",
                      cost="distance_km", constraint=constraint, terms=["border"], se="hc1")
    n, k_all = design.shape
    np.testing.assert_allclose(
        [ours3.std_errors["log(distance_km)"], ours3.std_errors["border"]],
        res3.bse[:2] * np.sqrt(n / (n - k_all)),
        rtol=1e-7,
    )
