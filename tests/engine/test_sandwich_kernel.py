"""The row-wise sandwich kernel against dense NumPy sums (per-origin and per-pair clusters)."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.engine._kernels_ppml import sandwich_parts


@pytest.mark.parametrize(("per_pair", "add_const"), [(False, False), (True, True), (False, True)])
def test_sandwich_parts_matches_reference(per_pair: bool, add_const: bool) -> None:
    n_o, n_d = 23, 31
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, n_o, n_d))
    y = rng.poisson(5, (n_o, n_d)).astype(float)
    mask = rng.random((n_o, n_d)) > 0.1
    mu = rng.uniform(1.0, 9.0, (n_o, n_d))
    a, c = rng.normal(size=(2, n_o)), rng.normal(size=(2, n_d))
    x[0, ~mask] = np.inf  # values outside the mask are never read into the sums
    gid = (np.arange(n_o * n_d) % 7).reshape(n_o, n_d) if per_pair else np.arange(n_o).reshape(n_o, 1)
    n_groups = 7 if per_pair else n_o
    bread, meat, scores = sandwich_parts(x, y, mu, mask, a, c, add_const, gid, n_groups, 1)
    xt = x - a[:, :, None] - c[:, None, :]
    if add_const:
        xt = np.concatenate([np.ones((1, n_o, n_d)), xt])
    xs, r, m = xt[:, mask], (y - mu)[mask], mu[mask]
    ref_scores = np.zeros((n_groups, xs.shape[0]))
    np.add.at(ref_scores, np.broadcast_to(gid, (n_o, n_d))[mask], (xs * r).T)
    np.testing.assert_allclose(bread, (xs * m) @ xs.T, rtol=1e-12)
    np.testing.assert_allclose(meat, (xs * r * r) @ xs.T, rtol=1e-12)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-12, atol=1e-12)
