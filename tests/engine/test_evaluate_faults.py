"""Fault cases of ``evaluate_flows``: overflowing coefficients, blocked margins, non-convergence (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.engine import evaluate_flows
from migravity.errors import ConvergenceError, InputError


@pytest.fixture
def grid() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    cost = rng.uniform(1.0, 50.0, size=(5, 5))
    totals = rng.uniform(10.0, 100.0, size=5)
    return cost, totals


def test_huge_coefficient_raises_instead_of_returning_inf(grid: tuple[np.ndarray, np.ndarray]) -> None:
    # before: all-inf flows with converged=True
    cost, _ = grid
    with pytest.raises(ConvergenceError, match="not finite"):
        evaluate_flows({"intercept": 800.0, "log(cost)": 1.0}, cost, constraint="none")


def test_masked_origin_with_positive_total_raises(grid: tuple[np.ndarray, np.ndarray]) -> None:
    # before: all-zero flows for that origin, flagged only in attributes
    cost, totals = grid
    mask = np.ones((5, 5), bool)
    mask[2] = False
    with pytest.raises(InputError, match=r"origin 2 .*whole row is masked"):
        evaluate_flows({"log(cost)": -1.5}, cost, constraint="production", origin_totals=totals, mask=mask)


def test_masked_destination_with_positive_total_raises(grid: tuple[np.ndarray, np.ndarray]) -> None:
    cost, totals = grid
    mask = np.ones((5, 5), bool)
    mask[:, 4] = False
    with pytest.raises(InputError, match=r"destination 4 .*whole column"):
        evaluate_flows({"log(cost)": -1.5}, cost, constraint="doubly", origin_totals=totals,
                       destination_totals=totals, mask=mask)


def test_masked_origin_with_zero_total_is_fine(grid: tuple[np.ndarray, np.ndarray]) -> None:
    cost, totals = grid
    mask = np.ones((5, 5), bool)
    mask[2] = False
    t = totals.copy()
    t[2] = 0.0
    flows = evaluate_flows({"log(cost)": -1.5}, cost, constraint="production", origin_totals=t, mask=mask)
    np.testing.assert_allclose(flows.sum("destination").to_numpy(), t)


def test_non_convergence_warns(grid: tuple[np.ndarray, np.ndarray]) -> None:
    cost, totals = grid
    with pytest.warns(RuntimeWarning, match="did not converge"):
        flows = evaluate_flows({"log(cost)": -1.5}, cost, constraint="doubly", origin_totals=totals,
                               destination_totals=totals[::-1], max_iter=1)
    assert flows.attrs["converged"] is False


def test_saturated_fit_warns_and_blanks_standard_errors() -> None:
    # before: z = -2.7e10 *** with no warning
    import pandas as pd

    from migravity.engine import calibrate

    table = pd.DataFrame({"origin": ["a", "a", "b", "b"], "destination": ["c", "d", "c", "d"],
                          "flow": [10.0, 20.0, 5.0, 40.0], "distance_km": [1.0, 2.0, 3.0, 5.0]})
    r = calibrate(table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                  constraint="doubly", se="hc1", mask_diagonal=False)
    assert any("saturated model" in w for w in r.warnings)
    assert np.isnan(r.std_errors["log(distance_km)"])
