"""Origin labels grouped in runs take a faster path that must equal ``pd.factorize(sort=True)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from migravity.engine.design import _factorize_sorted


@pytest.mark.parametrize("layout", ["grouped", "repeated_runs", "shuffled", "short"])
def test_matches_pandas(layout):
    rng = np.random.default_rng(0)
    names = np.array([f"Z{v:03d}" for v in rng.permutation(300)])
    if layout == "grouped":
        raw = np.repeat(names, 20)
    elif layout == "repeated_runs":  # a label in two separate runs
        raw = np.concatenate([np.repeat(names, 20), np.repeat(names[:3], 20)])
    elif layout == "shuffled":
        raw = rng.permutation(np.repeat(names, 20))
    else:
        raw = names[:10]
    s = pd.Series(raw, dtype="str")
    codes, uniques = _factorize_sorted(s)
    ref_codes, ref_uniques = pd.factorize(s, sort=True)
    np.testing.assert_array_equal(codes, ref_codes)
    assert list(uniques) == list(ref_uniques)


@pytest.mark.parametrize("case", ["same", "subset", "unknown_label", "object_dtype", "short"])
def test_factorize_among_matches_pandas(case):
    """Destination labels looked up among the origins' labels: equal to ``pd.factorize(sort=True)``."""
    from migravity.engine.design import _factorize_among

    rng = np.random.default_rng(1)
    names = np.array([f"Z{v:03d}" for v in rng.permutation(300)])
    dest = rng.permutation(np.repeat(names, 20))
    if case == "subset":
        dest = dest[np.isin(dest, names[:150])]
    elif case == "unknown_label":
        dest = np.concatenate([dest, ["NEW1", "AAA"]])
    elif case == "short":
        dest = dest[:100]
    dtype = object if case == "object_dtype" else "str"
    s = pd.Series(dest, dtype=dtype)
    _, known = _factorize_sorted(pd.Series(np.repeat(names, 20), dtype=dtype))
    codes, uniques = _factorize_among(s, known)
    ref_codes, ref_uniques = pd.factorize(s, sort=True)
    np.testing.assert_array_equal(codes, ref_codes)
    assert list(uniques) == list(ref_uniques)
