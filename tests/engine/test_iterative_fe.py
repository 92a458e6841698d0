"""The iterative (Jacobi-preconditioned CG) fixed-effect solves against the Schur factorisation."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.engine import calibrate_arrays, projection
from migravity.engine._kernels_ppml import sandwich_parts
from migravity.engine.ppml import newton_ppml
from migravity.engine.projection import FESolver, fe_solve


def _gravity(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A doubly-constrained gravity table of ``n`` zones: flows, log distance, border."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 100.0, (n, 2))
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)) + 1.0
    border = (rng.uniform(size=(n, n)) < 0.1).astype(float)
    mass = rng.lognormal(0.0, 1.0, n)
    lam = np.outer(mass, mass) * dist ** -1.5 * np.exp(0.3 * border) * 50.0
    y = rng.poisson(lam).astype(float)
    np.fill_diagonal(y, 0.0)
    return y, np.log(dist), border


def test_jacobi_cg_matches_direct_solve():
    rng = np.random.default_rng(1)
    n_o, n_d = 60, 50
    mu = rng.uniform(0.1, 2.0, (n_o, n_d))
    mu[rng.uniform(size=mu.shape) < 0.2] = 0.0
    mu[:, 7] = 0.0  # a destination without weight
    rhs_o = rng.normal(size=(3, n_o))
    rhs_d = rng.normal(size=(3, n_d))
    rhs_d[:, 7] = 0.0
    rhs_d[:, :7] += (rhs_o.sum(axis=1) - rhs_d.sum(axis=1))[:, None] / 7  # consistent totals
    a_ref, c_ref = fe_solve(mu, mu.sum(1), mu.sum(0), rhs_o, rhs_d)
    solver = FESolver(None, 1, rtol=1e-13, iterative=True)
    a, c = solver.solve(mu, mu.sum(1), mu.sum(0), rhs_o, rhs_d)
    assert solver.iterative and solver.n_factor == 0 and solver.n_jacobi_cg > 0
    np.testing.assert_allclose(a, a_ref, rtol=0, atol=1e-10 * np.abs(a_ref).max())
    np.testing.assert_allclose(c, c_ref, rtol=0, atol=1e-10 * np.abs(c_ref).max())
    # warm start: the same system again needs no iteration
    before = solver.n_jacobi_cg
    solver.solve(mu, mu.sum(1), mu.sum(0), rhs_o, rhs_d)
    assert solver.n_jacobi_cg == before


def test_jacobi_cg_falls_back_to_the_factorisation(monkeypatch):
    rng = np.random.default_rng(2)
    mu = rng.uniform(0.1, 2.0, (30, 20))
    rhs_o = rng.normal(size=(2, 30))
    rhs_d = rng.normal(size=(2, 20))
    rhs_d += (rhs_o.sum(axis=1) - rhs_d.sum(axis=1))[:, None] / 20
    monkeypatch.setattr(projection, "ITERATIVE_MAX_CG", 1)
    solver = FESolver(None, 1, iterative=True)
    a, c = solver.solve(mu, mu.sum(1), mu.sum(0), rhs_o, rhs_d)
    a_ref, c_ref = fe_solve(mu, mu.sum(1), mu.sum(0), rhs_o, rhs_d)
    assert not solver.iterative and solver.n_factor == 1
    np.testing.assert_allclose(a, a_ref, atol=1e-10)
    np.testing.assert_allclose(c, c_ref, atol=1e-10)


@pytest.mark.parametrize("n", [500, 1200])
def test_iterative_newton_matches_dense_hessian_and_ses(n):
    """beta, the projected regressors (hence the Hessian) and the sandwich agree to ~1e-8."""
    y, logd, border = _gravity(n, seed=n)
    x = np.ascontiguousarray(np.stack([logd, border]))
    mask = ~np.eye(n, dtype=bool)
    from migravity.engine.options import Margins

    fits = {it: newton_ppml(y, x, mask, Margins.BOTH, iterative=it) for it in (False, True)}
    dense, cg = fits[False], fits[True]
    assert dense.converged and cg.converged
    np.testing.assert_allclose(cg.beta, dense.beta, rtol=1e-9, atol=0)
    gid = np.zeros((n, 1), dtype=np.int64)
    parts = {it: sandwich_parts(x, y, f.mu, mask, f.a_fe, f.c_fe, False, gid, 1, 1) for it, f in fits.items()}
    for q in range(2):  # bread (Hessian) and meat
        np.testing.assert_allclose(parts[True][q], parts[False][q], rtol=1e-8)
    np.testing.assert_allclose(cg.a_fe[0] + cg.c_fe[0].mean(), dense.a_fe[0] + dense.c_fe[0].mean(),
                               rtol=0, atol=1e-8 * np.abs(dense.a_fe[0]).max())


def test_calibrate_above_the_threshold_uses_cg(monkeypatch):
    """Through the public entry: the same coefficients and SEs with the threshold lowered."""
    y, logd, border = _gravity(300, seed=5)
    cost = np.exp(logd)
    mask = ~np.eye(300, dtype=bool)
    ref = calibrate_arrays(y, cost=cost, pair_terms={"border": border}, mask=mask)
    monkeypatch.setattr(projection, "ITERATIVE_MIN_N", 100)
    res = calibrate_arrays(y, cost=cost, pair_terms={"border": border}, mask=mask)
    for name in ref.coefficients:
        assert res.coefficients[name] == pytest.approx(ref.coefficients[name], rel=1e-9)
        assert res.std_errors[name] == pytest.approx(ref.std_errors[name], rel=1e-8)
