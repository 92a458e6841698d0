"""The offset (a log exposure with coefficient 1) against statsmodels' GLM ``offset`` and pyfixest's
``fepois(..., offset=...)``, for every constraint; its forms, its validation and prediction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
from reference_ppml import dummy_design

from migravity.engine import calibrate, calibrate_arrays, synthetic_od_table
from migravity.errors import ConfigError, InputError

CONSTRAINTS = ["none", "production", "attraction", "doubly"]


@pytest.fixture(scope="module")
def table(small_table: pd.DataFrame) -> pd.DataFrame:
    """The small synthetic table with a pair-varying log exposure ``off``."""
    rng = np.random.default_rng(11)
    return small_table.assign(off=np.log(small_table["pop_o"]) - 11.0 + rng.normal(0.0, 0.3, len(small_table)))


@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_offset_matches_statsmodels(table: pd.DataFrame, constraint: str) -> None:
    """Coefficients, HC0 SEs, log-likelihoods (model and null), deviance and fitted flows."""
    t = table
    x = t[["log_dist", "border"]].to_numpy(dtype=float)
    oi, _ = pd.factorize(t["origin"], sort=True)
    dj, _ = pd.factorize(t["destination"], sort=True)
    design, k = dummy_design(x, oi, dj, oi.max() + 1, dj.max() + 1, constraint)
    res = sm.GLM(t["flow"].to_numpy(), design, family=sm.families.Poisson(),
                 offset=t["off"].to_numpy()).fit(tol=1e-13, cov_type="HC0")
    ours = calibrate(t, origin="origin", destination="destination", flow="flow", cost="distance_km",
                     terms=["border"], constraint=constraint, offset="off")
    assert ours.converged
    names = ["log(distance_km)", "border"]
    np.testing.assert_allclose([ours.coefficients[n] for n in names], res.params[:k], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose([ours.std_errors[n] for n in names], res.bse[:k], rtol=1e-7)
    if constraint == "none":
        np.testing.assert_allclose(ours.coefficients["intercept"], res.params[k], rtol=1e-8)
    np.testing.assert_allclose(ours.fit["loglik"], res.llf, rtol=1e-10)
    np.testing.assert_allclose(ours.fit["loglik_null"], res.llnull, rtol=1e-10)
    np.testing.assert_allclose(ours.fit["deviance"], res.deviance, rtol=1e-7)
    np.testing.assert_allclose(ours.predict().to_numpy(), res.fittedvalues, rtol=1e-8)


def test_offset_is_a_rate_model(table: pd.DataFrame) -> None:
    """A constant offset only moves the intercept; an origin-only offset is absorbed by origin effects."""
    base = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                     terms=["border"], constraint="none")
    shifted = calibrate(table.assign(c=2.5), origin="origin", destination="destination", flow="flow",
                        cost="distance_km", terms=["border"], constraint="none", offset="c")
    np.testing.assert_allclose(shifted.coefficients["border"], base.coefficients["border"], rtol=1e-9)
    np.testing.assert_allclose(shifted.coefficients["intercept"], base.coefficients["intercept"] - 2.5, rtol=1e-9)
    prod = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                     terms=["border"], constraint="production")
    prod_off = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                         terms=["border"], constraint="production", offset="pop_o_log")
    np.testing.assert_allclose(prod_off.coefficients["border"], prod.coefficients["border"], rtol=1e-9)


def test_offset_forms_agree(table: pd.DataFrame) -> None:
    """A column of logs, ``log(column)``, an array, a Series and ``calibrate_arrays`` give one fit."""
    t = table.assign(exposure=np.exp(table["off"]))
    kw = {"origin": "origin", "destination": "destination", "flow": "flow", "cost": "distance_km",
          "terms": ["border"], "constraint": "doubly"}
    fits = [calibrate(t, offset="off", **kw), calibrate(t, offset="log(exposure)", **kw),
            calibrate(t, offset=t["off"].to_numpy(), **kw), calibrate(t, offset=t["off"], **kw)]
    oi, o_lab = pd.factorize(t["origin"], sort=True)
    dj, d_lab = pd.factorize(t["destination"], sort=True)
    grid = np.full((len(o_lab), len(d_lab)), np.nan)
    flows, cost, border, off = (grid.copy() for _ in range(4))
    for arr, col in ((flows, "flow"), (cost, "distance_km"), (border, "border"), (off, "off")):
        arr[oi, dj] = t[col].to_numpy()
    mask = np.isfinite(flows)
    fits.append(calibrate_arrays(np.nan_to_num(flows), cost=np.nan_to_num(cost, nan=1.0),
                                 pair_terms={"border": np.nan_to_num(border)}, mask=mask,
                                 offset=np.nan_to_num(off), constraint="doubly"))
    for f in fits[1:]:
        for n in ("log(distance_km)", "border"):
            m = n if n in f.coefficients else "log(cost)"  # calibrate_arrays names its cost "cost"
            np.testing.assert_allclose(f.coefficients[m], fits[0].coefficients[n], rtol=1e-9)
            np.testing.assert_allclose(f.std_errors[m], fits[0].std_errors[n], rtol=1e-7)
    assert fits[0].spec is not None and fits[0].spec["offset"] == "off"
    assert fits[2].spec is not None and fits[2].spec["offset"] == "<array>"


@pytest.mark.parametrize("constraint", ["none", "doubly"])
def test_predict_new_table_uses_the_offset(table: pd.DataFrame, constraint: str) -> None:
    """Predicting the fitted table again reproduces the fitted flows; a changed offset changes them."""
    fit = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                    terms=["border"], constraint=constraint, offset="off")
    np.testing.assert_allclose(fit.predict(table).to_numpy(), fit.predict().to_numpy(), rtol=1e-7)
    if constraint == "none":
        doubled = fit.predict(table, offset=table["off"].to_numpy() + np.log(2.0))
        np.testing.assert_allclose(doubled.to_numpy(), 2.0 * fit.predict().to_numpy(), rtol=1e-9)
    arr = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                    terms=["border"], constraint=constraint, offset=table["off"].to_numpy())
    with pytest.raises(ConfigError, match="offset"):
        arr.predict(table)


def test_offset_validation(table: pd.DataFrame) -> None:
    """Bad offsets fail with one line naming the field."""
    kw = {"origin": "origin", "destination": "destination", "flow": "flow", "cost": "distance_km",
          "constraint": "none"}
    with pytest.raises(ConfigError, match="offset='nope'"):
        calibrate(table, offset="nope", **kw)
    with pytest.raises(ConfigError, match="offset"):
        calibrate(table, offset=np.zeros(3), **kw)
    with pytest.raises(ConfigError, match=r"offset=.log\(off\)"):
        calibrate(table, offset="log(off)", **kw)  # off has values <= 0
    with pytest.raises(InputError, match=r"offset .* NaN"):
        calibrate(table.assign(off=np.where(np.arange(len(table)) == 3, np.nan, table["off"])), offset="off", **kw)
    with pytest.raises(ConfigError, match="offset"):
        calibrate_arrays(np.ones((3, 3)), offset=np.zeros((2, 2)))


@pytest.mark.parametrize("constraint,fml", [
    ("none", "flow ~ log_dist + border"),
    ("doubly", "flow ~ log_dist + border | origin + destination"),
])
def test_offset_matches_pyfixest(constraint: str, fml: str) -> None:
    """Coefficients to 1e-6 relative and HC1 SEs (pyfixest's ``hetero``) to 1e-4 relative."""
    t = synthetic_od_table(60, np.random.default_rng(3))
    rng = np.random.default_rng(1)
    t = t.assign(off=np.log(t["pop_o"]) + rng.normal(0.0, 0.3, len(t)), log_dist=np.log(t["distance_km"]))
    ref = pf.fepois(fml, data=t, offset="off", vcov="hetero", iwls_tol=1e-12)
    ours = calibrate(t, origin="origin", destination="destination", flow="flow", cost="distance_km",
                     terms=["border"], constraint=constraint, offset="off", se="hc1")
    coef, se = ref.coef(), ref.se()
    for ours_name, ref_name in (("log(distance_km)", "log_dist"), ("border", "border")):
        np.testing.assert_allclose(ours.coefficients[ours_name], coef[ref_name], rtol=1e-6)
        np.testing.assert_allclose(ours.std_errors[ours_name], se[ref_name], rtol=1e-4)
