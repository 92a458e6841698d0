"""The two-stage calibration and the pivot on the real Census 2021 data (England and Wales, 318 LADs)."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.scenarios.segments import N_CLASSES
from migravity.scenarios.simulate import baseline_of, simulate
from migravity.scenarios.spec import load_scenario


@pytest.fixture(scope="module")
def real_inputs(real_model_inputs, data_dir):
    """``prepare_inputs(load_zones("2023", "EW"))`` (shared, see ``tests/conftest.py``) and the observed flows."""
    from migravity.geodata import load_flows, load_zones

    zones = load_zones("2023", "EW", data_dir)
    mig = load_flows("migration2021", zones, data_dir).to_numpy().astype(float)
    return real_model_inputs, mig


@pytest.mark.parametrize("pattern", ["census2021", "precovid"])
def test_baseline_year1_is_skill_neutral_and_reproduces_observed_choice(real_inputs, data_dir, pattern):
    """The key property of the pivot: in year 1 of the baseline, each skill group's movers from each origin
    choose destinations as all movers of the pattern from that origin did (Census 2021, or the Census 2011
    flows balanced to the pre-COVID totals; zero pairs filled), so the all-worker inflows are the pattern's.
    Checked on the closed population (the open one adds the exogenous non-migration components)."""
    from dataclasses import replace

    from migravity.geodata import load_zones
    from migravity.scenarios import _kernels_sim as K
    from migravity.scenarios.baseline import precovid_pattern
    from migravity.scenarios.simulate import (
        draw_parameters,
        initial_state,
        pair_factor,
        pair_layers,
        segment_group,
        segment_move_rates,
        segment_weights,
        year0_stock,
    )

    inputs, mig = real_inputs
    inputs = replace(inputs.with_pattern(pattern), open_baseline=None)
    if pattern == "precovid":
        mig = precovid_pattern(load_zones("2023", "EW", data_dir), data_dir)[0]
    mig = mig * (1 - np.eye(inputs.n))
    out = mig.sum(axis=1)
    assert inputs.n == 318
    observed = mig / out[:, None]
    target = inputs.pivot_choice
    np.testing.assert_allclose(target[mig > 0], observed[mig > 0], rtol=1e-3)  # zero pairs: 0.002% of movers
    sc = load_scenario("baseline")
    stock, log_price, log_pay = initial_state(inputs, sc)
    p = draw_parameters(inputs, sc, 1, 0)
    static, theta = segment_weights(inputs, p, log_pay)
    f = np.zeros((16, inputs.n, inputs.n))
    assert inputs.workplace is not None  # workplace anchoring on (Census 2011 commuting)
    rates = segment_move_rates(inputs, p, year0_stock(inputs, sc))[0]
    assert K.one_year_flows(stock, rates, inputs.log_dist, inputs.border, pair_factor(inputs),
                            pair_layers(), p["beta_distance"][0], p["gamma_border"][0], static[0], static[0],
                            theta[0], log_price - inputs.log_price, np.zeros(inputs.n), False, f) == K.OK
    group = segment_group()
    for k in (0, 1):
        flows = f[group == k].sum(axis=0)
        np.testing.assert_allclose(flows / flows.sum(axis=1, keepdims=True), target, rtol=1e-6, atol=1e-12)
    # the simulation's year-1 inflows (all workers) = observed inflows, each origin's migrants scaled to workers
    sim = simulate(inputs, sc, draws=3, seed=2021, years=1)
    stock0, stock1 = sim.stocks[0, 0], sim.stocks[0, 1]
    inflow = stock1.sum(axis=0) - stock0.sum(axis=0) * (1.0 - inputs.move_rate)
    movers = inputs.move_rate * inputs.workers
    np.testing.assert_allclose(inflow, movers @ target, rtol=1e-6)
    np.testing.assert_allclose(inflow, movers @ observed, rtol=1e-3)
    np.testing.assert_allclose(inflow.sum(), movers.sum(), rtol=1e-10)


def test_parameters_come_from_the_identification_and_are_plausible(real_inputs):
    inputs, mig = real_inputs
    inflow = (mig * (1 - np.eye(inputs.n))).sum(axis=0)
    table = inputs.params.table().set_index("parameter")
    # default evidence: the identification from change (analysis.identification), two-way clustered
    assert "change" in table.loc["delta_wfh_access", "source"]
    assert "clustered" in table.loc["beta_distance", "source"]
    assert table.loc["delta_wfh_access", "status"] == "identified"
    assert table.loc["delta_wfh_price", "status"] == "assumed"  # fails the price-sorting check
    assert table.loc["price_elasticity_cap", "status"] == "assumed"
    assert table.loc["theta_price", "status"] == "identified"
    p = inputs.params.mean
    assert -2.0 < p["beta_distance"] < -1.0 and p["gamma_border"] > 0
    assert p["delta_wfh_access"] < 0 and p["theta_price"] < 0
    lo, hi = inputs.params.ranges["delta_wfh_price"]
    assert lo <= 0.0 <= hi  # the assumed range covers zero
    assert inputs.params.beta_commute < -2.0  # Census 2011 commuting deterrence, as in the identification
    assert "Census 2011" in table.loc["beta_commute", "source"]
    np.testing.assert_allclose(np.average(inputs.params.residual, weights=inflow), 0.0, atol=1e-8)  # WLS weights


def test_london_squeeze_never_attracts_high_skilled_to_london(real_inputs):
    inputs, _ = real_inputs
    sc = load_scenario("london_squeeze")
    a = simulate(inputs, sc, draws=1, seed=2021, years=3)
    b = simulate(inputs, baseline_of(sc), draws=1, seed=2021, years=3)
    london = np.array([r == "E12000007" for r in inputs.region_codes])
    change = (a.stocks[0, -1] - b.stocks[0, -1])[:, london].sum(axis=1)  # by segment
    assert np.all(change[:N_CLASSES] <= 1e-6)
