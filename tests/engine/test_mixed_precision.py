"""The float32-accelerated balancing of large grids matches the exact float64 path."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.engine import _kernels_flow as kf
from migravity.engine import evaluate_flows


def _grid(n: int, seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 500.0, size=(n, 2))
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    d[np.diag_indices(n)] = 1.0
    border = (d < 20.0).astype(np.float64)
    mass = rng.lognormal(10.0, 1.0, size=n)
    rows = mass / mass.sum() * 1e6
    return {"cost": d, "border": border, "rows": rows, "cols": rng.permutation(rows)}


def _run(g: dict, mask: np.ndarray | None = None):
    return evaluate_flows(
        {"log(cost)": -1.5, "border": 0.5}, g["cost"], pair_terms={"border": g["border"]},
        constraint="doubly", origin_totals=g["rows"], destination_totals=g["cols"], mask=mask, tol=1e-9,
    )


@pytest.mark.parametrize("masked", [False, True])
def test_mixed_matches_float64(monkeypatch: pytest.MonkeyPatch, masked: bool) -> None:
    n = 2100
    g = _grid(n)
    mask = None
    if masked:
        mask = np.random.default_rng(1).random((n, n)) > 0.1
        np.fill_diagonal(mask, True)
    monkeypatch.setattr(kf, "F32_MIN_PAIRS", n * n + 1)  # 2100^2 pairs is past the default threshold
    exact = _run(g, mask)
    monkeypatch.setattr(kf, "F32_MIN_PAIRS", 1_000)
    mixed = _run(g, mask)
    for res in (exact, mixed):
        assert res.attrs["converged"]
        assert res.attrs["max_error"] <= 1e-9
        f = res.to_numpy()
        assert np.max(np.abs(f.sum(axis=1) - g["rows"]) / g["rows"]) <= 1e-9
        assert np.max(np.abs(f.sum(axis=0) - g["cols"]) / g["cols"]) <= 1e-9
    e, m = exact.to_numpy(), mixed.to_numpy()
    if masked:
        assert np.all(m[~mask] == 0.0)
    np.testing.assert_allclose(m, e, rtol=1e-7, atol=0.0)


def test_mixed_fallback_when_float32_is_not_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tolerance below what one defect correction reaches still ends balanced (float64 fallback)."""
    g = _grid(300)
    monkeypatch.setattr(kf, "F32_MIN_PAIRS", 1_000)
    monkeypatch.setattr(kf, "F32_SWITCH_TOL", 1.0)  # correct too early: the float32 result misses tol
    res = evaluate_flows(
        {"log(cost)": -1.5, "border": 0.5}, g["cost"], pair_terms={"border": g["border"]},
        constraint="doubly", origin_totals=g["rows"], destination_totals=g["cols"], tol=1e-12,
    )
    assert res.attrs["converged"]
    f = res.to_numpy()
    assert np.max(np.abs(f.sum(axis=1) - g["rows"]) / g["rows"]) <= 1e-11
    assert np.max(np.abs(f.sum(axis=0) - g["cols"]) / g["cols"]) <= 1e-11


def test_mixed_bad_value_still_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    from migravity.errors import InputError

    g = _grid(100)
    g["cost"][7, 3] = np.nan
    monkeypatch.setattr(kf, "F32_MIN_PAIRS", 1_000)
    with pytest.raises(InputError, match=r"\(7, 3\)"):
        _run(g)
