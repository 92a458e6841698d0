"""Shared fixtures of the engine tests: small synthetic OD tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from migravity.engine import synthetic_od_table


@pytest.fixture(scope="session")
def small_table() -> pd.DataFrame:
    """18 zones, off-diagonal, with a few zeros; plus a pair variable and an origin attribute."""
    t = synthetic_od_table(18, np.random.default_rng(7), mean_flow=8.0)
    t["log_dist"] = np.log(t["distance_km"])
    t["contig"] = t["border"]
    t["pop_o_log"] = np.log(t["pop_o"])
    return t
