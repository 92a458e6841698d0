"""The fast paths of the engine: fused predictor validation, the FE solver's CG, the joint Newton."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.engine import calibrate_arrays, evaluate_flows
from migravity.engine.projection import FESolver, fe_solve
from migravity.errors import ConfigError, InputError


def _grid(n=12, seed=3):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(1.0, 50.0, (n, n))
    border = (rng.uniform(size=(n, n)) < 0.3).astype(float)
    return rng, cost, border


def test_evaluate_validates_in_the_fused_pass():
    _, cost, _ = _grid()
    bad = cost.copy()
    bad[3, 4] = np.nan
    with pytest.raises(InputError, match=r"\(3, 4\)"):
        evaluate_flows({"log(cost)": -1.0}, cost=bad, constraint="none")
    bad[3, 4] = 0.0
    with pytest.raises(ConfigError, match="cannot be logged"):
        evaluate_flows({"log(cost)": -1.0}, cost=bad, constraint="none")
    mask = np.ones_like(cost, dtype=bool)
    mask[3, 4] = False
    out = evaluate_flows({"log(cost)": -1.0}, cost=bad, mask=mask, constraint="none")
    assert out.values[3, 4] == 0.0 and np.isfinite(out.values).all()
    # a linear (exponential-deterrence) cost may be zero
    evaluate_flows({"cost": -0.1}, cost=bad, constraint="none")


def test_evaluate_tanner_and_three_pair_terms():
    rng, cost, border = _grid()
    other = rng.normal(size=cost.shape)
    third = rng.uniform(1.0, 2.0, cost.shape)
    coefs = {"intercept": 0.3, "log(cost)": -1.2, "cost": -0.02, "border": 0.4, "other": 0.1,
             "log(third)": 0.5}
    out = evaluate_flows(coefs, cost=cost, pair_terms={"border": border, "other": other, "third": third},
                         constraint="none")
    ref = np.exp(0.3 - 1.2 * np.log(cost) - 0.02 * cost + 0.4 * border + 0.1 * other
                 + 0.5 * np.log(third))
    np.testing.assert_allclose(out.values, ref, rtol=1e-12)


def test_fe_solver_cg_matches_direct():
    rng = np.random.default_rng(0)
    n_o, n_d = 40, 30
    mu = rng.uniform(0.1, 2.0, (n_o, n_d))
    mu[rng.uniform(size=mu.shape) < 0.1] = 0.0
    rhs_o = rng.normal(size=(3, n_o))
    rhs_d = rng.normal(size=(3, n_d))
    rhs_d += (rhs_o.sum(axis=1) - rhs_d.sum(axis=1))[:, None] / n_d  # consistent totals
    a_ref, _ = fe_solve(mu, mu.sum(1), mu.sum(0), rhs_o, rhs_d)
    solver = FESolver(None, 1)
    solver.solve(mu, mu.sum(1), mu.sum(0), rhs_o, rhs_d)  # builds the factor at mu
    mu2 = mu * np.exp(rng.uniform(-0.2, 0.2, mu.shape))
    a_ref2, c_ref2 = fe_solve(mu2, mu2.sum(1), mu2.sum(0), rhs_o, rhs_d)
    a2, c2 = solver.solve(mu2, mu2.sum(1), mu2.sum(0), rhs_o, rhs_d, drift=0.4, rtol=1e-12)
    assert solver.n_factor == 1 and solver.n_cg > 0
    np.testing.assert_allclose(a2, a_ref2, atol=1e-9)
    np.testing.assert_allclose(c2, c_ref2, atol=1e-9)
    assert np.abs(a_ref - a_ref2).max() > 1e-3  # the systems do differ


def test_doubly_two_components_and_margins():
    rng, cost, border = _grid(14, seed=5)
    mask = np.zeros(cost.shape, dtype=bool)
    mask[:7, :7] = True
    mask[7:, 7:] = True
    flows = rng.poisson(np.exp(3.0 - 0.8 * np.log(cost) + 0.3 * border)).astype(float)
    r = calibrate_arrays(flows, cost=cost, pair_terms={"border": border}, mask=mask)
    assert r.converged
    mu = np.nan_to_num(r.fitted.values)
    y = np.where(mask, flows, 0.0)
    np.testing.assert_allclose(mu.sum(1), y.sum(1), rtol=1e-9)
    np.testing.assert_allclose(mu.sum(0), y.sum(0), rtol=1e-9)
