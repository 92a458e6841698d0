"""The full-rank screen ahead of the combination-separation SVD (:mod:`migravity.engine.separation`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migravity.engine._kernels_design import centred_gram
from migravity.engine.separation import _clearly_full_rank


def _reference_gram(x: np.ndarray, kept: list[int], sel: np.ndarray) -> np.ndarray:
    """Obviously correct: copy the selected values, centre, scale, multiply."""
    xt = np.stack([x[q][sel] for q in kept])
    xc = xt - xt.mean(axis=1, keepdims=True)
    scale = np.abs(xc).max(axis=1)
    scale[scale == 0] = 1.0
    xs = xc / scale[:, None]
    return xs @ xs.T


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_o=st.integers(1, 30), n_d=st.integers(1, 30), k=st.integers(1, 4),
       frac=st.floats(0.05, 1.0))
def test_centred_gram_matches_reference(seed: int, n_o: int, n_d: int, k: int, frac: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(k + 1, n_o, n_d)) * rng.uniform(0.1, 100.0, size=(k + 1, 1, 1))
    sel = rng.random((n_o, n_d)) < frac
    sel[0, 0] = True
    kept = sorted(rng.choice(k + 1, size=k, replace=False).tolist())
    gram, finite = centred_gram(x, np.asarray(kept, dtype=np.int64), sel)
    assert finite
    np.testing.assert_allclose(gram, _reference_gram(x, kept, sel), rtol=1e-10, atol=1e-9)


def test_centred_gram_flags_non_finite() -> None:
    x = np.ones((2, 3, 3))
    x[1, 2, 2] = np.nan
    sel = np.ones((3, 3), dtype=bool)
    assert not centred_gram(x, np.array([0, 1]), sel)[1]
    sel[2, 2] = False  # a NaN outside the selection is not read
    assert centred_gram(x, np.array([0, 1]), sel)[1]


@pytest.mark.parametrize("eps", [0.0, 1e-12, 1e-3, 1.0])
def test_screen_never_hides_a_null_direction(eps: float) -> None:
    """Where the SVD test would find a null direction, the screen does not call the terms full rank."""
    rng = np.random.default_rng(7)
    a = rng.normal(size=(20, 20))
    b = 2.0 * a + 3.0 + eps * rng.normal(size=(20, 20))  # collinear with a up to eps
    x = np.stack([a, b])
    sel = np.ones((20, 20), dtype=bool)
    gram, _ = centred_gram(x, np.array([0, 1]), sel)
    xc = _reference_gram(x, [0, 1], sel)
    sv = np.sqrt(np.maximum(np.linalg.eigvalsh(xc), 0.0))
    svd_null = sv.min() <= 1e-9 * max(sv.max(), 1.0)
    if svd_null:
        assert not _clearly_full_rank(gram)
    if eps == 1.0:
        assert _clearly_full_rank(gram)
