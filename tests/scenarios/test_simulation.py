"""Correctness of the dynamic simulation on synthetic study areas."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from migravity.errors import ConfigError
from migravity.scenarios import _kernels_sim as K
from migravity.scenarios.segments import N_CLASSES, segment_days
from migravity.scenarios.simulate import (
    baseline_of,
    draw_parameters,
    initial_state,
    pair_factor,
    pair_layers,
    pivot_constants,
    segment_coefficients,
    segment_group,
    segment_move_rates,
    segment_weights,
    simulate,
    year0_stock,
)
from migravity.scenarios.spec import PercentChange, Scenario, WfhChange


def _zero(**kw) -> Scenario:
    return Scenario(name="zero", **kw)


def _pair(inputs):
    return pair_factor(inputs), pair_layers()


def _rates(inputs, sc=None):
    """Year-0 segment move rates (16, n) at the point values."""
    sc = sc or _zero()
    return segment_move_rates(inputs, draw_parameters(inputs, sc, 1, 0), year0_stock(inputs, sc))[0]


def _pivoted(inputs, seed: int = 4):
    """``inputs`` pivoted to a random destination choice (positive off the diagonal, rows summing to 1)."""
    rng = np.random.default_rng(seed)
    target = rng.uniform(0.05, 1.0, (inputs.n, inputs.n)) * np.exp(-0.01 * np.exp(inputs.log_dist))
    np.fill_diagonal(target, 0.0)
    target /= target.sum(axis=1, keepdims=True)
    pivoted = replace(inputs, pivot_choice=target)
    return replace(pivoted, pair_constant=pivot_constants(pivoted))


@pytest.mark.parametrize("pivot", [False, True])
def test_zero_scenario_reproduces_baseline_exactly(inputs, pivot):
    inputs = _pivoted(inputs) if pivot else inputs
    for mode in ("production", "unconstrained"):
        base = simulate(inputs, baseline_of(_zero(mode=mode)), draws=5, seed=3, years=4)
        zero = simulate(inputs, _zero(mode=mode), draws=5, seed=3, years=4)
        np.testing.assert_array_equal(zero.stocks, base.stocks)
        np.testing.assert_array_equal(zero.hs_flows, base.hs_flows)


def test_zero_percent_changes_reproduce_baseline(inputs):
    sc = _zero(house_prices=(PercentChange(pct=0.0, area="all"),), earnings=(PercentChange(pct=0.0, area="gse"),),
               wfh=(WfhChange("never", factor=1.0),))
    a = simulate(inputs, sc, draws=3, seed=1, years=3)
    b = simulate(inputs, baseline_of(sc), draws=3, seed=1, years=3)
    np.testing.assert_allclose(a.stocks, b.stocks, rtol=1e-12, atol=1e-9)


scenario_st = st.builds(
    lambda pct, factor, cls, mode, fb: Scenario(
        name="h", mode=mode, housing_feedback=fb,
        house_prices=(PercentChange(pct=pct, area="outside_gse"),),
        wfh=(WfhChange(cls, skill="all", factor=factor),)),
    st.floats(-50, 100), st.floats(0.0, 1.5, allow_subnormal=False), st.sampled_from(["never", "always", "2day"]),
    st.sampled_from(["production", "unconstrained"]), st.sampled_from([0.0, 0.5]))


@settings(max_examples=25, deadline=None)
@given(sc=scenario_st, seed=st.integers(0, 2**31))
def test_totals_conserved_closed_system(make_inputs, sc, seed):
    inputs = make_inputs(8, seed % 7)
    try:
        sim = simulate(inputs, sc, draws=3, seed=seed, years=5)
    except ConfigError as exc:  # a factor too large for the pool is a validation error: not a valid example
        assert "shares must stay between 0 and 1" in str(exc)
        assume(False)
        raise
    seg_totals = sim.stocks.sum(axis=-1)  # (D, T+1, S): segments never change class or skill
    # to rounding relative to the whole system (a segment emptied to ~1e-300 has no relative precision left)
    np.testing.assert_allclose(seg_totals, seg_totals[:, :1, :].repeat(seg_totals.shape[1], 1), rtol=1e-10,
                               atol=1e-12 * float(seg_totals.max()))
    assert np.all(sim.stocks >= -1e-9)


def test_production_constraint_keeps_each_origins_movers(inputs):
    sc = _zero(house_prices=(PercentChange(pct=-30.0, area="gse"),))
    stock, log_price, log_pay = initial_state(inputs, sc)
    p = draw_parameters(inputs, sc, 1, 0)
    static, theta_h = segment_weights(inputs, p, log_pay)
    flows = np.zeros((16, inputs.n, inputs.n))
    assert K.one_year_flows(stock, _rates(inputs, sc), inputs.log_dist, inputs.border, *_pair(inputs),
                            p["beta_distance"][0], p["gamma_border"][0], static[0], static[0], theta_h[0],
                            log_price - inputs.log_price, np.zeros(inputs.n), False, flows) == K.OK
    np.testing.assert_allclose(flows.sum(axis=2), _rates(inputs, sc) * stock, rtol=1e-12)
    assert np.all(np.diagonal(flows, axis1=1, axis2=2) == 0)


def test_unconstrained_mode_lets_movers_respond(inputs):
    sc = _zero(mode="unconstrained", house_prices=(PercentChange(pct=-40.0, area="all"),))
    stock, log_price, log_pay = initial_state(inputs, sc)
    p = draw_parameters(inputs, sc, 1, 0)
    static, theta_h = segment_weights(inputs, p, log_pay)
    flows = np.zeros((16, inputs.n, inputs.n))
    K.one_year_flows(stock, _rates(inputs, sc), inputs.log_dist, inputs.border, *_pair(inputs),
                     p["beta_distance"][0], p["gamma_border"][0], static[0], static[0], theta_h[0],
                     log_price - inputs.log_price, np.zeros(inputs.n), True, flows)
    assert not np.allclose(flows.sum(axis=2), _rates(inputs, sc) * stock)


def test_reproducible_with_seed_and_seed_matters(inputs):
    sc = _zero(wfh=(WfhChange("always", factor=2.0),))
    a = simulate(inputs, sc, draws=6, seed=11, years=3)
    b = simulate(inputs, sc, draws=6, seed=11, years=3)
    c = simulate(inputs, sc, draws=6, seed=12, years=3)
    np.testing.assert_array_equal(a.stocks, b.stocks)
    assert not np.array_equal(a.stocks[1:], c.stocks[1:])
    np.testing.assert_array_equal(a.stocks[0], c.stocks[0])  # draw 0 is the point estimate


def test_parallel_chunking_does_not_change_results(inputs):
    sc = _zero(house_prices=(PercentChange(pct=10.0, area="gse"),), housing_feedback=0.3)
    a = simulate(inputs, sc, draws=7, seed=2, years=3, n_chunks=1)
    b = simulate(inputs, sc, draws=7, seed=2, years=3, n_chunks=7)
    np.testing.assert_array_equal(a.stocks, b.stocks)
    np.testing.assert_allclose(a.hs_flows, b.hs_flows, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(theta_a=st.floats(-2, 2), delta=st.floats(-3, 3), seed=st.integers(0, 1000))
def test_more_wfh_never_increases_weight_on_job_access(inputs, theta_a, delta, seed):  # theta_a: not used
    p = draw_parameters(inputs, _zero(), 2, seed)
    p["delta_wfh_access"][:] = delta
    access, _, _ = segment_coefficients(inputs, p)
    static, _ = segment_weights(inputs, p, inputs.log_pay)
    # the weight on log A enters the static log weights exactly as access[s] * log A_j
    bump = replace(inputs, log_access=inputs.log_access + 1.0)
    bumped, _ = segment_weights(bump, p, inputs.log_pay)
    np.testing.assert_allclose(bumped - static, np.broadcast_to(access[:, :, None], static.shape), atol=1e-9)
    days = segment_days()
    for k in (0, 1):
        seg = slice(k * N_CLASSES, (k + 1) * N_CLASSES)
        order = np.argsort(-days[seg])  # from fewest to most WFH
        assert np.all(np.diff(access[:, seg][:, order], axis=1) <= 1e-9)


@settings(max_examples=50, deadline=None)
@given(theta_h=st.floats(-2, 2), delta=st.floats(-4, 4), shift=st.floats(-0.5, 0.5), seed=st.integers(0, 1000),
       pct=st.floats(0.1, 200), lad=st.integers(0, 11))
def test_price_rise_never_attracts_under_default_parameters(inputs, theta_h, delta, shift, seed, pct, lad):
    p = draw_parameters(inputs, _zero(), 3, seed)
    p["theta_price"][:] = theta_h
    p["delta_wfh_price"][:] = delta
    p["high_skill_price_shift"][:] = shift
    _, _, response = segment_coefficients(inputs, p)
    assert np.all(response <= 0.0)
    # and in the flows: a price rise in one LAD never raises any segment's share of movers choosing it
    sc = _zero(house_prices=(PercentChange(pct=pct, lads=(inputs.codes[lad],)),))
    for inp in (inputs, _pivoted(inputs, seed)):
        flows = {}
        for label, scen in (("base", baseline_of(sc)), ("rise", sc)):
            stock, log_price, log_pay = initial_state(inp, scen)
            static, theta = segment_weights(inp, p, log_pay)
            f = np.zeros((16, inp.n, inp.n))
            K.one_year_flows(stock, _rates(inp, scen), inp.log_dist, inp.border, *_pair(inp), p["beta_distance"][0],
                             p["gamma_border"][0], static[0], static[0], theta[0], log_price - inp.log_price,
                             np.zeros(inp.n), False, f)
            flows[label] = f
        assert np.all(flows["rise"][:, :, lad] <= flows["base"][:, :, lad] * (1 + 1e-12) + 1e-12)


def test_unrestricted_price_elasticity_can_be_positive(inputs):
    sc = _zero(parameters=(("price_elasticity_cap", 5.0),))
    p = draw_parameters(inputs, sc, 1, 0)
    _, _, response = segment_coefficients(inputs, p)
    assert response[0, 0] > 0  # never-WFH high-skilled: theta_H + delta_H x_s > 0 without the restriction


def _group_choice(inputs, sc: Scenario) -> np.ndarray:
    """Year-1 destination choice of each skill group from each origin at draw 0: (2, n, n)."""
    stock, log_price, log_pay = initial_state(inputs, sc)
    p = draw_parameters(inputs, sc, 1, 0)
    static, theta = segment_weights(inputs, p, log_pay)
    f = np.zeros((16, inputs.n, inputs.n))
    assert K.one_year_flows(stock, _rates(inputs, sc), inputs.log_dist, inputs.border, *_pair(inputs),
                            p["beta_distance"][0], p["gamma_border"][0], static[0], static[0], theta[0],
                            log_price - inputs.log_price, np.zeros(inputs.n), False, f) == K.OK
    g = segment_group()
    flows = np.stack([f[g == k].sum(axis=0) for k in (0, 1)])
    return flows / flows.sum(axis=2, keepdims=True)


def test_pivot_reproduces_target_choice_for_each_skill_group(inputs):
    pivoted = _pivoted(inputs)
    choice = _group_choice(pivoted, baseline_of(_zero()))
    for k in (0, 1):
        np.testing.assert_allclose(choice[k], pivoted.pivot_choice, rtol=1e-9, atol=1e-15)
    # hence the all-worker year-1 inflows are sum_i movers_i x target_ij
    sim = simulate(pivoted, baseline_of(_zero()), draws=1, seed=0, years=1)
    stock0, stock1 = sim.stocks[0, 0], sim.stocks[0, 1]
    inflow = stock1.sum(0) - stock0.sum(0) * (1 - inputs.move_rate)
    np.testing.assert_allclose(inflow, (inputs.move_rate * stock0.sum(0)) @ pivoted.pivot_choice, rtol=1e-9)


def test_wfh_shift_changes_pivoted_choice_through_the_interactions(inputs):
    """The baseline choice is skill-neutral, yet more WFH still steers a group towards cheaper places."""
    pivoted = _pivoted(inputs)
    sc = _zero(wfh=(WfhChange("never", skill="high", factor=0.2, to=("always",)),))
    base, more = _group_choice(pivoted, baseline_of(sc)), _group_choice(pivoted, sc)
    np.testing.assert_allclose(more[1], base[1], rtol=1e-12)  # other workers untouched
    assert np.max(np.abs(more[0] - base[0])) > 1e-4
    # delta_wfh_price < 0: the expected log price of the high-skilled movers' destinations falls
    assert np.all(more[0] @ pivoted.log_price < base[0] @ pivoted.log_price + 1e-12)


def test_wfh_change_moves_shares_within_skill(inputs):
    sc = _zero(wfh=(WfhChange("never", skill="high", factor=0.5, to=("1day", "2day")),))
    base, _, _ = initial_state(inputs, baseline_of(sc))
    new, _, _ = initial_state(inputs, sc)
    np.testing.assert_allclose(new[:N_CLASSES].sum(0), base[:N_CLASSES].sum(0))
    np.testing.assert_allclose(new[0], 0.5 * base[0])
    np.testing.assert_allclose(new[N_CLASSES:], base[N_CLASSES:], rtol=1e-13)
    untouched = [1, 4, 5, 6, 7]  # monthly, 3day, 4day, always, variable
    np.testing.assert_allclose(new[untouched], base[untouched], rtol=1e-13)


def test_share_out_of_range_after_change_is_an_error(inputs):
    sc = _zero(wfh=(WfhChange("never", factor=50.0, to=("1day",)),))
    with pytest.raises(ConfigError, match=r"wfh\[0\]\.factor"):
        simulate(inputs, sc, draws=1, years=1)


def _on_one_thread(run):
    """``run()`` with Numba on one thread (the thread count restored after)."""
    import numba

    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        return run()
    finally:
        numba.set_num_threads(threads)


def test_bit_for_bit_the_same_whatever_the_thread_count(inputs):
    # issue 14: results.nc differed by 1 ULP between thread counts for the same seed
    sc = _zero(wfh=(WfhChange("always", factor=2.0),), house_prices=(PercentChange(pct=10.0, area="gse"),))
    one = _on_one_thread(lambda: simulate(inputs, sc, draws=40, seed=3, years=3))
    many = simulate(inputs, sc, draws=40, seed=3, years=3)
    np.testing.assert_array_equal(one.stocks, many.stocks)
    np.testing.assert_array_equal(one.hs_flows, many.hs_flows)


@pytest.mark.parametrize("mode", ["production", "unconstrained"])
@pytest.mark.parametrize("population", ["closed", "open"])
def test_one_draw_on_two_threads_is_bit_for_bit_the_same(inputs, open_population_inputs, monkeypatch, mode,
                                                         population):
    # a one-draw batch steps each year on two threads (K.simulate_draws_split: the masked segments
    # on one, the others on the other); it must equal the one-thread kernel exactly
    import numba

    import migravity.scenarios.simulate as S

    inp = open_population_inputs if population == "open" else inputs
    sc = _zero(wfh=(WfhChange("always", factor=2.0),), house_prices=(PercentChange(pct=10.0, area="gse"),),
               housing_feedback=0.4, mode=mode)
    if numba.get_num_threads() < 2:
        pytest.skip("one numba thread: the split kernel is not used")
    calls = []
    real = K.simulate_draws_split

    def counted(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(S.K, "simulate_draws_split", counted)
    split = simulate(inp, sc, draws=1, seed=3, years=4)
    assert calls == [1]
    one = _on_one_thread(lambda: simulate(inp, sc, draws=1, seed=3, years=4))
    assert calls == [1]
    np.testing.assert_array_equal(split.stocks, one.stocks)
    np.testing.assert_array_equal(split.hs_flows, one.hs_flows)
    np.testing.assert_array_equal(split.group_flows, one.group_flows)
    np.testing.assert_array_equal(split.net_internal, one.net_internal)


def test_draw_batches_give_the_same_draws_and_let_ctrl_c_through(inputs, monkeypatch):
    # issue 14: Ctrl-C could take 50 s to stop a long Monte Carlo (one kernel call for all draws)
    import migravity.scenarios.simulate as S

    sc = _zero(wfh=(WfhChange("always", factor=2.0),))
    batched = simulate(inputs, sc, draws=70, seed=5, years=2)  # 3 batches of at most BATCH_DRAWS
    monkeypatch.setattr(S, "BATCH_DRAWS", 1000)
    whole = simulate(inputs, sc, draws=70, seed=5, years=2)
    np.testing.assert_array_equal(batched.stocks, whole.stocks)
    np.testing.assert_allclose(batched.hs_flows, whole.hs_flows, rtol=1e-12)

    monkeypatch.setattr(S, "BATCH_DRAWS", 8)
    calls = []
    real = K.simulate_draws

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what the signal handler raises between two kernel calls
        return real(*args)

    monkeypatch.setattr(S.K, "simulate_draws", interrupted)
    with pytest.raises(KeyboardInterrupt):
        simulate(inputs, sc, draws=64, seed=5, years=2)
    assert len(calls) == 2  # stopped at the next batch, not after all 8
