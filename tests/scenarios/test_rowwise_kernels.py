"""The row-wise (origin-block) kernels of the anchor terms, the model's choice and the pivot constants
equal the dense computation, whatever the block size."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migravity.errors import ConfigError
from migravity.scenarios.anchoring import anchor_terms
from migravity.scenarios.segments import COMMUTE_DAYS, WFH_CLASSES
from migravity.scenarios.simulate import class_anchor, pivot_choice, pivot_constants, segment_pair_factors

DAYS = np.array([COMMUTE_DAYS[c] for c in WFH_CLASSES])


def _target(inputs, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.05, 1.0, (inputs.n, inputs.n)) * np.exp(-0.01 * np.exp(inputs.log_dist))
    np.fill_diagonal(t, 0.0)
    return t / t.sum(axis=1, keepdims=True)


def _flows(inputs, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = rng.poisson(3.0, (inputs.n, inputs.n)).astype(float)  # some zero pairs: the model fills them
    f[0] = 0.0  # an origin without movers: the model's row
    return f


@pytest.fixture(scope="module")
def anchored(make_inputs):
    inp = make_inputs(14, seed=2, workplace=True)
    pi = inp.workplace.copy()
    pi[pi < 0.02] = 0.0  # sparse, like commuting between MSOAs
    pi /= pi.sum(axis=1, keepdims=True)
    inp = replace(inp, workplace=pi)
    return replace(inp, pivot_choice=_target(inp))


def test_rowwise_anchor_terms_equal_the_dense_ones(anchored):
    args = (anchored.workplace, anchored.log_dist, -2.7, 1.3, DAYS)
    dense = anchor_terms(*args)
    np.testing.assert_allclose(anchor_terms(*args, rowwise=True), dense, rtol=1e-12, atol=1e-12)
    f32 = anchor_terms(*args, rowwise=True, dtype=np.float32)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, dense, rtol=1e-6, atol=1e-6)
    assert np.all(anchor_terms(*args, rowwise=True)[WFH_CLASSES.index("always")] == 0.0)


def test_rowwise_model_choice_equals_the_dense_one(anchored):
    f = _flows(anchored)
    dense = pivot_choice(anchored, f, rowwise=False)
    row = pivot_choice(anchored, f, rowwise=True)
    np.testing.assert_allclose(row, dense, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(row.sum(axis=1), 1.0, rtol=1e-12)


def test_rowwise_pivot_constants_equal_the_dense_ones(anchored):
    dense = pivot_constants(anchored, rowwise=False)
    row = pivot_constants(anchored, rowwise=True)
    np.testing.assert_allclose(row, dense, rtol=0, atol=1e-9)
    assert np.all(np.diagonal(row, axis1=1, axis2=2) == 0.0)


def test_rowwise_pivot_without_anchoring_and_the_cache(anchored):
    plain = replace(anchored, workplace=None)
    np.testing.assert_allclose(pivot_constants(plain, rowwise=True), pivot_constants(plain, rowwise=False),
                               rtol=0, atol=1e-9)
    a = class_anchor(anchored, 1.0, rowwise=True)
    assert class_anchor(anchored, 1.0, rowwise=True) is a  # kept on the inputs
    assert class_anchor(anchored, 0.5, rowwise=True) is not a  # another strength: recomputed
    np.testing.assert_allclose(class_anchor(anchored, 0.5, rowwise=True), class_anchor(anchored, 0.5), atol=1e-12)


def test_pair_factors_unchanged_below_the_large_threshold(anchored):
    kap = replace(anchored, pair_constant=pivot_constants(anchored))
    ref = np.exp(kap.pair_constant[np.repeat([0, 1], 8)] + class_anchor(kap)[np.tile(np.arange(8), 2)])
    np.testing.assert_allclose(segment_pair_factors(kap), ref, rtol=1e-13)


def test_block_must_be_positive(anchored):
    with pytest.raises(ConfigError, match="block"):
        pivot_constants(anchored, rowwise=True, block=0)


@settings(max_examples=15, deadline=None)
@given(block=st.integers(1, 20), n=st.integers(3, 9), seed=st.integers(0, 50))
def test_rowwise_results_do_not_depend_on_the_block_size(make_inputs, block, n, seed):
    inp = make_inputs(n, seed=seed, workplace=True)
    inp = replace(inp, pivot_choice=_target(inp, seed))
    args = (inp.workplace, inp.log_dist, -2.7, 1.1, DAYS)
    np.testing.assert_array_equal(anchor_terms(*args, rowwise=True, block=block),
                                  anchor_terms(*args, rowwise=True, block=n))
    f = _flows(inp, seed)
    np.testing.assert_array_equal(pivot_choice(inp, f, rowwise=True, block=block),
                                  pivot_choice(inp, f, rowwise=True, block=n))
    by_block = pivot_constants(inp, rowwise=True, block=block)
    np.testing.assert_array_equal(by_block, pivot_constants(inp, rowwise=True, block=n))
    np.testing.assert_allclose(by_block, pivot_constants(inp, rowwise=False), rtol=0, atol=1e-9)
