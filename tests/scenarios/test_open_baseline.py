"""The open-population baseline: the path identity, the bracket against a slow reference, the decomposition,
migration patterns, IPF balancing and the population accounts (synthetic), and the acceptance figures of
issue 12 on the real data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from migravity.errors import ConfigError, ConvergenceError, InputError
from migravity.scenarios import _kernels_sim as K
from migravity.scenarios import demography as sd
from migravity.scenarios.baseline import (
    OpenBaseline,
    balance_flows,
    baseline_path,
    group_path,
    net_internal_persons,
    population_accounts,
)
from migravity.scenarios.run import decomposition, london_net_internal, run_scenarios, theil
from migravity.scenarios.segments import N_CLASSES
from migravity.scenarios.simulate import (
    baseline_of,
    draw_parameters,
    initial_state,
    pair_layers,
    segment_move_rates,
    segment_pair_factors,
    segment_weights,
    simulate,
    year0_stock,
)
from migravity.scenarios.spec import PercentChange, Scenario, WfhChange, load_scenario, scenario_from_dict

EPS = np.finfo(float).eps
WFH = (WfhChange("never", "high", factor=0.5, key="wfh[0]"),)
PRICES = (PercentChange(pct=-20.0, area="outside_gse", key="house_prices[0]"),)


def _scenarios() -> list[Scenario]:
    return [Scenario(name="wfh", wfh=WFH), Scenario(name="prices", house_prices=PRICES),
            Scenario(name="covid", migration_pattern="census2021"),
            Scenario(name="all", wfh=WFH, house_prices=PRICES, migration_pattern="census2021")]


@pytest.mark.parametrize("mode", ["production", "unconstrained"])
@pytest.mark.parametrize("feedback", [0.0, 0.8])
def test_zero_scenario_is_the_baseline_path_bit_for_bit(open_population_inputs, mode, feedback):
    """With no policy, the skill-group totals follow the exogenous path (to rounding) in every draw, and a
    zero-percent scenario (simulated on its own) reproduces the baseline bit for bit."""
    inp = open_population_inputs
    base = simulate(inp, baseline_of(Scenario(name="z", mode=mode, housing_feedback=feedback)), draws=6, seed=2,
                    years=7)
    assert base.path is not None
    groups = np.stack([base.stocks[:, :, :N_CLASSES].sum(2), base.stocks[:, :, N_CLASSES:].sum(2)], axis=2)
    np.testing.assert_allclose(groups, np.broadcast_to(base.path, groups.shape), rtol=1e-12)
    assert np.array_equal(base.stocks[:, 0], np.broadcast_to(year0_stock(inp, Scenario(name="b")),
                                                             base.stocks[:, 0].shape))
    zero = Scenario(name="zero_pct", mode=mode, housing_feedback=feedback,
                    house_prices=(PercentChange(pct=0.0, area="all", key="house_prices[0]"),))
    assert not zero.is_zero
    assert np.array_equal(simulate(inp, zero, draws=6, seed=2, years=7).stocks, base.stocks)


def test_baseline_path_follows_population_and_hsl_trend(open_population_inputs):
    inp = open_population_inputs
    ob = inp.open_baseline
    stock0 = year0_stock(inp, Scenario(name="b"))
    path = baseline_path(ob, stock0, 10)
    assert np.array_equal(path[0], stock0)
    workers = path.sum(axis=1)
    np.testing.assert_allclose(workers, stock0.sum(axis=0) * ob.population[:11] / ob.population[0], rtol=1e-12)
    h0 = stock0[:N_CLASSES].sum(0) / stock0.sum(0)
    logit = np.log(h0 / (1 - h0)) + 10 * ob.hsl_slope
    np.testing.assert_allclose(path[10, :N_CLASSES].sum(0) / workers[10], 1 / (1 + np.exp(-logit)), rtol=1e-12)
    # WFH class mix within each skill group held at year 0
    for sl in (slice(0, N_CLASSES), slice(N_CLASSES, None)):
        np.testing.assert_allclose(path[10, sl] / path[10, sl].sum(0), stock0[sl] / stock0[sl].sum(0), rtol=1e-12)


def _flows_step(stock, rate, pair, static, theta, log_price, p, inp, unconstrained=False, base_static=None):
    f = np.zeros((16, inp.n, inp.n))
    assert K.one_year_flows(stock, rate, inp.log_dist, inp.border, pair, pair_layers(), p["beta_distance"][0],
                            p["gamma_border"][0], static, static if base_static is None else base_static, theta,
                            log_price, np.zeros(inp.n), unconstrained, f) == K.OK
    return stock - f.sum(axis=2) + f.sum(axis=1)


@pytest.mark.parametrize("k", range(4))
def test_bracket_matches_a_slow_reference(open_population_inputs, k):
    """B(t+1) = M0(B(t)) G(t), X(t+1) = M(X(t)) G(t), G = P(t+1) / M0(B(t)) per skill group, step by step in
    Python with the one-year kernel, for draw 0."""
    inp = open_population_inputs
    sc = _scenarios()[k]
    years = 5
    sim = simulate(inp, sc, draws=3, seed=1, years=years)
    own = inp.with_pattern(sc.migration_pattern)
    stock0, log_price0, log_pay = initial_state(inp, sc)
    p = draw_parameters(inp, sc, 3, 1)
    p0 = {key: v[:1] for key, v in p.items()}
    static, theta = segment_weights(inp, p0, log_pay)
    base_static, _ = segment_weights(inp, p0, inp.log_pay)
    sb = year0_stock(inp, sc)
    rate = segment_move_rates(own, p0, sb)[0]
    base_rate = segment_move_rates(inp, p0, sb)[0]
    strength = float(p0["anchor_strength"][0])
    pair, base_pair = segment_pair_factors(own, strength), segment_pair_factors(inp, strength)
    totals = group_path(inp.open_baseline, sb, years)
    high = np.arange(16) < N_CLASSES
    x, b = stock0, sb
    for t in range(1, years + 1):
        mx = _flows_step(x, rate, pair, static[0], theta[0], log_price0 - inp.log_price, p0, inp)
        mb = _flows_step(b, base_rate, base_pair, base_static[0], theta[0], np.zeros(inp.n), p0, inp)
        g = np.where(high[:, None], totals[t, 0] / mb[high].sum(0), totals[t, 1] / mb[~high].sum(0))
        x, b = mx * g, mb * g
        np.testing.assert_allclose(sim.stocks[0, t], x, rtol=1e-10, atol=1e-6)
    assert sim.stocks.min() >= 0.0


def test_decomposition_into_internal_migration_and_other_components(open_population_inputs):
    inp = open_population_inputs
    run = run_scenarios(inp, _scenarios(), draws=4, seed=3, years=6, specifications=False)
    for sim, base in run.runs:
        for s in (sim, base):
            internal, other = decomposition(s)
            groups = np.stack([s.stocks[:, :, :N_CLASSES].sum(2), s.stocks[:, :, N_CLASSES:].sum(2)], axis=2)
            np.testing.assert_allclose(internal + other, groups - groups[:, :1], atol=1e-9 * groups.max())
            np.testing.assert_allclose(internal.sum(-1), 0.0, atol=1e-9 * groups.max())  # internal nets to 0
        # the HSL total of a LAD at year 0 is the baseline's (WFH changes stay within the skill group)
        np.testing.assert_allclose(sim.stocks[:, 0, :N_CLASSES].sum(1), base.stocks[:, 0, :N_CLASSES].sum(1),
                                   rtol=1e-12)
        # the non-migration components are the baseline's rates: other(X) = C X / B per segment
        b_int, b_other = decomposition(base)
        assert np.abs(decomposition(sim)[1] - b_other).max() <= np.abs(decomposition(sim)[0] - b_int).max() + 1e-6
    table = run.summary()
    assert {"hs_net_internal", "hs_other_change"} <= set(table.metric)
    base_rows = table[(table.scenario == "wfh") & (table.metric == "hs_net_internal") & (table.level == "lad")]
    assert np.all(np.isfinite(base_rows.baseline_mean))


def test_seeded_runs_reproduce_and_chunks_do_not_matter(open_population_inputs):
    inp = open_population_inputs
    sc = _scenarios()[3]
    a = simulate(inp, sc, draws=7, seed=11, years=4)
    b = simulate(inp, sc, draws=7, seed=11, years=4, n_chunks=3)
    c = simulate(inp, sc, draws=7, seed=12, years=4)
    assert np.array_equal(a.stocks, b.stocks) and np.array_equal(a.net_internal, b.net_internal)
    assert not np.array_equal(a.stocks, c.stocks)


def test_alternative_pattern_reproduces_its_choice_in_year_one(open_population_inputs):
    """A ``census2021`` scenario's high-skilled movers split over destinations as that pattern's target."""
    inp = open_population_inputs
    sc = Scenario(name="covid", migration_pattern="census2021")
    sim = simulate(inp, sc, draws=1, years=1)
    own = inp.with_pattern("census2021")
    p = draw_parameters(inp, sc, 1, 0)
    stock = year0_stock(inp, sc)
    movers = (segment_move_rates(own, p, stock)[0] * stock)[:N_CLASSES].sum(0)
    expected = net_internal_persons(movers, np.ones(inp.n), own.pivot_choice)
    np.testing.assert_allclose(sim.net_internal[0, 0, 0], expected, rtol=1e-8, atol=1e-6)
    assert own.pattern == "census2021" and own.with_pattern("precovid").pattern == "precovid"
    with pytest.raises(ConfigError, match="migration_pattern"):
        replace(inp, patterns=()).with_pattern("census2021")


def test_migration_pattern_key_is_validated():
    sc = scenario_from_dict({"migration_pattern": "census2021"}, name="x")
    assert sc.migration_pattern == "census2021" and not sc.is_zero
    assert baseline_of(sc).migration_pattern is None
    with pytest.raises(ConfigError, match="migration_pattern"):
        scenario_from_dict({"migration_pattern": "lockdown"}, name="x")
    with pytest.raises(ConfigError, match="migration_pattern"):
        scenario_from_dict({"migration_pattern": 3}, name="x")
    assert load_scenario("covid_year").migration_pattern == "census2021"


def test_london_net_internal_per_year(open_population_inputs):
    inp = open_population_inputs
    run = run_scenarios(inp, [Scenario(name="baseline"), Scenario(name="covid", migration_pattern="census2021")],
                        draws=3, seed=0, years=4, specifications=False)
    out = {e["scenario"]: e for e in london_net_internal(run)}
    lon = np.asarray(inp.region_codes) == "E12000007"
    base = out["baseline"]
    assert base["year"] == [1, 2, 3, 4] and len(base["hsl"]) == 4
    assert base["hsl"] == base["baseline_hsl"]
    np.testing.assert_allclose(base["hsl"][0], run.runs[0][1].net_internal[:, 0, 0][:, lon].sum(-1).mean())
    assert out["covid"]["migration_pattern"] == "census2021"
    assert out["covid"]["baseline_migration_pattern"] == "precovid"
    assert out["covid"]["persons"] != out["covid"]["baseline_persons"]


@settings(max_examples=40)
@given(hnp.arrays(float, (5, 5), elements=st.floats(0.5, 1e4)), hnp.arrays(float, 5, elements=st.floats(100, 200)),
       hnp.arrays(float, 5, elements=st.floats(100, 200)))
def test_balance_flows_meets_margins_and_keeps_odds_ratios(flows, out, inn):
    """Feasible margins (each zone's in-total below the others' out-totals: the diagonal is empty)."""
    f = balance_flows(flows, out, inn)
    np.testing.assert_allclose(f.sum(axis=1), out, rtol=1e-9)
    np.testing.assert_allclose(f.sum(axis=0), inn * out.sum() / inn.sum(), rtol=1e-6)
    assert np.all(np.diag(f) == 0)
    g = flows.copy()
    np.fill_diagonal(g, 0.0)
    # IPF keeps the cross-product ratios of the seed
    r_seed = g[0, 1] * g[2, 3] / (g[0, 3] * g[2, 1])
    r_fit = f[0, 1] * f[2, 3] / (f[0, 3] * f[2, 1])
    np.testing.assert_allclose(r_fit, r_seed, rtol=1e-8)


def test_balance_flows_reports_no_convergence_and_empty_zones():
    # zone 0 would need 80 in-movers, the others send 40: infeasible with an empty diagonal
    with pytest.raises(ConvergenceError, match="IPF"):
        balance_flows(np.ones((5, 5)), np.full(5, 10.0), np.array([160.0, 10, 10, 10, 10]), max_iter=50)
    f = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # zone 2 can receive nothing
    with pytest.raises(InputError, match="in-flow"):
        balance_flows(f, np.ones(3), np.ones(3))


def test_population_accounting_identity_per_lad_and_year(open_population_inputs):
    inp = open_population_inputs
    acc = population_accounts(inp.open_baseline, inp.move_rate, inp.pivot_choice, 10)
    pop = acc["population"]
    scale = np.abs(np.stack([pop[1:], pop[:-1], acc["births"], acc["deaths"], acc["net_internal"],
                             acc["net_international"]])).max(axis=0)
    assert (np.abs(sd.accounting_residual(acc)) <= 16 * EPS * scale).all()
    change = np.diff(pop, axis=0)
    np.testing.assert_allclose(change, acc["births"] - acc["deaths"] + acc["net_internal"] + acc["net_international"],
                               rtol=0, atol=1e-8 * pop.max())
    np.testing.assert_allclose(acc["net_internal"].sum(axis=1), 0.0, atol=1e-8 * pop.max())  # internal nets to 0
    np.testing.assert_allclose(pop, inp.open_baseline.population[:11], rtol=1e-12)


def test_open_baseline_is_validated():
    with pytest.raises(ConfigError, match="population"):
        OpenBaseline(np.ones((1, 3)), np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3))
    with pytest.raises(ConfigError, match="damping"):
        OpenBaseline(np.ones((3, 3)), np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), damping=2.0)
    ob = OpenBaseline(np.ones((3, 3)), np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3))
    with pytest.raises(ConfigError, match="years"):
        ob.growth(5)


# --- real data: the acceptance figures of issue 12 ------------------------------------------------------------


def test_real_baseline_follows_the_country(real_model_inputs, data_dir):
    """10 years, no policy: London and the GSE population share grow as the projection does from the latest
    estimate; GSE share of HSL falls by less than 1 point; the Theil index changes by less than 2011 -> 2021;
    year-1 London net internal migration within 20% of the pre-COVID mid-year-estimate mean."""
    from migravity.geodata import demography as geo
    from migravity.geodata import load_zones
    from migravity.geodata.skills import load_skills

    inp = real_model_inputs
    assert inp.pattern == "precovid" and inp.open_baseline is not None
    zones = load_zones("2023", "EW", data_dir)
    lon = np.asarray(inp.region_codes) == "E12000007"
    gse = inp.gse
    sim = simulate(inp, load_scenario("baseline"), draws=3, seed=1, years=10)
    np.testing.assert_allclose(sim.stocks[:, :, :N_CLASSES].sum(2), np.broadcast_to(sim.path[:, 0], (3, 11, inp.n)),
                               rtol=1e-12)
    w = sim.stocks[0].sum(axis=1)
    hs = sim.stocks[0, :, :N_CLASSES].sum(axis=1)
    # the projection's growth applied to the latest estimate (mid-2023), observed before
    p21 = geo.load_population(zones, 2021, data_dir).to_numpy()
    p23 = geo.load_population(zones, 2023, data_dir).to_numpy()
    g = geo.projection_growth(zones, 2023, [2031], data_dir).to_numpy()[:, 0]
    expected = p23 * g
    london = w[10][lon].sum() / w[0][lon].sum()
    assert abs(london / (expected[lon].sum() / p21[lon].sum()) - 1) < 0.015
    share = w[10][gse].sum() / w[10].sum() / (w[0][gse].sum() / w[0].sum())
    assert abs(share / ((expected[gse].sum() / expected.sum()) / (p21[gse].sum() / p21.sum())) - 1) < 0.015
    sk = load_skills(zones, data_dir)
    obs_gse = sk.hsl_2021.values[gse].sum() / sk.hsl_2021.values.sum() - sk.hsl_2011.values[gse].sum() / \
        sk.hsl_2011.values.sum()
    gse_change = hs[10][gse].sum() / hs[10].sum() - hs[0][gse].sum() / hs[0].sum()
    assert gse_change > -0.01 or obs_gse < -0.01
    obs_theil = theil(sk.hsl_2021.values, sk.workers_2021.values) - theil(sk.hsl_2011.values, sk.workers_2011.values)
    assert abs(theil(hs[10], w[10]) - theil(hs[0], w[0])) < abs(obs_theil)
    acc = population_accounts(inp.open_baseline, inp.move_rate, inp.pivot_choice, 10)
    year1 = acc["net_internal"][0][lon].sum()
    precovid = geo.precovid_internal(zones, data_dir=data_dir).internal_net.to_numpy()[lon].sum()
    assert abs(year1 / precovid - 1) < 0.2
    assert (np.abs(sd.accounting_residual(acc)) <= 1e-6).all()
