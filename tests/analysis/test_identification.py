"""Identification from change (Census 2011 -> 2021): designs against pyfixest, decision rule, JSON, evidence."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from migravity.analysis.evidence import ScenarioEvidence
from migravity.analysis.identification import (
    CHANGE_FE,
    PARAMETERS,
    SPECS,
    change_frame,
    cross_frame,
    decide,
    decide_pair,
    design_inputs,
    price_frame,
)
from migravity.analysis.identification_data import first_stage
from migravity.utils.jsonio import dumps


def _pyfixest(df, x, fe):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.fepois(f"flow ~ {' + '.join(x)} | {' + '.join(fe)}", data=df, vcov={"CRV1": "origin+destination"})
    t = m.tidy()
    return t["Estimate"][x].to_numpy(), t["Std. Error"][x].to_numpy()


@pytest.fixture(scope="module")
def inputs(identification_data):
    return design_inputs(identification_data)


def _rows(table, **sel):
    mask = np.ones(len(table), bool)
    for k, v in sel.items():
        mask &= (table[k] == v).to_numpy()
    return table[mask].set_index("term")


def test_panel_shape(identification_data, inputs):
    n = identification_data.n
    assert n == 318
    assert len(inputs.panel) == 2 * n * (n - 1)
    assert set(inputs.panel.columns) >= {"origin", "destination", "period", "flow", "origin_period", "dest_period",
                                         "pair"}
    # pairs dropped from the change panel are exactly those with no move in either period
    total = inputs.panel.groupby("pair")["flow"].sum()
    assert len(inputs.changing) == 2 * int((total > 0).sum())


def test_change_design_matches_pyfixest(identification_report, inputs):
    df, x = change_frame(inputs, SPECS[0])
    coef, se = _pyfixest(df, x, CHANGE_FE)
    got = _rows(identification_report.change, spec="main", cluster="origin+destination").loc[x]
    np.testing.assert_allclose(got["estimate"].to_numpy(), coef, rtol=1e-6)
    np.testing.assert_allclose(got["std_error"].to_numpy(), se, rtol=1e-4)


def test_price_design_matches_pyfixest(identification_report, inputs):
    df, x = price_frame(inputs)
    coef, se = _pyfixest(df, x, ("origin_period", "pair"))
    got = _rows(identification_report.price, spec="main").loc[x]
    np.testing.assert_allclose(got["estimate"].to_numpy(), coef, rtol=1e-6)
    np.testing.assert_allclose(got["std_error"].to_numpy(), se, rtol=1e-4)


@pytest.mark.parametrize("period", ["2011", "2021"])
def test_placebo_cross_section_matches_pyfixest(identification_report, inputs, period):
    df, x = cross_frame(inputs, period, "wfh_share_2021")
    coef, se = _pyfixest(df, x, ("origin", "destination"))
    got = _rows(identification_report.placebo, flows=period, exposure="wfh_share_2021", control=False).loc[x]
    np.testing.assert_allclose(got["estimate"].to_numpy(), coef, rtol=1e-6)
    np.testing.assert_allclose(got["std_error"].to_numpy(), se, rtol=1e-4)


def test_first_stage_matches_weighted_least_squares(identification_data):
    s = identification_data.skills
    fs = first_stage(s["teleworkability_2011"], s["wfh_share_2021"], s["workers_2021"])
    sm = pytest.importorskip("statsmodels.api")
    res = sm.WLS(s["wfh_share_2021"], sm.add_constant(s["teleworkability_2011"]), weights=s["workers_2021"]).fit()
    np.testing.assert_allclose([fs.a, fs.b], res.params, rtol=1e-10)
    assert fs.r2 == pytest.approx(res.rsquared, rel=1e-10)
    assert fs.b > 0


def test_report_on_real_data(identification_report):
    rep = identification_report
    assert set(rep.decisions) == set(PARAMETERS)
    assert rep.cross_section_fails  # the 2011 flows reproduce the cross-section "WFH effects"
    assert len(rep.loro.region_code.unique()) == 10
    assert rep.change.converged.all() and rep.price.converged.all()
    # two-way clustered SEs reported beside one-way (origin) ones for the main specification
    assert set(_rows(rep.change, spec="main").cluster) == {"origin+destination", "origin"}
    main = _rows(rep.change, spec="main", cluster="origin+destination")
    np.testing.assert_allclose(main["wfh_estimate"], main["estimate"] / rep.first_stage.b)


def test_placebo_side_by_side(identification_report):
    side = identification_report.placebo_side_by_side()
    assert len(side) == 4  # two exposures x two WFH terms
    assert {"estimate_2011", "std_error_2011", "estimate_2021", "std_error_2021", "fails"} <= set(side.columns)
    for r in side.itertuples():
        assert r.fails == (r.p_value_2011 < 0.05 and np.sign(r.estimate_2011) == np.sign(r.estimate_2021))
    # the price-sorting control row carries no WFH-scaled value
    ctl = identification_report.change[identification_report.change.term == "price_sorting"]
    assert ctl.wfh_estimate.isna().all()


def test_evidence_contract(identification_report):
    ev = identification_report.evidence()
    assert isinstance(ev, ScenarioEvidence)
    k = len(ev.identified_names)
    assert ev.vcov.shape == (k, k)
    np.testing.assert_allclose(ev.vcov, ev.vcov.T)
    assert np.all(np.linalg.eigvalsh(ev.vcov) >= -1e-12)
    assert ev.specifications[0].name == "main"
    for name, d in ev.decisions.items():
        if d.status == "identified":
            assert name in ev.identified_names
            i = ev.identified_names.index(name)
            assert d.std_error == pytest.approx(math.sqrt(ev.vcov[i, i]))
            assert d.low < d.value < d.high
        else:
            assert math.isnan(d.std_error) and d.low <= 0 <= d.high
        for spec in ev.specifications:
            assert set(spec.values) == set(PARAMETERS)
            if d.status == "assumed":
                assert spec.values[name] == d.value


def test_json_round_trip(identification_report):
    payload = json.loads(dumps(identification_report.to_dict()))
    assert {"change", "price", "placebo", "placebo_side_by_side", "placebo_fails", "cross_section_fails", "loro",
            "loro_range", "first_stage", "decisions", "identified_names", "vcov", "specifications",
            "notes"} <= set(payload)
    for name, d in identification_report.decisions.items():
        got = payload["decisions"][name]
        assert got["status"] == d.status and got["value"] == pytest.approx(d.value)
        assert (got["std_error"] is None) == math.isnan(d.std_error)
    assert len(payload["vcov"]) == len(identification_report.identified_names)
    text = identification_report.summary()
    assert "Placebo" in text and "Leave-one-region-out" in text and "Decisions" in text


# ---- decision rule on synthetic estimates -------------------------------------------------------------

def test_decide_identified():
    d = decide("delta_wfh_access", -0.2, 0.04, 0.001, control=-0.21, loro=[-0.18, -0.22], scale=2.0, source="s")
    assert d.status == "identified"
    assert d.value == pytest.approx(-0.1) and d.std_error == pytest.approx(0.02)
    assert (d.low, d.high) == pytest.approx((-0.1 - 1.645 * 0.02, -0.1 + 1.645 * 0.02))


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"p_value": 0.2}, "p = 0.2"),
    ({"control": 0.05}, "sign flips"),
    ({"control": -0.35}, "SE under the price-sorting control"),
    ({"loro": [-0.2, 0.01]}, "1 of 2 regions"),
])
def test_decide_assumed(kwargs, reason):
    args = {"estimate": -0.2, "std_error": 0.04, "p_value": 0.001, "control": -0.21, "loro": [-0.18, -0.22]}
    args.update(kwargs)
    d = decide("delta_wfh_price", args.pop("estimate"), args.pop("std_error"), args.pop("p_value"), **args)
    assert d.status == "assumed" and reason in d.reason
    assert d.low <= min(0.0, -0.2) and d.high >= 0.0
    assert d.value == pytest.approx(0.5 * (d.low + d.high))
    assert math.isnan(d.std_error)


def test_decide_price_must_be_negative():
    d = decide("theta_price", 0.3, 0.05, 1e-6, control=0.3, loro=[0.3], kind="price")
    assert d.status == "assumed" and "not negative" in d.reason
    assert d.low <= -1.0 and d.high >= 0.3
    ok = decide("theta_price", -0.3, 0.05, 1e-6, control=-0.3, loro=[-0.3], kind="price")
    assert ok.status == "identified"


def test_decide_pair():
    assert decide_pair("beta_distance", -1.4, 0.03, 0.0).status == "identified"
    weak = decide_pair("gamma_border", 0.1, 0.2, 0.6)
    assert weak.status == "assumed" and weak.low == 0.0 and weak.high == 0.1


finite = st.floats(-5, 5, allow_nan=False)


@given(est=finite, se=st.floats(1e-3, 2), p=st.floats(0, 1), control=finite, loro=st.lists(finite, max_size=10),
       scale=st.floats(0.2, 3))
def test_decide_properties(est, se, p, control, loro, scale):
    d = decide("x", est, se, p, control=control, loro=loro, scale=scale)
    if d.status == "identified":
        assert p < 0.05 and d.low < d.value < d.high
        assert all(np.sign(v) == np.sign(est) for v in loro)
    else:
        every = [est / scale, control / scale, *(v / scale for v in loro)]
        assert d.low <= min(0.0, *every) + 1e-12 and d.high >= max(0.0, *every) - 1e-12
        assert d.low <= d.value <= d.high


def test_identify_refuses_zones_outside_england_and_wales(data_dir, identification_data):
    from migravity.analysis.identification import identify
    from migravity.errors import ConfigError
    from migravity.geodata import load_zones

    with pytest.raises(ConfigError, match="England and Wales"):
        identify(load_zones("2023", "GB", data_dir), data_dir, data=identification_data)
