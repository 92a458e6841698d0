"""Segment move rates, workplace anchoring, parameters from evidence and specification runs (synthetic areas)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migravity.errors import ConfigError
from migravity.scenarios import _kernels_sim as K
from migravity.scenarios.anchoring import anchor_terms
from migravity.scenarios.params import ModelParameters
from migravity.scenarios.run import run_scenarios, spec_inputs
from migravity.scenarios.segments import COMMUTE_DAYS, N_CLASSES, WFH_CLASSES, segment_intensity
from migravity.scenarios.simulate import (
    baseline_of,
    class_anchor,
    draw_parameters,
    initial_state,
    pair_layers,
    pivot_constants,
    segment_class,
    segment_group,
    segment_move_rates,
    segment_pair_factors,
    segment_weights,
    simulate,
    year0_stock,
)
from migravity.scenarios.spec import PercentChange, Scenario, WfhChange

IDENTIFIED = ("beta_distance", "gamma_border", "delta_wfh_access", "delta_wfh_price", "theta_price")

DAYS = np.array([COMMUTE_DAYS[c] for c in WFH_CLASSES])
NEVER, ALWAYS = WFH_CLASSES.index("never"), WFH_CLASSES.index("always")


def _zero(**kw) -> Scenario:
    return Scenario(name="zero", **kw)


def _pivoted(inputs, seed: int = 4):
    rng = np.random.default_rng(seed)
    target = rng.uniform(0.05, 1.0, (inputs.n, inputs.n)) * np.exp(-0.01 * np.exp(inputs.log_dist))
    np.fill_diagonal(target, 0.0)
    target /= target.sum(axis=1, keepdims=True)
    pivoted = replace(inputs, pivot_choice=target)
    return replace(pivoted, pair_constant=pivot_constants(pivoted))


def _flows(inputs, sc: Scenario, strength: float | None = None) -> np.ndarray:
    """Year-1 flows by segment (16, n, n) at draw 0, through the kernel."""
    stock, log_price, log_pay = initial_state(inputs, sc)
    p = draw_parameters(inputs, sc, 1, 0)
    static, theta = segment_weights(inputs, p, log_pay)
    rates = segment_move_rates(inputs, p, year0_stock(inputs, sc))[0]
    f = np.zeros((16, inputs.n, inputs.n))
    assert K.one_year_flows(stock, rates, inputs.log_dist, inputs.border, segment_pair_factors(inputs, strength),
                            pair_layers(), p["beta_distance"][0], p["gamma_border"][0], static[0], static[0],
                            theta[0], log_price - inputs.log_price, np.zeros(inputs.n), False, f) == K.OK
    return f


def _choice(f: np.ndarray) -> np.ndarray:
    return f / np.maximum(f.sum(axis=2, keepdims=True), 1e-300)


# --- segment move rates ---------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(high=st.floats(1.01, 3.0), wfh=st.floats(-2.0, -0.01), seed=st.integers(0, 50))
def test_move_rates_order_and_origin_totals(make_inputs, high, wfh, seed):
    inputs = make_inputs(8, seed)
    sc = _zero(parameters=(("move_rate_high", high), ("move_rate_wfh", wfh), ("move_rate_scale", 1.0)))
    stock = year0_stock(inputs, sc)
    m = segment_move_rates(inputs, draw_parameters(inputs, sc, 1, 0), stock)[0]  # (16, n)
    np.testing.assert_allclose(m[:N_CLASSES], high * m[N_CLASSES:], rtol=1e-12)  # HSL > other at equal WFH
    g = segment_intensity()[:N_CLASSES]
    order = np.argsort(g)
    for k in (0, 1):
        block = m[k * N_CLASSES:(k + 1) * N_CLASSES][order]
        assert np.all(np.diff(block, axis=0) < 0)  # more WFH -> fewer moves
    np.testing.assert_allclose((m * stock).sum(axis=0), inputs.move_rate * stock.sum(axis=0), rtol=1e-12)


def test_more_wfh_means_fewer_movers_in_a_scenario(inputs):
    sc = _zero(wfh=(WfhChange("never", skill="all", factor=0.3, to=("always",)),))
    base, more = _flows(inputs, baseline_of(sc)), _flows(inputs, sc)
    assert more.sum() < base.sum()


def test_move_rate_parameters_are_drawn(inputs):
    p = draw_parameters(inputs, _zero(), 200, 3)
    for name, (lo, hi) in (("move_rate_high", (1.1, 1.5)), ("move_rate_wfh", (-0.6, 0.0))):
        assert p[name][0] == inputs.params.mean[name]
        assert lo <= p[name].min() and p[name].max() <= hi and np.ptp(p[name]) > 0.5 * (hi - lo)
    assert np.all(p["anchor_strength"] == inputs.params.mean["anchor_strength"])  # held at its point value


# --- workplace anchoring ----------------------------------------------------------------------------------


def _anchor_reference(pi, log_dist, beta_c, strength, days):
    n = len(pi)
    out = np.zeros((len(days), n, n))
    for c, dc in enumerate(days):
        for i in range(n):
            for j in range(n):
                out[c, i, j] = np.log(sum(pi[i, k] * np.exp(strength * dc / 5 * beta_c * log_dist[j, k])
                                          for k in range(n)))
    return out


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 6), strength=st.floats(0.0, 3.0), seed=st.integers(0, 1000))
def test_anchor_terms_match_the_slow_reference(n, strength, seed):
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(n), size=n)
    log_dist = np.log(rng.uniform(1, 300, (n, n)))
    np.testing.assert_allclose(anchor_terms(pi, log_dist, -2.7, strength, DAYS),
                               _anchor_reference(pi, log_dist, -2.7, strength, DAYS), rtol=1e-10, atol=1e-10)
    assert np.all(anchor_terms(pi, log_dist, -2.7, strength, DAYS)[ALWAYS] == 0.0)  # fully remote: free of it


def test_kernel_flows_match_a_numpy_logit_with_anchoring(make_inputs):
    inputs = _pivoted(make_inputs(5, 2, workplace=True))
    sc = _zero(house_prices=(PercentChange(pct=15.0, area="gse"),))
    f = _flows(inputs, sc)
    stock, log_price, log_pay = initial_state(inputs, sc)
    p = draw_parameters(inputs, sc, 1, 0)
    static, theta = segment_weights(inputs, p, log_pay)
    rates = segment_move_rates(inputs, p, year0_stock(inputs, sc))[0]
    anchor = _anchor_reference(inputs.workplace, inputs.log_dist, inputs.params.beta_commute,
                               inputs.params.mean["anchor_strength"], DAYS)
    n = inputs.n
    ref = np.zeros_like(f)
    for s in range(16):
        g, c = segment_group()[s], segment_class()[s]
        for i in range(n):
            u = np.array([p["beta_distance"][0] * inputs.log_dist[i, j] + p["gamma_border"][0] * inputs.border[i, j]
                          + inputs.pair_constant[g, i, j] + anchor[c, i, j] + static[0, s, j]
                          + theta[0, s] * (log_price[j] - inputs.log_price[j]) for j in range(n)])
            w = np.where(np.arange(n) == i, 0.0, np.exp(u))
            ref[s, i] = rates[s, i] * stock[s, i] * w / w.sum()
    np.testing.assert_allclose(f, ref, rtol=1e-10, atol=1e-12)


def test_remote_class_ignores_the_commute_and_five_day_class_is_bound(make_inputs):
    inputs = make_inputs(10, 3, workplace=True)
    sc = _zero()
    moved = np.zeros((inputs.n, inputs.n))
    moved[:, 0] = 1.0  # every workplace moves to zone 0
    other = replace(inputs, workplace=moved)
    a, b = _choice(_flows(inputs, sc)), _choice(_flows(other, sc))
    for k in (0, 1):
        np.testing.assert_array_equal(a[k * N_CLASSES + ALWAYS], b[k * N_CLASSES + ALWAYS])
        assert np.max(np.abs(a[k * N_CLASSES + NEVER] - b[k * N_CLASSES + NEVER])) > 1e-3
    # bound: against no anchoring, the 5-day class moves towards homes near its workplace (zone 0)
    free = _choice(_flows(other, sc, strength=0.0))
    near = inputs.log_dist[:, 0]
    for k in (0, 1):
        s = k * N_CLASSES + NEVER
        assert np.all(b[s] @ near < free[s] @ near)
        np.testing.assert_allclose(b[k * N_CLASSES + ALWAYS], free[k * N_CLASSES + ALWAYS], rtol=1e-12)


def test_class_anchor_scales_with_commuting_days(inputs, make_inputs):
    inp = make_inputs(6, 1, workplace=True)
    a = class_anchor(inp, 1.0)
    assert np.all(a[ALWAYS] == 0) and np.all(np.isfinite(a))
    assert np.all(class_anchor(inputs) == 0)  # no workplace data: no anchoring


def test_pivot_with_anchoring_reproduces_target_choice_per_skill_group(make_inputs):
    inputs = _pivoted(make_inputs(12, 0, workplace=True))
    f = _flows(inputs, baseline_of(_zero()))
    g = segment_group()
    for k in (0, 1):
        flows = f[g == k].sum(axis=0)
        np.testing.assert_allclose(flows / flows.sum(axis=1, keepdims=True), inputs.pivot_choice, rtol=1e-9,
                                   atol=1e-15)


def test_zero_scenario_equals_baseline_and_seeded_runs_reproduce_with_anchoring(make_inputs):
    inputs = _pivoted(make_inputs(10, 5, workplace=True))
    specs = [Scenario(name="baseline"), _zero(), Scenario(name="rs", wfh=(WfhChange("never", factor=0.5),))]
    a = run_scenarios(inputs, specs, draws=4, seed=8, years=3)
    b = run_scenarios(inputs, specs, draws=4, seed=8, years=3)
    np.testing.assert_array_equal(a.runs[1][0].stocks, a.runs[1][1].stocks)
    for (s1, b1), (s2, b2) in zip(a.runs, b.runs, strict=True):
        np.testing.assert_array_equal(s1.stocks, s2.stocks)
        np.testing.assert_array_equal(b1.stocks, b2.stocks)
    np.testing.assert_array_equal(a.spec_headline(), b.spec_headline())
    sim = simulate(inputs, specs[2], draws=1, seed=8, years=3)
    np.testing.assert_allclose(sim.stocks[0], a.runs[2][0].stocks[0], rtol=1e-13)  # draw 0 = point values


# --- parameters from evidence -------------------------------------------------------------------------


def _params(make_evidence, vcov: np.ndarray) -> ModelParameters:
    return ModelParameters.from_evidence(make_evidence(vcov), beta_commute=-2.7, beta_commute_se=0.02,
                                         job_access=np.ones(3), wfh_national=0.45)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_identified_draws_have_the_evidence_covariance(make_evidence, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(5, 5)) * 0.1
    vcov = a @ a.T + np.diag(rng.uniform(0.001, 0.01, 5))
    p = _params(make_evidence, vcov).draw(40_000, np.random.default_rng(seed + 1))
    x = np.column_stack([p[k] for k in IDENTIFIED])
    sd = np.sqrt(np.diag(vcov))
    emp = np.cov(x[1:].T)
    # correlations within 0.03 and variances within 5% (40,000 draws)
    np.testing.assert_allclose(np.sqrt(np.diag(emp)), sd, rtol=0.05)
    np.testing.assert_allclose(emp / np.outer(sd, sd), vcov / np.outer(sd, sd), atol=0.03)
    np.testing.assert_allclose(x[1:].mean(axis=0), x[0], atol=4 * sd.max() / np.sqrt(40_000) * 3)
    assert np.array_equal(x[0], [_params(make_evidence, vcov).mean[k] for k in IDENTIFIED])


def test_forcing_an_identified_parameter_is_allowed_and_recorded(inputs):
    forced = inputs.params.with_assumed({"delta_wfh_price": (-1.0, -0.5), "move_rate_high": 1.2})
    table = forced.table().set_index("parameter")
    assert table.loc["delta_wfh_price", "status"] == "assumed"
    assert "replaces the identified" in table.loc["delta_wfh_price", "source"]
    assert table.loc["beta_distance", "status"] == "identified"
    assert set(table.columns) >= {"value", "std_error", "low", "high", "status", "source", "reason"}
    a = inputs.params.draw(50, np.random.default_rng(1))
    b = forced.draw(50, np.random.default_rng(1))
    np.testing.assert_array_equal(a["beta_distance"], b["beta_distance"])  # common random numbers kept
    assert np.all((-1.0 <= b["delta_wfh_price"]) & (b["delta_wfh_price"] <= -0.5))
    assert np.all(b["move_rate_high"] == 1.2)
    with pytest.raises(ConfigError, match=r"parameters\.theta_access"):
        inputs.params.with_assumed({"theta_access": 0.1})


def test_specifications_rerun_at_their_point_values(make_inputs):
    inputs = _pivoted(make_inputs(8, 6, workplace=True))
    names = [sp.name for sp in inputs.params.all_specifications()]
    assert names == ["main", "steep", "anchor_low", "anchor_high"]
    steep = spec_inputs(inputs, inputs.params.all_specifications()[1])
    assert steep.params.mean["beta_distance"] == -1.6
    assert not np.allclose(steep.pair_constant, inputs.pair_constant)  # pivot re-solved
    f = _flows(steep, baseline_of(_zero()))
    g = segment_group()
    flows = f[g == 0].sum(axis=0)
    np.testing.assert_allclose(flows / flows.sum(axis=1, keepdims=True), inputs.pivot_choice, rtol=1e-9, atol=1e-15)
    sc = Scenario(name="rs", wfh=(WfhChange("never", factor=0.5),))
    run = run_scenarios(inputs, [sc], draws=3, seed=2, years=2)
    assert run.specification_names == names
    head = run.spec_headline()
    assert head.shape == (1, 4, 4) and np.all(np.isfinite(head))
    # the other specifications keep no (n, n) flows: only their headline values are read
    assert all(s.hs_flows.shape == (0, 0) for _, pairs in run.spec_runs for pair in pairs for s in pair)
    assert run.runs[0][0].hs_flows.shape == (inputs.n, inputs.n)
    table = run.summary().set_index("metric")
    row = table.loc["gse_hs_share"]
    assert row.spec_low == pytest.approx(head[0, :, 0].min()) and row.spec_high == pytest.approx(head[0, :, 0].max())
