"""Synthetic study areas for fast scenario tests (no data files needed)."""

from __future__ import annotations

import numpy as np
import pytest

from migravity.scenarios.params import ASSUMED_DEFAULTS, CALIBRATED, ModelParameters
from migravity.scenarios.simulate import ModelInputs


def synthetic_inputs(n: int = 12, seed: int = 0) -> ModelInputs:
    """A seeded synthetic study area of ``n`` LADs in three regions (the first GSE)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 300, size=(n, 2))
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    np.fill_diagonal(d, 5.0)
    border = (d < 80).astype(float)
    np.fill_diagonal(border, 0.0)
    mean = {"beta_distance": -1.4, "gamma_border": 1.0, "delta_wfh_access": -0.6, "delta_wfh_price": -1.7,
            "theta_price": 0.07, "theta_access": -0.15, "theta_pop": 0.9, "theta_pay_level": -1.5}
    mean.update({k: v[0] for k, v in ASSUMED_DEFAULTS.items()})
    vcov = np.diag([0.01, 0.02, 0.05, 0.2, 0.14, 0.025, 0.05, 0.5]) ** 2
    params = ModelParameters(mean, vcov, {k: v[1] for k, v in ASSUMED_DEFAULTS.items()}, -2.7, 0.02,
                             rng.lognormal(7, 1, n), 0.45)
    assert len(CALIBRATED) == vcov.shape[0]
    shares = rng.dirichlet(np.ones(16), size=n)
    regions = tuple(("E12000007", "E12000002", "E12000003")[i % 3] for i in range(n))
    return ModelInputs(
        codes=tuple(f"E0600{i:04d}" for i in range(n)), names=tuple(f"Zone {i}" for i in range(n)),
        region_codes=regions, region_names=tuple(f"Region {r[-1]}" for r in regions),
        gse=np.array([r == "E12000007" for r in regions]), imd_quintile=np.arange(n) % 5 + 1.0,
        workers=rng.lognormal(11, 0.5, n), shares=shares, move_rate=rng.uniform(0.02, 0.1, n),
        log_dist=np.log(d), border=border, log_access=np.log(params.job_access),
        log_pop=rng.normal(12, 0.5, n), log_price=rng.normal(12.4, 0.3, n), log_pay=rng.normal(6.4, 0.1, n),
        params=params, intensity_ratio=1.67, intensity_national=0.27, dest_constant=rng.normal(0.0, 0.5, n))


@pytest.fixture(scope="session")
def inputs() -> ModelInputs:
    """A 12-LAD synthetic study area."""
    return synthetic_inputs()


@pytest.fixture(scope="session")
def make_inputs():
    """The factory of synthetic study areas, ``make_inputs(n, seed)``."""
    return synthetic_inputs
