"""``scenarios/validate.py``: the backtest dynamics against slow references, the metrics by hand, the real scorecard."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from migravity.engine.fitstats import cpc, srmse
from migravity.errors import InputError
from migravity.scenarios import validate as v
from migravity.utils.jsonio import dumps

# ---- synthetic: dynamics against slow loops ---------------------------------------------------------------


def _tiny(seed: int = 3, n: int = 5, segments: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    flows = rng.integers(0, 50, size=(n, n)).astype(float)
    flows[1, :] = 0.0                      # an origin without movers
    flows[1, 1] = 7.0                      # (only within-zone moves: ignored)
    stocks = rng.uniform(10, 1000, size=(segments, n))
    rate = rng.uniform(0.01, 0.2, size=n)
    return flows, stocks, rate


def _slow_choice(flows: np.ndarray) -> np.ndarray:
    n = flows.shape[0]
    p = np.zeros((n, n))
    for i in range(n):
        tot = sum(flows[i, j] for j in range(n) if j != i)
        for j in range(n):
            if tot > 0:
                p[i, j] = 0.0 if j == i else flows[i, j] / tot
            else:
                p[i, j] = 1.0 if j == i else 0.0
    return p


def _slow_hindcast(stocks: np.ndarray, rates: np.ndarray, choice: np.ndarray, steps: int) -> np.ndarray:
    s_n, n = stocks.shape
    cur = [[float(stocks[s, i]) for i in range(n)] for s in range(s_n)]
    for _ in range(steps):
        nxt = [[0.0] * n for _ in range(s_n)]
        for s in range(s_n):
            for i in range(n):
                movers = cur[s][i] * rates[s, i]
                nxt[s][i] += cur[s][i] - movers
                for j in range(n):
                    nxt[s][j] += movers * choice[i, j]
        cur = nxt
    return np.array(cur)


def test_choice_from_flows_matches_loop():
    flows, _, _ = _tiny()
    p = v.choice_from_flows(flows)
    np.testing.assert_allclose(p, _slow_choice(flows), rtol=0, atol=1e-15)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[1, 1] == 1.0 and p[0, 0] == 0.0


def test_segment_rates_split_the_origin_rate():
    _, stocks, rate = _tiny()
    r = v.segment_rates(rate, stocks, [1.3, 1.0])
    # stock-weighted mean = the origin rate; high / other = 1.3
    np.testing.assert_allclose((r * stocks).sum(axis=0) / stocks.sum(axis=0), rate, rtol=1e-13)
    np.testing.assert_allclose(r[0] / r[1], 1.3, rtol=1e-13)
    for i in range(stocks.shape[1]):  # the formula, origin by origin
        mix = (1.3 * stocks[0, i] + stocks[1, i]) / (stocks[0, i] + stocks[1, i])
        assert r[0, i] == pytest.approx(rate[i] * 1.3 / mix, rel=1e-13)


def test_hindcast_matches_slow_loop():
    flows, stocks, rate = _tiny()
    choice = v.choice_from_flows(flows)
    rates = v.segment_rates(rate, stocks, [1.3, 1.0])
    path = v.hindcast(stocks, rates, choice, steps=10)
    assert path.shape == (11, 2, 5)
    np.testing.assert_allclose(path[0], stocks)
    np.testing.assert_allclose(path[-1], _slow_hindcast(stocks, rates, choice, 10), rtol=1e-12)
    np.testing.assert_allclose(path[-1].sum(axis=1), stocks.sum(axis=1), rtol=1e-12)  # closed system
    # zone 1 has no off-diagonal flows: its movers stay, and it receives others' movers, so it never loses
    assert (np.diff(path[:, :, 1], axis=0) >= -1e-9).all()


def test_net_internal_matches_loop_and_sums_to_zero():
    flows, stocks, rate = _tiny()
    choice = v.choice_from_flows(flows)
    pop = stocks  # two periods of start populations
    net = v.net_internal(pop, rate, choice)
    n = pop.shape[1]
    for t in range(pop.shape[0]):
        for j in range(n):
            inflow = sum(pop[t, i] * rate[i] * choice[i, j] for i in range(n) if i != j)
            outflow = pop[t, j] * rate[j] * (1.0 - choice[j, j])
            assert net[t, j] == pytest.approx(inflow - outflow, rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(net.sum(axis=1), 0.0, atol=1e-9)


@given(st.integers(0, 10_000), st.integers(2, 7), st.integers(0, 12))
def test_hindcast_conserves_and_stays_nonnegative(seed, n, steps):
    rng = np.random.default_rng(seed)
    flows = rng.integers(0, 5, size=(n, n)).astype(float)
    stocks = rng.uniform(0, 100, size=(2, n))
    rates = rng.uniform(0, 1, size=(2, n))
    path = v.hindcast(stocks, rates, v.choice_from_flows(flows), steps)
    assert (path >= -1e-9).all()
    np.testing.assert_allclose(path.sum(axis=2), stocks.sum(axis=1)[None].repeat(steps + 1, 0), rtol=1e-10)


def test_bad_inputs_are_refused():
    with pytest.raises(InputError, match="square"):
        v.choice_from_flows(np.ones((2, 3)))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        v.hindcast(np.ones((1, 2)), np.full((1, 2), 1.5), np.eye(2))
    with pytest.raises(InputError, match="sum to 1"):
        v.hindcast(np.ones((1, 2)), np.full((1, 2), 0.1), np.zeros((2, 2)))


def test_zones_and_windows_are_checked():
    from types import SimpleNamespace

    from migravity.errors import ConfigError

    with pytest.raises(ConfigError, match="England and Wales"):
        v.validate(SimpleNamespace(codes=("S12000005",)))  # type: ignore[arg-type]
    import xarray as xr

    comp = xr.Dataset(coords={"year": np.arange(2002, 2022)})
    with pytest.raises(ConfigError, match="window"):
        v.move_rates(comp, (2019, 2021))


# ---- metrics by hand ------------------------------------------------------------------------------------

def test_metrics_by_hand():
    obs, pred = np.array([100.0, 200.0]), np.array([110.0, 180.0])
    assert v.mape(obs, pred) == pytest.approx(10.0)                       # (10% + 10%) / 2
    # shares 1/3, 2/3 vs 110/290, 180/290
    d = np.array([110 / 290 - 1 / 3, 180 / 290 - 2 / 3]) * 100
    assert v.share_rmse(obs, pred) == pytest.approx(np.sqrt(np.mean(d ** 2)))
    assert v.rmse(obs, pred) == pytest.approx(np.sqrt((100 + 400) / 2))
    y, mu = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    assert cpc(y, mu) == pytest.approx(2 * (1 + 2 + 2) / 12)              # 0.8333
    assert srmse(y, mu) == pytest.approx(np.sqrt(2 / 3) / 2)
    assert v.correlation(y, mu) == 0.0                                    # a constant prediction: 0
    assert v.correlation(y, 2 * y + 1) == pytest.approx(1.0)
    assert v.growth_correlation(np.ones(3), y, y) == pytest.approx(1.0)
    np.testing.assert_allclose(v.group_sum(np.array([1.0, 2.0, 3.0]), np.array(["a", "b", "a"]), ["a", "b"]),
                               [4.0, 2.0])


def test_row_flags_follow_the_metric_direction():
    assert v._row(1, "s", "p", "LAD", "MAPE", "lower", 1.0, "b", 2.0)["beats_benchmark"] is True
    assert v._row(1, "s", "p", "LAD", "CPC", "higher", 0.7, "b", 0.8)["beats_benchmark"] is False


def test_gravity_core_predicts_held_out_pairs_of_an_exact_gravity_matrix():
    rng = np.random.default_rng(11)
    n = 12
    xy = rng.uniform(0, 100, size=(n, 2))
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + np.eye(n) * 5.0 + 1.0
    border = (rng.uniform(size=(n, n)) < 0.2).astype(float)
    border = np.maximum(border, border.T)
    a, b = rng.uniform(50, 500, n), rng.uniform(0.5, 2.0, n)
    truth = a[:, None] * b[None] * dist ** -1.3 * np.exp(0.8 * border)
    np.fill_diagonal(truth, 0.0)
    off = ~np.eye(n, dtype=bool)
    held = off & (rng.uniform(size=(n, n)) < 0.2)
    train = off & ~held
    coef = v.gravity_fit(truth, dist, border, train)
    assert coef["beta_distance"] == pytest.approx(-1.3, abs=1e-6)
    assert coef["gamma_border"] == pytest.approx(0.8, abs=1e-6)
    kern = v.gravity_kernel(coef, dist, border)
    t = np.where(train, truth, 0.0)
    ra, cb = v.balance_factors(np.where(train, kern, 0.0), t.sum(1), t.sum(0))
    np.testing.assert_allclose((ra[:, None] * cb[None] * kern)[held], truth[held], rtol=1e-5)
    bal = v.balanced(np.where(off, kern, 0.0), truth.sum(1), truth.sum(0))
    np.testing.assert_allclose(bal.sum(1), truth.sum(1), rtol=1e-8)
    np.testing.assert_allclose(bal.sum(0), truth.sum(0), rtol=1e-8)


# ---- the real scorecard (computed once: ``validation_scorecard`` in tests/conftest.py) ---------------------

def test_scorecard_json_keys_and_flags(validation_scorecard):
    card = validation_scorecard
    payload = json.loads(dumps(card.to_dict()))   # strict JSON
    assert {"lines", "n_lines", "n_beaten", "details", "seconds"} <= set(payload)
    assert set(payload["lines"][0]) == set(v.COLUMNS)
    assert {r["line"] for r in payload["lines"]} == {1, 2, 3, 4}
    for r in payload["lines"]:
        assert isinstance(r["beats_benchmark"], bool)
        if r["line"] != 4:
            better = r["model"] < r["benchmark_score"] if r["better"] == "lower" else r["model"] > r["benchmark_score"]
            assert r["beats_benchmark"] is better
    assert payload["n_beaten"] == sum(r["beats_benchmark"] for r in payload["lines"])
    assert {"line1", "line2", "line3", "line4", "notes"} <= set(payload["details"])


def test_scorecard_real_figures(validation_scorecard):
    lines = validation_scorecard.lines
    det = validation_scorecard.details
    # (c) reuses the ladder's out-of-sample test: the README's CPC 0.760 vs persistence 0.840
    c = det["line3"]["c"]["scores"]
    assert c["model"]["cpc"] == pytest.approx(0.760, abs=0.002)
    assert c["persistence"]["cpc"] == pytest.approx(0.840, abs=0.002)
    # the gravity core loses to persistence on every OD row: said plainly
    od = lines[lines["line"] == 3]
    assert not od["beats_benchmark"].any()
    # the 10 leave-one-region-out regions and the pooled rows are there
    assert (od["predicted"].str.startswith("origins in")).sum() == 10
    # hindcast: national totals given to every method, LAD and region levels for both targets
    h = lines[lines["line"] == 1]
    assert set(h["predicted"]) == set(v.TARGET_NAMES.values()) and set(h["level"]) == {"LAD", "region"}
    # net migration beats zero but not persistence at LAD level
    n = lines[(lines["line"] == 2) & (lines["level"] == "LAD") & (lines["metric"].str.startswith("RMSE"))]
    assert n[n["benchmark"].str.startswith("zero")]["beats_benchmark"].all()
    # identification: the cross-section fails the placebo for WFH x access
    ident = det["line4"]
    assert ident["cross_section_fails"] is True
    assert any(not c["passes"] and c["parameter"] == "delta_wfh_access" for c in ident["checks"])
    text = validation_scorecard.summary()
    assert "NO" in text and "persistence pivot" in text
