"""The stage-1 balancing (the engine's Furness) and the WFH intensity, on small synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migravity.errors import ConvergenceError
from migravity.scenarios.params import balance, balance_status
from migravity.scenarios.segments import (
    COMMUTE_DAYS,
    N_CLASSES,
    WFH_CLASSES,
    class_intensity,
    segment_intensity,
    wfh_intensity,
)


def _problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    log_k = rng.normal(0.0, 1.5, (n, n))
    np.fill_diagonal(log_k, -np.inf)
    flows = np.exp(rng.normal(0.0, 1.0, (n, n)))
    np.fill_diagonal(flows, 0.0)
    return log_k, flows.sum(axis=1), flows.sum(axis=0)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(3, 25), seed=st.integers(0, 10_000))
def test_balance_matches_both_margins(n, seed):
    log_k, rows, cols = _problem(n, seed)
    a, b = balance(log_k, rows, cols)
    flows = np.exp(a[:, None] + b[None, :] + log_k)
    np.testing.assert_allclose(flows.sum(axis=1), rows, rtol=1e-11)
    np.testing.assert_allclose(flows.sum(axis=0), cols, rtol=1e-11)
    assert np.all(np.diagonal(flows) == 0)


def test_balance_agrees_with_plain_furness():
    """The engine kernel (Anderson-accelerated) finds the factors plain alternating scaling does."""
    log_k, rows, cols = _problem(12, 3)
    k = np.exp(log_k)
    bb = np.ones(12)
    for _ in range(5000):
        aa = rows / (k @ bb)
        bb = cols / (k.T @ aa)
    _, b, sweeps, err = balance_status(log_k, rows, cols)
    np.testing.assert_allclose(b - b.mean(), np.log(bb) - np.log(bb).mean(), atol=1e-10)
    assert 0 < sweeps < 200 and err <= 1e-12


def test_balance_that_does_not_converge_raises():
    log_k, rows, cols = _problem(15, 1)
    with pytest.raises(ConvergenceError, match="did not converge"):
        balance(log_k, rows, cols, max_iter=1)


def test_wfh_intensity_is_one_minus_days_over_five():
    assert wfh_intensity(5.0) == 0.0 and wfh_intensity(0.0) == 1.0
    np.testing.assert_allclose(wfh_intensity([4.0, 2.5]), [0.2, 0.5])
    g = class_intensity()
    assert g.shape == (N_CLASSES,)
    assert dict(zip(WFH_CLASSES, g, strict=True)) == {c: 1.0 - d / 5.0 for c, d in COMMUTE_DAYS.items()}
    np.testing.assert_array_equal(segment_intensity(), np.concatenate([g, g]))
