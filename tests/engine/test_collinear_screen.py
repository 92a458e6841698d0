"""The doubly-constrained fit screens for collinear terms on its first (exact) projection."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.engine import calibrate_arrays
from migravity.errors import ConfigError


def _grid(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(1.0, 50.0, (n, n))
    flows = rng.poisson(200.0 * cost ** -1.2).astype(float)
    return flows, cost, rng


def test_pair_term_absorbed_by_fixed_effects():
    flows, cost, rng = _grid()
    n = flows.shape[0]
    additive = rng.normal(size=n)[:, None] + rng.normal(size=n)[None, :]  # u_i + v_j
    with pytest.raises(ConfigError, match="collinear"):
        calibrate_arrays(flows, cost=cost, pair_terms={"uv": additive})


def test_term_collinear_with_another():
    flows, cost, _ = _grid(seed=1)
    with pytest.raises(ConfigError, match="collinear"):
        calibrate_arrays(flows, cost=cost, pair_terms={"twice": 2.0 * np.log(cost) + 1.0})


def test_clear_screen_keeps_fit():
    flows, cost, rng = _grid(seed=2)
    other = rng.normal(size=flows.shape)
    r = calibrate_arrays(flows, cost=cost, pair_terms={"noise": other})
    assert r.converged
    assert np.isfinite(r.std_errors["noise"])
