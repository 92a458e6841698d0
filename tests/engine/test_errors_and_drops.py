"""Input errors name the field/value/fix; zeros, separation and non-convergence are reported."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.engine import calibrate, calibrate_arrays
from migravity.errors import ConfigError, ConvergenceError, InputError

KW = {"origin": "origin", "destination": "destination", "flow": "flow", "cost": "distance_km"}


def test_nan_flow(small_table):
    t = small_table.copy()
    t.loc[3, "flow"] = np.nan
    with pytest.raises(InputError, match="flow"):
        calibrate(t, **KW)


def test_negative_flow(small_table):
    t = small_table.copy()
    t.loc[3, "flow"] = -1
    with pytest.raises(InputError, match="negative"):
        calibrate(t, **KW)


def test_unknown_column(small_table):
    with pytest.raises(ConfigError, match="nope"):
        calibrate(small_table, **KW, terms=["log(nope)"])


@pytest.mark.parametrize(("field", "value"), [("constraint", "both"), ("deterrence", "gauss"),
                                              ("se", "hc3")])
def test_bad_option(small_table, field, value):
    with pytest.raises(ConfigError, match=rf"{field}='{value}'.*use one of"):
        calibrate(small_table, **{**KW, field: value})


def test_origin_term_under_production(small_table):
    with pytest.raises(ConfigError, match=r"pop_o_log.*attraction"):
        calibrate(small_table, **KW, terms=["pop_o_log"], constraint="production")
    with pytest.raises(ConfigError, match=r"popo.*origin effects"):
        calibrate_arrays(np.ones((4, 4)), origin_terms={"popo": np.arange(4.0)},
                         constraint="doubly")
    r = calibrate(small_table, **KW, terms=["pop_o_log"], constraint="attraction")
    assert r.converged


def test_zero_cost_power(small_table):
    t = small_table.copy()
    t.loc[0, "distance_km"] = 0.0
    with pytest.raises(ConfigError, match=r"cost.*exponential"):
        calibrate(t, **KW)


def test_duplicate_pairs(small_table):
    t = small_table.copy()
    t.loc[len(t)] = t.iloc[0]
    with pytest.raises(InputError, match=r"duplicated.*aggregate"):
        calibrate(t, **KW)


def test_zero_origin_dropped(small_table):
    t = small_table.copy()
    z = t["origin"] == t["origin"].iloc[0]
    t.loc[z, "flow"] = 0.0
    r = calibrate(t, **KW, terms=["border"])
    assert r.dropped["origins"] == [t["origin"].iloc[0]]
    assert any("all observed flows zero" in w for w in r.warnings)
    assert r.n_pairs == len(t) - z.sum()
    assert (r.predict()[z] == 0).all()
    ref = calibrate(t[~z], **KW, terms=["border"])
    np.testing.assert_allclose(r.coefficients["border"], ref.coefficients["border"], rtol=1e-9)


def test_separation_dropped(small_table):
    t = small_table.copy()
    t["sep"] = 0.0
    zeros = t.index[t["flow"] == 0][:3]
    assert len(zeros) == 3
    t.loc[zeros, "sep"] = 1.0
    r = calibrate(t, **KW, terms=["border", "sep"])
    assert r.dropped["terms"] == ["sep"]
    assert len(r.dropped["pairs"]) == 3
    assert np.isnan(r.coefficients["sep"])
    assert r.converged and r.n_pairs == len(t) - 3


def test_non_convergence(small_table):
    r = calibrate(small_table, **KW, terms=["border"], max_iter=1)
    assert not r.converged
    assert "did not converge" in r.message
    with pytest.raises(ConvergenceError, match="max_iter"):
        calibrate(small_table, **KW, terms=["border"], max_iter=1, strict=True)
