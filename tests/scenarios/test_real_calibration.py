"""The two-stage calibration and the pivot on the real Census 2021 data (England and Wales, 318 LADs)."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.scenarios.params import STAGE1_SOURCE, STAGE2_SOURCE
from migravity.scenarios.segments import N_CLASSES
from migravity.scenarios.simulate import baseline_of, prepare_inputs, simulate
from migravity.scenarios.spec import load_scenario


@pytest.fixture(scope="module")
def real_inputs(data_dir):
    from migravity.geodata import load_flows, load_zones

    zones = load_zones("2023", "EW", data_dir)
    mig = load_flows("migration2021", zones, data_dir).to_numpy().astype(float)
    return prepare_inputs(zones, data_dir=data_dir), mig


def test_baseline_year1_reproduces_observed_inflows(real_inputs):
    """The key property of the pivot: year-1 baseline inflows = observed Census 2021 inter-LAD inflows."""
    inputs, mig = real_inputs
    mig = mig * (1 - np.eye(inputs.n))
    out = mig.sum(axis=1)
    assert inputs.n == 318
    # observed inflows, each origin's migrants scaled to its workers (movers = per-person move rate x workers)
    observed = (mig * (inputs.move_rate * inputs.workers / out)[:, None]).sum(axis=0)
    sim = simulate(inputs, load_scenario("baseline"), draws=3, seed=2021, years=1)
    stock0, stock1 = sim.stocks[0, 0], sim.stocks[0, 1]
    inflow = stock1.sum(axis=0) - stock0.sum(axis=0) * (1.0 - inputs.move_rate)
    np.testing.assert_allclose(inflow, observed, rtol=1e-6)
    # the same flows in persons: scaling back by P_i / W_i gives the observed person inflows' total
    np.testing.assert_allclose(inflow.sum(), (inputs.move_rate * inputs.workers).sum(), rtol=1e-10)


def test_two_stage_parameters_are_documented_and_plausible(real_inputs):
    inputs, mig = real_inputs
    inflow = (mig * (1 - np.eye(inputs.n))).sum(axis=0)
    table = inputs.params.table().set_index("parameter")
    assert table.loc["beta_distance", "source"] == STAGE1_SOURCE
    assert table.loc["theta_price", "source"] == STAGE2_SOURCE
    assert table.loc["price_elasticity_cap", "source"] == "assumed"
    p = inputs.params.mean
    assert -2.0 < p["beta_distance"] < -1.0 and p["gamma_border"] > 0
    assert p["delta_wfh_access"] < 0 and p["delta_wfh_price"] < 0  # remote workers: less access, more price
    np.testing.assert_allclose(np.average(inputs.params.residual, weights=inflow), 0.0, atol=1e-8)  # WLS weights


def test_london_squeeze_never_attracts_high_skilled_to_london(real_inputs):
    inputs, _ = real_inputs
    sc = load_scenario("london_squeeze")
    a = simulate(inputs, sc, draws=1, seed=2021, years=3)
    b = simulate(inputs, baseline_of(sc), draws=1, seed=2021, years=3)
    london = np.array([r == "E12000007" for r in inputs.region_codes])
    change = (a.stocks[0, -1] - b.stocks[0, -1])[:, london].sum(axis=1)  # by segment
    assert np.all(change[:N_CLASSES] <= 1e-6)
